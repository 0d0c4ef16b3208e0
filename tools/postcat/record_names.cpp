// postcat's record names and time stamp text.
#include "tools/postcat/record_names.hpp"

#include <cstdio>
#include <ctime>

namespace postern::postcat {

std::string_view record_type_name(char type) {
    switch (type) {
        case 'C':
            return "message_size";
        case 'T':
            return "message_arrival_time";
        case 'c':
            return "queue_file_create_time";
        case 'F':
            return "sender_fullname";
        case 'I':
            return "content_inspector";
        case 'L':
            return "content_filter";
        case 'S':
            return "sender";
        case 'D':
            return "done_recipient";
        case 'R':
            return "recipient";
        case 'O':
            return "original_recipient";
        case '/':
            return "canceled_recipient";
        case 'W':
            return "warning_message_time";
        case 'A':
            return "named_attribute";
        case 'K':
            return "killed_record";
        case '>':
            return "redirect_to";
        case 'f':
            return "flags";
        case 'M':
            return "message_content";
        case 'N':
            return "message_content";
        case 'X':
            return "message_extracted";
        case 'r':
            return "return_receipt";
        case 'e':
            return "errors_to";
        case 'P':
            return "priority";
        case 'V':
            return "verp_delimiters";
        case '<':
            return "dsn_return_flags";
        case 'i':
            return "dsn_envelope_id";
        case 'o':
            return "dsn_original_recipient";
        case 'n':
            return "dsn_notify_flags";
        case 'E':
            return "message_end";
        default:
            return "unknown_record_type";
    }
}

bool valid_first_record(char type) {
    static constexpr std::string_view kTypes("\0/<>ACDFIKLMORSTVWcino", 22);
    return kTypes.find(type) != std::string_view::npos;
}

std::string asctime_text(int64_t seconds) {
    static const char* const kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char* const kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    auto when = static_cast<std::time_t>(seconds);
    std::tm local{};
    if (::localtime_r(&when, &local) == nullptr)
        return "???";
    char text[64];
    std::snprintf(text, sizeof text, "%.3s %.3s%3d %.2d:%.2d:%.2d %d", kDays[local.tm_wday % 7],
                  kMonths[local.tm_mon % 12], local.tm_mday, local.tm_hour, local.tm_min,
                  local.tm_sec, local.tm_year + 1900);
    return text;
}

int64_t leading_number(std::string_view text) {
    size_t at = 0;
    while (at < text.size() && (text[at] == ' ' || text[at] == '\t' || text[at] == '\n' ||
                                text[at] == '\r' || text[at] == '\f' || text[at] == '\v'))
        ++at;
    bool negative = false;
    if (at < text.size() && (text[at] == '-' || text[at] == '+'))
        negative = text[at++] == '-';
    int64_t value = 0;
    for (; at < text.size() && text[at] >= '0' && text[at] <= '9'; ++at) {
        if (value > (INT64_MAX - 9) / 10)
            break;
        value = value * 10 + (text[at] - '0');
    }
    return negative ? -value : value;
}

}  // namespace postern::postcat
