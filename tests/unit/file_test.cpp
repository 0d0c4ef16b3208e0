#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include "util/file.hpp"

using namespace postern;

namespace {
std::string make_temporary_directory() {
    char pattern[] = "/tmp/postern-file-test.XXXXXX";
    REQUIRE(::mkdtemp(pattern) != nullptr);
    return pattern;
}
}  // namespace

TEST_CASE("replace_file_atomically writes, replaces and keeps the mode") {
    std::string dir = make_temporary_directory();
    std::string path = dir + "/main.cf";
    REQUIRE(replace_file_atomically(path, "a = 1\n", 0600).ok());
    CHECK(*read_file(path) == "a = 1\n");
    struct stat info {};
    REQUIRE(::stat(path.c_str(), &info) == 0);
    CHECK((info.st_mode & 0777) == 0600);
    REQUIRE(replace_file_atomically(path, "b = 2\n", 0644).ok());
    CHECK(*read_file(path) == "b = 2\n");
    REQUIRE(::stat(path.c_str(), &info) == 0);
    CHECK((info.st_mode & 0777) == 0600);
    ::unlink(path.c_str());
    ::rmdir(dir.c_str());
}

TEST_CASE("read_file reports a missing file as not found") {
    auto result = read_file("/nonexistent/postern/main.cf");
    REQUIRE_FALSE(result.ok());
    CHECK(result.error().kind() == ErrorKind::not_found);
    CHECK_THAT(result.error().message(), Catch::Contains("/nonexistent/postern/main.cf"));
}

TEST_CASE("replace_file_atomically fails cleanly in a missing directory") {
    auto status = replace_file_atomically("/nonexistent/postern/x", "data");
    REQUIRE_FALSE(status.ok());
    CHECK(status.error().kind() == ErrorKind::io);
}

TEST_CASE("directory_of") {
    CHECK(directory_of("/etc/postfix/main.cf") == "/etc/postfix");
    CHECK(directory_of("main.cf") == ".");
    CHECK(directory_of("/main.cf") == "/");
}
