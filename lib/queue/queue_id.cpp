// Queue IDs and queue file paths: see queue_id.hpp.
#include "queue/queue_id.hpp"

#include <cstdio>

#include "config/config.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace postern {
namespace {

// Postfix's "safe" alphabet: digits, then upper and lower case without vowels. The order
// is the encoding; base 51 uses all but the last character ('z').
constexpr std::string_view kSafeAlphabet = "0123456789BCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz";
static_assert(kSafeAlphabet.size() == 52);

constexpr unsigned kSecondsBase = 52;
constexpr size_t kSecondsMinWidth = 6;
constexpr unsigned kMicrosecondsBase = 52;
constexpr size_t kMicrosecondsWidth = 4;
constexpr size_t kTimeMinWidth = kSecondsMinWidth + kMicrosecondsWidth;
constexpr char kInodeSeparator = 'z';
constexpr unsigned kInodeBase = 51;
constexpr size_t kShortMicrosecondsWidth = 5;

// Bounds for the strict check: a 64-bit inode is at most 16 hex or 12 base-51 digits, and
// eleven base-52 digits of seconds last far beyond any clock.
constexpr size_t kShortMaxLength = kShortMicrosecondsWidth + 16;
constexpr size_t kLongMaxSecondsWidth = 11;
constexpr size_t kLongMaxInodeWidth = 12;
constexpr size_t kQueueIdMaxLength = 255;  // Postfix's VALID_HOSTNAME_LEN
constexpr size_t kQueueNameMaxLength = 100;

void append_base(std::string& out, uint64_t value, unsigned base, size_t min_width) {
    char digits[64];
    size_t count = 0;
    do {
        digits[count++] = kSafeAlphabet[value % base];
        value /= base;
    } while (value != 0);
    for (size_t pad = count; pad < min_width; ++pad)
        out.push_back('0');
    while (count > 0)
        out.push_back(digits[--count]);
}

// The value of `text` in `base` over the safe alphabet; nullopt on a foreign character,
// an empty text or overflow.
std::optional<uint64_t> decode_base(std::string_view text, unsigned base) {
    if (text.empty())
        return std::nullopt;
    uint64_t value = 0;
    for (char c : text) {
        size_t digit = kSafeAlphabet.find(c);
        if (digit == std::string_view::npos || digit >= base)
            return std::nullopt;
        if (value > (UINT64_MAX - digit) / base)
            return std::nullopt;
        value = value * base + digit;
    }
    return value;
}

std::optional<uint64_t> decode_hex(std::string_view text) {
    if (text.empty() || text.size() > 16)
        return std::nullopt;
    uint64_t value = 0;
    for (char c : text) {
        unsigned digit;
        if (c >= '0' && c <= '9')
            digit = static_cast<unsigned>(c - '0');
        else if (c >= 'A' && c <= 'F')
            digit = static_cast<unsigned>(c - 'A' + 10);
        else
            return std::nullopt;
        value = value * 16 + digit;
    }
    return value;
}

bool is_alnum(char c) {
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

// The parts of a long ID, split at the last 'z' (the inode part never holds one).
struct LongIdParts {
    std::string_view seconds, microseconds, inode;
};

std::optional<LongIdParts> split_long_id(std::string_view id) {
    size_t separator = id.rfind(kInodeSeparator);
    if (separator == std::string_view::npos || separator < kTimeMinWidth)
        return std::nullopt;
    LongIdParts parts;
    parts.seconds = id.substr(0, separator - kMicrosecondsWidth);
    parts.microseconds = id.substr(separator - kMicrosecondsWidth, kMicrosecondsWidth);
    parts.inode = id.substr(separator + 1);
    return parts;
}

bool long_id_valid(const LongIdParts& parts) {
    if (parts.seconds.size() > kLongMaxSecondsWidth || parts.inode.size() > kLongMaxInodeWidth)
        return false;
    auto microseconds = decode_base(parts.microseconds, kMicrosecondsBase);
    return decode_base(parts.seconds, kSecondsBase) && microseconds && *microseconds < 1000000 &&
           decode_base(parts.inode, kInodeBase);
}

bool short_id_valid(std::string_view id) {
    if (id.size() <= kShortMicrosecondsWidth || id.size() > kShortMaxLength)
        return false;
    auto microseconds = decode_hex(id.substr(0, kShortMicrosecondsWidth));
    return microseconds && *microseconds < 1000000 &&
           decode_hex(id.substr(kShortMicrosecondsWidth));
}

// What a hashed queue hashes: the ID itself, or for a long ID its microseconds in the
// short form's hex, as Postfix's mail_queue_dir does.
std::string hash_source(std::string_view id) {
    auto parts = split_long_id(id);
    if (!parts)
        return std::string(id);
    auto microseconds = decode_base(parts->microseconds, kMicrosecondsBase);
    if (!microseconds)
        return std::string(id);  // not really a long ID: hash it as it is, as Postfix would
    char hex[24];
    std::snprintf(hex, sizeof hex, "%05X", static_cast<unsigned>(*microseconds));
    return hex;
}

}  // namespace

std::string make_queue_id(QueueIdForm form, QueueTime when, uint64_t inode) {
    std::string id;
    if (form == QueueIdForm::short_form) {
        char buffer[40];
        std::snprintf(buffer, sizeof buffer, "%05X%llX", static_cast<unsigned>(when.microseconds),
                      static_cast<unsigned long long>(inode));
        id = buffer;
    } else {
        append_base(id, static_cast<uint64_t>(when.seconds), kSecondsBase, kSecondsMinWidth);
        append_base(id, static_cast<uint64_t>(when.microseconds), kMicrosecondsBase,
                    kMicrosecondsWidth);
        id.push_back(kInodeSeparator);
        append_base(id, inode, kInodeBase, 0);
    }
    return id;
}

bool queue_id_ok(std::string_view id) {
    if (id.empty() || id.size() > kQueueIdMaxLength)
        return false;
    for (char c : id)
        if (!is_alnum(c) && c != '_')
            return false;
    return true;
}

std::optional<QueueIdForm> queue_id_form(std::string_view id) {
    if (auto parts = split_long_id(id); parts && long_id_valid(*parts))
        return QueueIdForm::long_form;
    if (short_id_valid(id))
        return QueueIdForm::short_form;
    return std::nullopt;
}

std::optional<QueueTime> long_queue_id_time(std::string_view id) {
    auto parts = split_long_id(id);
    if (!parts || !long_id_valid(*parts))
        return std::nullopt;
    QueueTime when;
    when.seconds = static_cast<int64_t>(*decode_base(parts->seconds, kSecondsBase));
    when.microseconds = static_cast<int32_t>(*decode_base(parts->microseconds, kMicrosecondsBase));
    return when;
}

std::optional<uint64_t> queue_id_inode(std::string_view id) {
    auto form = queue_id_form(id);
    if (!form)
        return std::nullopt;
    if (*form == QueueIdForm::long_form)
        return decode_base(split_long_id(id)->inode, kInodeBase);
    return decode_hex(id.substr(kShortMicrosecondsWidth));
}

bool queue_name_ok(std::string_view name) {
    if (name.empty() || name.size() > kQueueNameMaxLength)
        return false;
    for (char c : name)
        if (!is_alnum(c))
            return false;
    return true;
}

Result<QueueHashing> QueueHashing::from_config(const Config& config) {
    auto names = config.get_list("hash_queue_names");
    if (!names)
        return names.error();
    auto depth = config.get_integer("hash_queue_depth");
    if (!depth)
        return depth.error();
    // Postfix accepts 1..16 levels (0 disables hashing in practice; keep it working).
    if (*depth < 0 || *depth > 16)
        return Error(ErrorKind::config,
                     "invalid hash_queue_depth parameter value: " + std::to_string(*depth));
    QueueHashing hashing;
    hashing.names = std::move(*names);
    hashing.depth = static_cast<int>(*depth);
    return hashing;
}

bool QueueHashing::is_hashed(std::string_view queue_name) const {
    for (const std::string& name : names)
        if (equals_ignore_case(name, queue_name))
            return true;
    return false;
}

std::string queue_hash_subdirectory(std::string_view id, int depth) {
    std::string source = hash_source(id);
    std::string out;
    for (int level = 0; level < depth; ++level) {
        // Postfix's dir_forest pads a short name with '_'.
        out.push_back(static_cast<size_t>(level) < source.size() ? source[level] : '_');
        out.push_back('/');
    }
    return out;
}

std::string queue_directory_for(const QueueHashing& hashing, std::string_view queue_name,
                                std::string_view id) {
    std::string out(queue_name);
    out.push_back('/');
    if (hashing.is_hashed(queue_name))
        out += queue_hash_subdirectory(id, hashing.depth);
    return out;
}

std::string queue_file_path(std::string_view queue_directory, const QueueHashing& hashing,
                            std::string_view queue_name, std::string_view id) {
    if (!queue_name_ok(queue_name))
        log_panic("queue_file_path: bad queue name: %.*s", static_cast<int>(queue_name.size()),
                  queue_name.data());
    if (!queue_id_ok(id))
        log_panic("queue_file_path: bad queue id: %.*s", static_cast<int>(id.size()), id.data());
    std::string path(queue_directory);
    path.push_back('/');
    path += queue_directory_for(hashing, queue_name, id);
    path += id;
    return path;
}

}  // namespace postern
