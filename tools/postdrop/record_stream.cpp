// Records from a pipe; see record_stream.hpp.
#include "tools/postdrop/record_stream.hpp"

#include <unistd.h>

#include <cerrno>

#include "util/file.hpp"

namespace postern::postdrop {
namespace {

constexpr size_t kReadChunk = 64 * 1024;
// Postfix stops at 32 bits of length: at most five length bytes.
constexpr unsigned kMaxLengthBits = 32;

std::string type_text(char type) {
    return std::to_string(static_cast<unsigned char>(type));
}

}  // namespace

Error RecordStreamReader::malformed(const std::string& what) const {
    return Error(ErrorKind::corrupt, name_ + ": " + what);
}

Result<bool> RecordStreamReader::fill(size_t count) {
    if (position_ > 0 && position_ >= buffer_.size() / 2) {
        buffer_.erase(0, position_);
        position_ = 0;
    }
    while (buffer_.size() - position_ < count) {
        size_t have = buffer_.size();
        buffer_.resize(have + kReadChunk);
        ssize_t got = ::read(fd_, buffer_.data() + have, kReadChunk);
        buffer_.resize(have + static_cast<size_t>(got > 0 ? got : 0));
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return system_error("read " + name_, errno);
        if (got == 0)
            return false;
    }
    return true;
}

Result<std::optional<StreamRecord>> RecordStreamReader::next() {
    auto have_type = fill(1);
    if (!have_type)
        return have_type.error();
    if (!*have_type)
        return std::optional<StreamRecord>();
    const char type = buffer_[position_];
    size_t used = 1;
    uint64_t length = 0;
    for (unsigned shift = 0;; shift += 7) {
        if (shift >= kMaxLengthBits)
            return malformed("too many length bits, record type " + type_text(type));
        auto have_byte = fill(used + 1);
        if (!have_byte)
            return have_byte.error();
        if (!*have_byte)
            return malformed("unexpected EOF reading length, record type " + type_text(type));
        auto byte = static_cast<unsigned char>(buffer_[position_ + used++]);
        length |= static_cast<uint64_t>(byte & 0x7f) << shift;
        if ((byte & 0x80) == 0)
            break;
    }
    if (length > max_length_)
        return malformed("illegal length " + std::to_string(length) + ", record type " +
                         type_text(type));
    auto have_data = fill(used + length);
    if (!have_data)
        return have_data.error();
    if (!*have_data)
        return malformed("unexpected EOF in data, record type " + type_text(type) + " length " +
                         std::to_string(length));
    StreamRecord record{type, std::string_view(buffer_).substr(position_ + used, length)};
    position_ += used + length;
    return std::optional<StreamRecord>(record);
}

}  // namespace postern::postdrop
