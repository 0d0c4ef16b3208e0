#include "config/inet_protocols.hpp"

#include <string>
#include <vector>

#include "util/strings.hpp"

namespace postern {

Result<AddressFamilies> read_address_families(const Config& config) {
    Result<std::vector<std::string>> words = config.get_list("inet_protocols");
    if (!words)
        return words.error();
    AddressFamilies families{false, false};
    for (const std::string& word : *words) {
        std::string name = lowercase(word);
        if (name == "all") {
            families = {true, true};
        } else if (name == "ipv4") {
            families.ipv4 = true;
        } else if (name == "ipv6") {
            families.ipv6 = true;
        } else {
            return Error(ErrorKind::config, "bad inet_protocols parameter value: " + word);
        }
    }
    return families;
}

}  // namespace postern
