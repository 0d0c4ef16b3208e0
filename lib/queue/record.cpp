// Typed records, the layer under the queue file: see queue_file.hpp.
//
// Untrusted input: the bytes of a queue file. Every length is checked against the record
// limit and the file size before a byte is read or a buffer is sized, so a hostile length
// costs an error message, not memory.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "queue/queue_file.hpp"

namespace postern {
namespace {

// Reads of the file are at least this large: the records of a message come in big reads.
constexpr size_t kReadChunk = 64 * 1024;
// A type byte and at most five length bytes (Postfix stops at 32 bits of length).
constexpr size_t kMaxHeader = 6;
constexpr unsigned kMaxLengthBits = 32;

std::string type_text(char type) {
    return std::to_string(static_cast<unsigned char>(type));
}

}  // namespace

void append_record(std::string& out, char type, std::string_view data) {
    out.push_back(type);
    size_t rest = data.size();
    do {
        unsigned char byte = rest & 0x7f;
        rest >>= 7;
        if (rest != 0)
            byte |= 0x80;
        out.push_back(static_cast<char>(byte));
    } while (rest != 0);
    out.append(data);
}

RecordReader::RecordReader(int fd, std::string name, int64_t size, size_t max_record_length)
    : fd_(fd), name_(std::move(name)), size_(size), max_record_length_(max_record_length) {}

Result<RecordReader> RecordReader::open(int fd, std::string name, size_t max_record_length) {
    struct stat info {};
    if (::fstat(fd, &info) != 0)
        return system_error("fstat " + name, errno);
    if (!S_ISREG(info.st_mode))
        return Error(ErrorKind::corrupt, name + ": not a regular file");
    return RecordReader(fd, std::move(name), info.st_size, max_record_length);
}

RecordReader RecordReader::from_memory(std::string_view bytes, std::string name,
                                       size_t max_record_length) {
    RecordReader reader(-1, std::move(name), static_cast<int64_t>(bytes.size()), max_record_length);
    reader.memory_ = bytes;
    return reader;
}

Error RecordReader::corrupt(const std::string& what) const {
    return Error(ErrorKind::corrupt, name_ + ": " + what);
}

Status RecordReader::seek(int64_t offset) {
    if (offset < 0 || offset > size_)
        return corrupt("seek to offset " + std::to_string(offset) + " beyond the end of the file");
    position_ = offset;
    return {};
}

Status RecordReader::fill(int64_t offset, size_t count) {
    if (fd_ < 0)
        return {};  // memory: everything up to size_ is there, and callers stay within it
    int64_t have = static_cast<int64_t>(buffer_.size());
    if (offset >= buffer_start_ && offset + static_cast<int64_t>(count) <= buffer_start_ + have)
        return {};
    size_t want = std::max(count, kReadChunk);
    want = static_cast<size_t>(std::min<int64_t>(static_cast<int64_t>(want), size_ - offset));
    buffer_.resize(want);
    buffer_start_ = offset;
    size_t done = 0;
    while (done < want) {
        ssize_t n = ::pread(fd_, buffer_.data() + done, want - done,
                            static_cast<off_t>(offset + static_cast<int64_t>(done)));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            buffer_.clear();
            return system_error("read " + name_, errno);
        }
        if (n == 0)
            break;
        done += static_cast<size_t>(n);
    }
    buffer_.resize(done);
    if (done < count)  // the file shrank under us
        return corrupt("unexpected EOF at offset " + std::to_string(offset + done));
    return {};
}

Result<std::optional<Record>> RecordReader::next() {
    if (position_ >= size_)
        return std::optional<Record>();
    const int64_t start = position_;
    const size_t header_room =
        static_cast<size_t>(std::min<int64_t>(static_cast<int64_t>(kMaxHeader), size_ - start));
    if (Status filled = fill(start, header_room); !filled)
        return filled.error();
    const char* bytes = at(start);
    const char type = bytes[0];
    size_t length = 0;
    size_t used = 1;
    for (unsigned shift = 0;; shift += 7) {
        if (shift >= kMaxLengthBits)
            return corrupt("too many length bits, record type " + type_text(type));
        if (used >= header_room)
            return corrupt("unexpected EOF reading length, record type " + type_text(type));
        auto byte = static_cast<unsigned char>(bytes[used++]);
        length |= static_cast<size_t>(byte & 0x7f) << shift;
        if ((byte & 0x80) == 0)
            break;
    }
    if (length > max_record_length_)
        return corrupt("illegal length " + std::to_string(length) + ", record type " +
                       type_text(type));
    if (static_cast<int64_t>(length) > size_ - start - static_cast<int64_t>(used))
        return corrupt("unexpected EOF in data, record type " + type_text(type) + " length " +
                       std::to_string(length));
    if (Status filled = fill(start, used + length); !filled)
        return filled.error();
    Record record;
    record.type = type;
    record.offset = start;
    record.data = std::string_view(at(start) + used, length);
    position_ = start + static_cast<int64_t>(used + length);
    return std::optional<Record>(record);
}

}  // namespace postern
