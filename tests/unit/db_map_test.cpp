// hash: and btree: tables (lib/maps/db_map.cpp): building, reading, the trailing-NUL
// conventions, duplicates, atomic replacement, locks, broken and truncated files.
// Compatibility with real Postfix's files is tests/system/maps_db_compat_test.py.
#include "maps/db_map.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "maps/map_openers.hpp"
#include "util/file.hpp"
#include "util/log.hpp"

using namespace postern;

namespace {

struct TemporaryDirectory {
    TemporaryDirectory() {
        char pattern[] = "/tmp/postern-db-map-XXXXXX";
        REQUIRE(::mkdtemp(pattern) != nullptr);
        path = pattern;
    }
    ~TemporaryDirectory() { std::filesystem::remove_all(path); }
    std::string file(const std::string& name) const { return path + "/" + name; }
    std::vector<std::string> entries() const {
        std::vector<std::string> names;
        for (const auto& entry : std::filesystem::directory_iterator(path))
            names.push_back(entry.path().filename().string());
        std::sort(names.begin(), names.end());
        return names;
    }
    std::string path;
};

const char* kind_name(DbKind kind) {
    return kind == DbKind::hash ? "hash" : "btree";
}

MapOpenOptions options_for(MapAccess access,
                           MapFlag flags = MapFlag::try_nul | MapFlag::try_no_nul) {
    MapOpenOptions options;
    options.access = access;
    options.flags = flags;
    return options;
}

std::unique_ptr<Map> open_ok(DbKind kind, const std::string& name, const MapOpenOptions& options) {
    auto map = open_db_map(kind, name, options);
    if (!map.ok())
        FAIL(map.error().message());
    return std::move(map.value());
}

// Builds NAME.db from `entries` the way postmap does, and commits it.
void build(DbKind kind, const std::string& name,
           const std::vector<std::pair<std::string, std::string>>& entries,
           MapFlag flags = MapFlag::try_nul | MapFlag::try_no_nul | MapFlag::duplicate_warn) {
    auto map = open_ok(kind, name, options_for(MapAccess::create_truncate, flags));
    for (const auto& [key, value] : entries)
        REQUIRE(map->update(key, value).ok());
    REQUIRE(map->commit().ok());
}

std::optional<std::string> lookup(Map& map, std::string_view key) {
    auto found = map.lookup(key);
    if (!found.ok())
        FAIL(found.error().message());
    return *found;
}

std::map<std::string, std::string> contents(Map& map) {
    std::map<std::string, std::string> entries;
    Status scanned = map.for_each([&](std::string_view key, std::string_view value) {
        entries.emplace(key, value);
        return Status();
    });
    REQUIRE(scanned.ok());
    return entries;
}

// Runs `work` in a child whose log goes to stderr as a tool's ("postmap: warning: ..."),
// and returns what it wrote there.
template <typename Function>
std::string warnings_of(const TemporaryDirectory& directory, Function work) {
    std::string captured = directory.file("stderr");
    std::fflush(nullptr);
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        Fd out(::open(captured.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
        if (!out.valid() || ::dup2(out.get(), STDERR_FILENO) < 0)
            ::_exit(2);
        LogSettings settings;
        settings.program = "postmap";
        settings.maillog_file = "/dev/null";
        settings.also_stderr = true;
        if (!log_init(settings).ok())
            ::_exit(3);
        ::_exit(work() ? 0 : 4);
    }
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    auto text = read_file(captured);
    REQUIRE(text.ok());
    ::unlink(captured.c_str());
    return *text;
}

void set_mtime(const std::string& path, time_t when) {
    struct timespec times[2] = {{when, 0}, {when, 0}};
    REQUIRE(::utimensat(AT_FDCWD, path.c_str(), times, 0) == 0);
}

}  // namespace

TEST_CASE("a built table answers hits and misses", "[maps]") {
    DbKind kind = GENERATE(DbKind::hash, DbKind::btree);
    INFO(kind_name(kind));
    TemporaryDirectory dir;
    std::string name = dir.file("sasl_passwd");
    build(kind, name,
          {{"[smtp.example.com]:587", "user@example.com:secret"},
           {"spaces", "a value  with   spaces"},
           {"empty", ""},
           {"long", std::string(10000, 'x')}});
    auto map = open_ok(kind, name, options_for(MapAccess::read_only));
    CHECK(map->type() == kind_name(kind));
    CHECK(map->name() == name);
    CHECK(lookup(*map, "[smtp.example.com]:587") == "user@example.com:secret");
    CHECK(lookup(*map, "spaces") == "a value  with   spaces");
    CHECK(lookup(*map, "empty") == "");
    CHECK(lookup(*map, "long") == std::string(10000, 'x'));
    CHECK_FALSE(lookup(*map, "[smtp.example.com]").has_value());
    CHECK_FALSE(lookup(*map, "spaces ").has_value());
    CHECK_FALSE(lookup(*map, "").has_value());
    CHECK(map->key_kind() == MapKeyKind::fixed);
}

TEST_CASE("the registry opens hash: and btree: files", "[maps]") {
    std::string type = GENERATE("hash", "btree");
    TemporaryDirectory dir;
    std::string name = dir.file("transport");
    build(type == "hash" ? DbKind::hash : DbKind::btree, name, {{"example.com", "smtp:[relay]"}});
    auto map = open_map(type + ":" + name);
    REQUIRE(map.ok());
    CHECK(lookup(**map, "example.com") == "smtp:[relay]");
    const MapTypeInfo* info = find_map_type(type);
    REQUIRE(info != nullptr);
    CHECK(info->file_suffix_db);
    CHECK(db_file_path(name) == name + ".db");
}

TEST_CASE("keys are stored with a trailing NUL unless try_no_nul alone is given", "[maps]") {
    DbKind kind = GENERATE(DbKind::hash, DbKind::btree);
    TemporaryDirectory dir;
    std::string with_nul = dir.file("with_nul");
    std::string without_nul = dir.file("without_nul");
    build(kind, with_nul, {{"key", "value"}});                          // postmap
    build(kind, without_nul, {{"key", "value"}}, MapFlag::try_no_nul);  // postmap -n

    auto only_nul = options_for(MapAccess::read_only, MapFlag::try_nul);
    auto only_no_nul = options_for(MapAccess::read_only, MapFlag::try_no_nul);
    CHECK(lookup(*open_ok(kind, with_nul, only_nul), "key") == "value");
    CHECK_FALSE(lookup(*open_ok(kind, with_nul, only_no_nul), "key").has_value());
    CHECK(lookup(*open_ok(kind, without_nul, only_no_nul), "key") == "value");
    CHECK_FALSE(lookup(*open_ok(kind, without_nul, only_nul), "key").has_value());
    // The default reader tries both and finds either.
    auto either = options_for(MapAccess::read_only);
    CHECK(lookup(*open_ok(kind, with_nul, either), "key") == "value");
    CHECK(lookup(*open_ok(kind, without_nul, either), "key") == "value");
    // A scan shows the text without the terminator either way.
    CHECK(contents(*open_ok(kind, with_nul, either)) ==
          std::map<std::string, std::string>{{"key", "value"}});
    CHECK(contents(*open_ok(kind, without_nul, either)) ==
          std::map<std::string, std::string>{{"key", "value"}});
}

TEST_CASE("a reader keeps the convention of its first hit, as Postfix does", "[maps]") {
    TemporaryDirectory dir;
    std::string name = dir.file("mixed");
    {
        // One entry of each kind in one file: not something postmap makes, but it shows
        // which convention a handle has settled on.
        auto map =
            open_ok(DbKind::hash, name, options_for(MapAccess::create_truncate, MapFlag::try_nul));
        REQUIRE(map->update("nul", "1").ok());
        REQUIRE(map->commit().ok());
        auto plain =
            open_ok(DbKind::hash, name, options_for(MapAccess::read_write, MapFlag::try_no_nul));
        REQUIRE(plain->update("plain", "2").ok());
        REQUIRE(plain->commit().ok());
    }
    auto first_nul = open_ok(DbKind::hash, name, options_for(MapAccess::read_only));
    CHECK(lookup(*first_nul, "nul") == "1");
    CHECK_FALSE(lookup(*first_nul, "plain").has_value());
    auto first_plain = open_ok(DbKind::hash, name, options_for(MapAccess::read_only));
    CHECK(lookup(*first_plain, "plain") == "2");
    CHECK_FALSE(lookup(*first_plain, "nul").has_value());
}

TEST_CASE("fold_fixed makes keys case-insensitive", "[maps]") {
    DbKind kind = GENERATE(DbKind::hash, DbKind::btree);
    TemporaryDirectory dir;
    std::string name = dir.file("access");
    build(kind, name, {{"User@Example.COM", "OK"}},
          MapFlag::fold_fixed | MapFlag::try_nul | MapFlag::try_no_nul);
    auto folded = open_ok(kind, name,
                          options_for(MapAccess::read_only, MapFlag::fold_fixed | MapFlag::try_nul |
                                                                MapFlag::try_no_nul));
    CHECK(lookup(*folded, "user@example.com") == "OK");
    CHECK(lookup(*folded, "USER@EXAMPLE.COM") == "OK");
    CHECK(contents(*folded) == std::map<std::string, std::string>{{"user@example.com", "OK"}});
    // Without folding (postmap -f) the key is looked up as given.
    auto exact = open_ok(kind, name, options_for(MapAccess::read_only));
    CHECK(lookup(*exact, "user@example.com") == "OK");
    CHECK_FALSE(lookup(*exact, "User@Example.COM").has_value());
}

TEST_CASE("duplicate keys: warn and ignore keep the first, replace the last", "[maps]") {
    DbKind kind = GENERATE(DbKind::hash, DbKind::btree);
    TemporaryDirectory dir;
    std::string name = dir.file("virtual");
    auto base = MapFlag::try_nul | MapFlag::try_no_nul;

    std::string warnings = warnings_of(dir, [&] {
        auto map = open_db_map(
            kind, name, options_for(MapAccess::create_truncate, base | MapFlag::duplicate_warn));
        return map.ok() && (*map)->update("key", "first").ok() &&
               (*map)->update("key", "second").ok() && (*map)->commit().ok();
    });
    CHECK(warnings == "postmap: warning: " + name + ".db: duplicate entry: \"key\"\n");
    CHECK(lookup(*open_ok(kind, name, options_for(MapAccess::read_only)), "key") == "first");

    build(kind, name, {{"key", "first"}, {"key", "second"}}, base | MapFlag::duplicate_ignore);
    CHECK(lookup(*open_ok(kind, name, options_for(MapAccess::read_only)), "key") == "first");

    build(kind, name, {{"key", "first"}, {"key", "second"}}, base | MapFlag::duplicate_replace);
    CHECK(lookup(*open_ok(kind, name, options_for(MapAccess::read_only)), "key") == "second");

    // No duplicate flag (a daemon's update): an error, as Postfix's is fatal.
    auto strict = open_ok(kind, name, options_for(MapAccess::create_truncate, base));
    REQUIRE(strict->update("key", "first").ok());
    Status again = strict->update("key", "second");
    REQUIRE_FALSE(again.ok());
    CHECK(again.error().message() == name + ".db: duplicate entry: \"key\"");
}

TEST_CASE("updates and removals on an existing table", "[maps]") {
    DbKind kind = GENERATE(DbKind::hash, DbKind::btree);
    TemporaryDirectory dir;
    std::string name = dir.file("table");
    build(kind, name, {{"a", "1"}, {"b", "2"}});
    {
        auto map = open_ok(
            kind, name,
            options_for(MapAccess::read_write, MapFlag::try_nul | MapFlag::try_no_nul |
                                                   MapFlag::duplicate_replace | MapFlag::lock));
        REQUIRE(map->update("c", "3").ok());
        REQUIRE(map->update("a", "one").ok());
        auto removed = map->remove("b");
        REQUIRE(removed.ok());
        CHECK(*removed);
        auto again = map->remove("b");
        REQUIRE(again.ok());
        CHECK_FALSE(*again);
        REQUIRE(map->commit().ok());
    }
    auto map = open_ok(kind, name, options_for(MapAccess::read_only));
    CHECK(contents(*map) == std::map<std::string, std::string>{{"a", "one"}, {"c", "3"}});
    // A read-only table refuses changes.
    CHECK_FALSE(map->update("d", "4").ok());
    CHECK_FALSE(map->remove("a").ok());
}

TEST_CASE("MapAccess::create makes a missing table with the requested mode", "[maps]") {
    TemporaryDirectory dir;
    std::string name = dir.file("cache");
    auto options = options_for(MapAccess::create);
    options.create_mode = 0640;
    {
        auto map = open_ok(DbKind::btree, name, options);
        REQUIRE(map->update("client", "1700000000").ok());
    }
    struct stat st {};
    REQUIRE(::stat((name + ".db").c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0640);
    // Opening it again keeps what is there.
    auto map = open_ok(DbKind::btree, name, options);
    CHECK(lookup(*map, "client") == "1700000000");
}

TEST_CASE("for_each visits every entry and stops at the visitor's error", "[maps]") {
    DbKind kind = GENERATE(DbKind::hash, DbKind::btree);
    TemporaryDirectory dir;
    std::string name = dir.file("big");
    std::vector<std::pair<std::string, std::string>> entries;
    for (int i = 0; i < 5000; ++i)
        entries.emplace_back("key" + std::to_string(i), "value " + std::to_string(i * 7));
    build(kind, name, entries);
    auto map =
        open_ok(kind, name, options_for(MapAccess::read_only, MapFlag::try_nul | MapFlag::lock));
    auto all = contents(*map);
    REQUIRE(all.size() == entries.size());
    for (const auto& [key, value] : entries)
        CHECK(all.at(key) == value);
    if (kind == DbKind::btree) {
        // A btree scans in key order (postmap -s on a btree: prints sorted).
        std::vector<std::string> order;
        REQUIRE(map->for_each([&](std::string_view key, std::string_view) {
                       order.emplace_back(key);
                       return Status();
                   })
                    .ok());
        CHECK(std::is_sorted(order.begin(), order.end()));
    }
    int visited = 0;
    Status stopped = map->for_each([&](std::string_view, std::string_view) {
        return ++visited == 3 ? Status(Error(ErrorKind::io, "stop")) : Status();
    });
    REQUIRE_FALSE(stopped.ok());
    CHECK(stopped.error().message() == "stop");
    CHECK(visited == 3);
}

TEST_CASE("a rebuild replaces the table atomically, keeping its mode", "[maps]") {
    DbKind kind = GENERATE(DbKind::hash, DbKind::btree);
    TemporaryDirectory dir;
    std::string name = dir.file("sasl_passwd");
    std::string path = name + ".db";
    auto options = options_for(MapAccess::create_truncate, MapFlag::try_nul | MapFlag::try_no_nul);
    options.create_mode = 0640;
    build(kind, name, {{"old", "1"}});
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    // A new file gets create_mode exactly (the umask does not apply).
    // build() used the default 0644; the administrator then tightens it.
    CHECK((st.st_mode & 07777) == 0644);
    REQUIRE(::chmod(path.c_str(), 0600) == 0);

    auto reader = open_ok(kind, name, options_for(MapAccess::read_only));
    CHECK_FALSE(reader->changed_on_disk());
    {
        auto writer = open_ok(kind, name, options);
        REQUIRE(writer->update("new", "2").ok());
        // Until commit() the old table is what everybody sees.
        auto during = open_ok(kind, name, options_for(MapAccess::read_only));
        CHECK(lookup(*during, "old") == "1");
        CHECK_FALSE(lookup(*during, "new").has_value());
        CHECK_FALSE(reader->changed_on_disk());
        CHECK(dir.entries().size() == 2);  // sasl_passwd.db and the table being built
        REQUIRE(writer->commit().ok());
        CHECK(lookup(*writer, "new") == "2");
        CHECK_FALSE(writer->changed_on_disk());
    }
    CHECK(dir.entries() == std::vector<std::string>{"sasl_passwd.db"});
    CHECK(reader->changed_on_disk());
    // The open handle still answers from the table it opened.
    CHECK(lookup(*reader, "old") == "1");
    auto fresh = open_ok(kind, name, options_for(MapAccess::read_only));
    CHECK(contents(*fresh) == std::map<std::string, std::string>{{"new", "2"}});
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0600);
    CHECK(st.st_uid == ::geteuid());
}

TEST_CASE("a new table gets create_mode exactly", "[maps]") {
    TemporaryDirectory dir;
    std::string name = dir.file("relocated");
    auto options = options_for(MapAccess::create_truncate);
    options.create_mode = 0604;
    mode_t saved = ::umask(0077);
    {
        auto map = open_ok(DbKind::hash, name, options);
        REQUIRE(map->commit().ok());
    }
    ::umask(saved);
    struct stat st {};
    REQUIRE(::stat((name + ".db").c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0604);
}

TEST_CASE("without commit() a rebuild leaves the old table and no temporary file", "[maps]") {
    DbKind kind = GENERATE(DbKind::hash, DbKind::btree);
    TemporaryDirectory dir;
    std::string name = dir.file("aliases");
    {
        auto abandoned = open_ok(kind, name, options_for(MapAccess::create_truncate));
        REQUIRE(abandoned->update("postmaster", "root").ok());
    }
    CHECK(dir.entries().empty());
    build(kind, name, {{"postmaster", "root"}});
    {
        auto abandoned = open_ok(kind, name, options_for(MapAccess::create_truncate));
        REQUIRE(abandoned->update("postmaster", "nobody").ok());
    }
    CHECK(dir.entries() == std::vector<std::string>{"aliases.db"});
    CHECK(lookup(*open_ok(kind, name, options_for(MapAccess::read_only)), "postmaster") == "root");
}

TEST_CASE("changed_on_disk sees a table rewritten in place", "[maps]") {
    TemporaryDirectory dir;
    std::string name = dir.file("transport");
    build(DbKind::hash, name, {{"a", "1"}});
    auto reader = open_ok(DbKind::hash, name, options_for(MapAccess::read_only));
    CHECK_FALSE(reader->changed_on_disk());
    {
        // postmap -i on the same file (Postfix's own incremental update)
        auto writer = open_ok(DbKind::hash, name, options_for(MapAccess::read_write));
        REQUIRE(writer->update("b", "2").ok());
        REQUIRE(writer->commit().ok());
        CHECK_FALSE(writer->changed_on_disk());  // its own updates do not count
    }
    set_mtime(name + ".db", ::time(nullptr) + 5);
    CHECK(reader->changed_on_disk());
    ::unlink((name + ".db").c_str());
    auto gone = open_ok(DbKind::hash, name + "-other", options_for(MapAccess::create_truncate));
    CHECK_FALSE(gone->changed_on_disk());  // not committed: nothing to compare with yet
}

TEST_CASE("a missing table is not_found with Postfix's wording", "[maps]") {
    DbKind kind = GENERATE(DbKind::hash, DbKind::btree);
    TemporaryDirectory dir;
    std::string name = dir.file("missing");
    auto map = open_db_map(kind, name, options_for(MapAccess::read_only));
    REQUIRE_FALSE(map.ok());
    CHECK(map.error().kind() == ErrorKind::not_found);
    CHECK(map.error().message() == "open database " + name + ".db: No such file or directory");
    auto writable = open_db_map(kind, name, options_for(MapAccess::read_write));
    REQUIRE_FALSE(writable.ok());
    CHECK(writable.error().kind() == ErrorKind::not_found);
    // A table cannot be built in a directory that does not exist.
    auto nowhere =
        open_db_map(kind, dir.file("no/such/dir"), options_for(MapAccess::create_truncate));
    REQUIRE_FALSE(nowhere.ok());
    CHECK_THAT(nowhere.error().message(),
               Catch::StartsWith("open database " + dir.file("no/such/dir")));
}

TEST_CASE("a file that is not a database is a clear error", "[maps]") {
    DbKind kind = GENERATE(DbKind::hash, DbKind::btree);
    std::string content = GENERATE(std::string(), std::string("garbage\n"), std::string(8192, 'z'));
    TemporaryDirectory dir;
    std::string name = dir.file("broken");
    REQUIRE(replace_file_atomically(name + ".db", content).ok());
    auto map = open_db_map(kind, name, options_for(MapAccess::read_only));
    REQUIRE_FALSE(map.ok());
    CHECK(map.error().kind() == ErrorKind::corrupt);
    CHECK_THAT(map.error().message(),
               Catch::StartsWith("open database " + name + ".db: Invalid argument"));
}

TEST_CASE("a hash file is not a btree and the other way round", "[maps]") {
    TemporaryDirectory dir;
    std::string name = dir.file("typed");
    build(DbKind::hash, name, {{"a", "1"}});
    auto as_btree = open_db_map(DbKind::btree, name, options_for(MapAccess::read_only));
    REQUIRE_FALSE(as_btree.ok());
    CHECK_THAT(as_btree.error().message(), Catch::StartsWith("open database " + name + ".db: "));
    build(DbKind::btree, name, {{"a", "1"}});
    CHECK_FALSE(open_db_map(DbKind::hash, name, options_for(MapAccess::read_only)).ok());
}

// A table cut short (a full disk under a writer that is not Postern's; Postern's own builds
// are renamed into place only when complete). Damage inside pages of a structurally sound
// file is not something Berkeley DB checks on a lookup (nor does Postfix): see docs/maps.md.
TEST_CASE("a truncated table gives errors or answers, never a crash", "[maps]") {
    DbKind kind = GENERATE(DbKind::hash, DbKind::btree);
    size_t keep = GENERATE(100, 4096, 8192, 40000, 200000);
    TemporaryDirectory dir;
    std::string name = dir.file("truncated");
    std::vector<std::pair<std::string, std::string>> entries;
    for (int i = 0; i < 2000; ++i)
        entries.emplace_back("key" + std::to_string(i),
                             std::string(static_cast<size_t>(i % 300), 'v'));
    build(kind, name, entries);
    auto content = read_file(name + ".db");
    REQUIRE(content.ok());
    REQUIRE(content->size() > keep);
    REQUIRE(replace_file_atomically(name + ".db", content->substr(0, keep)).ok());
    auto map = open_db_map(kind, name, options_for(MapAccess::read_only));
    if (!map.ok()) {
        CHECK_THAT(map.error().message(), Catch::StartsWith("open database " + name + ".db: "));
        return;
    }
    size_t hits = 0;
    for (int i = 0; i < 2000; i += 7) {
        auto found = (*map)->lookup("key" + std::to_string(i));
        if (found.ok() && found->has_value()) {
            CHECK(**found == entries[static_cast<size_t>(i)].second);
            ++hits;
        }
    }
    size_t scanned = 0;
    (void)(*map)->for_each([&](std::string_view, std::string_view) {
        ++scanned;
        return Status();
    });
    CHECK(hits < 2000 / 7 + 1);
    CHECK(scanned < entries.size());
}

TEST_CASE("MapFlag::lock takes flock around a lookup", "[maps]") {
    TemporaryDirectory dir;
    std::string name = dir.file("locked");
    build(DbKind::hash, name, {{"a", "1"}});
    auto map = open_ok(DbKind::hash, name,
                       options_for(MapAccess::read_only, MapFlag::try_nul | MapFlag::lock));
    // Another process's postmap -i holds the exclusive lock (flock: per open file).
    Fd holder(::open((name + ".db").c_str(), O_RDONLY | O_CLOEXEC));
    REQUIRE(holder.valid());
    REQUIRE(::flock(holder.get(), LOCK_EX) == 0);
    std::atomic<bool> done = false;
    std::optional<std::string> answer;
    std::thread reader([&] {
        auto found = map->lookup("a");
        if (found.ok())
            answer = *found;
        done = true;
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    CHECK_FALSE(done.load());
    REQUIRE(::flock(holder.get(), LOCK_UN) == 0);
    reader.join();
    CHECK(done.load());
    CHECK(answer == "1");
    // The lookup let go of its shared lock: an exclusive one is free.
    CHECK(::flock(holder.get(), LOCK_EX | LOCK_NB) == 0);
}

TEST_CASE("a table older than its source is reported as Postfix does", "[maps]") {
    TemporaryDirectory dir;
    std::string name = dir.file("sasl_passwd");
    REQUIRE(replace_file_atomically(name, "a 1\n").ok());
    build(DbKind::hash, name, {{"a", "1"}});
    time_t now = ::time(nullptr);
    auto locked = options_for(MapAccess::read_only, MapFlag::try_nul | MapFlag::lock);
    auto open_it = [&] { return open_db_map(DbKind::hash, name, locked).ok(); };

    set_mtime(name + ".db", now - 1000);
    set_mtime(name, now - 500);  // edited after postmap, long ago
    CHECK(warnings_of(dir, open_it) ==
          "postmap: warning: database " + name + ".db is older than source file " + name + "\n");
    set_mtime(name, now - 30);  // just edited: postmap is probably on its way
    CHECK(warnings_of(dir, open_it).empty());
    set_mtime(name, now - 2000);  // the table is newer
    CHECK(warnings_of(dir, open_it).empty());
}
