// lib/tls and lib/net/smtp_stream: Postfix's TLS parameter syntax, level mapping, name
// matching, and real handshakes over a socketpair with certificates made by the openssl
// command for this test (a CA, a leaf for mail.example.com, and a self-signed stranger).
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "config/config.hpp"
#include "net/smtp_stream.hpp"
#include "net/tcp_connect.hpp"
#include "tls/tls_context.hpp"
#include "tls/tls_policy.hpp"

using namespace postern;
using namespace std::chrono_literals;

namespace {

// Certificates made once per test run in a private temporary directory.
struct TestCertificates {
    std::string directory;
    std::string ca_file, leaf_cert, leaf_key, chain_file, stranger_cert, stranger_key;

    TestCertificates() {
        char pattern[] = "/tmp/postern-tls-test-XXXXXX";
        directory = mkdtemp(pattern);
        ca_file = directory + "/ca.crt";
        leaf_cert = directory + "/leaf.crt";
        leaf_key = directory + "/leaf.key";
        chain_file = directory + "/chain.pem";
        stranger_cert = directory + "/stranger.crt";
        stranger_key = directory + "/stranger.key";
        const std::string d = directory;
        std::string script =
            "set -e; cd " + d +
            "; openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt"
            " -subj '/CN=Postern Test CA' -days 2 -addext basicConstraints=critical,CA:TRUE"
            " 2>/dev/null"
            "; openssl req -newkey rsa:2048 -nodes -keyout leaf.key -out leaf.csr"
            " -subj '/CN=mail.example.com' 2>/dev/null"
            "; printf 'subjectAltName=DNS:mail.example.com,DNS:*.wild.example.com\\n' > ext"
            "; openssl x509 -req -in leaf.csr -CA ca.crt -CAkey ca.key -CAcreateserial"
            " -out leaf.crt -days 2 -extfile ext 2>/dev/null"
            "; cat leaf.key leaf.crt ca.crt > chain.pem"
            "; openssl req -x509 -newkey rsa:2048 -nodes -keyout stranger.key"
            " -out stranger.crt -subj '/CN=mail.example.com' -days 2 2>/dev/null";
        REQUIRE(std::system(("sh -c \"" + escape(script) + "\"").c_str()) == 0);
    }
    ~TestCertificates() { std::filesystem::remove_all(directory); }

    static std::string escape(const std::string& text) {
        std::string out;
        for (char c : text) {
            if (c == '"' || c == '\\' || c == '$' || c == '`')
                out += '\\';
            out += c;
        }
        return out;
    }
};

const TestCertificates& certificates() {
    static TestCertificates made;
    return made;
}

using Settings = std::vector<std::pair<std::string, std::string>>;

Config config_with(const Settings& settings) {
    Config config = Config::defaults_only();
    for (const auto& [name, value] : settings)
        config.set_override(name, value);
    return config;
}

std::pair<Fd, Fd> socket_pair() {
    int fds[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
    return {Fd(fds[0]), Fd(fds[1])};
}

TlsContext server_context(const std::string& cert, const std::string& key) {
    TlsServerFiles files;
    files.cert_key_files = {{cert, key}};
    auto context = TlsContext::server(files);
    REQUIRE(context.ok());
    return std::move(*context);
}

TlsContext client_context(const std::string& ca_file) {
    TlsClientFiles files;
    files.ca_file = ca_file;
    auto context = TlsContext::client(files);
    REQUIRE(context.ok());
    return std::move(*context);
}

TlsClientPolicy policy_for(TlsLevel level, const std::string& hostname) {
    Config config = Config::defaults_only();
    TlsPolicyEntry entry;
    entry.level = level;
    auto policy = tls_client_policy(config, entry, hostname, "example.com");
    REQUIRE(policy.ok());
    return *policy;
}

struct HandshakeResult {
    Status client;
    Status server;
    TlsSessionInfo client_info;
    TlsSessionInfo server_info;
};

HandshakeResult handshake(const TlsContext& server, const TlsContext& client,
                          const TlsClientPolicy& policy) {
    auto [client_fd, server_fd] = socket_pair();
    SmtpStream client_stream(std::move(client_fd));
    SmtpStream server_stream(std::move(server_fd));
    HandshakeResult result;
    std::thread server_thread([&] {
        result.server = server_stream.start_tls_server(server, TlsSessionSettings{}, 5000ms,
                                                       "client[127.0.0.1]");
        if (server_stream.tls())
            result.server_info = server_stream.tls()->info();
    });
    result.client =
        client_stream.start_tls_client(client, policy, 5000ms, "mail.example.com[127.0.0.1]:25");
    if (client_stream.tls())
        result.client_info = client_stream.tls()->info();
    server_thread.join();
    return result;
}

}  // namespace

TEST_CASE("TLS levels parse and map from the legacy switches", "[tls]") {
    CHECK(*parse_tls_level("VERIFY") == TlsLevel::verify);
    CHECK(*parse_tls_level("dane-only") == TlsLevel::dane_only);
    CHECK_FALSE(parse_tls_level("sometimes").ok());
    CHECK(std::string(tls_level_name(TlsLevel::secure)) == "secure");
    CHECK(tls_level_is_mandatory(TlsLevel::encrypt));
    CHECK_FALSE(tls_level_is_mandatory(TlsLevel::may));
    CHECK(tls_level_checks_certificate(TlsLevel::verify));
    CHECK_FALSE(tls_level_checks_certificate(TlsLevel::encrypt));

    struct Case {
        Settings settings;
        TlsLevel client;
        TlsLevel server;
    };
    auto [settings, client, server] = GENERATE(values<Case>({
        {{}, TlsLevel::none, TlsLevel::none},
        {{{"smtp_use_tls", "yes"}, {"smtpd_use_tls", "yes"}}, TlsLevel::may, TlsLevel::may},
        {{{"smtp_enforce_tls", "yes"}, {"smtpd_enforce_tls", "yes"}},
         TlsLevel::verify,
         TlsLevel::encrypt},
        {{{"smtp_enforce_tls", "yes"}, {"smtp_tls_enforce_peername", "no"}},
         TlsLevel::encrypt,
         TlsLevel::none},
        {{{"smtp_tls_security_level", "secure"},
          {"smtp_use_tls", "no"},
          {"smtpd_tls_security_level", "encrypt"},
          {"smtpd_use_tls", "yes"}},
         TlsLevel::secure,
         TlsLevel::encrypt},
    }));
    Config config = config_with(settings);
    CHECK(*smtp_client_tls_level(config) == client);
    CHECK(*smtpd_tls_level(config) == server);
}

TEST_CASE("smtpd refuses client-only TLS levels", "[tls]") {
    Config config = config_with({{"smtpd_tls_security_level", "verify"}});
    auto level = smtpd_tls_level(config);
    REQUIRE_FALSE(level.ok());
    CHECK(level.error().kind() == ErrorKind::config);
}

TEST_CASE("TLS protocol lists in Postfix syntax", "[tls]") {
    struct Case {
        const char* value;
        int min;
        int max;
        uint64_t disabled;
    };
    auto [value, min, max, disabled] = GENERATE(values<Case>({
        {"", 0, 0, 0},
        {">=TLSv1", 0, 0, 0},
        {"!SSLv2, !SSLv3", 0, 0, 0},
        {">=TLSv1.2", TLS1_2_VERSION, 0, 0},
        {"<=TLSv1.2", 0, TLS1_2_VERSION, 0},
        {">=TLSv1 <=TLSv1.2", 0, TLS1_2_VERSION, 0},
        {"!SSLv2:!SSLv3:!TLSv1:!TLSv1.1", TLS1_2_VERSION, 0, 0},
        {"TLSv1.2 TLSv1.3", TLS1_2_VERSION, 0, 0},
        {"TLSv1.3", TLS1_3_VERSION, 0, 0},
        {"!TLSv1.1", 0, 0, SSL_OP_NO_TLSv1_1},
        {"tlsv1.2", TLS1_2_VERSION, TLS1_2_VERSION, 0},
    }));
    CAPTURE(value);
    auto parsed = parse_tls_protocols(value);
    REQUIRE(parsed.ok());
    CHECK(parsed->min_version == min);
    CHECK(parsed->max_version == max);
    CHECK(parsed->disabled_options == disabled);
}

TEST_CASE("bad TLS protocol lists are configuration errors", "[tls]") {
    auto value = GENERATE("TLSv9", ">=bogus", "!TLSv1 !TLSv1.1 !TLSv1.2 !TLSv1.3", "<=SSLv3");
    CAPTURE(value);
    auto parsed = parse_tls_protocols(value);
    REQUIRE_FALSE(parsed.ok());
    CHECK(parsed.error().kind() == ErrorKind::config);
}

TEST_CASE("cipher grades map to the tls_*_cipherlist values", "[tls]") {
    Config config = Config::defaults_only();
    CHECK(*tls_cipher_list(config, "medium") == "aNULL:-aNULL:HIGH:MEDIUM:+RC4:@STRENGTH");
    CHECK(*tls_cipher_list(config, "HIGH") == "aNULL:-aNULL:HIGH:@STRENGTH");
    CHECK(*tls_cipher_list(config, "null") == "eNULL:!aNULL");
    CHECK(*tls_cipher_list(config, "high", "aNULL, RC4 : MD5") ==
          "aNULL:-aNULL:HIGH:@STRENGTH:!aNULL:!RC4:!MD5");
    CHECK_FALSE(tls_cipher_list(config, "strong").ok());

    Config custom = config_with({{"tls_high_cipherlist", "ECDHE+AESGCM"}});
    CHECK(*tls_cipher_list(custom, "high") == "ECDHE+AESGCM");
}

TEST_CASE("session settings use the mandatory parameters at mandatory levels", "[tls]") {
    Config config = config_with({{"smtp_tls_protocols", ">=TLSv1.2"},
                                 {"smtp_tls_mandatory_protocols", ">=TLSv1.3"},
                                 {"smtp_tls_ciphers", "low"},
                                 {"smtp_tls_mandatory_ciphers", "high"},
                                 {"smtp_tls_exclude_ciphers", "RC4"},
                                 {"smtp_tls_mandatory_exclude_ciphers", "MD5"},
                                 {"smtp_tls_loglevel", "1"}});
    auto may = tls_session_settings(config, "smtp", TlsLevel::may);
    REQUIRE(may.ok());
    CHECK(may->protocols.min_version == TLS1_2_VERSION);
    CHECK(may->cipher_list == "aNULL:-aNULL:HIGH:MEDIUM:LOW:+RC4:@STRENGTH:!RC4");
    CHECK(may->log_level == 1);
    auto encrypt = tls_session_settings(config, "smtp", TlsLevel::encrypt);
    REQUIRE(encrypt.ok());
    CHECK(encrypt->protocols.min_version == TLS1_3_VERSION);
    CHECK(encrypt->cipher_list == "aNULL:-aNULL:HIGH:@STRENGTH:!RC4:!MD5");

    Config broken = config_with({{"smtpd_tls_mandatory_protocols", "TLSv7"}});
    auto failed = tls_session_settings(broken, "smtpd", TlsLevel::encrypt);
    REQUIRE_FALSE(failed.ok());
    CHECK(failed.error().message().find("smtpd_tls_mandatory_protocols") != std::string::npos);
}

TEST_CASE("certificate match names and name matching", "[tls]") {
    CHECK(tls_match_names("hostname", "MX1.Example.COM.", "example.com") ==
          std::vector<std::string>{"mx1.example.com"});
    CHECK(tls_match_names("nexthop, dot-nexthop", "mx1.example.net", "example.com") ==
          std::vector<std::string>{"example.com", ".example.com"});
    CHECK(tls_match_names("hostname:nexthop:.other.org:literal.net", "a.b", "c.d") ==
          std::vector<std::string>{"a.b", "c.d", ".other.org", "literal.net"});

    CHECK(tls_certificate_name_matches("mail.example.com", "mail.example.com"));
    CHECK(tls_certificate_name_matches("MAIL.example.com", "mail.example.com"));
    CHECK_FALSE(tls_certificate_name_matches("mail.example.com", "mx.example.com"));
    CHECK(tls_certificate_name_matches("mx.example.com", ".example.com"));
    CHECK_FALSE(tls_certificate_name_matches("example.com", ".example.com"));
    CHECK(tls_certificate_name_matches("*.example.com", "mx.example.com"));
    CHECK(tls_certificate_name_matches("*.example.com", "a.b.example.com"));
    CHECK_FALSE(tls_certificate_name_matches("*.example.com", "a.b.example.com", false));
    CHECK_FALSE(tls_certificate_name_matches("*.example.com", "example.com"));
    CHECK_FALSE(tls_certificate_name_matches("*.example.com", "mx.example.org"));
}

TEST_CASE("SNI from smtp_tls_servername", "[tls]") {
    CHECK(tls_client_sni("", "mx.example.com", "example.com").empty());
    CHECK(tls_client_sni("hostname", "mx.example.com", "example.com") == "mx.example.com");
    CHECK(tls_client_sni("nexthop", "mx.example.com", "example.com") == "example.com");
    CHECK(tls_client_sni("other.example", "mx", "x") == "other.example");
    CHECK(tls_client_sni("hostname", "192.0.2.1", "example.com").empty());
    CHECK(tls_client_sni("nexthop", "mx", "[192.0.2.1]").empty());
}

TEST_CASE("TLS policy table entries", "[tls]") {
    auto entry = parse_tls_policy_entry(
        "secure match=.example.com:nexthop protocols=>=TLSv1.2 "
        "ciphers=high servername=hostname");
    REQUIRE(entry.ok());
    CHECK(entry->level == TlsLevel::secure);
    CHECK(*entry->match == ".example.com:nexthop");
    CHECK(*entry->protocols == ">=TLSv1.2");
    CHECK(*entry->ciphers == "high");
    CHECK(*entry->servername == "hostname");
    CHECK_FALSE(parse_tls_policy_entry("maybe").ok());
    CHECK_FALSE(parse_tls_policy_entry("verify color=blue").ok());
    CHECK_FALSE(parse_tls_policy_entry("").ok());

    auto policy =
        tls_client_policy(Config::defaults_only(), *entry, "mx.example.net", "example.com");
    REQUIRE(policy.ok());
    CHECK(policy->match_names == std::vector<std::string>{".example.com", "example.com"});
    CHECK(policy->settings.protocols.min_version == TLS1_2_VERSION);
    CHECK(policy->settings.cipher_list == "aNULL:-aNULL:HIGH:@STRENGTH");
    CHECK(policy->sni == "mx.example.net");

    TlsPolicyEntry verify;
    verify.level = TlsLevel::verify;
    auto defaults =
        tls_client_policy(Config::defaults_only(), verify, "mx.example.net", "example.com");
    REQUIRE(defaults.ok());
    CHECK(defaults->match_names == std::vector<std::string>{"mx.example.net"});
    TlsPolicyEntry secure;
    secure.level = TlsLevel::secure;
    auto secured =
        tls_client_policy(Config::defaults_only(), secure, "mx.example.net", "example.com");
    CHECK(secured->match_names == std::vector<std::string>{"example.com", ".example.com"});
    TlsPolicyEntry may;
    may.level = TlsLevel::may;
    CHECK(tls_client_policy(Config::defaults_only(), may, "h", "d")->match_names.empty());
}

TEST_CASE("summary, log line and Received: header text", "[tls]") {
    TlsSessionInfo info;
    info.protocol = "TLSv1.3";
    info.cipher_name = "TLS_AES_256_GCM_SHA384";
    info.cipher_used_bits = 256;
    info.cipher_algorithm_bits = 256;
    info.key_exchange = "X25519";
    info.server_signature = "RSA-PSS";
    info.server_signature_bits = 2048;
    info.server_digest = "SHA256";
    const std::string summary =
        "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) "
        "key-exchange X25519 server-signature RSA-PSS (2048 bits) "
        "server-digest SHA256";
    CHECK(tls_summary(info) == summary);
    CHECK(tls_established_line(info, TlsRole::server, "client.example[192.0.2.1]") ==
          "Anonymous TLS connection established from client.example[192.0.2.1]: " + summary);
    info.sni = "mx.example.com";
    CHECK(tls_established_line(info, TlsRole::server, "c[192.0.2.1]") ==
          "Anonymous TLS connection established from c[192.0.2.1] to mx.example.com: " + summary);
    info.peer_certificate_present = true;
    CHECK(tls_established_line(info, TlsRole::client, "mx[192.0.2.2]:25") ==
          "Untrusted TLS connection established to mx[192.0.2.2]:25: " + summary);
    info.peer_certificate_trusted = true;
    CHECK(std::string(tls_trust_word(info)) == "Trusted");
    info.peer_name_matched = true;
    CHECK(std::string(tls_trust_word(info)) == "Verified");

    TlsSessionInfo anonymous = info;
    anonymous.peer_certificate_present = false;
    CHECK(tls_received_header_lines(anonymous, false) ==
          std::vector<std::string>{
              "\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)",
              "\t key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256)",
              "\t(No client certificate requested)"});
    CHECK(tls_received_header_lines(anonymous, true).back() ==
          "\t(Client did not present a certificate)");
    info.peer_common_name = "client (evil)";
    info.issuer_common_name = "CA";
    CHECK(tls_received_header_lines(info, true).back() ==
          "\t(Client CN \"client ?evil?\", Issuer \"CA\" (verified OK))");
}

TEST_CASE("server contexts report missing or mismatched key files", "[tls]") {
    const auto& files = certificates();
    TlsServerFiles none;
    CHECK(TlsContext::server(none).error().kind() == ErrorKind::config);
    TlsServerFiles missing;
    missing.cert_key_files = {{files.directory + "/nope.crt", files.leaf_key}};
    auto failed = TlsContext::server(missing);
    REQUIRE_FALSE(failed.ok());
    CHECK(failed.error().message().find("nope.crt") != std::string::npos);
    TlsServerFiles mismatched;
    mismatched.cert_key_files = {{files.leaf_cert, files.stranger_key}};
    CHECK_FALSE(TlsContext::server(mismatched).ok());
    TlsServerFiles chain;
    chain.chain_files = {files.chain_file};
    CHECK(TlsContext::server(chain).ok());
}

TEST_CASE("handshake over a socketpair: verified, trusted, untrusted, anonymous", "[tls]") {
    const auto& files = certificates();
    TlsContext server = server_context(files.leaf_cert, files.leaf_key);
    TlsContext client = client_context(files.ca_file);

    SECTION("verify level with the right name") {
        auto result = handshake(server, client, policy_for(TlsLevel::verify, "mail.example.com"));
        REQUIRE(result.server.ok());
        REQUIRE(result.client.ok());
        CHECK(std::string(tls_trust_word(result.client_info)) == "Verified");
        CHECK(result.client_info.protocol == "TLSv1.3");
        CHECK(result.client_info.cipher_used_bits > 0);
        CHECK(result.client_info.server_signature == "RSA-PSS");
        CHECK(result.client_info.server_signature_bits == 2048);
        CHECK(result.client_info.server_digest == "SHA256");
        CHECK(result.client_info.peer_common_name == "mail.example.com");
        CHECK(result.client_info.issuer_common_name == "Postern Test CA");
        CHECK(std::string(tls_trust_word(result.server_info)) == "Anonymous");
        CHECK(tls_summary(result.server_info) == tls_summary(result.client_info));
    }
    SECTION("a wildcard subjectAltName matches") {
        auto result =
            handshake(server, client, policy_for(TlsLevel::verify, "mx.wild.example.com"));
        CHECK(result.client.ok());
        CHECK(result.client_info.peer_name_matched);
    }
    SECTION("verify level with the wrong name is refused after the handshake") {
        auto result = handshake(server, client, policy_for(TlsLevel::verify, "other.example.org"));
        REQUIRE_FALSE(result.client.ok());
        CHECK(result.client.error().kind() == ErrorKind::temporary);
        CHECK(result.client.error().message() == "Server certificate not verified");
        CHECK(std::string(tls_trust_word(result.client_info)) == "Trusted");
    }
    SECTION("may level does not check names") {
        auto result = handshake(server, client, policy_for(TlsLevel::may, "other.example.org"));
        CHECK(result.client.ok());
        CHECK(std::string(tls_trust_word(result.client_info)) == "Trusted");
    }
    SECTION("an untrusted chain: encrypt goes on, verify and secure refuse") {
        TlsContext stranger = server_context(files.stranger_cert, files.stranger_key);
        auto encrypt =
            handshake(stranger, client, policy_for(TlsLevel::encrypt, "mail.example.com"));
        CHECK(encrypt.client.ok());
        CHECK(std::string(tls_trust_word(encrypt.client_info)) == "Untrusted");
        CHECK_FALSE(encrypt.client_info.verify_error.empty());
        auto secure = handshake(stranger, client, policy_for(TlsLevel::secure, "mail.example.com"));
        REQUIRE_FALSE(secure.client.ok());
        CHECK(secure.client.error().message() == "Server certificate not trusted");
    }
    SECTION("protocol ranges that do not overlap fail the handshake on both sides") {
        TlsClientPolicy policy = policy_for(TlsLevel::encrypt, "mail.example.com");
        policy.settings.protocols = *parse_tls_protocols("<=TLSv1.2");
        auto [client_fd, server_fd] = socket_pair();
        SmtpStream client_stream(std::move(client_fd));
        SmtpStream server_stream(std::move(server_fd));
        TlsSessionSettings only13;
        only13.protocols = *parse_tls_protocols("TLSv1.3");
        Status server_status;
        std::thread server_thread([&] {
            server_status = server_stream.start_tls_server(server, only13, 5000ms, "c[127.0.0.1]");
        });
        Status client_status = client_stream.start_tls_client(client, policy, 5000ms, "s");
        server_thread.join();
        CHECK_FALSE(client_status.ok());
        REQUIRE_FALSE(server_status.ok());
        CHECK(server_status.error().kind() == ErrorKind::protocol);
    }
}

TEST_CASE("SmtpStream lines: CRLF, bare LF, long lines split or skipped, EOF", "[tls][net]") {
    auto [ours, theirs] = socket_pair();
    SmtpStream stream(std::move(ours), 10);
    const std::string input =
        "EHLO a\r\nbare\nabcdefghijKLMNO\r\n0123456789\r\nxyz\r\n"
        "ABCDEFGHIJklmnopqrstuvwxyz\r\nnext\r\ntail";
    REQUIRE(::write(theirs.get(), input.data(), input.size()) ==
            static_cast<ssize_t>(input.size()));
    theirs.reset();

    auto line = stream.read_line(1000ms);
    REQUIRE(line.ok());
    CHECK(line->text == "EHLO a");
    CHECK(line->complete);
    CHECK(stream.read_line(1000ms)->text == "bare");
    auto piece = stream.read_line(1000ms, LongLines::split);
    CHECK(piece->text == "abcdefghij");
    CHECK_FALSE(piece->complete);
    auto rest = stream.read_line(1000ms, LongLines::split);
    CHECK(rest->text == "KLMNO");
    CHECK(rest->complete);
    auto exact = stream.read_line(1000ms);  // exactly the limit, then CRLF: one line
    CHECK(exact->text == "0123456789");
    CHECK(exact->complete);
    CHECK_FALSE(exact->truncated);
    CHECK(stream.read_line(1000ms)->text == "xyz");
    auto skipped = stream.read_line(1000ms, LongLines::skip);
    CHECK(skipped->text == "ABCDEFGHIJ");
    CHECK(skipped->truncated);
    CHECK(stream.read_line(1000ms)->text == "next");
    auto tail = stream.read_line(1000ms);
    CHECK(tail->text == "tail");
    CHECK_FALSE(tail->complete);
    CHECK(tail->at_eof);
    auto end = stream.read_line(1000ms);
    REQUIRE_FALSE(end.ok());
    CHECK(end.error().kind() == ErrorKind::io);
    CHECK(stream.peer_closed());
    CHECK_FALSE(stream.timed_out());
}

TEST_CASE("SmtpStream skips the rest of a long line that arrives later", "[net]") {
    auto [ours, theirs] = socket_pair();
    SmtpStream stream(std::move(ours), 4);
    REQUIRE(::write(theirs.get(), "abcdefgh", 8) == 8);
    auto first = stream.read_line(1000ms);
    CHECK(first->text == "abcd");
    CHECK(first->truncated);
    REQUIRE(::write(theirs.get(), "ijk\r\nok\r\n", 9) == 9);
    CHECK(stream.read_line(1000ms)->text == "ok");
}

TEST_CASE("SmtpStream timeouts are distinct from end of file", "[net]") {
    auto [ours, theirs] = socket_pair();
    SmtpStream stream(std::move(ours));
    REQUIRE(::write(theirs.get(), "partial", 7) == 7);
    auto start = std::chrono::steady_clock::now();
    auto line = stream.read_line(200ms);
    auto waited = std::chrono::steady_clock::now() - start;
    REQUIRE_FALSE(line.ok());
    CHECK(line.error().kind() == ErrorKind::timeout);
    CHECK(stream.timed_out());
    CHECK_FALSE(stream.peer_closed());
    CHECK(waited >= 190ms);
    CHECK(waited < 2000ms);
    CHECK(stream.failed());
}

TEST_CASE("SmtpStream writes buffer until flush", "[net]") {
    auto [ours, theirs] = socket_pair();
    SmtpStream stream(std::move(ours));
    REQUIRE(stream.write_line("250-first", 1000ms).ok());
    REQUIRE(stream.write_line("250 second", 1000ms).ok());
    CHECK(stream.buffered_output() == 23);
    REQUIRE(stream.flush(1000ms).ok());
    CHECK(stream.buffered_output() == 0);
    char buffer[64];
    ssize_t got = ::read(theirs.get(), buffer, sizeof buffer);
    CHECK(std::string(buffer, static_cast<size_t>(got)) == "250-first\r\n250 second\r\n");
}

TEST_CASE("STARTTLS with pipelined plaintext: detected, discarded, never read as TLS",
          "[tls][net]") {
    const auto& files = certificates();
    TlsContext server = server_context(files.leaf_cert, files.leaf_key);
    TlsContext client = client_context(files.ca_file);
    auto [client_fd, server_fd] = socket_pair();
    SmtpStream server_stream(std::move(server_fd));
    SmtpStream client_stream(std::move(client_fd));

    // The attacker's trick: a command pipelined after STARTTLS in the same packet.
    REQUIRE(client_stream.write("STARTTLS\r\nRSET\r\n", 1000ms).ok());
    REQUIRE(client_stream.flush(1000ms).ok());
    auto command = server_stream.read_line(1000ms);
    REQUIRE(command.ok());
    CHECK(command->text == "STARTTLS");
    CHECK(server_stream.buffered_input() == 6);

    REQUIRE(server_stream.write_line("220 2.0.0 Ready to start TLS", 1000ms).ok());
    Status server_status;
    std::string after_tls;
    std::thread server_thread([&] {
        server_status = server_stream.start_tls_server(server, TlsSessionSettings{}, 5000ms, "c");
        if (server_status.ok()) {
            auto line = server_stream.read_line(5000ms);
            after_tls = line.ok() ? line->text : line.error().message();
            (void)server_stream.write_line("250 after", 1000ms);
            (void)server_stream.flush(1000ms);
        }
    });
    auto reply = client_stream.read_line(1000ms);
    REQUIRE(reply.ok());
    CHECK(reply->text == "220 2.0.0 Ready to start TLS");
    REQUIRE(client_stream
                .start_tls_client(client, policy_for(TlsLevel::verify, "mail.example.com"), 5000ms,
                                  "mail.example.com[127.0.0.1]:25")
                .ok());
    REQUIRE(client_stream.write_line("EHLO client", 1000ms).ok());
    REQUIRE(client_stream.flush(1000ms).ok());
    auto after = client_stream.read_line(5000ms);
    server_thread.join();
    REQUIRE(server_status.ok());
    CHECK(server_stream.discarded_plaintext_bytes() == 6);
    CHECK(after_tls == "EHLO client");
    REQUIRE(after.ok());
    CHECK(after->text == "250 after");
    CHECK(server_stream.tls_active());
    CHECK(client_stream.tls()->info().peer_name_matched);
}

TEST_CASE("tcp_connect: refused, bad addresses, and a real connection", "[net]") {
    // A port nobody listens on: bind one, learn its number, close it.
    Fd probe(::socket(AF_INET, SOCK_STREAM, 0));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(probe.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    socklen_t length = sizeof address;
    REQUIRE(getsockname(probe.get(), reinterpret_cast<sockaddr*>(&address), &length) == 0);
    const uint16_t port = ntohs(address.sin_port);

    TcpConnectOptions options;
    options.timeout = 2000ms;
    auto refused = tcp_connect({"127.0.0.1", port}, options);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().kind() == ErrorKind::io);
    CHECK(refused.error().message() ==
          "connect to 127.0.0.1[127.0.0.1]:" + std::to_string(port) + ": Connection refused");
    CHECK(tcp_connect({"mail.example.com", 25}, options).error().kind() == ErrorKind::config);
    options.bind_address = "not-an-address";
    CHECK(tcp_connect({"127.0.0.1", port}, options).error().kind() == ErrorKind::config);

    REQUIRE(::listen(probe.get(), 1) == 0);
    options.bind_address = "127.0.0.1";
    auto connected = tcp_connect({"127.0.0.1", port}, options);
    REQUIRE(connected.ok());
    CHECK(socket_peer_address(connected->get()) == "127.0.0.1");
    CHECK(socket_peer_port(connected->get()) == port);
    CHECK(socket_local_address(connected->get()) == "127.0.0.1");
}

TEST_CASE("client sessions resume by policy key", "[tls]") {
    const auto& files = certificates();
    TlsContext server = server_context(files.leaf_cert, files.leaf_key);
    TlsContext client = client_context(files.ca_file);
    TlsClientPolicy policy = policy_for(TlsLevel::verify, "mail.example.com");
    CHECK(policy.session_cache_key == "mail.example.com:example.com:verify");

    // One SMTP-like exchange: the client reads a reply after the handshake, which is
    // when a TLS 1.3 server's session tickets arrive.
    auto session = [&](TlsClientPolicy used) {
        auto [client_fd, server_fd] = socket_pair();
        SmtpStream client_stream(std::move(client_fd));
        SmtpStream server_stream(std::move(server_fd));
        std::thread server_thread([&] {
            if (server_stream.start_tls_server(server, TlsSessionSettings{}, 5000ms, "c").ok()) {
                (void)server_stream.write_line("250 ok", 1000ms);
                (void)server_stream.flush(1000ms);
                (void)server_stream.read_line(5000ms);
            }
        });
        TlsSessionInfo info;
        if (client_stream.start_tls_client(client, used, 5000ms, "s").ok()) {
            (void)client_stream.read_line(5000ms);
            (void)client_stream.write_line("QUIT", 1000ms);
            (void)client_stream.flush(1000ms);
            info = client_stream.tls()->info();
            // Without close_notify OpenSSL marks the session unfit for reuse.
            client_stream.shutdown_tls(1000ms);
        }
        server_thread.join();
        return info;
    };
    TlsSessionInfo first = session(policy);
    CHECK_FALSE(first.reused);
    CHECK(std::string(tls_trust_word(first)) == "Verified");
    CHECK(client.cached_sessions() == 1);
    TlsSessionInfo second = session(policy);
    CHECK(second.reused);
    CHECK(std::string(tls_trust_word(second)) == "Verified");
    CHECK(tls_established_line(second, TlsRole::client, "s")
              .starts_with("Verified TLS connection reused to s: TLSv1.3"));
    TlsClientPolicy other = policy;
    other.session_cache_key = "elsewhere";
    CHECK_FALSE(session(other).reused);
    other.session_cache_key.clear();
    CHECK_FALSE(session(other).reused);
}

TEST_CASE("SmtpStream: a CRLF split across packets right at the limit ends the line", "[net]") {
    auto [ours, theirs] = socket_pair();
    SmtpStream stream(std::move(ours), 4);
    REQUIRE(::write(theirs.get(), "abcd\r", 5) == 5);
    std::thread late([fd = theirs.get()] {
        std::this_thread::sleep_for(100ms);
        (void)::write(fd, "\nwxyz\r", 6);
    });
    auto line = stream.read_line(2000ms, LongLines::split);
    late.join();
    REQUIRE(line.ok());
    CHECK(line->text == "abcd");
    CHECK(line->complete);
    theirs.reset();
    // At end of file a trailing CR cannot start a CRLF any more: the piece is split.
    auto piece = stream.read_line(2000ms, LongLines::split);
    CHECK(piece->text == "wxyz");
    CHECK_FALSE(piece->complete);
    auto rest = stream.read_line(2000ms, LongLines::split);
    CHECK(rest->text == "\r");
    CHECK(rest->at_eof);
}

TEST_CASE("SmtpStream: read_bytes for BDAT, and a write deadline against a peer that never reads",
          "[net]") {
    auto [ours, theirs] = socket_pair();
    SmtpStream stream(std::move(ours));
    REQUIRE(::write(theirs.get(), "BDAT 5\r\nhello", 13) == 13);
    CHECK(stream.read_line(1000ms)->text == "BDAT 5");
    auto chunk = stream.read_bytes(5, 1000ms);
    REQUIRE(chunk.ok());
    CHECK(*chunk == "hello");

    // Nobody reads `theirs`: the socket buffer fills and flush() must give up in time.
    const std::string block(256 * 1024, 'x');
    Status status;
    auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < 64 && status.ok(); ++i) {
        status = stream.write(block, 300ms);
        if (status.ok())
            status = stream.flush(300ms);
    }
    REQUIRE_FALSE(status.ok());
    CHECK(status.error().kind() == ErrorKind::timeout);
    CHECK(stream.timed_out());
    CHECK(std::chrono::steady_clock::now() - start < 5000ms);
}
