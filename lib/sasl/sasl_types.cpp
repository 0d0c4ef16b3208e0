#include "sasl/sasl_types.hpp"

namespace postern {

const std::vector<std::string_view>& server_sasl_types() {
    static const std::vector<std::string_view> types = {"dovecot"};
    return types;
}

const std::vector<std::string_view>& client_sasl_types() {
    static const std::vector<std::string_view> types = {"cyrus"};
    return types;
}

}  // namespace postern
