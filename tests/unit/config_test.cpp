#include <catch2/catch.hpp>

#include <unistd.h>

#include "config/config.hpp"
#include "util/file.hpp"

using namespace postern;

namespace {
std::string write_main_cf(const std::string& text) {
    char pattern[] = "/tmp/postern-config-test.XXXXXX";
    REQUIRE(::mkdtemp(pattern) != nullptr);
    std::string dir = pattern;
    REQUIRE(replace_file_atomically(dir + "/main.cf", text).ok());
    return dir;
}
}  // namespace

TEST_CASE("config: main.cf over defaults, overrides over main.cf, expanded at use time") {
    std::string dir = write_main_cf("myhostname = mail.example.com\nrelayhost = [$mydomain]:587\n");
    auto config = Config::load(dir);
    REQUIRE(config.ok());
    CHECK(*config->get("mydomain") == "example.com");
    CHECK(*config->get("myorigin") == "mail.example.com");
    CHECK(*config->get("relayhost") == "[example.com]:587");
    config->set_override("myhostname", "mx.other.org");
    CHECK(*config->get("relayhost") == "[other.org]:587");
    CHECK(config->explicit_value("myorigin") == std::nullopt);
    CHECK(config->default_value("myorigin") == "$myhostname");
}

TEST_CASE("config: a missing main.cf is an error naming the file") {
    auto config = Config::load("/nonexistent/postern");
    REQUIRE_FALSE(config.ok());
    CHECK_THAT(config.error().message(), Catch::Contains("/nonexistent/postern/main.cf"));
}

TEST_CASE("config: typed reads name the parameter on bad values") {
    std::string dir = write_main_cf("bounce_queue_lifetime = 2h\nrelayhost = a, b c\n");
    auto config = Config::load(dir);
    REQUIRE(config.ok());
    CHECK(*config->get_time_seconds("bounce_queue_lifetime") == 7200);
    config->set_override("bounce_queue_lifetime", "3");
    CHECK(*config->get_time_seconds("bounce_queue_lifetime") == 3 * 86400);
    config->set_override("bounce_queue_lifetime", "soon");
    auto bad = config->get_time_seconds("bounce_queue_lifetime");
    REQUIRE_FALSE(bad.ok());
    CHECK_THAT(bad.error().message(), Catch::Contains("bounce_queue_lifetime = soon"));
    CHECK(*config->get_list("relayhost") == std::vector<std::string>{"a", "b", "c"});
    CHECK_FALSE(config->get("no_such_parameter").ok());
}

TEST_CASE("config: raw parameters are never expanded") {
    Config config = Config::defaults_only();
    config.set_override("smtpd_reject_footer", "see $client_address");
    CHECK(*config.get("smtpd_reject_footer") == "see $client_address");
    config.set_override("myorigin", "$nothing_here");
    CHECK(config.get("myorigin")->empty());
}
