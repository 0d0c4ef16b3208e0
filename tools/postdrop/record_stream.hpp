// Queue-file records read from a pipe: postdrop's stdin, where sendmail (Postern's or
// Postfix's) writes the message as records (lib/queue/maildrop.hpp).
//
// Untrusted input: any local user can run postdrop and write anything to it. Every length
// is checked against the record limit (line_length_limit) before a byte of data is kept, so
// a hostile length costs an error message, not memory. Errors are worded as Postfix's
// rec_get() words them, naming the stream ("stdin: illegal length 3000, record type 83").
// The lib/queue RecordReader reads files with pread(); a pipe needs this sequential reader.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "util/result.hpp"

namespace postern::postdrop {

struct StreamRecord {
    char type = 0;
    std::string_view data;  // valid until the next call
};

class RecordStreamReader {
  public:
    // Reads `fd` (not owned); `name` opens error messages; records longer than
    // `max_length` are refused.
    RecordStreamReader(int fd, std::string name, size_t max_length)
        : fd_(fd), name_(std::move(name)), max_length_(max_length) {}

    // The next record; nullopt at end of input on a record boundary (the submission was
    // cancelled). A record cut short or too long is an ErrorKind::corrupt error.
    Result<std::optional<StreamRecord>> next();

  private:
    // Makes at least `count` bytes available at buffer_[position_]; false at end of input.
    Result<bool> fill(size_t count);
    Error malformed(const std::string& what) const;

    int fd_;
    std::string name_;
    size_t max_length_;
    std::string buffer_;
    size_t position_ = 0;
};

}  // namespace postern::postdrop
