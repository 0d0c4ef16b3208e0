// libFuzzer target: postmap's source format (table_source) and the texthash: table built
// from it, plus the inline:/static: name parsers. The first byte picks the flags (case
// folding, UTF-8 keys, duplicate policy); the rest is the file. Nothing in it may crash,
// hang or leak, and every key the parser yields must be found again in the table unless a
// duplicate policy or folding merged it.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "maps/map.hpp"
#include "maps/table_source.hpp"
#include "maps/texthash_map.hpp"

namespace {

postern::MapFlag flags_from(uint8_t selector) {
    using postern::MapFlag;
    MapFlag flags = MapFlag::none;
    if (selector & 1)
        flags = flags | MapFlag::fold_fixed;
    if (selector & 2)
        flags = flags | MapFlag::utf8_keys;
    switch ((selector >> 2) & 3) {
        case 0:
            return flags | MapFlag::duplicate_warn;
        case 1:
            return flags | MapFlag::duplicate_ignore;
        case 2:
            return flags | MapFlag::duplicate_replace;
        default:
            return flags;  // duplicates are an error
    }
}

void exercise_names(std::string_view text) {
    std::string name(text.substr(0, 256));
    for (const char* type : {"inline:", "static:"}) {
        auto map = postern::open_map(type + name);
        if (map.ok())
            (void)(*map)->lookup("a");
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0)
        return 0;
    std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
    postern::MapOpenOptions options;
    options.flags = flags_from(data[0]);
    auto ignore = [](const std::string&) {};
    auto map = postern::make_texthash_map("fuzz/texthash", text, options, ignore);
    if (map.ok()) {
        postern::TableSourceOptions source_options;
        source_options.check_utf8 = postern::has_flag(options.flags, postern::MapFlag::utf8_keys);
        postern::Status status = postern::parse_table_source(
            text, "fuzz/texthash", source_options,
            [&](const postern::TableSourceEntry& entry) {
                auto value = (*map)->lookup(entry.key);
                // Every parsed key is in the table (whatever value the policy kept).
                if (!value.ok() || !value->has_value())
                    std::abort();
                return postern::Status();
            },
            ignore);
        (void)status;
        (void)(*map)->for_each(
            [](std::string_view, std::string_view) { return postern::Status(); });
    }
    if (data[0] & 0x10)
        exercise_names(text);
    return 0;
}
