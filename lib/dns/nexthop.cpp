// The SMTP client's server list for one nexthop (see nexthop.hpp).
#include "dns/nexthop.hpp"

#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

#include "mail/host_syntax.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace postern {
namespace {

// What went wrong so far while looking up one destination: Postfix's DSN_BUF. A
// temporary status, once seen, turns later permanent ones into temporary ones (a later
// success of another MX host still wins).
class LookupTrouble {
  public:
    void set(std::string_view hard_status, std::string_view soft_status, std::string reason) {
        status_ = std::string(soft() ? soft_status : hard_status);
        reason_ = std::move(reason);
    }
    void make_soft() {
        if (!status_.empty() && status_[0] == '5')
            status_[0] = '4';
    }
    bool soft() const { return !status_.empty() && status_[0] == '4'; }
    bool empty() const { return status_.empty(); }

    Error error(std::string_view fallback_host) const {
        if (status_.empty())
            return Error(ErrorKind::permanent,
                         "Host or domain name not found. Name service error for name=" +
                             std::string(fallback_host) + ": no usable address",
                         "5.4.4");
        return Error(soft() ? ErrorKind::temporary : ErrorKind::permanent, reason_, status_);
    }

  private:
    std::string status_;
    std::string reason_;
};

bool family_enabled(const AddressFamilies& families, int family) {
    return family == AF_INET ? families.ipv4 : families.ipv6;
}

void add_addresses(std::vector<ServerAddress>& servers, std::string_view host,
                   const std::vector<HostAddress>& addresses, unsigned preference, uint16_t port) {
    for (const HostAddress& address : addresses)
        servers.push_back({std::string(host), address, port, preference});
}

// Postfix's getaddrinfo() error classes: which are worth retrying, which mean "no host".
bool retryable_gai_error(int error) {
    return error == EAI_AGAIN || error == EAI_MEMORY || error == EAI_SYSTEM;
}
bool no_host_gai_error(int error) {
    return error == EAI_AGAIN || error == EAI_NODATA || error == EAI_NONAME;
}

// smtp_host_lookup = native: the system's name service (getaddrinfo, /etc/hosts...).
bool native_lookup(std::vector<ServerAddress>& servers, std::string_view host, unsigned preference,
                   uint16_t port, const ServerLookupPolicy& policy, LookupTrouble& trouble) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    std::string name(host);
    int error = ::getaddrinfo(name.c_str(), nullptr, &hints, &found);
    if (error != 0) {
        bool soft = trouble.soft() || retryable_gai_error(error);
        bool no_host = no_host_gai_error(error);
        std::string_view status =
            soft ? (no_host ? "4.4.4" : "4.3.0") : (no_host ? "5.4.4" : "5.3.0");
        trouble.set(status, status,
                    "unable to look up host " + name + ": " + ::gai_strerror(error));
        return false;
    }
    size_t before = servers.size();
    for (addrinfo* each = found; each; each = each->ai_next) {
        HostAddress address;
        address.family = each->ai_family;
        if (each->ai_family == AF_INET) {
            std::memcpy(address.bytes.data(),
                        &reinterpret_cast<sockaddr_in*>(each->ai_addr)->sin_addr, 4);
        } else if (each->ai_family == AF_INET6) {
            std::memcpy(address.bytes.data(),
                        &reinterpret_cast<sockaddr_in6*>(each->ai_addr)->sin6_addr, 16);
        } else {
            continue;
        }
        if (!family_enabled(policy.families, address.family)) {
            log_info("skipping address family %d for host %s", address.family, name.c_str());
            continue;
        }
        if (std::find_if(servers.begin() + static_cast<long>(before), servers.end(),
                         [&](const ServerAddress& s) { return s.address == address; }) ==
            servers.end())
            servers.push_back({name, address, port, preference});
    }
    ::freeaddrinfo(found);
    if (servers.size() == before) {
        trouble.set("5.4.4", "4.4.4", name + ": host not found");
        return false;
    }
    return true;
}

// Postfix's smtp_addr_one(): the addresses of one host name (or numeric address).
void host_lookup(std::vector<ServerAddress>& servers, DnsResolver& resolver, std::string_view host,
                 unsigned preference, uint16_t port, const ServerLookupPolicy& policy,
                 LookupTrouble& trouble, std::optional<DnsResolver::Clock::time_point> deadline) {
    if (std::optional<HostAddress> numeric = parse_host_address(host);
        numeric && valid_host_address(host)) {
        if (family_enabled(policy.families, numeric->family))
            servers.push_back({std::string(host), *numeric, port, preference});
        return;
    }
    if (policy.dns_enabled && policy.host_lookup_dns) {
        DnsResult<std::vector<HostAddress>> found =
            resolver.lookup_addresses(host, policy.families, deadline);
        if (found) {
            add_addresses(servers, host, *found, preference, port);
            return;
        }
        const DnsFailure& failure = found.failure();
        switch (failure.status) {
            case DnsStatus::retry:
                trouble.set("4.4.3", "4.4.3", failure.reason);
                return;
            case DnsStatus::failed:
                trouble.set("5.4.3", "4.4.3", failure.reason);
                return;
            case DnsStatus::invalid:
                trouble.set("5.4.4", "4.4.4", failure.reason);
                return;
            default:  // not_found: the native name service may know better
                trouble.set("5.4.4", "4.4.4", failure.reason);
                break;
        }
    }
    if (policy.host_lookup_native || !policy.dns_enabled)
        native_lookup(servers, host, preference, port, policy, trouble);
}

bool is_own_address(const ServerLookupPolicy& policy, const HostAddress& address) {
    return std::find(policy.own_addresses.begin(), policy.own_addresses.end(), address) !=
           policy.own_addresses.end();
}

// The first address that is this machine (or its proxy), as Postfix's smtp_find_self().
const ServerAddress* find_self(const std::vector<ServerAddress>& servers,
                               const ServerLookupPolicy& policy) {
    for (const ServerAddress& server : servers)
        if (is_own_address(policy, server.address))
            return &server;
    return nullptr;
}

void sort_servers(std::vector<ServerAddress>& servers, AddressPreference preference) {
    auto family_rank = [preference](const ServerAddress& server) {
        if (preference == AddressPreference::any)
            return 0;
        bool preferred =
            (preference == AddressPreference::ipv4) == (server.address.family == AF_INET);
        return preferred ? 0 : 1;
    };
    std::stable_sort(servers.begin(), servers.end(),
                     [&](const ServerAddress& a, const ServerAddress& b) {
                         if (a.preference != b.preference)
                             return a.preference < b.preference;
                         return family_rank(a) < family_rank(b);
                     });
}

// smtp_balance_inet_protocols: over the limit, keep some addresses of each family so that
// a destination reachable over only one of them is not cut off.
void balance_families(std::vector<ServerAddress>& servers, int limit) {
    int v4 = 0;
    int v6 = 0;
    for (const ServerAddress& server : servers)
        (server.address.family == AF_INET ? v4 : v6) += 1;
    if (v4 == 0 || v6 == 0 || v4 + v6 <= limit)
        return;
    int v4_target;
    int v6_target;
    if (v6 <= limit / 2) {
        v6_target = v6;
        v4_target = limit - v6;
    } else if (v4 <= limit / 2) {
        v4_target = v4;
        v6_target = limit - v4;
    } else {
        // Both have more than half: the family of the best address gets the odd one.
        v4_target = (limit + (servers.front().address.family == AF_INET ? 1 : 0)) / 2;
        v6_target = limit - v4_target;
    }
    std::vector<ServerAddress> kept;
    for (ServerAddress& server : servers) {
        int& target = server.address.family == AF_INET ? v4_target : v6_target;
        if (target > 0) {
            kept.push_back(std::move(server));
            --target;
        }
    }
    servers = std::move(kept);
}

Result<ServerList> failed(const LookupTrouble& trouble, std::string_view host) {
    return trouble.error(host);
}

// Postfix's smtp_domain_addr(): MX hosts, else the domain's own addresses.
Result<ServerList> domain_lookup(DnsResolver& resolver, const Nexthop& nexthop,
                                 const ServerLookupPolicy& policy,
                                 std::optional<DnsResolver::Clock::time_point> deadline);

// Postfix's smtp_host_addr(): a host looked up directly ([host] or MX fallback).
Result<ServerList> direct_lookup(DnsResolver& resolver, const Nexthop& nexthop,
                                 const ServerLookupPolicy& policy, LookupTrouble trouble,
                                 std::optional<DnsResolver::Clock::time_point> deadline) {
    ServerList list;
    host_lookup(list.servers, resolver, nexthop.host, 0, nexthop.port, policy, trouble, deadline);
    if (list.servers.empty())
        return failed(trouble, nexthop.host);
    if (policy.detect_loops && find_self(list.servers, policy) != nullptr)
        return Error(ErrorKind::permanent, "mail for " + nexthop.host + " loops back to myself",
                     "5.4.6");
    return list;
}

Result<ServerList> mx_lookup_failed(DnsResolver& resolver, const Nexthop& nexthop,
                                    const ServerLookupPolicy& policy, const DnsFailure& failure,
                                    std::optional<DnsResolver::Clock::time_point> deadline) {
    LookupTrouble trouble;
    switch (failure.status) {
        case DnsStatus::null_mx:
            trouble.set("5.1.0", "5.1.0", failure.reason);
            return failed(trouble, nexthop.host);
        case DnsStatus::not_found:
            return direct_lookup(resolver, nexthop, policy, LookupTrouble(), deadline);
        case DnsStatus::invalid:
            trouble.set("5.4.4", "5.4.4", failure.reason);
            break;
        case DnsStatus::failed:
            trouble.set("5.4.3", "5.4.3", failure.reason);
            break;
        default:
            trouble.set("4.4.3", "4.4.3", failure.reason);
            break;
    }
    if (policy.ignore_mx_lookup_error)
        return direct_lookup(resolver, nexthop, policy, trouble, deadline);
    return failed(trouble, nexthop.host);
}

Result<ServerList> domain_lookup(DnsResolver& resolver, const Nexthop& nexthop,
                                 const ServerLookupPolicy& policy,
                                 std::optional<DnsResolver::Clock::time_point> deadline) {
    DnsResult<std::vector<MxRecord>> mx = resolver.lookup_mx(nexthop.host, deadline);
    if (!mx)
        return mx_lookup_failed(resolver, nexthop, policy, mx.failure(), deadline);
    ServerList list;
    LookupTrouble trouble;
    for (const MxRecord& record : *mx)
        host_lookup(list.servers, resolver, record.host, record.preference, nexthop.port, policy,
                    trouble, deadline);
    if (list.servers.empty()) {
        if (policy.defer_if_no_mx_address)
            trouble.make_soft();
        log_warning("no MX host for %s has a valid address record", nexthop.host.c_str());
        return failed(trouble, nexthop.host);
    }
    sort_servers(list.servers, AddressPreference::any);
    unsigned best_preference = mx->front().preference;
    unsigned best_found = list.servers.front().preference;
    if (const ServerAddress* self =
            policy.detect_loops ? find_self(list.servers, policy) : nullptr) {
        unsigned self_preference = self->preference;
        list.found_myself = true;
        std::erase_if(list.servers, [self_preference](const ServerAddress& server) {
            return server.preference >= self_preference;
        });
        if (list.servers.empty()) {
            if (best_preference != best_found)
                return Error(ErrorKind::temporary,
                             "unable to find primary relay for " + nexthop.host, "4.4.4");
            return Error(ErrorKind::permanent, "mail for " + nexthop.host + " loops back to myself",
                         "5.4.6");
        }
    }
    return list;
}

struct KnownService {
    const char* name;
    uint16_t port;
};
constexpr uint16_t kSmtpPort = 25;

constexpr KnownService kKnownServices[] = {
    {"smtp", 25}, {"submission", 587}, {"smtps", 465}, {"submissions", 465}, {"lmtp", 24},
};

}  // namespace

Result<uint16_t> service_port(std::string_view service) {
    if (!service.empty() && service.find_first_not_of("0123456789") == std::string_view::npos) {
        Result<int64_t> number = parse_integer(service);
        if (number && *number >= 1 && *number <= 65535)
            return static_cast<uint16_t>(*number);
        return Error(ErrorKind::config, "bad port number: " + std::string(service));
    }
    std::string name(service);
    if (servent* entry = ::getservbyname(name.c_str(), "tcp"))
        return static_cast<uint16_t>(ntohs(static_cast<uint16_t>(entry->s_port)));
    for (const KnownService& known : kKnownServices)
        if (name == known.name)
            return known.port;
    return Error(ErrorKind::config, "unknown service: " + name + "/tcp");
}

Result<Nexthop> parse_nexthop(std::string_view text, std::string_view default_service) {
    std::string_view rest = trim(text);
    if (rest.size() > 5 && equals_ignore_case(rest.substr(0, 5), "inet:"))
        rest.remove_prefix(5);
    Nexthop nexthop;
    std::string_view service;
    auto bad = [&] {
        return Error(ErrorKind::permanent, "bad host/service syntax: \"" + std::string(text) + "\"",
                     "5.4.4");
    };
    if (!rest.empty() && rest.front() == '[') {
        size_t close = rest.find(']');
        if (close == std::string_view::npos)
            return bad();
        std::string_view inside = rest.substr(1, close - 1);
        std::string_view after = rest.substr(close + 1);
        if (inside.size() > 5 && equals_ignore_case(inside.substr(0, 5), "ipv6:"))
            inside.remove_prefix(5);
        nexthop.host = std::string(inside);
        nexthop.mx_lookup = false;
        if (!after.empty()) {
            if (after.front() != ':')
                return bad();
            service = after.substr(1);
        }
    } else {
        size_t colon = rest.rfind(':');
        if (colon != std::string_view::npos && rest.find(':') == colon) {
            nexthop.host = std::string(rest.substr(0, colon));
            service = rest.substr(colon + 1);
        } else {
            nexthop.host = std::string(rest);  // a name, or a bare IPv6 address
        }
    }
    if (nexthop.host.empty() || (service.empty() && rest.back() == ':'))
        return bad();
    nexthop.service = std::string(service.empty() ? default_service : service);
    Result<uint16_t> port = service_port(nexthop.service);
    if (!port)
        return port.error();
    nexthop.port = *port;
    return nexthop;
}

Result<ServerLookupPolicy> read_server_lookup_policy(const Config& config,
                                                     std::string_view prefix) {
    std::string p(prefix);
    ServerLookupPolicy policy;
    Result<std::string> support = config.get(p + "_dns_support_level");
    if (!support)
        return support.error();
    std::string level = lowercase(trim(*support));
    if (level.empty()) {
        Result<bool> disabled = config.get_boolean("disable_dns_lookups");
        if (!disabled)
            return disabled.error();
        policy.dns_enabled = !*disabled;
    } else if (level == "disabled") {
        policy.dns_enabled = false;
    } else if (level == "enabled" || level == "dnssec") {
        // c-ares does not validate DNSSEC: "dnssec" works as "enabled" (docs/dns.md).
        policy.dns_enabled = true;
    } else {
        return Error(ErrorKind::config,
                     "invalid " + p + "_dns_support_level: \"" + std::string(*support) + "\"");
    }
    Result<std::vector<std::string>> lookup = config.get_list(p + "_host_lookup");
    if (!lookup)
        return lookup.error();
    policy.host_lookup_dns = false;
    for (const std::string& word : *lookup) {
        std::string name = lowercase(word);
        if (name == "dns")
            policy.host_lookup_dns = true;
        else if (name == "native")
            policy.host_lookup_native = true;
        else
            return Error(ErrorKind::config, "unknown " + p + "_host_lookup value \"" + word +
                                                "\" in \"" + join(*lookup, ", ") + "\"");
    }
    if (!policy.host_lookup_dns && !policy.host_lookup_native)
        return Error(ErrorKind::config, "empty " + p + "_host_lookup value");
    if (!policy.dns_enabled) {
        policy.host_lookup_dns = false;
        policy.host_lookup_native = true;
    }
    Result<AddressFamilies> families = read_address_families(config);
    if (!families)
        return families.error();
    policy.families = *families;
    Result<int64_t> limit = config.get_integer(p + "_mx_address_limit");
    Result<bool> randomize = config.get_boolean(p + "_randomize_addresses");
    Result<bool> balance = config.get_boolean(p + "_balance_inet_protocols");
    Result<bool> defer = config.get_boolean(p + "_defer_if_no_mx_address_found");
    Result<bool> ignore = config.get_boolean("ignore_mx_lookup_error");
    Result<std::string> preference = config.get(p + "_address_preference");
    if (!limit)
        return limit.error();
    for (const Result<bool>* each : {&randomize, &balance, &defer, &ignore})
        if (!*each)
            return each->error();
    if (!preference)
        return preference.error();
    policy.address_limit = static_cast<int>(std::max<int64_t>(0, *limit));
    policy.randomize_addresses = *randomize;
    policy.balance_families = *balance;
    policy.defer_if_no_mx_address = *defer;
    policy.ignore_mx_lookup_error = *ignore;
    std::string wanted = lowercase(trim(*preference));
    if (wanted == "any")
        policy.preference = AddressPreference::any;
    else if (wanted == "ipv4")
        policy.preference = AddressPreference::ipv4;
    else if (wanted == "ipv6")
        policy.preference = AddressPreference::ipv6;
    else
        return Error(ErrorKind::config,
                     "bad " + p + "_address_preference value: " + std::string(*preference));
    policy.detect_loops = prefix == "smtp";
    return policy;
}

void order_server_addresses(std::vector<ServerAddress>& servers, const ServerLookupPolicy& policy,
                            std::mt19937& random) {
    if (servers.size() > 1) {
        if (policy.randomize_addresses)
            std::shuffle(servers.begin(), servers.end(), random);
        sort_servers(servers, policy.preference);
        if (policy.address_limit > 0 && policy.balance_families)
            balance_families(servers, policy.address_limit);
    }
    if (policy.address_limit > 0 && servers.size() > static_cast<size_t>(policy.address_limit))
        servers.resize(static_cast<size_t>(policy.address_limit));
}

Result<ServerList> resolve_nexthop(DnsResolver& resolver, const Nexthop& nexthop,
                                   const ServerLookupPolicy& policy,
                                   std::optional<DnsResolver::Clock::time_point> deadline) {
    // Postfix's smtp(8) looks for itself only when the port is the SMTP port: this
    // machine on another port ([127.0.0.1]:10025, a content filter) is another server,
    // not a loop. That holds for MX lists and [host] alike.
    ServerLookupPolicy effective = policy;
    effective.detect_loops = policy.detect_loops && nexthop.port == kSmtpPort;
    Result<ServerList> list =
        nexthop.mx_lookup && effective.dns_enabled
            ? domain_lookup(resolver, nexthop, effective, deadline)
            : direct_lookup(resolver, nexthop, effective, LookupTrouble(), deadline);
    if (list)
        order_server_addresses(list->servers, policy, resolver.random());
    return list;
}

}  // namespace postern
