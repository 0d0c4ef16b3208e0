// The lookup table types Postern knows, by the name used in `type:name` (hash:, cidr:...).
//
// Where it sits: lib/maps, below every daemon that opens a table and below postconf -m,
// which prints this list. Adding a table type means adding its entry here (and, once
// tables are implemented, the function that opens it); nothing else keeps a list.
#pragma once

#include <string_view>
#include <vector>

namespace postern {

struct MapType {
    std::string_view name;  // as written before the colon: "hash", "cidr"
};

// Every supported type, sorted by name, as postconf -m prints them.
const std::vector<MapType>& map_types();
const MapType* find_map_type(std::string_view name);

}  // namespace postern
