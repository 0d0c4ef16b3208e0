// postfix check: owners and modes on disk, as postfix-script's check-warn looks at them.
//
//   - the queue tree and data_directory against lib/queue's layout (missing directories,
//     wrong owner, group or mode);
//   - config_directory and daemon_directory, everything in them: owned by root, not group
//     or other writable, no symbolic link pointing out of the directory;
//   - postdrop and postqueue in command_directory, when installed: group setgid_group and
//     mode 2755 at least;
//   - copies of system files under queue_directory (bin etc lib sbin usr, for chrooted
//     daemons): owned by root and the same as the system's;
//   - files in corrupt/ (damaged messages), and a /usr/lib/sendmail that differs from
//     /usr/sbin/sendmail.
// The shared files (daemon_directory, the set-gid programs, sendmail) are left alone for a
// secondary instance of a multi-instance setup, as Postfix does.
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <functional>
#include <memory>

#include "build_config.hpp"
#include "tools/postfix/postfix.hpp"
#include "util/file.hpp"
#include "util/strings.hpp"

namespace postern::postfix {
namespace {

struct DirCloser {
    void operator()(DIR* dir) const { ::closedir(dir); }
};

std::vector<std::string> directory_entries(const std::string& path) {
    std::vector<std::string> names;
    std::unique_ptr<DIR, DirCloser> dir(::opendir(path.c_str()));
    if (!dir)
        return names;
    while (struct dirent* entry = ::readdir(dir.get())) {
        std::string_view name = entry->d_name;
        if (name != "." && name != "..")
            names.emplace_back(name);
    }
    return names;
}

using TreeCallback = std::function<void(const std::string& path, const struct stat& info)>;

// Calls back for `path` and everything below it, without following links.
void walk_tree(const std::string& path, const TreeCallback& callback) {
    struct stat info {};
    if (::lstat(path.c_str(), &info) != 0)
        return;
    callback(path, info);
    if (S_ISDIR(info.st_mode))
        for (const std::string& name : directory_entries(path))
            walk_tree(path + "/" + name, callback);
}

std::string link_target(const std::string& path) {
    char target[4096];
    ssize_t length = ::readlink(path.c_str(), target, sizeof target);
    return length > 0 ? std::string(target, static_cast<size_t>(length)) : std::string();
}

void check_root_tree(const std::string& top, CheckReport& report) {
    walk_tree(top, [&](const std::string& path, const struct stat& info) {
        if (info.st_uid != 0)
            report.warn("not owned by root: " + path);
        struct stat followed {};
        if (::stat(path.c_str(), &followed) == 0 && (followed.st_mode & 022) != 0)
            report.warn("group or other writable: " + path);
        if (S_ISLNK(info.st_mode) && link_target(path).find('/') != std::string::npos)
            report.warn("symlink leaves directory: " + path);
    });
}

void check_setgid_programs(const Instance& instance, const QueueLayout& layout,
                           CheckReport& report) {
    for (const char* name : {"postqueue", "postdrop"}) {
        std::string path = instance.command_directory + "/" + name;
        struct stat info {};
        if (::stat(path.c_str(), &info) != 0)
            continue;  // not installed (yet)
        if (info.st_gid != layout.accounts.setgid_group_gid)
            report.warn("not owned by group " + layout.accounts.setgid_group_name + ": " + path);
        if ((info.st_mode & 02111) != 02111)
            report.warn("not set-gid or not owner+group+world executable: " + path);
    }
}

bool same_content(const std::string& a, const std::string& b) {
    Result<std::string> first = read_file(a);
    Result<std::string> second = read_file(b);
    return first && second && *first == *second;
}

// Copies of system files for chrooted daemons.
void check_chroot_copies(const Instance& instance, CheckReport& report) {
    for (const char* top : {"bin", "etc", "lib", "sbin", "usr"}) {
        std::string root = instance.queue_directory + "/" + top;
        size_t prefix = instance.queue_directory.size();
        walk_tree(root, [&](const std::string& path, const struct stat& info) {
            if (info.st_uid != 0)
                report.warn("not owned by root: " + path);
            std::string system_path = path.substr(prefix);
            struct stat system_info {};
            if (S_ISREG(info.st_mode) && ::stat(system_path.c_str(), &system_info) == 0 &&
                S_ISREG(system_info.st_mode) && !same_content(path, system_path))
                report.warn(path + " and " + system_path + " differ");
        });
    }
}

void check_damaged_messages(const Instance& instance, CheckReport& report) {
    std::string corrupt = instance.queue_directory + "/corrupt";
    walk_tree(corrupt, [&](const std::string& path, const struct stat& info) {
        if (S_ISREG(info.st_mode))
            report.warn("damaged message: " + path.substr(instance.queue_directory.size() + 1));
    });
}

void check_sendmail_remnants(CheckReport& report) {
    const std::string sbin = "/usr/sbin/sendmail";
    const std::string lib = "/usr/lib/sendmail";
    struct stat info {};
    if (::stat(sbin.c_str(), &info) != 0 || ::stat(lib.c_str(), &info) != 0)
        return;
    if (!same_content(sbin, lib)) {
        report.warn(lib + " and " + sbin + " differ");
        report.warn("Replace one by a symbolic link to the other");
    }
}

// A secondary instance (listed in the default instance's multi_instance_directories)
// leaves the files it shares with the default instance alone.
bool is_secondary_instance(const Instance& instance) {
    std::string default_directory = POSTERN_CONFIG_DIRECTORY;
    if (instance.config_directory == default_directory)
        return false;
    Result<Config> primary = Config::load(default_directory);
    if (!primary)
        return false;
    std::string listed = setting_or_empty(*primary, "multi_instance_directories");
    for (std::string_view directory : split_list(listed))
        if (directory == instance.config_directory)
            return true;
    return false;
}

}  // namespace

void check_files_warn(const Instance& instance, CheckReport& report) {
    QueueLayout layout = queue_layout_of(instance);
    for (const LayoutProblem& problem : check_queue_layout(layout))
        report.warn(problem.message);
    bool shared = !is_secondary_instance(instance);
    check_root_tree(instance.config_directory, report);
    if (shared) {
        if (instance.daemon_directory != instance.config_directory)
            check_root_tree(instance.daemon_directory, report);
        check_setgid_programs(instance, layout, report);
    }
    check_chroot_copies(instance, report);
    check_damaged_messages(instance, report);
    if (shared)
        check_sendmail_remnants(report);
}

}  // namespace postern::postfix
