// postresolve: ask how Postern rewrites and resolves addresses, with a configuration's
// main.cf. A Postern extension (Postfix has no such command; its nearest relatives are
// `sendmail -bv` and querying trivial-rewrite by hand):
//
//   postresolve [-Sv] [-c config_dir] [-s sender] [-x] address...     resolve
//   postresolve [-Sv] [-c config_dir] -r local|remote address...        rewrite
//   postresolve [-Sv] [-c config_dir] -b                                batch (tests)
//
// Resolving prints one line per address:
//   ADDRESS transport=smtp nexthop=[smtp.example.com]:587 recipient=ADDRESS class=default
// with " flags=routed,error,fail" when any of those is set. -s names the sender (for
// sender_dependent_* tables), -x uses the address verification parameters (Postfix's
// "verify" request). Rewriting prints "ADDRESS REWRITTEN", the addresses in external
// (quoted) form, as Postfix's rewrite request takes and answers them.
//
// -b reads requests from standard input, one per line, fields separated by a tab and
// escaped (\\, \t, \n, \r and \xHH):
//   rewrite <TAB> local|remote <TAB> external-address   ->  external-address
//   resolve|verify <TAB> sender <TAB> internal-address  ->  flags <TAB> transport <TAB>
//                                                            nexthop <TAB> recipient
// and writes one escaped line per request, for programs that compare answers.
//
// By default the library does the work in this process, opening the tables itself (as
// qmgr does); -S asks the running trivial-rewrite service at
// queue_directory/private/rewrite instead. Runs as its caller; tables must be readable.
#include <getopt.h>

#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "config/log_settings.hpp"
#include "mail/resolve.hpp"
#include "mail/rewrite_protocol.hpp"
#include "tools/postresolve/batch_format.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

using namespace postern;

namespace {

const char* kUsage =
    "usage: postresolve [-Sv] [-c config_dir] [-s sender] [-x] [-r local|remote] [-b] "
    "address...";

struct Options {
    std::string config_directory;
    std::string sender;
    std::optional<RewriteContext> rewrite;
    ResolveRequest request = ResolveRequest::regular;
    bool batch = false;
    bool service = false;
    int verbose = 0;
    std::vector<std::string> addresses;
};

Options parse_command_line(int argc, char** argv) {
    Options options;
    options.config_directory = Config::default_config_directory();
    int option;
    while ((option = getopt(argc, argv, "bc:r:s:Svx")) != -1) {
        switch (option) {
            case 'b':
                options.batch = true;
                break;
            case 'c':
                options.config_directory = optarg;
                break;
            case 'r':
                options.rewrite = rewrite_context_from_name(optarg);
                if (!options.rewrite)
                    log_fatal("unknown rewrite context: %s", optarg);
                break;
            case 's':
                options.sender = optarg;
                break;
            case 'S':
                options.service = true;
                break;
            case 'v':
                ++options.verbose;
                break;
            case 'x':
                options.request = ResolveRequest::verify;
                break;
            default:
                log_fatal("%s", kUsage);
        }
    }
    for (int i = optind; i < argc; ++i)
        options.addresses.emplace_back(argv[i]);
    if (!options.batch && options.addresses.empty())
        log_fatal("%s", kUsage);
    return options;
}

Config load_config(const Options& options) {
    LogSettings early;
    early.program = "postresolve";
    early.also_stderr = true;
    early.verbose = options.verbose;
    (void)log_init(early);
    Result<Config> loaded = Config::load(options.config_directory);
    if (!loaded)
        log_fatal(loaded.error());
    loaded->set_override("config_directory", options.config_directory);
    LogSettings logging = log_settings_from_config(*loaded, "postresolve");
    logging.also_stderr = true;
    logging.verbose = options.verbose;
    if (Status started = log_init(logging); !started)
        log_fatal(started.error());
    for (const std::string& warning : loaded->main_cf().warnings)
        log_warning("%s", warning.c_str());
    return std::move(*loaded);
}

// The answers, from the library or from the service.
class Answers {
  public:
    Answers(const Config& config, const Options& options) {
        if (options.service) {
            Result<std::string> queue = config.get("queue_directory");
            if (!queue)
                log_fatal(queue.error());
            client_ = std::make_unique<RewriteServiceClient>(*queue + "/private/rewrite",
                                                             std::chrono::seconds(60));
            return;
        }
        // Batch mode answers each request afresh, as Postfix's server does (its clients
        // cache), so that a comparison sees every log line the work produces.
        ResolverOptions resolver_options;
        if (options.batch)
            resolver_options.cache_size = 0;
        Result<std::unique_ptr<AddressResolver>> opened =
            AddressResolver::open(config, resolver_options);
        if (!opened)
            log_fatal(opened.error());
        resolver_ = std::move(*opened);
    }

    std::string rewrite(RewriteContext rule, const std::string& external) {
        if (!client_)
            return resolver_->rewriter().rewrite_external(rule, external);
        Result<std::string> answer = client_->rewrite_external(rule, external);
        if (!answer)
            log_fatal("trivial-rewrite service: %s", answer.error().message().c_str());
        return *answer;
    }

    ResolveReply resolve(ResolveRequest request, const std::string& sender,
                         const std::string& recipient) {
        if (!client_)
            return resolver_->resolve(sender, recipient, request);
        Result<ResolveReply> answer = client_->resolve(sender, recipient, request);
        if (!answer)
            log_fatal("trivial-rewrite service: %s", answer.error().message().c_str());
        return *answer;
    }

  private:
    std::unique_ptr<AddressResolver> resolver_;
    std::unique_ptr<RewriteServiceClient> client_;
};

std::string flag_names(uint32_t flags) {
    std::vector<std::string> names;
    for (auto [bit, name] : {std::pair{resolve_flag::routed, "routed"},
                             {resolve_flag::error, "error"},
                             {resolve_flag::fail, "fail"}}) {
        if (flags & bit)
            names.emplace_back(name);
    }
    return join(names, ",");
}

void print_resolved(const std::string& address, const ResolveReply& reply) {
    std::optional<AddressClass> address_class = reply.address_class();
    std::string line = address + " transport=" + reply.transport + " nexthop=" + reply.nexthop +
                       " recipient=" + reply.recipient +
                       " class=" + (address_class ? address_class_name(*address_class) : "none");
    if (std::string flags = flag_names(reply.flags); !flags.empty())
        line += " flags=" + flags;
    std::cout << line << "\n";
}

// One batch line; false for a line that is not a request.
bool answer_batch_line(Answers& answers, const std::string& line) {
    std::optional<std::vector<std::string>> fields = split_batch_line(line);
    if (!fields || fields->size() != 3)
        return false;
    const std::string& kind = (*fields)[0];
    if (kind == "rewrite") {
        std::optional<RewriteContext> rule = rewrite_context_from_name((*fields)[1]);
        if (!rule)
            return false;
        std::cout << escape_batch_field(answers.rewrite(*rule, (*fields)[2])) << "\n";
        return true;
    }
    std::optional<ResolveRequest> request = resolve_request_from_name(kind);
    if (!request)
        return false;
    ResolveReply reply = answers.resolve(*request, (*fields)[1], (*fields)[2]);
    std::cout << reply.flags << "\t" << escape_batch_field(reply.transport) << "\t"
              << escape_batch_field(reply.nexthop) << "\t" << escape_batch_field(reply.recipient)
              << "\n";
    return true;
}

int run_batch(Answers& answers) {
    std::string line;
    int status = 0;
    while (std::getline(std::cin, line)) {
        if (!answer_batch_line(answers, line)) {
            log_warning("bad request line: %s", line.substr(0, 100).c_str());
            std::cout << "?\n";
            status = 1;
        }
        std::cout.flush();
    }
    return status;
}

}  // namespace

int main(int argc, char** argv) {
    Options options = parse_command_line(argc, argv);
    Config config = load_config(options);
    Answers answers(config, options);
    if (options.batch)
        return run_batch(answers);
    for (const std::string& address : options.addresses) {
        if (options.rewrite)
            std::cout << address << " " << answers.rewrite(*options.rewrite, address) << "\n";
        else
            print_resolved(address, answers.resolve(options.request, options.sender, address));
    }
    return 0;
}
