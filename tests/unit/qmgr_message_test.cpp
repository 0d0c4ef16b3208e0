// qmgr's in-memory message (qmgr/queue_message.hpp): the delivery request made from a
// queue file's envelope, and the times qmgr's own status lines show.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include "qmgr/queue_message.hpp"

using namespace postern;

namespace {

QueueEnvelope sample_envelope() {
    QueueEnvelope envelope;
    envelope.size.content_offset = 321;
    envelope.size.content_size = 1234;
    envelope.size.recipient_count = 3;
    envelope.size.smtputf8 = 1;
    envelope.arrival = {1000, 250000};
    envelope.sender = "sender@example.com";
    envelope.envelope_id = "envid-1";
    envelope.dsn_ret = dsn::ret_hdrs;
    envelope.attributes = {{"log_client_name", "client.example"},
                           {"log_client_address", "192.0.2.7"},
                           {"log_client_port", "4567"},
                           {"log_helo_name", "helo.example"},
                           {"log_protocol_name", "ESMTP"},
                           {"sasl_username", "alice"},
                           {"rewrite_context", "remote"},
                           {"trace_flags", "1024"},
                           {"encoding", "8bit"}};
    for (int i = 0; i < 3; ++i) {
        QueueRecipient recipient;
        recipient.address = "user" + std::to_string(i) + "@example.net";
        recipient.original = i == 1 ? "alias@example.net" : "";
        recipient.dsn_orcpt = i == 2 ? "rfc822;orig@example.net" : "";
        recipient.dsn_notify = i == 2 ? dsn::notify_success : 0;
        recipient.offset = 100 + i * 40;
        envelope.recipients.push_back(recipient);
    }
    return envelope;
}

}  // namespace

TEST_CASE("a delivery request carries the envelope, the batch and the times", "[qmgr]") {
    QueueMessage message =
        make_queue_message(7, "4jZJ364Kxbz1bgKy", "incoming", sample_envelope(), {1002, 0}, false);
    message.delivery_addresses[2] = "resolved@example.net";
    DeliveryBatch batch{11, "smtp", "[mx.example.net]:25", 7, {1, 2}};
    DeliveryRequest request = make_delivery_request(message, batch, {1003, 500000});
    CHECK(request.queue_name == "active");
    CHECK(request.queue_id == "4jZJ364Kxbz1bgKy");
    CHECK(request.data_offset == 321);
    CHECK(request.data_size == 1234);
    CHECK(request.nexthop == "[mx.example.net]:25");
    CHECK(request.encoding == "8bit");
    CHECK(request.sender == "sender@example.com");
    CHECK(request.dsn_envid == "envid-1");
    CHECK(request.dsn_ret == dsn::ret_hdrs);
    CHECK(request.flags == (delivery_flag::record | delivery_flag::smtputf8));
    CHECK(request.times.arrival == QueueTime{1000, 250000});
    CHECK(request.times.active == QueueTime{1002, 0});
    CHECK(request.times.handed_over == QueueTime{1003, 500000});
    CHECK(request.client.name == "client.example");
    CHECK(request.client.address == "192.0.2.7");
    CHECK(request.client.port == "4567");
    CHECK(request.client.helo == "helo.example");
    CHECK(request.client.protocol == "ESMTP");
    CHECK(request.client.sasl_username == "alice");
    CHECK(request.client.rewrite_context == "remote");
    REQUIRE(request.recipients.size() == 2);
    CHECK(request.recipients[0].address == "user1@example.net");  // not resolved: as queued
    CHECK(request.recipients[0].original == "alias@example.net");
    CHECK(request.recipients[0].offset == 140);
    CHECK(request.recipients[1].address == "resolved@example.net");
    CHECK(request.recipients[1].dsn_orcpt == "rfc822;orig@example.net");
    CHECK(request.recipients[1].dsn_notify == dsn::notify_success);
    CHECK(request.recipients[1].offset == 180);
    // The request encodes and decodes as the agents read it.
    auto decoded = decode_delivery_request(encode_delivery_request(request));
    REQUIRE(decoded);
    CHECK(decoded->recipients.size() == 2);
}

TEST_CASE("trace flags and SMTPUTF8 bits become request flags", "[qmgr]") {
    QueueEnvelope envelope = sample_envelope();
    envelope.size.smtputf8 = 0;
    envelope.attributes = {{"trace_flags", std::to_string(postfix_trace_flag::mta_verify |
                                                          postfix_trace_flag::user_verify)}};
    QueueMessage message = make_queue_message(1, "ABCDEF12345", "deferred", envelope, {}, true);
    CHECK(message.delivery_flags == (delivery_flag::verify_mta | delivery_flag::verify_user));
    CHECK(message.flushed);
    envelope.attributes = {{"trace_flags", "garbage"}};
    CHECK(make_queue_message(1, "ABCDEF12345", "incoming", envelope, {}, false).delivery_flags ==
          0);
}

TEST_CASE("qmgr's status lines: delays and addresses", "[qmgr]") {
    QueueMessage message =
        make_queue_message(1, "ABCDEF12345", "incoming", sample_envelope(), {1002, 750000}, false);
    DelayProfile delays = qmgr_delays(message, {1003, 0});
    CHECK(delays.before_active == Approx(2.5));
    CHECK(delays.in_qmgr == Approx(0.25));
    CHECK(delays.connection == 0);
    CHECK(delays.transmission == 0);
    CHECK(seconds_between({10, 0}, {9, 0}) == 0);  // a clock that went back: no negative delay
    CHECK(message_age_base(message) == 1000);
    message.envelope.create_time = 990;
    CHECK(message_age_base(message) == 990);
    CHECK(shown_address("a b@example.com", true) == "\"a b\"@example.com");
    CHECK(shown_address("a b@example.com", false) == "a b@example.com");
    CHECK(shown_address("", true).empty());
}

TEST_CASE("a queue file whose delay warning was sent (W record -1) still reads", "[qmgr]") {
    char pattern[] = "/tmp/qmgr-test-XXXXXX";
    REQUIRE(::mkdtemp(pattern) != nullptr);
    std::string directory = pattern;
    REQUIRE(::mkdir((directory + "/incoming").c_str(), 0700) == 0);
    auto writer = QueueFileWriter::create(directory, "incoming", QueueFileOptions{});
    REQUIRE(writer);
    writer->arrival_time({1000, 0});
    writer->sender("sender@example.com");
    writer->warning_time(-1);
    writer->recipient(
        QueueRecipient{"user@example.net", "", "", 0, RecipientStatus::pending, -1, false});
    writer->content_line("Subject: x");
    REQUIRE(writer->commit().ok());
    auto reader = QueueFileReader::open(writer->path());
    REQUIRE(reader);
    auto envelope = reader->read_envelope();
    REQUIRE(envelope);
    REQUIRE(envelope->warning_time);
    CHECK(*envelope->warning_time == -1);
    ::unlink(writer->path().c_str());
    ::rmdir((directory + "/incoming").c_str());
    ::rmdir(directory.c_str());
}
