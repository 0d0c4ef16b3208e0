// postqueue -p and -j formatting.
#include "tools/postqueue/listing.hpp"

#include <cstdio>
#include <ctime>

namespace postern::postqueue {
namespace {

constexpr int kRecipientIndent = 41;
constexpr int kReasonRightColumn = 78;

void reason_line(std::string_view reason, std::string& out) {
    int width = static_cast<int>(reason.size()) + 2;
    if (width < kReasonRightColumn)
        out.append(static_cast<size_t>(kReasonRightColumn - width), ' ');
    out.push_back('(');
    out.append(reason);
    out.append(")\n");
}

void recipient_lines(const ShowqMessage& message, std::string& out) {
    std::string_view previous;
    for (const ShowqRecipient& recipient : message.recipients) {
        if (recipient.reason != previous) {
            reason_line(recipient.reason.empty() ? std::string_view("reason unavailable")
                                                 : std::string_view(recipient.reason),
                        out);
            previous = recipient.reason;
        }
        out.append(kRecipientIndent, ' ');
        out.append(recipient.address);
        out.push_back('\n');
    }
}

}  // namespace

std::string queue_status_marks(const ShowqMessage& message) {
    std::string marks;
    if (message.queue_name == "active")
        marks.push_back('*');
    else if (message.queue_name == "hold")
        marks.push_back('!');
    if (message.forced_expire)
        marks.push_back('#');
    return marks;
}

std::string arrival_time_column(int64_t seconds) {
    static const char* const kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char* const kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    auto when = static_cast<std::time_t>(seconds);
    std::tm local{};
    if (::localtime_r(&when, &local) == nullptr)
        local = std::tm{};
    char text[64];
    std::snprintf(text, sizeof text, "%.3s %.3s%3d %.2d:%.2d:%.2d ", kDays[local.tm_wday % 7],
                  kMonths[local.tm_mon % 12], local.tm_mday, local.tm_hour, local.tm_min,
                  local.tm_sec);
    return std::string(text).substr(0, 20);
}

void MailqListing::add(const ShowqMessage& message, std::string& out) {
    if (messages_ == 0)
        out.append("-Queue ID-  --Size-- ----Arrival Time---- -Sender/Recipient-------\n");
    ++messages_;
    bytes_ += message.message_size;
    std::string id = message.queue_id;
    id.append(queue_status_marks(message));
    char size[32];
    std::snprintf(size, sizeof size, "%7lld", static_cast<long long>(message.message_size));
    out.append(id);
    if (id.size() < 11)
        out.append(11 - id.size(), ' ');
    out.push_back(' ');
    out.append(size);
    out.push_back(' ');
    out.append(arrival_time_column(message.arrival_time));
    out.push_back(' ');
    out.append(message.sender);
    out.push_back('\n');
    recipient_lines(message, out);
    out.push_back('\n');
}

void MailqListing::finish(std::string& out) const {
    if (messages_ == 0) {
        out.append("Mail queue is empty\n");
        return;
    }
    char footer[128];
    std::snprintf(footer, sizeof footer, "-- %lld Kbytes in %lld Request%s.\n",
                  static_cast<long long>(bytes_ / 1024), static_cast<long long>(messages_),
                  messages_ == 1 ? "" : "s");
    out.append(footer);
}

std::string json_string(std::string_view text) {
    std::string out = "\"";
    for (char c : text) {
        auto byte = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out.push_back('\\');
            out.push_back(c);
        } else if (byte < 0x20 || byte == 0x7f) {
            char escape[8];
            std::snprintf(escape, sizeof escape, "\\u%04x", byte);
            out.append(escape);
        } else {
            out.push_back(c);
        }
    }
    out.push_back('"');
    return out;
}

std::string json_line(const ShowqMessage& message) {
    std::string out = "{\"queue_name\": " + json_string(message.queue_name) +
                      ", \"queue_id\": " + json_string(message.queue_id) +
                      ", \"arrival_time\": " + std::to_string(message.arrival_time) +
                      ", \"message_size\": " + std::to_string(message.message_size) +
                      ", \"forced_expire\": " + (message.forced_expire ? "true" : "false") +
                      ", \"sender\": " + json_string(message.sender) + ", \"recipients\": [";
    bool first = true;
    for (const ShowqRecipient& recipient : message.recipients) {
        out.append(first ? "{" : ", {");
        first = false;
        out.append("\"address\": " + json_string(recipient.address));
        if (!recipient.reason.empty())
            out.append(", \"delay_reason\": " + json_string(recipient.reason));
        out.push_back('}');
    }
    out.append("]}\n");
    return out;
}

}  // namespace postern::postqueue
