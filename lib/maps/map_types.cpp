// The registry of lookup table types: one line per type. A new type is one file in
// lib/maps (its Map subclass and open function) and one line here.
#include "maps/map.hpp"

#include <algorithm>

#include "maps/map_openers.hpp"

namespace postern {

const std::vector<MapTypeInfo>& map_types() {
    // name, key kind, has a file, file is name.db, postmap can build it, open function
    static const std::vector<MapTypeInfo> types = [] {
        std::vector<MapTypeInfo> list = {
            {"btree", MapKeyKind::fixed, true, true, true, open_btree_map},
            {"cidr", MapKeyKind::pattern, true, false, false, open_cidr_map},
            {"fail", MapKeyKind::fixed, false, false, false, open_fail_map},
            {"hash", MapKeyKind::fixed, true, true, true, open_hash_map},
            {"inline", MapKeyKind::fixed, false, false, false, open_inline_map},
            {"regexp", MapKeyKind::pattern, true, false, false, open_regexp_map},
            {"static", MapKeyKind::fixed, false, false, false, open_static_map},
            {"texthash", MapKeyKind::fixed, true, false, false, open_texthash_map},
            {"unix", MapKeyKind::fixed, false, false, false, open_unix_map},
        };
        std::sort(list.begin(), list.end(),
                  [](const MapTypeInfo& a, const MapTypeInfo& b) { return a.name < b.name; });
        return list;
    }();
    return types;
}

const MapTypeInfo* find_map_type(std::string_view name) {
    for (const MapTypeInfo& type : map_types())
        if (type.name == name)
            return &type;
    return nullptr;
}

}  // namespace postern
