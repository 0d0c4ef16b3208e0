// Canonical, virtual alias and BCC mapping (see address_mapping.hpp).
#include "cleanup/address_mapping.hpp"

#include <unordered_set>

#include "mail/address.hpp"
#include "queue/cleanup_protocol.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace postern::cleanup {
namespace {

// Postfix's cleanup_map11 gives up on a canonical table that keeps changing an address
// after this many rounds.
constexpr int kMaxCanonicalRounds = 10;

constexpr std::string_view kExpansionError = "4.6.0 Alias expansion error";

// The extension goes before the domain: "user@x" with "+foo" is "user+foo@x".
std::string with_extension(std::string address, std::string_view extension) {
    if (extension.empty())
        return address;
    size_t at = address.rfind('@');
    address.insert(at == std::string::npos ? address.size() : at, extension);
    return address;
}

}  // namespace

void MappingTrouble::set(int64_t bits, std::string text) {
    if (status != 0)
        return;
    status = bits;
    reason = std::move(text);
}

Result<bool> AddressMapper::is_local_domain(std::string_view domain) {
    if (!settings_.myorigin.empty() && equals_ignore_case(domain, settings_.myorigin))
        return true;
    return tables_.local_domains.is_local(domain);
}

Result<std::optional<std::vector<std::string>>> AddressMapper::lookup(MapList& maps,
                                                                      std::string_view address,
                                                                      bool propagate) {
    AddressSearchOptions options;
    options.extension = settings_.extension_rules;
    options.is_local_domain = [this](std::string_view domain) { return is_local_domain(domain); };
    auto match = find_address(maps, address, options);
    if (!match)
        return match.error();
    if (!*match)
        return std::optional<std::vector<std::string>>();
    const SearchMatch& found = **match;
    std::string value = found.value;
    // "@otherdomain": the same user in the other domain (the first address only).
    std::string_view trimmed = trim(value);
    if (!trimmed.empty() && trimmed.front() == '@') {
        std::string_view user = address.substr(0, address.rfind('@'));
        if (user.size() >= found.extension.size() &&
            user.substr(user.size() - found.extension.size()) == found.extension)
            user.remove_suffix(found.extension.size());
        value = std::string(user) + std::string(trimmed);
    }
    std::vector<std::string> results;
    for (const ParsedAddress& parsed : parse_address_list(value, settings_.token_limit)) {
        std::string canonical = rewriter_.rewrite(RewriteContext::local, parsed.internal);
        results.push_back(propagate ? with_extension(std::move(canonical), found.extension)
                                    : std::move(canonical));
    }
    return std::optional<std::vector<std::string>>(std::move(results));
}

bool AddressMapper::map_canonical(MapList& maps, std::string& address, bool propagate,
                                  std::string_view queue_id, MappingTrouble& trouble) {
    bool changed = false;
    for (int round = 0; round < kMaxCanonicalRounds; ++round) {
        auto answer = lookup(maps, address, propagate);
        if (!answer) {
            log_warning(
                "%.*s: %s map lookup problem for %s -- message not accepted, try again "
                "later",
                static_cast<int>(queue_id.size()), queue_id.data(), maps.title().c_str(),
                address.c_str());
            trouble.set(cleanup_status::write);
            return changed;
        }
        if (!*answer || (*answer)->empty())
            return changed;
        const std::vector<std::string>& results = **answer;
        if (results.size() > 1)
            log_warning("%.*s: multi-valued %s entry for %s", static_cast<int>(queue_id.size()),
                        queue_id.data(), maps.title().c_str(), address.c_str());
        bool to_itself = equals_ignore_case(results.front(), address);
        changed |= results.front() != address;
        address = results.front();
        if (to_itself)
            return changed;
    }
    log_warning("%.*s: unreasonable %s map nesting for %s -- message not accepted, try again later",
                static_cast<int>(queue_id.size()), queue_id.data(), maps.title().c_str(),
                address.c_str());
    trouble.set(cleanup_status::write);
    return changed;
}

std::vector<std::string> AddressMapper::expand_virtual(std::string_view address,
                                                       std::string_view queue_id,
                                                       MappingTrouble& trouble) {
    std::vector<std::string> expansion{std::string(address)};
    if (!tables_.virtual_alias_maps)
        return expansion;
    MapList& maps = *tables_.virtual_alias_maps;
    // "unreasonable virtual_alias_maps map nesting for ADDR", and the like.
    auto problem = [&](std::string_view before, std::string_view after, std::string_view subject,
                       int64_t bits) {
        log_warning("%.*s: %.*s%s%.*s%.300s -- message not accepted, try again later",
                    static_cast<int>(queue_id.size()), queue_id.data(),
                    static_cast<int>(before.size()), before.data(), maps.title().c_str(),
                    static_cast<int>(after.size()), after.data(), std::string(subject).c_str());
        trouble.set(bits, std::string(kExpansionError));
    };
    // Addresses that expanded into themselves: not looked up again.
    std::unordered_set<std::string> self_expanded;
    for (size_t index = 0; index < expansion.size() && trouble.status == 0; ++index) {
        if (expansion.size() > static_cast<size_t>(settings_.virtual_alias_expansion_limit)) {
            problem("unreasonable ", " map expansion size for ", address, cleanup_status::defer);
            break;
        }
        for (int64_t depth = 0; trouble.status == 0; ++depth) {
            std::string current = expansion[index];
            if (self_expanded.count(lowercase(current)))
                break;
            if (depth >= settings_.virtual_alias_recursion_limit) {
                problem("unreasonable ", " map nesting for ", address, cleanup_status::defer);
                break;
            }
            auto answer = lookup(maps, current, settings_.propagate_virtual);
            if (!answer) {
                problem("", " map lookup problem for ", current, cleanup_status::write);
                break;
            }
            if (!*answer || (*answer)->empty())
                break;
            const std::vector<std::string>& results = **answer;
            for (size_t i = 0; i < results.size(); ++i) {
                if (results[i].size() > settings_.virtual_alias_address_length_limit) {
                    problem("unreasonable ", " result ", results[i].substr(0, 300) + "...",
                            cleanup_status::defer);
                    break;
                }
                if (i == 0)
                    expansion[index] = results[i];
                else
                    expansion.push_back(results[i]);
                // An address may expand into itself once (a copy that stays).
                if (equals_ignore_case(results[i], current))
                    self_expanded.insert(lowercase(current));
            }
        }
    }
    return expansion;
}

std::optional<std::string> AddressMapper::find_bcc(MapList& maps, std::string_view address,
                                                   std::string_view queue_id,
                                                   MappingTrouble& trouble) {
    auto answer = lookup(maps, address, false);
    if (!answer) {
        log_warning("%.*s: %s map lookup problem for %s -- message not accepted, try again later",
                    static_cast<int>(queue_id.size()), queue_id.data(), maps.title().c_str(),
                    std::string(address).c_str());
        trouble.set(cleanup_status::write);
        return std::nullopt;
    }
    if (!*answer || (*answer)->empty())
        return std::nullopt;
    return (*answer)->front();
}

}  // namespace postern::cleanup
