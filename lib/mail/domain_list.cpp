// Domain lists, as Postfix's string_list and domain_list (see domain_list.hpp).
#include "mail/domain_list.hpp"

#include "maps/casefold.hpp"
#include "maps/search.hpp"
#include "util/file.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace postern {
namespace {

// A table pattern is "type:name"; "[...]" forms (addresses) are never tables.
bool is_table_pattern(std::string_view pattern) {
    return !pattern.empty() && pattern.front() != '[' &&
           pattern.find(':') != std::string_view::npos;
}

std::string fold(std::string_view text, bool utf8) {
    if (utf8 && is_valid_utf8(text))
        return casefold_utf8(text);
    return ascii_lowercase(text);
}

// The words of a /file pattern: white space and commas separate them, lines that start
// with '#' are comments.
Result<std::vector<std::string>> file_words(const std::string& path) {
    Result<std::string> content = read_file(path);
    if (!content)
        return content.error();
    std::vector<std::string> words;
    std::string_view rest = *content;
    while (!rest.empty()) {
        size_t end = rest.find('\n');
        std::string_view line = rest.substr(0, end);
        rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
        if (trim_left(line).starts_with('#'))
            continue;
        for (std::string_view word : split_map_specs(line))
            words.emplace_back(word);
    }
    return words;
}

}  // namespace

DomainMatch domain_list_style(std::string_view parameter,
                              std::string_view parent_domain_matches_subdomains) {
    return parent_style_for(parameter, parent_domain_matches_subdomains) == ParentStyle::bare
               ? DomainMatch::subdomains
               : DomainMatch::dot_prefix;
}

Result<DomainList> DomainList::open(std::string title, std::string_view value, DomainMatch style,
                                    const MapListOptions& options) {
    DomainList list;
    list.title_ = std::move(title);
    list.style_ = style;
    bool utf8 = has_flag(options.open.flags, MapFlag::utf8_keys);
    list.utf8_ = utf8;
    std::vector<std::string> words;
    for (std::string_view word : split_map_specs(value)) {
        if (word.starts_with('/')) {
            Result<std::vector<std::string>> more = file_words(std::string(word));
            if (!more)
                return Error(ErrorKind::config, list.title_ + ": " + more.error().message());
            words.insert(words.end(), more->begin(), more->end());
        } else {
            words.emplace_back(word);
        }
    }
    for (std::string_view word : words) {
        Pattern pattern;
        while (word.starts_with('!')) {
            pattern.negated = !pattern.negated;
            word.remove_prefix(1);
        }
        if (word.empty())
            continue;
        if (is_table_pattern(word)) {
            Result<MapList> table = MapList::open(list.title_, word, options);
            if (!table)
                return table.error();
            pattern.table = std::make_unique<MapList>(std::move(*table));
        } else {
            pattern.text = fold(word, utf8);
        }
        list.patterns_.push_back(std::move(pattern));
    }
    return list;
}

Result<bool> DomainList::matches(std::string_view domain) {
    std::string folded = fold(domain, utf8_);
    for (Pattern& pattern : patterns_) {
        Result<bool> matched = pattern_matches(pattern, folded);
        if (!matched)
            return matched.error();
        if (*matched)
            return !pattern.negated;
    }
    return false;
}

Result<bool> DomainList::pattern_matches(Pattern& pattern, const std::string& domain) {
    if (pattern.table)
        return table_matches(pattern, domain);
    return name_matches(pattern.text, domain);
}

// The domain, then (domain lists) its parents, in the list's parent style.
Result<bool> DomainList::table_matches(Pattern& pattern, const std::string& domain) {
    std::vector<SearchKey> keys;
    if (style_ == DomainMatch::exact) {
        keys.push_back(SearchKey{domain, KeyForm::full, {}, false});
    } else {
        keys =
            domain_search_keys(domain, style_ == DomainMatch::subdomains ? ParentStyle::bare
                                                                         : ParentStyle::dot_prefix);
    }
    // The table itself, not MapList::find: a match list asks its table directly and logs
    // only its own complaint, as Postfix's match_list does.
    if (pattern.table->maps().empty())
        return false;
    Map& table = *pattern.table->maps().front();
    for (const SearchKey& key : keys) {
        if (key.form == KeyForm::partial && table.key_kind() != MapKeyKind::fixed)
            continue;
        Result<std::optional<std::string>> found = table.lookup(key.key);
        if (!found) {
            log_warning("%s: %s: table lookup problem", title_.c_str(), table.spec().c_str());
            return found.error();
        }
        if (found->has_value())
            return true;
    }
    return false;
}

bool DomainList::name_matches(const std::string& pattern, const std::string& domain) const {
    if (pattern == domain)
        return true;
    if (style_ == DomainMatch::exact || pattern.size() >= domain.size())
        return false;
    std::string_view tail = std::string_view(domain).substr(domain.size() - pattern.size());
    if (tail != pattern)
        return false;
    if (style_ == DomainMatch::subdomains)
        return domain[domain.size() - pattern.size() - 1] == '.';
    return pattern.front() == '.';
}

std::optional<std::string> DomainList::changed_table() const {
    for (const Pattern& pattern : patterns_) {
        if (pattern.table) {
            if (auto changed = pattern.table->changed_table())
                return changed;
        }
    }
    return std::nullopt;
}

}  // namespace postern
