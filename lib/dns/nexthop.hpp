// The SMTP client's list of servers for one nexthop: Postfix's smtp_addr.c as a library.
//
// Where it sits: lib/dns, used by smtp (and lmtp) for each delivery request. In comes the
// request's nexthop ("example.com", "mx.example.com:2525", "[192.0.2.1]:587",
// "[smtp.example.com]"), the client's settings (smtp_host_lookup,
// smtp_dns_support_level / disable_dns_lookups, inet_protocols, smtp_mx_address_limit...)
// and this machine's own addresses (inet_interfaces and proxy_interfaces, for "mail for X
// loops back to myself"). Out comes the ordered list of addresses to try, or an Error
// whose kind (temporary / permanent) and enhanced status code are the ones Postfix's
// smtp(8) would defer or bounce with:
//   MX lookup not found      -> A/AAAA of the domain itself (RFC 5321 section 5.1)
//   null MX (RFC 7505)       -> permanent 5.1.0 "Domain X does not accept mail (nullMX)"
//   MX lookup retry          -> temporary 4.4.3
//   MX lookup failed/invalid -> permanent 5.4.3 / 5.4.4
//   host not found           -> permanent 5.4.4 (temporary 4.4.4 once any retry was seen)
//   best MX (or the [host]) is this machine, port 25
//                            -> permanent 5.4.6 "mail for X loops back to myself"
//   this machine is a backup MX, no better MX has an address
//                            -> temporary 4.4.4 "unable to find primary relay for X"
// The nexthop comes from the queue (the recipient's domain, a transport map, relayhost):
// any bytes; names are checked before any query.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "dns/dns.hpp"
#include "util/result.hpp"

namespace postern {

// A nexthop as written: "[host]:port" (no MX lookup), "host:port" or "host" (MX lookup,
// unless DNS is disabled).
struct Nexthop {
    std::string host;     // without the brackets
    std::string service;  // as written after ':', or the default ("smtp")
    uint16_t port = 25;   // `service` as a number
    bool mx_lookup = true;
};

// Parses `text`; `default_service` (smtp_tcp_port: "smtp", "25") applies without ":port".
// Service names are looked up in /etc/services, with the well-known ones (smtp,
// submission, smtps, lmtp) built in for a chroot without it. An "inet:" prefix (LMTP's
// syntax) is accepted. Errors are permanent ("bad nexthop syntax...").
Result<Nexthop> parse_nexthop(std::string_view text, std::string_view default_service = "smtp");

// Resolves a service name or number to a port.
Result<uint16_t> service_port(std::string_view service);

enum class AddressPreference { any, ipv4, ipv6 };

struct ServerLookupPolicy {
    bool dns_enabled = true;          // smtp_dns_support_level != disabled (disable_dns_lookups)
    bool host_lookup_dns = true;      // smtp_host_lookup contains "dns"
    bool host_lookup_native = false;  // smtp_host_lookup contains "native" (getaddrinfo)
    AddressFamilies families;         // inet_protocols
    int address_limit = 5;            // smtp_mx_address_limit; 0 means no limit
    bool randomize_addresses = true;  // smtp_randomize_addresses
    AddressPreference preference = AddressPreference::any;  // smtp_address_preference
    bool balance_families = true;                           // smtp_balance_inet_protocols
    bool defer_if_no_mx_address = false;                    // smtp_defer_if_no_mx_address_found
    bool ignore_mx_lookup_error = false;                    // ignore_mx_lookup_error
    bool detect_loops = true;  // Postfix's smtp does (for port 25 only), lmtp does not
    // inet_interfaces and proxy_interfaces, for loop detection: the caller fills them,
    // usually from LocalDomains::open(config)->own_addresses().
    std::vector<HostAddress> own_addresses;
};

// Reads the settings above for `prefix` "smtp" or "lmtp" (smtp_host_lookup or
// lmtp_host_lookup...); own_addresses stay empty. Bad values are config errors with
// Postfix's wording ("invalid smtp_dns_support_level: \"x\"").
Result<ServerLookupPolicy> read_server_lookup_policy(const Config& config,
                                                     std::string_view prefix = "smtp");

// One server address to try.
struct ServerAddress {
    std::string host;  // the MX host or the nexthop host, for logs: host[address]:port
    HostAddress address;
    uint16_t port = 25;
    unsigned preference = 0;  // MX preference; 0 for a host looked up directly
};

struct ServerList {
    std::vector<ServerAddress> servers;  // in the order to try, at most address_limit
    // This machine is one of the MX hosts (the list holds only better ones).
    bool found_myself = false;
};

// The synchronous lookup smtp needs (deadline: optional bound on all queries together).
Result<ServerList> resolve_nexthop(DnsResolver& resolver, const Nexthop& nexthop,
                                   const ServerLookupPolicy& policy,
                                   std::optional<DnsResolver::Clock::time_point> deadline = {});

// ---- Pure parts, public for the unit tests. ----

// Orders and trims the addresses of one destination as Postfix does: shuffle when
// randomize_addresses, stable sort by MX preference (and by family for ipv4/ipv6
// preference), then, over address_limit, keep both families (smtp_balance_inet_protocols)
// and cut to address_limit.
void order_server_addresses(std::vector<ServerAddress>& servers, const ServerLookupPolicy& policy,
                            std::mt19937& random);

}  // namespace postern
