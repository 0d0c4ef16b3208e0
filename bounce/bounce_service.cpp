// The bounce service; see bounce_service.hpp.
#include "bounce/bounce_service.hpp"

#include <utility>

#include "bounce/notice_text.hpp"
#include "queue/queue_file.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace postern {

namespace {

NoticeKind kind_of(std::string_view request) {
    if (request == bounce_request::warn)
        return NoticeKind::delay;
    if (request == bounce_request::trace)
        return NoticeKind::success;
    return NoticeKind::failure;
}

bool reported(const BounceLogRecord& record, int notify_filter) {
    return record.dsn_notify == 0 || (record.dsn_notify & notify_filter) != 0;
}

BounceReply retry_later(std::string reason) {
    return BounceReply{1, std::move(reason)};
}

BounceReply done() {
    return BounceReply{0, {}};
}

}  // namespace

// One request: its log, its original message and the composer for its notices.
struct BounceService::Work {
    Work(const BounceRequest& request, const BounceSettings& settings,
         const BounceTemplate& notice_template, const std::vector<std::string>& text,
         OriginalMessage message, std::optional<std::vector<BounceLogRecord>> log,
         int64_t event_time)
        : request(request),
          records(std::move(log)),
          original(std::move(message)),
          composer(settings, notice_template, text,
                   NoticeOrigin{request.queue_id, request.encoding, request.smtputf8,
                                sanitized(request.dsn_envid, settings.smtputf8_enable)},
                   original, event_time) {}

    const BounceRequest& request;
    std::optional<std::vector<BounceLogRecord>> records;  // nullopt: there is no log
    OriginalMessage original;
    NoticeComposer composer;
};

const std::vector<std::string>& ExpandedTemplates::get(NoticeKind kind) const {
    switch (kind) {
        case NoticeKind::failure:
            return failure;
        case NoticeKind::delay:
            return delay;
        case NoticeKind::success:
            return success;
        case NoticeKind::verify:
            return verify;
    }
    return failure;
}

std::vector<std::string>& ExpandedTemplates::get(NoticeKind kind) {
    return const_cast<std::vector<std::string>&>(std::as_const(*this).get(kind));
}

Result<ExpandedTemplates> expand_templates(const BounceTemplates& templates,
                                           const ParameterSource& parameters,
                                           const BounceSettings& settings,
                                           std::vector<std::string>& warnings) {
    TemplateTimes times{settings.delay_warning_time, settings.maximal_queue_lifetime};
    ExpandedTemplates texts;
    for (NoticeKind kind :
         {NoticeKind::failure, NoticeKind::delay, NoticeKind::success, NoticeKind::verify}) {
        auto text = expand_template_text(templates.get(kind), parameters, times, warnings);
        if (!text)
            return text.error();
        texts.get(kind) = std::move(*text);
    }
    return texts;
}

NoticeRecipient notice_recipient(const BounceLogRecord& record, bool allow_utf8) {
    NoticeRecipient recipient;
    recipient.address = sanitized(bounce_log_display_recipient(record), allow_utf8);
    if (record.original_recipient != record.recipient)
        recipient.original = sanitized(record.original_recipient, allow_utf8);
    recipient.dsn_orcpt = sanitized(record.dsn_orcpt, allow_utf8);
    const DeliveryStatus& in = record.status;
    DeliveryStatus& out = recipient.status;
    out.status = sanitized(in.status, false);
    out.action = sanitized(in.action, false);
    out.reason = sanitized(bounce_log_display_reason(record), allow_utf8);
    out.diagnostic_type = sanitized(in.diagnostic_type, false);
    out.diagnostic_text = sanitized(in.diagnostic_text, allow_utf8);
    out.mta_type = sanitized(in.mta_type, false);
    out.mta_name = sanitized(in.mta_name, allow_utf8);
    return recipient;
}

BounceService::BounceService(const BounceSettings& settings, const BounceTemplates& templates,
                             const ExpandedTemplates& texts, NoticeSubmitter& submitter,
                             std::string queue_directory, std::function<int64_t()> clock)
    : settings_(settings),
      templates_(templates),
      texts_(texts),
      submitter_(submitter),
      queue_directory_(std::move(queue_directory)),
      clock_(std::move(clock)) {}

BounceReply BounceService::handle(const BounceRequest& request) {
    const std::string& id = request.queue_id;
    auto log = read_bounce_log(queue_directory_, settings_.hashing, request.log, id);
    if (!log && log.error().kind() != ErrorKind::not_found) {
        log_message_warning(id, "read %s log: %s", request.log.c_str(),
                            log.error().message().c_str());
        return retry_later("cannot read the " + request.log + " log");
    }
    std::string path = queue_file_path(queue_directory_, settings_.hashing, request.queue_name, id);
    std::string problem;
    OriginalMessage original = OriginalMessage::open(path, settings_.threaded_bounces, problem);
    if (!problem.empty()) {
        log_message_warning(id, "%s", problem.c_str());
        if (!original.envelope().found)
            return retry_later("cannot open the queue file");
    }
    std::optional<std::vector<BounceLogRecord>> records;
    if (log)
        records = std::move(*log);
    NoticeKind kind = kind_of(request.request);
    Work work(request, settings_, templates_.get(kind), texts_.get(kind), std::move(original),
              std::move(records), clock_());
    if (kind == NoticeKind::delay)
        return warn(work);
    if (kind == NoticeKind::success)
        return trace(work);
    return flush(work);
}

Result<bool> BounceService::send(Work& work, const NoticeSpec& base, int notify_filter,
                                 std::string_view sender, std::string_view what) {
    NoticeSpec spec = base;
    if (work.records) {
        std::vector<NoticeRecipient> chosen;
        for (const BounceLogRecord& record : *work.records)
            if (reported(record, notify_filter))
                chosen.push_back(notice_recipient(record, settings_.smtputf8_enable));
        if (chosen.empty())
            return true;  // nobody to tell: nothing to send, and nothing to retry
        spec.recipients = std::move(chosen);
    } else if (spec.kind != NoticeKind::failure) {
        return true;  // no log: only a non-delivery notice goes out regardless
    }
    NoticeEnvelope envelope{std::string(sender), spec.recipient,
                            (work.request.smtputf8 & kSmtputf8Requested) != 0, clock_()};
    auto notice_id = submitter_.submit(envelope, [&](std::string_view id, NoticeSink& sink) {
        work.composer.compose(spec, id, envelope.now, sink);
    });
    const char* queue_id = work.request.queue_id.c_str();
    if (!notice_id) {
        log_message_warning(queue_id, "%.*s failed: %s", static_cast<int>(what.size()), what.data(),
                            notice_id.error().message().c_str());
        return notice_id.error();
    }
    log_message_info(queue_id, "%.*s: %s", static_cast<int>(what.size()), what.data(),
                     notice_id->c_str());
    return true;
}

bool BounceService::send_postmaster_copy(Work& work, NoticeKind kind, const std::string& recipient,
                                         int ret, std::string_view what) {
    NoticeSpec spec{kind, true, recipient, ret, std::nullopt};
    return send(work, spec, kNotifyAll, settings_.double_bounce_address(), what).ok();
}

BounceReply BounceService::flush(Work& work) {
    const BounceRequest& request = work.request;
    const char* id = request.queue_id.c_str();
    if (equals_ignore_case(request.sender, settings_.double_bounce_address())) {
        log_message_warning(id, "undeliverable postmaster notification discarded");
    } else if (request.sender.empty()) {
        if ((settings_.notify.bounce || settings_.notify.double_bounce) &&
            !send_postmaster_copy(work, NoticeKind::failure,
                                  settings_.double_bounce_notice_recipient, dsn::ret_full,
                                  "postmaster non-delivery notification"))
            return retry_later("cannot send the postmaster notice");
    } else {
        int ret = request.dsn_ret != 0 ? request.dsn_ret : dsn::ret_full;
        NoticeSpec spec{NoticeKind::failure, false, request.sender, ret, std::nullopt};
        if (!send(work, spec, dsn::notify_failure, "", "sender non-delivery notification"))
            return retry_later("cannot send the non-delivery notice");
        if (settings_.notify.bounce &&
            !send_postmaster_copy(work, NoticeKind::failure, settings_.bounce_notice_recipient,
                                  dsn::ret_hdrs, "postmaster non-delivery notification"))
            log_message_warning(id, "postmaster notice failed while bouncing to %s",
                                sanitized(request.sender, settings_.smtputf8_enable).c_str());
    }
    finish_log(work, true);
    return done();
}

BounceReply BounceService::warn(Work& work) {
    const BounceRequest& request = work.request;
    const char* id = request.queue_id.c_str();
    if (equals_ignore_case(request.sender, settings_.double_bounce_address())) {
        log_message_warning(id, "undeliverable postmaster notification discarded");
    } else if (request.sender.empty()) {
        // As for a bounce of a bounce, the postmaster gets the whole message.
        if (settings_.notify.delay &&
            !send_postmaster_copy(work, NoticeKind::delay, settings_.delay_notice_recipient,
                                  dsn::ret_full, "postmaster delay notification"))
            return retry_later("cannot send the postmaster delay notice");
    } else {
        NoticeSpec spec{NoticeKind::delay, false, request.sender, dsn::ret_hdrs, std::nullopt};
        if (!send(work, spec, dsn::notify_delay, "", "sender delay notification"))
            return retry_later("cannot send the delay notice");
        if (settings_.notify.delay &&
            !send_postmaster_copy(work, NoticeKind::delay, settings_.delay_notice_recipient,
                                  dsn::ret_hdrs, "postmaster delay notification"))
            log_message_warning(id, "postmaster notice failed while bouncing to %s",
                                sanitized(request.sender, settings_.smtputf8_enable).c_str());
    }
    return done();  // the log stays: the message is still being retried
}

BounceReply BounceService::trace(Work& work) {
    const BounceRequest& request = work.request;
    const char* id = request.queue_id.c_str();
    if (!work.records)
        return done();  // no recipient asked for a success notice (or it was sent already)
    std::string recipient = request.sender;
    std::string sender;
    if (equals_ignore_case(request.sender, settings_.double_bounce_address())) {
        log_message_info(id, "not sending trace/success notification for double-bounce message");
        finish_log(work, false);
        return done();
    }
    if (request.sender.empty()) {
        if (!settings_.notify.double_bounce) {
            log_message_info(id,
                             "not sending trace/success notification for single-bounce message");
            finish_log(work, false);
            return done();
        }
        recipient = settings_.double_bounce_notice_recipient;
        sender = settings_.double_bounce_address();
    }
    NoticeSpec spec{NoticeKind::success, false, recipient, dsn::ret_hdrs, std::nullopt};
    if (!send(work, spec, kNotifyAll, sender, "sender delivery status notification"))
        return retry_later("cannot send the delivery status notice");
    finish_log(work, false);
    return done();
}

void BounceService::finish_log(Work& work, bool mark_done) {
    const BounceRequest& request = work.request;
    const char* id = request.queue_id.c_str();
    if (mark_done && work.records && work.original.writable_fd() >= 0) {
        std::vector<int64_t> offsets;
        for (const BounceLogRecord& record : *work.records)
            if (record.offset > 0)
                offsets.push_back(record.offset);
        // One bad offset (a damaged log) makes the batch refuse to write; then each good
        // one is marked alone.
        int fd = work.original.writable_fd();
        if (!offsets.empty() && !mark_recipients_done(fd, offsets, work.original.path()))
            for (int64_t offset : offsets)
                if (Status marked = mark_recipient_done(fd, offset, work.original.path()); !marked)
                    log_message_warning(id, "%s", marked.error().message().c_str());
    }
    if (Status removed =
            remove_bounce_log(queue_directory_, settings_.hashing, request.log, request.queue_id);
        !removed)
        log_message_warning(id, "%s", removed.error().message().c_str());
}

}  // namespace postern
