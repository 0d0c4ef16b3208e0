// transport_maps lookups (see transport_table.hpp).
#include "mail/transport_table.hpp"

#include "mail/address.hpp"

namespace postern {

void apply_transport_result(std::string_view result, std::string_view recipient_domain,
                            TransportChoice& choice) {
    size_t colon = result.find(':');
    std::string_view transport = result.substr(0, colon);
    std::string_view nexthop =
        colon == std::string_view::npos ? std::string_view() : result.substr(colon + 1);
    if (transport.empty()) {
        if (!nexthop.empty())
            choice.nexthop = nexthop;
        return;
    }
    choice.transport = transport;
    if (!nexthop.empty())
        choice.nexthop = nexthop;
    else if (transport != "error" && transport != "retry")
        choice.nexthop = recipient_domain;
    else
        choice.nexthop = "Address is undeliverable";
}

Result<TransportTable> TransportTable::open(std::string title, std::string_view value,
                                            ParentStyle parent_style, ExtensionRules extension,
                                            const MapListOptions& options) {
    TransportTable table;
    table.title_ = std::move(title);
    table.parent_style_ = parent_style;
    table.extension_ = std::move(extension);
    // As Postfix's trivial-rewrite: no $n substitution from a regexp table's input into a
    // transport or next hop.
    MapListOptions no_substitution = options;
    no_substitution.open.flags = no_substitution.open.flags | MapFlag::no_regsub;
    Result<MapList> maps = MapList::open(table.title_, value, no_substitution);
    if (!maps)
        return maps.error();
    table.maps_ = std::make_shared<MapList>(std::move(*maps));
    // The wildcard is looked up once, at start-up, as Postfix does; a failure is logged
    // now and the lookup is tried again when a recipient needs it.
    if (!table.maps_->empty())
        (void)table.wildcard();
    return table;
}

TransportTable TransportTable::sharing(std::string title, const TransportTable& other) {
    TransportTable table;
    table.title_ = std::move(title);
    table.maps_ = other.maps_;
    table.parent_style_ = other.parent_style_;
    table.extension_ = other.extension_;
    if (!table.empty())
        (void)table.wildcard();
    return table;
}

Result<std::optional<std::string>> TransportTable::find(std::string_view key, KeyForm form) {
    return maps_->find(key, form);
}

Result<std::optional<std::string>> TransportTable::wildcard() {
    if (wildcard_known_)
        return wildcard_;
    Result<std::optional<std::string>> found = find("*", KeyForm::full);
    if (!found)
        return found.error();  // not remembered: asked again next time
    wildcard_ = *found;
    wildcard_known_ = true;
    return wildcard_;
}

Result<bool> TransportTable::apply(std::string_view recipient, std::string_view recipient_domain,
                                   TransportChoice& choice) {
    if (empty() || recipient.empty())
        return false;
    size_t at = recipient.rfind('@');
    std::vector<SearchKey> keys;
    keys.push_back(SearchKey{std::string(recipient), KeyForm::full, {}, false});
    if (at != std::string_view::npos) {
        SplitLocalpart split = split_extension(recipient.substr(0, at), extension_);
        if (!split.extension.empty())
            keys.push_back(SearchKey{std::string(split.user) + std::string(recipient.substr(at)),
                                     KeyForm::partial,
                                     {},
                                     false});
        std::vector<SearchKey> domains =
            domain_search_keys(recipient.substr(at + 1), parent_style_, KeyForm::partial);
        keys.insert(keys.end(), domains.begin(), domains.end());
    }
    for (size_t i = 0; i < keys.size(); ++i) {
        // Addresses are asked in external (quoted) form first, then as they are, as
        // Postfix 3.5 and later do; domains as they are.
        bool address_key = i < keys.size() && keys[i].key.find('@') != std::string::npos;
        std::string external = address_key ? externalize_address(keys[i].key) : keys[i].key;
        Result<std::optional<std::string>> found = find(external, keys[i].form);
        if (found.ok() && !found->has_value() && external != keys[i].key)
            found = find(keys[i].key, keys[i].form);
        if (!found)
            return found.error();
        if (found->has_value()) {
            apply_transport_result(**found, recipient_domain, choice);
            return true;
        }
    }
    Result<std::optional<std::string>> any = wildcard();
    if (!any)
        return any.error();
    if (!any->has_value())
        return false;
    apply_transport_result(**any, recipient_domain, choice);
    return true;
}

std::optional<std::string> TransportTable::changed_table() const {
    return maps_ ? maps_->changed_table() : std::nullopt;
}

}  // namespace postern
