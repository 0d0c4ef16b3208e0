// The queue directory tree: see queue_layout.hpp.
//
// Security: set_queue_permissions() runs as root over directories that mail_owner can
// write. It never follows a symbolic link below queue_directory: every change is made
// through a descriptor opened with O_NOFOLLOW, or with fchownat(AT_SYMLINK_NOFOLLOW), so a
// link planted by a compromised daemon cannot redirect a chown to a file outside the queue.
#include "queue/queue_layout.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <functional>
#include <memory>

#include "util/file.hpp"
#include "util/privileges.hpp"

namespace postern {
namespace {

// The names as given, the ids from the account database (lib/util/privileges).
Result<QueueAccounts> lookup_accounts(std::string_view mail_owner, std::string_view setgid_group) {
    QueueAccounts accounts;
    accounts.mail_owner_name = std::string(mail_owner);
    accounts.setgid_group_name = std::string(setgid_group);
    auto user = system_accounts().user_by_name(accounts.mail_owner_name);
    if (!user)
        return user.error().kind() == ErrorKind::not_found
                   ? Error(ErrorKind::config, "parameter mail_owner: unknown user name value: " +
                                                  accounts.mail_owner_name)
                   : user.error();
    accounts.mail_owner_uid = user->uid;
    accounts.mail_owner_gid = user->gid;
    auto group = system_accounts().group_by_name(accounts.setgid_group_name);
    if (!group)
        return group.error().kind() == ErrorKind::not_found
                   ? Error(ErrorKind::config, "parameter setgid_group: unknown group name: " +
                                                  accounts.setgid_group_name)
                   : group.error();
    accounts.setgid_group_gid = group->gid;
    return accounts;
}

struct DirCloser {
    void operator()(DIR* dir) const { ::closedir(dir); }
};
using DirHandle = std::unique_ptr<DIR, DirCloser>;

// What a walk over a directory's contents does with each entry. `parent` is the open
// directory that holds `name`; a subdirectory is reported after it was opened (as `self`),
// before the walk goes into it.
struct TreeVisitor {
    std::function<Status(int parent, const char* name, const std::string& path,
                         const struct stat& info)>
        other;
    std::function<Status(int self, const std::string& path, const struct stat& info)> directory;
};

Status walk_contents(int directory_fd, const std::string& path, const TreeVisitor& visitor);

Status visit_entry(int parent, const char* name, const std::string& path,
                   const TreeVisitor& visitor) {
    struct stat info {};
    if (::fstatat(parent, name, &info, AT_SYMLINK_NOFOLLOW) != 0)
        return errno == ENOENT ? Status::success() : Status(system_error("lstat " + path, errno));
    if (!S_ISDIR(info.st_mode))
        return visitor.other ? visitor.other(parent, name, path, info) : Status::success();
    Fd child(::openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!child.valid())
        return errno == ENOENT ? Status::success() : Status(system_error("open " + path, errno));
    if (visitor.directory)
        if (Status visited = visitor.directory(child.get(), path, info); !visited)
            return visited;
    return walk_contents(child.get(), path, visitor);
}

// Visits everything below an open directory, depth first, never following a link.
Status walk_contents(int directory_fd, const std::string& path, const TreeVisitor& visitor) {
    Fd listing(::dup(directory_fd));
    if (!listing.valid())
        return system_error("dup", errno);
    DirHandle dir(::fdopendir(listing.get()));
    if (!dir)
        return system_error("open directory " + path, errno);
    listing.release();  // the DIR owns it now
    while (struct dirent* entry = ::readdir(dir.get())) {
        std::string_view name = entry->d_name;
        if (name == "." || name == "..")
            continue;
        if (Status visited =
                visit_entry(directory_fd, entry->d_name, path + "/" + std::string(name), visitor);
            !visited)
            return visited;
    }
    return Status::success();
}

// queue_directory and data_directory may be symbolic links (a spool on another disk);
// anything below queue_directory may not.
bool may_follow_link(const ExpectedDirectory& expected, const QueueLayout& layout) {
    return expected.path == layout.queue_directory || expected.path == layout.data_directory;
}

int stat_expected(const ExpectedDirectory& expected, const QueueLayout& layout, struct stat& info) {
    if (may_follow_link(expected, layout))
        return ::stat(expected.path.c_str(), &info);
    return ::lstat(expected.path.c_str(), &info);
}

Result<Fd> open_expected(const ExpectedDirectory& expected, const QueueLayout& layout) {
    int flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC;
    if (!may_follow_link(expected, layout))
        flags |= O_NOFOLLOW;
    Fd fd(::open(expected.path.c_str(), flags));
    if (!fd.valid()) {
        if (errno == ELOOP || errno == ENOTDIR)
            return Error(ErrorKind::config, expected.path + " is not a directory");
        return system_error("open " + expected.path, errno);
    }
    return fd;
}

gid_t group_or_unchanged(const ExpectedDirectory& expected) {
    return expected.group ? *expected.group : static_cast<gid_t>(-1);
}

Status apply_to_directory(int fd, const ExpectedDirectory& expected) {
    if (::fchown(fd, expected.owner, group_or_unchanged(expected)) != 0)
        return system_error("chown " + expected.path, errno);
    if (::fchmod(fd, expected.mode) != 0)
        return system_error("chmod " + expected.path, errno);
    return Status::success();
}

Status apply_below(int fd, const ExpectedDirectory& expected) {
    TreeVisitor visitor;
    visitor.other = [&](int parent, const char* name, const std::string& path,
                        const struct stat&) -> Status {
        if (::fchownat(parent, name, expected.owner, group_or_unchanged(expected),
                       AT_SYMLINK_NOFOLLOW) != 0)
            return system_error("chown " + path, errno);
        return Status::success();
    };
    visitor.directory = [&](int self, const std::string& path, const struct stat&) -> Status {
        if (::fchown(self, expected.owner, group_or_unchanged(expected)) != 0)
            return system_error("chown " + path, errno);
        if (::fchmod(self, expected.mode) != 0)
            return system_error("chmod " + path, errno);
        return Status::success();
    };
    return walk_contents(fd, expected.path, visitor);
}

Status create_directory(const ExpectedDirectory& expected, const QueueLayout& layout) {
    if (::mkdir(expected.path.c_str(), 0700) != 0 && errno != EEXIST)
        return system_error("mkdir " + expected.path, errno);
    Result<Fd> fd = open_expected(expected, layout);
    if (!fd)
        return fd.error();
    return apply_to_directory(fd->get(), expected);
}

// ---- check ----------------------------------------------------------------------------

void add_problem(std::vector<LayoutProblem>& problems, LayoutProblem::Kind kind,
                 const std::string& path, const std::string& what) {
    problems.push_back({kind, path, what + ": " + path});
}

void check_attributes(const ExpectedDirectory& expected, const struct stat& info,
                      std::vector<LayoutProblem>& problems) {
    if (info.st_uid != expected.owner)
        add_problem(problems, LayoutProblem::Kind::wrong_owner, expected.path,
                    "not owned by " + expected.owner_name);
    if (expected.group && info.st_gid != *expected.group)
        add_problem(problems, LayoutProblem::Kind::wrong_group, expected.path,
                    "not owned by group " + expected.group_name);
    mode_t mode = info.st_mode & 07777;
    if (mode != expected.mode)
        add_problem(
            problems, LayoutProblem::Kind::wrong_mode, expected.path,
            "wrong mode " + format_mode(mode) + " (expected " + format_mode(expected.mode) + ")");
}

// The owner of everything below; sockets and FIFOs belong to whoever made them.
void check_contents(const ExpectedDirectory& expected, const QueueLayout& layout,
                    std::vector<LayoutProblem>& problems) {
    Result<Fd> fd = open_expected(expected, layout);
    if (!fd)
        return;  // the directory itself was reported
    auto check_owner = [&](const std::string& path, const struct stat& info) {
        if (S_ISSOCK(info.st_mode) || S_ISFIFO(info.st_mode) || info.st_uid == expected.owner)
            return;
        add_problem(problems, LayoutProblem::Kind::wrong_owner, path,
                    "not owned by " + expected.owner_name);
    };
    TreeVisitor visitor;
    visitor.other = [&](int, const char*, const std::string& path,
                        const struct stat& info) -> Status {
        check_owner(path, info);
        return Status::success();
    };
    visitor.directory = [&](int, const std::string& path, const struct stat& info) -> Status {
        check_owner(path, info);
        return Status::success();
    };
    if (Status walked = walk_contents(fd->get(), expected.path, visitor); !walked)
        problems.push_back(
            {LayoutProblem::Kind::unreadable, expected.path, walked.error().message()});
}

void check_directory(const ExpectedDirectory& expected, const QueueLayout& layout,
                     std::vector<LayoutProblem>& problems) {
    struct stat info {};
    if (stat_expected(expected, layout, info) != 0) {
        if (errno == ENOENT)
            add_problem(problems, LayoutProblem::Kind::missing, expected.path, "missing directory");
        else
            problems.push_back({LayoutProblem::Kind::unreadable, expected.path,
                                system_error("stat " + expected.path, errno).message()});
        return;
    }
    if (!S_ISDIR(info.st_mode)) {
        add_problem(problems, LayoutProblem::Kind::not_a_directory, expected.path,
                    "not a directory");
        return;
    }
    check_attributes(expected, info, problems);
    if (expected.recursive || expected.check_contents)
        check_contents(expected, layout, problems);
}

}  // namespace

const std::vector<QueueDirectorySpec>& queue_directory_specs() {
    using enum DirectoryOwner;
    static const std::vector<QueueDirectorySpec> specs = {
        {".", root, false, 0755, false, false},
        {"active", mail_owner, false, 0700, true, false},
        {"bounce", mail_owner, false, 0700, true, false},
        {"corrupt", mail_owner, false, 0700, true, false},
        {"defer", mail_owner, false, 0700, true, false},
        {"deferred", mail_owner, false, 0700, true, false},
        {"flush", mail_owner, false, 0700, true, false},
        {"hold", mail_owner, false, 0700, true, false},
        {"incoming", mail_owner, false, 0700, true, false},
        {"private", mail_owner, false, 0700, false, true},
        {"maildrop", mail_owner, true, 0730, false, false},
        {"public", mail_owner, true, 0710, false, true},
        {"pid", root, false, 0755, false, false},
        {"saved", mail_owner, false, 0700, true, false},
        {"trace", mail_owner, false, 0700, true, false},
    };
    return specs;
}

Result<QueueAccounts> lookup_queue_accounts(std::string_view mail_owner,
                                            std::string_view setgid_group) {
    return lookup_accounts(mail_owner, setgid_group);
}

std::vector<ExpectedDirectory> expected_directories(const QueueLayout& layout) {
    const QueueAccounts& accounts = layout.accounts;
    std::vector<ExpectedDirectory> expected;
    for (const QueueDirectorySpec& spec : queue_directory_specs()) {
        ExpectedDirectory directory;
        directory.path = spec.name == "." ? layout.queue_directory
                                          : layout.queue_directory + "/" + std::string(spec.name);
        bool by_mail_owner = spec.owner == DirectoryOwner::mail_owner;
        directory.owner = by_mail_owner ? accounts.mail_owner_uid : 0;
        directory.owner_name = by_mail_owner ? accounts.mail_owner_name : "root";
        if (spec.setgid_group) {
            directory.group = accounts.setgid_group_gid;
            directory.group_name = accounts.setgid_group_name;
        }
        directory.mode = spec.mode;
        directory.recursive = spec.recursive;
        directory.check_contents = spec.check_contents;
        expected.push_back(std::move(directory));
    }
    ExpectedDirectory data;
    data.path = layout.data_directory;
    data.owner = accounts.mail_owner_uid;
    data.owner_name = accounts.mail_owner_name;
    data.mode = 0700;
    expected.push_back(std::move(data));
    return expected;
}

Result<std::vector<std::string>> create_missing_directories(const QueueLayout& layout) {
    std::vector<std::string> created;
    for (const ExpectedDirectory& expected : expected_directories(layout)) {
        struct stat info {};
        if (stat_expected(expected, layout, info) == 0) {
            if (!S_ISDIR(info.st_mode))
                return Error(ErrorKind::config, expected.path + " is not a directory");
            continue;
        }
        if (errno != ENOENT)
            return system_error("stat " + expected.path, errno);
        if (Status made = create_directory(expected, layout); !made)
            return made.error();
        created.push_back(expected.path);
    }
    return created;
}

Status set_queue_permissions(const QueueLayout& layout) {
    if (auto created = create_missing_directories(layout); !created)
        return created.error();
    for (const ExpectedDirectory& expected : expected_directories(layout)) {
        Result<Fd> fd = open_expected(expected, layout);
        if (!fd)
            return fd.error();
        if (Status applied = apply_to_directory(fd->get(), expected); !applied)
            return applied;
        if (expected.recursive)
            if (Status applied = apply_below(fd->get(), expected); !applied)
                return applied;
    }
    return Status::success();
}

std::vector<LayoutProblem> check_queue_layout(const QueueLayout& layout) {
    std::vector<LayoutProblem> problems;
    for (const ExpectedDirectory& expected : expected_directories(layout))
        check_directory(expected, layout, problems);
    return problems;
}

std::string format_mode(mode_t mode) {
    char text[16];
    std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
    return text;
}

}  // namespace postern
