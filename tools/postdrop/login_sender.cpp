// local_login_sender_maps; see login_sender.hpp.
#include "tools/postdrop/login_sender.hpp"

#include "util/strings.hpp"

namespace postern::postdrop {
namespace {

// The sender without its address extension ("user+foo@x" -> "user@x").
std::string strip_extension(std::string_view sender, const ExtensionRules& rules) {
    size_t at = sender.rfind('@');
    std::string_view localpart = at == std::string_view::npos ? sender : sender.substr(0, at);
    std::string_view domain = at == std::string_view::npos ? std::string_view() : sender.substr(at);
    SplitLocalpart split = split_extension(localpart, rules);
    return std::string(split.user) + std::string(domain);
}

}  // namespace

bool sender_patterns_allow(std::string_view patterns, std::string_view sender_key,
                           std::string_view stripped) {
    for (std::string_view pattern : split_list(patterns)) {
        if (pattern == "*")
            return true;
        if (pattern.front() == '@') {
            size_t at = sender_key.rfind('@');
            if (at != std::string_view::npos && equals_ignore_case(pattern, sender_key.substr(at)))
                return true;
            continue;
        }
        if (equals_ignore_case(pattern, stripped))
            return true;
    }
    return false;
}

Result<LoginSenderPolicy> LoginSenderPolicy::open(const Config& config, std::string login_name) {
    auto specs = config.get("local_login_sender_maps");
    if (!specs)
        return specs.error();
    auto null_key = config.get("empty_address_local_login_sender_maps_lookup_key");
    if (!null_key)
        return null_key.error();
    auto delimiters = config.get("recipient_delimiter");
    if (!delimiters)
        return delimiters.error();
    MapListOptions options;
    options.open.context = "local_login_sender_maps";
    auto maps = MapList::open("local_login_sender_maps", *specs, options);
    if (!maps)
        return maps.error();
    ExtensionRules rules;
    rules.delimiters = *delimiters;
    return LoginSenderPolicy(std::move(*maps), std::move(login_name), std::move(*null_key),
                             std::move(rules));
}

Result<bool> LoginSenderPolicy::allows(std::string_view sender) {
    auto patterns = maps_.find(login_name_);
    if (!patterns)
        return Error(ErrorKind::temporary, "local_login_sender_maps lookup error for \"" +
                                               login_name_ + "\": " + patterns.error().message());
    if (!patterns->has_value())
        return false;
    std::string key = sender.empty() ? null_sender_key_ : std::string(sender);
    std::string stripped = sender.empty() ? key : strip_extension(key, rules_);
    return sender_patterns_allow(**patterns, key, stripped);
}

}  // namespace postern::postdrop
