// inet_protocols: which address families this instance uses. One reader for master's
// sockets, the resolver's A/AAAA choice and the list of this machine's own addresses.
#pragma once

#include "config/config.hpp"
#include "util/result.hpp"

namespace postern {

struct AddressFamilies {
    bool ipv4 = true;
    bool ipv6 = true;
};

// Reads inet_protocols (all, ipv4, ipv6, in any combination).
Result<AddressFamilies> read_address_families(const Config& config);

}  // namespace postern
