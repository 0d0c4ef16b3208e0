// alias_maps for local(8): the tables, opened once as root before anything else (they
// may be readable only by root), and who owns each of them.
//
// Where it sits: local/, opened in pre_init. The owner matters for delivery rights
// (aliases(5), local(8) "DELIVERY RIGHTS"): "|command" and "/file" destinations of an
// alias run with the rights of the table's owner, or default_privs when root owns it.
// A table that cannot be opened is a stand-in that fails every lookup (lib/maps'
// surrogate): the mail for names that reach it is deferred, not bounced.
#pragma once

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "maps/map_list.hpp"
#include "util/result.hpp"

namespace postern::local {

struct AliasMatch {
    std::string value;
    uid_t owner = 0;  // of the table file that answered; 0 for tables without a file
};

class AliasTables {
  public:
    static Result<AliasTables> open(std::string_view specs);
    // From tables opened elsewhere (tests); `owner` for all of them.
    AliasTables(MapList maps, uid_t owner);

    // The expansion of `name` (a local part). An error is a table that cannot answer:
    // the caller defers ("alias database unavailable").
    Result<std::optional<AliasMatch>> find(std::string_view name);
    bool empty() const { return maps_.empty(); }

  private:
    explicit AliasTables(MapList maps) : maps_(std::move(maps)) {}

    MapList maps_;
    std::map<const Map*, uid_t> owners_;
    std::optional<uid_t> owner_for_all_;
};

}  // namespace postern::local
