// The queue directory tree: which directories live under queue_directory, who owns them
// and with which modes, and the three things done with that knowledge: create what is
// missing (`postfix start`), put owners and modes right (`postfix set-permissions`), and
// report what is wrong (`postfix check`).
//
// Where it sits: lib/queue, below every program that touches the spool. It runs as root in
// the postfix command only; the daemons (mail_owner, possibly chrooted into the queue)
// merely rely on the tree being right. Owners and modes are Postfix 3.7's (postfix-files):
//
//   queue_directory                          root        755
//   maildrop                                 mail_owner  730  group setgid_group
//   public                                   mail_owner  710  group setgid_group
//   pid                                      root        755
//   private                                  mail_owner  700
//   incoming active deferred hold corrupt    mail_owner  700  (owner applied recursively)
//   bounce defer trace flush saved
//   data_directory                           mail_owner  700
//
// Where Postfix leaves the group alone ("-" in postfix-files) so does Postern. Nothing here
// follows a symbolic link: a link where a directory should be is reported, never chowned.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace postern {

// Who owns a directory of the tree.
enum class DirectoryOwner { root, mail_owner };

// One entry of the table above.
struct QueueDirectorySpec {
    std::string_view name;  // under queue_directory; "." is queue_directory itself
    DirectoryOwner owner;
    bool setgid_group;  // the group is setgid_group; otherwise it is left alone
    mode_t mode;
    // set-permissions applies the owner to everything below (and the mode to the
    // subdirectories), and check looks at the owner of everything below.
    bool recursive;
    // check looks at the owner of what lies below, without set-permissions touching it
    // (sockets and FIFOs excepted): private and public.
    bool check_contents;
};

// queue_directory itself first, then its subdirectories in Postfix's order.
const std::vector<QueueDirectorySpec>& queue_directory_specs();

// The accounts the tree belongs to, resolved from mail_owner and setgid_group.
struct QueueAccounts {
    std::string mail_owner_name;
    uid_t mail_owner_uid = 0;
    gid_t mail_owner_gid = 0;
    std::string setgid_group_name;
    gid_t setgid_group_gid = 0;
};

// Looks both names up. A missing account is an ErrorKind::config error naming the parameter.
Result<QueueAccounts> lookup_queue_accounts(std::string_view mail_owner,
                                            std::string_view setgid_group);

struct QueueLayout {
    std::string queue_directory;
    std::string data_directory;
    QueueAccounts accounts;
};

// A directory of the layout with everything resolved.
struct ExpectedDirectory {
    std::string path;
    uid_t owner = 0;
    std::string owner_name;
    std::optional<gid_t> group;  // nullopt: any group
    std::string group_name;
    mode_t mode = 0;
    bool recursive = false;
    bool check_contents = false;
};

// queue_directory, its subdirectories, then data_directory.
std::vector<ExpectedDirectory> expected_directories(const QueueLayout& layout);

// Creates each missing directory of the layout with its owner, group and mode. The parent
// of queue_directory and of data_directory must exist (as Postfix's mkdir without -p).
// Returns the paths it created.
Result<std::vector<std::string>> create_missing_directories(const QueueLayout& layout);

// create_missing_directories, then sets owner, group and mode of every directory of the
// layout; for the recursive ones the owner (and group, when set) of everything below, and
// the mode of every subdirectory below (never of files: queue file status lives in their
// mode bits).
Status set_queue_permissions(const QueueLayout& layout);

struct LayoutProblem {
    enum class Kind { missing, not_a_directory, wrong_owner, wrong_group, wrong_mode, unreadable };
    Kind kind;
    std::string path;
    // As Postfix's check words it, ending with the path: "not owned by postfix: PATH",
    // "not owned by group postdrop: PATH", "wrong mode 0777 (expected 0700): PATH",
    // "missing directory: PATH", "not a directory: PATH".
    std::string message;
};

// Everything that differs from the layout, each naming the path. Read-only.
std::vector<LayoutProblem> check_queue_layout(const QueueLayout& layout);

// "0755": a mode as the messages show it.
std::string format_mode(mode_t mode);

}  // namespace postern
