// The delivery request protocol's encoding; see delivery_request.hpp.
#include "queue/delivery_request.hpp"

#include <limits>

#include "util/strings.hpp"

namespace postern {

namespace {

// Reads a message's fields and keeps the first error, so that a decoder reads like the
// list of fields it expects.
class FieldReader {
  public:
    FieldReader(AttrList list, std::string what) : reader_(std::move(list), std::move(what)) {}

    int64_t integer(std::string_view name) { return keep(reader_.integer(name), int64_t{0}); }
    std::string string(std::string_view name) { return keep(reader_.string(name), std::string()); }
    AttrHash hash(std::string_view name) { return keep(reader_.hash(name), AttrHash()); }
    std::optional<AttrHash> optional_hash(std::string_view name) {
        return keep(reader_.optional_hash(name), std::optional<AttrHash>());
    }
    bool failed() const { return error_.has_value(); }
    void fail(Error error) {
        if (!error_)
            error_ = std::move(error);
    }
    Status finish() const {
        if (error_)
            return *error_;
        return reader_.finish();
    }

  private:
    template <typename T>
    T keep(Result<T> result, T fallback) {
        if (result)
            return std::move(*result);
        fail(result.error());
        return fallback;
    }

    AttrReader reader_;
    std::optional<Error> error_;
};

std::string hash_value(const AttrHash& hash, std::string_view key) {
    auto found = hash.find(key);
    return found == hash.end() ? std::string() : found->second;
}

void add_time(AttrList& list, const std::string& prefix, QueueTime when) {
    list.add_int(prefix + "_sec", when.seconds).add_int(prefix + "_usec", when.microseconds);
}

QueueTime read_time(FieldReader& fields, const std::string& prefix) {
    QueueTime when;
    when.seconds = fields.integer(prefix + "_sec");
    int64_t micro = fields.integer(prefix + "_usec");
    if (micro < 0 || micro > 999999)
        fields.fail(Error(ErrorKind::protocol, "delivery request: bad " + prefix + "_usec"));
    else
        when.microseconds = static_cast<int32_t>(micro);
    return when;
}

AttrHash encode_client(const DeliveryClient& client) {
    return AttrHash{{"name", client.name},
                    {"address", client.address},
                    {"port", client.port},
                    {"helo", client.helo},
                    {"protocol", client.protocol},
                    {"sasl_method", client.sasl_method},
                    {"sasl_username", client.sasl_username},
                    {"sasl_sender", client.sasl_sender},
                    {"rewrite_context", client.rewrite_context}};
}

DeliveryClient decode_client(const AttrHash& hash) {
    DeliveryClient client;
    client.name = hash_value(hash, "name");
    client.address = hash_value(hash, "address");
    client.port = hash_value(hash, "port");
    client.helo = hash_value(hash, "helo");
    client.protocol = hash_value(hash, "protocol");
    client.sasl_method = hash_value(hash, "sasl_method");
    client.sasl_username = hash_value(hash, "sasl_username");
    client.sasl_sender = hash_value(hash, "sasl_sender");
    client.rewrite_context = hash_value(hash, "rewrite_context");
    return client;
}

AttrHash encode_recipient(const DeliveryRecipient& recipient) {
    return AttrHash{{"address", recipient.address},
                    {"original", recipient.original},
                    {"orcpt", recipient.dsn_orcpt},
                    {"notify", std::to_string(recipient.dsn_notify)},
                    {"offset", std::to_string(recipient.offset)}};
}

Result<DeliveryRecipient> decode_recipient(const AttrHash& hash) {
    DeliveryRecipient recipient;
    recipient.address = hash_value(hash, "address");
    recipient.original = hash_value(hash, "original");
    recipient.dsn_orcpt = hash_value(hash, "orcpt");
    auto notify = parse_integer(hash_value(hash, "notify"));
    auto offset = parse_integer(hash_value(hash, "offset"));
    if (!notify || *notify < 0 || *notify > 15 || !offset || *offset < 0)
        return Error(ErrorKind::protocol, "delivery request: malformed recipient");
    recipient.dsn_notify = static_cast<int>(*notify);
    recipient.offset = *offset;
    return recipient;
}

std::string recipient_name(size_t index) {
    return "recipient." + std::to_string(index);
}

}  // namespace

AttrList encode_delivery_request(const DeliveryRequest& request) {
    AttrList list;
    list.add_int("flags", request.flags)
        .add_string("queue_name", request.queue_name)
        .add_string("queue_id", request.queue_id)
        .add_int("data_offset", request.data_offset)
        .add_int("data_size", request.data_size)
        .add_string("nexthop", request.nexthop)
        .add_string("encoding", request.encoding)
        .add_string("sender", request.sender)
        .add_string("dsn_envid", request.dsn_envid)
        .add_int("dsn_ret", request.dsn_ret);
    add_time(list, "arrival", request.times.arrival);
    add_time(list, "active", request.times.active);
    add_time(list, "handed_over", request.times.handed_over);
    list.add_hash("client", encode_client(request.client));
    list.add_int("recipient_count", static_cast<int64_t>(request.recipients.size()));
    for (size_t i = 0; i < request.recipients.size(); ++i)
        list.add_hash(recipient_name(i), encode_recipient(request.recipients[i]));
    return list;
}

Result<DeliveryRequest> decode_delivery_request(const AttrList& message) {
    FieldReader fields(message, "delivery request");
    DeliveryRequest request;
    request.flags = fields.integer("flags");
    request.queue_name = fields.string("queue_name");
    request.queue_id = fields.string("queue_id");
    request.data_offset = fields.integer("data_offset");
    request.data_size = fields.integer("data_size");
    request.nexthop = fields.string("nexthop");
    request.encoding = fields.string("encoding");
    request.sender = fields.string("sender");
    request.dsn_envid = fields.string("dsn_envid");
    request.dsn_ret = static_cast<int>(fields.integer("dsn_ret") & 3);
    request.times.arrival = read_time(fields, "arrival");
    request.times.active = read_time(fields, "active");
    request.times.handed_over = read_time(fields, "handed_over");
    request.client = decode_client(fields.hash("client"));
    int64_t count = fields.integer("recipient_count");
    if (count < 0 || count > static_cast<int64_t>(kMaxRecipientsPerRequest))
        fields.fail(Error(ErrorKind::protocol, "delivery request: bad recipient_count"));
    for (int64_t i = 0; i < count && !fields.failed(); ++i) {
        auto recipient = decode_recipient(fields.hash(recipient_name(static_cast<size_t>(i))));
        if (!recipient)
            fields.fail(recipient.error());
        else
            request.recipients.push_back(std::move(*recipient));
    }
    if (Status done = fields.finish(); !done)
        return done.error();
    if (!queue_name_ok(request.queue_name) || !queue_id_ok(request.queue_id))
        return Error(ErrorKind::protocol, "delivery request: bad queue name or queue id");
    if (request.data_offset < 0 || request.data_size < 0)
        return Error(ErrorKind::protocol, "delivery request: bad data offset or size");
    return request;
}

AttrList encode_delivery_reply(const DeliveryReply& reply) {
    AttrList list;
    std::string outcomes;
    outcomes.reserve(reply.outcomes.size());
    for (RecipientOutcome outcome : reply.outcomes)
        outcomes.push_back(static_cast<char>(outcome));
    list.add_string("outcomes", std::move(outcomes));
    list.add_int("connection_reuse_count", reply.connection_reuse_count);
    if (reply.destination_unavailable)
        list.add_hash("destination_unavailable",
                      encode_delivery_status(*reply.destination_unavailable));
    return list;
}

Result<DeliveryReply> decode_delivery_reply(const AttrList& message, size_t recipient_count) {
    FieldReader fields(message, "delivery reply");
    DeliveryReply reply;
    std::string outcomes = fields.string("outcomes");
    reply.connection_reuse_count = fields.integer("connection_reuse_count");
    std::optional<AttrHash> unavailable = fields.optional_hash("destination_unavailable");
    if (Status done = fields.finish(); !done)
        return done.error();
    if (outcomes.size() != recipient_count)
        return Error(ErrorKind::protocol, "delivery reply: " + std::to_string(outcomes.size()) +
                                              " outcomes for " + std::to_string(recipient_count) +
                                              " recipients");
    for (char outcome : outcomes) {
        if (outcome != static_cast<char>(RecipientOutcome::done) &&
            outcome != static_cast<char>(RecipientOutcome::deferred))
            return Error(ErrorKind::protocol, "delivery reply: unknown outcome");
        reply.outcomes.push_back(static_cast<RecipientOutcome>(outcome));
    }
    if (unavailable) {
        auto status = decode_delivery_status(*unavailable);
        if (!status)
            return status.error();
        reply.destination_unavailable = std::move(*status);
    }
    return reply;
}

AttrHash encode_delivery_status(const DeliveryStatus& status) {
    return AttrHash{{"status", status.status},
                    {"action", status.action},
                    {"reason", status.reason},
                    {"diag_type", status.diagnostic_type},
                    {"diag_text", status.diagnostic_text},
                    {"mta_type", status.mta_type},
                    {"mta_name", status.mta_name}};
}

Result<DeliveryStatus> decode_delivery_status(const AttrHash& hash) {
    DeliveryStatus status;
    status.status = hash_value(hash, "status");
    status.action = hash_value(hash, "action");
    status.reason = hash_value(hash, "reason");
    status.diagnostic_type = hash_value(hash, "diag_type");
    status.diagnostic_text = hash_value(hash, "diag_text");
    status.mta_type = hash_value(hash, "mta_type");
    status.mta_name = hash_value(hash, "mta_name");
    if (!is_enhanced_status_code(status.status))
        return Error(ErrorKind::protocol, "delivery status: bad status code");
    return status;
}

}  // namespace postern
