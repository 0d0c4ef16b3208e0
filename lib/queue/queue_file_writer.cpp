// Writing queue files and the durable commit: see queue_file.hpp.
//
// Performance: cleanup streams every line of every message through here, so records are
// appended to one user-space buffer and reach the file in writes of buffer_size bytes; the
// only other system calls per message are the create/fstat/rename at the start, one pwrite
// of the size record, and the commit's fchmod, fsync and directory fsync.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>

#include "queue/queue_file.hpp"
#include "util/log.hpp"

namespace postern {
namespace {

// Offset of the size record's data: its type byte and its one-byte length come first.
constexpr int64_t kSizeRecordDataOffset = 2;
// How often a create or rename that collides is tried again with a fresh time stamp.
constexpr int kMaxAttempts = 1000;

std::string format_size_record(const QueueSizeRecord& size) {
    char text[128];
    int n = std::snprintf(
        text, sizeof text, "%15lld %15lld %15lld %15lld %15lld %15lld",
        static_cast<long long>(size.content_size), static_cast<long long>(size.content_offset),
        static_cast<long long>(size.recipient_count), static_cast<long long>(size.qmgr_flags),
        static_cast<long long>(size.content_length), static_cast<long long>(size.smtputf8));
    return std::string(text, static_cast<size_t>(n));
}

// rename() that fails with EEXIST instead of replacing an existing queue file.
int rename_no_replace(const std::string& from, const std::string& to) {
#ifdef RENAME_NOREPLACE
    if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0)
        return 0;
    if (errno != EINVAL && errno != ENOSYS)
        return -1;
#endif
    // A file system without RENAME_NOREPLACE: link() refuses to replace too.
    if (::link(from.c_str(), to.c_str()) != 0)
        return -1;
    ::unlink(from.c_str());
    return 0;
}

std::string base_name(const std::string& path) {
    size_t slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

// Creates `directory`/usec.pid exclusively, as Postfix's mail_queue_enter; the name holds
// a '.', so no program takes it for a queue file.
Result<std::pair<Fd, std::string>> create_temporary(const std::string& directory,
                                                    const std::function<QueueTime()>& clock,
                                                    std::string_view prefix,
                                                    mode_t mode = kQueueFileModeWriting) {
    for (int attempt = 0;; ++attempt) {
        std::string path = directory + "/" + std::string(prefix) +
                           std::to_string(clock().microseconds) + "." + std::to_string(::getpid());
        Fd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode));
        if (fd.valid())
            return std::make_pair(std::move(fd), std::move(path));
        if (errno != EEXIST || attempt >= kMaxAttempts)
            return system_error("create file " + path, errno);
    }
}

}  // namespace

QueueTime queue_time_now() {
    struct timeval now {};
    ::gettimeofday(&now, nullptr);
    return QueueTime{static_cast<int64_t>(now.tv_sec), static_cast<int32_t>(now.tv_usec)};
}

QueueFileWriter::QueueFileWriter(Fd fd, std::string temporary_path, std::string path,
                                 std::string queue_id, QueueTime id_time,
                                 const QueueFileOptions& options)
    : fd_(std::move(fd)),
      temporary_path_(std::move(temporary_path)),
      path_(std::move(path)),
      queue_id_(std::move(queue_id)),
      id_time_(id_time),
      line_length_limit_(options.line_length_limit > 0 ? options.line_length_limit : 2048),
      buffer_size_(options.buffer_size > 0 ? options.buffer_size : 64 * 1024) {
    buffer_.reserve(buffer_size_ + 2 * line_length_limit_);
    // A placeholder, patched in place by finish(); fixed width, so the patch fits.
    put(rec_type::size, format_size_record(size_));
}

Result<QueueFileWriter> QueueFileWriter::create(const std::string& queue_directory,
                                                std::string_view queue_name,
                                                const QueueFileOptions& options) {
    auto created = create_queue_file(queue_directory, queue_name, options);
    if (!created)
        return created.error();
    return QueueFileWriter(std::move(created->fd), "", std::move(created->path),
                           std::move(created->queue_id), created->id_time, options);
}

Result<NewQueueFile> create_queue_file(const std::string& queue_directory,
                                       std::string_view queue_name, const QueueFileOptions& options,
                                       mode_t mode) {
    if (!queue_name_ok(queue_name))
        return Error(ErrorKind::config, "bad queue name: " + std::string(queue_name));
    auto clock = options.clock ? options.clock : std::function<QueueTime()>(queue_time_now);
    auto created =
        create_temporary(queue_directory + "/" + std::string(queue_name), clock, "", mode);
    if (!created)
        return created.error();
    auto& [fd, temporary] = *created;
    struct stat info {};
    if (::fstat(fd.get(), &info) != 0) {
        Error error = system_error("fstat " + temporary, errno);
        ::unlink(temporary.c_str());
        return error;
    }
    // The inode makes the name unique among the files that exist; the time keeps it from
    // coming back later. Should the name exist anyway, take a new time and try again.
    for (int attempt = 0;; ++attempt) {
        QueueTime now = clock();
        std::string id = make_queue_id(options.id_form, now, static_cast<uint64_t>(info.st_ino));
        std::string path = queue_file_path(queue_directory, options.hashing, queue_name, id);
        if (rename_no_replace(temporary, path) == 0)
            return NewQueueFile{std::move(fd), std::move(path), std::move(id), now};
        int saved = errno;
        // A hashed queue's subdirectory for this ID may not exist yet: make it, try again
        // with the same name (a new time stamp could hash to another missing directory).
        if (saved == ENOENT &&
            make_queue_file_directory(queue_directory, options.hashing, queue_name, id)) {
            if (rename_no_replace(temporary, path) == 0)
                return NewQueueFile{std::move(fd), std::move(path), std::move(id), now};
            saved = errno;
        }
        if (saved == EEXIST && attempt < kMaxAttempts)
            continue;
        ::unlink(temporary.c_str());
        return system_error("rename " + temporary + " to " + path, saved);
    }
}

Result<QueueFileWriter> QueueFileWriter::create_replacement(const std::string& path,
                                                            const QueueFileOptions& options) {
    std::string id = base_name(path);
    if (!queue_id_ok(id))
        return Error(ErrorKind::config, "bad queue id: " + id);
    auto clock = options.clock ? options.clock : std::function<QueueTime()>(queue_time_now);
    auto created = create_temporary(directory_of(path), clock, id + ".");
    if (!created)
        return created.error();
    auto& [fd, temporary] = *created;
    return QueueFileWriter(std::move(fd), std::move(temporary), path, std::move(id), clock(),
                           options);
}

QueueFileWriter::QueueFileWriter(QueueFileWriter&& other) noexcept = default;

QueueFileWriter& QueueFileWriter::operator=(QueueFileWriter&& other) noexcept {
    if (this != &other) {
        abandon();
        fd_ = std::move(other.fd_);
        temporary_path_ = std::move(other.temporary_path_);
        path_ = std::move(other.path_);
        queue_id_ = std::move(other.queue_id_);
        id_time_ = other.id_time_;
        line_length_limit_ = other.line_length_limit_;
        buffer_size_ = other.buffer_size_;
        buffer_ = std::move(other.buffer_);
        written_ = other.written_;
        status_ = std::move(other.status_);
        phase_ = other.phase_;
        size_ = other.size_;
        notify_union_ = other.notify_union_;
        in_recipients_ = other.in_recipients_;
        mixed_recipients_ = other.mixed_recipients_;
        content_start_ = other.content_start_;
        extracted_start_ = other.extracted_start_;
    }
    return *this;
}

QueueFileWriter::~QueueFileWriter() {
    abandon();
}

void QueueFileWriter::abandon() {
    if (!fd_.valid() || phase_ == Phase::flushed)
        return;
    const std::string& current = temporary_path_.empty() ? path_ : temporary_path_;
    ::unlink(current.c_str());
    fd_.reset();
    phase_ = Phase::abandoned;
}

void QueueFileWriter::require_phase(bool allowed, const char* what) const {
    if (!allowed)
        log_panic("queue file %s: %s out of order", queue_id_.c_str(), what);
}

void QueueFileWriter::put(char type, std::string_view data) {
    if (!status_.ok())
        return;
    append_record(buffer_, type, data);
    if (buffer_.size() >= buffer_size_)
        status_ = flush_buffer();
}

Status QueueFileWriter::flush_buffer() {
    if (buffer_.empty())
        return {};
    Status written = write_all(fd_.get(), buffer_);
    if (!written)
        return Error(written.error().kind(), path_ + ": " + written.error().message());
    written_ += static_cast<int64_t>(buffer_.size());
    buffer_.clear();
    return {};
}

// A record of the envelope or the extracted segment that is not part of a recipient:
// after a recipient, qmgr must then read every record (Postfix's "mixed" hint).
void QueueFileWriter::note_envelope_record() {
    if (in_recipients_)
        mixed_recipients_ = true;
}

void QueueFileWriter::arrival_time(QueueTime when) {
    require_phase(phase_ == Phase::envelope, "arrival time");
    note_envelope_record();
    char text[48];
    int n = std::snprintf(text, sizeof text, "%lld %lld", static_cast<long long>(when.seconds),
                          static_cast<long long>(when.microseconds));
    put(rec_type::time, std::string_view(text, static_cast<size_t>(n)));
}

void QueueFileWriter::attribute(std::string_view name, std::string_view value) {
    require_phase(phase_ == Phase::envelope || phase_ == Phase::extracted, "attribute");
    note_envelope_record();
    std::string text;
    text.reserve(name.size() + 1 + value.size());
    text.append(name).append("=").append(value);
    put(rec_type::attribute, text);
}

void QueueFileWriter::full_name(std::string_view name) {
    require_phase(phase_ == Phase::envelope, "full name");
    note_envelope_record();
    put(rec_type::full_name, name);
}

void QueueFileWriter::sender(std::string_view address) {
    require_phase(phase_ == Phase::envelope, "sender");
    note_envelope_record();
    put(rec_type::sender, address);
}

void QueueFileWriter::warning_time(int64_t when) {
    require_phase(phase_ == Phase::envelope, "warning time");
    note_envelope_record();
    char text[32];
    int n = std::snprintf(text, sizeof text, "%15lld", static_cast<long long>(when));
    put(rec_type::warning, std::string_view(text, static_cast<size_t>(n)));
}

void QueueFileWriter::dsn_envelope(std::string_view envelope_id, int ret) {
    if (!envelope_id.empty())
        attribute(queue_attr::envelope_id, envelope_id);
    if (ret != 0)
        attribute(queue_attr::ret_flags, std::to_string(ret));
}

void QueueFileWriter::other_record(char type, std::string_view data) {
    require_phase(phase_ == Phase::envelope || phase_ == Phase::extracted, "envelope record");
    note_envelope_record();
    put(type, data);
}

int64_t QueueFileWriter::recipient(const QueueRecipient& recipient) {
    require_phase(phase_ == Phase::envelope || phase_ == Phase::extracted, "recipient");
    std::string text;
    if (recipient.dsn_notify != 0) {
        text.append(queue_attr::notify_flags)
            .append("=")
            .append(std::to_string(recipient.dsn_notify));
        put(rec_type::attribute, text);
    }
    if (!recipient.dsn_orcpt.empty()) {
        text.assign(queue_attr::dsn_orig_rcpt).append("=").append(recipient.dsn_orcpt);
        put(rec_type::attribute, text);
    }
    if (!recipient.original.empty())
        put(rec_type::original, recipient.original);
    int64_t at = offset();
    char type = recipient.status == RecipientStatus::done       ? rec_type::done
                : recipient.status == RecipientStatus::canceled ? rec_type::canceled
                                                                : rec_type::recipient;
    put(type, recipient.address);
    if (recipient.status != RecipientStatus::canceled)
        ++size_.recipient_count;
    notify_union_ |= recipient.dsn_notify;
    in_recipients_ = true;
    return at;
}

void QueueFileWriter::begin_content() {
    require_phase(phase_ == Phase::envelope, "start of content");
    put(rec_type::message, "");
    content_start_ = offset();
    in_recipients_ = false;
    phase_ = Phase::content;
}

void QueueFileWriter::content_line(std::string_view line) {
    if (phase_ == Phase::envelope)
        begin_content();
    require_phase(phase_ == Phase::content, "content line");
    while (line.size() > line_length_limit_) {
        put(rec_type::continued, line.substr(0, line_length_limit_));
        line.remove_prefix(line_length_limit_);
    }
    put(rec_type::normal, line);
}

void QueueFileWriter::content_continued(std::string_view piece) {
    if (phase_ == Phase::envelope)
        begin_content();
    require_phase(phase_ == Phase::content, "content line");
    while (!piece.empty()) {
        size_t part = std::min(piece.size(), line_length_limit_);
        put(rec_type::continued, piece.substr(0, part));
        piece.remove_prefix(part);
    }
}

void QueueFileWriter::begin_extracted() {
    if (phase_ == Phase::envelope)
        begin_content();
    require_phase(phase_ == Phase::content, "start of extracted segment");
    extracted_start_ = offset();
    put(rec_type::extracted, "");
    in_recipients_ = false;
    phase_ = Phase::extracted;
}

Status QueueFileWriter::write_size_record() {
    size_.content_offset = content_start_;
    size_.content_size = extracted_start_ - content_start_;
    size_.content_length = size_.content_size;
    size_.qmgr_flags = (int64_t{notify_union_} << 1) | (mixed_recipients_ ? 1 : 0);
    std::string text = format_size_record(size_);
    if (::pwrite(fd_.get(), text.data(), text.size(), kSizeRecordDataOffset) !=
        static_cast<ssize_t>(text.size()))
        return system_error("update size record of " + path_, errno);
    return {};
}

Status QueueFileWriter::finish() {
    if (phase_ == Phase::finished || phase_ == Phase::flushed)
        return status_;
    require_phase(phase_ != Phase::abandoned, "finish");
    if (phase_ == Phase::envelope || phase_ == Phase::content)
        begin_extracted();
    put(rec_type::end, "");
    if (status_.ok())
        status_ = flush_buffer();
    if (status_.ok())
        status_ = write_size_record();
    phase_ = Phase::finished;
    return status_;
}

Status QueueFileWriter::flush_file() {
    if (phase_ == Phase::flushed)
        return {};
    if (Status finished = finish(); !finished)
        return finished;
    const std::string& current = temporary_path_.empty() ? path_ : temporary_path_;
    if (::fchmod(fd_.get(), kQueueFileModeReady) != 0)
        return system_error("fchmod " + current, errno);
    if (::fsync(fd_.get()) != 0)
        return system_error("fsync " + current, errno);
    if (!temporary_path_.empty()) {
        if (::rename(temporary_path_.c_str(), path_.c_str()) != 0)
            return system_error("rename " + temporary_path_ + " to " + path_, errno);
        temporary_path_.clear();
    }
    phase_ = Phase::flushed;
    fd_.reset();
    return {};
}

std::string QueueFileWriter::directory() const {
    return directory_of(path_);
}

Status QueueFileWriter::flush_directory() {
    return fsync_directory(directory());
}

Status QueueFileWriter::commit() {
    Status status = flush_file();
    if (status)
        status = flush_directory();
    if (!status) {
        // Not acknowledged, so it must not be delivered either.
        if (phase_ == Phase::flushed)
            ::unlink(path_.c_str());
        abandon();
    }
    return status;
}

Status sync_directories(std::vector<std::string> directories) {
    std::sort(directories.begin(), directories.end());
    directories.erase(std::unique(directories.begin(), directories.end()), directories.end());
    for (const std::string& directory : directories)
        if (Status synced = fsync_directory(directory); !synced)
            return synced;
    return {};
}

}  // namespace postern
