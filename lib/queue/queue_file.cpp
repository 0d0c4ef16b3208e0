// Reading queue files, marking recipients done, quarantining corrupt files: see
// queue_file.hpp.
//
// Untrusted input: the whole file. The reader checks the record types each segment may
// hold (Postfix's rec_type.h sets), the size record against the file and against where the
// content really starts and ends, and follows Postfix's pointer records only to offsets
// inside the file, a bounded number of times.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include "queue/queue_file.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace postern {
namespace {

// Record types each segment may hold besides its terminator ('p' and 'w' are handled
// before these are consulted). From Postfix's REC_TYPE_ENVELOPE and REC_TYPE_EXTRACT.
constexpr std::string_view kEnvelopeTypes = "TcFILSDRO/WVA>K<ion";
constexpr std::string_view kExtractedTypes = "DRO/PreAFIL>Kon";

std::string type_text(char type) {
    return std::to_string(static_cast<unsigned char>(type));
}

// A decimal number, possibly after leading spaces (the fixed-width fields); the whole
// text must be used.
std::optional<int64_t> parse_decimal(std::string_view text) {
    while (!text.empty() && text.front() == ' ')
        text.remove_prefix(1);
    if (text.empty())
        return std::nullopt;
    int64_t value = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size() || value < 0)
        return std::nullopt;
    return value;
}

// "seconds microseconds", or "seconds" alone as older Postfix wrote it.
std::optional<QueueTime> parse_time(std::string_view text) {
    size_t space = text.find(' ');
    auto seconds = parse_decimal(text.substr(0, space));
    if (!seconds)
        return std::nullopt;
    QueueTime when;
    when.seconds = *seconds;
    if (space != std::string_view::npos) {
        auto microseconds = parse_decimal(text.substr(space + 1));
        if (!microseconds || *microseconds > 999999)
            return std::nullopt;
        when.microseconds = static_cast<int32_t>(*microseconds);
    }
    return when;
}

// What the A and O records before a recipient say about it.
struct PendingRecipient {
    std::string original;
    std::string dsn_orcpt;
    int dsn_notify = 0;
};

}  // namespace

Result<QueueFileReader> QueueFileReader::open(const std::string& path, bool writable,
                                              size_t max_record_length) {
    int flags = (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY;
    Fd fd(::open(path.c_str(), flags));
    if (!fd.valid()) {
        int saved = errno;
        Error error = system_error("open " + path, saved);
        if (saved == ENOENT)
            return Error(ErrorKind::not_found, error.message());
        if (saved == ELOOP)
            return Error(ErrorKind::corrupt, path + ": is a symbolic link");
        return error;
    }
    auto records = RecordReader::open(fd.get(), path, max_record_length);
    if (!records)
        return records.error();
    return QueueFileReader(std::move(fd), std::move(*records));
}

QueueFileReader QueueFileReader::from_memory(std::string_view bytes, std::string name,
                                             size_t max_record_length) {
    return QueueFileReader(Fd(),
                           RecordReader::from_memory(bytes, std::move(name), max_record_length));
}

Result<Record> QueueFileReader::next_logical() {
    // A legitimate pointer record is at least 17 bytes, so this bound never stops a real
    // file, while a file of pointers that loop stops after work proportional to its size.
    const int64_t max_jumps = 10000 + records_.size() / 8;
    for (;;) {
        auto next = records_.next();
        if (!next)
            return next.error();
        if (!*next)
            return records_.corrupt("unexpected end of file at offset " +
                                    std::to_string(records_.offset()));
        Record record = **next;
        if (record.type == rec_type::padding)
            continue;
        if (record.type != rec_type::pointer)
            return record;
        auto target = parse_decimal(record.data);
        if (!target || *target >= records_.size())
            return records_.corrupt("malformed pointer record value at offset " +
                                    std::to_string(record.offset));
        if (*target == 0)
            continue;  // a placeholder for later edits
        if (++pointer_jumps_ > max_jumps)
            return records_.corrupt("too many pointer records");
        if (Status moved = records_.seek(*target); !moved)
            return moved.error();
    }
}

Result<QueueSizeRecord> QueueFileReader::read_size_record() {
    if (Status moved = records_.seek(0); !moved)
        return moved.error();
    auto first = records_.next();
    if (!first)
        return first.error();
    if (!*first || (*first)->type != rec_type::size)
        return records_.corrupt("missing size record");
    std::string_view text = (*first)->data;
    int64_t fields[6] = {};
    size_t count = 0;
    while (!text.empty()) {
        size_t start = text.find_first_not_of(' ');
        if (start == std::string_view::npos)
            break;
        text.remove_prefix(start);
        size_t end = text.find(' ');
        auto value = parse_decimal(text.substr(0, end));
        if (!value)
            return records_.corrupt("bad size record: " + std::string((*first)->data));
        if (count < 6)  // later Postfix versions may add fields: ignore them
            fields[count] = *value;
        ++count;
        text.remove_prefix(end == std::string_view::npos ? text.size() : end);
    }
    // Postfix 1.0 wrote three fields; every version since writes more.
    if (count < 3)
        return records_.corrupt("bad size record: " + std::string((*first)->data));
    QueueSizeRecord size{fields[0], fields[1], fields[2], fields[3], fields[4], fields[5]};
    if (size.content_offset <= 0 || size.content_offset > records_.size() ||
        size.content_size > records_.size() - size.content_offset)
        return records_.corrupt("size record says content at offset " +
                                std::to_string(size.content_offset) + " size " +
                                std::to_string(size.content_size) + ", file size is " +
                                std::to_string(records_.size()));
    return size;
}

Result<QueueEnvelope> QueueFileReader::read_envelope() {
    QueueEnvelope envelope;
    auto size = read_size_record();
    if (!size)
        return size.error();
    envelope.size = *size;
    size_ = *size;
    if (Status read = read_envelope_records(envelope); !read)
        return read.error();
    // The M record ends the envelope; the content follows it immediately.
    if (records_.offset() != size->content_offset)
        return records_.corrupt("size record says content at offset " +
                                std::to_string(size->content_offset) + ", it starts at " +
                                std::to_string(records_.offset()));
    // Jump over the content as qmgr does; the extracted segment must start right there.
    if (Status moved = records_.seek(size->content_offset + size->content_size); !moved)
        return moved.error();
    auto marker = next_logical();
    if (!marker)
        return marker.error();
    if (marker->type != rec_type::extracted)
        return records_.corrupt(
            "size record says content size " + std::to_string(size->content_size) +
            ", no extracted-segment record there (record type " + type_text(marker->type) + ")");
    if (Status read = read_extracted_records(envelope); !read)
        return read.error();
    return envelope;
}

namespace {

// What reading the envelope or the extracted segment keeps between records.
struct SegmentState {
    QueueEnvelope& envelope;
    PendingRecipient pending;
    bool extracted;
};

Status apply_attribute(SegmentState& state, const Record& record, const RecordReader& records) {
    size_t equals = record.data.find('=');
    if (equals == std::string_view::npos || equals == 0)
        return records.corrupt("malformed attribute record at offset " +
                               std::to_string(record.offset));
    std::string_view name = record.data.substr(0, equals);
    std::string_view value = record.data.substr(equals + 1);
    QueueEnvelope& envelope = state.envelope;
    if (name == queue_attr::notify_flags || name == queue_attr::ret_flags) {
        auto number = parse_decimal(value);
        if (!number || *number > 0xffff)
            return records.corrupt("malformed attribute record at offset " +
                                   std::to_string(record.offset));
        if (name == queue_attr::notify_flags)
            state.pending.dsn_notify = static_cast<int>(*number);
        else
            envelope.dsn_ret = static_cast<int>(*number);
        return {};
    }
    if (name == queue_attr::dsn_orig_rcpt) {
        state.pending.dsn_orcpt = std::string(value);
        return {};
    }
    if (name == queue_attr::envelope_id) {
        envelope.envelope_id = std::string(value);
        return {};
    }
    if (name == queue_attr::create_time)
        envelope.create_time = parse_decimal(value);
    envelope.attributes.emplace_back(std::string(name), std::string(value));
    return {};
}

void add_recipient(SegmentState& state, const Record& record) {
    QueueRecipient recipient;
    recipient.address = std::string(record.data);
    recipient.original = std::move(state.pending.original);
    recipient.dsn_orcpt = std::move(state.pending.dsn_orcpt);
    recipient.dsn_notify = state.pending.dsn_notify;
    recipient.status = record.type == rec_type::recipient ? RecipientStatus::pending
                       : record.type == rec_type::done    ? RecipientStatus::done
                                                          : RecipientStatus::canceled;
    recipient.offset = record.offset;
    recipient.extracted = state.extracted;
    state.envelope.recipients.push_back(std::move(recipient));
    state.pending = PendingRecipient();
}

// The records both segments share: recipients and their DSN details, attributes.
// Returns true when it handled the record.
Result<bool> apply_shared_record(SegmentState& state, const Record& record,
                                 const RecordReader& records) {
    switch (record.type) {
        case rec_type::attribute:
            if (Status applied = apply_attribute(state, record, records); !applied)
                return applied.error();
            return true;
        case rec_type::original:
            state.pending.original = std::string(record.data);
            return true;
        case rec_type::dsn_orcpt:
            state.pending.dsn_orcpt = std::string(record.data);
            return true;
        case rec_type::dsn_notify: {
            auto number = parse_decimal(record.data);
            if (!number || *number > 0xffff)
                return records.corrupt("malformed DSN notify record at offset " +
                                       std::to_string(record.offset));
            state.pending.dsn_notify = static_cast<int>(*number);
            return true;
        }
        case rec_type::recipient:
        case rec_type::done:
        case rec_type::canceled:
            if (record.data.empty())
                return records.corrupt("empty recipient at offset " +
                                       std::to_string(record.offset));
            add_recipient(state, record);
            return true;
        case rec_type::full_name:
            state.envelope.full_name = std::string(record.data);
            return true;
        default:
            return false;
    }
}

Status apply_envelope_only_record(SegmentState& state, const Record& record,
                                  const RecordReader& records, bool& seen_time, bool& seen_sender) {
    QueueEnvelope& envelope = state.envelope;
    switch (record.type) {
        case rec_type::time: {
            auto when = parse_time(record.data);
            if (!when)
                return records.corrupt("malformed time record at offset " +
                                       std::to_string(record.offset));
            if (!seen_time)  // the first one wins, as in Postfix
                envelope.arrival = *when;
            seen_time = true;
            return {};
        }
        case rec_type::create_time:
            envelope.create_time = parse_decimal(record.data);
            return {};
        case rec_type::sender:
            if (seen_sender)
                return records.corrupt("duplicate sender record at offset " +
                                       std::to_string(record.offset));
            seen_sender = true;
            envelope.sender = std::string(record.data);
            return {};
        case rec_type::warning: {
            auto when = parse_decimal(record.data);
            // qmgr (Postfix's and Postern's) writes -1 once the delay warning was sent.
            if (!when && trim(record.data) == "-1")
                when = -1;
            if (!when)
                return records.corrupt("malformed warning time record at offset " +
                                       std::to_string(record.offset));
            envelope.warning_time = *when;
            envelope.warning_offset = record.offset;
            return {};
        }
        case rec_type::dsn_envid:
            envelope.envelope_id = std::string(record.data);
            return {};
        case rec_type::dsn_ret: {
            auto number = parse_decimal(record.data);
            if (!number || *number > 0xffff)
                return records.corrupt("malformed DSN ret record at offset " +
                                       std::to_string(record.offset));
            envelope.dsn_ret = static_cast<int>(*number);
            return {};
        }
        default:
            // Inspector, filter, VERP, redirect and killed records: known to Postfix,
            // not used by Postern yet.
            return {};
    }
}

}  // namespace

Status QueueFileReader::read_envelope_records(QueueEnvelope& envelope) {
    SegmentState state{envelope, {}, false};
    bool seen_time = false;
    bool seen_sender = false;
    for (;;) {
        auto record = next_logical();
        if (!record)
            return record.error();
        if (record->type == rec_type::message)
            break;
        if (kEnvelopeTypes.find(record->type) == std::string_view::npos)
            return records_.corrupt("unexpected record type " + type_text(record->type) +
                                    " in envelope at offset " + std::to_string(record->offset));
        auto shared = apply_shared_record(state, *record, records_);
        if (!shared)
            return shared.error();
        if (*shared)
            continue;
        if (Status applied =
                apply_envelope_only_record(state, *record, records_, seen_time, seen_sender);
            !applied)
            return applied;
    }
    if (!seen_time)
        return records_.corrupt("missing arrival time record");
    if (!seen_sender)
        return records_.corrupt("missing sender record");
    return {};
}

Status QueueFileReader::read_extracted_records(QueueEnvelope& envelope) {
    SegmentState state{envelope, {}, true};
    for (;;) {
        auto record = next_logical();
        if (!record)
            return record.error();
        if (record->type == rec_type::end)
            return {};
        if (kExtractedTypes.find(record->type) == std::string_view::npos)
            return records_.corrupt("unexpected record type " + type_text(record->type) +
                                    " in extracted segment at offset " +
                                    std::to_string(record->offset));
        auto shared = apply_shared_record(state, *record, records_);
        if (!shared)
            return shared.error();
        // Priority, return-receipt, errors-to, inspector, filter, redirect, killed: known,
        // not used by Postern yet.
    }
}

Result<std::optional<ContentPiece>> QueueFileReader::next_content() {
    if (content_done_)
        return std::optional<ContentPiece>();
    if (!content_started_) {
        if (!size_) {
            auto size = read_size_record();
            if (!size)
                return size.error();
            size_ = *size;
        }
        if (Status moved = records_.seek(size_->content_offset); !moved)
            return moved.error();
        content_started_ = true;
    }
    auto record = next_logical();
    if (!record)
        return record.error();
    switch (record->type) {
        case rec_type::normal:
            return std::optional<ContentPiece>(ContentPiece{record->data, true});
        case rec_type::continued:
            return std::optional<ContentPiece>(ContentPiece{record->data, false});
        case rec_type::extracted:
            content_done_ = true;
            return std::optional<ContentPiece>();
        default:
            return records_.corrupt("unexpected record type " + type_text(record->type) +
                                    " in message content at offset " +
                                    std::to_string(record->offset));
    }
}

Result<QueueFileContents> read_queue_file(QueueFileReader& reader) {
    QueueFileContents contents;
    auto envelope = reader.read_envelope();
    if (!envelope)
        return envelope.error();
    contents.envelope = std::move(*envelope);
    std::string line;
    bool partial = false;
    for (;;) {
        auto piece = reader.next_content();
        if (!piece)
            return piece.error();
        if (!*piece)
            break;
        line.append((*piece)->data);
        partial = !(*piece)->end_of_line;
        if (!partial) {
            contents.lines.push_back(std::move(line));
            line.clear();
        }
    }
    if (partial)  // a last line without its end: keep what there is
        contents.lines.push_back(std::move(line));
    return contents;
}

Status mark_recipients_done(int fd, std::span<const int64_t> offsets, std::string_view name) {
    // Check every byte first, so that a bad offset changes nothing.
    for (int64_t offset : offsets) {
        char type = 0;
        ssize_t n = ::pread(fd, &type, 1, static_cast<off_t>(offset));
        if (n < 0)
            return system_error("read " + std::string(name), errno);
        if (n != 1 || (type != rec_type::recipient && type != rec_type::done))
            return Error(
                ErrorKind::corrupt,
                std::string(name) + ": no recipient record at offset " + std::to_string(offset));
    }
    const char done = rec_type::done;
    for (int64_t offset : offsets)
        if (::pwrite(fd, &done, 1, static_cast<off_t>(offset)) != 1)
            return system_error("update " + std::string(name), errno);
    if (::fdatasync(fd) != 0)
        return system_error("fdatasync " + std::string(name), errno);
    return {};
}

namespace {

// Creates the missing directories of `relative` ("deferred/2/D/") below queue_directory.
Status make_queue_subdirectories(const std::string& queue_directory, std::string_view relative) {
    std::string path = queue_directory;
    size_t start = 0;
    while (start < relative.size()) {
        size_t slash = relative.find('/', start);
        if (slash == std::string_view::npos)
            slash = relative.size();
        path.push_back('/');
        path.append(relative.substr(start, slash - start));
        if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST)
            return system_error("mkdir " + path, errno);
        start = slash + 1;
    }
    return {};
}

}  // namespace

Status make_queue_file_directory(const std::string& queue_directory, const QueueHashing& hashing,
                                 std::string_view queue_name, std::string_view id) {
    return make_queue_subdirectories(queue_directory, queue_directory_for(hashing, queue_name, id));
}

Status quarantine_corrupt_queue_file(const std::string& queue_directory,
                                     const QueueHashing& hashing, std::string_view queue_name,
                                     std::string_view id, const Error& why) {
    if (!queue_name_ok(queue_name) || !queue_id_ok(id))
        return Error(ErrorKind::permanent, "bad queue name or queue id: " +
                                               std::string(queue_name) + "/" + std::string(id));
    std::string from = queue_file_path(queue_directory, hashing, queue_name, id);
    std::string to = queue_file_path(queue_directory, hashing, "corrupt", id);
    if (::rename(from.c_str(), to.c_str()) != 0) {
        if (errno != ENOENT)
            return system_error("rename " + from + " to " + to, errno);
        if (::access(from.c_str(), F_OK) != 0)
            return {};  // already gone: someone else dealt with it
        if (Status made = make_queue_file_directory(queue_directory, hashing, "corrupt", id); !made)
            return made;
        if (::rename(from.c_str(), to.c_str()) != 0)
            return system_error("rename " + from + " to " + to, errno);
    }
    log_warning("%s", why.message().c_str());
    log_warning("saving corrupt file \"%.*s\" from queue \"%.*s\" to queue \"corrupt\"",
                static_cast<int>(id.size()), id.data(), static_cast<int>(queue_name.size()),
                queue_name.data());
    return fsync_directory(directory_of(to));
}

}  // namespace postern
