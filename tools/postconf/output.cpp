#include "tools/postconf/output.hpp"

#include <iostream>

#include "util/strings.hpp"

namespace postern::postconf {

std::string fold_line(std::string_view line, std::string_view indent) {
    std::string out;
    size_t column = 0;
    bool first_word = true;
    for (std::string_view word : split_list(line, " \t")) {
        if (!first_word && column + 1 + word.size() > kFoldWidth) {
            out += '\n';
            out += indent;
            column = indent.size();
        } else if (!first_word) {
            out += ' ';
            ++column;
        }
        out += word;
        column += word.size();
        first_word = false;
    }
    return out;
}

void print_line(std::string_view line, bool fold) {
    if (fold)
        std::cout << fold_line(line) << '\n';
    else
        std::cout << line << '\n';
}

}  // namespace postern::postconf
