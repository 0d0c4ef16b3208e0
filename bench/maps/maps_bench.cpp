// Lookup latency of Postern's tables, in process: the cost a daemon pays per lookup once
// the table is open (smtpd restrictions, aliases, transport and sasl_passwd lookups).
//
// usage: maps_bench SPEC KEYFILE [ROUNDS]
// Looks up every line of KEYFILE in SPEC (e.g. hash:/tmp/bench/table), ROUNDS times (5),
// and prints "SPEC lookups=N hits=H ns_per_lookup=X" for the best round.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "maps/map.hpp"

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: maps_bench SPEC KEYFILE [ROUNDS]\n");
        return 2;
    }
    std::vector<std::string> keys;
    std::ifstream input(argv[2]);
    for (std::string line; std::getline(input, line);)
        keys.push_back(line);
    int rounds = argc > 3 ? std::atoi(argv[3]) : 5;
    auto map = postern::open_map(argv[1]);
    if (!map) {
        std::fprintf(stderr, "maps_bench: %s\n", map.error().message().c_str());
        return 2;
    }
    double best = 1e30;
    size_t hits = 0;
    for (int round = 0; round < rounds; ++round) {
        hits = 0;
        auto start = std::chrono::steady_clock::now();
        for (const std::string& key : keys) {
            auto found = (*map)->lookup(key);
            if (found && found->has_value())
                ++hits;
        }
        std::chrono::duration<double, std::nano> spent = std::chrono::steady_clock::now() - start;
        best = std::min(best, spent.count() / static_cast<double>(keys.size()));
    }
    std::printf("%s lookups=%zu hits=%zu ns_per_lookup=%.0f\n", argv[1], keys.size(), hits, best);
    return 0;
}
