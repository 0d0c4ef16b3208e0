#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "server/server_context.hpp"
#include "server/server_options.hpp"
#include "util/file.hpp"

using namespace postern;

namespace {

ServerOptions parsed(const std::vector<std::string>& words) {
    auto options = parse_server_options(words);
    if (!options)
        FAIL(options.error().message());
    return *options;
}

std::string parse_error(const std::vector<std::string>& words) {
    auto options = parse_server_options(words);
    REQUIRE_FALSE(options.ok());
    CHECK(options.error().kind() == ErrorKind::config);
    return options.error().message();
}

std::string config_directory_with(const std::string& main_cf) {
    char pattern[] = "/tmp/postern-server-options.XXXXXX";
    REQUIRE(::mkdtemp(pattern) != nullptr);
    std::string directory = pattern;
    REQUIRE(replace_file_atomically(directory + "/main.cf", main_cf).ok());
    return directory;
}

}  // namespace

TEST_CASE("server options: defaults name the service after the program", "[server]") {
    ServerOptions options = parsed({"/usr/libexec/postern/smtpd"});
    CHECK(options.program == "smtpd");
    CHECK(options.service_name == "smtpd");
    CHECK_FALSE(options.transport);
    CHECK(options.listen_count == 1);
    CHECK_FALSE(options.solitary);
    CHECK_FALSE(options.unlimited);
    CHECK_FALSE(options.debug);
    CHECK(options.verbose == 0);
    CHECK_FALSE(options.unprivileged);
    CHECK_FALSE(options.chroot);
    CHECK_FALSE(options.stand_alone);
    CHECK(options.overrides.empty());
    CHECK(options.arguments.empty());
}

TEST_CASE("server options: the command line master builds", "[server]") {
    ServerOptions options = parsed({"/usr/libexec/postern/smtpd",
                                    "-l",
                                    "-z",
                                    "-n",
                                    "submission",
                                    "-t",
                                    "inet",
                                    "-d",
                                    "-v",
                                    "-v",
                                    "-u",
                                    "-c",
                                    "-s",
                                    "2",
                                    "-o",
                                    "smtpd_tls_security_level=encrypt",
                                    "-o",
                                    "syslog_name=postfix/submission",
                                    "flags=R",
                                    "-x",
                                    "user=mail"});
    CHECK(options.program == "smtpd");
    CHECK(options.service_name == "submission");
    REQUIRE(options.transport);
    CHECK(*options.transport == ServiceType::inet);
    CHECK(options.solitary);
    CHECK(options.unlimited);
    CHECK(options.debug);
    CHECK(options.verbose == 2);
    CHECK(options.unprivileged);
    CHECK(options.chroot);
    CHECK(options.listen_count == 2);
    REQUIRE(options.overrides.size() == 2);
    CHECK(options.overrides[0].name == "smtpd_tls_security_level");
    CHECK(options.overrides[0].value == "encrypt");
    CHECK(options.overrides[1].name == "syslog_name");
    CHECK(options.overrides[1].value == "postfix/submission");
    // The options end at the first word that is not one; what follows is the daemon's.
    CHECK(options.arguments == std::vector<std::string>{"flags=R", "-x", "user=mail"});
}

TEST_CASE("server options: grouped flags and attached values, as getopt", "[server]") {
    ServerOptions options = parsed({"pickup", "-uvvc", "-s3", "-tfifo", "-npickup2", "-Sd"});
    CHECK(options.unprivileged);
    CHECK(options.chroot);
    CHECK(options.verbose == 2);
    CHECK(options.listen_count == 3);
    CHECK(*options.transport == ServiceType::fifo);
    CHECK(options.service_name == "pickup2");
    CHECK(options.stand_alone);
    CHECK(options.debug);
}

TEST_CASE("server options: every master.cf spelling of -o", "[server]") {
    auto [words, name, value] = GENERATE(table<std::vector<std::string>, std::string, std::string>({
        {{"x", "-o", "a=b"}, "a", "b"},
        {{"x", "-oa=b"}, "a", "b"},
        {{"x", "-o", "a = b"}, "a", "b"},
        {{"x", "-o", "{ a = b }"}, "a", "b"},
        {{"x", "-o{ a = b }"}, "a", "b"},
        {{"x", "-o", "{a=b}"}, "a", "b"},
        {{"x", "-o", "{ a = b c }"}, "a", "b c"},
        {{"x", "-o", "a="}, "a", ""},
        {{"x", "-o", "a=b=c"}, "a", "b=c"},
    }));
    ServerOptions options = parsed(words);
    REQUIRE(options.overrides.size() == 1);
    CHECK(options.overrides[0].name == name);
    CHECK(options.overrides[0].value == value);
}

TEST_CASE("server options: -- and the first non-option end the options", "[server]") {
    ServerOptions after_dashes = parsed({"x", "-u", "--", "-v", "arg"});
    CHECK(after_dashes.unprivileged);
    CHECK(after_dashes.verbose == 0);
    CHECK(after_dashes.arguments == std::vector<std::string>{"-v", "arg"});

    ServerOptions after_word = parsed({"x", "-u", "/tmp/log", "-v"});
    CHECK(after_word.verbose == 0);
    CHECK(after_word.arguments == std::vector<std::string>{"/tmp/log", "-v"});

    // A lone "-" is an argument, as for getopt.
    CHECK(parsed({"x", "-", "-v"}).arguments == std::vector<std::string>{"-", "-v"});
}

TEST_CASE("server options: bad options are clear errors", "[server]") {
    auto [words, message] = GENERATE(table<std::vector<std::string>, std::string>({
        {{"x", "-x"}, "invalid option: -x"},
        {{"x", "-ux"}, "invalid option: -x"},
        {{"x", "-o"}, "option requires an argument: -o"},
        {{"x", "-u", "-t"}, "option requires an argument: -t"},
        {{"x", "-s", "0"}, "invalid socket_count: 0"},
        {{"x", "-s", "abc"}, "invalid socket_count: abc"},
        {{"x", "-s", "-1"}, "invalid socket_count: -1"},
        {{"x", "-s", "100000"}, "invalid socket_count: 100000"},
        {{"x", "-t", "tcp"}, "unsupported transport type: tcp"},
        {{"x", "-o", "novalue"},
         "invalid \"-o novalue\" option value: missing '=' after attribute name"},
        {{"x", "-o", "=value"}, "invalid \"-o =value\" option value: missing attribute name"},
        {{"x", "-o", "{ a = b"}, "invalid \"-o { a = b\" option value: missing '}'"},
        {{"x", "-n", ""}, "invalid service name: \"\""},
    }));
    CHECK_THAT(parse_error(words), Catch::StartsWith(message));
}

TEST_CASE("server options: main.cf, the service's parameters and -o overrides", "[server]") {
    std::string directory =
        config_directory_with("myhostname = a.example\nmyorigin = $myhostname\n");
    ServerOptions options =
        parsed({"/usr/libexec/postern/smtp", "-n", "relay", "-t", "unix", "-o",
                "myhostname=b.example", "-o", "relay_destination_concurrency_limit = 3"});
    auto config = load_server_config(directory, options);
    REQUIRE(config.ok());
    CHECK(*config->get("myhostname") == "b.example");
    CHECK(*config->get("myorigin") == "b.example");
    CHECK(*config->get("service_name") == "relay");
    CHECK(*config->get("config_directory") == directory);
    CHECK(config->is_known("relay_destination_concurrency_limit"));
    CHECK(*config->get_integer("relay_destination_concurrency_limit") == 3);

    auto missing = load_server_config(directory + "/nonexistent", options);
    REQUIRE_FALSE(missing.ok());
    CHECK_THAT(missing.error().message(), Catch::Contains("nonexistent/main.cf"));
    std::filesystem::remove_all(directory);
}

TEST_CASE("server settings: Postfix's defaults and limits", "[server]") {
    Config defaults = Config::defaults_only();
    auto settings = read_server_settings(defaults);
    REQUIRE(settings.ok());
    CHECK(settings->max_use == 100);
    CHECK(settings->max_idle == std::chrono::seconds(100));
    CHECK(settings->ipc_timeout == std::chrono::seconds(3600));
    CHECK(settings->daemon_timeout == std::chrono::seconds(18000));
    CHECK(settings->mail_owner == "postfix");
    CHECK(settings->setgid_group == "postdrop");
    CHECK_FALSE(settings->queue_directory.empty());
    CHECK(settings->client_limit == 0);

    Config changed = Config::defaults_only();
    changed.set_override("max_use", "7");
    changed.set_override("max_idle", "2m");
    changed.set_override("daemon_timeout", "1h");
    changed.set_override("queue_directory", "/tmp/q");
    auto read = read_server_settings(changed);
    REQUIRE(read.ok());
    CHECK(read->max_use == 7);
    CHECK(read->max_idle == std::chrono::seconds(120));
    CHECK(read->daemon_timeout == std::chrono::seconds(3600));
    CHECK(read->queue_directory == "/tmp/q");

    auto [name, value, message] = GENERATE(table<std::string, std::string, std::string>({
        {"max_use", "0", "invalid max_use parameter value 0 < 1"},
        {"max_idle", "0", "invalid max_idle parameter value 0 < 1"},
        {"max_idle", "soon", "invalid time configuration: max_idle = soon"},
        {"max_use", "many", "bad numerical configuration: max_use = many"},
        {"mail_owner", "", "parameter mail_owner has no value"},
    }));
    Config bad = Config::defaults_only();
    bad.set_override(name, value);
    auto refused = read_server_settings(bad);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().message() == message);
}
