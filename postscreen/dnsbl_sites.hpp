// postscreen_dnsbl_sites: the weighted DNS lists postscreen scores a client with.
//
// Where it sits: postscreen, over lib/dns/dnsbl.hpp (zone and answer filter). Postfix's
// syntax is "zone[=filter][*weight]": "zen.example=127.0.0.[2..11]*3", "wl.example*-5".
// The weight defaults to 1; negative weights are allow lists. A client's score is the
// sum of the weights of the sites that list it; the same zone may be given twice with
// different filters and weights, each counts on its own. The text comes from main.cf.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "dns/dnsbl.hpp"
#include "util/result.hpp"

namespace postern::postscreen {

struct WeightedDnsblSite {
    DnsblSite site;
    int weight = 1;
};

// Parses one list entry. A malformed weight or filter is a config error naming the text.
Result<WeightedDnsblSite> parse_weighted_dnsbl_site(std::string_view text);

// Parses the whole parameter value (separated by commas and white space).
Result<std::vector<WeightedDnsblSite>> parse_dnsbl_sites(std::string_view value);

}  // namespace postern::postscreen
