// Identity switching for local(8); see identity.hpp.
#include "local/identity.hpp"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>

#include "util/log.hpp"

namespace postern::local {

namespace {

// The identity AsUser returns to: mail_owner once rest_as_mail_owner() ran, else what the
// process started as (a test, or local run by hand).
struct RestingIdentity {
    uid_t uid;
    gid_t gid;
    std::vector<gid_t> groups;
};

RestingIdentity& resting() {
    static RestingIdentity identity = [] {
        RestingIdentity start{::geteuid(), ::getegid(), {}};
        int count = ::getgroups(0, nullptr);
        if (count > 0) {
            start.groups.resize(static_cast<size_t>(count));
            count = ::getgroups(count, start.groups.data());
            start.groups.resize(count > 0 ? static_cast<size_t>(count) : 0);
        }
        return start;
    }();
    return identity;
}

// Effective uid/gid and supplementary groups; real and saved uid stay root.
void switch_to(uid_t uid, gid_t gid, const std::vector<gid_t>& groups) {
    if (::setresuid(static_cast<uid_t>(-1), 0, static_cast<uid_t>(-1)) != 0)
        log_panic("set effective uid 0: %s", std::strerror(errno));
    const std::vector<gid_t> only{gid};
    const std::vector<gid_t>& wanted = groups.empty() ? only : groups;
    if (::setgroups(wanted.size(), wanted.data()) != 0)
        log_panic("setgroups for gid %ld: %s", static_cast<long>(gid), std::strerror(errno));
    if (::setresgid(static_cast<gid_t>(-1), gid, static_cast<gid_t>(-1)) != 0)
        log_panic("set effective gid %ld: %s", static_cast<long>(gid), std::strerror(errno));
    if (uid != 0 && ::setresuid(static_cast<uid_t>(-1), uid, static_cast<uid_t>(-1)) != 0)
        log_panic("set effective uid %ld: %s", static_cast<long>(uid), std::strerror(errno));
}

Result<UserRights> rights_from(const passwd* entry, int error, const std::string& what) {
    if (entry == nullptr) {
        if (error == 0 || error == ENOENT || error == ESRCH || error == EBADF || error == EPERM)
            return Error(ErrorKind::not_found, "unknown user: " + what);
        return Error(ErrorKind::temporary,
                     "cannot look up user " + what + ": " + std::strerror(error));
    }
    UserRights rights;
    rights.uid = entry->pw_uid;
    rights.gid = entry->pw_gid;
    rights.name = entry->pw_name;
    rights.home = entry->pw_dir ? entry->pw_dir : "";
    rights.shell = entry->pw_shell ? entry->pw_shell : "";
    return rights;
}

}  // namespace

Result<UserRights> user_by_name(const std::string& name) {
    passwd entry{};
    passwd* found = nullptr;
    std::vector<char> buffer(16384);
    int error = ::getpwnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found);
    return rights_from(found, error, name);
}

Result<UserRights> user_by_uid(uid_t uid) {
    passwd entry{};
    passwd* found = nullptr;
    std::vector<char> buffer(16384);
    int error = ::getpwuid_r(uid, &entry, buffer.data(), buffer.size(), &found);
    return rights_from(found, error, "uid " + std::to_string(uid));
}

bool can_switch_identity() {
    return ::getuid() == 0;
}

void rest_as_mail_owner(const UserAccount& mail_owner) {
    RestingIdentity& identity = resting();
    if (!can_switch_identity())
        return;
    identity.uid = mail_owner.uid;
    identity.gid = mail_owner.gid;
    identity.groups = {mail_owner.gid};
    switch_to(identity.uid, identity.gid, identity.groups);
}

AsUser::AsUser(uid_t uid, gid_t gid) : previous_uid_(::geteuid()), previous_gid_(::getegid()) {
    (void)resting();  // remember the identity to come back to before the first switch
    int count = ::getgroups(0, nullptr);
    if (count > 0) {
        previous_groups_.resize(static_cast<size_t>(count));
        count = ::getgroups(count, previous_groups_.data());
        previous_groups_.resize(count > 0 ? static_cast<size_t>(count) : 0);
    }
    if (can_switch_identity())
        switch_to(uid, gid, {});
}

AsUser::~AsUser() {
    if (can_switch_identity())
        switch_to(previous_uid_, previous_gid_, previous_groups_);
}

Status become_user_for_good(uid_t uid, gid_t gid) {
    if (!can_switch_identity())
        return {};
    if (::setresuid(static_cast<uid_t>(-1), 0, static_cast<uid_t>(-1)) != 0)
        return Error(ErrorKind::io, std::string("set effective uid 0: ") + std::strerror(errno));
    return drop_privileges(uid, gid, {gid});
}

}  // namespace postern::local
