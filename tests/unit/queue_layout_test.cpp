#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include "queue/queue_layout.hpp"
#include "util/file.hpp"

using namespace postern;

namespace {

// Accounts that need not exist: root can chown to any number.
constexpr uid_t kMailOwner = 4242;
constexpr gid_t kMailOwnerGroup = 4242;
constexpr gid_t kSetgidGroup = 4343;

class TemporaryInstance {
  public:
    TemporaryInstance() {
        char pattern[] = "/tmp/postern-queue-layout-test.XXXXXX";
        REQUIRE(::mkdtemp(pattern) != nullptr);
        base_ = pattern;
        layout.queue_directory = base_ + "/spool";
        layout.data_directory = base_ + "/data";
        layout.accounts.mail_owner_name = "mailowner";
        layout.accounts.mail_owner_uid = kMailOwner;
        layout.accounts.mail_owner_gid = kMailOwnerGroup;
        layout.accounts.setgid_group_name = "maildropgroup";
        layout.accounts.setgid_group_gid = kSetgidGroup;
    }
    ~TemporaryInstance() { std::filesystem::remove_all(base_); }
    TemporaryInstance(const TemporaryInstance&) = delete;
    TemporaryInstance& operator=(const TemporaryInstance&) = delete;

    std::string path(const std::string& name) const { return layout.queue_directory + "/" + name; }
    const std::string& base() const { return base_; }

    QueueLayout layout;

  private:
    std::string base_;
};

bool running_as_root() {
    if (::geteuid() == 0)
        return true;
    WARN("skipped: creating the queue tree needs root");
    return false;
}

struct stat stat_of(const std::string& path) {
    struct stat info {};
    REQUIRE(::lstat(path.c_str(), &info) == 0);
    return info;
}

void write_file(const std::string& path, mode_t mode = 0600) {
    Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, mode));
    REQUIRE(fd.valid());
    REQUIRE(write_all(fd.get(), "x").ok());
}

std::vector<std::string> messages(const std::vector<LayoutProblem>& problems) {
    std::vector<std::string> out;
    for (const LayoutProblem& problem : problems)
        out.push_back(problem.message);
    return out;
}

bool contains(const std::vector<std::string>& list, const std::string& text) {
    return std::find(list.begin(), list.end(), text) != list.end();
}

}  // namespace

TEST_CASE("the layout has Postfix's directories, owners and modes", "[queue]") {
    struct Expected {
        const char* name;
        DirectoryOwner owner;
        bool setgid_group;
        mode_t mode;
    };
    auto expected = GENERATE(values<Expected>({
        {".", DirectoryOwner::root, false, 0755},
        {"maildrop", DirectoryOwner::mail_owner, true, 0730},
        {"public", DirectoryOwner::mail_owner, true, 0710},
        {"pid", DirectoryOwner::root, false, 0755},
        {"private", DirectoryOwner::mail_owner, false, 0700},
        {"incoming", DirectoryOwner::mail_owner, false, 0700},
        {"active", DirectoryOwner::mail_owner, false, 0700},
        {"deferred", DirectoryOwner::mail_owner, false, 0700},
        {"hold", DirectoryOwner::mail_owner, false, 0700},
        {"corrupt", DirectoryOwner::mail_owner, false, 0700},
        {"bounce", DirectoryOwner::mail_owner, false, 0700},
        {"defer", DirectoryOwner::mail_owner, false, 0700},
        {"trace", DirectoryOwner::mail_owner, false, 0700},
        {"flush", DirectoryOwner::mail_owner, false, 0700},
        {"saved", DirectoryOwner::mail_owner, false, 0700},
    }));
    const auto& specs = queue_directory_specs();
    auto spec = std::find_if(specs.begin(), specs.end(),
                             [&](const QueueDirectorySpec& s) { return s.name == expected.name; });
    REQUIRE(spec != specs.end());
    CHECK(spec->owner == expected.owner);
    CHECK(spec->setgid_group == expected.setgid_group);
    CHECK(spec->mode == expected.mode);
    CHECK(specs.size() == 15);
}

TEST_CASE("expected_directories resolves owners and ends with data_directory", "[queue]") {
    TemporaryInstance instance;
    std::vector<ExpectedDirectory> expected = expected_directories(instance.layout);
    REQUIRE(expected.size() == 16);
    CHECK(expected.front().path == instance.layout.queue_directory);
    CHECK(expected.front().owner == 0);
    CHECK(expected.front().owner_name == "root");
    CHECK(expected.back().path == instance.layout.data_directory);
    CHECK(expected.back().owner == kMailOwner);
    CHECK(expected.back().mode == 0700);
    for (const ExpectedDirectory& directory : expected) {
        bool grouped = directory.path == instance.path("maildrop") ||
                       directory.path == instance.path("public");
        CHECK(directory.group.has_value() == grouped);
        if (grouped) {
            CHECK(*directory.group == kSetgidGroup);
            CHECK(directory.group_name == "maildropgroup");
        }
    }
}

TEST_CASE("create_missing_directories builds the tree with owners and modes", "[queue]") {
    if (!running_as_root())
        return;
    TemporaryInstance instance;
    auto created = create_missing_directories(instance.layout);
    REQUIRE(created.ok());
    CHECK(created->size() == 16);
    struct stat maildrop = stat_of(instance.path("maildrop"));
    CHECK(maildrop.st_uid == kMailOwner);
    CHECK(maildrop.st_gid == kSetgidGroup);
    CHECK((maildrop.st_mode & 07777) == 0730);
    struct stat pid = stat_of(instance.path("pid"));
    CHECK(pid.st_uid == 0);
    CHECK((pid.st_mode & 07777) == 0755);
    CHECK((stat_of(instance.layout.data_directory).st_mode & 07777) == 0700);
    CHECK(check_queue_layout(instance.layout).empty());

    // A second run creates nothing and changes nothing.
    REQUIRE(::chmod(instance.path("hold").c_str(), 0750) == 0);
    auto again = create_missing_directories(instance.layout);
    REQUIRE(again.ok());
    CHECK(again->empty());
    CHECK((stat_of(instance.path("hold")).st_mode & 07777) == 0750);
}

TEST_CASE("check_queue_layout names each problem and its path", "[queue]") {
    if (!running_as_root())
        return;
    TemporaryInstance instance;
    REQUIRE(create_missing_directories(instance.layout).ok());
    REQUIRE(::rmdir(instance.path("hold").c_str()) == 0);
    REQUIRE(::chown(instance.path("active").c_str(), 1234, static_cast<gid_t>(-1)) == 0);
    REQUIRE(::chmod(instance.path("incoming").c_str(), 0777) == 0);
    REQUIRE(::chown(instance.path("public").c_str(), kMailOwner, 0) == 0);
    REQUIRE(::mkdir(instance.path("deferred/A").c_str(), 0700) == 0);
    REQUIRE(::chown(instance.path("deferred/A").c_str(), kMailOwner, 0) == 0);
    write_file(instance.path("deferred/A/ABCDEF"));  // owned by root: wrong

    std::vector<std::string> found = messages(check_queue_layout(instance.layout));
    CHECK(contains(found, "missing directory: " + instance.path("hold")));
    CHECK(contains(found, "not owned by mailowner: " + instance.path("active")));
    CHECK(contains(found, "wrong mode 0777 (expected 0700): " + instance.path("incoming")));
    CHECK(contains(found, "not owned by group maildropgroup: " + instance.path("public")));
    CHECK(contains(found, "not owned by mailowner: " + instance.path("deferred/A/ABCDEF")));
    CHECK(found.size() == 5);
}

TEST_CASE("check_queue_layout ignores sockets in private and reports a link", "[queue]") {
    if (!running_as_root())
        return;
    TemporaryInstance instance;
    REQUIRE(create_missing_directories(instance.layout).ok());
    // A daemon's socket belongs to whoever made it.
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    Fd socket_fd(fd);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::string socket_path = instance.path("private/smtp");
    REQUIRE(socket_path.size() < sizeof address.sun_path);
    std::memcpy(address.sun_path, socket_path.c_str(), socket_path.size() + 1);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    // A symbolic link where a directory belongs.
    std::string elsewhere = instance.base() + "/elsewhere";
    REQUIRE(::mkdir(elsewhere.c_str(), 0700) == 0);
    REQUIRE(::rmdir(instance.path("saved").c_str()) == 0);
    REQUIRE(::symlink(elsewhere.c_str(), instance.path("saved").c_str()) == 0);

    std::vector<LayoutProblem> problems = check_queue_layout(instance.layout);
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].kind == LayoutProblem::Kind::not_a_directory);
    CHECK(problems[0].message == "not a directory: " + instance.path("saved"));
}

TEST_CASE("set_queue_permissions repairs the tree, recursively where Postfix does", "[queue]") {
    if (!running_as_root())
        return;
    TemporaryInstance instance;
    REQUIRE(create_missing_directories(instance.layout).ok());
    REQUIRE(::chown(instance.path("active").c_str(), 1234, 0) == 0);
    REQUIRE(::chmod(instance.path("pid").c_str(), 0777) == 0);
    REQUIRE(::chown(instance.path("maildrop").c_str(), kMailOwner, 0) == 0);
    REQUIRE(::mkdir(instance.path("deferred/B").c_str(), 0755) == 0);
    write_file(instance.path("deferred/B/QUEUEFILE"), 0700);  // mode marks queue file state
    REQUIRE(::rmdir(instance.path("trace").c_str()) == 0);

    REQUIRE(set_queue_permissions(instance.layout).ok());
    CHECK(check_queue_layout(instance.layout).empty());
    struct stat subdirectory = stat_of(instance.path("deferred/B"));
    CHECK(subdirectory.st_uid == kMailOwner);
    CHECK((subdirectory.st_mode & 07777) == 0700);
    struct stat queue_file = stat_of(instance.path("deferred/B/QUEUEFILE"));
    CHECK(queue_file.st_uid == kMailOwner);
    CHECK((queue_file.st_mode & 07777) == 0700);  // files keep their mode
    CHECK(stat_of(instance.path("maildrop")).st_gid == kSetgidGroup);
}

TEST_CASE("set_queue_permissions never follows a link below queue_directory", "[queue]") {
    if (!running_as_root())
        return;
    TemporaryInstance instance;
    REQUIRE(create_missing_directories(instance.layout).ok());
    std::string outside = instance.base() + "/outside";
    write_file(outside, 0644);
    REQUIRE(::symlink(outside.c_str(), instance.path("incoming/link").c_str()) == 0);
    REQUIRE(set_queue_permissions(instance.layout).ok());
    CHECK(stat_of(outside).st_uid == 0);
    CHECK(stat_of(instance.path("incoming/link")).st_uid == kMailOwner);  // the link itself

    // A link in place of a queue directory is refused, and its target left alone.
    std::string target = instance.base() + "/target";
    REQUIRE(::mkdir(target.c_str(), 0755) == 0);
    REQUIRE(::rmdir(instance.path("flush").c_str()) == 0);
    REQUIRE(::symlink(target.c_str(), instance.path("flush").c_str()) == 0);
    Status refused = set_queue_permissions(instance.layout);
    REQUIRE_FALSE(refused.ok());
    CHECK_THAT(refused.error().message(), Catch::Contains(instance.path("flush")));
    struct stat target_info = stat_of(target);
    CHECK(target_info.st_uid == 0);
    CHECK((target_info.st_mode & 07777) == 0755);
}

TEST_CASE("create_missing_directories needs the parent of queue_directory", "[queue]") {
    TemporaryInstance instance;
    instance.layout.queue_directory = instance.base() + "/no/such/spool";
    auto created = create_missing_directories(instance.layout);
    REQUIRE_FALSE(created.ok());
    CHECK_THAT(created.error().message(),
               Catch::Contains("mkdir " + instance.layout.queue_directory));
}

TEST_CASE("lookup_queue_accounts names the parameter of an unknown account", "[queue]") {
    auto user = lookup_queue_accounts("no-such-user-postern", "root");
    REQUIRE_FALSE(user.ok());
    CHECK(user.error().kind() == ErrorKind::config);
    CHECK(user.error().message() ==
          "parameter mail_owner: unknown user name value: no-such-user-postern");
    auto group = lookup_queue_accounts("root", "no-such-group-postern");
    REQUIRE_FALSE(group.ok());
    CHECK(group.error().message() ==
          "parameter setgid_group: unknown group name: no-such-group-postern");
    auto root = lookup_queue_accounts("root", "root");
    REQUIRE(root.ok());
    CHECK(root->mail_owner_uid == 0);
    CHECK(root->setgid_group_gid == 0);
}

TEST_CASE("format_mode shows four octal digits", "[queue]") {
    CHECK(format_mode(0755) == "0755");
    CHECK(format_mode(02755) == "2755");
    CHECK(format_mode(S_IFDIR | 0700) == "0700");
}
