// The delivery status log line; see delivery_log.hpp.
#include "mail/delivery_log.hpp"

#include <cmath>
#include <cstdio>

namespace postern {

namespace {

// Drops trailing zeros after a decimal point, and the point itself.
void trim_fraction(std::string& text) {
    if (text.find('.') == std::string::npos)
        return;
    while (!text.empty() && text.back() == '0')
        text.pop_back();
    if (!text.empty() && text.back() == '.')
        text.pop_back();
}

}  // namespace

std::string format_log_delay(double seconds, int resolution_limit) {
    if (!(seconds > 0))  // also NaN
        return "0";
    char buffer[64];
    if (seconds >= 10) {
        std::snprintf(buffer, sizeof buffer, "%.0f", std::floor(seconds));
        return buffer;
    }
    int decimals = seconds >= 1 ? 1 : 2;
    for (double scaled = seconds; scaled < 0.1 && decimals < 6; scaled *= 10)
        ++decimals;
    if (decimals > resolution_limit)
        decimals = resolution_limit < 0 ? 0 : resolution_limit;
    std::snprintf(buffer, sizeof buffer, "%.*f", decimals, seconds);
    std::string text = buffer;
    trim_fraction(text);
    return text.empty() || text == "-0" ? "0" : text;
}

std::string format_delivery_log_line(const DeliveryLogLine& line, int resolution_limit) {
    std::string text;
    text.reserve(160 + line.recipient.size() + line.reason.size());
    text.append(line.queue_id).append(": to=<").append(line.recipient).append(">");
    if (!line.original.empty() && line.original != line.recipient)
        text.append(", orig_to=<").append(line.original).append(">");
    text.append(", relay=").append(line.relay.empty() ? "none" : line.relay);
    if (line.connection_use > 1)
        text.append(", conn_use=").append(std::to_string(line.connection_use));
    const DelayProfile& d = line.delays;
    text.append(", delay=").append(format_log_delay(d.total(), resolution_limit));
    text.append(", delays=").append(format_log_delay(d.before_active, resolution_limit));
    text.append("/").append(format_log_delay(d.in_qmgr, resolution_limit));
    text.append("/").append(format_log_delay(d.connection, resolution_limit));
    text.append("/").append(format_log_delay(d.transmission, resolution_limit));
    text.append(", dsn=").append(line.dsn);
    text.append(", status=").append(line.status);
    text.append(" (").append(line.reason).append(")");
    return text;
}

}  // namespace postern
