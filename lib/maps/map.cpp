// The non-virtual side of every lookup table: key folding, UTF-8 checks, the default
// answers of types that cannot update, delete or list, `type:name` parsing, and the
// helpers that file-based types share (file identity, duplicate keys).
//
// Where it sits: lib/maps, between every caller of a table and the type's implementation.
// Keys come from the network (addresses, client names): nothing here trusts them; they are
// only folded, checked and passed on.
#include "maps/map.hpp"

#include <sys/stat.h>

#include <cerrno>

#include "maps/casefold.hpp"
#include "util/file.hpp"
#include "util/log.hpp"

namespace postern {

namespace {

// Postfix's detail for a malformed key or value (valid_utf8_string's complaint).
constexpr const char* kUtf8Complaint = "malformed UTF-8 or invalid codepoint";

Error not_supported(const Map& map, std::string_view operation) {
    return Error(ErrorKind::config, "table " + map.spec() + ": " + std::string(operation) +
                                        " operation is not supported");
}

FileIdentity identity_of(const struct stat& st) {
    FileIdentity identity;
    identity.device = st.st_dev;
    identity.inode = st.st_ino;
    identity.size = st.st_size;
    identity.mtime_seconds = st.st_mtim.tv_sec;
    identity.mtime_nanoseconds = st.st_mtim.tv_nsec;
    return identity;
}

// With utf8_keys a malformed key is simply not in the table (Postfix logs and answers
// "not found"); false with the warning logged.
bool acceptable_key(const Map& map, std::string_view key) {
    if (!has_flag(map.flags(), MapFlag::utf8_keys) || is_valid_utf8(key))
        return true;
    log_warning("%s: non-UTF-8 key \"%s\": %s", map.spec().c_str(), std::string(key).c_str(),
                kUtf8Complaint);
    return false;
}

// Every live Map, for changed_open_table(). Daemons are single-threaded.
std::vector<const Map*>& open_tables() {
    static std::vector<const Map*> tables;
    return tables;
}

}  // namespace

// ---- Map ----

Map::Map(std::string type, std::string name, MapFlag flags, MapKeyKind key_kind)
    : type_(std::move(type)), name_(std::move(name)), flags_(flags), key_kind_(key_kind) {
    open_tables().push_back(this);
}

Map::~Map() {
    std::erase(open_tables(), this);
}

std::optional<std::string> changed_open_table() {
    for (const Map* table : open_tables()) {
        if (table->changed_on_disk())
            return table->spec();
    }
    return std::nullopt;
}

std::string Map::folded_key(std::string_view key) const {
    MapFlag wanted = key_kind_ == MapKeyKind::fixed ? MapFlag::fold_fixed : MapFlag::fold_pattern;
    if (!has_flag(flags_, wanted))
        return std::string(key);
    return has_flag(flags_, MapFlag::utf8_keys) ? casefold_utf8(key) : ascii_lowercase(key);
}

Result<std::optional<std::string>> Map::lookup(std::string_view key) {
    if (!acceptable_key(*this, key))
        return std::optional<std::string>();
    auto found = do_lookup(folded_key(key));
    if (!found.ok() || !found->has_value() || !has_flag(flags_, MapFlag::utf8_keys) ||
        is_valid_utf8(**found))
        return found;
    // A malformed value would reach a header or an SMTP reply: the table cannot answer.
    std::string text = spec() + ": key \"" + std::string(key) + "\": non-UTF-8 value \"" + **found +
                       "\": " + kUtf8Complaint;
    log_warning("%s", text.c_str());
    return Error(ErrorKind::temporary, text);
}

Status Map::update(std::string_view key, std::string_view value) {
    if (!acceptable_key(*this, key))
        return {};
    if (has_flag(flags_, MapFlag::utf8_keys) && !is_valid_utf8(value)) {
        log_warning("%s: key \"%s\": non-UTF-8 value \"%s\": %s", spec().c_str(),
                    std::string(key).c_str(), std::string(value).c_str(), kUtf8Complaint);
        return {};
    }
    return do_update(folded_key(key), value);
}

Result<bool> Map::remove(std::string_view key) {
    if (!acceptable_key(*this, key))
        return false;
    return do_remove(folded_key(key));
}

Status Map::for_each(
    const std::function<Status(std::string_view key, std::string_view value)>& visit) {
    return do_for_each(visit);
}

Status Map::commit() {
    return do_commit();
}

Status Map::do_update(std::string_view, std::string_view) {
    return not_supported(*this, "update");
}

Result<bool> Map::do_remove(std::string_view) {
    return not_supported(*this, "delete");
}

Status Map::do_for_each(const std::function<Status(std::string_view, std::string_view)>&) {
    return not_supported(*this, "sequence");
}

// ---- open_map ----

Result<std::unique_ptr<Map>> open_map(std::string_view spec, const MapOpenOptions& options) {
    size_t colon = spec.find(':');
    if (colon == std::string_view::npos || colon == 0 || colon + 1 == spec.size())
        return Error(ErrorKind::config,
                     "open dictionary: expecting \"type:name\" form instead of \"" +
                         std::string(spec) + "\"");
    std::string_view type = spec.substr(0, colon);
    const MapTypeInfo* info = find_map_type(type);
    if (info == nullptr)
        return Error(ErrorKind::config, "unsupported dictionary type: " + std::string(type));
    return info->open(spec.substr(colon + 1), options);
}

// ---- FileIdentity ----

Result<FileIdentity> FileIdentity::of_path(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0)
        return system_error("stat " + path, errno);
    return identity_of(st);
}

Result<FileIdentity> FileIdentity::of_fd(int fd, const std::string& path) {
    struct stat st {};
    if (::fstat(fd, &st) != 0)
        return system_error("fstat " + path, errno);
    return identity_of(st);
}

bool FileIdentity::changed(const std::string& path) const {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0)
        return true;
    return !(identity_of(st) == *this);
}

// ---- duplicate keys ----

DuplicateAction duplicate_action(MapFlag flags) {
    if (has_flag(flags, MapFlag::duplicate_replace))
        return DuplicateAction::replace;
    if (has_flag(flags, MapFlag::duplicate_ignore))
        return DuplicateAction::ignore;
    if (has_flag(flags, MapFlag::duplicate_warn))
        return DuplicateAction::warn;
    return DuplicateAction::fail;
}

Result<bool> resolve_duplicate(MapFlag flags, std::string_view where, std::string_view key) {
    std::string text = std::string(where) + ": duplicate entry: \"" + std::string(key) + "\"";
    switch (duplicate_action(flags)) {
        case DuplicateAction::replace:
            return true;
        case DuplicateAction::ignore:
            return false;
        case DuplicateAction::warn:
            log_warning("%s", text.c_str());
            return false;
        case DuplicateAction::fail:
            break;
    }
    return Error(ErrorKind::config, text);
}

}  // namespace postern
