// dns-lookup: a thin command line over lib/dns, for tests/system/dns_test.py. Not
// installed. It reads main.cf from -c (postern_dns_servers, inet_protocols,
// inet_interfaces, smtp_* lookup settings) and prints one fact per line:
//
//   dns-lookup -c DIR [-A] mx|a|aaaa|ptr|txt NAME   "status ok" + records, or
//                                                   "status CLASS [nxdomain]" + "reason TEXT"
//   dns-lookup -c DIR -A mx|a|... NAME NAME...       all at once on the loop, each answer
//                                                   after "answer NAME", in arrival order
//   dns-lookup -c DIR addresses HOST                 A and AAAA as inet_protocols allows
//   dns-lookup -c DIR nexthop NEXTHOP                "server HOST ADDRESS PORT PREFERENCE"...,
//                                                   or "status temporary|permanent DSN"
//   dns-lookup -c DIR client ADDRESS                 "name N STATUS", "reverse_name N STATUS"
//   dns-lookup -c DIR [-A] dnsbl SITE ADDRESS        "listed yes|no", "answer A", "reason R"
//
// -A runs the query on an EventLoop (the asynchronous resolver) instead of waiting.
// -t SECONDS gives the lookup a deadline.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "dns/client_name.hpp"
#include "dns/dns.hpp"
#include "dns/dnsbl.hpp"
#include "dns/nexthop.hpp"
#include "mail/local_domains.hpp"
#include "util/event_loop.hpp"
#include "util/log.hpp"

using namespace postern;

namespace {

struct Options {
    std::string config_directory;
    bool asynchronous = false;
    std::optional<DnsResolver::Clock::time_point> deadline;
    std::vector<std::string> arguments;
};

[[noreturn]] void usage() {
    std::fprintf(stderr,
                 "usage: dns-lookup -c CONFIG_DIR [-A] [-t SECONDS] "
                 "mx|a|aaaa|ptr|txt|addresses|nexthop|client|dnsbl ARGS...\n");
    std::exit(2);
}

void print_failure(const DnsFailure& failure) {
    std::printf("status %s%s\n", dns_status_name(failure.status),
                failure.nxdomain ? " nxdomain" : "");
    std::printf("reason %s\n", failure.reason.c_str());
}

void print_answer(const DnsResult<DnsAnswer>& answer) {
    if (!answer) {
        print_failure(answer.failure());
        return;
    }
    std::printf("status ok\n");
    for (const MxRecord& mx : answer->mx)
        std::printf("mx %u %s\n", mx.preference, mx.host.c_str());
    for (const HostAddress& address : answer->addresses)
        std::printf("address %s\n", format_host_address(address).c_str());
    for (const std::string& name : answer->names)
        std::printf("name %s\n", name.c_str());
    for (const TxtRecord& text : answer->texts)
        std::printf("txt %s\n", text.joined().c_str());
}

void print_dnsbl(const DnsResult<DnsblResult>& result) {
    if (!result) {
        print_failure(result.failure());
        return;
    }
    std::printf("status ok\nlisted %s\n", result->listed ? "yes" : "no");
    for (const HostAddress& address : result->answers)
        std::printf("answer %s\n", format_host_address(address).c_str());
    if (!result->reason.empty())
        std::printf("reason %s\n", result->reason.c_str());
}

std::optional<DnsType> record_type(const std::string& word) {
    if (word == "mx")
        return DnsType::mx;
    if (word == "a")
        return DnsType::a;
    if (word == "aaaa")
        return DnsType::aaaa;
    if (word == "ptr")
        return DnsType::ptr;
    if (word == "txt")
        return DnsType::txt;
    return std::nullopt;
}

HostAddress address_argument(const std::string& text) {
    std::optional<HostAddress> address = parse_host_address(text);
    if (!address)
        log_fatal("bad address: %s", text.c_str());
    return *address;
}

int run_asynchronous(const DnsResolverSettings& settings, const Options& options) {
    EventLoop loop;
    auto resolver = or_fatal(DnsResolver::create(settings, loop));
    const std::string& command = options.arguments[0];
    if (command == "dnsbl") {
        if (options.arguments.size() != 3)
            usage();
        DnsblSite site = or_fatal(parse_dnsbl_site(options.arguments[1]));
        dnsbl_lookup_async(*resolver, site, address_argument(options.arguments[2]), true,
                           [&loop](DnsResult<DnsblResult> result) {
                               print_dnsbl(result);
                               loop.stop();
                           });
    } else {
        std::optional<DnsType> type = record_type(command);
        if (!type || options.arguments.size() < 2)
            usage();
        // Several names: all queries in flight at once, each answer after "answer NAME".
        bool several = options.arguments.size() > 2;
        auto left = std::make_shared<size_t>(options.arguments.size() - 1);
        for (size_t i = 1; i < options.arguments.size(); ++i) {
            std::string name = options.arguments[i];
            if (*type == DnsType::ptr)
                name = reverse_query_name(address_argument(name));
            resolver->query(name, *type, [&loop, left, several, name](DnsResult<DnsAnswer> answer) {
                if (several)
                    std::printf("answer %s\n", name.c_str());
                print_answer(answer);
                if (--*left == 0)
                    loop.stop();
            });
        }
    }
    or_fatal(loop.run());
    return 0;
}

int run_nexthop(const Config& config, DnsResolver& resolver, const Options& options) {
    ServerLookupPolicy policy = or_fatal(read_server_lookup_policy(config, "smtp"));
    LocalDomains local = or_fatal(LocalDomains::open(config));
    policy.own_addresses = local.own_addresses();
    std::string default_service = or_fatal(config.get("smtp_tcp_port"));
    Result<Nexthop> nexthop = parse_nexthop(options.arguments[1], default_service);
    Result<ServerList> list = nexthop
                                  ? resolve_nexthop(resolver, *nexthop, policy, options.deadline)
                                  : Result<ServerList>(nexthop.error());
    if (!list) {
        std::printf("status %s %s\n", error_kind_name(list.error().kind()),
                    list.error().enhanced_status().c_str());
        std::printf("reason %s\n", list.error().message().c_str());
        return 0;
    }
    std::printf("status ok\n");
    for (const ServerAddress& server : list->servers)
        std::printf("server %s %s %u %u\n", server.host.c_str(),
                    format_host_address(server.address).c_str(), server.port, server.preference);
    std::printf("found_myself %s\n", list->found_myself ? "yes" : "no");
    return 0;
}

int run_synchronous(const Config& config, const DnsResolverSettings& settings,
                    const Options& options) {
    auto resolver = or_fatal(DnsResolver::create(settings));
    const std::string& command = options.arguments[0];
    if (command == "nexthop" && options.arguments.size() == 2)
        return run_nexthop(config, *resolver, options);
    if (command == "client" && options.arguments.size() == 2) {
        AddressFamilies families = or_fatal(read_address_families(config));
        ClientName name = lookup_client_name(*resolver, address_argument(options.arguments[1]),
                                             families, options.deadline);
        std::printf("name %s %d\nreverse_name %s %d\n", name.name.c_str(), name.name_status,
                    name.reverse_name.c_str(), name.reverse_name_status);
        return 0;
    }
    if (command == "dnsbl" && options.arguments.size() == 3) {
        DnsblSite site = or_fatal(parse_dnsbl_site(options.arguments[1]));
        print_dnsbl(dnsbl_lookup(*resolver, site, address_argument(options.arguments[2]), true,
                                 options.deadline));
        return 0;
    }
    if (command == "addresses" && options.arguments.size() == 2) {
        AddressFamilies families = or_fatal(read_address_families(config));
        DnsResult<std::vector<HostAddress>> found =
            resolver->lookup_addresses(options.arguments[1], families, options.deadline);
        if (!found) {
            print_failure(found.failure());
            return 0;
        }
        std::printf("status ok\n");
        for (const HostAddress& address : *found)
            std::printf("address %s\n", format_host_address(address).c_str());
        return 0;
    }
    std::optional<DnsType> type = record_type(command);
    if (!type || options.arguments.size() != 2)
        usage();
    if (*type == DnsType::ptr) {
        DnsResult<std::vector<std::string>> names =
            resolver->lookup_ptr(address_argument(options.arguments[1]), options.deadline);
        if (!names) {
            print_failure(names.failure());
            return 0;
        }
        std::printf("status ok\n");
        for (const std::string& name : *names)
            std::printf("name %s\n", name.c_str());
        return 0;
    }
    print_answer(resolver->lookup(options.arguments[1], *type, options.deadline));
    return 0;
}

Options parse_options(int argc, char** argv) {
    Options options;
    int option;
    while ((option = ::getopt(argc, argv, "c:At:")) != -1) {
        switch (option) {
            case 'c':
                options.config_directory = optarg;
                break;
            case 'A':
                options.asynchronous = true;
                break;
            case 't':
                options.deadline =
                    DnsResolver::Clock::now() +
                    std::chrono::milliseconds(static_cast<long>(std::atof(optarg) * 1000));
                break;
            default:
                usage();
        }
    }
    for (int i = optind; i < argc; ++i)
        options.arguments.emplace_back(argv[i]);
    if (options.config_directory.empty() || options.arguments.empty())
        usage();
    return options;
}

}  // namespace

int main(int argc, char** argv) {
    Options options = parse_options(argc, argv);
    Config config = or_fatal(Config::load(options.config_directory));
    DnsResolverSettings settings = or_fatal(read_dns_resolver_settings(config));
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    if (options.asynchronous)
        return run_asynchronous(settings, options);
    return run_synchronous(config, settings, options);
}
