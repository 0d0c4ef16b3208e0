// Which destinations are this machine: Postfix's resolve_local(). A domain is local when
// mydestination lists it, or when it is an address literal ("[192.0.2.1]",
// "[IPv6:2001:db8::1]") of an address this machine receives mail on: inet_interfaces, or
// proxy_interfaces (the addresses of a proxy or NAT in front of it).
//
// Where it sits: lib/mail, below the resolver (resolve.hpp: the local address class and the
// localpart keys of sender-dependent and relocated lookups). The domain comes from the
// network; mydestination and the interface lists from main.cf.
//
// inet_interfaces = all means the address of every interface that is up (getifaddrs),
// loopback-only the loopback addresses among them, each for the families inet_protocols
// names; other words are numeric addresses. Host names in inet_interfaces or
// proxy_interfaces would need the system resolver, which Postern does not call here: they
// are skipped with a warning (docs/address-resolution.md).
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "mail/domain_list.hpp"
#include "util/result.hpp"

namespace postern {

// One address in network byte order (4 bytes used for IPv4).
struct HostAddress {
    int family = 0;  // AF_INET or AF_INET6
    std::array<unsigned char, 16> bytes{};
    bool operator==(const HostAddress&) const = default;
};

// Parses a numeric IPv4 or IPv6 address ("[...]" brackets allowed around IPv6).
std::optional<HostAddress> parse_host_address(std::string_view text);

class LocalDomains {
  public:
    // Reads mydestination, inet_interfaces, proxy_interfaces and inet_protocols. Tables in
    // mydestination open with `options`.
    static Result<LocalDomains> open(const Config& config, const MapListOptions& options = {});
    LocalDomains() = default;

    // Postfix's resolve_local(): one trailing dot is ignored ("example.com." is
    // example.com) but "example.com.." and "" are never local; mydestination is asked
    // first (a table error is an Error), then an address literal is compared with this
    // machine's addresses. A malformed literal is not local (logged as Postfix does:
    // "warning: valid_ipv4_hostaddr: invalid octet count: 1.2.3").
    Result<bool> is_local(std::string_view domain);

    // inet_interfaces and proxy_interfaces, as resolved at open.
    const std::vector<HostAddress>& own_addresses() const { return own_addresses_; }
    bool is_own_address(const HostAddress& address) const;
    std::optional<std::string> changed_table() const { return mydestination_.changed_table(); }

  private:
    DomainList mydestination_;
    std::vector<HostAddress> own_addresses_;
};

}  // namespace postern
