// Delivery status helpers; see dsn.hpp.
#include "mail/dsn.hpp"

namespace postern {

namespace {

// Digits at text[at...]: between 1 and `most` of them; advances `at`.
bool digits(std::string_view text, size_t& at, size_t most) {
    size_t start = at;
    while (at < text.size() && at - start < most && text[at] >= '0' && text[at] <= '9')
        ++at;
    return at > start && (at == text.size() || text[at] < '0' || text[at] > '9');
}

// The length of the status code at the start of `text`, 0 when there is none.
size_t code_length(std::string_view text) {
    if (text.size() < 5 || (text[0] != '2' && text[0] != '4' && text[0] != '5') || text[1] != '.')
        return 0;
    size_t at = 2;
    if (!digits(text, at, 3) || at >= text.size() || text[at] != '.')
        return 0;
    ++at;
    if (!digits(text, at, 3))
        return 0;
    return at;
}

}  // namespace

char DeliveryStatus::status_class() const {
    if (!is_enhanced_status_code(status))
        return '4';
    return status[0];
}

bool is_enhanced_status_code(std::string_view text) {
    return code_length(text) == text.size() && !text.empty();
}

std::string_view leading_enhanced_status_code(std::string_view text) {
    size_t length = code_length(text);
    if (length == 0 || (length < text.size() && text[length] != ' ' && text[length] != '\t'))
        return {};
    return text.substr(0, length);
}

DeliveryStatus make_delivery_status(std::string_view status, std::string_view reason) {
    DeliveryStatus result;
    result.status = std::string(status);
    result.reason = std::string(reason);
    return result;
}

}  // namespace postern
