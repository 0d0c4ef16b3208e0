// postfix set-permissions: puts the owners and modes of the queue tree and data_directory
// right (creating what is missing), and makes postdrop and postqueue set-gid setgid_group,
// as Postfix's post-install does from postfix-files.
//
// Runs as root over directories that mail_owner can write: lib/queue never follows a
// symbolic link there. The two programs are changed through a descriptor opened with
// O_NOFOLLOW, so a link in their place is refused rather than followed.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "tools/postfix/postfix.hpp"
#include "util/file.hpp"
#include "util/log.hpp"

namespace postern::postfix {
namespace {

// root:setgid_group, mode 2755, when the program is installed.
Status make_setgid(const std::string& path, gid_t group) {
    Fd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd.valid())
        return errno == ENOENT ? Status::success() : Status(system_error("open " + path, errno));
    struct stat info {};
    if (::fstat(fd.get(), &info) != 0)
        return system_error("stat " + path, errno);
    if (!S_ISREG(info.st_mode))
        return Error(ErrorKind::config, path + " is not a regular file");
    if (::fchown(fd.get(), 0, group) != 0)
        return system_error("chown " + path, errno);
    if (::fchmod(fd.get(), 02755) != 0)
        return system_error("chmod " + path, errno);
    return Status::success();
}

}  // namespace

int run_set_permissions(const Instance& instance) {
    QueueLayout layout = queue_layout_of(instance);
    if (Status set = set_queue_permissions(layout); !set)
        log_fatal("%s", set.error().message().c_str());
    for (const char* name : {"postdrop", "postqueue"}) {
        Status set =
            make_setgid(instance.command_directory + "/" + name, layout.accounts.setgid_group_gid);
        if (!set)
            log_fatal("%s", set.error().message().c_str());
    }
    return 0;
}

}  // namespace postern::postfix
