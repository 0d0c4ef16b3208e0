// The client side of the cleanup protocol; see cleanup_protocol.hpp.
#include <algorithm>

#include "queue/cleanup_protocol.hpp"

namespace postern {

std::string_view cleanup_status_text(int64_t status) {
    // In Postfix's order of importance.
    if (status == cleanup_status::ok)
        return "Success";
    if (status & cleanup_status::defer)
        return "service unavailable";
    if (status & cleanup_status::proxy)
        return "queue file write error";
    if (status & cleanup_status::bad)
        return "internal protocol error";
    if (status & cleanup_status::rcpt)
        return "no recipients specified";
    if (status & cleanup_status::hops)
        return "too many hops";
    if (status & cleanup_status::size)
        return "message file too big";
    if (status & cleanup_status::cont)
        return "message content rejected";
    if (status & cleanup_status::write)
        return "queue file write error";
    if (status & cleanup_status::noperm)
        return "service denied";
    return "internal protocol error";
}

Result<CleanupClient> CleanupClient::connect(const std::string& socket_path,
                                             std::chrono::milliseconds timeout) {
    auto channel = connect_attr_service(socket_path, timeout);
    if (!channel)
        return channel.error();
    return CleanupClient(std::move(*channel), timeout);
}

CleanupClient::CleanupClient(AttrChannel channel, std::chrono::milliseconds timeout)
    : channel_(std::move(channel)), timeout_(timeout) {}

Result<std::string> CleanupClient::open(int64_t flags) {
    pending_.clear();
    stream_status_ = {};
    content_started_ = false;
    content_ended_ = false;
    AttrList request;
    request.add_string(std::string(cleanup_attr::request), std::string(cleanup_request::open))
        .add_int(std::string(cleanup_attr::flags), flags);
    auto reply = channel_.request(request, timeout_);
    if (!reply)
        return reply.error();
    const Attr* status = reply->find(cleanup_attr::status);
    const Attr* queue_id = reply->find(cleanup_attr::queue_id);
    if (!status || status->type() != AttrType::integer)
        return Error(ErrorKind::protocol, "cleanup: reply without a status");
    if (std::get<int64_t>(status->value) != cleanup_status::ok) {
        const Attr* reason = reply->find(cleanup_attr::reason);
        std::string text = reason && reason->type() == AttrType::string
                               ? std::get<std::string>(reason->value)
                               : std::string(cleanup_status_text(std::get<int64_t>(status->value)));
        return Error(ErrorKind::temporary, "cleanup: " + text);
    }
    if (!queue_id || queue_id->type() != AttrType::string ||
        !queue_id_ok(std::get<std::string>(queue_id->value)))
        return Error(ErrorKind::protocol, "cleanup: reply without a valid queue_id");
    return std::get<std::string>(queue_id->value);
}

void CleanupClient::record(char type, std::string_view data) {
    if (!stream_status_)
        return;
    append_record(pending_, type, data);
    if (pending_.size() >= kCleanupFrameBytes)
        flush_frame();
}

void CleanupClient::attribute(std::string_view name, std::string_view value) {
    std::string text;
    text.reserve(name.size() + 1 + value.size());
    text.append(name).append("=").append(value);
    record(rec_type::attribute, text);
}

void CleanupClient::arrival_time(QueueTime when) {
    record(rec_type::time, std::to_string(when.seconds) + " " + std::to_string(when.microseconds));
}

void CleanupClient::recipient(const QueueRecipient& recipient) {
    if (recipient.dsn_notify != 0)
        attribute(queue_attr::notify_flags, std::to_string(recipient.dsn_notify));
    if (!recipient.dsn_orcpt.empty())
        attribute(queue_attr::dsn_orig_rcpt, recipient.dsn_orcpt);
    if (!recipient.original.empty())
        record(rec_type::original, recipient.original);
    record(recipient.status == RecipientStatus::done ? rec_type::done : rec_type::recipient,
           recipient.address);
}

void CleanupClient::content_line(std::string_view line) {
    // As QueueFileWriter::content_line: L pieces while more than the limit is left, then N.
    size_t head = line.size() > line_length_limit_
                      ? (line.size() - 1) / line_length_limit_ * line_length_limit_
                      : 0;
    content_continued(line.substr(0, head));
    if (!content_started_) {
        record(rec_type::message, "");
        content_started_ = true;
    }
    record(rec_type::normal, line.substr(head));
}

void CleanupClient::content_continued(std::string_view piece) {
    if (!content_started_) {
        record(rec_type::message, "");
        content_started_ = true;
    }
    while (!piece.empty()) {
        size_t part = std::min(piece.size(), line_length_limit_);
        record(rec_type::continued, piece.substr(0, part));
        piece.remove_prefix(part);
    }
}

void CleanupClient::end_content() {
    if (!content_started_) {
        record(rec_type::message, "");
        content_started_ = true;
    }
    if (!content_ended_) {
        record(rec_type::extracted, "");
        content_ended_ = true;
    }
}

void CleanupClient::flush_frame() {
    if (pending_.empty() || !stream_status_)
        return;
    AttrList frame;
    frame.add_string(std::string(cleanup_attr::request), std::string(cleanup_request::records))
        .add_data(std::string(cleanup_attr::records), std::move(pending_));
    pending_.clear();
    stream_status_ = channel_.send(frame, timeout_);
}

Result<CleanupResult> CleanupClient::finish() {
    end_content();
    record(rec_type::end, "");
    flush_frame();
    if (!stream_status_)
        return stream_status_.error();
    AttrList request;
    request.add_string(std::string(cleanup_attr::request), std::string(cleanup_request::end));
    auto reply = channel_.request(request, timeout_);
    if (!reply)
        return reply.error();
    const Attr* status = reply->find(cleanup_attr::status);
    if (!status || status->type() != AttrType::integer)
        return Error(ErrorKind::protocol, "cleanup: reply without a status");
    CleanupResult result;
    result.status = std::get<int64_t>(status->value);
    if (const Attr* reason = reply->find(cleanup_attr::reason);
        reason && reason->type() == AttrType::string)
        result.reason = std::get<std::string>(reason->value);
    return result;
}

}  // namespace postern
