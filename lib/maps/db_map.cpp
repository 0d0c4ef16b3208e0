// hash: and btree: tables on Berkeley DB 5.3; see db_map.hpp for the compatibility rules.
#include "maps/db_map.hpp"

#include <db.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "maps/map_openers.hpp"
#include "util/file.hpp"
#include "util/log.hpp"

namespace postern {

namespace {

// Postfix warns about a source newer than its table only when the source is older than
// this, so that "edit, then postmap" does not race with a daemon's open.
constexpr time_t kSourceSettleSeconds = 100;

// The last message Berkeley DB reported through its error callback: it says what "Invalid
// argument" meant ("unexpected file type or format"). Without a callback it would print
// nothing; Postfix shows no detail at all.
thread_local std::string last_db_message;

void remember_db_message(const DB_ENV*, const char*, const char* message) {
    last_db_message = message ? message : "";
}

// db_strerror() plus Berkeley DB's own explanation when it gave one.
std::string db_error_text(int code) {
    std::string text = db_strerror(code);
    if (!last_db_message.empty()) {
        // Berkeley DB prefixes its messages with a "BDB0004 " style number: keep it, it is
        // what its documentation indexes.
        text += " (" + last_db_message + ")";
        last_db_message.clear();
    }
    return text;
}

// The same file (device and inode), whatever happened to its content.
bool same_file(const FileIdentity& a, const FileIdentity& b) {
    return a.device == b.device && a.inode == b.inode;
}

// The Berkeley DB handle. Closing flushes a writable table unless `discard` is set.
class DbHandle {
  public:
    DbHandle() = default;
    explicit DbHandle(DB* db) : db_(db) {}
    DbHandle(const DbHandle&) = delete;
    DbHandle& operator=(const DbHandle&) = delete;
    DbHandle(DbHandle&& other) noexcept : db_(other.db_) { other.db_ = nullptr; }
    DbHandle& operator=(DbHandle&& other) noexcept {
        if (this != &other) {
            (void)close(false);
            db_ = other.db_;
            other.db_ = nullptr;
        }
        return *this;
    }
    ~DbHandle() { (void)close(false); }

    DB* get() const { return db_; }
    // Returns Berkeley DB's status; the handle is gone either way.
    int close(bool discard) {
        if (db_ == nullptr)
            return 0;
        int status = db_->close(db_, discard ? DB_NOSYNC : 0);
        db_ = nullptr;
        return status;
    }

  private:
    DB* db_ = nullptr;
};

// A Berkeley DB cursor that closes itself.
class DbCursor {
  public:
    explicit DbCursor(DBC* cursor) : cursor_(cursor) {}
    DbCursor(const DbCursor&) = delete;
    DbCursor& operator=(const DbCursor&) = delete;
    ~DbCursor() {
        if (cursor_ != nullptr)
            (void)cursor_->close(cursor_);
    }
    DBC* get() const { return cursor_; }

  private:
    DBC* cursor_;
};

// An flock(2) held for one access; released when it goes out of scope.
class ScopedFlock {
  public:
    ScopedFlock() = default;
    ScopedFlock(const ScopedFlock&) = delete;
    ScopedFlock& operator=(const ScopedFlock&) = delete;
    ~ScopedFlock() {
        if (fd_ >= 0)
            (void)::flock(fd_, LOCK_UN);
    }
    // LOCK_SH or LOCK_EX; waits for the lock as Postfix does.
    Status acquire(int fd, int operation, const std::string& path) {
        while (::flock(fd, operation) != 0) {
            if (errno != EINTR)
                return Error(ErrorKind::temporary,
                             path + ": lock dictionary: " + std::strerror(errno));
        }
        fd_ = fd;
        return {};
    }

  private:
    int fd_ = -1;
};

DBT dbt_of(std::string_view bytes) {
    DBT dbt;
    std::memset(&dbt, 0, sizeof dbt);
    // Berkeley DB does not write through a key or value it is given to read or store.
    dbt.data = const_cast<char*>(bytes.data());
    dbt.size = static_cast<u_int32_t>(bytes.size());
    return dbt;
}

// A stored key or value as Postfix reads it: a C string, so it ends at the first NUL
// (the trailing one of a NUL-terminated entry, or a stray one inside).
std::string_view stored_text(const DBT& dbt) {
    const char* data = static_cast<const char*>(dbt.data);
    if (data == nullptr)
        return {};
    return std::string_view(data, ::strnlen(data, dbt.size));
}

// Postfix's wording, "open database X.db: No such file or directory". A file Berkeley DB
// rejects gets its explanation appended: Postfix says only "Invalid argument".
Error open_error(const std::string& path, int code) {
    std::string text = "open database " + path + ": ";
    if (code == ENOENT) {
        last_db_message.clear();
        return Error(ErrorKind::not_found, text + std::strerror(code));
    }
    bool rejected = code < 0 || !last_db_message.empty();
    return Error(rejected ? ErrorKind::corrupt : ErrorKind::io, text + db_error_text(code));
}

class DbMap final : public Map {
  public:
    DbMap(DbKind kind, std::string_view name, const MapOpenOptions& options)
        : Map(kind == DbKind::hash ? "hash" : "btree", std::string(name), options.flags,
              MapKeyKind::fixed),
          kind_(kind),
          access_(options.access),
          path_(db_file_path(name)),
          try_nul_(has_flag(options.flags, MapFlag::try_nul)),
          try_no_nul_(has_flag(options.flags, MapFlag::try_no_nul)) {}

    ~DbMap() override;

    Status open(const MapOpenOptions& options);
    bool changed_on_disk() const override;

  protected:
    Result<std::optional<std::string>> do_lookup(std::string_view key) override;
    Status do_update(std::string_view key, std::string_view value) override;
    Result<bool> do_remove(std::string_view key) override;
    Status do_for_each(
        const std::function<Status(std::string_view key, std::string_view value)>& visit) override;
    Status do_commit() override;

  private:
    Status open_existing(const MapOpenOptions& options);
    Status open_temporary(const MapOpenOptions& options);
    Status create_temporary_file();
    Status set_new_file_owner(const MapOpenOptions& options, const struct stat* existing);
    Status open_database(const std::string& file, bool create, bool read_only);
    void warn_if_older_than_source() const;
    Status lock(ScopedFlock& guard, int operation);
    Result<std::optional<std::string>> get(std::string_view key, bool with_nul);
    Result<bool> erase(std::string_view key, bool with_nul);
    Status store(std::string_view key, std::string_view value);
    Status read_only_error() const;
    Error db_error(const char* what, int code) const;
    std::string_view with_terminator(std::string& buffer, std::string_view text, bool with_nul);

    DbKind kind_;
    MapAccess access_;
    std::string path_;            // NAME.db
    std::string temporary_path_;  // create_truncate: the table being built, until commit()
    bool try_nul_;                // what lookups still try (Postfix narrows it on a hit)
    bool try_no_nul_;
    Fd lock_fd_;  // the file's own descriptor: flock and identity
    FileIdentity identity_;
    DbHandle db_;
    // Reused for the NUL-terminated key and value: no allocation per lookup once warm.
    std::string key_buffer_;
    std::string value_buffer_;
};

DbMap::~DbMap() {
    if (temporary_path_.empty())
        return;
    // Never committed: the old table stays, the half-built one goes.
    (void)db_.close(true);
    ::unlink(temporary_path_.c_str());
}

Status DbMap::open(const MapOpenOptions& options) {
    if (access_ == MapAccess::create_truncate)
        return open_temporary(options);
    return open_existing(options);
}

// Opens NAME.db itself. Berkeley DB opens the file by name too; when the two opens saw
// different files (postmap renamed a new table in between), it is tried again.
Status DbMap::open_existing(const MapOpenOptions& options) {
    bool read_only = access_ == MapAccess::read_only;
    for (int attempt = 0;; ++attempt) {
        int open_flags = (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC;
        bool created = false;
        lock_fd_.reset(::open(path_.c_str(), open_flags));
        if (!lock_fd_.valid() && errno == ENOENT && access_ == MapAccess::create) {
            lock_fd_.reset(::open(path_.c_str(), open_flags | O_CREAT | O_EXCL, 0600));
            created = lock_fd_.valid();
            if (!created && errno == EEXIST && attempt < 3)
                continue;
        }
        if (!lock_fd_.valid())
            return open_error(path_, errno);
        if (created)
            if (Status owned = set_new_file_owner(options, nullptr); !owned)
                return owned;
        auto identity = FileIdentity::of_fd(lock_fd_.get(), path_);
        if (!identity.ok())
            return identity.error();
        identity_ = *identity;
        if (Status opened = open_database(path_, created, read_only); !opened)
            return opened;
        int db_fd = -1;
        if (db_.get()->fd(db_.get(), &db_fd) != 0 || attempt >= 3)
            break;
        auto opened_by_db = FileIdentity::of_fd(db_fd, path_);
        if (!opened_by_db.ok() || same_file(*opened_by_db, identity_))
            break;
        (void)db_.close(true);
    }
    // As Postfix: only handles that lock per access (daemons, postmap -q/-d/-s) warn.
    if (has_flag(flags(), MapFlag::lock))
        warn_if_older_than_source();
    return {};
}

// create_truncate: a new table in a temporary file beside NAME.db, renamed over it by
// commit(). Nobody else knows the file, so it is built without locks.
Status DbMap::open_temporary(const MapOpenOptions& options) {
    if (Status created = create_temporary_file(); !created)
        return created;
    struct stat existing {};
    bool exists = ::stat(path_.c_str(), &existing) == 0;
    Status owned = set_new_file_owner(options, exists ? &existing : nullptr);
    if (owned)
        owned = open_database(temporary_path_, true, false);
    if (!owned) {
        (void)db_.close(true);
        ::unlink(temporary_path_.c_str());
        temporary_path_.clear();
    }
    return owned;
}

Status DbMap::create_temporary_file() {
    static unsigned sequence = 0;
    for (int attempt = 0; attempt < 100; ++attempt) {
        std::string candidate =
            path_ + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(++sequence);
        lock_fd_.reset(
            ::open(candidate.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
        if (lock_fd_.valid()) {
            temporary_path_ = std::move(candidate);
            return {};
        }
        if (errno != EEXIST)
            return open_error(candidate, errno);
    }
    return Error(ErrorKind::io, "open database " + path_ + ": cannot create a temporary file");
}

// The mode and owner of a new file: those of the table it replaces (an administrator's
// chmod 600 on sasl_passwd.db stays), else the ones the caller asked for, exactly (not
// filtered by the umask: postmap derives them from the source file's permissions).
Status DbMap::set_new_file_owner(const MapOpenOptions& options, const struct stat* existing) {
    const std::string& file = temporary_path_.empty() ? path_ : temporary_path_;
    mode_t mode = existing ? (existing->st_mode & 07777) : options.create_mode;
    if (existing) {
        if (::fchown(lock_fd_.get(), existing->st_uid, existing->st_gid) != 0 &&
            (existing->st_uid != ::geteuid() || existing->st_gid != ::getegid()))
            log_warning("%s: cannot keep the owner of %s: %s", file.c_str(), path_.c_str(),
                        std::strerror(errno));
    } else if (options.create_owner || options.create_group) {
        uid_t owner = options.create_owner ? *options.create_owner : static_cast<uid_t>(-1);
        gid_t group = options.create_group ? *options.create_group : static_cast<gid_t>(-1);
        if (::fchown(lock_fd_.get(), owner, group) != 0)
            return system_error("chown " + file, errno);
    }
    if (::fchmod(lock_fd_.get(), mode) != 0)
        return system_error("chmod " + file, errno);
    return {};
}

Status DbMap::open_database(const std::string& file, bool create, bool read_only) {
    DB* raw = nullptr;
    if (int status = db_create(&raw, nullptr, 0); status != 0)
        return Error(ErrorKind::io, "open database " + path_ + ": " + db_strerror(status));
    db_ = DbHandle(raw);
    raw->set_errcall(raw, remember_db_message);
    last_db_message.clear();
    uint32_t cache =
        access_ == MapAccess::create_truncate ? kDbCreateCacheBytes : kDbReadCacheBytes;
    if (int status = raw->set_cachesize(raw, 0, cache, 0); status != 0)
        return open_error(path_, status);
    u_int32_t db_flags = (read_only ? DB_RDONLY : 0) | (create ? DB_CREATE : 0);
    DBTYPE type = kind_ == DbKind::hash ? DB_HASH : DB_BTREE;
    if (int status = raw->open(raw, nullptr, file.c_str(), nullptr, type, db_flags, 0600);
        status != 0) {
        (void)db_.close(true);
        return open_error(file, status);
    }
    return {};
}

void DbMap::warn_if_older_than_source() const {
    struct stat source {};
    if (::stat(name().c_str(), &source) != 0)
        return;
    if (source.st_mtime > identity_.mtime_seconds &&
        source.st_mtime < ::time(nullptr) - kSourceSettleSeconds)
        log_warning("database %s is older than source file %s", path_.c_str(), name().c_str());
}

// Replaced (renamed over, as Postern's postmap does: the open file's link count drops to
// zero and the path names another inode) or rewritten in place (Postfix's postmap truncates
// and refills the same file). Our own updates change mtime and size too, so a writable
// table only watches for replacement.
bool DbMap::changed_on_disk() const {
    if (!temporary_path_.empty() || !lock_fd_.valid())
        return false;
    struct stat open_file {};
    if (::fstat(lock_fd_.get(), &open_file) != 0 || open_file.st_nlink == 0)
        return true;
    if (access_ == MapAccess::read_only)
        return identity_.changed(path_);
    auto at_path = FileIdentity::of_path(path_);
    return !at_path.ok() || !same_file(*at_path, identity_);
}

Status DbMap::lock(ScopedFlock& guard, int operation) {
    if (!has_flag(flags(), MapFlag::lock) || !temporary_path_.empty())
        return {};
    return guard.acquire(lock_fd_.get(), operation, path_);
}

Error DbMap::db_error(const char* what, int code) const {
    return Error(ErrorKind::temporary,
                 std::string(what) + " " + path_ + ": " + db_error_text(code));
}

Status DbMap::read_only_error() const {
    return Error(ErrorKind::config, "table " + spec() + " is open read-only");
}

std::string_view DbMap::with_terminator(std::string& buffer, std::string_view text, bool with_nul) {
    if (!with_nul)
        return text;
    buffer.assign(text);
    buffer.push_back('\0');
    return buffer;
}

Result<std::optional<std::string>> DbMap::get(std::string_view key, bool with_nul) {
    DBT db_key = dbt_of(with_terminator(key_buffer_, key, with_nul));
    DBT db_value;
    std::memset(&db_value, 0, sizeof db_value);
    // No DB_DBT_MALLOC: the value points into Berkeley DB's own buffer until the next call.
    int status = db_.get()->get(db_.get(), nullptr, &db_key, &db_value, 0);
    if (status == DB_NOTFOUND)
        return std::optional<std::string>();
    if (status != 0)
        return db_error("error reading", status);
    return std::optional<std::string>(std::string(stored_text(db_value)));
}

Result<std::optional<std::string>> DbMap::do_lookup(std::string_view key) {
    ScopedFlock guard;
    if (Status locked = lock(guard, LOCK_SH); !locked)
        return locked.error();
    if (try_nul_) {
        auto found = get(key, true);
        if (!found || found->has_value()) {
            if (found)
                try_no_nul_ = false;
            return found;
        }
    }
    if (try_no_nul_) {
        auto found = get(key, false);
        if (found && found->has_value())
            try_nul_ = false;
        return found;
    }
    return std::optional<std::string>();
}

// Writes with the convention already in force; undecided (both flags) means Postfix's
// Linux default, the trailing NUL, from here on.
Status DbMap::store(std::string_view key, std::string_view value) {
    if (try_nul_ && try_no_nul_)
        try_no_nul_ = false;
    DBT db_key = dbt_of(with_terminator(key_buffer_, key, try_nul_));
    DBT db_value = dbt_of(with_terminator(value_buffer_, value, try_nul_));
    bool replace = has_flag(flags(), MapFlag::duplicate_replace);
    int status =
        db_.get()->put(db_.get(), nullptr, &db_key, &db_value, replace ? 0 : DB_NOOVERWRITE);
    if (status == DB_KEYEXIST) {
        // Postfix names the table by its file here: "/etc/postfix/access.db: duplicate entry".
        auto store_anyway = resolve_duplicate(flags(), path_, key);
        if (!store_anyway.ok())
            return store_anyway.error();
        if (!*store_anyway)
            return {};
        status = db_.get()->put(db_.get(), nullptr, &db_key, &db_value, 0);
    }
    if (status != 0)
        return db_error("error writing", status);
    if (has_flag(flags(), MapFlag::sync_update) && (status = db_.get()->sync(db_.get(), 0)) != 0)
        return db_error("error syncing", status);
    return {};
}

Status DbMap::do_update(std::string_view key, std::string_view value) {
    if (access_ == MapAccess::read_only)
        return read_only_error();
    ScopedFlock guard;
    if (Status locked = lock(guard, LOCK_EX); !locked)
        return locked;
    return store(key, value);
}

Result<bool> DbMap::erase(std::string_view key, bool with_nul) {
    DBT db_key = dbt_of(with_terminator(key_buffer_, key, with_nul));
    int status = db_.get()->del(db_.get(), nullptr, &db_key, 0);
    if (status == DB_NOTFOUND)
        return false;
    if (status != 0)
        return db_error("error deleting from", status);
    if (has_flag(flags(), MapFlag::sync_update) && (status = db_.get()->sync(db_.get(), 0)) != 0)
        return db_error("error syncing", status);
    return true;
}

// Tries the key as lookups do, and learns the convention the same way.
Result<bool> DbMap::do_remove(std::string_view key) {
    if (access_ == MapAccess::read_only)
        return read_only_error().error();
    ScopedFlock guard;
    if (Status locked = lock(guard, LOCK_EX); !locked)
        return locked.error();
    if (try_nul_) {
        auto removed = erase(key, true);
        if (!removed || *removed) {
            if (removed)
                try_no_nul_ = false;
            return removed;
        }
    }
    if (try_no_nul_) {
        auto removed = erase(key, false);
        if (removed && *removed)
            try_nul_ = false;
        return removed;
    }
    return false;
}

Status DbMap::do_for_each(
    const std::function<Status(std::string_view key, std::string_view value)>& visit) {
    ScopedFlock guard;
    if (Status locked = lock(guard, LOCK_SH); !locked)
        return locked;
    DBC* raw = nullptr;
    if (int status = db_.get()->cursor(db_.get(), nullptr, &raw, 0); status != 0)
        return db_error("error reading", status);
    DbCursor cursor(raw);
    for (;;) {
        DBT key;
        DBT value;
        std::memset(&key, 0, sizeof key);
        std::memset(&value, 0, sizeof value);
        int status = cursor.get()->get(cursor.get(), &key, &value, DB_NEXT);
        if (status == DB_NOTFOUND)
            return {};
        if (status != 0)
            return db_error("error reading", status);
        if (Status visited = visit(stored_text(key), stored_text(value)); !visited)
            return visited;
    }
}

// create_truncate: flush, fsync, rename over NAME.db, fsync the directory; afterwards the
// handle goes on serving the new NAME.db. Other modes: flush to disk.
Status DbMap::do_commit() {
    if (access_ == MapAccess::read_only)
        return {};
    if (int status = db_.get()->sync(db_.get(), 0); status != 0)
        return db_error("error syncing", status);
    if (::fsync(lock_fd_.get()) != 0)
        return system_error("fsync " + (temporary_path_.empty() ? path_ : temporary_path_), errno);
    if (temporary_path_.empty())
        return {};
    if (::rename(temporary_path_.c_str(), path_.c_str()) != 0)
        return system_error("rename " + temporary_path_ + " to " + path_, errno);
    temporary_path_.clear();
    if (auto identity = FileIdentity::of_fd(lock_fd_.get(), path_); identity.ok())
        identity_ = *identity;
    return fsync_directory(directory_of(path_));
}

}  // namespace

std::string db_file_path(std::string_view name) {
    return std::string(name) + ".db";
}

Result<std::unique_ptr<Map>> open_db_map(DbKind kind, std::string_view name,
                                         const MapOpenOptions& options) {
    auto map = std::make_unique<DbMap>(kind, name, options);
    if (Status opened = map->open(options); !opened)
        return opened.error();
    return std::unique_ptr<Map>(std::move(map));
}

MapOpenResult open_hash_map(std::string_view name, const MapOpenOptions& options) {
    return open_db_map(DbKind::hash, name, options);
}

MapOpenResult open_btree_map(std::string_view name, const MapOpenOptions& options) {
    return open_db_map(DbKind::btree, name, options);
}

}  // namespace postern
