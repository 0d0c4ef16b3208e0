#include <catch2/catch.hpp>

#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "util/file.hpp"
#include "util/privileges.hpp"

using namespace postern;

namespace {

// Accounts a test system cannot have.
class FakeAccounts final : public AccountDatabase {
  public:
    std::map<std::string, UserAccount> users;    // by name
    std::map<uid_t, std::string> user_names;     // what getpwuid() would return
    std::map<std::string, GroupAccount> groups;  // by name
    std::map<gid_t, std::string> group_names;    // what getgrgid() would return

    void add_user(const std::string& name, uid_t uid, gid_t gid) {
        users[name] = UserAccount{name, uid, gid, {gid}};
        user_names.emplace(uid, name);  // the first one wins, as in a passwd file
    }
    void add_group(const std::string& name, gid_t gid) {
        groups[name] = GroupAccount{name, gid};
        group_names.emplace(gid, name);
    }

    Result<UserAccount> user_by_name(const std::string& name) const override {
        auto found = users.find(name);
        if (found == users.end())
            return Error(ErrorKind::not_found, name);
        return found->second;
    }
    Result<UserAccount> user_by_uid(uid_t uid) const override {
        auto found = user_names.find(uid);
        if (found == user_names.end())
            return Error(ErrorKind::not_found, std::to_string(uid));
        return users.at(found->second);
    }
    Result<GroupAccount> group_by_name(const std::string& name) const override {
        auto found = groups.find(name);
        if (found == groups.end())
            return Error(ErrorKind::not_found, name);
        return found->second;
    }
    Result<GroupAccount> group_by_gid(gid_t gid) const override {
        auto found = group_names.find(gid);
        if (found == group_names.end())
            return Error(ErrorKind::not_found, std::to_string(gid));
        return groups.at(found->second);
    }
};

FakeAccounts typical_accounts() {
    FakeAccounts accounts;
    accounts.add_user("root", 0, 0);
    accounts.add_user("news", 9, 9);
    accounts.add_user("postfix", 102, 105);
    accounts.add_user("toor", 0, 0);
    accounts.add_user("wheel-user", 1000, 0);
    accounts.add_user("mailer", 9, 40);  // shares news's uid, listed after it
    accounts.add_group("root", 0);
    accounts.add_group("news", 9);
    accounts.add_group("postfix", 105);
    accounts.add_group("postdrop", 106);
    accounts.add_group("wheel", 0);
    accounts.add_group("maildrop", 106);  // shares postdrop's gid, listed after it
    return accounts;
}

// Runs `body` in a forked child (privileges are for the whole process) and returns its
// exit status; the child reports a failure as a line on stderr and a non-zero status.
int in_child(const std::function<int()>& body) {
    std::cout.flush();
    std::fflush(nullptr);
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0)
        ::_exit(body());
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    REQUIRE(WIFEXITED(status));
    return WEXITSTATUS(status);
}

int failed(const std::string& why) {
    std::fprintf(stderr, "child: %s\n", why.c_str());
    return 1;
}

void ensure_postfix_account() {
    REQUIRE(std::system("getent passwd postfix >/dev/null || "
                        "useradd --system --no-create-home --shell /usr/sbin/nologin postfix") ==
            0);
}

}  // namespace

TEST_CASE("privileges: mail_owner is checked with Postfix's words", "[server]") {
    FakeAccounts accounts = typical_accounts();
    auto owner = check_mail_owner("/etc/postfix", "postfix", accounts);
    REQUIRE(owner.ok());
    CHECK(owner->uid == 102);
    CHECK(owner->gid == 105);

    std::string prefix = "file /etc/postfix/main.cf: parameter mail_owner: ";
    auto [name, message] = GENERATE(table<std::string, std::string>({
        {"nobody-here", "unknown user name value: nobody-here"},
        {"root", "user root has privileged user ID"},
        {"toor", "user toor has privileged user ID"},
        {"wheel-user", "user wheel-user has privileged group ID"},
        {"mailer", "user mailer has same user ID as news"},
    }));
    auto refused = check_mail_owner("/etc/postfix", name, accounts);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().kind() == ErrorKind::config);
    CHECK(refused.error().message() == prefix + message);
}

TEST_CASE("privileges: setgid_group is checked with Postfix's words", "[server]") {
    FakeAccounts accounts = typical_accounts();
    auto group = check_setgid_group("/etc/postfix", "postdrop", accounts);
    REQUIRE(group.ok());
    CHECK(group->gid == 106);

    std::string prefix = "file /etc/postfix/main.cf: parameter setgid_group: ";
    auto [name, message] = GENERATE(table<std::string, std::string>({
        {"nogroup-here", "unknown group name: nogroup-here"},
        {"wheel", "group wheel has privileged group ID"},
        {"maildrop", "group maildrop has same group ID as postdrop"},
    }));
    auto refused = check_setgid_group("/etc/postfix", name, accounts);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().message() == prefix + message);
}

TEST_CASE("privileges: mail_owner's group must not be setgid_group", "[server]") {
    UserAccount owner{"postfix", 102, 105, {105}};
    CHECK(check_owner_group_overlap("/etc/postfix", owner, GroupAccount{"postdrop", 106}).ok());
    Status shared = check_owner_group_overlap("/etc/postfix", owner, GroupAccount{"postfix", 105});
    REQUIRE_FALSE(shared.ok());
    CHECK(shared.error().message() ==
          "file /etc/postfix/main.cf: parameters mail_owner and setgid_group: user postfix and "
          "group postfix have the same group ID: 105");
}

TEST_CASE("privileges: the system's accounts", "[server]") {
    ensure_postfix_account();
    const AccountDatabase& accounts = system_accounts();
    auto root = accounts.user_by_uid(0);
    REQUIRE(root.ok());
    CHECK(root->name == "root");
    CHECK(accounts.group_by_gid(0).ok());
    auto postfix = accounts.user_by_name("postfix");
    REQUIRE(postfix.ok());
    CHECK(postfix->uid != 0);
    // The primary group is among the groups initgroups() would set.
    CHECK(std::find(postfix->groups.begin(), postfix->groups.end(), postfix->gid) !=
          postfix->groups.end());
    auto missing = accounts.user_by_name("no-such-user-postern");
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().kind() == ErrorKind::not_found);
    CHECK(accounts.group_by_name("no-such-group-postern").error().kind() == ErrorKind::not_found);

    auto refused = check_mail_owner("/etc/postfix", "root");
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().message() ==
          "file /etc/postfix/main.cf: parameter mail_owner: user root has privileged user ID");
}

TEST_CASE("privileges: drop_privileges gives up root for good", "[server]") {
    ensure_postfix_account();
    auto postfix = system_accounts().user_by_name("postfix");
    REQUIRE(postfix.ok());
    UserAccount account = *postfix;
    int status = in_child([&account] {
        Status dropped = drop_privileges(account);
        if (!dropped)
            return failed(dropped.error().message());
        uid_t real, effective, saved;
        gid_t real_group, effective_group, saved_group;
        ::getresuid(&real, &effective, &saved);
        ::getresgid(&real_group, &effective_group, &saved_group);
        if (real != account.uid || effective != account.uid || saved != account.uid)
            return failed("uids not all dropped");
        if (real_group != account.gid || effective_group != account.gid ||
            saved_group != account.gid)
            return failed("gids not all dropped");
        std::vector<gid_t> groups(static_cast<size_t>(::getgroups(0, nullptr)));
        ::getgroups(static_cast<int>(groups.size()), groups.data());
        std::sort(groups.begin(), groups.end());
        std::vector<gid_t> expected = account.groups;
        std::sort(expected.begin(), expected.end());
        if (groups != expected)
            return failed("supplementary groups differ");
        if (::setuid(0) == 0 || ::seteuid(0) == 0 || ::setgid(0) == 0)
            return failed("root regained");
        // Once dropped, a second drop to the same account only verifies; to root, fails.
        if (!drop_privileges(account))
            return failed("same-account drop refused");
        if (drop_privileges(0, 0))
            return failed("drop to root accepted");
        return 0;
    });
    CHECK(status == 0);
}

TEST_CASE("privileges: drop_privileges without supplementary groups keeps only the gid",
          "[server]") {
    int status = in_child([] {
        if (!drop_privileges(65534, 65534))
            return failed("drop refused");
        std::vector<gid_t> groups(static_cast<size_t>(::getgroups(0, nullptr)));
        ::getgroups(static_cast<int>(groups.size()), groups.data());
        return groups == std::vector<gid_t>{65534} ? 0 : failed("groups not cleared");
    });
    CHECK(status == 0);
}

TEST_CASE("privileges: enter_chroot makes the directory the root", "[server]") {
    char pattern[] = "/tmp/postern-chroot.XXXXXX";
    REQUIRE(::mkdtemp(pattern) != nullptr);
    std::string jail = pattern;
    REQUIRE(replace_file_atomically(jail + "/marker", "inside").ok());
    int status = in_child([&jail] {
        Status entered = enter_chroot(jail);
        if (!entered)
            return failed(entered.error().message());
        char cwd[256];
        if (::getcwd(cwd, sizeof cwd) == nullptr || std::string(cwd) != "/")
            return failed("cwd is not /");
        auto marker = read_file("/marker");
        if (!marker || *marker != "inside")
            return failed("marker not visible at /marker");
        // The jail's own path does not exist inside it.
        return ::access((jail + "/marker").c_str(), F_OK) == 0 ? failed("outside visible") : 0;
    });
    CHECK(status == 0);
    CHECK_FALSE(enter_chroot("/nonexistent/postern-jail").ok());
    std::filesystem::remove_all(jail);
}
