// The delivery agent side of the delivery request protocol; see delivery_agent.hpp.
#include "queue/delivery_agent.hpp"

#include <sys/file.h>
#include <sys/socket.h>

#include <algorithm>

#include "ipc/attr_channel.hpp"
#include "mail/quote_address.hpp"
#include "maps/map.hpp"
#include "queue/bounce_log.hpp"
#include "queue/flush_client.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace postern {

namespace {

using Clock = std::chrono::system_clock;

double seconds_between(QueueTime from, QueueTime to) {
    double value = static_cast<double>(to.seconds - from.seconds) +
                   static_cast<double>(to.microseconds - from.microseconds) / 1e6;
    return std::max(0.0, value);
}

double seconds_between(Clock::time_point from, Clock::time_point to) {
    return std::max(0.0, std::chrono::duration<double>(to - from).count());
}

QueueTime queue_time_of(Clock::time_point when) {
    auto micro =
        std::chrono::duration_cast<std::chrono::microseconds>(when.time_since_epoch()).count();
    return QueueTime{micro / 1000000, static_cast<int32_t>(micro % 1000000)};
}

const char* status_word(ReportKind kind) {
    switch (kind) {
        case ReportKind::sent:
            return "sent";
        case ReportKind::deferred:
            return "deferred";
        case ReportKind::bounced:
            return "bounced";
    }
    return "deferred";
}

// The status class each kind must carry, the default that replaces another one, and the
// name Postfix's warning gives the reporting function.
struct KindRule {
    char status_class;
    const char* default_status;
    const char* function;
};

KindRule kind_rule(ReportKind kind) {
    switch (kind) {
        case ReportKind::sent:
            return {'2', "2.0.0", "sent"};
        case ReportKind::deferred:
            return {'4', "4.0.0", "defer_append"};
        case ReportKind::bounced:
            return {'5', "5.0.0", "bounce_append"};
    }
    return {'4', "4.0.0", "defer_append"};
}

// A status whose code does not fit the kind is logged and replaced, as Postfix does.
DeliveryStatus checked_status(ReportKind kind, const DeliveryStatus& status) {
    KindRule rule = kind_rule(kind);
    if (is_enhanced_status_code(status.status) && status.status[0] == rule.status_class)
        return status;
    log_warning("%s: ignoring dsn code \"%s\"", rule.function, status.status.c_str());
    DeliveryStatus fixed = status;
    fixed.status = rule.default_status;
    return fixed;
}

DeliveryStatus unreported_status() {
    return make_delivery_status("4.3.0", "delivery agent did not report a result");
}

}  // namespace

DeliveryStatus status_from_text(std::string_view text, std::string_view default_status,
                                std::string_view empty_reason) {
    text = trim(text);
    std::string_view code = leading_enhanced_status_code(text);
    std::string_view reason = code.empty() ? text : trim(text.substr(code.size()));
    return make_delivery_status(code.empty() ? default_status : code,
                                reason.empty() ? empty_reason : reason);
}

DeliverySession::DeliverySession(DeliveryRequest request, QueueFileReader queue_file,
                                 const ServerContext& context, const DeliveryAgentOptions& options,
                                 std::string queue_file_path)
    : request_(std::move(request)),
      queue_file_(std::move(queue_file)),
      context_(context),
      relay_default_(options.relay_default),
      several_reports_(options.several_reports_per_recipient),
      queue_file_path_(std::move(queue_file_path)),
      started_(Clock::now()),
      outcomes_(request_.recipients.size()) {
    if (auto hashing = QueueHashing::from_config(context.config))
        hashing_ = std::move(*hashing);
    if (auto resolution = context.config.get_integer("delay_logging_resolution_limit"))
        delay_resolution_ = static_cast<int>(std::clamp<int64_t>(*resolution, 0, 6));
    if (auto format = context.config.get("info_log_address_format"))
        external_addresses_ = !equals_ignore_case(trim(*format), "internal");
}

std::string DeliverySession::shown(std::string_view address) const {
    return external_addresses_ ? quote_address_local_part(address) : std::string(address);
}

void DeliverySession::connection_ready() {
    connected_ = Clock::now();
}

DelayProfile DeliverySession::delays_now() const {
    Clock::time_point now = Clock::now();
    DelayProfile delays;
    delays.before_active = seconds_between(request_.times.arrival, request_.times.active);
    delays.in_qmgr = seconds_between(request_.times.active, queue_time_of(started_));
    Clock::time_point sending = connected_.value_or(started_);
    delays.connection = connected_ ? seconds_between(started_, *connected_) : 0;
    delays.transmission = seconds_between(sending, now);
    return delays;
}

void DeliverySession::sent(size_t index, const DeliveryStatus& status, std::string_view relay) {
    report(index, ReportKind::sent, status, relay);
}

void DeliverySession::deferred(size_t index, const DeliveryStatus& status, std::string_view relay) {
    report(index, ReportKind::deferred, status, relay);
}

void DeliverySession::bounced(size_t index, const DeliveryStatus& status, std::string_view relay) {
    report(index, ReportKind::bounced, status, relay);
}

void DeliverySession::defer_remaining(const DeliveryStatus& status, std::string_view relay) {
    for (size_t i = 0; i < outcomes_.size(); ++i)
        if (!outcomes_[i])
            deferred(i, status, relay);
}

void DeliverySession::bounce_remaining(const DeliveryStatus& status, std::string_view relay) {
    for (size_t i = 0; i < outcomes_.size(); ++i)
        if (!outcomes_[i])
            bounced(i, status, relay);
}

void DeliverySession::destination_unavailable(const DeliveryStatus& status) {
    reply_.destination_unavailable = status;
}

void DeliverySession::done_without_report(size_t index) {
    if (index < outcomes_.size() && !outcomes_[index])
        outcomes_[index] = RecipientOutcome::done;
}

size_t DeliverySession::unreported_count() const {
    return static_cast<size_t>(std::count(outcomes_.begin(), outcomes_.end(), std::nullopt));
}

Status DeliverySession::append_status_log(std::string_view log_queue,
                                          const DeliveryRecipient& recipient,
                                          std::string_view address, const DeliveryStatus& status,
                                          std::string_view action) {
    BounceLogRecord record;
    record.recipient = std::string(address);
    record.original_recipient = recipient.original;
    record.offset = recipient.offset;
    record.dsn_orcpt = recipient.dsn_orcpt;
    record.dsn_notify = recipient.dsn_notify;
    record.status = status;
    if (record.status.action.empty())
        record.status.action = std::string(action);
    return append_bounce_log(".", hashing_, log_queue, request_.queue_id, record);
}

// One report: the status line, then the log record the outcome needs, then the outcome.
// A bounce whose log record cannot be written is deferred instead: marking the recipient
// done without a durable record would lose the non-delivery notice.
void DeliverySession::report(size_t index, ReportKind kind, const DeliveryStatus& given,
                             std::string_view relay, std::string_view shown_address) {
    if (index >= outcomes_.size() || (outcomes_[index] && !several_reports_)) {
        log_warning("%s: delivery agent reported recipient %zu twice or out of range",
                    request_.queue_id.c_str(), index);
        return;
    }
    const DeliveryRecipient& recipient = request_.recipients[index];
    std::string_view address = shown_address.empty() ? recipient.address : shown_address;
    DeliveryStatus status = checked_status(kind, given);
    if (kind == ReportKind::bounced) {
        if (Status logged =
                append_status_log("bounce", recipient, address, status, dsn_action::failed);
            !logged) {
            log_warning("%s: %s -- deferring", request_.queue_id.c_str(),
                        logged.error().message().c_str());
            kind = ReportKind::deferred;
            status.status = "4.3.0";
        }
    }
    if (kind == ReportKind::deferred) {
        if (Status logged =
                append_status_log("defer", recipient, address, status, dsn_action::delayed);
            !logged)
            log_warning("%s: %s", request_.queue_id.c_str(), logged.error().message().c_str());
        flush_add_deferred_recipient(context_.config, ".", address, request_.queue_id);
    } else if (kind == ReportKind::sent && (recipient.dsn_notify & dsn::notify_success)) {
        std::string_view action = status.action.empty() ? dsn_action::delivered : status.action;
        if (Status logged = append_status_log("trace", recipient, address, status, action); !logged)
            log_warning("%s: %s", request_.queue_id.c_str(), logged.error().message().c_str());
    }
    std::string to = shown(address);
    std::string original = recipient.original.empty() ? std::string() : shown(recipient.original);
    DeliveryLogLine line;
    line.queue_id = request_.queue_id;
    line.recipient = to;
    line.original = original;
    line.relay = relay.empty() ? std::string_view(relay_default_) : relay;
    line.connection_use = static_cast<int>(reply_.connection_reuse_count);
    line.delays = delays_now();
    line.dsn = status.status;
    line.status = status_word(kind);
    line.reason = status.reason;
    log_info("%s", format_delivery_log_line(line, delay_resolution_).c_str());
    // Several reports: any deferral defers the whole recipient.
    if (kind == ReportKind::deferred || !outcomes_[index])
        outcomes_[index] =
            kind == ReportKind::deferred ? RecipientOutcome::deferred : RecipientOutcome::done;
}

Result<DeliveryReply> DeliverySession::finish() {
    if (size_t missing = unreported_count(); missing > 0) {
        log_warning("%s: delivery agent did not report %zu recipient(s)", request_.queue_id.c_str(),
                    missing);
        defer_remaining(unreported_status());
    }
    std::vector<int64_t> done_offsets;
    for (size_t i = 0; i < outcomes_.size(); ++i)
        if (*outcomes_[i] == RecipientOutcome::done)
            done_offsets.push_back(request_.recipients[i].offset);
    if (!done_offsets.empty()) {
        if (Status marked =
                mark_recipients_done(queue_file_.fd(), done_offsets, queue_file_.name());
            !marked) {
            // The deliveries happened; qmgr will retry them (a duplicate, never a loss).
            log_warning("%s", marked.error().message().c_str());
            for (auto& outcome : outcomes_)
                outcome = RecipientOutcome::deferred;
        }
    }
    reply_.outcomes.clear();
    for (const auto& outcome : outcomes_)
        reply_.outcomes.push_back(*outcome);
    return reply_;
}

namespace {

// The reply for a request whose queue file could not be opened: every recipient deferred
// (qmgr finds out about the file itself).
DeliveryReply all_deferred(size_t count) {
    DeliveryReply reply;
    reply.outcomes.assign(count, RecipientOutcome::deferred);
    return reply;
}

// The qmgr that sent the request has gone (its end of the connection is closed): it died
// after handing the request over, before this agent started on it.
bool qmgr_gone(int client_fd) {
    char byte;
    ssize_t got = ::recv(client_fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return got == 0;
}

Result<DeliveryReply> handle_request(DeliveryRequest request, ServerContext& context,
                                     const DeliverFunction& deliver,
                                     const DeliveryAgentOptions& options, int client_fd) {
    auto hashing = QueueHashing::from_config(context.config);
    if (!hashing)
        return hashing.error();
    std::string path = queue_file_path(".", *hashing, request.queue_name, request.queue_id);
    auto queue_file = QueueFileReader::open(path, true);
    if (!queue_file) {
        log_warning("%s: %s", request.queue_id.c_str(), queue_file.error().message().c_str());
        return all_deferred(request.recipients.size());
    }
    // Shared while the delivery runs (released when the session closes the file, after
    // the done marks): a restarted qmgr, which locks exclusively to read a file, leaves a
    // message alone that an agent of its previous incarnation still delivers.
    if (::flock(queue_file->fd(), LOCK_SH | LOCK_NB) != 0) {
        log_warning("%s: lock %s: %m", request.queue_id.c_str(), path.c_str());
        return all_deferred(request.recipients.size());
    }
    // Checked under the lock: a qmgr that died before this point may already have been
    // replaced by one that hands the message out again (it found no lock), so this
    // request must not be delivered; a qmgr that dies after it finds the lock.
    if (qmgr_gone(client_fd)) {
        log_warning("%s: queue manager disconnected before delivery; not delivered",
                    request.queue_id.c_str());
        return all_deferred(request.recipients.size());
    }
    DeliverySession session(std::move(request), std::move(*queue_file), context, options, path);
    if (Status delivered = deliver(session, context); !delivered)
        log_warning("%s: %s", session.request().queue_id.c_str(),
                    delivered.error().message().c_str());
    return session.finish();
}

}  // namespace

Status serve_delivery_requests(ClientConnection& client, ServerContext& context,
                               const DeliverFunction& deliver,
                               const DeliveryAgentOptions& options) {
    AttrChannel channel(std::move(client.fd));
    auto timeout =
        std::chrono::duration_cast<std::chrono::milliseconds>(context.settings.ipc_timeout);
    for (;;) {
        auto message = channel.receive(timeout);
        if (!message)
            return channel.peer_closed() ? Status() : Status(message.error());
        auto request = decode_delivery_request(*message);
        if (!request)
            return request.error();
        auto reply = handle_request(std::move(*request), context, deliver, options, channel.fd());
        if (!reply)
            return reply.error();
        if (Status sent = channel.send(encode_delivery_reply(*reply), timeout); !sent)
            return sent;
        // A table changed (postmap of sasl_passwd, transport...): end the connection now,
        // between requests, so that the skeleton restarts the agent before the next
        // delivery rather than when qmgr happens to close an idle connection.
        if (changed_open_table())
            return {};
    }
}

}  // namespace postern
