// Reading the message from stdin; see message_input.hpp.
#include "tools/sendmail/message_input.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "util/file.hpp"

namespace postern::sendmail {
namespace {

constexpr size_t kReadChunk = 64 * 1024;

}  // namespace

std::optional<LineEndings> parse_line_endings(std::string_view value) {
    if (value == "always")
        return LineEndings::always;
    if (value == "strict")
        return LineEndings::strict;
    if (value == "never")
        return LineEndings::never;
    return std::nullopt;
}

MessageInput::MessageInput(int fd, size_t line_length_limit, bool dot_ends_input,
                           LineEndings endings)
    : fd_(fd),
      limit_(std::max<size_t>(line_length_limit, 1)),
      dot_ends_input_(dot_ends_input),
      cr_(endings == LineEndings::always  ? CrState::strip
          : endings == LineEndings::never ? CrState::keep
                                          : CrState::unknown) {}

Result<bool> MessageInput::read_more() {
    if (position_ > 0) {
        buffer_.erase(0, position_);
        position_ = 0;
    }
    for (;;) {
        size_t have = buffer_.size();
        buffer_.resize(have + kReadChunk);
        ssize_t got = ::read(fd_, buffer_.data() + have, kReadChunk);
        buffer_.resize(have + static_cast<size_t>(got > 0 ? got : 0));
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return system_error("read standard input", errno);
        return got > 0;
    }
}

Result<std::optional<ContentRecord>> MessageInput::next_piece() {
    for (;;) {
        std::string_view pending = std::string_view(buffer_).substr(position_);
        std::string_view window = pending.substr(0, limit_);
        if (size_t newline = window.find('\n'); newline != std::string_view::npos) {
            piece_.assign(window.substr(0, newline));
            position_ += newline + 1;
            return std::optional<ContentRecord>(ContentRecord{'N', piece_});
        }
        if (window.size() == limit_) {
            piece_.assign(window);
            position_ += limit_;
            return std::optional<ContentRecord>(ContentRecord{'L', piece_});
        }
        if (!at_end_) {
            auto more = read_more();
            if (!more)
                return more.error();
            at_end_ = !*more;
            continue;
        }
        if (pending.empty())
            return std::optional<ContentRecord>();
        piece_.assign(pending);  // text after the last newline
        position_ = buffer_.size();
        return std::optional<ContentRecord>(ContentRecord{'L', piece_});
    }
}

Result<std::optional<ContentRecord>> MessageInput::next() {
    for (;;) {
        auto piece = next_piece();
        if (!piece || !piece->has_value())
            return piece;
        ContentRecord record = **piece;
        if (cr_ == CrState::unknown && record.type == 'N')
            cr_ =
                !record.data.empty() && record.data.back() == '\r' ? CrState::strip : CrState::keep;
        // A mailbox's "From " separator on the first line is not part of the message.
        if (first_line_) {
            first_line_ = false;
            if (record.type == 'N' && record.data.starts_with("From ")) {
                previous_type_ = record.type;
                continue;
            }
        }
        if (cr_ == CrState::strip && record.type == 'N')
            while (!record.data.empty() && record.data.back() == '\r')
                record.data.remove_suffix(1);
        const bool continues_long_line = previous_type_ == 'L';
        previous_type_ = record.type;
        if (dot_ends_input_ && !continues_long_line && record.type == 'N' && record.data == ".")
            return std::optional<ContentRecord>();
        return std::optional<ContentRecord>(record);
    }
}

}  // namespace postern::sendmail
