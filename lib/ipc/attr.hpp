// Attribute lists: the one message format every Postern daemon speaks to another.
//
// Where it sits: lib/ipc, below every daemon. smtpd and pickup send cleanup its requests
// this way, qmgr asks trivial-rewrite and hands deliveries to smtp/local, bounce gets its
// reports; each request and each reply is one AttrList in one frame (DESIGN.md, habit 9).
// This file is pure: building, encoding and decoding over byte buffers, no I/O. The stream
// layer (deadlines, sockets, client and server helpers) is attr_channel.hpp.
//
// Trust: the peer is another Postern process, but a compromised or buggy daemon must not
// be able to crash or bloat the one reading from it. Every byte read is bounds-checked,
// every length is checked against what is left of the frame and against AttrLimits before
// anything is allocated for it, and every violation is an Error of ErrorKind::protocol.
// Decoded names are restricted to [A-Za-z0-9_.-], so they are safe to log.
//
// Wire format, version 1 (Postern talks only to Postern; this is not Postfix's attr
// protocol). All integers are unsigned big-endian unless said otherwise.
//
//   frame      = version:u8 (1) length:u32 payload     length = payload bytes, not the header
//   payload    = *attribute                            an empty list is a valid message
//   attribute  = type:u8 name_length:u8 name value     names unique within a frame
//   value      = type 1 integer: 8 bytes, int64 two's complement
//              | type 2 string:  length:u32 bytes      any byte, NUL included
//              | type 3 hash:    count:u32 count * (key_length:u32 key value_length:u32 value)
//                                keys are any bytes and unique within the hash
//              | type 4 data:    length:u32 bytes      opaque content (message text...)
//
// For example, {queue_id = "4Yk2", status = 0} is
//   01 00 00 00 22                                   version 1, 34 payload bytes
//   02 08 "queue_id" 00 00 00 04 "4Yk2"              string
//   01 06 "status"   00 00 00 00 00 00 00 00         integer
// Encoding a decoded list gives the same bytes again, except that hash entries come out
// sorted by key.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "util/result.hpp"

namespace postern {

inline constexpr uint8_t kAttrWireVersion = 1;
inline constexpr size_t kAttrFrameHeaderSize = 5;
// A name's length travels in one byte.
inline constexpr size_t kAttrMaxNameLengthLimit = 255;

// The type byte on the wire.
enum class AttrType : uint8_t {
    integer = 1,
    string = 2,
    hash = 3,
    data = 4,
};

// "integer", "string", "hash", "data": for error messages.
const char* attr_type_name(AttrType type);

// A nested name -> value table (Postfix's ATTR_TYPE_HASH), e.g. milter macros.
using AttrHash = std::map<std::string, std::string, std::less<>>;

// Opaque bytes, kept apart from std::string so that the variant says which one was sent.
struct AttrData {
    std::string bytes;
    bool operator==(const AttrData&) const = default;
};

// The variant's order follows AttrType: index + 1 is the type byte.
using AttrValue = std::variant<int64_t, std::string, AttrHash, AttrData>;

struct Attr {
    std::string name;
    AttrValue value;

    AttrType type() const { return static_cast<AttrType>(value.index() + 1); }
    bool operator==(const Attr&) const = default;
};

// Limits both sides apply; the defaults suit every request and reply Postern sends.
// A violation on decode is a protocol error; on encode it is refused before a byte is sent.
struct AttrLimits {
    size_t max_frame_size = 1024 * 1024;  // payload bytes; the header can say at most 4 GiB
    size_t max_attributes = 1024;         // per frame, not counting hash entries
    size_t max_name_length = 64;          // at most kAttrMaxNameLengthLimit
    size_t max_hash_entries = 1024;       // per hash attribute
};

// A message: attributes in the order they were added (or sent). The builder does not
// refuse a name added twice; encode_attr_frame does, and AttrReader reports it.
class AttrList {
  public:
    AttrList& add_int(std::string name, int64_t value);
    AttrList& add_string(std::string name, std::string value);
    AttrList& add_hash(std::string name, AttrHash value);
    AttrList& add_data(std::string name, std::string bytes);
    AttrList& add(Attr attr);

    const std::vector<Attr>& attrs() const { return attrs_; }
    std::vector<Attr>& attrs() { return attrs_; }
    size_t size() const { return attrs_.size(); }
    bool empty() const { return attrs_.empty(); }
    // The first attribute with this name, or nullptr.
    const Attr* find(std::string_view name) const;

    bool operator==(const AttrList&) const = default;

  private:
    std::vector<Attr> attrs_;
};

// True for a name the wire accepts: 1..255 bytes of [A-Za-z0-9_.-].
bool is_attr_name(std::string_view name);

// Appends one frame holding `list` to `out` (which keeps its capacity across calls).
// Fails, leaving `out` as it was, on a duplicate or invalid name or a violated limit.
Status append_attr_frame(std::string& out, const AttrList& list, const AttrLimits& limits = {});
Result<std::string> encode_attr_frame(const AttrList& list, const AttrLimits& limits = {});

// Decodes exactly one frame: `frame` must hold the header, the payload and nothing else.
Result<AttrList> decode_attr_frame(std::string_view frame, const AttrLimits& limits = {});

// The size of the frame at the start of `bytes`, header included, once its header is
// there (nullopt before that); a bad version or a length over the limit is an error, so a
// reader learns it before waiting for the payload.
Result<std::optional<size_t>> attr_frame_size(std::string_view bytes, const AttrLimits& limits);

// Incremental decoding for a stream: feed bytes as they arrive, in any pieces, and take
// complete frames out. For the blocking channel and for event-loop readers alike. After
// the first error the stream is out of step, so the decoder keeps returning that error.
// Memory: a frame's header is checked as soon as it is in, so an oversized frame fails
// before its payload is buffered; callers drain next() until nullopt before feeding more,
// so the buffer holds at most one partial frame plus one read.
class AttrFrameDecoder {
  public:
    explicit AttrFrameDecoder(AttrLimits limits = {}) : limits_(limits) {}

    void feed(std::string_view bytes);
    // The next complete frame, nullopt when more bytes are needed, or the protocol error.
    Result<std::optional<AttrList>> next();
    // Bytes fed but not yet taken out as frames.
    size_t buffered() const { return buffer_.size() - start_; }
    // No partial frame is waiting: end-of-file here is a clean close, not a truncation.
    bool idle() const { return buffered() == 0; }
    const AttrLimits& limits() const { return limits_; }

  private:
    void compact();

    AttrLimits limits_;
    std::string buffer_;
    size_t start_ = 0;  // the unread part is buffer_[start_..]
    std::optional<Error> failed_;
};

// Reads a decoded message against the schema the caller expects. Each getter takes its
// attribute out of the list (moves it, no copy); finish() then fails on any attribute
// nobody asked for, so an unexpected attribute is a clear protocol error, not silently
// ignored. Errors name the message: "cleanup reply: missing attribute \"status\"".
//
//   AttrReader reader(std::move(list), "cleanup reply");
//   auto status = reader.integer("status");
//   auto reason = reader.optional_string("reason");
//   if (!status) return status.error(); ... if (auto done = reader.finish(); !done) ...
class AttrReader {
  public:
    AttrReader(AttrList list, std::string what);

    Result<int64_t> integer(std::string_view name);
    Result<std::string> string(std::string_view name);
    Result<AttrHash> hash(std::string_view name);
    Result<std::string> data(std::string_view name);

    // Absent gives nullopt; present with the wrong type is still an error.
    Result<std::optional<int64_t>> optional_integer(std::string_view name);
    Result<std::optional<std::string>> optional_string(std::string_view name);
    Result<std::optional<AttrHash>> optional_hash(std::string_view name);
    Result<std::optional<std::string>> optional_data(std::string_view name);

    // Success when every attribute has been taken; otherwise names the first one left.
    Status finish() const;

  private:
    // The index of `name` checked for type, uniqueness and a second read; nullopt when
    // absent.
    Result<std::optional<size_t>> take(std::string_view name, AttrType type);
    Error error(std::string text) const;

    AttrList list_;
    std::vector<bool> taken_;
    std::string what_;
};

}  // namespace postern
