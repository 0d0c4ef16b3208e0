// The showq protocol: encoding on the showq side, decoding on the postqueue side.
#include "queue/showq_protocol.hpp"

#include <optional>

namespace postern {
namespace {

constexpr const char* kType = "type";

Error malformed(const std::string& what) {
    return Error(ErrorKind::protocol, "malformed showq server response: " + what);
}

Result<ShowqMessage> decode_message(AttrReader& reader) {
    ShowqMessage message;
    auto queue_name = reader.string("queue_name");
    auto queue_id = reader.string("queue_id");
    auto arrival = reader.integer("arrival_time");
    auto size = reader.integer("message_size");
    auto expire = reader.integer("forced_expire");
    auto sender = reader.string("sender");
    for (const Status& status :
         {queue_name ? Status() : Status(queue_name.error()),
          queue_id ? Status() : Status(queue_id.error()),
          arrival ? Status() : Status(arrival.error()), size ? Status() : Status(size.error()),
          expire ? Status() : Status(expire.error()), sender ? Status() : Status(sender.error()),
          reader.finish()})
        if (!status)
            return malformed(status.error().message());
    message.queue_name = std::move(*queue_name);
    message.queue_id = std::move(*queue_id);
    message.arrival_time = *arrival;
    message.message_size = *size;
    message.forced_expire = *expire != 0;
    message.sender = std::move(*sender);
    return message;
}

Result<ShowqRecipient> decode_recipient(AttrReader& reader) {
    auto address = reader.string("address");
    auto reason = reader.optional_string("reason");
    if (!address)
        return malformed(address.error().message());
    if (!reason)
        return malformed(reason.error().message());
    if (Status done = reader.finish(); !done)
        return malformed(done.error().message());
    return ShowqRecipient{std::move(*address), reason->value_or(std::string())};
}

}  // namespace

Status send_showq_message(AttrChannel& channel, const ShowqMessage& message,
                          std::chrono::milliseconds timeout) {
    AttrList header;
    header.add_string(kType, "message")
        .add_string("queue_name", message.queue_name)
        .add_string("queue_id", message.queue_id)
        .add_int("arrival_time", message.arrival_time)
        .add_int("message_size", message.message_size)
        .add_int("forced_expire", message.forced_expire ? 1 : 0)
        .add_string("sender", message.sender);
    if (Status sent = channel.send(header, timeout); !sent)
        return sent;
    for (const ShowqRecipient& recipient : message.recipients) {
        AttrList frame;
        frame.add_string(kType, "recipient").add_string("address", recipient.address);
        if (!recipient.reason.empty())
            frame.add_string("reason", recipient.reason);
        if (Status sent = channel.send(frame, timeout); !sent)
            return sent;
    }
    return {};
}

Status send_showq_end(AttrChannel& channel, std::chrono::milliseconds timeout) {
    return channel.send(AttrList().add_string(kType, "end"), timeout);
}

Status read_showq_listing(AttrChannel& channel, std::chrono::milliseconds timeout,
                          const std::function<Status(const ShowqMessage&)>& visit) {
    std::optional<ShowqMessage> current;
    for (;;) {
        Result<AttrList> frame = channel.receive(timeout);
        if (!frame)
            return malformed(frame.error().message());
        AttrReader reader(std::move(*frame), "showq response");
        Result<std::string> type = reader.string(kType);
        if (!type)
            return malformed(type.error().message());
        if (*type == "recipient") {
            if (!current)
                return malformed("recipient before any message");
            Result<ShowqRecipient> recipient = decode_recipient(reader);
            if (!recipient)
                return recipient.error();
            current->recipients.push_back(std::move(*recipient));
            continue;
        }
        if (current)
            if (Status visited = visit(*current); !visited)
                return visited;
        current.reset();
        if (*type == "end")
            return reader.finish() ? Status() : Status(malformed("unexpected attribute"));
        if (*type != "message")
            return malformed("unknown item type \"" + *type + "\"");
        Result<ShowqMessage> message = decode_message(reader);
        if (!message)
            return message.error();
        current = std::move(*message);
    }
}

}  // namespace postern
