// MapList: the tables one parameter names ("alias_maps = hash:/etc/aliases, texthash:/x"),
// opened together and searched in order, as Postfix's maps_create()/maps_find().
//
// Where it sits: lib/maps, between the daemons' parameters and the tables. The caller
// expands $name first; the list is split on commas and white space, braces kept whole
// ("inline:{a=b, c=d}" is one table). Keys come from the network and are passed on as is.
//
// Open failures, as Postfix 3.7: a spec that is not "type:name" is always an error
// ("open dictionary: expecting "type:name" form instead of "X""). Any other failure (a
// missing file: "open database /etc/aliases.db: No such file or directory", an unknown
// type...) is an error for the command-line tools (Postfix: fatal), while a daemon keeps
// running with reduced function (Postfix's dict_surrogate, enabled by every daemon
// skeleton): the reason is logged at once as "error: REASON", and every later access to
// that table logs "warning: TYPE:NAME is unavailable. REASON" and fails temporarily, so
// mail that needs it is deferred, not lost and not wrongly accepted.
//
// Lookups, as maps_find(): an empty key finds nothing without asking any table; tables
// are asked in order and the first answer wins; a table error stops the search
// ("warning: TYPE:NAME lookup error for "KEY"") and is returned, so the caller defers
// (4xx) instead of going on as if not found; an empty value is a configuration error
// ("warning: TITLE lookup of KEY returns an empty string result", "warning: TITLE should
// return NO RESULT in case of NOT FOUND"). A partial key (a parent domain, an address
// without its extension, @domain: see search.hpp) skips pattern tables (regexp, cidr),
// which are asked the whole string only.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "maps/map.hpp"

namespace postern {

// Whether a key is the whole string the caller looks up, or a piece derived from it.
enum class KeyForm {
    full,     // every table is asked
    partial,  // fixed-key tables only (Postfix's DICT_FLAG_FIXED)
};

struct MapListOptions {
    MapOpenOptions open;  // for every table in the list
    // Daemons: a table that cannot be opened becomes a stand-in that fails every access
    // (see above). Tools leave this false and get the open error.
    bool surrogate_on_open_error = false;
};

// The answer and the table that gave it.
struct MapListAnswer {
    std::string value;
    const Map* map = nullptr;
};

class MapList {
  public:
    // `title` names the list in messages: the parameter ("virtual_alias_maps").
    static Result<MapList> open(std::string title, std::string_view specs,
                                const MapListOptions& options = {});
    // From tables opened elsewhere (tests, a caller with its own table).
    MapList(std::string title, std::vector<std::unique_ptr<Map>> maps);

    MapList(MapList&&) noexcept = default;
    MapList& operator=(MapList&&) noexcept = default;

    // The first table's value for `key`, nullopt when no table has it.
    Result<std::optional<std::string>> find(std::string_view key, KeyForm form = KeyForm::full);
    // The same, also naming the table that answered (for verbose logs and postmap -q).
    Result<std::optional<MapListAnswer>> find_answer(std::string_view key,
                                                     KeyForm form = KeyForm::full);

    const std::string& title() const { return title_; }
    bool empty() const { return maps_.empty(); }
    const std::vector<std::unique_ptr<Map>>& maps() const { return maps_; }

    // The spec of the first table whose file changed since it was opened, if any. A daemon
    // asks between clients and exits when there is one, so that master starts a process
    // that reads the new file (Postfix: "table X has changed -- restarting").
    std::optional<std::string> changed_table() const;

  private:
    std::string title_;
    std::vector<std::unique_ptr<Map>> maps_;
};

// The table specs in a parameter value: split on commas and white space, braces kept.
std::vector<std::string> split_map_specs(std::string_view value);

// A stand-in for a table that could not be opened: every access logs "TYPE:NAME is
// unavailable. REASON" and fails with ErrorKind::temporary. Like Postfix's, it is a
// pattern table: partial keys do not reach it.
std::unique_ptr<Map> make_surrogate_map(std::string_view type, std::string_view name,
                                        std::string reason);

}  // namespace postern
