#include "maps/map_types.hpp"

namespace postern {

// Postfix 3.7's built-in types, minus nis (Postern will not speak NIS). The database
// types Postfix loads as plug-ins (ldap, mysql, pgsql, sqlite, lmdb) are not here.
const std::vector<MapType>& map_types() {
    static const std::vector<MapType> types = {
        {"btree"},     {"cidr"},     {"environ"}, {"fail"},     {"hash"},     {"inline"},
        {"internal"},  {"memcache"}, {"pipemap"}, {"proxy"},    {"randmap"},  {"regexp"},
        {"socketmap"}, {"static"},   {"tcp"},     {"texthash"}, {"unionmap"}, {"unix"},
    };
    return types;
}

const MapType* find_map_type(std::string_view name) {
    for (const MapType& type : map_types())
        if (type.name == name)
            return &type;
    return nullptr;
}

}  // namespace postern
