// Editing main.cf as text: what `postconf -e`, `-X` and `-#` do to the file.
//
// Where it sits: lib/config, used by postconf (run by the administrator, usually as root,
// on a file the administrator owns). The input text is trusted but not assumed to be well
// formed: a line this module cannot make sense of is copied unchanged. Everything that is
// not one of the edited parameters (comments, blank lines, other parameters, their
// spacing and line endings) comes out byte for byte as it went in.
//
// The file is edited one physical line at a time, the way Postfix does it:
//   - a comment line (`#` after optional white space) or a blank line is always copied,
//     even in the middle of an edited logical line;
//   - a line that starts with white space continues the current logical line: it is
//     copied, dropped (replaced or removed) or prefixed with `#` (commented out) along with
//     the line that started it;
//   - any other line starts a logical line; its name runs up to white space or `=`, and
//     decides whether this logical line is edited.
// Every logical line for an edited name is edited, not only the last one.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace postern {

enum class MainCfEditAction {
    set,          // -e: replace the value, or append `name = value` when the name is absent
    remove,       // -X: drop the logical lines
    comment_out,  // -#: prefix `#` to the first line and to each continuation line
};

struct MainCfEdit {
    std::string name;
    std::string value;  // for set only
};

struct MainCfEditResult {
    std::string text;
    // Names that started more than one logical line, once each, in the order the second
    // one was found (postconf warns about them).
    std::vector<std::string> multiple_entries;
};

// Applies `edits` (one action for all of them) to main.cf `text`. A name given twice
// uses the last value. New parameters of a set are appended in the order given; when the
// text lacks a final newline one is added first, so the last line is not corrupted.
MainCfEditResult edit_main_cf(std::string_view text, MainCfEditAction action,
                              const std::vector<MainCfEdit>& edits);

// Parses a `postconf -e` argument, "name=value" or "name = value": white space around the
// name and the value is dropped. Errors quote the whole argument, as Postfix does:
// `missing '=' after attribute name: "foo bar"`.
Result<MainCfEdit> parse_edit_assignment(std::string_view argument);

// The line `postconf -e` writes: "name = value" (with the space even for an empty value).
std::string format_main_cf_line(std::string_view name, std::string_view value);

}  // namespace postern
