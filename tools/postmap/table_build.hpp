// postmap and postalias, inside: building tables, and the table names and flags every
// mode uses. Not for other programs: see table_tool.hpp.
#pragma once

#include <string>

#include "maps/map.hpp"
#include "tools/postmap/table_tool.hpp"

namespace postern::table_tool {

// "type:name" for a command-line argument; a name without a type gets
// default_database_type, as Postfix's commands do.
std::string table_spec(const std::string& argument, const Settings& settings);

// The flags of a table opened to read or delete: case folding (unless -f), NUL handling
// (-N, -n), UTF-8 keys (smtputf8_enable, unless -u, or -b/-h without -U), and locking.
MapFlag lookup_flags(const Options& options, const Settings& settings);

// Builds one table from its source file (or with -i, adds standard input to it), as the
// personality reads the source. Exits with Postfix's fatal message on error.
void build_table(const Personality& personality, const Options& options, const Settings& settings,
                 const std::string& argument);

}  // namespace postern::table_tool
