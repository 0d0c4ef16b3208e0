// Who a process runs as: looking up the mail system's accounts, checking them the way
// Postfix does, and the two irreversible steps of giving up root: chroot, then the change
// of uid, gid and supplementary groups.
//
// Where it sits: util, below lib/server. Every daemon runs this as root, before it reads a
// byte of client input (STYLE.md habit 8): lib/server's give_up_root() is the one place a
// daemon calls enter_chroot() and drop_privileges(). The account database (passwd, group,
// through NSS) is the administrator's and trusted; an account that is missing, privileged
// or shared is a configuration error, reported with Postfix's own wording:
//
//   file /etc/postfix/main.cf: parameter mail_owner: user postfix has same user ID as news
//
// The checks name main.cf's mail_owner and setgid_group because Postfix's messages do;
// they take plain strings and know nothing else of the configuration.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "util/result.hpp"

namespace postern {

struct UserAccount {
    std::string name;
    uid_t uid = 0;
    gid_t gid = 0;
    // Every group the account belongs to (its primary group included), as initgroups()
    // would set them; looked up in advance because /etc/group is gone after chroot.
    std::vector<gid_t> groups;
};

struct GroupAccount {
    std::string name;
    gid_t gid = 0;
};

// The passwd and group databases. Behind an interface so that the checks below can be
// tested with accounts that a test system cannot have (uid 0 twice, shared ids).
// Not found is ErrorKind::not_found; a failing database is ErrorKind::io.
class AccountDatabase {
  public:
    virtual ~AccountDatabase() = default;
    virtual Result<UserAccount> user_by_name(const std::string& name) const = 0;
    virtual Result<UserAccount> user_by_uid(uid_t uid) const = 0;
    virtual Result<GroupAccount> group_by_name(const std::string& name) const = 0;
    virtual Result<GroupAccount> group_by_gid(gid_t gid) const = 0;
};

// The system's databases through getpwnam_r() & co.; groups from getgrouplist().
const AccountDatabase& system_accounts();

// Postfix's check_mail_owner(): the account exists, has neither uid 0 nor gid 0, and no
// other passwd entry claims its uid. Errors are ErrorKind::config with Postfix's text,
// starting "file <config_directory>/main.cf: parameter mail_owner: ".
Result<UserAccount> check_mail_owner(const std::string& config_directory,
                                     const std::string& mail_owner,
                                     const AccountDatabase& accounts = system_accounts());
// Postfix's check_sgid_group(): the group exists, is not gid 0 and not shared.
Result<GroupAccount> check_setgid_group(const std::string& config_directory,
                                        const std::string& setgid_group,
                                        const AccountDatabase& accounts = system_accounts());
// Postfix's check_overlap() for these two: mail_owner's group must not be setgid_group,
// or postdrop could write where only the queue owner may.
Status check_owner_group_overlap(const std::string& config_directory, const UserAccount& owner,
                                 const GroupAccount& group);
// The three checks above, as every program makes them at start (Postfix's
// mail_params_init): the first problem, or mail_owner's account.
Result<UserAccount> check_mail_accounts(const std::string& config_directory,
                                        const std::string& mail_owner,
                                        const std::string& setgid_group,
                                        const AccountDatabase& accounts = system_accounts());

// chroot(directory), then chdir("/") so that no directory outside stays reachable.
// Needs root; relative paths afterwards resolve inside the new root.
Status enter_chroot(const std::string& directory);

// Sets the supplementary groups (`groups`, or just `gid` when empty), the gid, then the uid
// (real, effective and saved), and verifies that root cannot be regained. Called as root;
// called by a process that already runs as exactly this uid and gid, it only verifies.
Status drop_privileges(uid_t uid, gid_t gid, const std::vector<gid_t>& groups = {});
Status drop_privileges(const UserAccount& account);

}  // namespace postern
