// Lists of tables, as Postfix's maps.c; see map_list.hpp.
#include "maps/map_list.hpp"

#include "util/log.hpp"
#include "util/strings.hpp"

namespace postern {

namespace {

constexpr std::string_view kSpecSeparators = ", \t\r\n";

bool is_spec_separator(char c) {
    return kSpecSeparators.find(c) != std::string_view::npos;
}

class SurrogateMap final : public Map {
  public:
    SurrogateMap(std::string_view type, std::string_view name, std::string reason)
        : Map(std::string(type), std::string(name), MapFlag::none, MapKeyKind::pattern),
          reason_(std::move(reason)) {}

  protected:
    Result<std::optional<std::string>> do_lookup(std::string_view) override { return failure(); }
    Status do_update(std::string_view, std::string_view) override { return failure(); }
    Result<bool> do_remove(std::string_view) override { return failure(); }
    Status do_for_each(const std::function<Status(std::string_view, std::string_view)>&) override {
        return failure();
    }

  private:
    Error failure() const {
        std::string text = spec() + " is unavailable. " + reason_;
        log_warning("%s", text.c_str());
        return Error(ErrorKind::temporary, text);
    }

    std::string reason_;
};

// "type:name" with both parts present: anything else is a mistake no daemon can run with.
bool is_type_name(std::string_view spec) {
    size_t colon = spec.find(':');
    return colon != std::string_view::npos && colon != 0 && colon + 1 != spec.size();
}

// Opens one table; with surrogates allowed, a failure becomes a stand-in.
Result<std::unique_ptr<Map>> open_one(std::string_view spec, const MapListOptions& options) {
    if (!is_type_name(spec))
        return open_map(spec, options.open);  // the syntax error, in Postfix's words
    auto map = open_map(spec, options.open);
    if (map.ok() || !options.surrogate_on_open_error)
        return map;
    log_error("%s", map.error().message().c_str());
    size_t colon = spec.find(':');
    return make_surrogate_map(spec.substr(0, colon), spec.substr(colon + 1), map.error().message());
}

}  // namespace

std::unique_ptr<Map> make_surrogate_map(std::string_view type, std::string_view name,
                                        std::string reason) {
    return std::make_unique<SurrogateMap>(type, name, std::move(reason));
}

std::vector<std::string> split_map_specs(std::string_view value) {
    std::vector<std::string> specs;
    size_t pos = 0;
    while (pos < value.size()) {
        if (is_spec_separator(value[pos])) {
            ++pos;
            continue;
        }
        size_t start = pos;
        int depth = 0;
        for (; pos < value.size(); ++pos) {
            char c = value[pos];
            if (c == '{')
                ++depth;
            else if (c == '}' && depth > 0)
                --depth;
            else if (depth == 0 && is_spec_separator(c))
                break;
        }
        specs.emplace_back(value.substr(start, pos - start));
    }
    return specs;
}

Result<MapList> MapList::open(std::string title, std::string_view specs,
                              const MapListOptions& options) {
    std::vector<std::unique_ptr<Map>> maps;
    for (const std::string& spec : split_map_specs(specs)) {
        auto map = open_one(spec, options);
        if (!map)
            return map.error();
        maps.push_back(std::move(*map));
    }
    return MapList(std::move(title), std::move(maps));
}

MapList::MapList(std::string title, std::vector<std::unique_ptr<Map>> maps)
    : title_(std::move(title)), maps_(std::move(maps)) {}

Result<std::optional<MapListAnswer>> MapList::find_answer(std::string_view key, KeyForm form) {
    if (key.empty())
        return std::optional<MapListAnswer>();
    for (const auto& map : maps_) {
        if (form == KeyForm::partial && map->key_kind() != MapKeyKind::fixed)
            continue;
        auto found = map->lookup(key);
        if (!found) {
            log_warning("%s lookup error for \"%s\"", map->spec().c_str(),
                        std::string(key).c_str());
            return found.error();
        }
        if (!found->has_value())
            continue;
        if ((*found)->empty()) {
            std::string name(key);
            log_warning("%s lookup of %s returns an empty string result", title_.c_str(),
                        name.c_str());
            log_warning("%s should return NO RESULT in case of NOT FOUND", title_.c_str());
            return Error(ErrorKind::config,
                         title_ + " lookup of " + name + " returns an empty string result");
        }
        return std::optional<MapListAnswer>(MapListAnswer{std::move(**found), map.get()});
    }
    return std::optional<MapListAnswer>();
}

Result<std::optional<std::string>> MapList::find(std::string_view key, KeyForm form) {
    auto answer = find_answer(key, form);
    if (!answer)
        return answer.error();
    if (!answer->has_value())
        return std::optional<std::string>();
    return std::optional<std::string>(std::move((*answer)->value));
}

std::optional<std::string> MapList::changed_table() const {
    for (const auto& map : maps_)
        if (map->changed_on_disk())
            return map->spec();
    return std::nullopt;
}

}  // namespace postern
