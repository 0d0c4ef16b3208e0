// libFuzzer target: aliases(5) parsing (lib/maps/aliases_source.hpp), what postalias and
// newaliases read from /etc/aliases or standard input. Nothing may crash, hang, leak or
// read past the input; every entry must come from a line of the input.
//
// Input: one control byte (its low bit turns the UTF-8 check on), then the text.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "maps/aliases_source.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0)
        return 0;
    postern::AliasSourceOptions options;
    options.check_utf8 = (data[0] & 1) != 0;
    std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
    int lines = static_cast<int>(std::count(text.begin(), text.end(), '\n')) + 1;
    size_t warnings = 0;
    postern::Status status = postern::parse_aliases(
        text, "fuzz/aliases", options,
        [&](const postern::AliasEntry& entry) -> postern::Status {
            if (entry.line < 1 || entry.line > lines || entry.value.size() > 3 * text.size() + 2)
                std::abort();
            return {};
        },
        [&](const std::string&) { ++warnings; });
    if (!status.ok())
        std::abort();
    auto single = postern::parse_alias_line(text);
    (void)single;
    return 0;
}
