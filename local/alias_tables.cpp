// alias_maps and their owners; see alias_tables.hpp.
#include "local/alias_tables.hpp"

#include <sys/stat.h>

namespace postern::local {

namespace {

// The file behind a table, as its type names it, or nothing.
std::optional<std::string> table_file(const Map& map) {
    const MapTypeInfo* type = find_map_type(map.type());
    if (type == nullptr || !type->has_file)
        return std::nullopt;
    return map.name() + (type->file_suffix_db ? ".db" : "");
}

}  // namespace

Result<AliasTables> AliasTables::open(std::string_view specs) {
    MapListOptions options;
    options.open.flags =
        MapFlag::fold_fixed | MapFlag::try_nul | MapFlag::try_no_nul | MapFlag::lock;
    options.open.context = "alias_maps";
    options.surrogate_on_open_error = true;
    auto maps = MapList::open("alias_maps", specs, options);
    if (!maps)
        return maps.error();
    AliasTables tables(std::move(*maps));
    for (const auto& map : tables.maps_.maps()) {
        uid_t owner = 0;
        if (auto file = table_file(*map)) {
            struct stat info {};
            if (::stat(file->c_str(), &info) == 0)
                owner = info.st_uid;
        }
        tables.owners_[map.get()] = owner;
    }
    return tables;
}

AliasTables::AliasTables(MapList maps, uid_t owner)
    : maps_(std::move(maps)), owner_for_all_(owner) {}

Result<std::optional<AliasMatch>> AliasTables::find(std::string_view name) {
    auto answer = maps_.find_answer(name);
    if (!answer)
        return answer.error();
    if (!*answer)
        return std::optional<AliasMatch>();
    AliasMatch match;
    match.value = (*answer)->value;
    if (owner_for_all_) {
        match.owner = *owner_for_all_;
    } else if (auto owner = owners_.find((*answer)->map); owner != owners_.end()) {
        match.owner = owner->second;
    }
    return std::optional<AliasMatch>(std::move(match));
}

}  // namespace postern::local
