// header_checks(5) actions (see check_action.hpp).
#include "cleanup/check_action.hpp"

#include <utility>

#include "util/strings.hpp"

namespace postern::cleanup {

CheckAction parse_check_action(std::string_view value) {
    static constexpr std::pair<std::string_view, CheckVerb> kVerbs[] = {
        {"REJECT", CheckVerb::reject},
        {"WARN", CheckVerb::warn},
        {"INFO", CheckVerb::info},
        {"FILTER", CheckVerb::filter},
        {"DISCARD", CheckVerb::discard},
        {"HOLD", CheckVerb::hold},
        {"PREPEND", CheckVerb::prepend},
        {"REPLACE", CheckVerb::replace},
        {"REDIRECT", CheckVerb::redirect},
        {"BCC", CheckVerb::bcc},
        {"IGNORE", CheckVerb::ignore},
        {"DUNNO", CheckVerb::dunno},
        {"OK", CheckVerb::ok},
    };
    size_t end = value.find_first_of(" \t");
    std::string_view word = value.substr(0, end);
    CheckAction action;
    if (end != std::string_view::npos)
        action.text = trim_left(value.substr(end));
    for (const auto& [name, verb] : kVerbs) {
        if (equals_ignore_case(word, name)) {
            action.verb = verb;
            break;
        }
    }
    return action;
}

}  // namespace postern::cleanup
