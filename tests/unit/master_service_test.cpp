// master's reading of master.cf against main.cf: argument vectors in Postfix's order,
// listening addresses from inet_interfaces/inet_protocols, socket paths, errors by line.
#include <catch2/catch.hpp>

#include "master/service_definition.hpp"

using namespace postern;
using namespace postern::master;

namespace {

MasterSettings test_settings() {
    MasterSettings settings;
    settings.config_directory = "/etc/postfix";
    settings.queue_directory = "/var/spool/postfix";
    settings.daemon_directory = "/usr/libexec/postern";
    settings.inet_interfaces = {"loopback-only"};
    settings.address_families = {true, false};
    settings.default_process_limit = 100;
    return settings;
}

std::vector<ServiceDefinition> resolve(std::string_view text,
                                       const MasterSettings& settings = test_settings()) {
    Result<MasterCf> parsed = parse_master_cf(text, "/etc/postfix/master.cf");
    REQUIRE(parsed.ok());
    Result<std::vector<ServiceDefinition>> services = resolve_services(*parsed, settings);
    if (!services)
        FAIL(services.error().message());
    return std::move(*services);
}

std::string resolve_error(std::string_view text) {
    Result<MasterCf> parsed = parse_master_cf(text, "/etc/postfix/master.cf");
    REQUIRE(parsed.ok());
    Result<std::vector<ServiceDefinition>> services = resolve_services(*parsed, test_settings());
    REQUIRE_FALSE(services.ok());
    return services.error().message();
}

using Words = std::vector<std::string>;

}  // namespace

TEST_CASE("master service: argument vectors follow Postfix's master", "[master]") {
    auto services = resolve(
        "smtp      inet  n       -       y       -       -       smtpd\n"
        "pickup    fifo  n       -       y       60      1       pickup\n"
        "qmgr      unix  n       -       n       300     1       qmgr\n"
        "relay     unix  -       -       y       -       0       smtp -o syslog_name=relay\n"
        "cleanup   unix  n       -       y       -       0       cleanup\n");
    REQUIRE(services.size() == 5);
    CHECK(services[0].arguments == Words{"smtpd", "-n", "smtp", "-t", "inet", "-u", "-c"});
    CHECK(services[1].arguments == Words{"pickup", "-l", "-t", "fifo", "-u", "-c"});
    CHECK(services[2].arguments == Words{"qmgr", "-l", "-t", "unix", "-u"});
    CHECK(services[3].arguments ==
          Words{"smtp", "-z", "-n", "relay", "-t", "unix", "-u", "-c", "-o", "syslog_name=relay"});
    CHECK(services[4].arguments == Words{"cleanup", "-z", "-t", "unix", "-u", "-c"});
    CHECK(services[0].program_path == "/usr/libexec/postern/smtpd");
    CHECK(services[1].wakeup_seconds == 60);
    CHECK(services[1].process_limit == 1);
    CHECK(services[0].process_limit == 100);
}

TEST_CASE("master service: privileges, wakeup and absolute commands", "[master]") {
    auto services = resolve(
        "local     unix  -       n       n       -       -       local\n"
        "flush     unix  n       -       n       1000?   0       flush\n"
        "y         unix  -       -       -       -       -       /opt/bin/x -v\n");
    CHECK_FALSE(services[0].unprivileged);
    CHECK_FALSE(services[0].chrooted);
    CHECK(services[1].wakeup_only_if_used);
    CHECK(services[1].wakeup_seconds == 1000);
    CHECK(services[2].program_path == "/opt/bin/x");
    CHECK(services[2].arguments == Words{"/opt/bin/x", "-n", "y", "-t", "unix", "-u", "-v"});
}

TEST_CASE("master service: socket paths by private field", "[master]") {
    auto services = resolve(
        "pickup    fifo  n       -       y       60      1       pickup\n"
        "cleanup   unix  -       -       y       -       0       cleanup\n"
        "postlog   unix-dgram n  -       n       -       1       postlogd\n");
    CHECK(services[0].socket_path == "/var/spool/postfix/public/pickup");
    CHECK(services[1].socket_path == "/var/spool/postfix/private/cleanup");
    CHECK(services[2].socket_path == "/var/spool/postfix/public/postlog");
    CHECK(services[2].type == ServiceType::unix_dgram);
}

TEST_CASE("master service: inet addresses", "[master]") {
    SECTION("a port alone listens on inet_interfaces") {
        auto services = resolve("2525 inet n - n - - smtpd\n");
        REQUIRE(services[0].inet_addresses.size() == 1);
        CHECK(services[0].inet_addresses[0].text == "127.0.0.1:2525");
        CHECK(services[0].listen_count() == 1);
    }
    SECTION("a service name is looked up in /etc/services") {
        auto services = resolve("smtp inet n - n - - smtpd\n");
        CHECK(services[0].inet_addresses[0].text == "127.0.0.1:25");
    }
    SECTION("host:port and [v6]:port") {
        MasterSettings settings = test_settings();
        settings.address_families = {true, true};
        auto services = resolve(
            "127.0.0.2:587 inet n - n - - smtpd\n"
            "[::1]:587 inet n - n - - smtpd\n",
            settings);
        CHECK(services[0].inet_addresses[0].text == "127.0.0.2:587");
        CHECK(services[1].inet_addresses[0].text == "[::1]:587");
    }
    SECTION("several interfaces give several descriptors and -s") {
        MasterSettings settings = test_settings();
        settings.inet_interfaces = {"127.0.0.1", "127.0.0.2"};
        auto services = resolve("smtp inet n - n - - smtpd\n", settings);
        CHECK(services[0].listen_count() == 2);
        CHECK(services[0].arguments == Words{"smtpd", "-n", "smtp", "-t", "inet", "-u", "-s", "2"});
    }
}

TEST_CASE("master service: errors name the file and line", "[master]") {
    CHECK(resolve_error("a unix - - n - - x\nsmtp inet n - n - - smtpd\n"
                        "smtp inet n - n - - smtpd\n")
              .find("smtp") != std::string::npos);
    CHECK(resolve_error("a unix - - n - - x\n99999 inet n - n - - smtpd\n") ==
          "/etc/postfix/master.cf: line 2: bad port number: 99999");
    CHECK(resolve_error("nosuchservice inet n - n - - smtpd\n") ==
          "/etc/postfix/master.cf: line 1: unknown service: nosuchservice/tcp");
    CHECK(resolve_error("a/b unix n - n - - x\n") ==
          "/etc/postfix/master.cf: line 1: bad service name: a/b");
}
