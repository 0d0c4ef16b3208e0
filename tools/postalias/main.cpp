// postalias and newaliases: build, query, change and list alias databases, compatible with
// Postfix's commands: postalias [-Nfinoprsuvw] [-c config_dir] [-d key] [-q key]
// [file_type:]file_name ..., and newaliases (Postfix's `sendmail -bi`), which builds every
// table in alias_database. One program: invoked as "newaliases" it is newaliases.
//
// Where it sits: the administrator edits /etc/aliases (aliases(5), parsed by
// lib/maps/aliases_source) and runs newaliases; local(8) then looks recipients up in the
// alias database. Runs as its caller; as root, a build writes as the source file's owner
// (tools/postmap/table_tool.hpp, shared with postmap).
//
// Besides the aliases, a build stores what Postfix's postalias stores for NIS clients:
// the "@" => "@" entry that marks a complete database, YP_LAST_MODIFIED (the time of the
// build) and YP_MASTER_NAME ($myhostname), the last two without a terminating NUL. They
// are added to the committed table through a second handle (see add_yp_entries), so a
// reader may see the new aliases a moment before the YP_* entries; nothing but NIS reads
// those.
#include <getopt.h>

#include <cstdlib>
#include <cstring>
#include <ctime>
#include <iostream>
#include <string_view>

#include "maps/aliases_source.hpp"
#include "tools/postmap/table_tool.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace postern::table_tool {
namespace {

Status load_aliases(Map& map, const SourceContext& source) {
    AliasSourceOptions parse;
    parse.check_utf8 = source.settings.smtputf8 && !source.options.disable_utf8;
    return parse_aliases(
        source.text, source.origin, parse,
        [&](const AliasEntry& entry) { return map.update(source.fold(entry.name), entry.value); },
        [](const std::string& text) { log_warning("%s", text.c_str()); });
}

// The "@" entry that marks a complete database. A full build stores it under the
// duplicate rules of the command line, after the aliases (so an alias named "@" keeps its
// value and gets the duplicate warning, as in Postfix); -i replaces what is there.
Status finish_aliases(Map& map, const Options& options, const Settings&) {
    if (options.incremental)
        if (Result<bool> removed = map.remove("@"); !removed)
            return removed.error();
    return map.update("@", "@");
}

// YP_LAST_MODIFIED and YP_MASTER_NAME, as Postfix stores them for NIS: always without a
// terminating NUL and never case-folded, whatever the command line says about the rest,
// and replacing older ones. Tables write every entry of one handle alike, so these go
// through a handle of their own once the aliases are committed.
Status add_yp_entries(const std::string& spec, const Options&, const Settings& settings) {
    MapOpenOptions open;
    open.access = MapAccess::read_write;
    open.flags = MapFlag::try_no_nul | MapFlag::duplicate_replace | MapFlag::lock;
    Result<std::unique_ptr<Map>> map = open_map(spec, open);
    if (!map)
        return map.error();
    Status stored = (*map)->update("YP_LAST_MODIFIED", std::to_string(std::time(nullptr)));
    if (stored)
        stored = (*map)->update("YP_MASTER_NAME", settings.myhostname);
    if (stored)
        stored = (*map)->commit();
    return stored;
}

const Personality& postalias() {
    static const Personality personality{
        "postalias",
        "postalias [-Nfinoprsuvw] [-c config_dir] [-d key] [-q key] [map_type:]file...",
        "+:c:d:finNopq:rsuvw",
        ":\t",
        load_aliases,
        finish_aliases,
        add_yp_entries,
    };
    return personality;
}

// ---- newaliases ----

// Postfix's sendmail exits with EX_TEMPFAIL on its own errors.
constexpr int kExitTempFail = 75;

[[noreturn]] void newaliases_fatal(const std::string& text) {
    std::cerr << "newaliases: fatal: " << text << '\n';
    std::exit(kExitTempFail);
}

// sendmail -C accepts the configuration directory or the main.cf file in it.
std::string configuration_directory(const std::string& argument) {
    constexpr std::string_view kMainCf = "/main.cf";
    if (argument.size() > kMainCf.size() && argument.ends_with(kMainCf))
        return argument.substr(0, argument.size() - kMainCf.size());
    return argument;
}

// The sendmail options that make sense for newaliases: -C config, -oAtables (instead of
// alias_database), -v; -bi, -I and other -o options are accepted and ignored.
Options parse_newaliases_command_line(int argc, char** argv, std::string& alias_override) {
    Options options;
    options.config_directory = Config::default_config_directory();
    opterr = 0;
    int option;
    while ((option = getopt(argc, argv, "+:b:C:Io:v")) != -1) {
        switch (option) {
            case 'C':
                options.config_directory = configuration_directory(optarg);
                break;
            case 'o':
                if (optarg[0] == 'A')
                    alias_override = optarg + 1;
                break;
            case 'v':
                ++options.verbose;
                break;
            case 'b':
            case 'I':
                break;
            default:
                std::cerr << "newaliases: invalid option -- '" << static_cast<char>(optopt)
                          << "'\n";
                newaliases_fatal("usage: newaliases [options]");
        }
    }
    if (optind < argc)
        newaliases_fatal("alias initialization mode requires no recipient");
    return options;
}

int run_newaliases(int argc, char** argv) {
    std::string alias_override;
    Options options = parse_newaliases_command_line(argc, argv, alias_override);
    Settings settings = load_settings(postalias(), options);
    std::string tables = alias_override.empty() ? settings.alias_database : alias_override;
    for (std::string_view table : split_list(tables))
        options.tables.emplace_back(table);
    return run(postalias(), options, settings);
}

bool invoked_as_newaliases(const char* argv0) {
    const char* slash = std::strrchr(argv0, '/');
    return std::string_view(slash != nullptr ? slash + 1 : argv0) == "newaliases";
}

}  // namespace
}  // namespace postern::table_tool

int main(int argc, char** argv) {
    using namespace postern::table_tool;
    if (argc > 0 && invoked_as_newaliases(argv[0]))
        return run_newaliases(argc, argv);
    Options options = parse_command_line(postalias(), argc, argv);
    Settings settings = load_settings(postalias(), options);
    check_modes(postalias(), options);
    return run(postalias(), options, settings);
}
