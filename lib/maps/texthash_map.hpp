// texthash: a fixed-key table read from postmap's source format into memory at open, so
// that no postmap run is needed ("texthash:/etc/postfix/sasl_passwd").
//
// Where it sits: lib/maps, behind the Map interface. Daemons open it before they chroot;
// the file is the administrator's, read in full with table_source.hpp's rules and
// warnings; duplicate keys follow the duplicate_* flags, named "FILE, line N: duplicate
// entry: "KEY"" as Postfix names them. Read-only: opening it for update is an error
// ("texthash:NAME map requires O_RDONLY access mode"), and postmap cannot build it.
// changed_on_disk() compares the file with the version read at open.
#pragma once

#include <memory>
#include <optional>
#include <string_view>

#include "maps/map.hpp"
#include "maps/table_source.hpp"

namespace postern {

// Builds the table from source text: `name` is the file name (for messages), `warn`
// receives each warning, `identity` the file's identity when there is a file. The open
// function reads the file and calls this; tests and the fuzz target call it directly.
Result<std::unique_ptr<Map>> make_texthash_map(std::string_view name, std::string_view text,
                                               const MapOpenOptions& options,
                                               const TableWarning& warn,
                                               std::optional<FileIdentity> identity = {});

}  // namespace postern
