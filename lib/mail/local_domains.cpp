// The destinations that are this machine (see local_domains.hpp).
#include "mail/local_domains.hpp"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

#include "config/inet_protocols.hpp"
#include "config/machine_defaults.hpp"
#include "mail/host_syntax.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace postern {
namespace {

bool wanted(const AddressFamilies& families, int family) {
    return family == AF_INET ? families.ipv4 : families.ipv6;
}

bool is_loopback(const HostAddress& address) {
    if (address.family == AF_INET)
        return address.bytes[0] == 127;
    static const std::array<unsigned char, 16> kLoopback6{0, 0, 0, 0, 0, 0, 0, 0,
                                                          0, 0, 0, 0, 0, 0, 0, 1};
    return address.bytes == kLoopback6;
}

std::vector<HostAddress> interface_addresses(const AddressFamilies& families, bool loopback_only) {
    std::vector<HostAddress> found;
    for (const InterfaceAddress& each : local_interface_addresses()) {
        HostAddress address;
        address.family = each.family;
        std::copy_n(each.address.begin(), std::min<size_t>(each.address.size(), 16),
                    address.bytes.begin());
        if (!wanted(families, address.family) || (loopback_only && !is_loopback(address)))
            continue;
        found.push_back(address);
    }
    return found;
}

// The addresses one parameter (inet_interfaces or proxy_interfaces) names.
Result<std::vector<HostAddress>> listed_addresses(const Config& config, std::string_view parameter,
                                                  const AddressFamilies& families) {
    Result<std::vector<std::string>> words = config.get_list(parameter);
    if (!words)
        return words.error();
    std::vector<HostAddress> found;
    for (const std::string& word : *words) {
        std::string name = lowercase(word);
        if (name == "all" || name == "loopback-only") {
            std::vector<HostAddress> more = interface_addresses(families, name != "all");
            found.insert(found.end(), more.begin(), more.end());
            continue;
        }
        std::optional<HostAddress> address = parse_host_address(word);
        if (!address) {
            log_warning(
                "%s: host name \"%s\" is not used to decide which destinations are "
                "local; specify its address instead",
                std::string(parameter).c_str(), word.c_str());
            continue;
        }
        if (wanted(families, address->family))
            found.push_back(*address);
    }
    return found;
}

}  // namespace

std::optional<HostAddress> parse_host_address(std::string_view text) {
    if (text.size() >= 2 && text.front() == '[' && text.back() == ']')
        text = text.substr(1, text.size() - 2);
    if (text.empty() || text.size() > 64)
        return std::nullopt;
    std::string copy(text);
    HostAddress address;
    if (copy.find(':') != std::string::npos) {
        address.family = AF_INET6;
        if (::inet_pton(AF_INET6, copy.c_str(), address.bytes.data()) != 1)
            return std::nullopt;
    } else {
        address.family = AF_INET;
        if (::inet_pton(AF_INET, copy.c_str(), address.bytes.data()) != 1)
            return std::nullopt;
    }
    return address;
}

Result<LocalDomains> LocalDomains::open(const Config& config, const MapListOptions& options) {
    LocalDomains local;
    Result<std::string> mydestination = config.get("mydestination");
    if (!mydestination)
        return mydestination.error();
    Result<DomainList> list =
        DomainList::open("mydestination", *mydestination, DomainMatch::exact, options);
    if (!list)
        return list.error();
    local.mydestination_ = std::move(*list);
    Result<AddressFamilies> families = read_address_families(config);
    if (!families)
        return families.error();
    for (std::string_view parameter : {"inet_interfaces", "proxy_interfaces"}) {
        Result<std::vector<HostAddress>> addresses = listed_addresses(config, parameter, *families);
        if (!addresses)
            return addresses.error();
        local.own_addresses_.insert(local.own_addresses_.end(), addresses->begin(),
                                    addresses->end());
    }
    return local;
}

bool LocalDomains::is_own_address(const HostAddress& address) const {
    return std::find(own_addresses_.begin(), own_addresses_.end(), address) != own_addresses_.end();
}

Result<bool> LocalDomains::is_local(std::string_view domain) {
    if (!domain.empty() && domain.back() == '.')
        domain.remove_suffix(1);
    if (domain.empty() || domain.back() == '.')
        return false;
    Result<bool> listed = mydestination_.matches(domain);
    if (!listed || *listed)
        return listed;
    if (domain.size() < 2 || domain.front() != '[' || domain.back() != ']')
        return false;
    std::string_view bare = mailhost_address(domain.substr(1, domain.size() - 2), true);
    if (bare.empty())
        return false;
    std::optional<HostAddress> address = parse_host_address(bare);
    return address.has_value() && is_own_address(*address);
}

}  // namespace postern
