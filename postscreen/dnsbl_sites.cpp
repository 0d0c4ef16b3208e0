#include "postscreen/dnsbl_sites.hpp"

#include <charconv>

#include "util/strings.hpp"

namespace postern::postscreen {

Result<WeightedDnsblSite> parse_weighted_dnsbl_site(std::string_view text) {
    WeightedDnsblSite weighted;
    std::string_view site_text = text;
    if (size_t star = text.rfind('*'); star != std::string_view::npos) {
        std::string_view number = text.substr(star + 1);
        int weight = 0;
        auto [end, error] = std::from_chars(number.data(), number.data() + number.size(), weight);
        if (number.empty() || error != std::errc() || end != number.data() + number.size())
            return Error(ErrorKind::config,
                         "bad postscreen_dnsbl_sites weight in \"" + std::string(text) + "\"");
        weighted.weight = weight;
        site_text = text.substr(0, star);
    }
    auto site = parse_dnsbl_site(site_text);
    if (!site)
        return site.error();
    weighted.site = std::move(*site);
    return weighted;
}

Result<std::vector<WeightedDnsblSite>> parse_dnsbl_sites(std::string_view value) {
    std::vector<WeightedDnsblSite> sites;
    for (std::string_view entry : split_list(value)) {
        auto site = parse_weighted_dnsbl_site(entry);
        if (!site)
            return site.error();
        sites.push_back(std::move(*site));
    }
    return sites;
}

}  // namespace postern::postscreen
