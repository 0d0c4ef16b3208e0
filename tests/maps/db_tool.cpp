// db_tool: a test program that speaks a subset of postmap(1)'s command line over Postern's
// lookup tables, so that tests/system/maps_db_compat_test.py can drive real Postfix's
// postmap and Postern's tables with the same arguments.
//
//   db_tool [-NnfrwT] [-c dir] type:name         build name.db from the source file `name`
//   db_tool [-Nnf] [-c dir] -q key type:name     print the value; exit 1 when not found
//   db_tool [-Nnf] [-c dir] -q - type:name       keys from stdin, "key<TAB>value" per hit
//   db_tool [-Nnf] [-c dir] -s type:name         print every entry as "key<TAB>value"
//
// -T (not postmap's) reads the source as literal "key<TAB>value" lines, so that a test can
// store values postmap's input syntax cannot express (an empty value). -c is accepted and
// ignored. Only a test helper: tools/postmap is the real command.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <string>
#include <string_view>

#include "maps/map.hpp"
#include "util/file.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

using namespace postern;

namespace {

struct Arguments {
    MapFlag flags = MapFlag::fold_fixed | MapFlag::try_nul | MapFlag::try_no_nul;
    MapFlag duplicates = MapFlag::duplicate_warn;
    bool literal_source = false;
    bool scan = false;
    std::optional<std::string> query;
    std::string spec;
};

MapFlag without(MapFlag flags, MapFlag flag) {
    return static_cast<MapFlag>(static_cast<uint32_t>(flags) & ~static_cast<uint32_t>(flag));
}

Arguments parse_arguments(int argc, char** argv) {
    Arguments arguments;
    for (int option; (option = ::getopt(argc, argv, "NnfrwTc:q:s")) != -1;) {
        switch (option) {
            case 'N':
                arguments.flags = without(arguments.flags, MapFlag::try_no_nul);
                break;
            case 'n':
                arguments.flags = without(arguments.flags, MapFlag::try_nul);
                break;
            case 'f':
                arguments.flags = without(arguments.flags, MapFlag::fold_fixed);
                break;
            case 'r':
                arguments.duplicates = MapFlag::duplicate_replace;
                break;
            case 'w':
                arguments.duplicates = MapFlag::duplicate_ignore;
                break;
            case 'T':
                arguments.literal_source = true;
                break;
            case 'c':
                break;
            case 'q':
                arguments.query = optarg;
                break;
            case 's':
                arguments.scan = true;
                break;
            default:
                log_fatal("usage: db_tool [-NnfrwT] [-c dir] [-q key | -s] type:name");
        }
    }
    if (optind + 1 != argc)
        log_fatal("usage: db_tool [-NnfrwT] [-c dir] [-q key | -s] type:name");
    arguments.spec = argv[optind];
    return arguments;
}

// One logical line of postmap's input: text lines joined with their continuations.
struct SourceEntry {
    int line_number;
    std::string text;
};

std::vector<SourceEntry> logical_lines(const std::string& content) {
    std::vector<SourceEntry> entries;
    size_t start = 0;
    for (int number = 1; start < content.size(); ++number) {
        size_t end = content.find('\n', start);
        if (end == std::string::npos)
            end = content.size();
        std::string_view line(content.data() + start, end - start);
        start = end + 1;
        if (trim(line).empty() || trim(line).front() == '#')
            continue;
        bool continuation = line.front() == ' ' || line.front() == '\t';
        if (continuation && !entries.empty())
            entries.back().text += line;
        else
            entries.push_back({number, std::string(trim_left(line))});
    }
    return entries;
}

int build(const Arguments& arguments, const std::string& source_name) {
    auto source = read_file(source_name);
    if (!source.ok())
        log_fatal("open %s: %s", source_name.c_str(), source.error().message().c_str());
    struct stat st {};
    ::stat(source_name.c_str(), &st);
    MapOpenOptions options;
    options.access = MapAccess::create_truncate;
    options.flags = arguments.flags | arguments.duplicates;
    // As postmap: the group and other read permissions of the source.
    options.create_mode = 0644 & (st.st_mode | ~static_cast<mode_t>(077));
    auto map = open_map(arguments.spec, options);
    if (!map.ok())
        log_fatal(map.error());
    for (const SourceEntry& entry : logical_lines(*source)) {
        std::string_view text =
            arguments.literal_source ? std::string_view(entry.text) : trim_right(entry.text);
        size_t split = arguments.literal_source ? text.find('\t') : text.find_first_of(" \t");
        if (split == std::string_view::npos && !arguments.literal_source) {
            log_warning("%s, line %d: expected format: key whitespace value", source_name.c_str(),
                        entry.line_number);
            continue;
        }
        std::string_view key = text.substr(0, split);
        std::string_view value =
            split == std::string_view::npos ? std::string_view() : text.substr(split + 1);
        if (!arguments.literal_source)
            value = trim(value);
        if (Status updated = (*map)->update(key, value); !updated)
            log_fatal(updated.error());
    }
    if (Status committed = (*map)->commit(); !committed)
        log_fatal(committed.error());
    return 0;
}

MapOpenOptions read_options(const Arguments& arguments) {
    MapOpenOptions options;
    options.access = MapAccess::read_only;
    options.flags = arguments.flags | MapFlag::lock;
    return options;
}

std::optional<std::string> lookup_or_die(Map& map, std::string_view key) {
    auto found = map.lookup(key);
    if (!found.ok())
        log_fatal(found.error());
    return std::move(found.value());
}

// -q key prints the value; -q - reads keys from stdin and prints "key<TAB>value" for each
// key found. Exit status 0 when something was found, else 1.
int query(const Arguments& arguments) {
    auto map = open_map(arguments.spec, read_options(arguments));
    if (!map.ok())
        log_fatal(map.error());
    if (*arguments.query != "-") {
        auto value = lookup_or_die(**map, *arguments.query);
        if (value)
            std::cout << *value << '\n';
        return value ? 0 : 1;
    }
    bool found_any = false;
    for (std::string key; std::getline(std::cin, key);) {
        if (auto value = lookup_or_die(**map, key)) {
            std::cout << key << '\t' << *value << '\n';
            found_any = true;
        }
    }
    return found_any ? 0 : 1;
}

int scan(const Arguments& arguments) {
    auto map = open_map(arguments.spec, read_options(arguments));
    if (!map.ok())
        log_fatal(map.error());
    Status scanned = (*map)->for_each([](std::string_view key, std::string_view value) {
        std::cout << key << '\t' << value << '\n';
        return Status();
    });
    if (!scanned)
        log_fatal(scanned.error());
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    std::ios::sync_with_stdio(false);
    Arguments arguments = parse_arguments(argc, argv);
    if (arguments.query)
        return query(arguments);
    if (arguments.scan)
        return scan(arguments);
    size_t colon = arguments.spec.find(':');
    return build(arguments,
                 colon == std::string::npos ? arguments.spec : arguments.spec.substr(colon + 1));
}
