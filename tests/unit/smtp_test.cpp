// The smtp agent's protocol pieces (smtp/smtp_reply, smtp/smtp_envelope) and the SASL
// client (lib/sasl/sasl_client): reply parsing, EHLO keywords, the pipelining batcher,
// ESMTP parameters, the password map lookup order and the mechanism choice.
#include <catch2/catch.hpp>

#include "maps/map_list.hpp"
#include "queue/queue_file.hpp"
#include "sasl/sasl_client.hpp"
#include "smtp/smtp_envelope.hpp"
#include "smtp/smtp_reply.hpp"

using namespace postern;
using namespace postern::smtp;

namespace {

SmtpReply parse_reply(const std::vector<std::string>& lines) {
    SmtpReplyParser parser;
    for (const auto& line : lines) {
        REQUIRE_FALSE(parser.complete());
        REQUIRE(parser.add_line(line).ok());
    }
    REQUIRE(parser.complete());
    return parser.take();
}

DeliveryRequest request_with(int recipients) {
    DeliveryRequest request;
    request.sender = "alice@example.com";
    request.data_size = 1234;
    request.encoding = "8bit";
    for (int i = 0; i < recipients; ++i) {
        DeliveryRecipient recipient;
        recipient.address = "user" + std::to_string(i) + "@example.net";
        request.recipients.push_back(recipient);
    }
    return request;
}

MapList inline_table(std::string_view spec) {
    auto list = MapList::open("smtp_sasl_password_maps", spec);
    REQUIRE(list.ok());
    return std::move(*list);
}

}  // namespace

TEST_CASE("a one-line reply gives its code, text and enhanced code") {
    auto reply = parse_reply({"250 2.1.0 Ok"});
    CHECK(reply.code == 250);
    CHECK(reply.dsn == "2.1.0");
    CHECK(reply.text() == "250 2.1.0 Ok");
    CHECK(reply.positive());
}

TEST_CASE("a multi-line reply is joined as Postfix shows it") {
    auto reply = parse_reply({"550-5.1.1 The account does not exist.", "550 5.1.1 Try again."});
    CHECK(reply.code == 550);
    CHECK(reply.dsn == "5.1.1");
    CHECK(reply.text() == "550-5.1.1 The account does not exist. 550 5.1.1 Try again.");
    CHECK(reply.permanent());
}

TEST_CASE("without an enhanced code, or with one of another class, the status is X.0.0") {
    auto [line, dsn] = GENERATE(table<std::string, std::string>({
        {"451 try later", "4.0.0"},
        {"554 5.7.1 no", "5.7.1"},
        {"550 4.1.1 wrong class", "5.0.0"},
        {"250", "2.0.0"},
    }));
    CAPTURE(line);
    CHECK(parse_reply({line}).dsn == dsn);
}

TEST_CASE("malformed reply lines are protocol errors") {
    auto line = GENERATE(as<std::string>{}, "", "25", "abc def", "250x", "650 no such class",
                         "199 too low");
    CAPTURE(line);
    SmtpReplyParser parser;
    auto status = parser.add_line(line);
    REQUIRE_FALSE(status.ok());
    CHECK(status.error().kind() == ErrorKind::protocol);
}

TEST_CASE("a code that changes within a multi-line reply is a protocol error") {
    SmtpReplyParser parser;
    REQUIRE(parser.add_line("250-first").ok());
    CHECK_FALSE(parser.add_line("251 second").ok());
}

TEST_CASE("EHLO keywords are read from the lines after the first") {
    auto reply =
        parse_reply({"250-mx.example.net", "250-PIPELINING", "250-SIZE 10240000", "250-STARTTLS",
                     "250-AUTH PLAIN LOGIN", "250-AUTH=CRAM-MD5 PLAIN", "250-ENHANCEDSTATUSCODES",
                     "250-8BITMIME", "250-DSN", "250 SMTPUTF8"});
    auto features = parse_ehlo_features(reply);
    CHECK(features.pipelining);
    CHECK(features.size);
    CHECK(features.size_limit == 10240000);
    CHECK(features.starttls);
    CHECK(features.eight_bit_mime);
    CHECK(features.dsn);
    CHECK(features.smtputf8);
    CHECK(features.auth_mechanisms == std::vector<std::string>{"PLAIN", "LOGIN", "CRAM-MD5"});

    auto discarded = parse_ehlo_features(reply, {"pipelining", "AUTH", "dsn"});
    CHECK_FALSE(discarded.pipelining);
    CHECK_FALSE(discarded.dsn);
    CHECK(discarded.auth_mechanisms.empty());
    CHECK(discarded.starttls);
}

TEST_CASE("the first EHLO line is the server's name, not a keyword") {
    auto features = parse_ehlo_features(parse_reply({"250 PIPELINING"}));
    CHECK_FALSE(features.pipelining);
}

TEST_CASE("with PIPELINING the envelope and DATA go in one write") {
    auto request = request_with(3);
    EhloFeatures features;
    features.pipelining = true;
    auto commands = envelope_commands(request, {0, 2}, features);
    REQUIRE(commands.size() == 4);
    CHECK(commands[0].kind == CommandKind::mail);
    CHECK(commands[1].kind == CommandKind::rcpt);
    CHECK(commands[1].recipient == 0);
    CHECK(commands[2].recipient == 2);
    CHECK(commands[3].kind == CommandKind::data);
    auto writes = batch_writes(commands, true);
    REQUIRE(writes.size() == 1);
    CHECK(writes[0] ==
          "MAIL FROM:<alice@example.com>\r\nRCPT TO:<user0@example.net>\r\n"
          "RCPT TO:<user2@example.net>\r\nDATA\r\n");
}

TEST_CASE("without PIPELINING each command is its own write") {
    auto request = request_with(2);
    auto writes = batch_writes(envelope_commands(request, {0, 1}, EhloFeatures{}), false);
    CHECK(writes == std::vector<std::string>{"MAIL FROM:<alice@example.com>\r\n",
                                             "RCPT TO:<user0@example.net>\r\n",
                                             "RCPT TO:<user1@example.net>\r\n", "DATA\r\n"});
}

TEST_CASE("MAIL FROM carries the parameters the server announced") {
    auto request = request_with(1);
    request.dsn_ret = dsn::ret_hdrs;
    request.dsn_envid = "id+1=x";
    request.flags = delivery_flag::smtputf8;
    CHECK(mail_from_command(request, EhloFeatures{}) == "MAIL FROM:<alice@example.com>");
    EhloFeatures features;
    features.size = true;
    features.eight_bit_mime = true;
    features.smtputf8 = true;
    features.dsn = true;
    CHECK(mail_from_command(request, features) ==
          "MAIL FROM:<alice@example.com> SIZE=1234 BODY=8BITMIME SMTPUTF8 RET=HDRS "
          "ENVID=id+2B1+3Dx");
    request.sender.clear();
    request.encoding = "7bit";
    features.smtputf8 = false;
    CHECK(mail_from_command(request, features) ==
          "MAIL FROM:<> SIZE=1234 BODY=7BIT RET=HDRS ENVID=id+2B1+3Dx");
}

TEST_CASE("RCPT TO carries NOTIFY and ORCPT only when the server does DSN") {
    DeliveryRecipient recipient;
    recipient.address = "john smith@example.net";
    recipient.dsn_notify = dsn::notify_success | dsn::notify_delay;
    recipient.dsn_orcpt = "rfc822;John@Example.NET";
    CHECK(rcpt_to_command(recipient, EhloFeatures{}) == "RCPT TO:<\"john smith\"@example.net>");
    EhloFeatures features;
    features.dsn = true;
    CHECK(
        rcpt_to_command(recipient, features) ==
        "RCPT TO:<\"john smith\"@example.net> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;John@Example.NET");
    recipient.dsn_notify = dsn::notify_never;
    recipient.dsn_orcpt.clear();
    recipient.original = "alias@example.net";
    CHECK(rcpt_to_command(recipient, features) ==
          "RCPT TO:<\"john smith\"@example.net> NOTIFY=NEVER ORCPT=rfc822;alias@example.net");
}

TEST_CASE("addresses with line ends cannot break a command in two") {
    auto request = request_with(0);
    request.sender = "evil\r\nRCPT TO:<x@y>@example.com";
    auto command = mail_from_command(request, EhloFeatures{});
    CHECK(command.find('\r') == std::string::npos);
    CHECK(command.find('\n') == std::string::npos);
}

TEST_CASE("password lookup keys come in Postfix's order") {
    SaslLookupTarget target{"alice@example.com", false, "mx1.example.net", "587",
                            "[relay.example.net]:587"};
    auto keys_of = [](const std::vector<SaslLookupKey>& keys) {
        std::vector<std::string> names;
        for (const auto& key : keys)
            names.push_back(key.key);
        return names;
    };
    CHECK(keys_of(sasl_password_lookup_keys(target)) ==
          std::vector<std::string>{"[mx1.example.net]:587", "mx1.example.net",
                                   "[relay.example.net]:587", "relay.example.net"});
    target.sender_dependent = true;
    auto keys = sasl_password_lookup_keys(target);
    CHECK(keys_of(keys) == std::vector<std::string>{
                               "alice@example.com", "@example.com", "[mx1.example.net]:587",
                               "mx1.example.net", "[relay.example.net]:587", "relay.example.net"});
    CHECK(keys[1].partial);
    CHECK_FALSE(keys[0].partial);
    // A relayhost that is the server itself: no key twice.
    target = {"", true, "smtp.example.com", "587", "[smtp.example.com]:587"};
    CHECK(keys_of(sasl_password_lookup_keys(target)) ==
          std::vector<std::string>{"[smtp.example.com]:587", "smtp.example.com"});
}

TEST_CASE("credentials come from the first key the table has") {
    SaslLookupTarget target{"alice@example.com", true, "smtp.example.com", "587",
                            "[smtp.example.com]:587"};
    auto passwords = inline_table(
        "inline:{ {[smtp.example.com]:587=relay-user:relay:pass}, smtp.example.com=host:x }");
    auto found = find_sasl_credentials(passwords, target);
    REQUIRE(found.ok());
    REQUIRE(found->has_value());
    CHECK((*found)->username == "relay-user");
    CHECK((*found)->password == "relay:pass");  // the first colon separates them

    auto by_sender = inline_table("inline:{ @example.com=domain:pw, smtp.example.com=host:x }");
    found = find_sasl_credentials(by_sender, target);
    REQUIRE(found.ok());
    REQUIRE(found->has_value());
    CHECK((*found)->username == "domain");

    target.sender_dependent = false;
    found = find_sasl_credentials(by_sender, target);
    REQUIRE(found->has_value());
    CHECK((*found)->username == "host");

    auto other = inline_table("inline:{ other.example=u:p }");
    found = find_sasl_credentials(other, target);
    REQUIRE(found.ok());
    CHECK_FALSE(found->has_value());
}

TEST_CASE("security options name what a mechanism must not be") {
    auto options = parse_sasl_security_options("noanonymous, noplaintext");
    REQUIRE(options.ok());
    CHECK(options->no_anonymous);
    CHECK(options->no_plaintext);
    CHECK_FALSE(options->no_active);
    auto bad = parse_sasl_security_options("noanonymous, nonsense");
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().kind() == ErrorKind::config);
}

TEST_CASE("the mechanism is the strongest allowed one the server offers") {
    SaslSecurityOptions noanonymous{.no_anonymous = true};
    SaslSecurityOptions noplaintext{.no_plaintext = true, .no_anonymous = true};
    std::vector<std::string> offered{"LOGIN", "plain", "CRAM-MD5", "GSSAPI"};
    CHECK(choose_sasl_mechanism(offered, {}, noanonymous) == "CRAM-MD5");
    CHECK(choose_sasl_mechanism(offered, {"plain", "login"}, noanonymous) == "PLAIN");
    CHECK(choose_sasl_mechanism(offered, {"login"}, noanonymous) == "LOGIN");
    CHECK(choose_sasl_mechanism(offered, {"plain", "login"}, noplaintext) == std::nullopt);
    CHECK(choose_sasl_mechanism({"PLAIN", "LOGIN"}, {}, noplaintext) == std::nullopt);
    CHECK(choose_sasl_mechanism({"GSSAPI"}, {}, noanonymous) == std::nullopt);
    CHECK(filter_sasl_mechanisms(offered, {"Plain", "GSSAPI"}) ==
          std::vector<std::string>{"plain", "GSSAPI"});
    SaslSecurityOptions nodictionary{.no_dictionary = true};
    CHECK(choose_sasl_mechanism(offered, {}, nodictionary) == std::nullopt);
}

TEST_CASE("PLAIN sends authzid, user and password in the initial response") {
    auto exchange = make_sasl_client_exchange("plain", {"user@example.com", "secret"});
    REQUIRE(exchange);
    CHECK(exchange->mechanism() == "PLAIN");
    auto initial = exchange->initial_response();
    REQUIRE(initial);
    CHECK(*initial == std::string("\0user@example.com\0secret", 24));
    CHECK(sasl_base64_encode(*initial) == "AHVzZXJAZXhhbXBsZS5jb20Ac2VjcmV0");
}

TEST_CASE("LOGIN answers the user name, then the password") {
    auto exchange = make_sasl_client_exchange("LOGIN", {"user", "secret"});
    REQUIRE(exchange);
    CHECK_FALSE(exchange->initial_response());
    CHECK(*exchange->respond("Username:") == "user");
    CHECK(*exchange->respond("Password:") == "secret");
    CHECK_FALSE(exchange->respond("More:").ok());
}

TEST_CASE("CRAM-MD5 answers RFC 2195's example") {
    auto exchange = make_sasl_client_exchange("CRAM-MD5", {"tim", "tanstaaftanstaaf"});
    REQUIRE(exchange);
    CHECK(*exchange->respond("<1896.697170952@postoffice.reston.mci.net>") ==
          "tim b913a602c7eda7a495b4e6e7334d3890");
    CHECK(make_sasl_client_exchange("GSSAPI", {}) == nullptr);
}

TEST_CASE("base64 round trips and rejects garbage") {
    for (const std::string& text :
         std::vector<std::string>{"", "a", "ab", "abc", "Username:", std::string("\0x\0y", 4)}) {
        auto decoded = sasl_base64_decode(sasl_base64_encode(text));
        REQUIRE(decoded.ok());
        CHECK(*decoded == text);
    }
    CHECK(*sasl_base64_decode("VXNlcm5hbWU6") == "Username:");
    CHECK_FALSE(sasl_base64_decode("abc").ok());
    CHECK_FALSE(sasl_base64_decode("ab!=").ok());
}

TEST_CASE("xtext encodes plus, equals and bytes outside printable ASCII") {
    CHECK(xtext_encode("a+b=c d\x01") == "a+2Bb+3Dc+20d+01");
}
