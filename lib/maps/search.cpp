// Search orders over lists of tables; see search.hpp for the orders and their sources.
#include "maps/search.hpp"

#include "util/strings.hpp"

namespace postern {

namespace {

bool ends_with_ignore_case(std::string_view text, std::string_view suffix) {
    return text.size() >= suffix.size() &&
           equals_ignore_case(text.substr(text.size() - suffix.size()), suffix);
}

bool starts_with_ignore_case(std::string_view text, std::string_view prefix) {
    return text.size() >= prefix.size() &&
           equals_ignore_case(text.substr(0, prefix.size()), prefix);
}

// Local parts Postfix never splits, whatever the delimiter.
bool is_unsplittable(std::string_view localpart, const ExtensionRules& rules) {
    if (equals_ignore_case(localpart, "postmaster") ||
        equals_ignore_case(localpart, "MAILER-DAEMON") ||
        equals_ignore_case(localpart, rules.double_bounce_sender))
        return true;
    if (!rules.owner_request_special || rules.delimiters.find('-') == std::string::npos)
        return false;
    // "-request" needs something before it: "-request" alone is an ordinary name.
    return starts_with_ignore_case(localpart, "owner-") ||
           (localpart.size() > 8 && ends_with_ignore_case(localpart, "-request"));
}

struct AddressParts {
    std::string_view localpart;
    std::string_view domain;  // empty: no '@', or nothing after it
    bool has_at = false;
};

// The domain is what follows the last '@', as Postfix splits (a quoted local part may
// hold '@' itself).
AddressParts split_address(std::string_view address) {
    size_t at = address.rfind('@');
    if (at == std::string_view::npos)
        return {address, {}, false};
    return {address.substr(0, at), address.substr(at + 1), true};
}

void add_key(std::vector<SearchKey>& keys, std::string key, KeyForm form,
             std::string_view extension = {}, bool needs_local_domain = false) {
    keys.push_back({std::move(key), form, std::string(extension), needs_local_domain});
}

// The local-part-only order: user+foo (first_form), user.
void add_localpart_keys(std::vector<SearchKey>& keys, std::string_view localpart,
                        const SplitLocalpart& split, KeyForm first_form, bool needs_local) {
    add_key(keys, std::string(localpart), first_form, {}, needs_local);
    if (!split.extension.empty())
        add_key(keys, std::string(split.user), KeyForm::partial, split.extension, needs_local);
}

}  // namespace

SplitLocalpart split_extension(std::string_view localpart, const ExtensionRules& rules) {
    if (rules.delimiters.empty() || is_unsplittable(localpart, rules))
        return {localpart, {}};
    size_t at = localpart.find_first_of(rules.delimiters);
    if (at == std::string_view::npos)
        return {localpart, {}};
    return {localpart.substr(0, at), localpart.substr(at)};
}

ParentStyle parent_style_for(std::string_view parameter,
                             std::string_view parent_domain_matches_subdomains) {
    for (std::string_view name : split_list(parent_domain_matches_subdomains))
        if (name == parameter)
            return ParentStyle::bare;
    return ParentStyle::dot_prefix;
}

std::vector<SearchKey> address_search_keys(std::string_view address,
                                           const AddressSearchOptions& options) {
    std::vector<SearchKey> keys;
    AddressParts parts = split_address(address);
    SplitLocalpart split = split_extension(parts.localpart, options.extension);
    if (!parts.has_at) {
        add_localpart_keys(keys, address, split, KeyForm::full, false);
        return keys;
    }
    std::string at_domain = "@" + std::string(parts.domain);
    add_key(keys, std::string(address), KeyForm::full);
    if (!split.extension.empty())
        add_key(keys, std::string(split.user) + at_domain, KeyForm::partial, split.extension);
    if (parts.domain.empty())
        return keys;
    if (options.localpart_keys)
        add_localpart_keys(keys, parts.localpart, split, KeyForm::partial, true);
    if (options.at_domain_key)
        add_key(keys, at_domain, KeyForm::partial);
    return keys;
}

std::vector<SearchKey> domain_search_keys(std::string_view domain, ParentStyle style,
                                          KeyForm first) {
    std::vector<SearchKey> keys;
    std::string_view name = domain;
    KeyForm form = first;
    while (!name.empty()) {
        add_key(keys, std::string(name), form);
        form = KeyForm::partial;
        // The next parent starts at the next dot after the first character, so that a
        // name that starts with a dot does not repeat itself.
        size_t dot = name.find('.', 1);
        if (dot == std::string_view::npos)
            break;
        name = name.substr(style == ParentStyle::bare ? dot + 1 : dot);
    }
    return keys;
}

std::vector<SearchKey> access_address_keys(std::string_view address, const ExtensionRules& rules,
                                           ParentStyle style) {
    std::vector<SearchKey> keys;
    AddressParts parts = split_address(address);
    add_key(keys, std::string(address), KeyForm::full);
    if (!parts.has_at)
        return keys;
    SplitLocalpart split = split_extension(parts.localpart, rules);
    std::string at_domain = "@" + std::string(parts.domain);
    if (!split.extension.empty())
        add_key(keys, std::string(split.user) + at_domain, KeyForm::partial, split.extension);
    for (SearchKey& key : domain_search_keys(parts.domain, style, KeyForm::partial))
        keys.push_back(std::move(key));
    add_key(keys, std::string(parts.localpart) + "@", KeyForm::partial);
    if (!split.extension.empty())
        add_key(keys, std::string(split.user) + "@", KeyForm::partial, split.extension);
    return keys;
}

std::vector<SearchKey> network_address_keys(std::string_view address) {
    std::vector<SearchKey> keys;
    char delimiter = address.find(':') != std::string_view::npos ? ':' : '.';
    std::string_view prefix = address;
    KeyForm form = KeyForm::full;
    while (!prefix.empty()) {
        add_key(keys, std::string(prefix), form);
        form = KeyForm::partial;
        size_t cut = prefix.rfind(delimiter);
        if (cut == std::string_view::npos)
            break;
        prefix = prefix.substr(0, cut);
    }
    return keys;
}

Result<std::optional<SearchMatch>> find_keys(
    MapList& maps, const std::vector<SearchKey>& keys, std::string_view domain,
    const std::function<Result<bool>(std::string_view domain)>& is_local_domain) {
    std::optional<bool> local;  // asked once, when first needed
    for (const SearchKey& key : keys) {
        if (key.needs_local_domain) {
            if (!is_local_domain)
                continue;
            if (!local) {
                auto answer = is_local_domain(domain);
                if (!answer)
                    return answer.error();
                local = *answer;
            }
            if (!*local)
                continue;
        }
        auto value = maps.find(key.key, key.form);
        if (!value)
            return value.error();
        if (value->has_value())
            return std::optional<SearchMatch>(
                SearchMatch{std::move(**value), key.key, key.extension});
    }
    return std::optional<SearchMatch>();
}

Result<std::optional<SearchMatch>> find_address(MapList& maps, std::string_view address,
                                                const AddressSearchOptions& options) {
    return find_keys(maps, address_search_keys(address, options), split_address(address).domain,
                     options.is_local_domain);
}

Result<std::optional<SearchMatch>> find_access_address(MapList& maps, std::string_view address,
                                                       const ExtensionRules& rules,
                                                       ParentStyle style) {
    return find_keys(maps, access_address_keys(address, rules, style));
}

Result<std::optional<SearchMatch>> find_domain(MapList& maps, std::string_view domain,
                                               ParentStyle style, KeyForm first) {
    return find_keys(maps, domain_search_keys(domain, style, first));
}

Result<std::optional<SearchMatch>> find_network_address(MapList& maps, std::string_view address) {
    return find_keys(maps, network_address_keys(address));
}

}  // namespace postern
