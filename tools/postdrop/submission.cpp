// Copying and checking a submission; see submission.hpp.
#include "tools/postdrop/submission.hpp"

#include "queue/cleanup_protocol.hpp"
#include "queue/maildrop.hpp"
#include "queue/queue_file.hpp"
#include "util/log.hpp"

namespace postern::postdrop {
namespace {

struct CopyState {
    int senders = 0;
    int recipients = 0;
    SubmissionVerdict verdict;
};

std::string uid_text(uid_t uid) {
    return std::to_string(static_cast<long>(uid));
}

// An attribute record: written back as name=value when a user may set it.
void copy_attribute(std::string_view data, MaildropFile& file, uid_t uid) {
    auto attribute = split_attribute(data);
    if (!attribute) {
        log_warning("uid=%ld: ignoring malformed record: %s: %.200s", static_cast<long>(uid),
                    attribute.error().message().c_str(), std::string(data).c_str());
        return;
    }
    if (!submission_attribute_allowed(*attribute)) {
        log_warning("uid=%ld: ignoring attribute record: %.200s=%.200s", static_cast<long>(uid),
                    std::string(attribute->name).c_str(), std::string(attribute->value).c_str());
        return;
    }
    std::string text(attribute->name);
    text.append("=").append(attribute->value);
    file.record(rec_type::attribute, text);
}

Status check_sender(std::string_view sender, const SubmissionPolicy& policy, CopyState& state) {
    ++state.senders;
    if (!policy.sender_allowed || state.verdict.status != 0)
        return {};
    auto allowed = policy.sender_allowed(sender);
    if (!allowed)
        return allowed.error();
    if (!*allowed) {
        state.verdict.status = cleanup_status::noperm;
        state.verdict.reason = "not authorized to use sender='" + std::string(sender) + "'";
    }
    return {};
}

}  // namespace

Result<std::optional<SubmissionVerdict>> copy_submission(RecordStreamReader& input,
                                                         MaildropFile& file,
                                                         const SubmissionPolicy& policy) {
    SegmentTracker segments(kSubmissionSegments);
    CopyState state;
    for (;;) {
        auto next = input.next();
        if (!next)
            return next.error();
        if (!next->has_value())
            return std::optional<SubmissionVerdict>();
        const StreamRecord& record = **next;
        if (!segments.accept(record.type))
            return Error(ErrorKind::protocol,
                         "uid=" + uid_text(policy.uid) + ": unexpected record type: " +
                             std::to_string(static_cast<unsigned char>(record.type)));
        if (record.type == rec_type::sender)
            if (Status checked = check_sender(record.data, policy, state); !checked)
                return checked.error();
        if (record.type == rec_type::recipient)
            ++state.recipients;
        if (record.type == rec_type::attribute)
            copy_attribute(record.data, file, policy.uid);
        else
            file.record(record.type, record.data);
        if (record.type == rec_type::end)
            break;
    }
    // The sender and recipient checks are pickup's and cleanup's too; postdrop makes them
    // so that a broken submission is refused while its submitter is still listening.
    if (state.verdict.status == 0 && (state.senders == 0 || state.recipients == 0))
        state.verdict.status = cleanup_status::bad;
    return std::optional<SubmissionVerdict>(std::move(state.verdict));
}

}  // namespace postern::postdrop
