#include "ipc/attr.hpp"

#include <algorithm>
#include <cstdio>
#include <limits>
#include <unordered_set>
#include <utility>

#include "util/log.hpp"

namespace postern {

namespace {

// The header's length field is 32 bits, whatever the limit says.
size_t max_payload(const AttrLimits& limits) {
    return std::min<size_t>(limits.max_frame_size, std::numeric_limits<uint32_t>::max());
}

size_t max_name(const AttrLimits& limits) {
    return std::min(limits.max_name_length, kAttrMaxNameLengthLimit);
}

Error protocol_error(std::string text) {
    return Error(ErrorKind::protocol, "attribute protocol: " + std::move(text));
}

Error truncated() {
    return protocol_error("truncated frame");
}

std::string quoted(std::string_view name) {
    return "\"" + std::string(name) + "\"";
}

// ---- encoding ----

void put_u8(std::string& out, uint8_t value) {
    out.push_back(static_cast<char>(value));
}

void put_u32(std::string& out, uint32_t value) {
    char bytes[4];
    for (int i = 3; i >= 0; --i) {
        bytes[i] = static_cast<char>(value & 0xff);
        value >>= 8;
    }
    out.append(bytes, sizeof bytes);
}

void put_i64(std::string& out, int64_t value) {
    auto bits = static_cast<uint64_t>(value);
    char bytes[8];
    for (int i = 7; i >= 0; --i) {
        bytes[i] = static_cast<char>(bits & 0xff);
        bits >>= 8;
    }
    out.append(bytes, sizeof bytes);
}

void put_counted(std::string& out, std::string_view bytes) {
    put_u32(out, static_cast<uint32_t>(bytes.size()));
    out.append(bytes);
}

size_t value_wire_size(const AttrValue& value) {
    switch (value.index()) {
        case 0:
            return 8;
        case 1:
            return 4 + std::get<1>(value).size();
        case 2: {
            size_t size = 4;
            for (const auto& [key, entry] : std::get<2>(value))
                size += 8 + key.size() + entry.size();
            return size;
        }
        default:
            return 4 + std::get<3>(value).bytes.size();
    }
}

Error refused(std::string text) {
    return protocol_error("cannot send: " + std::move(text));
}

// Checks `list` against the format and the limits; returns the payload size.
Result<size_t> encodable_payload_size(const AttrList& list, const AttrLimits& limits) {
    if (list.size() > limits.max_attributes)
        return refused(std::to_string(list.size()) + " attributes (limit " +
                       std::to_string(limits.max_attributes) + ")");
    std::unordered_set<std::string_view> names;
    size_t size = 0;
    for (const Attr& attr : list.attrs()) {
        if (!is_attr_name(attr.name))
            return refused("bad attribute name " + quoted(attr.name));
        if (attr.name.size() > max_name(limits))
            return refused("attribute name " + quoted(attr.name) + " too long");
        if (!names.insert(attr.name).second)
            return refused("duplicate attribute " + quoted(attr.name));
        if (attr.type() == AttrType::hash &&
            std::get<AttrHash>(attr.value).size() > limits.max_hash_entries)
            return refused("too many entries in hash " + quoted(attr.name));
        size += 2 + attr.name.size() + value_wire_size(attr.value);
    }
    if (size > max_payload(limits))
        return refused("frame of " + std::to_string(size) + " bytes (limit " +
                       std::to_string(max_payload(limits)) + ")");
    return size;
}

void put_attr(std::string& out, const Attr& attr) {
    put_u8(out, static_cast<uint8_t>(attr.type()));
    put_u8(out, static_cast<uint8_t>(attr.name.size()));
    out.append(attr.name);
    switch (attr.type()) {
        case AttrType::integer:
            put_i64(out, std::get<int64_t>(attr.value));
            break;
        case AttrType::string:
            put_counted(out, std::get<std::string>(attr.value));
            break;
        case AttrType::hash: {
            const auto& hash = std::get<AttrHash>(attr.value);
            put_u32(out, static_cast<uint32_t>(hash.size()));
            for (const auto& [key, value] : hash) {
                put_counted(out, key);
                put_counted(out, value);
            }
            break;
        }
        case AttrType::data:
            put_counted(out, std::get<AttrData>(attr.value).bytes);
            break;
    }
}

// ---- decoding ----

// Reads from the front of a payload; every read checks what is left first.
class Cursor {
  public:
    explicit Cursor(std::string_view bytes) : rest_(bytes) {}

    bool empty() const { return rest_.empty(); }
    size_t left() const { return rest_.size(); }

    bool bytes(size_t count, std::string_view& out) {
        if (count > rest_.size())
            return false;
        out = rest_.substr(0, count);
        rest_.remove_prefix(count);
        return true;
    }
    bool u8(uint8_t& out) {
        std::string_view raw;
        if (!bytes(1, raw))
            return false;
        out = static_cast<uint8_t>(raw[0]);
        return true;
    }
    bool u32(uint32_t& out) {
        std::string_view raw;
        if (!bytes(4, raw))
            return false;
        out = 0;
        for (char byte : raw)
            out = (out << 8) | static_cast<uint8_t>(byte);
        return true;
    }
    bool i64(int64_t& out) {
        std::string_view raw;
        if (!bytes(8, raw))
            return false;
        uint64_t bits = 0;
        for (char byte : raw)
            bits = (bits << 8) | static_cast<uint8_t>(byte);
        out = static_cast<int64_t>(bits);  // two's complement, as C++20 defines it
        return true;
    }
    // A u32 length, then that many bytes (a view into the frame, not a copy).
    bool counted(std::string_view& out) {
        uint32_t length;
        return u32(length) && bytes(length, out);
    }

  private:
    std::string_view rest_;
};

Result<AttrType> decode_type(Cursor& in) {
    uint8_t code;
    if (!in.u8(code))
        return truncated();
    if (code < static_cast<uint8_t>(AttrType::integer) ||
        code > static_cast<uint8_t>(AttrType::data)) {
        char text[64];
        std::snprintf(text, sizeof text, "unknown attribute type 0x%02x", code);
        return protocol_error(text);
    }
    return static_cast<AttrType>(code);
}

Result<std::string_view> decode_name(Cursor& in, const AttrLimits& limits) {
    uint8_t length;
    if (!in.u8(length))
        return truncated();
    if (length == 0)
        return protocol_error("empty attribute name");
    if (length > max_name(limits))
        return protocol_error("attribute name of " + std::to_string(length) + " bytes (limit " +
                              std::to_string(max_name(limits)) + ")");
    std::string_view name;
    if (!in.bytes(length, name))
        return truncated();
    if (!is_attr_name(name))
        return protocol_error("attribute name with a byte outside [A-Za-z0-9_.-]");
    return name;
}

Result<AttrHash> decode_hash(Cursor& in, std::string_view name, const AttrLimits& limits) {
    uint32_t count;
    if (!in.u32(count))
        return truncated();
    if (count > limits.max_hash_entries)
        return protocol_error("hash " + quoted(name) + " has " + std::to_string(count) +
                              " entries (limit " + std::to_string(limits.max_hash_entries) + ")");
    if (count > in.left() / 8)  // every entry takes at least its two lengths
        return truncated();
    AttrHash hash;
    for (uint32_t i = 0; i < count; ++i) {
        std::string_view key, value;
        if (!in.counted(key) || !in.counted(value))
            return truncated();
        if (!hash.try_emplace(std::string(key), value).second)
            return protocol_error("duplicate key in hash " + quoted(name));
    }
    return hash;
}

// Fills `value` in place: returning the variant inside a Result made GCC 12 at -O2 warn
// about a "maybe uninitialized" string that is not.
Status decode_value(Cursor& in, AttrType type, std::string_view name, const AttrLimits& limits,
                    AttrValue& value) {
    std::string_view bytes;
    switch (type) {
        case AttrType::integer: {
            int64_t number;
            if (!in.i64(number))
                return truncated();
            value.emplace<int64_t>(number);
            return {};
        }
        case AttrType::string:
            if (!in.counted(bytes))
                return truncated();
            value.emplace<std::string>(bytes);
            return {};
        case AttrType::hash: {
            auto hash = decode_hash(in, name, limits);
            if (!hash)
                return hash.error();
            value.emplace<AttrHash>(std::move(*hash));
            return {};
        }
        case AttrType::data:
            if (!in.counted(bytes))
                return truncated();
            value.emplace<AttrData>().bytes.assign(bytes);
            return {};
    }
    return truncated();  // not reached: decode_type admits only the four types
}

Result<AttrList> decode_payload(std::string_view payload, const AttrLimits& limits) {
    Cursor in(payload);
    AttrList list;
    // Views into the payload, which outlives the loop (the list's strings may move).
    std::unordered_set<std::string_view> names;
    while (!in.empty()) {
        if (list.size() >= limits.max_attributes)
            return protocol_error("more than " + std::to_string(limits.max_attributes) +
                                  " attributes");
        auto type = decode_type(in);
        if (!type)
            return type.error();
        auto name = decode_name(in, limits);
        if (!name)
            return name.error();
        if (!names.insert(*name).second)
            return protocol_error("duplicate attribute " + quoted(*name));
        AttrValue value;
        if (Status decoded = decode_value(in, *type, *name, limits, value); !decoded)
            return decoded.error();
        list.add(Attr{std::string(*name), std::move(value)});
    }
    return list;
}

}  // namespace

const char* attr_type_name(AttrType type) {
    switch (type) {
        case AttrType::integer:
            return "integer";
        case AttrType::string:
            return "string";
        case AttrType::hash:
            return "hash";
        case AttrType::data:
            return "data";
    }
    return "unknown";
}

// ---- AttrList ----

AttrList& AttrList::add_int(std::string name, int64_t value) {
    return add(Attr{std::move(name), AttrValue(value)});
}

AttrList& AttrList::add_string(std::string name, std::string value) {
    return add(Attr{std::move(name), AttrValue(std::in_place_index<1>, std::move(value))});
}

AttrList& AttrList::add_hash(std::string name, AttrHash value) {
    return add(Attr{std::move(name), AttrValue(std::move(value))});
}

AttrList& AttrList::add_data(std::string name, std::string bytes) {
    return add(Attr{std::move(name), AttrValue(AttrData{std::move(bytes)})});
}

AttrList& AttrList::add(Attr attr) {
    attrs_.push_back(std::move(attr));
    return *this;
}

const Attr* AttrList::find(std::string_view name) const {
    for (const Attr& attr : attrs_)
        if (attr.name == name)
            return &attr;
    return nullptr;
}

bool is_attr_name(std::string_view name) {
    if (name.empty() || name.size() > kAttrMaxNameLengthLimit)
        return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '.' || c == '-';
    });
}

// ---- frames ----

Status append_attr_frame(std::string& out, const AttrList& list, const AttrLimits& limits) {
    auto payload = encodable_payload_size(list, limits);
    if (!payload)
        return payload.error();
    size_t start = out.size();
    out.reserve(start + kAttrFrameHeaderSize + *payload);
    put_u8(out, kAttrWireVersion);
    put_u32(out, static_cast<uint32_t>(*payload));
    for (const Attr& attr : list.attrs())
        put_attr(out, attr);
    if (out.size() != start + kAttrFrameHeaderSize + *payload)
        log_panic("append_attr_frame: frame size %zu differs from its header's %zu",
                  out.size() - start, kAttrFrameHeaderSize + *payload);
    return {};
}

Result<std::string> encode_attr_frame(const AttrList& list, const AttrLimits& limits) {
    std::string frame;
    if (auto status = append_attr_frame(frame, list, limits); !status)
        return status.error();
    return frame;
}

Result<std::optional<size_t>> attr_frame_size(std::string_view bytes, const AttrLimits& limits) {
    // The version byte alone already tells garbage from a frame: fail before waiting.
    if (!bytes.empty() && static_cast<uint8_t>(bytes[0]) != kAttrWireVersion) {
        char text[64];
        std::snprintf(text, sizeof text, "unsupported frame version 0x%02x",
                      static_cast<uint8_t>(bytes[0]));
        return protocol_error(text);
    }
    if (bytes.size() < kAttrFrameHeaderSize)
        return std::optional<size_t>{};
    uint32_t length = 0;
    for (size_t i = 1; i < kAttrFrameHeaderSize; ++i)
        length = (length << 8) | static_cast<uint8_t>(bytes[i]);
    if (length > max_payload(limits))
        return protocol_error("frame of " + std::to_string(length) + " bytes (limit " +
                              std::to_string(max_payload(limits)) + ")");
    return std::optional<size_t>(kAttrFrameHeaderSize + length);
}

Result<AttrList> decode_attr_frame(std::string_view frame, const AttrLimits& limits) {
    auto size = attr_frame_size(frame, limits);
    if (!size)
        return size.error();
    if (!*size || frame.size() < **size)
        return truncated();
    if (frame.size() > **size)
        return protocol_error(std::to_string(frame.size() - **size) + " bytes after the frame");
    return decode_payload(frame.substr(kAttrFrameHeaderSize), limits);
}

// ---- AttrFrameDecoder ----

void AttrFrameDecoder::feed(std::string_view bytes) {
    if (!failed_)
        buffer_.append(bytes);
}

Result<std::optional<AttrList>> AttrFrameDecoder::next() {
    if (failed_)
        return *failed_;
    std::string_view unread(buffer_.data() + start_, buffered());
    auto size = attr_frame_size(unread, limits_);
    if (!size) {
        failed_ = size.error();
        return *failed_;
    }
    if (!*size || unread.size() < **size)
        return std::optional<AttrList>{};
    auto list =
        decode_payload(unread.substr(kAttrFrameHeaderSize, **size - kAttrFrameHeaderSize), limits_);
    if (!list) {
        failed_ = list.error();
        return *failed_;
    }
    start_ += **size;
    compact();
    return std::optional<AttrList>(std::move(*list));
}

// Drops consumed bytes, but moves the rest down only when that is cheap relative to them.
void AttrFrameDecoder::compact() {
    if (start_ == buffer_.size()) {
        buffer_.clear();
        start_ = 0;
    } else if (start_ > buffer_.size() / 2) {
        buffer_.erase(0, start_);
        start_ = 0;
    }
}

// ---- AttrReader ----

AttrReader::AttrReader(AttrList list, std::string what)
    : list_(std::move(list)), taken_(list_.size(), false), what_(std::move(what)) {}

Error AttrReader::error(std::string text) const {
    return Error(ErrorKind::protocol, what_ + ": " + std::move(text));
}

Result<std::optional<size_t>> AttrReader::take(std::string_view name, AttrType type) {
    std::optional<size_t> found;
    const auto& attrs = list_.attrs();
    for (size_t i = 0; i < attrs.size(); ++i) {
        if (attrs[i].name != name)
            continue;
        if (found)
            return error("duplicate attribute " + quoted(name));
        found = i;
    }
    if (!found)
        return found;
    if (taken_[*found])
        return error("attribute " + quoted(name) + " read twice");
    if (attrs[*found].type() != type)
        return error("attribute " + quoted(name) + " is of type " +
                     attr_type_name(attrs[*found].type()) + ", expected " + attr_type_name(type));
    taken_[*found] = true;
    return found;
}

Result<std::optional<int64_t>> AttrReader::optional_integer(std::string_view name) {
    auto index = take(name, AttrType::integer);
    if (!index)
        return index.error();
    if (!*index)
        return std::optional<int64_t>{};
    return std::optional<int64_t>(std::get<int64_t>(list_.attrs()[**index].value));
}

Result<std::optional<std::string>> AttrReader::optional_string(std::string_view name) {
    auto index = take(name, AttrType::string);
    if (!index)
        return index.error();
    if (!*index)
        return std::optional<std::string>{};
    return std::optional<std::string>(
        std::move(std::get<std::string>(list_.attrs()[**index].value)));
}

Result<std::optional<AttrHash>> AttrReader::optional_hash(std::string_view name) {
    auto index = take(name, AttrType::hash);
    if (!index)
        return index.error();
    if (!*index)
        return std::optional<AttrHash>{};
    return std::optional<AttrHash>(std::move(std::get<AttrHash>(list_.attrs()[**index].value)));
}

Result<std::optional<std::string>> AttrReader::optional_data(std::string_view name) {
    auto index = take(name, AttrType::data);
    if (!index)
        return index.error();
    if (!*index)
        return std::optional<std::string>{};
    return std::optional<std::string>(
        std::move(std::get<AttrData>(list_.attrs()[**index].value).bytes));
}

Result<int64_t> AttrReader::integer(std::string_view name) {
    auto value = optional_integer(name);
    if (!value)
        return value.error();
    if (!*value)
        return error("missing attribute " + quoted(name));
    return **value;
}

Result<std::string> AttrReader::string(std::string_view name) {
    auto value = optional_string(name);
    if (!value)
        return value.error();
    if (!*value)
        return error("missing attribute " + quoted(name));
    return std::move(**value);
}

Result<AttrHash> AttrReader::hash(std::string_view name) {
    auto value = optional_hash(name);
    if (!value)
        return value.error();
    if (!*value)
        return error("missing attribute " + quoted(name));
    return std::move(**value);
}

Result<std::string> AttrReader::data(std::string_view name) {
    auto value = optional_data(name);
    if (!value)
        return value.error();
    if (!*value)
        return error("missing attribute " + quoted(name));
    return std::move(**value);
}

Status AttrReader::finish() const {
    for (size_t i = 0; i < taken_.size(); ++i)
        if (!taken_[i])
            return error("unexpected attribute " + quoted(list_.attrs()[i].name));
    return {};
}

}  // namespace postern
