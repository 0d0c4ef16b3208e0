// postscreen: Postfix's postscreen(8), the port-25 pre-filter in front of smtpd.
//
// Where it sits: master.cf `smtp inet n - y - 1 postscreen` (instead of the smtpd line on
// port 25) and `smtpd pass - - y - - smtpd`. One event-driven process (the many-clients
// skeleton) holds every client while it is tested; a client that passes is handed, socket
// and all, to an smtpd through the pass service (util/fd_passing.hpp): smtpd finds the
// client's addresses on the socket itself and sends its own "220 " banner, which ends the
// "220-" teaser postscreen sent. A client that fails an enforce test talks to postscreen's
// own tiny SMTP engine, which rejects it after RCPT; drop sends a 521 and hangs up.
//
// Tests, in Postfix's order: postscreen_access_list (permit_mynetworks, cidr: tables with
// permit/reject/dunno), the pass cache (postscreen_cache_map: PASS OLD skips the rest),
// then at once the DNSBL queries (postscreen_dnsbl_sites, in-process on the async
// resolver of lib/dns: no dnsblog daemon) and the pregreet test (the teaser, then
// postscreen_greet_wait seconds in which the client must stay silent; its early bytes are
// only peeked, so that with "ignore" smtpd still reads them). The score is taken when
// the greet wait ends (and the answers are in, at most postscreen_dnsbl_timeout).
// Not done yet: the deep protocol tests, STARTTLS in the engine, the connection and
// queue limits, haproxy, postscreen_dnsbl_reply_map, cache cleanup (docs/postscreen.md).
//
// Trust: every byte from the client is untrusted; it is only peeked at, split into lines
// of bounded length and answered with fixed texts. DNS answers come through lib/dns.
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dns/dns.hpp"
#include "dns/dnsbl.hpp"
#include "ipc/attr_channel.hpp"
#include "maps/cidr_map.hpp"
#include "maps/map.hpp"
#include "net/tcp_connect.hpp"
#include "postscreen/dnsbl_sites.hpp"
#include "server/multi_server.hpp"
#include "util/event_loop.hpp"
#include "util/fd_passing.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

using namespace postern;
using namespace postern::postscreen;
using Clock = std::chrono::steady_clock;

namespace {

enum class Action { ignore, enforce, drop };

Result<Action> read_action(const Config& config, std::string_view name) {
    auto value = config.get(name);
    if (!value)
        return value.error();
    std::string text = lowercase(trim(*value));
    if (text == "ignore")
        return Action::ignore;
    if (text == "enforce")
        return Action::enforce;
    if (text == "drop")
        return Action::drop;
    return Error(ErrorKind::config, "bad " + std::string(name) + " value: " + *value);
}

// One entry of postscreen_access_list.
struct AccessEntry {
    bool mynetworks = false;
    std::unique_ptr<Map> table;
};

struct Settings {
    std::string greet_banner;
    std::string hostname;
    std::string message_size_limit;  // for the engine's EHLO SIZE
    std::chrono::milliseconds greet_wait{6000};
    std::chrono::milliseconds dnsbl_timeout{10000};
    std::chrono::seconds command_time_limit{300};
    int64_t command_count_limit = 20;
    Action greet_action = Action::ignore;
    Action denylist_action = Action::ignore;
    Action dnsbl_action = Action::ignore;
    int64_t dnsbl_threshold = 1;
    int64_t dnsbl_allowlist_threshold = 0;
    int64_t greet_ttl = 86400;
    int64_t dnsbl_ttl = 3600;
    std::vector<WeightedDnsblSite> sites;
    std::string smtpd_service;  // "private/smtpd"
};

// What the daemon opens once, before chroot.
struct Postscreen {
    Settings settings;
    std::vector<AccessEntry> access_list;
    std::unique_ptr<Map> mynetworks;
    std::unique_ptr<Map> cache;
    std::unique_ptr<DnsResolver> dns;
    MultiServer* server = nullptr;
};

// Lives as long as the process (tables unregister from lib/maps' registry at exit).
Postscreen* daemon_state = nullptr;

Status read_settings(Settings& settings, const Config& config) {
    auto text = [&](std::string_view name, std::string& into) -> Status {
        auto value = config.get(name);
        if (!value)
            return value.error();
        into = *value;
        return {};
    };
    auto seconds = [&](std::string_view name) -> Result<int64_t> {
        return config.get_time_seconds(name);
    };
    if (auto read = text("postscreen_greet_banner", settings.greet_banner); !read)
        return read;
    if (auto read = text("myhostname", settings.hostname); !read)
        return read;
    if (auto read = text("message_size_limit", settings.message_size_limit); !read)
        return read;
    std::string service;
    if (auto read = text("smtpd_service_name", service); !read)
        return read;
    settings.smtpd_service = "private/" + service;
    auto greet_wait = seconds("postscreen_greet_wait");
    auto dnsbl_timeout = seconds("postscreen_dnsbl_timeout");
    auto command_time = seconds("postscreen_command_time_limit");
    auto greet_ttl = seconds("postscreen_greet_ttl");
    auto dnsbl_ttl = seconds("postscreen_dnsbl_max_ttl");
    for (auto* value : {&greet_wait, &dnsbl_timeout, &command_time, &greet_ttl, &dnsbl_ttl})
        if (!*value)
            return value->error();
    settings.greet_wait = std::chrono::seconds(*greet_wait);
    settings.dnsbl_timeout = std::chrono::seconds(*dnsbl_timeout);
    settings.command_time_limit = std::chrono::seconds(*command_time);
    settings.greet_ttl = *greet_ttl;
    settings.dnsbl_ttl = *dnsbl_ttl;
    auto count = config.get_integer("postscreen_command_count_limit");
    auto threshold = config.get_integer("postscreen_dnsbl_threshold");
    auto allowlist = config.get_integer("postscreen_dnsbl_allowlist_threshold");
    for (auto* value : {&count, &threshold, &allowlist})
        if (!*value)
            return value->error();
    settings.command_count_limit = *count;
    settings.dnsbl_threshold = *threshold;
    settings.dnsbl_allowlist_threshold = *allowlist;
    auto greet_action = read_action(config, "postscreen_greet_action");
    auto denylist_action = read_action(config, "postscreen_denylist_action");
    auto dnsbl_action = read_action(config, "postscreen_dnsbl_action");
    for (auto* value : {&greet_action, &denylist_action, &dnsbl_action})
        if (!*value)
            return value->error();
    settings.greet_action = *greet_action;
    settings.denylist_action = *denylist_action;
    settings.dnsbl_action = *dnsbl_action;
    auto sites_text = config.get("postscreen_dnsbl_sites");
    if (!sites_text)
        return sites_text.error();
    auto sites = parse_dnsbl_sites(*sites_text);
    if (!sites)
        return sites.error();
    settings.sites = std::move(*sites);
    return {};
}

// mynetworks as one cidr table (network blocks only; type:table entries are not read
// here yet, with a warning).
Status open_mynetworks(Postscreen& daemon, const Config& config) {
    auto value = config.get("mynetworks");
    if (!value)
        return value.error();
    std::string cidr_text;
    for (std::string_view entry : split_list(*value)) {
        if (entry.find(':') != std::string_view::npos && entry[0] != '[' && entry[0] != '!')
            log_warning("mynetworks: tables are not supported by postscreen yet: %.*s",
                        static_cast<int>(entry.size()), entry.data());
        else if (entry[0] != '/')
            cidr_text += std::string(entry) + " OK\n";
    }
    PatternTableBuild build = build_cidr_map("mynetworks", cidr_text);
    for (const std::string& warning : build.warnings)
        log_warning("%s", warning.c_str());
    daemon.mynetworks = std::move(build.map);
    return {};
}

Status open_access_list(Postscreen& daemon, const Config& config) {
    auto value = config.get("postscreen_access_list");
    if (!value)
        return value.error();
    for (std::string_view entry : split_list(*value)) {
        AccessEntry access;
        if (equals_ignore_case(entry, "permit_mynetworks")) {
            access.mynetworks = true;
        } else if (entry.find(':') != std::string_view::npos) {
            MapOpenOptions options;
            options.context = "postscreen_access_list";
            auto table = open_map(entry, options);
            if (!table)
                return table.error();
            access.table = std::move(*table);
        } else {
            return Error(ErrorKind::config,
                         "postscreen_access_list: unknown entry: " + std::string(entry));
        }
        daemon.access_list.push_back(std::move(access));
    }
    return {};
}

Status open_postscreen(ServerContext& context) {
    ::signal(SIGPIPE, SIG_IGN);
    auto daemon = std::make_unique<Postscreen>();
    if (auto read = read_settings(daemon->settings, context.config); !read)
        return read;
    if (auto opened = open_mynetworks(*daemon, context.config); !opened)
        return opened;
    if (auto opened = open_access_list(*daemon, context.config); !opened)
        return opened;
    auto cache_spec = context.config.get("postscreen_cache_map");
    if (!cache_spec)
        return cache_spec.error();
    if (!trim(*cache_spec).empty()) {
        MapOpenOptions options;
        options.access = MapAccess::create;
        options.context = "postscreen_cache_map";
        auto cache = open_map(trim(*cache_spec), options);
        if (!cache)
            return cache.error();
        daemon->cache = std::move(*cache);
    }
    // Created before the chroot, so that c-ares has read its configuration.
    auto dns_settings = read_dns_resolver_settings(context.config);
    if (!dns_settings)
        return dns_settings.error();
    auto dns = DnsResolver::create(*dns_settings, *context.event_loop);
    if (!dns)
        return dns.error();
    daemon->dns = std::move(*dns);
    daemon_state = daemon.release();
    return {};
}

// Client bytes for the log: printable ASCII as is, CR/LF/TAB as \r \n \t, others octal.
std::string printable(std::string_view bytes) {
    std::string text;
    for (unsigned char c : bytes) {
        if (c == '\r')
            text += "\\r";
        else if (c == '\n')
            text += "\\n";
        else if (c == '\t')
            text += "\\t";
        else if (c >= 0x20 && c < 0x7f && c != '\\')
            text += static_cast<char>(c);
        else {
            char octal[8];
            std::snprintf(octal, sizeof octal, "\\%03o", c);
            text += octal;
        }
    }
    return text;
}

void send_text(int fd, std::string_view text) {
    // Short replies on a fresh connection: they fit the socket buffer; a client that does
    // not read simply loses them.
    (void)::send(fd, text.data(), text.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
}

class Client;
// Never destroyed, like daemon_state: the clients' events must not outlive the loop.
struct ClientTable {
    std::map<Client*, std::unique_ptr<Client>> active;
    std::vector<std::unique_ptr<Client>> finished;
    Event reaper;  // frees the finished clients from the loop
};
ClientTable* clients = nullptr;

class Client {
  public:
    Client(MultiClient connection, MultiServer& server)
        : connection_(std::move(connection)), loop_(server.loop()), started_(Clock::now()) {
        int fd = connection_.fd();
        address_ = socket_peer_address(fd);
        if (address_.rfind("::ffff:", 0) == 0 && address_.find('.') != std::string::npos)
            address_ = address_.substr(7);
        port_ = std::to_string(socket_peer_port(fd));
        endpoint_ = "[" + address_ + "]:" + port_;
    }

    void start() {
        Postscreen& daemon = *daemon_state;
        std::string local = socket_local_address(connection_.fd());
        if (local.rfind("::ffff:", 0) == 0 && local.find('.') != std::string::npos)
            local = local.substr(7);
        log_info("CONNECT from %s to [%s]:%u", endpoint_.c_str(), local.c_str(),
                 static_cast<unsigned>(local_port()));
        switch (check_access_list()) {
            case Access::permit:
                log_info("ALLOWLISTED %s", endpoint_.c_str());
                return pass_to_smtpd();
            case Access::reject:
                log_info("DENYLISTED %s", endpoint_.c_str());
                if (daemon.settings.denylist_action == Action::drop)
                    return drop("521 5.3.2 Service currently unavailable\r\n");
                if (daemon.settings.denylist_action == Action::enforce)
                    fail_reply_ = "550 5.3.2 Service currently unavailable";
                break;
            case Access::dunno:
                if (cached_pass()) {
                    log_info("PASS OLD %s", endpoint_.c_str());
                    return pass_to_smtpd();
                }
                break;
        }
        start_dnsbl();
        send_text(connection_.fd(), "220-" + daemon.settings.greet_banner + "\r\n");
        greet_deadline_ = started_ + daemon.settings.greet_wait;
        read_event_ = Event::readable(loop_, connection_.fd(), false,
                                      [this](EventReady ready) { greet_readable(ready); });
        read_event_.arm(daemon.settings.greet_wait);
    }

  private:
    enum class Access { permit, reject, dunno };

    uint16_t local_port() const {
        sockaddr_storage address{};
        socklen_t length = sizeof address;
        if (::getsockname(connection_.fd(), reinterpret_cast<sockaddr*>(&address), &length) != 0)
            return 0;
        if (address.ss_family == AF_INET)
            return ntohs(reinterpret_cast<sockaddr_in*>(&address)->sin_port);
        if (address.ss_family == AF_INET6)
            return ntohs(reinterpret_cast<sockaddr_in6*>(&address)->sin6_port);
        return 0;
    }

    // Seconds since the connect with two significant digits and no trailing zeros, as
    // Postfix prints them: "0", "0.31", "1.2", "10".
    std::string elapsed() const {
        double seconds = std::chrono::duration<double>(Clock::now() - started_).count();
        int decimals = 0;
        for (double scale = 10; seconds * scale < 100 && decimals < 6; scale *= 10)
            ++decimals;
        if (seconds <= 0)
            decimals = 0;
        char text[32];
        std::snprintf(text, sizeof text, "%.*f", decimals, seconds);
        std::string formatted = text;
        if (formatted.find('.') != std::string::npos) {
            formatted.erase(formatted.find_last_not_of('0') + 1);
            if (formatted.back() == '.')
                formatted.pop_back();
        }
        return formatted;
    }

    Access check_access_list() {
        Postscreen& daemon = *daemon_state;
        for (AccessEntry& entry : daemon.access_list) {
            if (entry.mynetworks) {
                auto found = daemon.mynetworks ? daemon.mynetworks->lookup(address_)
                                               : Result<std::optional<std::string>>(std::nullopt);
                if (found && *found)
                    return Access::permit;
                continue;
            }
            auto found = entry.table->lookup(address_);
            if (!found) {
                log_warning("%s: table lookup error for %s: %s", entry.table->spec().c_str(),
                            address_.c_str(), found.error().message().c_str());
                continue;
            }
            if (!*found)
                continue;
            std::string verdict = lowercase(trim(**found));
            if (verdict == "permit")
                return Access::permit;
            if (verdict == "reject")
                return Access::reject;
            if (verdict != "dunno")
                log_warning("%s: unknown command in postscreen_access_list: %s",
                            entry.table->spec().c_str(), verdict.c_str());
        }
        return Access::dunno;
    }

    // The cache entry is "greet-expiry;dnsbl-expiry" (seconds since the epoch), Postfix's
    // first two fields; the later ones (the deep tests) are written as 0.
    bool cached_pass() {
        Postscreen& daemon = *daemon_state;
        if (!daemon.cache)
            return false;
        auto found = daemon.cache->lookup(address_);
        if (!found || !*found)
            return false;
        auto fields = split_list(**found, ";");
        if (fields.size() < 2)
            return false;
        auto greet = parse_integer(fields[0]);
        auto dnsbl = parse_integer(fields[1]);
        int64_t now = std::time(nullptr);
        return greet && dnsbl && *greet > now && (daemon.settings.sites.empty() || *dnsbl > now);
    }

    void remember_pass() {
        Postscreen& daemon = *daemon_state;
        if (!daemon.cache)
            return;
        int64_t now = std::time(nullptr);
        std::string value = std::to_string(now + daemon.settings.greet_ttl) + ";" +
                            std::to_string(now + daemon.settings.dnsbl_ttl) + ";0;0;0";
        if (auto updated = daemon.cache->update(address_, value); !updated)
            log_warning("postscreen_cache_map: update %s: %s", address_.c_str(),
                        updated.error().message().c_str());
        else if (auto committed = daemon.cache->commit(); !committed)
            log_warning("postscreen_cache_map: %s", committed.error().message().c_str());
    }

    void start_dnsbl() {
        Postscreen& daemon = *daemon_state;
        auto host = parse_host_address(address_);
        if (!host || daemon.settings.sites.empty())
            return;
        std::shared_ptr<bool> alive = alive_;
        for (size_t index = 0; index < daemon.settings.sites.size(); ++index) {
            ++dnsbl_pending_;
            dnsbl_lookup_async(*daemon.dns, daemon.settings.sites[index].site, *host, false,
                               [this, alive, index](DnsResult<DnsblResult> result) {
                                   if (*alive)
                                       dnsbl_answer(index, result);
                               });
        }
    }

    void dnsbl_answer(size_t index, const DnsResult<DnsblResult>& result) {
        const WeightedDnsblSite& site = daemon_state->settings.sites[index];
        --dnsbl_pending_;
        if (result.ok() && result->listed) {
            dnsbl_score_ += site.weight;
            if (site.weight > 0 && site.weight > top_weight_) {
                top_weight_ = site.weight;
                top_site_ = site.site.zone;
            }
        }
        if (dnsbl_pending_ == 0 && waiting_for_dnsbl_)
            finish_tests();
    }

    void greet_readable(EventReady ready) {
        if (ready.timed_out)
            return greet_over();
        char buffer[1024];
        ssize_t count = ::recv(connection_.fd(), buffer, sizeof buffer, MSG_PEEK);
        if (count <= 0) {
            log_info("HANGUP after %s from %s in tests before SMTP handshake", elapsed().c_str(),
                     endpoint_.c_str());
            return done();
        }
        Settings& settings = daemon_state->settings;
        log_info("PREGREET %zd after %s from %s: %s", count, elapsed().c_str(), endpoint_.c_str(),
                 printable(std::string_view(buffer, static_cast<size_t>(count))).c_str());
        if (settings.greet_action == Action::drop)
            return drop("521 5.5.1 Protocol error\r\n");
        if (settings.greet_action == Action::enforce && fail_reply_.empty())
            fail_reply_ = "550 5.5.1 Protocol error";
        pregreeted_ = true;
        // The bytes stay in the socket (peeked): the engine or smtpd reads them. Wait out
        // the rest of the greet time without reading.
        auto left = std::chrono::ceil<std::chrono::milliseconds>(greet_deadline_ - Clock::now());
        greet_timer_ = Event::timer(loop_, [this](EventReady) { greet_over(); });
        greet_timer_.arm(std::max(left, std::chrono::milliseconds{0}));
    }

    void greet_over() {
        if (dnsbl_pending_ > 0) {
            waiting_for_dnsbl_ = true;
            auto left = std::chrono::ceil<std::chrono::milliseconds>(
                started_ + daemon_state->settings.dnsbl_timeout - Clock::now());
            dnsbl_timer_ = Event::timer(loop_, [this](EventReady) {
                dnsbl_pending_ = 0;
                finish_tests();
            });
            dnsbl_timer_.arm(std::max(left, std::chrono::milliseconds{0}));
            return;
        }
        finish_tests();
    }

    void finish_tests() {
        // Disarmed, not destroyed: this may run inside one of their callbacks.
        greet_timer_.disarm();
        dnsbl_timer_.disarm();
        waiting_for_dnsbl_ = false;
        Settings& settings = daemon_state->settings;
        bool dnsbl_failed = false;
        if (!settings.sites.empty() && dnsbl_score_ >= settings.dnsbl_threshold) {
            log_info("DNSBL rank %d for %s", dnsbl_score_, endpoint_.c_str());
            dnsbl_failed = true;
            std::string reply =
                "5.7.1 Service unavailable; client [" + address_ + "] blocked using " + top_site_;
            if (settings.dnsbl_action == Action::drop)
                return drop("521 " + reply + "\r\n");
            if (settings.dnsbl_action == Action::enforce && fail_reply_.empty())
                fail_reply_ = "550 " + reply;
        }
        if (!fail_reply_.empty())
            return start_engine();
        if (!pregreeted_ && !dnsbl_failed) {
            log_info("PASS NEW %s", endpoint_.c_str());
            remember_pass();
        }
        pass_to_smtpd();
    }

    // Hands the socket to an smtpd through the pass service; smtpd continues the session.
    void pass_to_smtpd() {
        Settings& settings = daemon_state->settings;
        auto channel = connect_attr_service(settings.smtpd_service, std::chrono::seconds(5));
        Status sent = channel ? send_fd(channel->fd(), connection_.fd()) : Status(channel.error());
        if (!sent) {
            log_warning("cannot connect to service %s: %s", settings.smtpd_service.c_str(),
                        sent.error().message().c_str());
            send_text(connection_.fd(), "421 4.3.2 All server ports are busy\r\n");
        } else {
            passed_ = true;
        }
        done();
    }

    void drop(const std::string& reply) {
        send_text(connection_.fd(), reply);
        // Unread input would make close() reset the connection, and the client might
        // never see the reply.
        char discard[4096];
        for (int reads = 0; reads < 16; ++reads)
            if (::recv(connection_.fd(), discard, sizeof discard, MSG_DONTWAIT) <= 0)
                break;
        ::shutdown(connection_.fd(), SHUT_WR);
        done();
    }

    // ---- the SMTP engine for clients that failed an enforce test ----

    void start_engine() {
        send_text(connection_.fd(), "220 " + daemon_state->settings.greet_banner + "\r\n");
        engine_event_ = Event::readable(loop_, connection_.fd(), true,
                                        [this](EventReady ready) { engine_readable(ready); });
        engine_event_.arm(daemon_state->settings.command_time_limit);
    }

    void engine_readable(EventReady ready) {
        if (ready.timed_out) {
            send_text(connection_.fd(), "421 4.4.2 " + daemon_state->settings.hostname +
                                            " Error: timeout exceeded\r\n");
            return engine_end();
        }
        char buffer[4096];
        ssize_t count = ::recv(connection_.fd(), buffer, sizeof buffer, 0);
        if (count <= 0)
            return engine_end();
        input_.append(buffer, static_cast<size_t>(count));
        size_t newline;
        while (!finishing_ && (newline = input_.find('\n')) != std::string::npos) {
            std::string line = input_.substr(0, newline);
            input_.erase(0, newline + 1);
            if (!line.empty() && line.back() == '\r')
                line.pop_back();
            engine_command(line);
        }
        if (finishing_)
            return engine_end();
        if (input_.size() > 4096)
            input_.clear();  // an endless line: its rest is ignored
    }

    void engine_command(std::string_view line) {
        Settings& settings = daemon_state->settings;
        if (++commands_ > settings.command_count_limit) {
            send_text(connection_.fd(),
                      "421 4.7.0 " + settings.hostname + " Error: too many commands\r\n");
            finishing_ = true;
            return;
        }
        std::string_view verb = line.substr(0, line.find(' '));
        std::string_view argument =
            verb.size() < line.size() ? trim(line.substr(verb.size() + 1)) : std::string_view{};
        std::string reply;
        if (equals_ignore_case(verb, "EHLO")) {
            helo_ = argument;
            protocol_ = "ESMTP";
            reply = "250-" + settings.hostname + "\r\n250-SIZE " + settings.message_size_limit +
                    "\r\n250-VRFY\r\n250-ETRN\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME"
                    "\r\n250-DSN\r\n250-SMTPUTF8\r\n250 CHUNKING";
        } else if (equals_ignore_case(verb, "HELO")) {
            helo_ = argument;
            protocol_ = "SMTP";
            reply = "250 " + settings.hostname;
        } else if (equals_ignore_case(verb, "MAIL")) {
            sender_ = mail_argument(argument);
            reply = "250 2.1.0 Ok";
        } else if (equals_ignore_case(verb, "RCPT")) {
            log_info("NOQUEUE: reject: RCPT from %s: %s; from=<%s>, to=<%s>, proto=%s, helo=<%s>",
                     endpoint_.c_str(), fail_reply_.c_str(), sender_.c_str(),
                     mail_argument(argument).c_str(), protocol_.c_str(), helo_.c_str());
            reply = fail_reply_;
        } else if (equals_ignore_case(verb, "DATA")) {
            // As Postfix's engine: the reply, then the end of the session.
            log_info("DATA without valid RCPT from %s", endpoint_.c_str());
            reply = "554 5.5.1 Error: no valid recipients";
            finishing_ = true;
        } else if (equals_ignore_case(verb, "RSET") || equals_ignore_case(verb, "NOOP")) {
            reply = "250 2.0.0 Ok";
        } else if (equals_ignore_case(verb, "QUIT")) {
            reply = "221 2.0.0 Bye";
            finishing_ = true;
        } else {
            reply = "502 5.5.2 Error: command not recognized";
        }
        send_text(connection_.fd(), reply + "\r\n");
    }

    // "FROM:<a@b> SIZE=1" -> "a@b".
    static std::string mail_argument(std::string_view argument) {
        size_t open = argument.find('<');
        size_t close = argument.find('>', open == std::string_view::npos ? 0 : open);
        if (open == std::string_view::npos || close == std::string_view::npos)
            return std::string(
                trim(argument.substr(std::min(argument.find(':') + 1, argument.size()))));
        return std::string(argument.substr(open + 1, close - open - 1));
    }

    void engine_end() { done(); }

    // The client is done: closed now, the object freed from the loop (never from inside
    // one of its own callbacks).
    void done() {
        if (*alive_ && !passed_)
            log_info("DISCONNECT %s", endpoint_.c_str());
        *alive_ = false;
        // Disarmed only: this runs inside their callbacks; the reaper frees them.
        read_event_.disarm();
        engine_event_.disarm();
        greet_timer_.disarm();
        dnsbl_timer_.disarm();
        connection_.finish();
        auto found = clients->active.find(this);
        if (found == clients->active.end())
            return;
        clients->finished.push_back(std::move(found->second));
        clients->active.erase(found);
        clients->reaper.arm(std::chrono::milliseconds{0});
    }

    MultiClient connection_;
    EventLoop& loop_;
    Clock::time_point started_;
    Clock::time_point greet_deadline_;
    std::string address_;
    std::string port_;
    std::string endpoint_;
    Event read_event_;    // the greet wait: a pregreet peek, or its end
    Event greet_timer_;   // the rest of the greet wait after a pregreet
    Event dnsbl_timer_;   // waiting for late DNSBL answers
    Event engine_event_;  // the SMTP engine's input
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
    int dnsbl_pending_ = 0;
    int dnsbl_score_ = 0;
    int top_weight_ = 0;
    std::string top_site_;
    bool waiting_for_dnsbl_ = false;
    bool pregreeted_ = false;
    bool passed_ = false;  // handed to smtpd: no DISCONNECT line
    std::string fail_reply_;
    std::string input_;
    int64_t commands_ = 0;
    bool finishing_ = false;
    std::string helo_;
    std::string sender_;
    std::string protocol_ = "SMTP";
};

void new_client(MultiClient connection, MultiServer& server) {
    if (clients == nullptr) {
        clients = new ClientTable;
        clients->reaper =
            Event::timer(server.loop(), [](EventReady) { clients->finished.clear(); });
    }
    auto client = std::make_unique<Client>(std::move(connection), server);
    Client* raw = client.get();
    clients->active.emplace(raw, std::move(client));
    raw->start();
}

}  // namespace

int main(int argc, char** argv) {
    return run_multi_server(
        argc, argv, MultiServerHooks{.on_connect = new_client, .pre_init = open_postscreen});
}
