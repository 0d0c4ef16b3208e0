#include <catch2/catch.hpp>

#include <random>

#include "config/master_cf.hpp"

using namespace postern;

namespace {

MasterCf parse_ok(std::string_view text) {
    auto parsed = parse_master_cf(text, "./master.cf");
    if (!parsed)
        FAIL(parsed.error().message());
    return std::move(*parsed);
}

std::string parse_error(std::string_view text) {
    auto parsed = parse_master_cf(text, "./master.cf");
    REQUIRE_FALSE(parsed.ok());
    CHECK(parsed.error().kind() == ErrorKind::config);
    return parsed.error().message();
}

}  // namespace

TEST_CASE("master.cf: fields, comments, blank lines and continuation lines") {
    const char* text =
        "# service type  private unpriv  chroot  wakeup  maxproc command + args\n"
        "smtp      inet  n       -       y       -       -       smtpd\n"
        "\n"
        "relay     unix  -       -       y       -       -       smtp\n"
        "        -o syslog_name=postfix/$service_name\n"
        "#       -o smtp_helo_timeout=5\n"
        "\n"
        "\t-o smtp_helo_timeout=7\n"
        "tlsmgr    unix  -       -       y       1000?   1       tlsmgr\n"
        "postlog   unix-dgram n  -       n       -       1       postlogd\n";
    MasterCf parsed = parse_ok(text);
    REQUIRE(parsed.entries.size() == 4);
    CHECK(parsed.warnings.empty());

    const MasterCfEntry& smtp = parsed.entries[0];
    CHECK(smtp.service == "smtp");
    CHECK(smtp.type() == ServiceType::inet);
    CHECK(smtp.key() == "smtp/inet");
    CHECK_FALSE(smtp.is_private());
    CHECK(smtp.is_unprivileged());
    CHECK(smtp.is_chrooted());
    CHECK(smtp.wakeup_seconds().value() == 0);
    CHECK(smtp.process_limit(100).value() == 100);
    CHECK(smtp.program() == "smtpd");
    CHECK(smtp.first_line == 2);

    const MasterCfEntry& relay = parsed.entries[1];
    CHECK(relay.first_line == 4);
    CHECK(relay.last_line == 8);
    CHECK(relay.command_line() ==
          "smtp -o syslog_name=postfix/$service_name -o smtp_helo_timeout=7");
    REQUIRE(relay.parameters.size() == 2);
    CHECK(relay.parameter("syslog_name") == "postfix/$service_name");
    CHECK(relay.parameter("smtp_helo_timeout") == "7");
    CHECK_FALSE(relay.parameter("nosuch").has_value());

    const MasterCfEntry& tlsmgr = parsed.entries[2];
    CHECK(tlsmgr.wakeup_seconds().value() == 1000);
    CHECK(tlsmgr.wakeup_only_if_used());
    CHECK(tlsmgr.process_limit(100).value() == 1);
    CHECK(tlsmgr.wakeup_field == "1000?");

    CHECK(parsed.entries[3].type() == ServiceType::unix_dgram);
    CHECK_FALSE(parsed.entries[3].is_chrooted());
    CHECK(parsed.find("postlog", ServiceType::unix_dgram) == &parsed.entries[3]);
    CHECK(parsed.find("postlog", ServiceType::unix_stream) == nullptr);
}

TEST_CASE("master.cf: defaults for '-' fields") {
    MasterCf parsed = parse_ok("a unix - - - - - cmd\n");
    const MasterCfEntry& entry = parsed.entries.at(0);
    CHECK(entry.is_private());
    CHECK(entry.is_unprivileged());
    CHECK_FALSE(entry.is_chrooted());
    CHECK(entry.wakeup_seconds().value() == 0);
    CHECK_FALSE(entry.wakeup_only_if_used());
    CHECK(entry.process_limit(42).value() == 42);
}

TEST_CASE("master.cf: service names with hosts and ports") {
    MasterCf parsed = parse_ok(
        "127.0.0.1:10025 inet n - n - - smtpd\n"
        "[::1]:25 inet n - n - - smtpd\n");
    CHECK(parsed.entries.at(0).service == "127.0.0.1:10025");
    CHECK(parsed.entries.at(1).service == "[::1]:25");
}

TEST_CASE("master.cf: -o values in braces, and braced words") {
    MasterCf parsed = parse_ok(
        "a unix - - - - - cmd -o { smtpd_banner = hello  world } -o x=y -oz=w"
        " -o{ q = r } -v {-D} arg1 {arg two}\n");
    const MasterCfEntry& entry = parsed.entries.at(0);
    CHECK(entry.command_line() ==
          "cmd -o {smtpd_banner=hello  world} -o x=y -o z=w -o q=r -v -D arg1 {arg two}");
    REQUIRE(entry.parameters.size() == 4);
    CHECK(entry.parameter("smtpd_banner") == "hello  world");
    CHECK(entry.parameter("z") == "w");
    CHECK(entry.parameter("q") == "r");
    std::vector<std::string> exec = entry.exec_arguments();
    // master passes the words as written, without their braces.
    REQUIRE(exec.size() == 11);
    CHECK(exec[2] == "smtpd_banner = hello  world");
    CHECK(exec[5] == "-oz=w");
    CHECK(exec[6] == "-o{ q = r }");
    CHECK(exec[8] == "-D");
    CHECK(exec[10] == "arg two");
}

TEST_CASE("master.cf: postconf's normalisation quirks stay out of the daemon's parameters") {
    MasterCf parsed = parse_ok("a unix - - - - - cmd -vosmtpd_tls_auth_only=yes -- -o b=c\n");
    const MasterCfEntry& entry = parsed.entries.at(0);
    // Postfix's postconf splits an option word at every later 'o'.
    CHECK(entry.command_line() == "cmd -v -o smtpd_tls_auth_ -o nly=yes -- -o b=c");
    REQUIRE(entry.shown_parameters().size() == 1);
    CHECK(entry.shown_parameters()[0].name == "nly");
    // The daemon's getopt reads "-vo" "smtpd_tls_auth_only=yes" and stops at "--".
    REQUIRE(entry.parameters.size() == 1);
    CHECK(entry.parameter("smtpd_tls_auth_only") == "yes");
}

TEST_CASE("master.cf: a lone '-' ends the daemon options but -P still reads past it") {
    MasterCf parsed = parse_ok("a unix - - - - - cmd - x -oa=b {y z}\n");
    const MasterCfEntry& entry = parsed.entries.at(0);
    CHECK(entry.command_line() == "cmd - x -oa=b {y z}");
    CHECK(entry.parameters.empty());
    CHECK(entry.shown_parameters().empty());
    MasterCf other = parse_ok("a unix - - - - - cmd - x -o a=b\n");
    REQUIRE(other.entries.at(0).shown_parameters().size() == 1);
}

TEST_CASE("master.cf: a braced word may span lines") {
    MasterCf parsed = parse_ok("a unix - - - - - cmd -o {x = y\n  z}\n");
    CHECK(parsed.entries.at(0).parameter("x") == "y  z");
    CHECK(parsed.entries.at(0).command_line() == "cmd -o {x=y  z}");
}

TEST_CASE("master.cf: -o options after the first non-option argument are arguments") {
    MasterCf parsed = parse_ok("a unix - - - - - pipe flags=R argv=x -o a=b\n");
    CHECK(parsed.entries.at(0).parameters.empty());
    CHECK(parsed.entries.at(0).command_line() == "pipe flags=R argv=x -o a=b");
}

TEST_CASE("master.cf: problems with braces and -o values are warnings") {
    MasterCf parsed = parse_ok(
        "a unix - - - - - cmd -o {a=b}c -o { d } -o {=e} -o\n"
        "b unix - - - - - cmd -o {x={y}\n");
    REQUIRE(parsed.warnings.size() == 4);
    CHECK(parsed.warnings[0] == "master.cf: syntax error after '}' in \"{a=b}c\"");
    CHECK(parsed.warnings[1] == "master.cf: missing '=' after attribute name: \"d\"");
    CHECK(parsed.warnings[2] == "master.cf: missing attribute name: \"=e\"");
    CHECK(parsed.warnings[3] == "master.cf: missing '}' in \"{x={y}\"");
    CHECK(parsed.entries.at(0).command_line() == "cmd -o a=b -o d -o =e -o");
    // A trailing -o without a value is kept, and brings no parameter.
    CHECK(parsed.entries.at(0).parameters.size() == 1);
    CHECK(parsed.entries.at(1).parameter("x") == "{y}");
}

TEST_CASE("master.cf: a first line that starts with white space is skipped with a warning") {
    MasterCf parsed = parse_ok("  orphan unix - - - - - cmd\na unix - - - - - cmd\n");
    REQUIRE(parsed.entries.size() == 1);
    REQUIRE(parsed.warnings.size() == 1);
    CHECK(parsed.warnings[0] ==
          "./master.cf: logical line must not start with whitespace: \"  orphan unix - - - - - "
          "cmd\"");
}

TEST_CASE("master.cf: malformed entries name the file and the line") {
    CHECK(parse_error("a unix - - - - - cmd\n\n# c\nb unix - - - -\n") ==
          "file ./master.cf: line 4: bad field count");
    CHECK(parse_error("a bogus - - - - - cmd\n") ==
          "file ./master.cf: line 1: invalid type field \"bogus\" in \"a bogus - - - - - cmd\"");
    CHECK(parse_error("a INET - - - - - cmd\n") ==
          "file ./master.cf: line 1: invalid type field \"INET\" in \"a INET - - - - - cmd\"");
    CHECK(parse_error("a unix yes - - - - cmd\n") ==
          "file ./master.cf: line 1: invalid private field \"yes\" in \"a unix yes - - - - cmd\"");
    CHECK(parse_error("a unix - Y - - - cmd\n") ==
          "file ./master.cf: line 1: invalid unprivileged field \"Y\" in \"a unix - Y - - - cmd\"");
    CHECK(parse_error("a unix - - x - - cmd\n") ==
          "file ./master.cf: line 1: invalid chroot field \"x\" in \"a unix - - x - - cmd\"");
    CHECK(parse_error("a unix - - - -1 - cmd\n") ==
          "file ./master.cf: line 1: invalid wakeup field \"-1\" in \"a unix - - - -1 - cmd\"");
    CHECK(parse_error("a unix - - - 5?? - cmd\n") ==
          "file ./master.cf: line 1: invalid wakeup field \"5??\" in \"a unix - - - 5?? - cmd\"");
    CHECK(parse_error("a unix - - - - +5 cmd\n") ==
          "file ./master.cf: line 1: invalid process_limit field \"+5\" in \"a unix - - - - +5 "
          "cmd\"");
    // An unterminated brace swallows the rest of the line.
    CHECK(parse_error("{a unix - - - - - cmd\n") == "file ./master.cf: line 1: bad field count");
    // Control characters are not quoted as they are.
    CHECK(parse_error("a\tbogus - - - - - cmd\n") ==
          "file ./master.cf: line 1: invalid type field \"bogus\" in \"a?bogus - - - - - cmd\"");
}

TEST_CASE("master.cf: wakeup and process limit forms Postfix accepts") {
    for (const char* wakeup : {"-", "0", "00", "60", "1000?", "?", "-?"})
        CHECK(parse_master_cf(std::string("a unix - - - ") + wakeup + " - cmd\n", "m").ok());
    MasterCf parsed = parse_ok("a unix - - - 99999999999999999999 99999999999999999999 cmd\n");
    CHECK_FALSE(parsed.entries.at(0).wakeup_seconds().ok());
    CHECK_FALSE(parsed.entries.at(0).process_limit(100).ok());
}

TEST_CASE("master.cf: duplicate services are accepted, and check_unique_services finds them") {
    MasterCf parsed = parse_ok(
        "smtp inet n - n - - smtpd\nsmtp unix - - n - - smtp\n"
        "smtp inet n - n - - smtpd\n");
    CHECK(parsed.entries.size() == 3);
    Status unique = check_unique_services(parsed);
    REQUIRE_FALSE(unique.ok());
    CHECK(unique.error().message() ==
          "file ./master.cf: line 3: duplicate service \"smtp/inet\" (first defined at line 1)");
    CHECK(check_unique_services(parse_ok("a unix - - - - - x\n")).ok());
}

TEST_CASE("master.cf: word splitting and brace helpers") {
    CHECK(split_master_words("a {b c} d{e f}g }h{ i}") ==
          std::vector<std::string>{"a", "{b c}", "d{e f}g", "}h{ i}"});
    CHECK(split_master_words(" \t\r\n").empty());
    std::string problem;
    CHECK(strip_braces("{ a b }", &problem) == "a b");
    CHECK(problem.empty());
    CHECK(strip_braces("{}") == "");
    CHECK(strip_braces("{{a}}") == "{a}");
    CHECK(split_parameter(" a = b c ").value().value == "b c");
    CHECK(split_parameter("a b=c").error().message() == "missing '=' after attribute name");
    CHECK(split_parameter("").error().message() == "missing attribute name");
    CHECK(format_option_value("a=b c") == "{a=b c}");
    CHECK(format_option_value("a=b") == "a=b");
}

TEST_CASE("master.cf: arbitrary input never crashes the parser") {
    std::mt19937 random(12345);
    const std::string alphabet = "ab-o={} \t\n#?y0123456789unixet\r";
    for (int round = 0; round < 3000; ++round) {
        std::string text;
        size_t length = random() % 200;
        for (size_t i = 0; i < length; ++i)
            text += alphabet[random() % alphabet.size()];
        auto parsed = parse_master_cf(text, "fuzz");
        if (parsed) {
            for (const MasterCfEntry& entry : parsed->entries) {
                (void)entry.wakeup_seconds();
                (void)entry.process_limit(100);
                (void)entry.exec_arguments();
                CHECK_FALSE(entry.command.empty());
            }
        }
    }
}
