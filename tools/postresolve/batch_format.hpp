// postresolve's batch format: tab-separated fields, each escaped so that any byte (tabs,
// newlines, NUL, 8-bit) survives one line: \\ \t \n \r and \xHH (two hex digits).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace postern {

std::string escape_batch_field(std::string_view field);
// The fields of one line, unescaped; nullopt for a malformed escape.
std::optional<std::vector<std::string>> split_batch_line(std::string_view line);

}  // namespace postern
