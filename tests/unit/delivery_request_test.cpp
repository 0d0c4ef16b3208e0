#include <catch2/catch.hpp>

#include "mail/delivery_log.hpp"
#include "mail/dsn.hpp"
#include "queue/bounce_protocol.hpp"
#include "queue/delivery_request.hpp"

using namespace postern;

namespace {

DeliveryRequest sample_request() {
    DeliveryRequest request;
    request.flags = delivery_flag::record;
    request.queue_name = "active";
    request.queue_id = "4jZJ364Kxbz1bgKy";
    request.data_offset = 357;
    request.data_size = 1234;
    request.nexthop = "[smtp.example.com]:587";
    request.encoding = "8bit";
    request.sender = "alice@example.com";
    request.dsn_envid = "envid-1";
    request.dsn_ret = 2;
    request.times.arrival = {1700000000, 123};
    request.times.active = {1700000001, 999999};
    request.times.handed_over = {1700000002, 0};
    request.client.name = "client.example";
    request.client.address = "192.0.2.1";
    request.client.rewrite_context = "remote";
    for (int i = 0; i < 3; ++i) {
        DeliveryRecipient recipient;
        recipient.address = "user" + std::to_string(i) + "@example.net";
        recipient.original = i == 1 ? "alias@example.net" : "";
        recipient.dsn_orcpt = i == 2 ? "rfc822;orig@example.net" : "";
        recipient.dsn_notify = i;
        recipient.offset = 100 + i * 40;
        request.recipients.push_back(recipient);
    }
    return request;
}

}  // namespace

TEST_CASE("delivery request: every field survives encoding", "[delivery]") {
    DeliveryRequest request = sample_request();
    auto frame = encode_attr_frame(encode_delivery_request(request));
    REQUIRE(frame.ok());
    auto list = decode_attr_frame(*frame);
    REQUIRE(list.ok());
    auto decoded = decode_delivery_request(*list);
    REQUIRE(decoded.ok());
    CHECK(decoded->flags == request.flags);
    CHECK(decoded->queue_id == request.queue_id);
    CHECK(decoded->data_offset == 357);
    CHECK(decoded->data_size == 1234);
    CHECK(decoded->nexthop == request.nexthop);
    CHECK(decoded->sender == request.sender);
    CHECK(decoded->dsn_ret == 2);
    CHECK(decoded->times.active == request.times.active);
    CHECK(decoded->client.address == "192.0.2.1");
    CHECK(decoded->client.rewrite_context == "remote");
    REQUIRE(decoded->recipients.size() == 3);
    CHECK(decoded->recipients[1].original == "alias@example.net");
    CHECK(decoded->recipients[2].dsn_orcpt == "rfc822;orig@example.net");
    CHECK(decoded->recipients[2].offset == 180);
}

TEST_CASE("delivery request: malformed requests are protocol errors", "[delivery]") {
    AttrList good = encode_delivery_request(sample_request());
    auto with = [&](const std::string& name, AttrValue value) {
        AttrList changed = good;
        for (Attr& attr : changed.attrs())
            if (attr.name == name)
                attr.value = value;
        return decode_delivery_request(changed);
    };
    CHECK(with("queue_id", std::string("../../etc/passwd")).error().kind() == ErrorKind::protocol);
    CHECK(with("queue_name", std::string("")).error().kind() == ErrorKind::protocol);
    CHECK(with("recipient_count", int64_t{4}).error().kind() == ErrorKind::protocol);
    CHECK(with("recipient_count", int64_t{-1}).error().kind() == ErrorKind::protocol);
    CHECK(with("arrival_usec", int64_t{1000000}).error().kind() == ErrorKind::protocol);
    CHECK(with("data_offset", std::string("x")).error().kind() == ErrorKind::protocol);
    CHECK(with("recipient.0", AttrHash{{"address", "a"}, {"notify", "99"}, {"offset", "1"}})
              .error()
              .kind() == ErrorKind::protocol);
    AttrList extra = good;
    extra.add_int("surprise", 1);
    CHECK_FALSE(decode_delivery_request(extra).ok());
}

TEST_CASE("delivery reply: outcomes and an unavailable destination", "[delivery]") {
    DeliveryReply reply;
    reply.outcomes = {RecipientOutcome::done, RecipientOutcome::deferred};
    DeliveryStatus status = make_delivery_status("4.4.1", "connect to mx.example.com: refused");
    status.mta_type = "dns";
    status.mta_name = "mx.example.com";
    reply.destination_unavailable = status;
    auto decoded = decode_delivery_reply(encode_delivery_reply(reply), 2);
    REQUIRE(decoded.ok());
    CHECK(decoded->outcomes == reply.outcomes);
    REQUIRE(decoded->destination_unavailable);
    CHECK(decoded->destination_unavailable->reason == status.reason);
    CHECK(decoded->destination_unavailable->mta_name == "mx.example.com");
    CHECK_FALSE(decode_delivery_reply(encode_delivery_reply(reply), 3).ok());
    AttrList bad = encode_delivery_reply(reply);
    std::get<std::string>(bad.attrs()[0].value) = "dx";
    CHECK_FALSE(decode_delivery_reply(bad, 2).ok());
}

TEST_CASE("dsn: enhanced status codes", "[delivery]") {
    auto [text, valid] = GENERATE(table<std::string, bool>({
        {"2.0.0", true},
        {"5.1.1", true},
        {"4.4.1", true},
        {"5.7.123", true},
        {"3.0.0", false},
        {"5.1", false},
        {"5.1.1.1", false},
        {"5.1.1234", false},
        {"", false},
        {"5..1", false},
        {"x.1.1", false},
        {"5.1.1 ", false},
    }));
    CAPTURE(text);
    CHECK(is_enhanced_status_code(text) == valid);
    CHECK(make_delivery_status(text, "").status_class() == (valid ? text[0] : '4'));
}

TEST_CASE("dsn: a leading status code in reply text", "[delivery]") {
    CHECK(leading_enhanced_status_code("5.1.1 user unknown") == "5.1.1");
    CHECK(leading_enhanced_status_code("4.7.0") == "4.7.0");
    CHECK(leading_enhanced_status_code("5.1.1x unknown").empty());
    CHECK(leading_enhanced_status_code("user unknown").empty());
}

TEST_CASE("delivery log: delays rounded as Postfix rounds them", "[delivery]") {
    auto [seconds, shown] = GENERATE(table<double, std::string>({
        {0, "0"},
        {0.001, "0"},
        {0.004, "0"},
        {0.006, "0.01"},
        {0.05, "0.05"},
        {0.057, "0.06"},
        {0.57, "0.57"},
        {0.5, "0.5"},
        {1.0, "1"},
        {1.23, "1.2"},
        {9.94, "9.9"},
        {10.7, "10"},
        {2003.9, "2003"},
        {171843.2, "171843"},
        {-1, "0"},
    }));
    CAPTURE(seconds);
    CHECK(format_log_delay(seconds) == shown);
}

TEST_CASE("delivery log: the status line", "[delivery]") {
    DeliveryLogLine line;
    line.queue_id = "4ABCD";
    line.recipient = "user@example.com";
    line.original = "alias@example.com";
    line.relay = "local";
    line.delays = {0.05, 0.01, 0, 0.06};
    line.dsn = "2.0.0";
    line.status = "sent";
    line.reason = "delivered to maildir";
    CHECK(format_delivery_log_line(line) ==
          "4ABCD: to=<user@example.com>, orig_to=<alias@example.com>, relay=local, "
          "delay=0.12, delays=0.05/0.01/0/0.06, dsn=2.0.0, status=sent (delivered to maildir)");
    line.original = "user@example.com";
    line.connection_use = 3;
    line.relay = "";
    CHECK(format_delivery_log_line(line) ==
          "4ABCD: to=<user@example.com>, relay=none, conn_use=3, delay=0.12, "
          "delays=0.05/0.01/0/0.06, dsn=2.0.0, status=sent (delivered to maildir)");
}

TEST_CASE("bounce protocol: requests and replies", "[delivery]") {
    BounceRequest request;
    request.request = "flush";
    request.queue_name = "active";
    request.queue_id = "2D96BA760AF";
    request.log = "bounce";
    request.sender = "alice@example.com";
    request.encoding = "7bit";
    request.dsn_ret = 2;
    auto decoded = decode_bounce_request(encode_bounce_request(request));
    REQUIRE(decoded.ok());
    CHECK(decoded->queue_id == request.queue_id);
    CHECK(decoded->log == "bounce");
    CHECK(decoded->dsn_ret == 2);
    for (auto [name, value] : std::vector<std::pair<std::string, std::string>>{
             {"request", "explode"}, {"log", "../x"}, {"queue_id", "a/b"}, {"queue_name", ""}}) {
        AttrList changed = encode_bounce_request(request);
        for (Attr& attr : changed.attrs())
            if (attr.name == name)
                attr.value = value;
        CAPTURE(name);
        CHECK_FALSE(decode_bounce_request(changed).ok());
    }
    auto reply = decode_bounce_reply(encode_bounce_reply(BounceReply{1, "cleanup: busy"}));
    REQUIRE(reply.ok());
    CHECK(reply->status == 1);
    CHECK(reply->reason == "cleanup: busy");
}
