// main.cf: the parser for Postfix's `name = value` file.
//
// Where it sits: lib/config, read by every program at start-up. The file is trusted to
// come from the administrator but not to be well formed: each problem is reported with
// the file and line, as "PATH, line N: problem".
//
// Syntax: `#` starts a comment line (leading white space allowed); blank lines are
// ignored; a line that begins with white space continues the previous logical line (the
// pieces are joined by one space); `name = value` with white space around both trimmed.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace postern {

struct MainCfEntry {
    std::string name;
    std::string value;
    int line = 0;  // where the logical line starts
};

struct MainCf {
    std::string path;
    std::vector<MainCfEntry> entries;   // file order; a later entry for a name wins
    std::vector<std::string> warnings;  // problems that did not stop parsing
};

// One logical line: the physical lines it spans and its joined text.
struct LogicalLine {
    int first_line = 0;
    int last_line = 0;
    std::string text;
};

// How a continuation line joins the logical line before it.
enum class LineJoin {
    single_space,  // main.cf: trailing and leading white space become one space
    verbatim,      // master.cf: the physical lines are appended as they are, so a braced
                   // word may span lines and messages quote the line as the file has it
};

// Splits `text` into logical lines, skipping comments and blank lines (lines of white
// space only, as Postfix's isspace() sees it). A logical line that starts with white
// space (nothing before it to continue) is returned as is; the caller decides what that
// means.
std::vector<LogicalLine> logical_lines(std::string_view text,
                                       LineJoin join = LineJoin::single_space);

Result<MainCf> parse_main_cf(std::string_view text, const std::string& path);
Result<MainCf> read_main_cf(const std::string& path);

// Parses "name = value" (a main.cf line, a `postconf -e` or `-o` argument); on failure the
// error says what is wrong and quotes the whole text, without file and line.
Result<MainCfEntry> parse_assignment(std::string_view text);

}  // namespace postern
