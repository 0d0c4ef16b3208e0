#include "config/main_cf_edit.hpp"

#include <map>
#include <set>

#include "config/main_cf.hpp"
#include "util/strings.hpp"

namespace postern {
namespace {

enum class LineKind { comment_or_blank, continuation, start };

LineKind classify(std::string_view line) {
    size_t content = line.find_first_not_of(kWhiteSpace);
    if (content == std::string_view::npos || line[content] == '#')
        return LineKind::comment_or_blank;
    return content > 0 ? LineKind::continuation : LineKind::start;
}

// The name a logical line assigns: everything up to white space or `=`.
std::string_view name_of(std::string_view line) {
    size_t end = line.find_first_of(" \t\r\n\f\v=");
    return line.substr(0, end == std::string_view::npos ? line.size() : end);
}

// Splits text into physical lines, each with its line ending (the last may have none).
std::vector<std::string_view> physical_lines(std::string_view text) {
    std::vector<std::string_view> lines;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t end = text.find('\n', pos);
        end = end == std::string_view::npos ? text.size() : end + 1;
        lines.push_back(text.substr(pos, end - pos));
        pos = end;
    }
    return lines;
}

class Editor {
  public:
    Editor(MainCfEditAction action, const std::vector<MainCfEdit>& edits) : action_(action) {
        for (const MainCfEdit& edit : edits) {
            if (values_.count(edit.name) == 0)
                order_.push_back(edit.name);
            values_[edit.name] = edit.value;
        }
    }

    void line(std::string_view text) {
        switch (classify(text)) {
            case LineKind::comment_or_blank:
                out_ += text;
                break;
            case LineKind::continuation:
                if (!editing_)
                    out_ += text;
                else if (action_ == MainCfEditAction::comment_out)
                    (out_ += '#') += text;
                break;
            case LineKind::start:
                start(text);
                break;
        }
    }

    MainCfEditResult finish() {
        if (action_ == MainCfEditAction::set) {
            for (const std::string& name : order_) {
                if (seen_.count(name) != 0)
                    continue;
                if (!out_.empty() && out_.back() != '\n')
                    out_ += '\n';
                out_ += format_main_cf_line(name, values_[name]) + '\n';
            }
        }
        return {std::move(out_), std::move(multiple_entries_)};
    }

  private:
    void start(std::string_view text) {
        auto found = values_.find(name_of(text));
        editing_ = found != values_.end();
        if (!editing_) {
            out_ += text;
            return;
        }
        if (!seen_.insert(found->first).second && warned_.insert(found->first).second)
            multiple_entries_.push_back(found->first);
        switch (action_) {
            case MainCfEditAction::set:
                out_ += format_main_cf_line(found->first, found->second) + '\n';
                break;
            case MainCfEditAction::remove:
                break;
            case MainCfEditAction::comment_out:
                (out_ += '#') += text;
                break;
        }
    }

    MainCfEditAction action_;
    std::map<std::string, std::string, std::less<>> values_;
    std::vector<std::string> order_;  // names in the order first given
    std::set<std::string, std::less<>> seen_;
    std::set<std::string, std::less<>> warned_;
    std::vector<std::string> multiple_entries_;
    bool editing_ = false;  // inside a logical line that is being edited
    std::string out_;
};

}  // namespace

MainCfEditResult edit_main_cf(std::string_view text, MainCfEditAction action,
                              const std::vector<MainCfEdit>& edits) {
    Editor editor(action, edits);
    for (std::string_view line : physical_lines(text))
        editor.line(line);
    return editor.finish();
}

Result<MainCfEdit> parse_edit_assignment(std::string_view argument) {
    auto entry = parse_assignment(argument);
    if (!entry)
        return entry.error();
    return MainCfEdit{std::move(entry->name), std::move(entry->value)};
}

std::string format_main_cf_line(std::string_view name, std::string_view value) {
    return std::string(name) + " = " + std::string(value);
}

}  // namespace postern
