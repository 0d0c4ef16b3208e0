// libFuzzer target: regexp: table text (lib/maps/regexp_map). Input is an arbitrary table;
// it is parsed as a file would be and looked up with a few keys and with its own first line
// (lookup keys come from the network). Nothing may crash, hang or leak.
//
// regcomp(3) itself is not what is under test, and glibc's is slow on some small patterns:
// it copies the subexpression under each '+' and each bounded repeat, so "a++++++++" or
// "(a{99}){99}" expand into huge automata, and back-references make matching exponential.
// Inputs that could do that are skipped, so that the fuzzer spends its time on Postern's
// parsing and substitution, not waiting for glibc.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "maps/regexp_map.hpp"

namespace {

constexpr size_t kMaxInput = 2048;
constexpr size_t kMaxKey = 64;
// How many copies of a subexpression glibc may make, over the whole input.
constexpr uint64_t kMaxExpansion = 20000;

constexpr std::string_view kKeys[] = {
    "",
    "a",
    "user@example.com",
    "Postmaster@Example.COM",
    "list-outgoing@example.com",
    "A\nB",
    "1.2.3.4",
    "Subject: make money fast",
};

// The largest number in a bound "{n,m}" that starts at text[start] ('{'); 10 when none.
uint64_t repeat_factor(std::string_view text, size_t start) {
    uint64_t largest = 0;
    uint64_t number = 0;
    bool digits = false;
    for (size_t i = start + 1; i < text.size() && text[i] != '}'; ++i) {
        if (text[i] >= '0' && text[i] <= '9') {
            number = std::min<uint64_t>(number * 10 + static_cast<uint64_t>(text[i] - '0'),
                                        kMaxExpansion);
            digits = true;
        } else {
            number = 0;
        }
        largest = std::max(largest, number);
    }
    return digits ? largest + 1 : 10;
}

// True for input that could make glibc's regcomp or regexec slow (see above): the product
// of every '+' (two copies) and every bound (n+1 copies) is a pessimistic estimate.
bool expensive_for_glibc(std::string_view text) {
    uint64_t expansion = 1;
    for (size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c == '+')
            expansion *= 2;
        else if (c == '{' && (i == 0 || text[i - 1] != '$'))
            expansion *= repeat_factor(text, i);
        else if (c == '\\' && i + 1 < text.size() && text[i + 1] >= '1' && text[i + 1] <= '9')
            return true;  // a back-reference
        if (expansion > kMaxExpansion)
            return true;
    }
    return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    if (size > kMaxInput || expensive_for_glibc(text))
        return 0;
    postern::PatternTableBuild build = postern::build_regexp_map("fuzz.re", text);
    std::string_view own_key = text.substr(0, text.find('\n')).substr(0, kMaxKey);
    for (std::string_view key : kKeys)
        if (!build.map->lookup(key).ok())
            std::abort();
    if (!build.map->lookup(own_key).ok())
        std::abort();
    return 0;
}
