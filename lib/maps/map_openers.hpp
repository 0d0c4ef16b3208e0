// The open functions the registry (map_types.cpp) calls, one per type. Each is defined in
// the type's own file; `name` is the part after "type:".
#pragma once

#include <memory>
#include <string_view>

#include "maps/map.hpp"

namespace postern {

using MapOpenResult = Result<std::unique_ptr<Map>>;

MapOpenResult open_hash_map(std::string_view name, const MapOpenOptions& options);   // db_map.cpp
MapOpenResult open_btree_map(std::string_view name, const MapOpenOptions& options);  // db_map.cpp
MapOpenResult open_cidr_map(std::string_view name, const MapOpenOptions& options);   // cidr_map.cpp
MapOpenResult open_regexp_map(std::string_view name,
                              const MapOpenOptions& options);  // regexp_map.cpp
MapOpenResult open_texthash_map(std::string_view name,
                                const MapOpenOptions& options);  // texthash_map.cpp
MapOpenResult open_inline_map(std::string_view name,
                              const MapOpenOptions& options);  // simple_maps.cpp
MapOpenResult open_static_map(std::string_view name,
                              const MapOpenOptions& options);  // simple_maps.cpp
MapOpenResult open_fail_map(std::string_view name,
                            const MapOpenOptions& options);  // simple_maps.cpp
MapOpenResult open_unix_map(std::string_view name, const MapOpenOptions& options);  // unix_map.cpp

}  // namespace postern
