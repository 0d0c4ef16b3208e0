// User access lists for postqueue.
#include "tools/postqueue/user_acl.hpp"

#include "maps/map.hpp"
#include "maps/map_list.hpp"
#include "util/file.hpp"
#include "util/strings.hpp"

namespace postern::postqueue {
namespace {

constexpr int kMaxFileDepth = 8;

// nullopt: the element does not match; else whether it admits the user.
Result<std::optional<bool>> match_element(std::string_view element, std::string_view user,
                                          int depth);

Result<std::optional<bool>> match_list(std::string_view list, std::string_view user, int depth) {
    for (const std::string& element : split_map_specs(list)) {
        auto decided = match_element(element, user, depth);
        if (!decided || decided->has_value())
            return decided;
    }
    return std::optional<bool>();
}

Result<std::optional<bool>> match_element(std::string_view element, std::string_view user,
                                          int depth) {
    bool negated = false;
    while (!element.empty() && element.front() == '!') {
        negated = !negated;
        element.remove_prefix(1);
    }
    bool matched = false;
    if (element.empty()) {
        return std::optional<bool>();
    } else if (element.front() == '/') {
        if (depth >= kMaxFileDepth)
            return Error(ErrorKind::config, "too many nested files in user list");
        Result<std::string> content = read_file(std::string(element));
        if (!content)
            return content.error();
        auto inner = match_list(*content, user, depth + 1);
        if (!inner || !inner->has_value())
            return inner;
        matched = true;
        negated = negated != !**inner;
    } else if (element.find(':') != std::string_view::npos) {
        Result<std::unique_ptr<Map>> table = open_map(element);
        if (!table)
            return table.error();
        auto found = (*table)->lookup(user);
        if (!found)
            return found.error();
        matched = found->has_value();
    } else {
        matched = equals_ignore_case(element, user);
    }
    if (!matched)
        return std::optional<bool>();
    return std::optional<bool>(!negated);
}

}  // namespace

Result<bool> user_list_allows(std::string_view list, std::string_view user) {
    auto decided = match_list(list, user, 0);
    if (!decided)
        return decided.error();
    return decided->value_or(false);
}

}  // namespace postern::postqueue
