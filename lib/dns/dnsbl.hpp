// DNS block and allow lists: the query for one client address under one list's zone, the
// optional filter on the answer, and the TXT reason.
//
// Where it sits: lib/dns, for smtpd's reject_rbl_client / permit_dnswl_client and for
// postscreen's postscreen_dnsbl_sites (which adds weights "*3" itself, after
// parse_dnsbl_site). A site is written as Postfix writes it: "zen.example",
// "zen.example=127.0.0.2", "zen.example=127.0.0.[2..11]", "zen.example=127.0.[0..255].[2;4;6]".
// The query for 192.0.2.1 under zen.example is 1.2.0.192.zen.example, A record; for IPv6
// the 32 reversed nibbles. The client is listed when an answer (127.x.y.z) matches the
// filter (any answer without one). The reason is the first string of the first TXT record
// of the same name, with unprintable bytes as spaces (Postfix's dns_get_rr for TXT).
// Answers come from the network; the zone and filter from main.cf.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dns/dns.hpp"
#include "util/result.hpp"

namespace postern {

// One octet pattern of a filter: the set of values it accepts.
struct DnsblOctetPattern {
    std::vector<std::pair<int, int>> ranges;  // inclusive [low, high]
};

struct DnsblSite {
    std::string zone;  // "zen.example"
    // Four patterns, or none: any answer lists the client.
    std::optional<std::array<DnsblOctetPattern, 4>> filter;
    std::string text;  // as written, for logs ("zen.example=127.0.0.[2..11]")
};

// Parses "zone" or "zone=filter". Errors are config errors naming the text.
Result<DnsblSite> parse_dnsbl_site(std::string_view text);

// True when the IPv4 answer `address` matches the filter (or there is none).
bool dnsbl_filter_matches(const DnsblSite& site, const HostAddress& address);

struct DnsblResult {
    bool listed = false;
    std::vector<HostAddress> answers;  // the A answers that matched the filter
    std::string reason;                // the TXT text, empty when there is none
};

// Synchronous lookup (smtpd). A not_found answer is "not listed", not a failure; a
// retry/failed one is returned as the failure (the caller decides: Postfix's smtpd skips
// the list with a warning).
DnsResult<DnsblResult> dnsbl_lookup(DnsResolver& resolver, const DnsblSite& site,
                                    const HostAddress& client, bool want_reason = true,
                                    std::optional<DnsResolver::Clock::time_point> deadline = {});

// The same on an asynchronous resolver (postscreen): `done` runs from the loop.
void dnsbl_lookup_async(DnsResolver& resolver, const DnsblSite& site, const HostAddress& client,
                        bool want_reason, std::function<void(DnsResult<DnsblResult>)> done);

}  // namespace postern
