// The resolver's settings from main.cf: postern_dns_servers, postern_dns_timeout,
// postern_dns_attempts, and inet_protocols (see dns.hpp).
#include <algorithm>

#include "dns/dns.hpp"
#include "mail/host_syntax.hpp"
#include "util/strings.hpp"

namespace postern {
namespace {

bool valid_port(std::string_view text) {
    Result<int64_t> port = parse_integer(text);
    return port && *port >= 1 && *port <= 65535 &&
           text.find_first_not_of("0123456789") == std::string_view::npos;
}

// "192.0.2.1", "192.0.2.1:53", "2001:db8::1", "[2001:db8::1]", "[2001:db8::1]:53".
bool valid_server(std::string_view text) {
    if (!text.empty() && text.front() == '[') {
        size_t close = text.find(']');
        if (close == std::string_view::npos)
            return false;
        std::string_view inside = text.substr(1, close - 1);
        std::string_view rest = text.substr(close + 1);
        if (!valid_host_address(inside))
            return false;
        return rest.empty() || (rest.front() == ':' && valid_port(rest.substr(1)));
    }
    if (valid_host_address(text))
        return true;
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos || text.find(':') != colon)
        return false;
    return valid_ipv4_address(text.substr(0, colon)) && valid_port(text.substr(colon + 1));
}

}  // namespace

Result<DnsResolverSettings> read_dns_resolver_settings(const Config& config) {
    DnsResolverSettings settings;
    Result<std::vector<std::string>> servers = config.get_list("postern_dns_servers");
    if (!servers)
        return servers.error();
    for (const std::string& server : *servers) {
        if (!valid_server(server))
            return Error(ErrorKind::config,
                         "bad postern_dns_servers value: \"" + server +
                             "\" (expected address, address:port or [address]:port)");
        settings.servers.push_back(server);
    }
    Result<int64_t> timeout = config.get_time_seconds("postern_dns_timeout");
    if (!timeout)
        return timeout.error();
    Result<int64_t> attempts = config.get_integer("postern_dns_attempts");
    if (!attempts)
        return attempts.error();
    settings.timeout = std::chrono::milliseconds(std::max<int64_t>(1, *timeout) * 1000);
    settings.attempts = static_cast<int>(std::max<int64_t>(1, *attempts));
    return settings;
}

}  // namespace postern
