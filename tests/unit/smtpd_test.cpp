// smtpd's session state machine and restriction evaluator, fed line by line with no
// network: each reply is the one real Postfix 3.7 gives in the same situation
// (docs/smtpd.md has the table).
#include <catch2/catch.hpp>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "sasl/dovecot_auth.hpp"
#include "smtpd/restrictions.hpp"
#include "smtpd/smtp_command.hpp"
#include "smtpd/smtpd_session.hpp"

using namespace postern;
using namespace postern::smtpd;

namespace {

// What one message sent to the fake cleanup looked like.
struct SunkMessage {
    std::string queue_id;
    std::vector<std::pair<char, std::string>> records;
    std::vector<std::string> recipients;
    std::vector<std::string> content;
    bool finished = false;
    bool abandoned = false;
};

class MemorySink final : public MessageSink {
  public:
    MemorySink(SunkMessage& message, CleanupResult verdict)
        : message_(message), verdict_(verdict) {}
    Result<std::string> open(int64_t) override { return message_.queue_id; }
    void record(char type, std::string_view data) override {
        message_.records.emplace_back(type, std::string(data));
    }
    void attribute(std::string_view name, std::string_view value) override {
        record('A', std::string(name) + "=" + std::string(value));
    }
    void recipient(const QueueRecipient& recipient) override {
        message_.recipients.push_back(recipient.address);
    }
    void content_line(std::string_view line) override {
        message_.content.push_back(pending_ + std::string(line));
        pending_.clear();
    }
    void content_continued(std::string_view piece) override { pending_ += piece; }
    void end_content() override {}
    Result<CleanupResult> finish() override {
        message_.finished = true;
        return verdict_;
    }
    void abandon() override { message_.abandoned = true; }

  private:
    SunkMessage& message_;
    CleanupResult verdict_;
    std::string pending_;
};

class MemorySinks final : public MessageSinkFactory {
  public:
    std::unique_ptr<MessageSink> create() override {
        messages.emplace_back(std::make_unique<SunkMessage>());
        messages.back()->queue_id = "4ABCDEF" + std::to_string(messages.size());
        return std::make_unique<MemorySink>(*messages.back(), verdict);
    }
    std::vector<std::unique_ptr<SunkMessage>> messages;
    CleanupResult verdict;
};

SmtpdSettings test_settings() {
    SmtpdSettings settings;
    settings.myhostname = "mx.example.com";
    settings.banner = "mx.example.com ESMTP Postfix";
    settings.error_sleep_time = std::chrono::seconds(0);
    return settings;
}

Config restriction_config(const std::map<std::string, std::string>& overrides) {
    Config config = Config::defaults_only();
    config.set_override("compatibility_level", "3.6");
    config.set_override("smtpd_relay_restrictions",
                        "permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination");
    config.set_override("mynetworks", "10.0.0.0/8, [2001:db8::]/32");
    for (const auto& [name, value] : overrides)
        config.set_override(name, value);
    return config;
}

// example.com and its subdomain are ours, relay.example is relayed, the rest is not.
Result<AddressClass> classify(std::string_view domain) {
    if (domain == "mx.example.com" || domain == "example.com" || domain == "example")
        return AddressClass::local;
    if (domain == "relay.example")
        return AddressClass::relay;
    if (domain == "broken.example")
        return Error(ErrorKind::temporary, "lookup failed");
    return AddressClass::other;
}

// A session with its fakes; say() feeds one line and returns the replies it produced.
struct Harness {
    explicit Harness(SmtpdSettings settings = test_settings(),
                     std::map<std::string, std::string> overrides = {},
                     std::string client_address = "192.0.2.10")
        : settings_(std::move(settings)) {
        auto opened = Restrictions::open(restriction_config(overrides), classify);
        if (!opened)
            FAIL(opened.error().message());
        restrictions = std::move(*opened);
        ClientIdentity client;
        client.address = client_address;
        SessionServices services;
        services.sinks = &sinks;
        services.restrictions = restrictions.get();
        services.sleep = [this](std::chrono::seconds) { ++sleeps; };
        services.now = [] { return QueueTime{1700000000, 0}; };
        services.date = [](std::time_t) {
            return std::string("Tue, 14 Nov 2023 22:13:20 +0000 (UTC)");
        };
        session = std::make_unique<SmtpSession>(settings_, client, services);
        session->start();
        greeting = session->take_output();
    }
    std::string say(std::string_view line) {
        session->receive_line(line);
        return session->take_output();
    }
    // The replies without CRLF, one per line.
    std::vector<std::string> say_lines(std::string_view line) {
        std::vector<std::string> lines;
        std::string out = say(line);
        size_t start = 0;
        while (start < out.size()) {
            size_t end = out.find("\r\n", start);
            lines.push_back(out.substr(start, end - start));
            start = end + 2;
        }
        return lines;
    }

    SmtpdSettings settings_;
    MemorySinks sinks;
    std::unique_ptr<Restrictions> restrictions;
    std::unique_ptr<SmtpSession> session;
    std::string greeting;
    int sleeps = 0;
};

}  // namespace

TEST_CASE("smtpd command line parsing") {
    CommandLine command = split_command("  mail FROM:<a@b>");
    CHECK(command.verb == "MAIL");
    CHECK(command.rest == "FROM:<a@b>");
    CHECK(split_command("").verb.empty());

    PathArgument path = parse_path_argument("FROM: <a@b> SIZE=10 body=8bitmime", "FROM:");
    CHECK(path.syntax_ok);
    CHECK(path.address_ok);
    CHECK(path.address == "a@b");
    REQUIRE(path.parameters.size() == 2);
    CHECK(path.parameters[1].keyword == "BODY");
    CHECK(path.parameters[1].value == "8bitmime");

    CHECK(parse_path_argument("TO:<@relay,@r2:user@d>", "TO:").address == "user@d");
    CHECK(parse_path_argument("TO:<\"a b\"@d>", "TO:").address_ok);
    CHECK_FALSE(parse_path_argument("FROM:<a b>", "FROM:").address_ok);
    CHECK_FALSE(parse_path_argument("FROM:<a@b", "FROM:").address_ok);
    CHECK_FALSE(parse_path_argument("FROM:", "FROM:").syntax_ok);
    CHECK_FALSE(parse_path_argument("TO:<x>", "FROM:").syntax_ok);
    CHECK(parse_path_argument("FROM:a@b", "FROM:").address == "a@b");

    CHECK(valid_xtext("abc+2Bd"));
    CHECK_FALSE(valid_xtext("a=b"));
    CHECK_FALSE(valid_xtext("ab+2"));
    CHECK(decode_xtext("a+2Bb") == "a+b");
}

TEST_CASE("smtpd greeting, EHLO keywords and HELO") {
    Harness h;
    CHECK(h.greeting == "220 mx.example.com ESMTP Postfix\r\n");
    CHECK(h.say("EHLO client.example") ==
          "250-mx.example.com\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-VRFY\r\n"
          "250-ETRN\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-DSN\r\n"
          "250-SMTPUTF8\r\n250 CHUNKING\r\n");
    CHECK(h.say("HELO") == "501 Syntax: HELO hostname\r\n");
    CHECK(h.say("EHLO") == "501 Syntax: EHLO hostname\r\n");
    CHECK(h.say("HELO a b") == "250 mx.example.com\r\n");

    SmtpdSettings settings = test_settings();
    settings.disable_vrfy_command = true;
    settings.discard_ehlo_keywords = {"chunking", "pipelining", "silent-discard"};
    Harness quiet(settings);
    CHECK(quiet.say("EHLO x") ==
          "250-mx.example.com\r\n250-SIZE 10240000\r\n250-ETRN\r\n250-ENHANCEDSTATUSCODES\r\n"
          "250-8BITMIME\r\n250-DSN\r\n250 SMTPUTF8\r\n");
    CHECK(quiet.say("VRFY x") == "502 5.5.1 VRFY command is disabled\r\n");
}

TEST_CASE("smtpd replies to each error situation as Postfix does") {
    using Case = std::pair<std::string, std::string>;
    // Each case runs after "EHLO client.example" and "MAIL FROM:<a@b>" where the first
    // element starts with "+", else right after EHLO.
    auto [line, expected] = GENERATE(
        Case{"MAIL FROM:<a b>", "501 5.1.7 Bad sender address syntax"},
        Case{"MAIL FROM:<a@b", "501 5.1.7 Bad sender address syntax"},
        Case{"MAIL FROM:", "501 5.5.4 Syntax: MAIL FROM:<address>"},
        Case{"MAIL", "501 5.5.4 Syntax: MAIL FROM:<address>"},
        Case{"MAIL FROM:<a@b> SIZE=99999999", "552 5.3.4 Message size exceeds fixed limit"},
        Case{"MAIL FROM:<a@b> FOO=1", "555 5.5.4 Unsupported option: FOO=1"},
        Case{"MAIL FROM:<a@b> SIZE=x", "501 5.5.4 Bad message size syntax"},
        Case{"MAIL FROM:<a@b> BODY=foo", "555 5.5.4 Unsupported option: BODY=foo"},
        Case{"MAIL FROM:<a@b> RET=FOO", "501 5.5.4 Bad RET parameter syntax"},
        Case{"MAIL FROM:<a@b> RET=FULL RET=HDRS", "501 5.5.4 Bad RET parameter syntax"},
        Case{"MAIL FROM:<a@b> ENVID=", "501 5.5.4 Bad ENVID parameter syntax"},
        Case{"MAIL FROM:<a@b> BODY=8BITMIME RET=HDRS ENVID=abc SMTPUTF8", "250 2.1.0 Ok"},
        Case{"MAIL FROM:<>", "250 2.1.0 Ok"}, Case{"mail from: <a@b>", "250 2.1.0 Ok"},
        Case{"RCPT TO:<x@example.com>", "503 5.5.1 Error: need MAIL command"},
        Case{"DATA", "503 5.5.1 Error: need RCPT command"},
        Case{"DATA x", "501 5.5.4 Syntax: DATA"},
        Case{"+MAIL FROM:<a@b>", "503 5.5.1 Error: nested MAIL command"},
        Case{"+DATA", "554 5.5.1 Error: no valid recipients"},
        Case{"+ETRN x.com", "503 Error: MAIL transaction in progress"},
        Case{"+RCPT", "501 5.5.4 Syntax: RCPT TO:<address>"},
        Case{"+RCPT TO:<>", "501 5.1.3 Bad recipient address syntax"},
        Case{"+RCPT TO:<x@example.com> NOTIFY=FOO", "501 5.5.4 Error: Bad NOTIFY parameter syntax"},
        Case{"+RCPT TO:<x@example.com> ORCPT=bad", "501 5.5.4 Error: Bad ORCPT parameter syntax"},
        Case{"+RCPT TO:<x@example.com> FOO=bar", "555 5.5.4 Unsupported option: FOO=bar"},
        Case{"+RCPT TO:<x@example.com> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;x@y", "250 2.1.5 Ok"},
        Case{"+RCPT TO:<x@remote.test>", "554 5.7.1 <x@remote.test>: Relay access denied"},
        Case{"+RCPT TO:<x>", "250 2.1.5 Ok"}, Case{"+RCPT TO:<x@relay.example>", "250 2.1.5 Ok"},
        Case{"+RCPT TO:<x@broken.example>",
             "451 4.3.0 <x@broken.example>: Temporary lookup failure"},
        Case{"VRFY", "501 5.5.4 Syntax: VRFY address [SMTPUTF8]"}, Case{"VRFY x", "252 2.0.0 x"},
        Case{"VRFY x@remote.test", "554 5.7.1 <x@remote.test>: Relay access denied"},
        Case{"NOOP x", "250 2.0.0 Ok"}, Case{"RSET x", "501 5.5.4 Syntax: RSET"},
        Case{"FOO", "500 5.5.2 Error: command not recognized"},
        Case{"", "500 5.5.2 Error: bad syntax"}, Case{"ETRN", "500 Syntax: ETRN domain"},
        Case{"ETRN x.com", "459 <x.com>: service unavailable"},
        Case{"AUTH PLAIN", "503 5.5.1 Error: authentication not enabled"},
        Case{"STARTTLS", "502 5.5.1 Error: command not implemented"},
        Case{"QUIT", "221 2.0.0 Bye"});
    Harness h;
    h.say("EHLO client.example");
    if (line[0] == '+') {
        REQUIRE(h.say("MAIL FROM:<a@b>") == "250 2.1.0 Ok\r\n");
        line.erase(0, 1);
    }
    CAPTURE(line);
    CHECK(h.say(line) == expected + "\r\n");
}

TEST_CASE("smtpd accepts a message and hands it to cleanup") {
    Harness h;
    h.say("EHLO client.example");
    CHECK(h.say("MAIL FROM:<sender@remote.test> RET=HDRS ENVID=id+2B1") == "250 2.1.0 Ok\r\n");
    CHECK(h.say("RCPT TO:<user@example.com> NOTIFY=FAILURE") == "250 2.1.5 Ok\r\n");
    CHECK(h.say("DATA") == "354 End data with <CR><LF>.<CR><LF>\r\n");
    CHECK(h.say("Subject: test").empty());
    h.say("");
    h.say("..dot stuffed");
    CHECK(h.say(".") == "250 2.0.0 Ok: queued as 4ABCDEF1\r\n");
    REQUIRE(h.sinks.messages.size() == 1);
    const SunkMessage& message = *h.sinks.messages[0];
    CHECK(message.finished);
    CHECK(message.recipients == std::vector<std::string>{"user@example.com"});
    REQUIRE(message.content.size() == 6);
    CHECK(message.content[0] == "Received: from client.example (unknown [192.0.2.10])");
    CHECK(message.content[1] == "\tby mx.example.com (Postfix) with ESMTP id 4ABCDEF1");
    CHECK(message.content[2] == "\tfor <user@example.com>; Tue, 14 Nov 2023 22:13:20 +0000 (UTC)");
    CHECK(message.content[3] == "Subject: test");
    CHECK(message.content[5] == ".dot stuffed");
    bool sender_seen = false;
    for (const auto& [type, data] : message.records) {
        sender_seen = sender_seen || (type == 'S' && data == "sender@remote.test");
        if (type == 'A' && data.rfind("envelope_id=", 0) == 0)
            CHECK(data == "envelope_id=id+1");
    }
    CHECK(sender_seen);
    // A new transaction after the message.
    CHECK(h.say("RCPT TO:<user@example.com>") == "503 5.5.1 Error: need MAIL command\r\n");
}

TEST_CASE("smtpd Received header for several recipients and HELO") {
    Harness h;
    h.say("HELO client.example");
    h.say("MAIL FROM:<a@b>");
    h.say("RCPT TO:<one@example.com>");
    h.say("RCPT TO:<two@example.com>");
    h.say("DATA");
    h.say(".");
    const SunkMessage& message = *h.sinks.messages.at(0);
    REQUIRE(message.content.size() == 3);
    CHECK(message.content[1] == "\tby mx.example.com (Postfix) with SMTP id 4ABCDEF1;");
    CHECK(message.content[2] == "\tTue, 14 Nov 2023 22:13:20 +0000 (UTC)");
}

TEST_CASE("smtpd leaves nothing queued when the client vanishes mid-DATA") {
    Harness h;
    h.say("EHLO c");
    h.say("MAIL FROM:<a@b>");
    h.say("RCPT TO:<u@example.com>");
    h.say("DATA");
    h.say("Subject: half");
    h.session->connection_lost();
    REQUIRE(h.sinks.messages.size() == 1);
    CHECK(h.sinks.messages[0]->abandoned);
    CHECK_FALSE(h.sinks.messages[0]->finished);
    CHECK(h.session->finished());
}

TEST_CASE("smtpd refuses a message over message_size_limit and a cleanup failure") {
    SmtpdSettings settings = test_settings();
    settings.message_size_limit = 100;
    Harness h(settings);
    h.say("EHLO c");
    h.say("MAIL FROM:<a@b>");
    h.say("RCPT TO:<u@example.com>");
    h.say("DATA");
    for (int i = 0; i < 10; ++i)
        CHECK(h.say(std::string(20, 'x')).empty());
    CHECK(h.say(".") == "552 5.3.4 Message size exceeds fixed limit\r\n");
    CHECK(h.sinks.messages[0]->abandoned);

    Harness failing;
    failing.sinks.verdict = CleanupResult{cleanup_status::write, "queue file write error"};
    failing.say("EHLO c");
    failing.say("MAIL FROM:<a@b>");
    failing.say("RCPT TO:<u@example.com>");
    failing.say("DATA");
    CHECK(failing.say(".") == "451 4.3.0 Error: queue file write error\r\n");
}

TEST_CASE("smtpd DATA without valid recipients, recipient limit") {
    SmtpdSettings settings = test_settings();
    settings.recipient_limit = 2;
    Harness h(settings);
    h.say("EHLO c");
    h.say("MAIL FROM:<a@b>");
    CHECK(h.say("RCPT TO:<y@remote.test>") == "554 5.7.1 <y@remote.test>: Relay access denied\r\n");
    CHECK(h.say("DATA") == "554 5.5.1 Error: no valid recipients\r\n");
    CHECK(h.say("RCPT TO:<u@example.com>") == "250 2.1.5 Ok\r\n");
    CHECK(h.say("RCPT TO:<v@example.com>") == "452 4.5.3 Error: too many recipients\r\n");
}

TEST_CASE("smtpd BDAT chunks") {
    Harness h;
    h.say("EHLO c");
    h.say("MAIL FROM:<a@b>");
    h.say("RCPT TO:<u@example.com>");
    h.say("BDAT 12");
    REQUIRE(h.session->bdat_remaining() == 12);
    h.session->receive_bdat("Subject: x\r\n");
    CHECK(h.session->take_output() == "250 2.0.0 Ok: 12 bytes\r\n");
    h.say("BDAT 6 LAST");
    h.session->receive_bdat("body\r\n");
    CHECK(h.session->take_output() == "250 2.0.0 Ok: 18 bytes queued as 4ABCDEF1\r\n");
    const SunkMessage& message = *h.sinks.messages.at(0);
    REQUIRE(message.content.size() == 5);
    CHECK(message.content[3] == "Subject: x");
    CHECK(message.content[4] == "body");

    CHECK(h.say("BDAT") == "521 5.5.4 Syntax: BDAT count [LAST]\r\n");
    CHECK(h.session->finished());

    Harness early;
    early.say("BDAT 4");
    early.session->receive_bdat("abcd");
    CHECK(early.session->take_output() == "503 5.5.1 Error: need RCPT command\r\n");
}

TEST_CASE("smtpd error limits") {
    SmtpdSettings settings = test_settings();
    settings.soft_error_limit = 2;
    settings.hard_error_limit = 4;
    settings.error_sleep_time = std::chrono::seconds(1);
    Harness h(settings);
    h.say("FOO");
    h.say("FOO");
    CHECK(h.sleeps == 0);
    h.say("FOO");
    CHECK(h.sleeps == 1);
    CHECK(h.say("FOO") ==
          "500 5.5.2 Error: command not recognized\r\n"
          "421 4.7.0 mx.example.com Error: too many errors\r\n");
    CHECK(h.session->finished());

    Harness slow;
    slow.session->timed_out();
    CHECK(slow.session->take_output() == "421 4.4.2 mx.example.com Error: timeout exceeded\r\n");
}

TEST_CASE("smtpd over-long command lines are cut at line_length_limit") {
    Harness h;
    h.session->receive_line("NOOP " + std::string(3000, 'x'), false);
    h.session->receive_line("yyy", true);
    CHECK(h.session->take_output() == "250 2.0.0 Ok\r\n");
}

TEST_CASE("smtpd restrictions: permit_mynetworks and reject_unauth_destination") {
    Harness inside(test_settings(), {}, "10.1.2.3");
    inside.say("EHLO c");
    inside.say("MAIL FROM:<a@b>");
    CHECK(inside.say("RCPT TO:<x@remote.test>") == "250 2.1.5 Ok\r\n");

    Harness ipv6(test_settings(), {}, "2001:db8::5");
    ipv6.say("EHLO c");
    ipv6.say("MAIL FROM:<a@b>");
    CHECK(ipv6.say("RCPT TO:<x@remote.test>") == "250 2.1.5 Ok\r\n");

    Harness by_default(test_settings(), {{"smtpd_relay_restrictions",
                                          "permit_mynetworks, permit_sasl_authenticated, "
                                          "defer_unauth_destination"}});
    by_default.say("EHLO c");
    by_default.say("MAIL FROM:<a@b>");
    CHECK(by_default.say("RCPT TO:<x@remote.test>") ==
          "450 4.7.1 <x@remote.test>: Relay access denied\r\n");

    Harness deferring(test_settings(), {{"smtpd_relay_restrictions",
                                         "permit_mynetworks, defer_unauth_destination"}});
    deferring.say("EHLO c");
    deferring.say("MAIL FROM:<a@b>");
    CHECK(deferring.say("RCPT TO:<x@remote.test>") ==
          "450 4.7.1 <x@remote.test>: Relay access denied\r\n");
}

TEST_CASE("smtpd restrictions: the generic rejections and access tables") {
    using Case = std::pair<std::map<std::string, std::string>, std::string>;
    auto [overrides, expected] = GENERATE(
        Case{{{"smtpd_client_restrictions", "reject"}},
             "554 5.7.1 <unknown[192.0.2.10]>: Client host rejected: Access denied"},
        Case{{{"smtpd_helo_restrictions", "defer"}},
             "450 4.7.1 <client>: Helo command rejected: Access denied"},
        Case{{{"smtpd_helo_restrictions", "reject_non_fqdn_helo_hostname"}},
             "504 5.5.2 <client>: Helo command rejected: need fully-qualified hostname"},
        Case{{{"smtpd_sender_restrictions", "reject_non_fqdn_sender"}},
             "504 5.5.2 <a@b>: Sender address rejected: need fully-qualified address"},
        Case{{{"smtpd_recipient_restrictions", "reject_non_fqdn_recipient"}},
             "504 5.5.2 <x@example>: Recipient address rejected: need fully-qualified address"},
        Case{{{"smtpd_client_restrictions",
               "check_client_access inline:{ {192.0.2.10=REJECT go away} }"}},
             "554 5.7.1 <192.0.2.10>: Client host rejected: go away"},
        Case{{{"smtpd_client_restrictions", "check_client_access inline:{192.0.2=DEFER}"}},
             "450 4.7.1 <192.0.2.10>: Client host rejected: Access denied"},
        Case{
            {{"smtpd_sender_restrictions", "check_sender_access inline:{ {b=550 5.7.0 not you} }"}},
            "550 5.7.0 <a@b>: Sender address rejected: not you"},
        Case{{{"smtpd_recipient_restrictions",
               "check_recipient_access inline:{ {x@example=421 busy} }"}},
             "421 4.7.1 <x@example>: Recipient address rejected: busy"},
        Case{{{"smtpd_recipient_restrictions", "check_recipient_access inline:{x@example=strict}"},
              {"smtpd_restriction_classes", "strict"},
              {"strict", "reject"}},
             "554 5.7.1 <x@example>: Recipient address rejected: Access denied"},
        Case{{{"smtpd_recipient_restrictions",
               "check_recipient_access inline:{x@example=OK}, reject"}},
             "250 2.1.5 Ok"},
        Case{{{"smtpd_recipient_restrictions", "warn_if_reject reject, permit"}}, "250 2.1.5 Ok"},
        Case{{{"smtpd_client_restrictions", "permit, reject"}}, "250 2.1.5 Ok"},
        Case{{{"smtpd_recipient_restrictions", "no_such_restriction"}},
             "451 4.3.5 Server configuration error"},
        // The harness's client has no name (status 5): unknown_client_reject_code.
        Case{{{"smtpd_client_restrictions", "reject_unknown_client_hostname"}},
             "450 4.7.25 Client host rejected: cannot find your hostname, [192.0.2.10]"},
        Case{{{"smtpd_client_restrictions", "reject_unknown_reverse_client_hostname"},
              {"unknown_client_reject_code", "550"}},
             "550 5.7.25 Client host rejected: cannot find your reverse hostname, [192.0.2.10]"},
        // Without a DNS resolver a DNS list cannot be asked.
        Case{{{"smtpd_client_restrictions", "reject_rbl_client zen.example"}},
             "451 4.3.5 Server configuration error"});
    Harness h(test_settings(), overrides);
    h.say("EHLO client");
    REQUIRE(h.say("MAIL FROM:<a@b>") == "250 2.1.0 Ok\r\n");
    CHECK(h.say("RCPT TO:<x@example>") == expected + "\r\n");
}

TEST_CASE("smtpd restrictions without smtpd_delay_reject reject at MAIL") {
    SmtpdSettings settings = test_settings();
    settings.delay_reject = false;
    Harness h(settings, {{"smtpd_client_restrictions", "reject"}});
    h.say("EHLO c");
    CHECK(h.say("MAIL FROM:<a@b>") ==
          "554 5.7.1 <unknown[192.0.2.10]>: Client host rejected: Access denied\r\n");
}

TEST_CASE("smtpd restrictions: empty relay and recipient lists are a configuration error") {
    Config config = restriction_config({{"smtpd_relay_restrictions", ""}});
    CHECK_FALSE(Restrictions::open(config, classify).ok());
}

namespace {

// A SASL server that knows one user, alice:secret (PLAIN "AGFsaWNlAHNlY3JldA==").
class OneUserSasl final : public SaslServerSession {
  public:
    std::string mechanisms() const override { return "PLAIN LOGIN"; }
    Step start(std::string_view mechanism, std::optional<std::string_view> initial) override {
        if (mechanism != "PLAIN" && mechanism != "LOGIN")
            return Step{Step::Kind::failure, {}, {}, "Invalid authentication mechanism"};
        if (initial)
            return next(*initial);
        return Step{Step::Kind::challenge, mechanism == "LOGIN" ? "VXNlcm5hbWU6" : "", {}, {}};
    }
    Step next(std::string_view response) override {
        if (response == "AGFsaWNlAHNlY3JldA==")
            return Step{Step::Kind::success, {}, "alice", {}};
        return Step{Step::Kind::failure, {}, {}, "(reason unavailable)"};
    }
};

}  // namespace

TEST_CASE("smtpd AUTH replies and relay after authentication") {
    SmtpdSettings settings = test_settings();
    settings.sasl_auth_enable = true;
    OneUserSasl sasl;
    MemorySinks sinks;
    auto restrictions = Restrictions::open(restriction_config({}), classify);
    REQUIRE(restrictions.ok());
    SessionServices services;
    services.sinks = &sinks;
    services.restrictions = restrictions->get();
    ClientIdentity client;
    client.address = "192.0.2.10";
    SmtpSession session(settings, client, services, &sasl);
    session.start();
    (void)session.take_output();
    auto say = [&](std::string_view line) {
        session.receive_line(line);
        return session.take_output();
    };
    CHECK(say("EHLO c").find("250-AUTH PLAIN LOGIN\r\n") != std::string::npos);
    CHECK(say("AUTH") == "501 5.5.4 Syntax: AUTH mechanism\r\n");
    CHECK(say("AUTH FOO") ==
          "535 5.7.8 Error: authentication failed: Invalid authentication mechanism\r\n");
    CHECK(say("AUTH LOGIN") == "334 VXNlcm5hbWU6\r\n");
    CHECK(say("*") == "501 5.7.0 Authentication aborted\r\n");
    CHECK(say("AUTH PLAIN AGFsaWNlAHdyb25n") ==
          "535 5.7.8 Error: authentication failed: (reason unavailable)\r\n");
    say("MAIL FROM:<a@b>");
    CHECK(say("RCPT TO:<x@remote.test>") == "554 5.7.1 <x@remote.test>: Relay access denied\r\n");
    CHECK(say("AUTH PLAIN AGFsaWNlAHNlY3JldA==") ==
          "503 5.5.1 Error: MAIL transaction in progress\r\n");
    say("RSET");
    CHECK(say("AUTH PLAIN") == "334 \r\n");
    CHECK(say("AGFsaWNlAHNlY3JldA==") == "235 2.7.0 Authentication successful\r\n");
    CHECK(say("AUTH PLAIN AGFsaWNlAHNlY3JldA==") == "503 5.5.1 Error: already authenticated\r\n");
    say("MAIL FROM:<a@b>");
    CHECK(say("RCPT TO:<x@remote.test>") == "250 2.1.5 Ok\r\n");
    say("DATA");
    say(".");
    REQUIRE(sinks.messages.size() == 1);
    CHECK(sinks.messages[0]->content[1] == "\tby mx.example.com (Postfix) with ESMTPA id 4ABCDEF1");
}

TEST_CASE("smtpd_tls_auth_only hides AUTH before TLS") {
    SmtpdSettings settings = test_settings();
    settings.sasl_auth_enable = true;
    settings.tls_auth_only = true;
    OneUserSasl sasl;
    ClientIdentity client;
    client.address = "192.0.2.10";
    SmtpSession session(settings, client, SessionServices{}, &sasl);
    session.offer_starttls(false);
    session.start();
    (void)session.take_output();
    session.receive_line("EHLO c");
    std::string ehlo = session.take_output();
    CHECK(ehlo.find("250-STARTTLS\r\n") != std::string::npos);
    CHECK(ehlo.find("AUTH") == std::string::npos);
    session.receive_line("AUTH PLAIN AGFsaWNlAHNlY3JldA==");
    CHECK(session.take_output() == "503 5.5.1 Error: authentication not enabled\r\n");
    session.receive_line("STARTTLS");
    CHECK(session.take_output() == "220 2.0.0 Ready to start TLS\r\n");
    REQUIRE(session.starttls_pending());
    session.tls_started();
    session.receive_line("EHLO c");
    ehlo = session.take_output();
    CHECK(ehlo.find("STARTTLS") == std::string::npos);
    CHECK(ehlo.find("250-AUTH PLAIN LOGIN\r\n") != std::string::npos);
    session.receive_line("AUTH PLAIN AGFsaWNlAHNlY3JldA==");
    CHECK(session.take_output() == "235 2.7.0 Authentication successful\r\n");
}

TEST_CASE("smtpd_sasl_security_options filter Dovecot's mechanisms") {
    std::vector<DovecotMechanism> mechanisms = {
        {"PLAIN", {"plaintext"}},     {"LOGIN", {"plaintext"}},
        {"ANONYMOUS", {"anonymous"}}, {"CRAM-MD5", {"dictionary", "active"}},
        {"EXTERNAL", {"private"}},
    };
    CHECK(filter_sasl_mechanisms(mechanisms, "noanonymous") == "PLAIN LOGIN CRAM-MD5");
    CHECK(filter_sasl_mechanisms(mechanisms, "") == "PLAIN LOGIN ANONYMOUS CRAM-MD5");
    CHECK(filter_sasl_mechanisms(mechanisms, "noanonymous, noplaintext") == "CRAM-MD5");
    CHECK(filter_sasl_mechanisms(mechanisms, "noanonymous nodictionary") == "PLAIN LOGIN");
    CHECK(filter_sasl_mechanisms(mechanisms, "mutual_auth").empty());
}
