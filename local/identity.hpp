// Who local(8) is while it works: the one place where the process changes identity.
//
// Where it sits: local/, under every delivery. master runs local as root (master.cf
// `local unix - n n`: not unprivileged) because it must write each recipient's mailbox as
// that recipient and run their commands as them. The model, Postfix's:
//   - the real and saved user IDs stay root for the life of the process; the effective
//     identity is what the kernel checks (on Linux, the file-system IDs follow it);
//   - between deliveries the effective identity is mail_owner (rest_as_mail_owner(), from
//     post_init): queue files, the defer/bounce/trace logs and the cleanup socket are
//     handled as the mail system, never as root;
//   - a mailbox, a Maildir, a .forward or :include: file, a /file destination is opened
//     and written while AsUser is in force: effective uid and gid of the user, the
//     supplementary groups cut to that gid, then back to mail_owner when it goes out of
//     scope;
//   - a |command runs in a child that gives up root for good (drop_privileges() before
//     exec), so nothing the user controls ever runs with a way back to root.
// Why switching and not a child per delivery: a fork per message costs more than the
// delivery itself (DESIGN.md "Performance"), and the code that runs under a user's
// identity here only opens, writes and reads files; it never executes the user's input.
// A failure to switch is a broken invariant of the process, not of one message: panic.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "util/privileges.hpp"
#include "util/result.hpp"

namespace postern::local {

// A user's rights and what delivery needs to know about them (Postfix's USER_ATTR).
struct UserRights {
    uid_t uid = 0;
    gid_t gid = 0;
    std::string name;   // login name
    std::string home;   // home directory
    std::string shell;  // login shell
};

// passwd entries by name and uid; not found is ErrorKind::not_found, a failing database
// ErrorKind::temporary (the mail is deferred, never bounced, when NSS has trouble).
Result<UserRights> user_by_name(const std::string& name);
Result<UserRights> user_by_uid(uid_t uid);

// From post_init on: effective identity mail_owner, real and saved root.
void rest_as_mail_owner(const UserAccount& mail_owner);
// True when the process can switch identities at all (it runs as root); a local started
// by hand as another user delivers only as itself.
bool can_switch_identity();

// Effective identity `rights` until destroyed, then the identity before it again
// (mail_owner between deliveries; a nested AsUser returns to the outer one).
class AsUser {
  public:
    AsUser(uid_t uid, gid_t gid);
    explicit AsUser(const UserRights& rights) : AsUser(rights.uid, rights.gid) {}
    ~AsUser();
    AsUser(const AsUser&) = delete;
    AsUser& operator=(const AsUser&) = delete;

  private:
    uid_t previous_uid_;
    gid_t previous_gid_;
    std::vector<gid_t> previous_groups_;
};

// For a command's child after fork(): the user's identity for good (real, effective and
// saved), supplementary groups cut to its gid. Returns an error the child reports.
Status become_user_for_good(uid_t uid, gid_t gid);

}  // namespace postern::local
