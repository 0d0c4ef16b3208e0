#include "qmgr/queue_message.hpp"

#include <algorithm>

#include "mail/quote_address.hpp"
#include "util/strings.hpp"

namespace postern {

namespace {

const std::string* attribute(const QueueEnvelope& envelope, std::string_view name) {
    for (const auto& [key, value] : envelope.attributes)
        if (key == name)
            return &value;
    return nullptr;
}

std::string attribute_or_empty(const QueueEnvelope& envelope, std::string_view name) {
    const std::string* value = attribute(envelope, name);
    return value == nullptr ? std::string() : *value;
}

DeliveryClient client_of(const QueueEnvelope& envelope) {
    DeliveryClient client;
    client.name = attribute_or_empty(envelope, "log_client_name");
    client.address = attribute_or_empty(envelope, "log_client_address");
    client.port = attribute_or_empty(envelope, "log_client_port");
    client.helo = attribute_or_empty(envelope, "log_helo_name");
    client.protocol = attribute_or_empty(envelope, "log_protocol_name");
    client.sasl_method = attribute_or_empty(envelope, "sasl_method");
    client.sasl_username = attribute_or_empty(envelope, "sasl_username");
    client.sasl_sender = attribute_or_empty(envelope, "sasl_sender");
    client.rewrite_context = attribute_or_empty(envelope, queue_attr::rewrite_context);
    return client;
}

// Postfix's trace_flags and the size record's SMTPUTF8 bits, as Postern's request flags.
int64_t delivery_flags_of(const QueueEnvelope& envelope) {
    int64_t flags = 0;
    if (const std::string* text = attribute(envelope, "trace_flags")) {
        if (auto trace = parse_integer(trim(*text))) {
            if (*trace & postfix_trace_flag::mta_verify)
                flags |= delivery_flag::verify_mta;
            if (*trace & postfix_trace_flag::user_verify)
                flags |= delivery_flag::verify_user;
            if (*trace & postfix_trace_flag::record)
                flags |= delivery_flag::record;
        }
    }
    if (envelope.size.smtputf8 & 1)  // SMTPUTF8_FLAG_REQUESTED
        flags |= delivery_flag::smtputf8;
    return flags;
}

}  // namespace

QueueMessage make_queue_message(MessageHandle handle, std::string id, std::string source_queue,
                                QueueEnvelope envelope, QueueTime active_time, bool flushed) {
    QueueMessage message;
    message.handle = handle;
    message.id = std::move(id);
    message.source_queue = std::move(source_queue);
    message.active_time = active_time;
    message.flushed = flushed;
    message.encoding = attribute_or_empty(envelope, queue_attr::encoding);
    message.client = client_of(envelope);
    message.delivery_flags = delivery_flags_of(envelope);
    message.delivery_addresses.resize(envelope.recipients.size());
    message.envelope = std::move(envelope);
    return message;
}

DeliveryRequest make_delivery_request(const QueueMessage& message, const DeliveryBatch& batch,
                                      QueueTime now) {
    const QueueEnvelope& envelope = message.envelope;
    DeliveryRequest request;
    request.flags = message.delivery_flags;
    request.queue_name = "active";
    request.queue_id = message.id;
    request.data_offset = envelope.size.content_offset;
    request.data_size = envelope.size.content_size;
    request.nexthop = batch.nexthop;
    request.encoding = message.encoding;
    request.sender = envelope.sender;
    request.dsn_envid = envelope.envelope_id;
    request.dsn_ret = envelope.dsn_ret;
    request.times = DeliveryTimes{envelope.arrival, message.active_time, now};
    request.client = message.client;
    request.recipients.reserve(batch.recipients.size());
    for (uint32_t index : batch.recipients) {
        const QueueRecipient& recipient = envelope.recipients[index];
        DeliveryRecipient out;
        const std::string& resolved = message.delivery_addresses[index];
        out.address = resolved.empty() ? recipient.address : resolved;
        out.original = recipient.original;
        out.dsn_orcpt = recipient.dsn_orcpt;
        out.dsn_notify = recipient.dsn_notify;
        out.offset = recipient.offset;
        request.recipients.push_back(std::move(out));
    }
    return request;
}

int64_t message_age_base(const QueueMessage& message) {
    return message.envelope.create_time.value_or(message.envelope.arrival.seconds);
}

double seconds_between(QueueTime from, QueueTime to) {
    double seconds = static_cast<double>(to.seconds - from.seconds) +
                     static_cast<double>(to.microseconds - from.microseconds) / 1e6;
    return std::max(seconds, 0.0);
}

DelayProfile qmgr_delays(const QueueMessage& message, QueueTime now) {
    DelayProfile delays;
    delays.before_active = seconds_between(message.envelope.arrival, message.active_time);
    delays.in_qmgr = seconds_between(message.active_time, now);
    return delays;
}

std::string shown_address(std::string_view address, bool external) {
    if (address.empty() || !external)
        return std::string(address);
    return quote_address_local_part(address);
}

}  // namespace postern
