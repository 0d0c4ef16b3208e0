// libFuzzer target: address: header values (lib/mail/address). Input is an arbitrary
// header value, as a network client may send in To: or From:; it is parsed with a small
// token limit and with the default one, every address is rewritten and the header rebuilt,
// as cleanup does. Nothing may crash, hang or leak, and the internal form of every
// address must survive a trip through its external form.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "mail/address.hpp"

namespace {

void check_round_trip(const postern::HeaderAddressList& list) {
    for (size_t i = 0; i < list.size(); ++i) {
        std::string internal = list.internal(i);
        if (postern::internalize_address(postern::externalize_address(internal)) != internal)
            std::abort();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view value(reinterpret_cast<const char*>(data), size);
    for (size_t limit : {size_t{16}, postern::kDefaultAddressTokenLimit}) {
        postern::HeaderAddressList list = postern::HeaderAddressList::parse(value, limit);
        check_round_trip(list);
        for (size_t i = 0; i < list.size(); ++i)
            list.replace(i, list.internal(i) + "@example.com");
        std::string rebuilt = list.externalize();
        (void)postern::HeaderAddressList::parse(rebuilt, limit);
    }
    (void)postern::parse_single_address(value);
    (void)postern::internalize_address(value);
    return 0;
}
