// libFuzzer target: cidr: table text (lib/maps/cidr_map). Input is an arbitrary table; it
// is parsed as a file would be and looked up with a few addresses and with its own first
// line as a key (lookup keys come from the network). Nothing may crash, hang or leak, and
// a lookup never fails: a cidr table answers or does not.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "maps/cidr_map.hpp"

namespace {

// Longer tables add nothing the parser has not seen per line; they only slow the search.
constexpr size_t kMaxInput = 4096;
constexpr size_t kMaxKey = 64;

constexpr std::string_view kKeys[] = {
    "1.2.3.4",     "10.0.0.1",       "0.0.0.0",      "255.255.255.255", "::", "::1",
    "2001:db8::1", "::ffff:1.2.3.4", "fe80::1%eth0", "[1.2.3.4]",       "",   "not-an-address",
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size > kMaxInput)
        return 0;
    std::string_view text(reinterpret_cast<const char*>(data), size);
    postern::PatternTableBuild build = postern::build_cidr_map("fuzz.cidr", text);
    std::string_view own_key = text.substr(0, text.find('\n')).substr(0, kMaxKey);
    for (std::string_view key : kKeys)
        if (!build.map->lookup(key).ok())
            std::abort();
    if (!build.map->lookup(own_key).ok())
        std::abort();
    return 0;
}
