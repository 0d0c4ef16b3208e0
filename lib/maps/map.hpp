// Lookup tables: one interface for every `type:name` table a daemon or tool opens, and the
// registry of table types.
//
// Where it sits: lib/maps, below every daemon (aliases, access restrictions, transport,
// sasl_passwd, canonical and virtual maps) and the tools (postmap, postalias, postconf -m).
// Table files belong to the administrator but are read by daemons that face the network:
// a table never crashes on a malformed file; problems are Errors or warnings naming the
// file and line, as Postfix gives them. Tables are opened before a daemon chroots and
// drops privileges (lib/server's pre_init), as in Postfix.
//
// Keys and case: Postfix folds lookup keys to lower case for fixed-string tables (hash,
// btree, texthash, inline, ...) when the table is opened with MapFlag::fold_fixed, which
// every daemon does and postmap does unless -f. Pattern tables (regexp, cidr) match case
// as their own syntax says and never see a folded key. Map::lookup() applies the folding,
// so a type's implementation sees the key it must look up.
//
// Search orders (user@domain, user, @domain; client name, parent domains, address, octets)
// are the caller's side of a lookup and live in lib/maps/search.hpp, not in the tables.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/result.hpp"

namespace postern {

// Postfix's dict flags that change what a table does (names after DICT_FLAG_*).
enum class MapFlag : uint32_t {
    none = 0,
    fold_fixed = 1u << 0,         // lower-case keys for fixed-string tables (lookup and update)
    fold_pattern = 1u << 1,       // lower-case keys for pattern tables too (rarely used)
    try_nul = 1u << 2,            // db: keys and values stored with a trailing NUL
    try_no_nul = 1u << 3,         // db: ...without; both set: read either, write as found
    duplicate_warn = 1u << 4,     // update of an existing key: warning, first one kept
    duplicate_ignore = 1u << 5,   // ...silently, first one kept (postmap -w)
    duplicate_replace = 1u << 6,  // ...replace it (postmap -r)
    lock = 1u << 7,               // take the file lock around each access (shared/exclusive)
    sync_update = 1u << 8,        // flush after each update (postmap -i, incremental)
    utf8_keys = 1u << 9,          // smtputf8: fold with UTF-8 rules, reject malformed keys
    no_regsub = 1u << 10,         // regexp: a rule whose result uses $n is skipped (Postfix's
                                  // DICT_FLAG_NO_REGSUB, set by trivial-rewrite)
};
constexpr MapFlag operator|(MapFlag a, MapFlag b) {
    return static_cast<MapFlag>(static_cast<uint32_t>(a) | static_cast<uint32_t>(b));
}
constexpr MapFlag operator&(MapFlag a, MapFlag b) {
    return static_cast<MapFlag>(static_cast<uint32_t>(a) & static_cast<uint32_t>(b));
}
constexpr bool has_flag(MapFlag flags, MapFlag flag) {
    return (flags & flag) != MapFlag::none;
}

// How a table is opened.
enum class MapAccess {
    read_only,        // daemons, postmap -q/-s
    read_write,       // postmap -i/-d, postalias -i, address_verify_map style caches
    create,           // read_write; creates the table when it does not exist
    create_truncate,  // postmap FILE: a new, empty table that replaces the old one only at
                      // commit() (atomic: readers see the old table or the new, never half)
};

struct MapOpenOptions {
    MapAccess access = MapAccess::read_only;
    MapFlag flags = MapFlag::fold_fixed | MapFlag::try_nul | MapFlag::try_no_nul;
    // create/create_truncate: mode and owner of a new file. When the file already exists
    // its mode and owner are kept (an administrator's chmod 600 stays).
    mode_t create_mode = 0644;
    std::optional<uid_t> create_owner;
    std::optional<gid_t> create_group;
    // For messages: the parameter that named the table ("smtp_sasl_password_maps").
    std::string context;
};

// What kind of keys a type matches; the search orders in search.hpp depend on it.
enum class MapKeyKind {
    fixed,    // exact strings: partial keys (@domain, parent domains, octets) are tried
    pattern,  // regexp/cidr: only the whole string is looked up
};

class Map {
  public:
    virtual ~Map();
    Map(const Map&) = delete;
    Map& operator=(const Map&) = delete;

    const std::string& type() const { return type_; }
    const std::string& name() const { return name_; }
    // "type:name", as the administrator wrote it.
    std::string spec() const { return type_ + ":" + name_; }
    MapFlag flags() const { return flags_; }
    MapKeyKind key_kind() const { return key_kind_; }

    // The value for `key`, nullopt when the table has no such key. An error is a table
    // that cannot answer now (ErrorKind::temporary: corrupt or unreadable file, lost
    // server): callers defer instead of treating it as not found, as Postfix does.
    // With MapFlag::utf8_keys, as Postfix with smtputf8_enable: a key that is not
    // well-formed UTF-8 is not found (warning "X:Y: non-UTF-8 key ..."), a value that is
    // not well-formed UTF-8 is an ErrorKind::temporary error (warning "X:Y: key "K":
    // non-UTF-8 value ..."), and fold_fixed folds with full Unicode case folding
    // (casefold.hpp) instead of ASCII lower case.
    Result<std::optional<std::string>> lookup(std::string_view key);
    // Adds or replaces per the duplicate_* flags. Read-only types return ErrorKind::config
    // "table X:Y: update operation is not supported" (Postfix's words; likewise "delete"
    // for remove() and "sequence" for for_each()).
    Status update(std::string_view key, std::string_view value);
    // Removes `key`; false when it was not there.
    Result<bool> remove(std::string_view key);
    // Every entry in the table's order (postmap -s). Stops at the first error `visit` returns.
    Status for_each(
        const std::function<Status(std::string_view key, std::string_view value)>& visit);
    // create_truncate: makes the new table visible (fsync, rename, fsync directory). Other
    // modes: flushes. A table destroyed without commit() leaves the old one untouched.
    Status commit();

    // True when the file behind the table was replaced or changed since it was opened
    // (postmap rebuilt it): the daemon reopens it or exits so master restarts it.
    virtual bool changed_on_disk() const { return false; }

  protected:
    // Every Map registers itself for changed_open_table() while it lives.
    Map(std::string type, std::string name, MapFlag flags, MapKeyKind key_kind);

    // The implementation side: keys arrive already folded when folding applies.
    virtual Result<std::optional<std::string>> do_lookup(std::string_view key) = 0;
    virtual Status do_update(std::string_view key, std::string_view value);
    virtual Result<bool> do_remove(std::string_view key);
    virtual Status do_for_each(
        const std::function<Status(std::string_view key, std::string_view value)>& visit);
    virtual Status do_commit() { return {}; }

    // The key as the table must see it (folded for fixed tables with fold_fixed...).
    std::string folded_key(std::string_view key) const;

  private:
    std::string type_;
    std::string name_;
    MapFlag flags_;
    MapKeyKind key_kind_;
};

// What identifies one version of a file: a file rebuilt by postmap (renamed over the old
// one) or edited in place differs in inode, size or modification time. File-based tables
// (hash, btree, cidr, regexp, texthash) keep the identity of what they read at open and
// answer changed_on_disk() with it. Daemons ask between clients (Postfix checks before
// accepting the next client) and exit when a table changed, so that master starts a fresh
// process that reads the new table, as Postfix's daemons do ("table X has changed --
// restarting").
struct FileIdentity {
    dev_t device = 0;
    ino_t inode = 0;
    off_t size = 0;
    int64_t mtime_seconds = 0;
    int64_t mtime_nanoseconds = 0;

    bool operator==(const FileIdentity&) const = default;
    // stat(2) of `path`; an Error names the path and the system's reason.
    static Result<FileIdentity> of_path(const std::string& path);
    // fstat(2) of an open file (identity of exactly what was read).
    static Result<FileIdentity> of_fd(int fd, const std::string& path);
    // True when `path` no longer names this version: changed, replaced, or gone.
    bool changed(const std::string& path) const;
};

// The spec of the first table open in this process whose file changed since it was opened
// (Postfix's dict_changed_name). The daemon skeletons ask before each client and, when it
// answers, exit with "table X has changed -- restarting" so master starts a process that
// reads the new file. Costs one stat() per open file-based table.
std::optional<std::string> changed_open_table();

// What an update does to a key that is already in the table, from the duplicate_* flags
// (Postfix's DICT_FLAG_DUP_*). postmap sets warn by default, -r replace, -w ignore.
enum class DuplicateAction {
    fail,     // no flag: an error, "WHERE: duplicate entry: "KEY"" (Postfix: fatal)
    warn,     // keep the first value, log that same text as a warning
    ignore,   // keep the first value silently
    replace,  // store the new value
};
// replace wins over ignore, ignore over warn.
DuplicateAction duplicate_action(MapFlag flags);
// For a type's do_update (or a loader such as texthash) that found `key` already there:
// true when the new value must be stored, false to keep the old one (after the warning
// when the flags ask for it), an ErrorKind::config Error for DuplicateAction::fail.
// `where` names the table as Postfix does: "/etc/postfix/access.db" (hash), "/etc/x, line 3"
// (texthash).
Result<bool> resolve_duplicate(MapFlag flags, std::string_view where, std::string_view key);

// One table type in the registry.
struct MapTypeInfo {
    std::string_view name;  // before the colon: "hash"
    MapKeyKind key_kind = MapKeyKind::fixed;
    bool has_file = false;         // name is a path (hash, btree, cidr, regexp, texthash)
    bool file_suffix_db = false;   // the file is name + ".db" (hash, btree), source is name
    bool supports_update = false;  // postmap can build or change it
    std::function<Result<std::unique_ptr<Map>>(std::string_view name, const MapOpenOptions&)> open;
};

// Every registered type, sorted by name (postconf -m prints these).
const std::vector<MapTypeInfo>& map_types();
const MapTypeInfo* find_map_type(std::string_view name);

// Opens "type:name". Errors: a spec without a type ("need dictionary_type:dictionary_name"),
// an unsupported type ("unsupported dictionary type: X"), a missing or malformed file
// (naming the file and line), as Postfix words them.
Result<std::unique_ptr<Map>> open_map(std::string_view spec, const MapOpenOptions& options = {});

}  // namespace postern
