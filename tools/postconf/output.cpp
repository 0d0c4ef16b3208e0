#include "tools/postconf/output.hpp"

#include <iostream>

#include "config/master_cf.hpp"
#include "util/strings.hpp"

namespace postern::postconf {

std::string fold_line(std::string_view line, bool fold) {
    std::string out;
    size_t column = 0;
    for (std::string_view word : split_list(line, " \t\r\n")) {
        if (column > 0) {
            if (!fold || column + 1 + word.size() <= kFoldWidth) {
                out += ' ';
                ++column;
            } else {
                out += '\n';
                out += kFoldIndent;
                column = kFoldIndent.size();
            }
        }
        out += word;
        column += word.size();
    }
    return out;
}

void append_master_command(std::string& out, size_t column, const std::vector<std::string>& words,
                           bool fold, bool wrap_first_word) {
    auto new_line = [&] {
        out += '\n';
        out += kFoldIndent;
        column = kFoldIndent.size();
    };
    auto append = [&](std::string_view text) {
        out += text;
        column += text.size();
    };
    bool after_option_value = false;  // an `-o name=value` line is finished
    bool in_daemon_options = true;
    for (size_t i = 0; i < words.size(); ++i) {
        const std::string& word = words[i];
        if (i == 0) {
            if (wrap_first_word && column > 0 && column + word.size() > kFoldWidth)
                new_line();
            append(word);
            continue;
        }
        if (ends_daemon_options(word))
            in_daemon_options = false;
        if (in_daemon_options && option_takes_value(word) && i + 1 < words.size()) {
            // With -f, `-o name=value` goes on a line of its own, however long.
            if (fold) {
                new_line();
            } else {
                append(" ");
            }
            append(word);
            append(" ");
            append(words[++i]);
            after_option_value = fold;
            continue;
        }
        // Postfix separates words only once the line holds more than an indent's worth,
        // so that a continuation line starts without a space; with -h that also glues the
        // first argument to a short command ("cmd-v"). Kept for byte-for-byte output.
        if (column > kFoldIndent.size()) {
            if (after_option_value || (fold && column + 1 + word.size() > kMasterFoldWidth))
                new_line();
            else
                append(" ");
        }
        append(word);
        after_option_value = false;
    }
}

void print_line(std::string_view line, bool fold) {
    std::cout << fold_line(line, fold) << '\n';
}

}  // namespace postern::postconf
