// postmap: build, query, change and list lookup tables, compatible with Postfix's command
// of the same name: postmap [-bfFhimnNoprsuUvw] [-c config_dir] [-d key] [-q key]
// [file_type:]file_name ...
//
// The administrator builds hash: and btree: tables (sasl_passwd, virtual, access...) from
// source files in postmap's format (lib/maps/table_source) and tests any table type with
// -q. Runs as its caller; as root, a build writes as the source file's owner (see
// table_tool.hpp). The common work of postmap and postalias is in table_tool.
#include "maps/table_source.hpp"
#include "tools/postmap/base64.hpp"
#include "tools/postmap/table_tool.hpp"
#include "util/file.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace postern::table_tool {
namespace {

// -F: the value names files; their contents, joined by newlines, are stored in base64.
// nullopt (after Postfix's warning) when one cannot be read.
std::optional<std::string> file_contents(const TableSourceEntry& entry, std::string_view origin) {
    std::string joined;
    bool first = true;
    for (std::string_view file : split_list(entry.value)) {
        Result<std::string> content = read_file(std::string(file));
        if (!content) {
            log_warning("%s, line %d: %s: skipping this entry", std::string(origin).c_str(),
                        entry.line, content.error().message().c_str());
            return std::nullopt;
        }
        if (!first)
            joined += '\n';
        joined += *content;
        first = false;
    }
    return joined;
}

Status load_table_source(Map& map, const SourceContext& source) {
    TableSourceOptions parse;
    parse.check_utf8 = source.settings.smtputf8 && !source.options.disable_utf8;
    parse.postmap_wording = true;
    return parse_table_source(
        source.text, source.origin, parse,
        [&](const TableSourceEntry& entry) -> Status {
            if (!source.options.base64)
                return map.update(source.fold(entry.key), entry.value);
            std::optional<std::string> content = file_contents(entry, source.origin);
            if (!content)
                return {};
            return map.update(source.fold(entry.key), base64_encode(*content));
        },
        [](const std::string& text) { log_warning("%s", text.c_str()); });
}

const Personality& postmap() {
    static const Personality personality{
        "postmap",
        "postmap [-bfFhimnNoprsuUvw] [-c config_dir] [-d key] [-q key] [map_type:]file...",
        "+:bc:d:fFhimnNopq:rsuUvw",
        "\t",
        load_table_source,
        nullptr,
        nullptr,
    };
    return personality;
}

}  // namespace
}  // namespace postern::table_tool

int main(int argc, char** argv) {
    using namespace postern::table_tool;
    Options options = parse_command_line(postmap(), argc, argv);
    Settings settings = load_settings(postmap(), options);
    check_modes(postmap(), options);
    return run(postmap(), options, settings);
}
