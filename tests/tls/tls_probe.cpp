// tls-probe: lib/tls and lib/net/smtp_stream driven from the command line, so that
// tests/system/tls_test.py can hold them against real OpenSSL peers (openssl s_server,
// openssl s_client) and Python's ssl module. Not installed.
//
//   tls-probe client ADDRESS PORT HOSTNAME NEXTHOP [-w] [-o name=value]...
//       Connects (smtp_connect_timeout), reads the banner, EHLO, STARTTLS when offered
//       (or TLS at once with -w, wrapper mode), checks the certificate as the level in
//       smtp_tls_security_level says, EHLO again, QUIT. Prints "tls: <summary>" and
//       "trust: <word>"; the library logs the established line on stderr when
//       smtp_tls_loglevel >= 1. Exit 0 on success, 2 "defer: <reason>" when the policy
//       refuses, 1 on any other failure ("error: <reason>").
//   tls-probe server PORT_FILE COUNT [-n] [-o name=value]...
//       Listens on 127.0.0.1 (port 0), writes the port to PORT_FILE, serves COUNT clients
//       one after another as a minimal SMTP server with STARTTLS (-n: without), prints
//       "pipelined: N" when plaintext was pipelined after STARTTLS, and "received:" lines
//       with the Received: header's TLS comments. Replies 250 to everything else.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "net/smtp_stream.hpp"
#include "net/tcp_connect.hpp"
#include "tls/tls_context.hpp"
#include "tls/tls_policy.hpp"
#include "util/strings.hpp"

using namespace postern;
using std::chrono::milliseconds;

namespace {

constexpr milliseconds kTimeout{10000};

struct Options {
    std::vector<std::string> positional;
    bool wrapper = false;
    bool no_starttls = false;
    Config config = Config::defaults_only();
};

int usage() {
    std::fprintf(stderr,
                 "usage: tls-probe client ADDRESS PORT HOSTNAME NEXTHOP [-w] [-o n=v]...\n"
                 "       tls-probe server PORT_FILE COUNT [-n] [-o n=v]...\n");
    return 1;
}

bool parse_options(int argc, char** argv, Options& options) {
    for (int i = 2; i < argc; ++i) {
        std::string argument = argv[i];
        if (argument == "-w") {
            options.wrapper = true;
        } else if (argument == "-n") {
            options.no_starttls = true;
        } else if (argument == "-o" && i + 1 < argc) {
            std::string setting = argv[++i];
            size_t equals = setting.find('=');
            if (equals == std::string::npos)
                return false;
            options.config.set_override(setting.substr(0, equals), setting.substr(equals + 1));
        } else {
            options.positional.push_back(argument);
        }
    }
    return true;
}

int fail(const std::string& what) {
    std::printf("error: %s\n", what.c_str());
    return 1;
}

// Reads one SMTP reply (all its lines); returns the last line, or "" on failure.
std::string read_reply(SmtpStream& stream, std::vector<std::string>* lines = nullptr) {
    for (;;) {
        auto line = stream.read_line(kTimeout);
        if (!line)
            return {};
        if (lines)
            lines->push_back(line->text);
        if (line->text.size() < 4 || line->text[3] != '-')
            return line->text;
    }
}

bool offers_starttls(const std::vector<std::string>& lines) {
    for (const auto& line : lines)
        if (line.size() >= 4 &&
            equals_ignore_case(trim(std::string_view(line).substr(4)), "STARTTLS"))
            return true;
    return false;
}

int run_client(Options& options) {
    if (options.positional.size() != 4)
        return usage();
    const std::string& address = options.positional[0];
    const std::string& hostname = options.positional[2];
    const std::string& nexthop = options.positional[3];
    auto level = smtp_client_tls_level(options.config);
    if (!level)
        return fail(level.error().message());
    TlsPolicyEntry entry;
    entry.level = *level;
    auto policy = tls_client_policy(options.config, entry, hostname, nexthop);
    if (!policy)
        return fail(policy.error().message());
    auto files = tls_client_files(options.config);
    if (!files)
        return fail(files.error().message());
    auto context = TlsContext::client(*files);
    if (!context)
        return fail(context.error().message());

    TcpConnectOptions connect_options;
    connect_options.timeout =
        milliseconds(*options.config.get_time_seconds("smtp_connect_timeout") * 1000);
    connect_options.bind_address = *options.config.get("smtp_bind_address");
    auto port = parse_integer(options.positional[1]);
    if (!port)
        return fail(port.error().message());
    auto socket = tcp_connect({address, static_cast<uint16_t>(*port)}, connect_options);
    if (!socket)
        return fail(socket.error().message());
    SmtpStream stream(std::move(*socket));
    const std::string peer = hostname + "[" + address + "]:" + options.positional[1];

    auto start_tls = [&]() -> int {
        Status started = stream.start_tls_client(*context, *policy, kTimeout, peer);
        if (stream.tls()) {
            std::printf("tls: %s\n", tls_summary(stream.tls()->info()).c_str());
            std::printf("trust: %s\n", tls_trust_word(stream.tls()->info()));
        }
        if (!started) {
            std::printf("%s: %s\n",
                        started.error().kind() == ErrorKind::temporary ? "defer" : "error",
                        started.error().message().c_str());
            return started.error().kind() == ErrorKind::temporary ? 2 : 1;
        }
        return 0;
    };
    if (options.wrapper) {
        if (int status = start_tls(); status != 0)
            return status;
        (void)stream.write_line("QUIT", kTimeout);
        (void)stream.flush(kTimeout);
        stream.shutdown_tls(kTimeout);
        return 0;
    }
    if (std::string banner = read_reply(stream); !banner.starts_with("220"))
        return fail("banner: " + banner);
    std::vector<std::string> ehlo;
    (void)stream.write_line("EHLO probe.example", kTimeout);
    if (!stream.flush(kTimeout) || !read_reply(stream, &ehlo).starts_with("250"))
        return fail("EHLO refused");
    if (*level == TlsLevel::none || !offers_starttls(ehlo)) {
        if (tls_level_is_mandatory(*level)) {
            std::printf("defer: TLS is required, but was not offered by host %s\n", peer.c_str());
            return 2;
        }
        std::printf("plaintext\n");
    } else {
        (void)stream.write_line("STARTTLS", kTimeout);
        if (!stream.flush(kTimeout))
            return fail("STARTTLS write");
        if (std::string reply = read_reply(stream); !reply.starts_with("220"))
            return fail("STARTTLS: " + reply);
        if (int status = start_tls(); status != 0)
            return status;
        (void)stream.write_line("EHLO probe.example", kTimeout);
        if (!stream.flush(kTimeout) || !read_reply(stream).starts_with("250"))
            return fail("EHLO after STARTTLS refused");
    }
    (void)stream.write_line("QUIT", kTimeout);
    (void)stream.flush(kTimeout);
    std::printf("reply: %s\n", read_reply(stream).c_str());
    stream.shutdown_tls(kTimeout);
    return 0;
}

Result<Fd> listen_loopback(const std::string& port_file) {
    Fd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(listener.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(listener.get(), 8) != 0)
        return system_error("listen", errno);
    socklen_t length = sizeof address;
    getsockname(listener.get(), reinterpret_cast<sockaddr*>(&address), &length);
    std::ofstream(port_file) << ntohs(address.sin_port) << "\n";
    return listener;
}

// One client: banner, EHLO, STARTTLS, then 250 to anything until QUIT.
void serve_client(SmtpStream& stream, const TlsContext* context, const TlsSessionSettings& settings,
                  bool ask_ccert) {
    const std::string peer = "unknown[" + socket_peer_address(stream.fd()) + "]";
    (void)stream.write_line("220 probe.example ESMTP", kTimeout);
    (void)stream.flush(kTimeout);
    for (;;) {
        auto line = stream.read_line(kTimeout);
        if (!line) {
            std::printf("ended: %s\n", line.error().message().c_str());
            return;
        }
        std::string command = lowercase(line->text);
        if (command.starts_with("ehlo")) {
            (void)stream.write_line("250-probe.example", kTimeout);
            if (context && !stream.tls_active())
                (void)stream.write_line("250-STARTTLS", kTimeout);
            (void)stream.write_line("250 PIPELINING", kTimeout);
        } else if (command == "starttls" && context && !stream.tls_active()) {
            if (size_t pipelined = stream.buffered_input(); pipelined > 0)
                std::printf("pipelined: %zu\n", pipelined);
            (void)stream.write_line("220 2.0.0 Ready to start TLS", kTimeout);
            Status started = stream.start_tls_server(*context, settings, kTimeout, peer);
            if (!started) {
                std::printf("handshake: %s\n", started.error().message().c_str());
                return;
            }
            std::printf("tls: %s\n", tls_summary(stream.tls()->info()).c_str());
            for (const auto& header : tls_received_header_lines(stream.tls()->info(), ask_ccert))
                std::printf("received: %s\n", header.c_str());
            std::fflush(stdout);
            continue;
        } else if (command == "quit") {
            (void)stream.write_line("221 2.0.0 Bye", kTimeout);
            (void)stream.flush(kTimeout);
            return;
        } else {
            std::printf("command: %s\n", line->text.c_str());
            (void)stream.write_line("250 2.0.0 Ok", kTimeout);
        }
        (void)stream.flush(kTimeout);
        std::fflush(stdout);
    }
}

int run_server(Options& options) {
    if (options.positional.size() != 2)
        return usage();
    std::optional<TlsContext> context;
    TlsSessionSettings settings;
    bool ask_ccert = false;
    if (!options.no_starttls) {
        auto level = smtpd_tls_level(options.config);
        if (!level)
            return fail(level.error().message());
        auto session_settings = tls_session_settings(options.config, "smtpd", *level);
        if (!session_settings)
            return fail(session_settings.error().message());
        settings = *session_settings;
        auto files = tls_server_files(options.config);
        if (!files)
            return fail(files.error().message());
        ask_ccert = files->ask_client_certificate;
        auto created = TlsContext::server(*files);
        if (!created)
            return fail(created.error().message());
        context.emplace(std::move(*created));
    }
    auto listener = listen_loopback(options.positional[0]);
    if (!listener)
        return fail(listener.error().message());
    auto count = parse_integer(options.positional[1]);
    for (int64_t served = 0; count && served < *count; ++served) {
        Fd client(::accept4(listener->get(), nullptr, nullptr, SOCK_CLOEXEC));
        if (!client.valid())
            return fail(std::string("accept: ") + std::strerror(errno));
        SmtpStream stream(std::move(client));
        serve_client(stream, context ? &*context : nullptr, settings, ask_ccert);
        std::printf("done\n");
        std::fflush(stdout);
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    if (argc < 2)
        return usage();
    Options options;
    if (!parse_options(argc, argv, options))
        return usage();
    std::string mode = argv[1];
    if (mode == "client")
        return run_client(options);
    if (mode == "server")
        return run_server(options);
    return usage();
}
