#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "config/parameter_usage.hpp"
#include "util/file.hpp"

using namespace postern;

namespace {

// main.cf in a temporary directory, loaded; master.cf parsed from text.
struct Loaded {
    std::string directory;
    Config config;
    MasterCf master_cf;
};

Loaded load(const std::string& main_cf, const std::string& master_cf) {
    char pattern[] = "/tmp/postern-parameter-usage-test.XXXXXX";
    REQUIRE(::mkdtemp(pattern) != nullptr);
    std::string directory = pattern;
    REQUIRE(replace_file_atomically(directory + "/main.cf", main_cf).ok());
    auto config = Config::load(directory);
    REQUIRE(config.ok());
    auto parsed = parse_master_cf(master_cf, directory + "/master.cf");
    REQUIRE(parsed.ok());
    for (const MasterCfEntry& entry : parsed->entries)
        config->add_service_parameters(service_parameters(entry.service, entry.program()));
    std::filesystem::remove_all(directory);
    return Loaded{directory, std::move(*config), std::move(*parsed)};
}

std::vector<std::string> located(const std::vector<ParameterUsageWarning>& warnings) {
    std::vector<std::string> out;
    for (const ParameterUsageWarning& warning : warnings)
        out.push_back(warning.located_text());
    return out;
}

}  // namespace

TEST_CASE("check_parameter_usage reports unused and undefined names with their lines", "[config]") {
    Loaded loaded = load(
        "myhostname = mx.example.com\n"
        "frob = 1\n"
        "relayhost = $undefined_relay\n"
        "used_by_reference = x\n"
        "mydomain = $used_by_reference\n",
        "smtp inet n - n - - smtpd\n"
        "  -o local_thing=2 -o smtpd_banner=$local_thing\n"
        "relay unix - - n - - smtp -o junk=3\n");
    const std::string main_cf = loaded.directory + "/main.cf";
    const std::string master_cf = loaded.directory + "/master.cf";
    std::vector<std::string> found =
        located(check_parameter_usage(loaded.config, loaded.master_cf));
    std::vector<std::string> expected = {
        main_cf + ", line 3: undefined parameter: undefined_relay",
        main_cf + ", line 2: unused parameter: frob=1",
        "file " + master_cf + ": line 3: unused parameter: junk=3",
    };
    CHECK(found == expected);
}

TEST_CASE("postconf's text leaves out the line, and the path of a syntax error", "[config]") {
    Loaded loaded = load("frob = 1\nmydomain = ${broken\n", "");
    auto warnings = check_parameter_usage(loaded.config, loaded.master_cf);
    REQUIRE(warnings.size() == 2);
    CHECK(warnings[0].kind == ParameterUsageWarning::Kind::syntax);
    CHECK(warnings[0].text() == "truncated macro reference: \"${broken\"");
    CHECK(warnings[0].line == 2);
    CHECK(warnings[1].text() == loaded.directory + "/main.cf: unused parameter: frob=1");
}

TEST_CASE("the options choose which unused settings are reported", "[config]") {
    Loaded loaded = load("frob = 1\n", "relay unix - - n - - smtp -o junk=3\n");
    ParameterUsageOptions options;
    options.report_main_cf_unused = false;
    auto warnings = check_parameter_usage(loaded.config, loaded.master_cf, options);
    REQUIRE(warnings.size() == 1);
    CHECK(warnings[0].in_master_cf);
    CHECK(warnings[0].detail == "unused parameter: junk=3");
}

TEST_CASE("ServiceScope puts a service's -o values over main.cf", "[config]") {
    Loaded loaded =
        load("myhostname = a.example\nmydomain = example\n",
             "smtp inet n - n - - smtpd -o myhostname=b.example -o myhostname=c.example\n");
    ServiceScope scope(loaded.master_cf.entries.at(0), loaded.config);
    CHECK(scope.raw_value("myhostname") == std::optional<std::string_view>("c.example"));
    CHECK(scope.raw_value("mydomain") == std::optional<std::string_view>("example"));
}
