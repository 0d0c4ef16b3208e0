#include "config/main_cf.hpp"

#include "util/file.hpp"
#include "util/strings.hpp"

namespace postern {
namespace {

bool is_comment_or_blank(std::string_view line) {
    std::string_view content = trim_left(line);
    return content.empty() || content.front() == '#';
}

bool starts_with_space(std::string_view line) {
    return !line.empty() && (line.front() == ' ' || line.front() == '\t');
}

}  // namespace

std::vector<LogicalLine> logical_lines(std::string_view text, LineJoin join) {
    std::vector<LogicalLine> lines;
    int number = 0;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t end = text.find('\n', pos);
        if (end == std::string_view::npos)
            end = text.size();
        std::string_view line = text.substr(pos, end - pos);
        pos = end + 1;
        ++number;
        if (is_comment_or_blank(line))
            continue;
        if (starts_with_space(line) && !lines.empty()) {
            LogicalLine& current = lines.back();
            if (join == LineJoin::verbatim) {
                current.text += line;
            } else {
                current.text.resize(trim_right(current.text).size());
                current.text += ' ';
                current.text += trim(line);
            }
            current.last_line = number;
            continue;
        }
        std::string_view kept = join == LineJoin::verbatim ? line : trim_right(line);
        lines.push_back({number, number, std::string(kept)});
    }
    return lines;
}

Result<MainCfEntry> parse_assignment(std::string_view text) {
    std::string_view line = trim(text);
    size_t name_end = line.find_first_of(" \t\r\n\f\v=");
    if (name_end == std::string_view::npos)
        name_end = line.size();
    std::string_view name = line.substr(0, name_end);
    std::string_view rest = trim_left(line.substr(name_end));
    // Postfix quotes the whole text, so the administrator sees what was wrong with it.
    std::string quoted = ": \"" + std::string(text) + "\"";
    if (name.empty())
        return Error(ErrorKind::config, "missing attribute name" + quoted);
    if (rest.empty() || rest.front() != '=')
        return Error(ErrorKind::config, "missing '=' after attribute name" + quoted);
    return MainCfEntry{std::string(name), std::string(trim(rest.substr(1))), 0};
}

Result<MainCf> parse_main_cf(std::string_view text, const std::string& path) {
    MainCf config;
    config.path = path;
    for (const LogicalLine& line : logical_lines(text)) {
        if (starts_with_space(line.text))
            config.warnings.push_back(path + ": logical line must not start with whitespace: \"" +
                                      line.text + "\"");
        auto entry = parse_assignment(line.text);
        if (!entry)
            return Error(ErrorKind::config, path + ", line " + std::to_string(line.first_line) +
                                                ": " + entry.error().message());
        entry->line = line.first_line;
        config.entries.push_back(std::move(*entry));
    }
    return config;
}

Result<MainCf> read_main_cf(const std::string& path) {
    auto text = read_file(path);
    if (!text)
        return text.error();
    return parse_main_cf(*text, path);
}

}  // namespace postern
