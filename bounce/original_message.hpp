// The message a notice is about, read from its queue file as far as it can be read.
//
// Where it sits: bounce/, between lib/queue's record format and the notice composer. A
// notice must go out even when the queue file is damaged or gone (Postfix's "best effort":
// the sender is better told something than nothing), so this reader is more forgiving than
// QueueFileReader, which refuses a file that does not check out as a whole: it takes what
// the envelope gives until the first damaged record (the arrival time, the sender, where
// the content starts and how long it is), and the content lines until the first record
// that is not content. The file is untrusted: every length is checked by RecordReader,
// pointer records ('p', from Postfix's in-place edits) are followed within a bound, and
// nothing read here is interpreted beyond the record types.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "queue/queue_file.hpp"
#include "util/file.hpp"
#include "util/result.hpp"

namespace postern {

struct OriginalEnvelope {
    bool found = false;                 // the queue file could be opened
    std::optional<std::string> sender;  // the S record (empty: the null sender); none read
    int64_t arrival_time = 0;           // seconds; 0: unknown
    int64_t content_size = 0;           // from the size record; 0: unknown
    int64_t content_offset = 0;         // of the first content record; 0: unreachable
    std::string message_id;             // "<id@host>" of the Message-ID header, when asked for
};

// A content piece as QueueFileReader gives it: a whole line, or part of a long line.
using ContentVisitor = std::function<bool(const ContentPiece& piece)>;

class OriginalMessage {
  public:
    // Opens `path` (relative to queue_directory, the working directory), read-write when
    // it can so that recipients can be marked done. A missing file gives a message that
    // was not found; a damaged one whatever could be read. Problems other than a missing
    // file are returned as warnings, in Postfix's terms where it has them.
    static OriginalMessage open(const std::string& path, bool want_message_id,
                                std::string& warning);

    const OriginalEnvelope& envelope() const { return envelope_; }
    // The descriptor, read-write, for mark_recipients_done; -1 when the file was not
    // found or could be opened for reading only.
    int writable_fd() const { return writable_ ? fd_.get() : -1; }
    const std::string& path() const { return path_; }

    // Passes each content piece, from the first, to `visit` until it returns false or the
    // content ends. An error means the content stopped early (damaged): the pieces passed
    // on so far stand.
    Status read_content(const ContentVisitor& visit) const;

  private:
    OriginalMessage() = default;
    Status read_envelope();
    void find_message_id();

    Fd fd_;
    bool writable_ = false;
    std::string path_;
    OriginalEnvelope envelope_;
};

}  // namespace postern
