// The client's verified host name (see client_name.hpp).
#include "dns/client_name.hpp"

#include <sys/socket.h>

#include <algorithm>

#include "mail/host_syntax.hpp"
#include "util/log.hpp"

namespace postern {
namespace {

// The getaddrinfo() texts Postfix's warnings carry, for the same outcomes.
const char* forward_failure_text(const DnsFailure& failure) {
    switch (failure.status) {
        case DnsStatus::retry:
            return "Temporary failure in name resolution";
        case DnsStatus::not_found:
            return failure.nxdomain ? "Name or service not known"
                                    : "No address associated with hostname";
        default:
            return "Non-recoverable failure in name resolution";
    }
}

int failure_code(const DnsFailure& failure) {
    return failure.temporary() ? 4 : 5;
}

}  // namespace

ClientName lookup_client_name(DnsResolver& resolver, const HostAddress& client,
                              AddressFamilies /*families*/,
                              std::optional<DnsResolver::Clock::time_point> deadline) {
    ClientName result;
    DnsResult<std::vector<std::string>> reverse = resolver.lookup_ptr(client, deadline);
    if (!reverse) {
        result.name_status = result.reverse_name_status = failure_code(reverse.failure());
        return result;
    }
    const std::string& name = reverse->front();
    // A numeric PTR name would let a client pass host name checks with an address.
    if (valid_host_address(name)) {
        log_warning("numeric hostname: %s", name.c_str());
        return result;
    }
    if (!valid_hostname(name)) {
        log_warning("malformed hostname: %.100s", name.c_str());
        return result;
    }
    result.reverse_name = name;
    result.reverse_name_status = 2;

    // Forward confirmation, in the client's own address family (as Postfix 3.7).
    AddressFamilies own_family{client.family == AF_INET, client.family == AF_INET6};
    DnsResult<std::vector<HostAddress>> forward =
        resolver.lookup_addresses(name, own_family, deadline);
    std::string address = format_host_address(client);
    if (!forward) {
        log_warning("hostname %s does not resolve to address %s: %s", name.c_str(), address.c_str(),
                    forward_failure_text(forward.failure()));
        result.name_status = failure_code(forward.failure());
        return result;
    }
    if (std::find(forward->begin(), forward->end(), client) == forward->end()) {
        log_warning("hostname %s does not resolve to address %s", name.c_str(), address.c_str());
        result.name_status = 5;
        return result;
    }
    result.name = name;
    result.name_status = 2;
    return result;
}

}  // namespace postern
