// Forwarding through cleanup; see forward.hpp.
#include "local/forward.hpp"

#include "mail/address.hpp"
#include "queue/cleanup_protocol.hpp"
#include "util/strings.hpp"

namespace postern::local {

namespace {

Error forward_error(const std::string& why) {
    return Error(ErrorKind::temporary, "unable to forward message: " + why, "4.3.0");
}

void send_envelope(CleanupClient& cleanup, const ForwardMessage& message,
                   const ForwardContext& context) {
    cleanup.arrival_time(context.arrival);
    cleanup.attribute(queue_attr::rewrite_context, "local");
    if (!message.dsn_envid.empty())
        cleanup.attribute(queue_attr::envelope_id, message.dsn_envid);
    if (message.dsn_ret != 0)
        cleanup.attribute(queue_attr::ret_flags, std::to_string(message.dsn_ret));
    cleanup.sender(message.sender);
    for (const ForwardRecipient& recipient : message.recipients) {
        QueueRecipient record;
        record.address = recipient.address;
        record.original = recipient.original;
        record.dsn_orcpt = recipient.dsn_orcpt;
        record.dsn_notify = recipient.dsn_notify;
        cleanup.recipient(record);
    }
}

Status send_content(CleanupClient& cleanup, const ForwardMessage& message,
                    const ForwardContext& context) {
    auto reader = QueueFileReader::open(context.queue_path);
    if (!reader)
        return reader.error();
    if (context.delivered_to_header)
        cleanup.content_line("Delivered-To: " + lowercase(externalize_address(message.delivered)));
    for (;;) {
        auto piece = reader->next_content();
        if (!piece)
            return piece.error();
        if (!*piece)
            break;
        if ((*piece)->end_of_line)
            cleanup.content_line((*piece)->data);
        else
            cleanup.content_continued((*piece)->data);
    }
    cleanup.end_content();
    return {};
}

}  // namespace

void ForwardBatch::add(const std::string& delivered, const std::string& sender,
                       const std::string& dsn_envid, int dsn_ret, ForwardRecipient recipient) {
    for (ForwardMessage& message : messages_) {
        if (message.delivered == delivered && message.sender == sender) {
            message.recipients.push_back(std::move(recipient));
            return;
        }
    }
    ForwardMessage message;
    message.delivered = delivered;
    message.sender = sender;
    message.dsn_envid = dsn_envid;
    message.dsn_ret = dsn_ret;
    message.recipients.push_back(std::move(recipient));
    messages_.push_back(std::move(message));
}

Result<std::string> submit_forward(const ForwardMessage& message, const ForwardContext& context) {
    auto cleanup = CleanupClient::connect(context.cleanup_socket, context.timeout);
    if (!cleanup)
        return forward_error(cleanup.error().message());
    int64_t flags = cleanup_flag::bounce | cleanup_flag::mask_internal;
    if (context.smtputf8)
        flags |= cleanup_flag::smtputf8;
    auto queue_id = cleanup->open(flags);
    if (!queue_id)
        return forward_error(queue_id.error().message());
    send_envelope(*cleanup, message, context);
    if (Status content = send_content(*cleanup, message, context); !content)
        return Error(ErrorKind::temporary, content.error().message(), "4.3.0");
    auto result = cleanup->finish();
    if (!result)
        return forward_error(result.error().message());
    if (!result->ok())
        return forward_error(result->reason.empty()
                                 ? std::string(cleanup_status_text(result->status))
                                 : result->reason);
    return *queue_id;
}

}  // namespace postern::local
