// smtpd: Postfix's smtpd(8), the SMTP server. Receives mail from the network (port 25,
// submission 587, smtps 465) and hands each accepted message to cleanup.
//
// Where it sits: at the front door. master.cf `smtp inet n - y - - smtpd` (and the
// submission/smtps services with their -o overrides); one client per process at a time on
// the single-client skeleton, reused up to max_use. In: a network client, untrusted in every
// byte. Out: messages through cleanup (public/cleanup, smtpd/cleanup_sink.hpp); the 250
// after DATA only once cleanup said the file is on disk.
//
// Privileges: pre_init runs as root (tables, the TLS key), then the skeleton chroots (if
// master.cf says so) and drops to mail_owner before the first client byte is read.
// The conversation is smtpd_session.hpp, the restriction language restrictions.hpp; this
// file only moves bytes between the socket (lib/net/smtp_stream.hpp) and the session.
// RFCs: 5321, 3207 (STARTTLS), 4954 (AUTH), and the extensions smtpd_session.hpp lists.
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sys/time.h>
#include <memory>
#include <optional>

#include "dns/client_name.hpp"
#include "dns/dns.hpp"
#include "mail/address.hpp"
#include "mail/local_domains.hpp"
#include "mail/mail_date.hpp"
#include "mail/resolve.hpp"
#include "maps/search.hpp"
#include "net/smtp_stream.hpp"
#include "net/tcp_connect.hpp"
#include "queue/flush_client.hpp"
#include "server/single_server.hpp"
#include "smtpd/cleanup_sink.hpp"
#include "smtpd/restrictions.hpp"
#include "smtpd/smtpd_sasl.hpp"
#include "smtpd/smtpd_session.hpp"
#include "smtpd/smtpd_settings.hpp"
#include "tls/tls_context.hpp"
#include "tls/tls_policy.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

using namespace postern;
using namespace postern::smtpd;

namespace {

// What the daemon opens once, before chroot, and keeps for every client.
struct Smtpd {
    SmtpdSettings settings;
    std::unique_ptr<AddressResolver> resolver;
    // The client name at connect and the DNS lists (postern_dns_servers), made before
    // the chroot so that c-ares has read its configuration.
    std::unique_ptr<DnsResolver> dns;
    // ETRN: fast_flush_domains, checked before the flush service is asked.
    std::optional<FastFlushDomains> flush_domains;
    FlushClientSettings flush;
    std::unique_ptr<Restrictions> restrictions;
    std::unique_ptr<CleanupSinkFactory> sinks;
    std::optional<TlsContext> tls;
    TlsLevel tls_level = TlsLevel::none;
    TlsSessionSettings tls_settings;
    bool wrappermode = false;
};

// Lives as long as the process and is never destroyed: its tables unregister from lib/maps'
// process-wide registry, which static destruction at exit() may already have freed.
Smtpd* smtpd_state = nullptr;

Status open_tls(Smtpd& daemon, const Config& config) {
    auto level = smtpd_tls_level(config, "smtpd");
    if (!level)
        return level.error();
    auto wrapper = config.get_boolean("smtpd_tls_wrappermode");
    if (!wrapper)
        return wrapper.error();
    daemon.wrappermode = *wrapper;
    daemon.tls_level = *level;
    if (daemon.tls_level == TlsLevel::none && !daemon.wrappermode)
        return {};
    auto files = tls_server_files(config, "smtpd");
    if (!files)
        return files.error();
    auto context = TlsContext::server(*files);
    if (!context) {
        // Postfix goes on without STARTTLS unless TLS is mandatory.
        if (tls_level_is_mandatory(daemon.tls_level) || daemon.wrappermode)
            return context.error();
        log_warning("TLS is not available: %s", context.error().message().c_str());
        daemon.tls_level = TlsLevel::none;
        return {};
    }
    daemon.tls.emplace(std::move(*context));
    auto session_settings = tls_session_settings(config, "smtpd", daemon.tls_level);
    if (!session_settings)
        return session_settings.error();
    daemon.tls_settings = *session_settings;
    return {};
}

// local_recipient_maps, for reject_unlisted_recipient (and smtpd_reject_unlisted_recipient):
// an empty value turns the check off, as in Postfix. proxy: is not needed without a chroot
// and not implemented yet, so "proxy:unix:passwd.byname" is read as unix:passwd.byname.
Result<LocalRecipientCheck> open_local_recipient_check(const Config& config,
                                                       AddressResolver* resolver) {
    auto value = config.get("local_recipient_maps");
    if (!value)
        return value.error();
    std::string specs;
    for (std::string_view spec : split_list(*value)) {
        if (spec.substr(0, 6) == "proxy:")
            spec.remove_prefix(6);
        specs += std::string(spec) + " ";
    }
    if (specs.empty())
        return LocalRecipientCheck{};
    MapListOptions options;
    options.surrogate_on_open_error = true;
    auto maps = MapList::open("local_recipient_maps", specs, options);
    if (!maps)
        return maps.error();
    auto shared = std::make_shared<MapList>(std::move(*maps));
    return LocalRecipientCheck(
        [shared, resolver](std::string_view address) -> Result<std::optional<bool>> {
            AddressSearchOptions search;
            search.is_local_domain = [resolver](std::string_view domain) {
                return resolver->is_local_domain(domain);
            };
            auto found = find_address(*shared, internalize_address(address), search);
            if (!found)
                return found.error();
            return std::optional<bool>(found->has_value());
        });
}

Status open_smtpd(ServerContext& context) {
    // Stand-alone mode (sendmail -bs) talks on stdin/stdout and, as a user without rights
    // to cleanup's socket, would have to submit through postdrop: not written yet.
    if (context.options.stand_alone)
        return Error(ErrorKind::config,
                     "stand-alone mode (-S, as used by sendmail -bs) is not implemented yet");
    ::signal(SIGPIPE, SIG_IGN);
    auto daemon = std::make_unique<Smtpd>();
    auto settings = SmtpdSettings::from_config(context.config);
    if (!settings)
        return settings.error();
    daemon->settings = std::move(*settings);
    if (daemon->settings.sasl_auth_enable && daemon->settings.sasl_type != "dovecot")
        return Error(ErrorKind::config,
                     "unsupported SASL server implementation: " + daemon->settings.sasl_type);
    ResolverOptions resolver_options;
    resolver_options.tables.surrogate_on_open_error = true;
    auto resolver = AddressResolver::open(context.config, resolver_options);
    if (!resolver)
        return resolver.error();
    daemon->resolver = std::move(*resolver);
    auto dns_settings = read_dns_resolver_settings(context.config);
    if (!dns_settings)
        return dns_settings.error();
    auto dns = DnsResolver::create(*dns_settings);
    if (!dns)
        return dns.error();
    daemon->dns = std::move(*dns);
    AddressResolver* classifier = daemon->resolver.get();
    auto local_recipients = open_local_recipient_check(context.config, classifier);
    if (!local_recipients)
        return local_recipients.error();
    auto restrictions = Restrictions::open(
        context.config,
        [classifier](std::string_view domain) { return classifier->classify_domain(domain); },
        *local_recipients, daemon->dns.get());
    if (!restrictions)
        return restrictions.error();
    daemon->restrictions = std::move(*restrictions);
    auto cleanup_service = context.config.get("cleanup_service_name");
    if (!cleanup_service)
        return cleanup_service.error();
    daemon->sinks = std::make_unique<CleanupSinkFactory>(
        "public/" + *cleanup_service,
        std::chrono::duration_cast<std::chrono::milliseconds>(daemon->settings.ipc_timeout),
        daemon->settings.line_length_limit);
    auto flush_domains = FastFlushDomains::from_config(context.config);
    if (!flush_domains)
        return flush_domains.error();
    daemon->flush_domains.emplace(std::move(*flush_domains));
    // Relative, like public/cleanup: the process runs in the queue directory, chrooted
    // or not.
    daemon->flush.queue_directory = ".";
    daemon->flush.timeout =
        std::chrono::duration_cast<std::chrono::milliseconds>(daemon->settings.ipc_timeout);
    daemon->flush.domains = &*daemon->flush_domains;
    if (auto tls = open_tls(*daemon, context.config); !tls)
        return tls;
    smtpd_state = daemon.release();
    return {};
}

// The client's address and, with smtpd_peername_lookup, its names (before the greeting:
// "connect from name[address]").
ClientIdentity identify_client(const Smtpd& daemon, int fd) {
    ClientIdentity client;
    client.address = socket_peer_address(fd);
    if (client.address.empty())
        client.address = "127.0.0.1";  // -S: stdin is not a socket
    // An IPv4 client on an IPv6 socket is named and checked as IPv4, as in Postfix.
    if (client.address.rfind("::ffff:", 0) == 0 && client.address.find('.') != std::string::npos)
        client.address = client.address.substr(7);
    client.port = std::to_string(socket_peer_port(fd));
    if (client.address.find(':') != std::string::npos)
        client.address_type = "ipv6";
    auto address = parse_host_address(client.address);
    if (daemon.settings.peername_lookup && daemon.dns && address) {
        auto deadline = DnsResolver::Clock::now() + daemon.settings.timeout;
        ClientName names = lookup_client_name(*daemon.dns, *address, AddressFamilies{}, deadline);
        client.name = names.name;
        client.name_status = names.name_status;
        client.reverse_name = names.reverse_name;
        client.reverse_name_status = names.reverse_name_status;
    }
    return client;
}

QueueTime now() {
    struct timeval tv;
    ::gettimeofday(&tv, nullptr);
    return QueueTime{tv.tv_sec, static_cast<int32_t>(tv.tv_usec)};
}

// Moves bytes between the socket and the session until the session ends.
class Conversation {
  public:
    Conversation(Smtpd& daemon, ClientConnection& client)
        : daemon_(daemon),
          stream_(Fd(::dup(client.input_fd())), daemon.settings.line_length_limit),
          sasl_(connect_sasl(daemon, client.input_fd())),
          client_(identify_client(daemon, client.input_fd())),
          session_(daemon.settings, client_, services(), sasl_.get()) {}

    Status run() {
        if (daemon_.wrappermode && !start_tls())
            return {};
        if (daemon_.tls && !daemon_.wrappermode)
            session_.offer_starttls(tls_level_is_mandatory(daemon_.tls_level));
        session_.start();
        while (!session_.finished()) {
            if (!send_replies())
                break;
            if (session_.starttls_pending() && !start_tls())
                break;
            if (session_.finished())
                break;
            receive();
        }
        send_replies();
        (void)stream_.flush(timeout());
        session_.log_disconnect();
        return {};
    }

  private:
    SessionServices services() {
        SessionServices services;
        services.sinks = daemon_.sinks.get();
        services.restrictions = daemon_.restrictions.get();
        services.sleep = [](std::chrono::seconds delay) {
            ::sleep(static_cast<unsigned>(delay.count()));
        };
        services.now = now;
        services.date = [](std::time_t when) { return mail_date(when); };
        const FlushClientSettings* flush = &daemon_.flush;
        services.flush_site = [flush](std::string_view site) {
            return flush_send_site(*flush, site);
        };
        return services;
    }

    std::chrono::milliseconds timeout() const {
        return std::chrono::duration_cast<std::chrono::milliseconds>(daemon_.settings.timeout);
    }

    // Replies go out when the client has nothing more pipelined (RFC 2920 section 3.2).
    bool send_replies() {
        std::string output = session_.take_output();
        if (!output.empty() && !stream_.write(output, timeout()))
            return lost(false);
        if ((stream_.buffered_input() == 0 || session_.finished() || session_.starttls_pending()) &&
            !stream_.flush(timeout()))
            return lost(false);
        return true;
    }

    bool start_tls() {
        if (stream_.buffered_input() > 0)
            log_info("improper command pipelining after STARTTLS from %s", peer_name().c_str());
        auto started = stream_.start_tls_server(
            *daemon_.tls, daemon_.tls_settings,
            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::seconds(300)),
            peer_name());
        if (!started) {
            log_warning("TLS handshake failed with %s: %s", peer_name().c_str(),
                        started.error().message().c_str());
            session_.connection_lost();
            return false;
        }
        std::vector<std::string> received;
        if (daemon_.settings.tls_received_header && stream_.tls())
            received =
                tls_received_header_lines(stream_.tls()->info(), daemon_.settings.tls_ask_ccert);
        session_.tls_started(std::move(received));
        if (sasl_)
            sasl_->set_secured(daemon_.settings.sasl_tls_security_options);
        return true;
    }

    std::string peer_name() const { return client_.name_and_address(); }

    void receive() {
        if (session_.bdat_remaining() > 0) {
            auto bytes =
                stream_.read_bytes(std::min<size_t>(session_.bdat_remaining(), 1 << 16), timeout());
            if (!bytes) {
                lost(stream_.timed_out());
                return;
            }
            session_.receive_bdat(*bytes);
            return;
        }
        auto line =
            stream_.read_line(timeout(), session_.in_data() ? LongLines::split : LongLines::skip);
        if (!line) {
            lost(stream_.timed_out());
            return;
        }
        if (line->at_eof) {
            lost(false);
            return;
        }
        if (line->truncated) {
            session_.receive_line(line->text, false);
            session_.receive_line({}, true);
        } else {
            session_.receive_line(line->text, line->complete);
        }
    }

    bool lost(bool timed_out) {
        if (timed_out) {
            session_.timed_out();
            std::string output = session_.take_output();
            (void)stream_.write(output, std::chrono::seconds(10));
            (void)stream_.flush(std::chrono::seconds(10));
        } else {
            session_.connection_lost();
        }
        return false;
    }

    static std::unique_ptr<DovecotSaslSession> connect_sasl(const Smtpd& daemon, int fd) {
        const SmtpdSettings& settings = daemon.settings;
        if (!settings.sasl_auth_enable)
            return nullptr;
        DovecotAuthRequest request;
        request.service = settings.sasl_service;
        request.local_address = socket_local_address(fd);
        request.remote_address = socket_peer_address(fd);
        return DovecotSaslSession::connect(
            settings.sasl_path,
            std::chrono::duration_cast<std::chrono::milliseconds>(settings.ipc_timeout),
            settings.sasl_security_options, request);
    }

    Smtpd& daemon_;
    SmtpStream stream_;
    std::unique_ptr<DovecotSaslSession> sasl_;
    ClientIdentity client_;
    SmtpSession session_;
};

Status serve(ClientConnection& client, ServerContext&) {
    Conversation conversation(*smtpd_state, client);
    return conversation.run();
}

}  // namespace

int main(int argc, char** argv) {
    return run_single_server(argc, argv, SingleServerHooks{.serve = serve, .pre_init = open_smtpd});
}
