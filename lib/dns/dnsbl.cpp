// DNSBL and DNSWL queries (see dnsbl.hpp).
#include "dns/dnsbl.hpp"

#include <sys/socket.h>

#include <memory>

#include "mail/host_syntax.hpp"
#include "util/strings.hpp"

namespace postern {
namespace {

std::optional<int> octet_value(std::string_view text) {
    if (text.empty() || text.size() > 3 ||
        text.find_first_not_of("0123456789") != std::string_view::npos)
        return std::nullopt;
    int value = 0;
    for (char c : text)
        value = value * 10 + (c - '0');
    if (value > 255)
        return std::nullopt;
    return value;
}

// "2", "[2..11]", "[2;4;6..8]".
std::optional<DnsblOctetPattern> parse_octet_pattern(std::string_view text) {
    DnsblOctetPattern pattern;
    if (text.size() >= 2 && text.front() == '[' && text.back() == ']') {
        for (std::string_view item : split_list(text.substr(1, text.size() - 2), ";")) {
            size_t dots = item.find("..");
            std::optional<int> low = octet_value(item.substr(0, dots));
            std::optional<int> high =
                dots == std::string_view::npos ? low : octet_value(item.substr(dots + 2));
            if (!low || !high || *low > *high)
                return std::nullopt;
            pattern.ranges.emplace_back(*low, *high);
        }
        if (pattern.ranges.empty())
            return std::nullopt;
        return pattern;
    }
    std::optional<int> value = octet_value(text);
    if (!value)
        return std::nullopt;
    pattern.ranges.emplace_back(*value, *value);
    return pattern;
}

// "127.0.0.[2..11]" in four parts: dots inside brackets belong to ranges.
std::vector<std::string_view> split_octets(std::string_view filter) {
    std::vector<std::string_view> parts;
    size_t start = 0;
    bool bracketed = false;
    for (size_t i = 0; i <= filter.size(); ++i) {
        if (i < filter.size() && filter[i] == '[')
            bracketed = true;
        else if (i < filter.size() && filter[i] == ']')
            bracketed = false;
        else if (i == filter.size() || (filter[i] == '.' && !bracketed)) {
            parts.push_back(filter.substr(start, i - start));
            start = i + 1;
        }
    }
    return parts;
}

// The reason a list gives: its first string, unprintable bytes as spaces.
std::string printable_reason(const std::vector<TxtRecord>& texts) {
    if (texts.empty() || texts.front().strings.empty())
        return {};
    std::string reason = texts.front().strings.front();
    for (char& c : reason)
        if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f)
            c = ' ';
    return reason;
}

// Turns the A answer into a result; nullopt when it is a failure to report.
std::optional<DnsblResult> listing(const DnsblSite& site, const DnsResult<DnsAnswer>& answer) {
    DnsblResult result;
    if (!answer)
        return answer.failure().status == DnsStatus::not_found ? std::optional(result)
                                                               : std::nullopt;
    for (const HostAddress& address : answer->addresses)
        if (dnsbl_filter_matches(site, address))
            result.answers.push_back(address);
    result.listed = !result.answers.empty();
    return result;
}

}  // namespace

Result<DnsblSite> parse_dnsbl_site(std::string_view text) {
    DnsblSite site;
    site.text = std::string(text);
    size_t equals = text.find('=');
    site.zone = std::string(text.substr(0, equals));
    auto bad = [&](const char* why) {
        return Error(ErrorKind::config, "bad DNS list \"" + std::string(text) + "\": " + why);
    };
    if (site.zone.empty() || !valid_hostname(site.zone))
        return bad("malformed domain name");
    if (equals == std::string_view::npos)
        return site;
    std::vector<std::string_view> octets = split_octets(text.substr(equals + 1));
    if (octets.size() != 4)
        return bad("the filter needs four octet patterns");
    std::array<DnsblOctetPattern, 4> filter;
    for (size_t i = 0; i < 4; ++i) {
        std::optional<DnsblOctetPattern> pattern = parse_octet_pattern(octets[i]);
        if (!pattern)
            return bad("malformed octet pattern");
        filter[i] = std::move(*pattern);
    }
    site.filter = std::move(filter);
    return site;
}

bool dnsbl_filter_matches(const DnsblSite& site, const HostAddress& address) {
    if (!site.filter)
        return true;
    if (address.family != AF_INET)
        return false;
    for (size_t i = 0; i < 4; ++i) {
        bool matched = false;
        for (auto [low, high] : (*site.filter)[i].ranges)
            matched = matched || (address.bytes[i] >= low && address.bytes[i] <= high);
        if (!matched)
            return false;
    }
    return true;
}

DnsResult<DnsblResult> dnsbl_lookup(DnsResolver& resolver, const DnsblSite& site,
                                    const HostAddress& client, bool want_reason,
                                    std::optional<DnsResolver::Clock::time_point> deadline) {
    std::string name = reverse_query_name(client, site.zone);
    DnsResult<DnsAnswer> answer = resolver.lookup(name, DnsType::a, deadline);
    std::optional<DnsblResult> result = listing(site, answer);
    if (!result)
        return answer.failure();
    if (result->listed && want_reason) {
        DnsResult<std::vector<TxtRecord>> texts = resolver.lookup_txt(name, deadline);
        if (texts)
            result->reason = printable_reason(*texts);
    }
    return std::move(*result);
}

void dnsbl_lookup_async(DnsResolver& resolver, const DnsblSite& site, const HostAddress& client,
                        bool want_reason, std::function<void(DnsResult<DnsblResult>)> done) {
    std::string name = reverse_query_name(client, site.zone);
    resolver.query(name, DnsType::a,
                   [&resolver, site, name, want_reason,
                    done = std::move(done)](DnsResult<DnsAnswer> answer) mutable {
                       std::optional<DnsblResult> result = listing(site, answer);
                       if (!result) {
                           done(answer.failure());
                           return;
                       }
                       if (!result->listed || !want_reason) {
                           done(std::move(*result));
                           return;
                       }
                       resolver.query(name, DnsType::txt,
                                      [result = std::move(*result),
                                       done = std::move(done)](DnsResult<DnsAnswer> texts) mutable {
                                          if (texts)
                                              result.reason = printable_reason(texts->texts);
                                          done(std::move(result));
                                      });
                   });
}

}  // namespace postern
