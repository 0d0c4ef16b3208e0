// postmap and postalias: building a table. The source file is read as root (Postfix opens
// it before it gives anything up), then the table is written with the effective ids of
// the source's owner, unless -o. A full build goes to a new file that replaces the old
// table in one rename (lib/maps/db_map): a daemon reading the table sees the old one or
// the new one, never a half-built one. Termination signals wait until the table is
// complete, as Postfix postpones them during an update, so an interrupted build leaves no
// temporary file behind.
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <vector>

#include "maps/casefold.hpp"
#include "tools/postmap/table_build.hpp"
#include "util/file.hpp"
#include "util/log.hpp"

namespace postern::table_tool {
namespace {

struct SourceText {
    std::string text;
    std::string origin;  // for messages: the path, or "stdin"
    struct stat status {};
};

void read_descriptor(int fd, const std::string& origin, SourceText& source) {
    if (::fstat(fd, &source.status) != 0)
        log_fatal("fstat %s: %s", origin.c_str(), std::strerror(errno));
    char buffer[65536];
    for (;;) {
        ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n == 0)
            break;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            log_fatal("read %s: %s", origin.c_str(), std::strerror(errno));
        source.text.append(buffer, static_cast<size_t>(n));
    }
}

// The source file, or standard input with -i.
SourceText read_source(const Options& options, const std::string& path) {
    SourceText source;
    source.origin = options.incremental ? "stdin" : path;
    if (options.incremental) {
        read_descriptor(STDIN_FILENO, source.origin, source);
        return source;
    }
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid())
        log_fatal("open %s: %s", path.c_str(), std::strerror(errno));
    read_descriptor(fd.get(), source.origin, source);
    return source;
}

// Only hash: and btree: (file types that can be updated) can be built.
void require_bulk_creation(const std::string& type) {
    const MapTypeInfo* info = find_map_type(type);
    if (info == nullptr)
        log_fatal("unsupported dictionary type: %s. Is the postfix-%s package installed?",
                  type.c_str(), type.c_str());
    if (!info->supports_update || !info->has_file)
        log_fatal("unsupported dictionary type: %s does not support bulk-mode creation.",
                  type.c_str());
}

// Postfix's set_eugid() for one build: the source owner's uid and gid as the effective
// ids (and the gid as the only supplementary group); root's are restored afterwards, so
// that the next table on the command line starts from root again.
class RunAsOwner {
  public:
    RunAsOwner(uid_t uid, gid_t gid) : saved_uid_(::geteuid()), saved_gid_(::getegid()) {
        int count = ::getgroups(0, nullptr);
        saved_groups_.resize(count > 0 ? static_cast<size_t>(count) : 0);
        if (count > 0 && ::getgroups(count, saved_groups_.data()) < 0)
            log_fatal("getgroups: %s", std::strerror(errno));
        if (::setgroups(1, &gid) != 0)
            log_fatal("setgroups(1, %ld): %s", static_cast<long>(gid), std::strerror(errno));
        if (::setegid(gid) != 0)
            log_fatal("setegid(%ld): %s", static_cast<long>(gid), std::strerror(errno));
        if (::seteuid(uid) != 0)
            log_fatal("seteuid(%ld): %s", static_cast<long>(uid), std::strerror(errno));
    }
    RunAsOwner(const RunAsOwner&) = delete;
    RunAsOwner& operator=(const RunAsOwner&) = delete;
    ~RunAsOwner() {
        if (::seteuid(saved_uid_) != 0 || ::setegid(saved_gid_) != 0 ||
            ::setgroups(saved_groups_.size(), saved_groups_.data()) != 0)
            log_fatal("cannot restore privileges: %s", std::strerror(errno));
    }

  private:
    uid_t saved_uid_;
    gid_t saved_gid_;
    std::vector<gid_t> saved_groups_;
};

bool runs_as_owner(const Options& options, const struct stat& source) {
    return !options.keep_privileges && ::geteuid() == 0 && S_ISREG(source.st_mode) &&
           (source.st_uid != 0 || source.st_gid != 0);
}

// A new table gets the source file's group and other read bits (and is always readable
// and writable by its owner), filtered by the umask as open(2) would; 0644 with -p or when
// the source is not a file (-i from a pipe).
mode_t new_table_mode(const Options& options, const struct stat& source) {
    mode_t mode = 0644;
    if (options.inherit_mode && S_ISREG(source.st_mode))
        mode = 0600 | (source.st_mode & 0044);
    mode_t mask = ::umask(0);
    ::umask(mask);
    return mode & ~mask;
}

bool utf8_keys(const Options& options, const Settings& settings) {
    bool message_keys = options.header_keys || options.body_keys;
    return settings.smtputf8 && !options.disable_utf8 && (!message_keys || options.force_utf8);
}

// SIGHUP, SIGINT, SIGQUIT and SIGTERM wait while this lives.
class PostponedSignals {
  public:
    PostponedSignals() {
        sigset_t blocked;
        sigemptyset(&blocked);
        for (int signal : {SIGHUP, SIGINT, SIGQUIT, SIGTERM})
            sigaddset(&blocked, signal);
        ::sigprocmask(SIG_BLOCK, &blocked, &saved_);
    }
    PostponedSignals(const PostponedSignals&) = delete;
    PostponedSignals& operator=(const PostponedSignals&) = delete;
    ~PostponedSignals() { ::sigprocmask(SIG_SETMASK, &saved_, nullptr); }

  private:
    sigset_t saved_{};
};

std::unique_ptr<Map> open_new_table(const std::string& spec, const Options& options,
                                    const Settings& settings, const SourceText& source) {
    MapOpenOptions open;
    open.access = options.incremental ? MapAccess::create : MapAccess::create_truncate;
    // Names are folded here (SourceContext::fold), not by the table: postalias stores its
    // YP_* entries in upper case.
    open.flags = options.nul_flags | options.duplicates;
    if (utf8_keys(options, settings))
        open.flags = open.flags | MapFlag::utf8_keys;
    if (options.incremental)
        open.flags = open.flags | MapFlag::lock;
    open.create_mode = new_table_mode(options, source.status);
    Result<std::unique_ptr<Map>> map = open_map(spec, open);
    if (!map)
        log_fatal(map.error());
    return std::move(*map);
}

Status fill_table(const Personality& personality, Map& map, const Options& options,
                  const Settings& settings, const SourceText& source) {
    bool fold_utf8 = utf8_keys(options, settings);
    SourceContext context{source.text, source.origin, options, settings, [&](std::string_view key) {
                              if (!options.fold_case)
                                  return std::string(key);
                              return fold_utf8 ? casefold_utf8(key) : ascii_lowercase(key);
                          }};
    if (Status loaded = personality.load(map, context); !loaded)
        return loaded;
    if (personality.finish)
        if (Status finished = personality.finish(map, options, settings); !finished)
            return finished;
    return map.commit();
}

}  // namespace

std::string table_spec(const std::string& argument, const Settings& settings) {
    if (argument.find(':') != std::string::npos)
        return argument;
    return settings.default_database_type + ":" + argument;
}

MapFlag lookup_flags(const Options& options, const Settings& settings) {
    MapFlag flags = options.nul_flags | options.duplicates | MapFlag::lock;
    if (options.fold_case)
        flags = flags | MapFlag::fold_fixed;
    if (utf8_keys(options, settings))
        flags = flags | MapFlag::utf8_keys;
    return flags;
}

void build_table(const Personality& personality, const Options& options, const Settings& settings,
                 const std::string& argument) {
    std::string spec = table_spec(argument, settings);
    size_t colon = spec.find(':');
    SourceText source = read_source(options, spec.substr(colon + 1));
    require_bulk_creation(spec.substr(0, colon));
    std::optional<RunAsOwner> owner;
    if (runs_as_owner(options, source.status))
        owner.emplace(source.status.st_uid, source.status.st_gid);
    PostponedSignals postponed;
    std::unique_ptr<Map> map = open_new_table(spec, options, settings, source);
    Status filled = fill_table(personality, *map, options, settings, source);
    map.reset();  // an unfinished table goes away before the message
    if (filled && personality.after_commit)
        filled = personality.after_commit(spec, options, settings);
    if (!filled)
        log_fatal(filled.error());
}

}  // namespace postern::table_tool
