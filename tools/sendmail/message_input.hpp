// The message on sendmail's standard input, turned into content records the way Postfix's
// sendmail turns it:
//   - lines end in LF; a line of more than line_length_limit bytes becomes L records of
//     exactly that many bytes and a last N record (a line of exactly the limit gives an L
//     and an empty N, as Postfix); text after the last LF is one L record;
//   - sendmail_fix_line_endings: "always" strips every CR before the LF of a line,
//     "strict" only when the first line ended in CRLF, "never" keeps them;
//   - a first line "From ..." (a UNIX mailbox separator) is dropped;
//   - without -i, a line holding only "." ends the message (not the tail of a long line);
//     lines starting with a dot are otherwise kept as they are (no SMTP dot-unstuffing);
//   - every other byte, 8-bit and NUL included, goes through unchanged.
// Untrusted input from the user; memory is bounded by line_length_limit plus one read.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "util/result.hpp"

namespace postern::sendmail {

enum class LineEndings { always, strict, never };

// sendmail_fix_line_endings' value; nullopt for anything else.
std::optional<LineEndings> parse_line_endings(std::string_view value);

struct ContentRecord {
    char type = 'N';        // 'N' a complete line, 'L' a piece that continues
    std::string_view data;  // valid until the next call
};

class MessageInput {
  public:
    MessageInput(int fd, size_t line_length_limit, bool dot_ends_input, LineEndings endings);

    // The next record; nullopt at the end of the message.
    Result<std::optional<ContentRecord>> next();

  private:
    enum class CrState { unknown, strip, keep };

    // One piece of input, as Postfix's rec_streamlf_get() cuts it.
    Result<std::optional<ContentRecord>> next_piece();
    Result<bool> read_more();

    int fd_;
    size_t limit_;
    bool dot_ends_input_;
    CrState cr_;
    bool first_line_ = true;
    char previous_type_ = 0;
    bool at_end_ = false;
    std::string buffer_;
    size_t position_ = 0;
    std::string piece_;
};

}  // namespace postern::sendmail
