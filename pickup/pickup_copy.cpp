// One maildrop file to cleanup; see pickup_copy.hpp.
#include "pickup/pickup_copy.hpp"

#include <ctime>

#include "mail/mail_date.hpp"
#include "mail/quote_address.hpp"
#include "queue/maildrop.hpp"
#include "queue/queue_file.hpp"
#include "util/log.hpp"

namespace postern::pickup {
namespace {

// The record "types" Postfix's pickup logs for a file that ends early or cannot be read.
constexpr int kTypeEndOfFile = -1;
constexpr int kTypeError = -2;

constexpr int64_t kDaySeconds = 86400;
constexpr int64_t kHourSeconds = 3600;

enum class CopyResult { complete, bad_file, read_failed };

struct Copy {
    Copy(MaildropFile& file, const PickupSettings& settings, CleanupClient& client,
         std::string queue_id)
        : file(file), settings(settings), client(client), queue_id(std::move(queue_id)) {}

    MaildropFile& file;
    const PickupSettings& settings;
    CleanupClient& client;
    std::string queue_id;
    bool requeued = false;
    long uid = 0;
    std::time_t mtime = 0;
    std::optional<std::string> sender;
    bool time_seen = false;
    bool first_content = true;
};

CopyResult malformed(const Copy& copy, int type) {
    log_warning("uid=%ld: unexpected or malformed record type %d", copy.uid, type);
    return CopyResult::bad_file;
}

// Mail that postsuper -r put back into maildrop/: mail_owner's, not readable by others.
bool is_requeued(const MaildropFile& file, uid_t mail_owner_uid) {
    return file.status.st_uid == mail_owner_uid && (file.status.st_mode & S_IROTH) == 0;
}

// Time stamps from the future are taken for now; very old ones are worth a word.
std::time_t checked_mtime(const Copy& copy) {
    std::time_t now = std::time(nullptr);
    std::time_t mtime = copy.file.status.st_mtime;
    if (mtime > now + kHourSeconds * 2) {
        log_warning("%s: message dated %lld seconds into the future", copy.queue_id.c_str(),
                    static_cast<long long>(mtime - now));
        return now;
    }
    if (mtime < now - kDaySeconds)
        log_warning("%s: message has been queued for %d days", copy.queue_id.c_str(),
                    static_cast<int>((now - mtime) / kDaySeconds));
    return mtime;
}

// A user's attributes pass postdrop's filter once more: the file is only as trustworthy
// as the program that wrote it.
void copy_user_attribute(Copy& copy, std::string_view data) {
    auto attribute = split_attribute(data);
    if (!attribute) {
        log_warning("uid=%ld: ignoring malformed record: %s: %.200s", copy.uid,
                    attribute.error().message().c_str(), std::string(data).c_str());
        return;
    }
    if (!submission_attribute_allowed(*attribute)) {
        log_warning("uid=%ld: ignoring attribute record: %.200s=%.200s", copy.uid,
                    std::string(attribute->name).c_str(), std::string(attribute->value).c_str());
        return;
    }
    copy.client.attribute(attribute->name, attribute->value);
}

void copy_envelope_record(Copy& copy, const Record& record) {
    switch (record.type) {
        case rec_type::filter:    // a content_filter of the requeued message: not kept,
        case rec_type::redirect:  // nor its redirect (postsuper(1))
        case rec_type::size:      // cleanup writes its own
            return;
        case rec_type::time:
            copy.time_seen = true;
            break;
        case rec_type::sender:
            if (!copy.sender)
                copy.sender = std::string(record.data);
            if (!copy.time_seen) {  // files from before Postfix 2.3 have no time record
                copy.client.arrival_time(QueueTime{static_cast<int64_t>(copy.mtime), 0});
                copy.time_seen = true;
            }
            break;
        case rec_type::attribute:
            if (!copy.requeued) {
                copy_user_attribute(copy, record.data);
                return;
            }
            break;
        default:
            break;
    }
    copy.client.record(record.type, record.data);
}

std::string logged_sender(const std::string& sender) {
    return sender.empty() ? sender : quote_address_local_part(sender);
}

// At M: the sender is known; the message gets pickup's Received: header.
bool start_content(Copy& copy) {
    if (!copy.sender) {
        log_warning("%s: uid=%ld: no envelope sender", copy.queue_id.c_str(), copy.uid);
        return false;
    }
    std::string from = logged_sender(*copy.sender);
    if (copy.requeued)
        log_message_info(copy.queue_id, "uid=%ld from=<%s> orig_id=%s", copy.uid, from.c_str(),
                         copy.file.name.c_str());
    else
        log_message_info(copy.queue_id, "uid=%ld from=<%s>", copy.uid, from.c_str());
    copy.client.content_line("Received: by " + copy.settings.myhostname + " (" +
                             copy.settings.mail_name + ", from userid " + std::to_string(copy.uid) +
                             ")");
    copy.client.content_line("\tid " + copy.queue_id + "; " + mail_date(copy.mtime));
    return true;
}

void copy_content_record(Copy& copy, const Record& record) {
    // Content that starts with white space would continue pickup's Received: header; an
    // empty line first makes it the body, as Postfix does.
    if (copy.first_content) {
        copy.first_content = false;
        if (!record.data.empty() && (record.data.front() == ' ' || record.data.front() == '\t'))
            copy.client.content_line("");
    }
    if (record.type == rec_type::continued)
        copy.client.content_continued(record.data);
    else
        copy.client.content_line(record.data);
}

void copy_extracted_record(Copy& copy, const Record& record) {
    switch (record.type) {
        case rec_type::filter:          // what postsuper -r leaves of the old queue file:
        case rec_type::redirect:        // filters, redirects, return-receipt and errors-to
        case rec_type::return_receipt:  // addresses, and attributes other than the DSN
        case rec_type::errors_to:       // ones (header and body actions)
            return;
        case rec_type::attribute: {
            auto attribute = split_attribute(record.data);
            if (!attribute || !is_dsn_attribute(attribute->name))
                return;
            break;
        }
        default:
            break;
    }
    copy.client.record(record.type, record.data);
}

CopyResult copy_records(RecordReader& reader, Copy& copy) {
    SegmentTracker segments(copy.requeued ? kRequeuedSegments : kMaildropFileSegments);
    for (;;) {
        auto next = reader.next();
        if (!next) {
            log_warning("%s", next.error().message().c_str());
            if (next.error().kind() != ErrorKind::corrupt)
                return CopyResult::read_failed;
            return malformed(copy, kTypeError);
        }
        if (!next->has_value())
            return malformed(copy, kTypeEndOfFile);
        const Record& record = **next;
        const MaildropSegment segment = segments.segment();
        if (!segments.accept(record.type))
            return malformed(copy, static_cast<unsigned char>(record.type));
        if (segment == MaildropSegment::envelope && record.type == rec_type::message) {
            if (!start_content(copy))
                return CopyResult::bad_file;
        } else if (segment == MaildropSegment::envelope) {
            copy_envelope_record(copy, record);
        } else if (segment == MaildropSegment::content && record.type == rec_type::extracted) {
            copy.client.end_content();
        } else if (segment == MaildropSegment::content) {
            copy_content_record(copy, record);
        } else if (record.type == rec_type::end) {
            return CopyResult::complete;
        } else {
            copy_extracted_record(copy, record);
        }
    }
}

int64_t cleanup_flags(const PickupSettings& settings, bool requeued) {
    int64_t flags = settings.cleanup_flags;
    // Mail requeued with postsuper -r has been through the milters already (postsuper(1)).
    if (requeued)
        flags &= ~cleanup_flag::milter;
    else if (settings.smtputf8_autodetect)
        flags |= cleanup_flag::auto_utf8;
    return flags;
}

// cleanup's verdict on a message that was sent whole.
PickupOutcome verdict(const Copy& copy, CleanupConnection& cleanup) {
    auto result = copy.client.finish();
    if (!result) {
        log_warning("%s: %s", copy.file.path.c_str(), result.error().message().c_str());
        cleanup.drop();
        return PickupOutcome::cleanup_failed;
    }
    if (result->ok())
        return PickupOutcome::remove;
    // cleanup has logged its reason; a bare status is pickup's to report.
    if (result->reason.empty())
        log_warning("%s: error writing %s: %s", copy.file.path.c_str(), copy.queue_id.c_str(),
                    std::string(cleanup_status_text(result->status)).c_str());
    // A message without recipients (postsuper -r of delivered mail) or one cleanup cannot
    // make sense of will not get better; anything else may.
    return (result->status & (cleanup_status::bad | cleanup_status::rcpt)) != 0
               ? PickupOutcome::remove
               : PickupOutcome::keep;
}

}  // namespace

Result<CleanupClient*> CleanupConnection::get() {
    if (!client_) {
        auto connected = CleanupClient::connect(settings_.cleanup_socket, settings_.ipc_timeout);
        if (!connected)
            return connected.error();
        client_.emplace(std::move(*connected));
        client_->set_line_length_limit(settings_.line_length_limit);
    }
    return &*client_;
}

PickupOutcome pickup_file(MaildropFile& file, const PickupSettings& settings,
                          CleanupConnection& cleanup) {
    auto reader = RecordReader::open(file.fd.get(), file.path, settings.line_length_limit);
    if (!reader) {
        log_warning("%s", reader.error().message().c_str());
        return PickupOutcome::keep;
    }
    auto client = cleanup.get();
    if (!client) {
        log_warning("%s", client.error().message().c_str());
        return PickupOutcome::cleanup_failed;
    }
    const bool requeued = is_requeued(file, settings.mail_owner_uid);
    auto queue_id = (*client)->open(cleanup_flags(settings, requeued));
    if (!queue_id) {
        log_warning("%s", queue_id.error().message().c_str());
        cleanup.drop();
        return PickupOutcome::cleanup_failed;
    }
    Copy copy{file, settings, **client, *queue_id};
    copy.requeued = requeued;
    copy.uid = static_cast<long>(file.status.st_uid);
    copy.mtime = checked_mtime(copy);
    if (!settings.content_filter.empty())
        copy.client.record(rec_type::filter, settings.content_filter);
    CopyResult copied = copy_records(*reader, copy);
    if (copied != CopyResult::complete) {
        cleanup.drop();  // cleanup removes the half-sent message
        return copied == CopyResult::bad_file ? PickupOutcome::remove : PickupOutcome::keep;
    }
    return verdict(copy, cleanup);
}

}  // namespace postern::pickup
