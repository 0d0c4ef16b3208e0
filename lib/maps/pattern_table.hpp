// What the pattern tables (cidr:, regexp:) share: where their text comes from, the
// if/endif keyword test, and the result of building one from text.
//
// Where it sits: lib/maps, below cidr_map and regexp_map. A table is opened by a daemon
// before it chroots (lib/server's pre_init) or by postmap, and read whole at open. The
// text is the administrator's, never the network's, but may be malformed in any way:
// nothing here fails on bad rules; the tables report them in Postfix's words.
//
// Two sources, as Postfix 3.7 accepts them:
//   - a file: `cidr:/etc/postfix/client.cidr`; its FileIdentity (map.hpp) is kept so that
//     a daemon notices an edit or a replacement (Map::changed_on_disk);
//   - an inline specification: `cidr:{ {rule-1}, {rule-2} }` (Postfix 3.7): each rule,
//     white space trimmed, is one line of an in-memory file, which is named in messages by
//     the whole "{...}" text. Elements are separated by commas and white space.
// Logical lines (comments, continuations) are table_source.hpp's table_logical_lines().
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "maps/map.hpp"
#include "util/result.hpp"

namespace postern {

struct PatternTableSource {
    std::string text;
    // Files only: the version that was read. Inline tables never change.
    std::optional<FileIdentity> identity;
};

// True when `name` is an inline specification ("{ {rule}, ... }") rather than a path.
bool is_inline_table(std::string_view name);

// Reads the table `name` of type `type` ("cidr"). A missing file is ErrorKind::not_found
// "open NAME: No such file or directory", other system errors ErrorKind::io; a malformed
// inline specification is ErrorKind::config in Postfix's words:
//   cidr map: missing '}' in "{ {1.2.3.4 OK"
//   cidr map: syntax error after '}' in "{1.2.3.4 OK}x"
//   cidr map: no '{' at start of text in "1.2.3.4"
Result<PatternTableSource> load_pattern_table(std::string_view type, std::string_view name);

// The rules of an inline specification, one per line (exposed for tests).
Result<std::string> inline_table_text(std::string_view type, std::string_view spec);

// A rule line's leading word: the run of ASCII letters and digits it starts with, and the
// text after it. The pattern tables recognize "if" and "endif" this way, in any case, so
// "if/x/" is a keyword and "iffy" is not.
struct LeadingWord {
    std::string_view word;
    std::string_view rest;
};
LeadingWord leading_word(std::string_view line);

// A pattern table built from text, with the warnings Postfix would log while reading it
// (without the "program: warning: " prefix), in order. open_*_map logs them; tests and
// the fuzz targets inspect them.
struct PatternTableBuild {
    std::unique_ptr<Map> map;
    std::vector<std::string> warnings;
};

}  // namespace postern
