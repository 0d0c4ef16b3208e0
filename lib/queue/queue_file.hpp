// The queue file: one message on disk, as a sequence of typed records in Postfix's own
// format, so that Postfix's postcat reads Postern's queue files and Postern reads Postfix's.
//
// Where it sits: lib/queue. cleanup writes a queue file (QueueFileWriter) while smtpd or
// pickup stream the message to it, and commits it durably before anyone is told "queued";
// qmgr reads the envelope (QueueFileReader::read_envelope); the delivery agents read the
// content sequentially (next_content) and, after a successful delivery, mark a recipient
// done in place (mark_recipient_done); postcat and postsuper read whatever they are given.
// Every reader treats the file as untrusted: a truncated, garbled or hostile file is an
// ErrorKind::corrupt error naming the file, never a crash and never an allocation sized by
// an unchecked length. quarantine_corrupt_queue_file() then moves it to corrupt/.
//
// A record is a type byte, the data length as a base-128 number (seven bits a byte, low
// bits first, the high bit set on every byte but the last), then the data. A queue file:
//
//   C  size record, first, fixed width so it can be patched in place: six "%15ld" fields
//      (content size, content offset, recipient count, qmgr flags, content length, smtputf8)
//   T  arrival time "seconds microseconds"
//   A  name=value attributes (create_time, rewrite_context, log_ident, envelope_id,
//      ret_flags, log_client_*...); F sender full name; S sender (empty: the null sender)
//   per recipient: [A notify_flags=N] [A dsn_orig_rcpt=TYPE;ADDR] [O original] R address
//      ('R' becomes 'D' in place once the recipient is done)
//   M  start of content; then each line as N, a long line as L... N pieces
//   X  start of extracted information (A encoding=8bit, recipients from headers...)
//   E  end
//
// Postfix's editing records are read too: 'p' pointer records (followed, with a bound on
// jumps) and 'w' padding (skipped); Postern's writer never produces them.
//
// Durability (DESIGN.md "The queue"): a file is complete and visible to qmgr when its mode
// has the owner-execute bit (0700); while it is written it is 0600. commit() finishes the
// file, sets 0700, fsyncs the file, renames it into place when it was written under a
// temporary name, and fsyncs the directory; only then may the sender be told "250".
// The steps are also separate (flush_file, flush_directory) so that a group commit can
// flush several files and then each directory once.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "queue/queue_id.hpp"
#include "util/file.hpp"
#include "util/result.hpp"

namespace postern {

// Record types, with Postfix's letters (rec_type.h). 'L' is both the loop-filter record of
// the envelope and the continued-line record of the content, as in Postfix.
namespace rec_type {
inline constexpr char size = 'C';
inline constexpr char time = 'T';
inline constexpr char create_time = 'c';
inline constexpr char full_name = 'F';
inline constexpr char inspector = 'I';
inline constexpr char filter = 'L';
inline constexpr char sender = 'S';
inline constexpr char done = 'D';
inline constexpr char recipient = 'R';
inline constexpr char original = 'O';
inline constexpr char canceled = '/';
inline constexpr char warning = 'W';
inline constexpr char attribute = 'A';
inline constexpr char killed = 'K';
inline constexpr char redirect = '>';
inline constexpr char flags = 'f';
inline constexpr char delay = 'd';
inline constexpr char message = 'M';
inline constexpr char continued = 'L';
inline constexpr char normal = 'N';
inline constexpr char padding = 'w';
inline constexpr char extracted = 'X';
inline constexpr char return_receipt = 'r';
inline constexpr char errors_to = 'e';
inline constexpr char priority = 'P';
inline constexpr char pointer = 'p';
inline constexpr char verp = 'V';
inline constexpr char dsn_ret = '<';
inline constexpr char dsn_envid = 'i';
inline constexpr char dsn_orcpt = 'o';
inline constexpr char dsn_notify = 'n';
inline constexpr char milter_count = 'm';
inline constexpr char end = 'E';
}  // namespace rec_type

// Attribute names of 'A' records that Postern reads or writes itself (Postfix's names).
namespace queue_attr {
inline constexpr std::string_view create_time = "create_time";
inline constexpr std::string_view rewrite_context = "rewrite_context";
inline constexpr std::string_view log_ident = "log_ident";
inline constexpr std::string_view envelope_id = "envelope_id";
inline constexpr std::string_view ret_flags = "ret_flags";
inline constexpr std::string_view notify_flags = "notify_flags";
inline constexpr std::string_view dsn_orig_rcpt = "dsn_orig_rcpt";
inline constexpr std::string_view encoding = "encoding";
}  // namespace queue_attr

// DSN values as Postfix stores them (dsn_mask.h).
namespace dsn {
inline constexpr int notify_never = 1;
inline constexpr int notify_success = 2;
inline constexpr int notify_failure = 4;
inline constexpr int notify_delay = 8;
inline constexpr int ret_full = 1;
inline constexpr int ret_hdrs = 2;
}  // namespace dsn

// Bit 0 of the qmgr flags in the size record: recipients are mixed with other records, so
// qmgr must read the whole envelope. The DSN notify bits of all recipients follow, << 1.
inline constexpr int kQmgrFlagMixedRecipients = 1;

inline constexpr mode_t kQueueFileModeWriting = 0600;
inline constexpr mode_t kQueueFileModeReady = 0700;
// Group-execute on a ready file: postsuper -e/-f asked that the message be returned to its
// sender at the queue manager's next look at it (Postfix's MAIL_QUEUE_STAT_EXPIRE). Renames
// between queues keep it; pickup's new copy of a requeued message does not.
inline constexpr mode_t kQueueFileModeExpire = 0010;

// Longest record a reader accepts. Postfix writes content in pieces of line_length_limit
// (2048) and envelope records far shorter; Postfix's own reader only bounds the length to
// 32 bits. One MiB is generous for any real record and bounds memory per reader.
inline constexpr size_t kDefaultMaxRecordLength = 1 << 20;

struct Record {
    char type = 0;
    int64_t offset = 0;     // of the type byte
    std::string_view data;  // valid until the reader moves on
};

// Appends one record's bytes (type, length, data) to `out`.
void append_record(std::string& out, char type, std::string_view data);

// ---- Reading ----

// Raw records, in file order, from a file or from memory. Every failure is an
// ErrorKind::corrupt error whose message starts with the file's name, worded as Postfix
// words it ("unexpected EOF in data, record type 78 length 2048"); I/O errors are
// ErrorKind::io.
class RecordReader {
  public:
    // Reads through `fd` (not owned) with large preads; the size comes from fstat.
    static Result<RecordReader> open(int fd, std::string name,
                                     size_t max_record_length = kDefaultMaxRecordLength);
    // Reads `bytes`, which must outlive the reader; no copies.
    static RecordReader from_memory(std::string_view bytes, std::string name,
                                    size_t max_record_length = kDefaultMaxRecordLength);

    // The next record, or nullopt at the end of the file.
    Result<std::optional<Record>> next();
    // Continues at `offset`, which must lie within the file.
    Status seek(int64_t offset);
    int64_t offset() const { return position_; }
    int64_t size() const { return size_; }
    const std::string& name() const { return name_; }
    Error corrupt(const std::string& what) const;

  private:
    RecordReader(int fd, std::string name, int64_t size, size_t max_record_length);
    // Makes bytes [offset, offset + count) of the file available through at().
    Status fill(int64_t offset, size_t count);
    const char* at(int64_t offset) const {
        return fd_ < 0 ? memory_.data() + offset : buffer_.data() + (offset - buffer_start_);
    }

    int fd_ = -1;  // -1: the bytes are memory_
    std::string name_;
    int64_t size_ = 0;
    size_t max_record_length_ = kDefaultMaxRecordLength;
    int64_t position_ = 0;
    std::string_view memory_;
    std::string buffer_;        // file mode: the bytes read last
    int64_t buffer_start_ = 0;  // their file offset
};

enum class RecipientStatus { pending, done, canceled };

struct QueueRecipient {
    std::string address;    // the envelope recipient (R, D or / record)
    std::string original;   // O: the address before rewriting; empty when none
    std::string dsn_orcpt;  // "rfc822;addr" (A dsn_orig_rcpt); empty when none
    int dsn_notify = 0;     // dsn::notify_* bits (A notify_flags); 0 when none given
    RecipientStatus status = RecipientStatus::pending;
    int64_t offset = -1;     // of the R/D record, for mark_recipient_done (reader only)
    bool extracted = false;  // came from the extracted segment (reader only)
};

// The six fields of the size record.
struct QueueSizeRecord {
    int64_t content_size = 0;    // bytes from the content offset to the X record
    int64_t content_offset = 0;  // of the first record after M
    int64_t recipient_count = 0;
    int64_t qmgr_flags = 0;
    int64_t content_length = 0;
    int64_t smtputf8 = 0;
};

struct QueueEnvelope {
    QueueSizeRecord size;
    QueueTime arrival;
    std::optional<int64_t> create_time;  // A create_time
    std::string full_name;               // F; empty when none
    std::string sender;                  // S; empty is the null sender <>
    std::string envelope_id;             // A envelope_id (DSN ENVID)
    int dsn_ret = 0;                     // A ret_flags: dsn::ret_full or dsn::ret_hdrs
    std::optional<int64_t> warning_time;
    int64_t warning_offset = -1;  // of the W record, to update it in place
    // Every other A record of the envelope and the extracted segment, in file order.
    std::vector<std::pair<std::string, std::string>> attributes;
    std::vector<QueueRecipient> recipients;  // envelope first, then extracted ones
};

// A piece of a content line, valid until the next call: the whole line when end_of_line
// and nothing came before, else a part of one that goes on in the next piece.
struct ContentPiece {
    std::string_view data;
    bool end_of_line = true;
};

class QueueFileReader {
  public:
    // Opens a queue file: no symbolic links, a regular file. `writable` for marking
    // recipients done. A missing file is ErrorKind::not_found.
    static Result<QueueFileReader> open(const std::string& path, bool writable = false,
                                        size_t max_record_length = kDefaultMaxRecordLength);
    static QueueFileReader from_memory(std::string_view bytes, std::string name,
                                       size_t max_record_length = kDefaultMaxRecordLength);

    // What qmgr needs: the size record, the envelope, a jump over the content by the size
    // record, the extracted records and the end record, all checked.
    Result<QueueEnvelope> read_envelope();
    // The content, from the content offset, one piece at a time; nullopt after the last.
    // Works without read_envelope (then the size record is read first).
    Result<std::optional<ContentPiece>> next_content();

    int fd() const { return fd_.get(); }
    const std::string& name() const { return records_.name(); }

  private:
    QueueFileReader(Fd fd, RecordReader records)
        : fd_(std::move(fd)), records_(std::move(records)) {}
    // The next record that is not a pointer or padding; follows pointers.
    Result<Record> next_logical();
    Result<QueueSizeRecord> read_size_record();
    Status read_envelope_records(QueueEnvelope& envelope);
    Status read_extracted_records(QueueEnvelope& envelope);

    Fd fd_;
    RecordReader records_;
    std::optional<QueueSizeRecord> size_;
    bool content_started_ = false;
    bool content_done_ = false;
    int pointer_jumps_ = 0;
};

// The whole file at once (postcat, tests): envelope and content lines, each line whole.
struct QueueFileContents {
    QueueEnvelope envelope;
    std::vector<std::string> lines;
};
Result<QueueFileContents> read_queue_file(QueueFileReader& reader);

// Marks the recipients whose R records start at `offsets` done: the type byte becomes 'D'
// in place, then one fdatasync. A byte that is neither 'R' nor 'D' is a corrupt error
// (nothing is written then). `name` names the file in errors.
Status mark_recipients_done(int fd, std::span<const int64_t> offsets, std::string_view name);
inline Status mark_recipient_done(int fd, int64_t offset, std::string_view name) {
    return mark_recipients_done(fd, std::span<const int64_t>(&offset, 1), name);
}

// Creates the missing hashed subdirectories (0700) where queue_file_path() puts `id`.
Status make_queue_file_directory(const std::string& queue_directory, const QueueHashing& hashing,
                                 std::string_view queue_name, std::string_view id);

// Moves QUEUE_DIRECTORY/queue_name/.../id to corrupt/ and logs why, as Postfix's qmgr:
//   warning: <the error's message>
//   warning: saving corrupt file "ID" from queue "active" to queue "corrupt"
// A file already gone is not an error.
Status quarantine_corrupt_queue_file(const std::string& queue_directory,
                                     const QueueHashing& hashing, std::string_view queue_name,
                                     std::string_view id, const Error& why);

// ---- Writing ----

struct QueueFileOptions {
    QueueIdForm id_form = QueueIdForm::short_form;  // enable_long_queue_ids
    QueueHashing hashing;                           // hash_queue_names, hash_queue_depth
    size_t line_length_limit = 2048;                // longer content lines are split
    std::function<QueueTime()> clock;               // gettimeofday when empty
    // Writes reach the file in chunks of about this size.
    size_t buffer_size = 64 * 1024;
};

// The current time as a QueueTime (gettimeofday).
QueueTime queue_time_now();

// A new, empty file in QUEUE_DIRECTORY/queue_name, named by its queue ID as
// QueueFileWriter::create names a queue file (created with `mode` under a temporary name,
// fstat'd, renamed to the ID made from its inode and the time). For files that follow the
// queue's naming but not its record layout: postdrop's maildrop files (no size record,
// mode 0644 while written so that pickup, another user, can read them).
struct NewQueueFile {
    Fd fd;
    std::string path;
    std::string queue_id;
    QueueTime id_time;
};
Result<NewQueueFile> create_queue_file(const std::string& queue_directory,
                                       std::string_view queue_name, const QueueFileOptions& options,
                                       mode_t mode = kQueueFileModeWriting);

class QueueFileWriter {
  public:
    // A new queue file in QUEUE_DIRECTORY/queue_name, Postfix's way: created 0600 under a
    // temporary name, fstat'd, renamed at once to the ID made from its inode and the time
    // (a fresh time stamp and a new try if that name exists), the size record written.
    static Result<QueueFileWriter> create(const std::string& queue_directory,
                                          std::string_view queue_name,
                                          const QueueFileOptions& options);
    // A file that replaces `path` when committed (postsuper -r style rewrites): written
    // under a temporary name beside it and renamed over it by commit(). The queue ID is
    // the last component of `path`.
    static Result<QueueFileWriter> create_replacement(const std::string& path,
                                                      const QueueFileOptions& options);

    QueueFileWriter(QueueFileWriter&&) noexcept;
    QueueFileWriter& operator=(QueueFileWriter&&) noexcept;
    // An uncommitted file is removed: a message that was not acknowledged leaves nothing.
    ~QueueFileWriter();

    const std::string& queue_id() const { return queue_id_; }
    // Where the file is once committed.
    const std::string& path() const { return path_; }
    // The time stamp the queue ID was made from.
    QueueTime id_time() const { return id_time_; }

    // Envelope records, in the order Postfix's cleanup writes them.
    void arrival_time(QueueTime when);
    void attribute(std::string_view name, std::string_view value);
    void full_name(std::string_view name);
    void sender(std::string_view address);
    // [A notify_flags] [A dsn_orig_rcpt] [O] then R (D when status is done). Returns the
    // offset of the R record. Allowed in the envelope and the extracted segment.
    int64_t recipient(const QueueRecipient& recipient);
    // A W record ("%15ld"), updated in place by qmgr later.
    void warning_time(int64_t when);
    // DSN ENVID and RET as Postfix stores them (A envelope_id, A ret_flags).
    void dsn_envelope(std::string_view envelope_id, int ret);
    void smtputf8_flags(int64_t flags) { size_.smtputf8 = flags; }
    // Another record Postfix's cleanup writes as it is, in the envelope (before M) or the
    // extracted segment: L content filter, > redirect, V VERP delimiters.
    void other_record(char type, std::string_view data);

    // Content: M, then lines (the first line writes M when begin_content() was not called).
    // A line longer than line_length_limit is split into L records and a final N.
    // content_continued() writes a piece of a line whose end comes with a later call (a client's
    // line longer than the caller's buffer).
    void begin_content();
    void content_line(std::string_view line);
    void content_continued(std::string_view piece);

    // X: the extracted segment (attribute() and recipient() go here after it).
    void begin_extracted();

    // The sticky error of the buffered writes: the first failure, reported by every later
    // step. Writing goes on being accepted (and ignored) after a failure.
    const Status& status() const { return status_; }
    // Bytes in the file so far, buffered ones included.
    int64_t offset() const { return written_ + static_cast<int64_t>(buffer_.size()); }

    // Writes M and X if missing, the E record, the buffered bytes, and the final size
    // record in place. The file is complete but not yet ready (0600) or durable.
    Status finish();
    // The durable commit, all steps: finish, flush_file, flush_directory. After it
    // succeeds the message may be acknowledged.
    Status commit();
    // finish, mode 0700 ("ready"), fsync of the file, and the rename into place for a file
    // written under a temporary name; then the descriptor is closed. The mode is set
    // before the fsync so one flush makes both the data and the mode durable; a crash
    // before the fsync returns can leave a ready but truncated file, which was never
    // acknowledged and which readers reject. From here on the file is the caller's: the
    // destructor no longer removes it, and a caller whose later directory sync fails
    // removes it itself (unlink path()).
    Status flush_file();
    // fsync of the directory that holds path(): the directory entry is durable. Shared by
    // every file flushed into the same directory since (group commit).
    Status flush_directory();
    // The directory flush_directory() syncs.
    std::string directory() const;
    // Removes the file now (a rejected message); nothing once flush_file() succeeded.
    void abandon();

  private:
    enum class Phase { envelope, content, extracted, finished, flushed, abandoned };

    QueueFileWriter(Fd fd, std::string temporary_path, std::string path, std::string queue_id,
                    QueueTime id_time, const QueueFileOptions& options);
    void put(char type, std::string_view data);
    Status flush_buffer();
    Status write_size_record();
    void require_phase(bool allowed, const char* what) const;
    void note_envelope_record();

    Fd fd_;
    std::string temporary_path_;  // where the file is now, when it differs from path_
    std::string path_;
    std::string queue_id_;
    QueueTime id_time_;
    size_t line_length_limit_;
    size_t buffer_size_;
    std::string buffer_;
    int64_t written_ = 0;
    Status status_;
    Phase phase_ = Phase::envelope;
    QueueSizeRecord size_;
    int notify_union_ = 0;
    bool in_recipients_ = false;
    bool mixed_recipients_ = false;
    int64_t content_start_ = -1;
    int64_t extracted_start_ = -1;
};

// fsync of each distinct directory once (group commit: after several flush_file()s).
Status sync_directories(std::vector<std::string> directories);

}  // namespace postern
