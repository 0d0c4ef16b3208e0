// RFC 5322 dates in Postfix's layout (see mail_date.hpp).
#include "mail/mail_date.hpp"

#include <cstdio>
#include <cstdlib>

namespace postern {
namespace {

constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

// Keeps an index from a struct tm inside its table, whatever the struct holds.
int clamp(int value, int limit) {
    return value < 0 || value >= limit ? 0 : value;
}

}  // namespace

std::string format_mail_date(const std::tm& local, long gmt_offset, std::string_view zone_name) {
    // Offsets beyond a day do not exist; keep the output well-formed anyway.
    if (gmt_offset > 24 * 3600 || gmt_offset < -24 * 3600)
        gmt_offset = 0;
    char sign = gmt_offset < 0 ? '-' : '+';
    long minutes = std::labs(gmt_offset) / 60;
    char text[96];
    std::snprintf(text, sizeof text, "%s, %2d %s %d %02d:%02d:%02d %c%02ld%02ld",
                  kDays[clamp(local.tm_wday, 7)], local.tm_mday, kMonths[clamp(local.tm_mon, 12)],
                  local.tm_year + 1900, local.tm_hour, local.tm_min, local.tm_sec, sign,
                  minutes / 60, minutes % 60);
    std::string date = text;
    if (!zone_name.empty()) {
        date += " (";
        date += zone_name;
        date += ')';
    }
    return date;
}

std::string mail_date(std::time_t when) {
    std::tm local{};
    if (localtime_r(&when, &local) == nullptr)
        gmtime_r(&when, &local);
    char zone[64] = "";
    std::strftime(zone, sizeof zone, "%Z", &local);
    return format_mail_date(local, local.tm_gmtoff, zone);
}

}  // namespace postern
