#include "util/privileges.hpp"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include "util/file.hpp"

namespace postern {

namespace {

// Enough for any sane entry; grown on ERANGE.
constexpr size_t kInitialBufferSize = 4096;
constexpr size_t kMaximumBufferSize = 1 << 20;

std::vector<gid_t> groups_of(const char* name, gid_t gid) {
    int count = 32;
    std::vector<gid_t> groups(static_cast<size_t>(count));
    while (::getgrouplist(name, gid, groups.data(), &count) < 0) {
        if (count <= static_cast<int>(groups.size()))
            count = static_cast<int>(groups.size()) * 2;
        groups.resize(static_cast<size_t>(count));
    }
    groups.resize(static_cast<size_t>(count));
    return groups;
}

UserAccount user_from(const passwd& entry) {
    UserAccount account;
    account.name = entry.pw_name;
    account.uid = entry.pw_uid;
    account.gid = entry.pw_gid;
    account.groups = groups_of(entry.pw_name, entry.pw_gid);
    return account;
}

GroupAccount group_from(const group& entry) {
    return GroupAccount{entry.gr_name, entry.gr_gid};
}

// getpwnam_r, getpwuid_r, getgrnam_r and getgrgid_r share one calling convention: the
// entry, a buffer its strings point into, and a result pointer that stays null when
// nothing matched. `convert` copies what is needed while the buffer lives.
template <typename Entry, typename Lookup, typename Convert>
auto lookup_entry(const std::string& what, Lookup lookup, Convert convert)
    -> Result<decltype(convert(std::declval<const Entry&>()))> {
    std::vector<char> buffer(kInitialBufferSize);
    for (;;) {
        Entry entry{};
        Entry* found = nullptr;
        int error = lookup(&entry, buffer.data(), buffer.size(), &found);
        if (error == ERANGE && buffer.size() < kMaximumBufferSize) {
            buffer.resize(buffer.size() * 2);
            continue;
        }
        if (error == EINTR)
            continue;
        // ENOENT, ESRCH, EBADF and EPERM are how some NSS modules say "no such entry".
        if (found == nullptr &&
            (error == 0 || error == ENOENT || error == ESRCH || error == EBADF || error == EPERM))
            return Error(ErrorKind::not_found, what + ": not found");
        if (found == nullptr)
            return system_error(what, error);
        return convert(*found);
    }
}

class SystemAccounts final : public AccountDatabase {
  public:
    Result<UserAccount> user_by_name(const std::string& name) const override {
        return lookup_entry<passwd>(
            "getpwnam " + name,
            [&](auto... arguments) { return ::getpwnam_r(name.c_str(), arguments...); }, user_from);
    }
    Result<UserAccount> user_by_uid(uid_t uid) const override {
        return lookup_entry<passwd>(
            "getpwuid " + std::to_string(uid),
            [&](auto... arguments) { return ::getpwuid_r(uid, arguments...); }, user_from);
    }
    Result<GroupAccount> group_by_name(const std::string& name) const override {
        return lookup_entry<group>(
            "getgrnam " + name,
            [&](auto... arguments) { return ::getgrnam_r(name.c_str(), arguments...); },
            group_from);
    }
    Result<GroupAccount> group_by_gid(gid_t gid) const override {
        return lookup_entry<group>(
            "getgrgid " + std::to_string(gid),
            [&](auto... arguments) { return ::getgrgid_r(gid, arguments...); }, group_from);
    }
};

std::string parameter_prefix(const std::string& config_directory, std::string_view parameter) {
    return "file " + config_directory + "/main.cf: parameter " + std::string(parameter) + ": ";
}

Error config_error(std::string text) {
    return Error(ErrorKind::config, std::move(text));
}

}  // namespace

const AccountDatabase& system_accounts() {
    static const SystemAccounts accounts;
    return accounts;
}

Result<UserAccount> check_mail_owner(const std::string& config_directory,
                                     const std::string& mail_owner,
                                     const AccountDatabase& accounts) {
    std::string prefix = parameter_prefix(config_directory, "mail_owner");
    auto owner = accounts.user_by_name(mail_owner);
    if (!owner && owner.error().kind() == ErrorKind::not_found)
        return config_error(prefix + "unknown user name value: " + mail_owner);
    if (!owner)
        return config_error(prefix + owner.error().message());
    if (owner->uid == 0)
        return config_error(prefix + "user " + mail_owner + " has privileged user ID");
    if (owner->gid == 0)
        return config_error(prefix + "user " + mail_owner + " has privileged group ID");
    // As in Postfix, this finds only some forms of sharing: the entry getpwuid() returns.
    auto same_uid = accounts.user_by_uid(owner->uid);
    if (same_uid && same_uid->name != mail_owner)
        return config_error(prefix + "user " + mail_owner + " has same user ID as " +
                            same_uid->name);
    return owner;
}

Result<GroupAccount> check_setgid_group(const std::string& config_directory,
                                        const std::string& setgid_group,
                                        const AccountDatabase& accounts) {
    std::string prefix = parameter_prefix(config_directory, "setgid_group");
    auto found = accounts.group_by_name(setgid_group);
    if (!found && found.error().kind() == ErrorKind::not_found)
        return config_error(prefix + "unknown group name: " + setgid_group);
    if (!found)
        return config_error(prefix + found.error().message());
    if (found->gid == 0)
        return config_error(prefix + "group " + setgid_group + " has privileged group ID");
    auto same_gid = accounts.group_by_gid(found->gid);
    if (same_gid && same_gid->name != setgid_group)
        return config_error(prefix + "group " + setgid_group + " has same group ID as " +
                            same_gid->name);
    return found;
}

Status check_owner_group_overlap(const std::string& config_directory, const UserAccount& owner,
                                 const GroupAccount& group) {
    if (owner.gid != group.gid)
        return {};
    return config_error("file " + config_directory +
                        "/main.cf: parameters mail_owner and setgid_group: user " + owner.name +
                        " and group " + group.name +
                        " have the same group ID: " + std::to_string(group.gid));
}

Result<UserAccount> check_mail_accounts(const std::string& config_directory,
                                        const std::string& mail_owner,
                                        const std::string& setgid_group,
                                        const AccountDatabase& accounts) {
    Result<UserAccount> owner = check_mail_owner(config_directory, mail_owner, accounts);
    if (!owner)
        return owner;
    Result<GroupAccount> group = check_setgid_group(config_directory, setgid_group, accounts);
    if (!group)
        return group.error();
    if (Status distinct = check_owner_group_overlap(config_directory, *owner, *group); !distinct)
        return distinct.error();
    return owner;
}

Status enter_chroot(const std::string& directory) {
    if (::chroot(directory.c_str()) != 0)
        return system_error("chroot(" + directory + ")", errno);
    if (::chdir("/") != 0)
        return system_error("chdir(\"/\") in " + directory, errno);
    return {};
}

namespace {

Status verify_identity(uid_t uid, gid_t gid) {
    uid_t real = 0, effective = 0, saved = 0;
    gid_t real_group = 0, effective_group = 0, saved_group = 0;
    if (::getresuid(&real, &effective, &saved) != 0 ||
        ::getresgid(&real_group, &effective_group, &saved_group) != 0)
        return system_error("getresuid", errno);
    if (real != uid || effective != uid || saved != uid || real_group != gid ||
        effective_group != gid || saved_group != gid)
        return Error(ErrorKind::io, "privileges not dropped to uid " + std::to_string(uid) +
                                        " gid " + std::to_string(gid));
    // A process that could become root again has not given root up.
    if (uid != 0 && (::setuid(0) == 0 || ::seteuid(0) == 0))
        return Error(ErrorKind::io, "uid " + std::to_string(uid) + " can regain root");
    if (gid != 0 && uid != 0 && (::setgid(0) == 0 || ::setegid(0) == 0))
        return Error(ErrorKind::io, "gid " + std::to_string(gid) + " can regain group 0");
    return {};
}

}  // namespace

Status drop_privileges(uid_t uid, gid_t gid, const std::vector<gid_t>& groups) {
    if (::geteuid() != 0) {
        if (::getuid() == uid && ::getgid() == gid)
            return verify_identity(uid, gid);
        return Error(ErrorKind::io,
                     "cannot change to uid " + std::to_string(uid) + ": not running as root");
    }
    std::vector<gid_t> group_list = groups.empty() ? std::vector<gid_t>{gid} : groups;
    if (::setgroups(group_list.size(), group_list.data()) != 0)
        return system_error("setgroups", errno);
    if (::setresgid(gid, gid, gid) != 0)
        return system_error("setgid(" + std::to_string(gid) + ")", errno);
    if (::setresuid(uid, uid, uid) != 0)
        return system_error("setuid(" + std::to_string(uid) + ")", errno);
    return verify_identity(uid, gid);
}

Status drop_privileges(const UserAccount& account) {
    return drop_privileges(account.uid, account.gid, account.groups);
}

}  // namespace postern
