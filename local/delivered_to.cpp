// Delivered-To: headers for loop detection; see delivered_to.hpp.
#include "local/delivered_to.hpp"

#include "mail/address.hpp"
#include "queue/queue_file.hpp"
#include "util/strings.hpp"

namespace postern::local {

namespace {

constexpr std::string_view kName = "delivered-to:";
// A header line longer than this is not a Delivered-To: we need to keep.
constexpr size_t kMaxKeptLine = 4096;

bool is_continuation(std::string_view line) {
    return !line.empty() && (line.front() == ' ' || line.front() == '\t');
}

}  // namespace

void DeliveredToHeaders::add_header_line(std::string_view line) {
    if (addresses_.size() >= kMaxDeliveredHeaders || line.size() < kName.size() ||
        !equals_ignore_case(line.substr(0, kName.size()), kName))
        return;
    std::string value = lowercase(trim(line.substr(kName.size())));
    if (!value.empty())
        addresses_.insert(std::move(value));
}

bool DeliveredToHeaders::contains(std::string_view address) const {
    return addresses_.count(lowercase(externalize_address(address))) > 0;
}

DeliveredToHeaders DeliveredToHeaders::from_header_lines(std::string_view headers) {
    DeliveredToHeaders result;
    while (!headers.empty()) {
        size_t end = headers.find('\n');
        std::string_view line = headers.substr(0, end);
        headers.remove_prefix(end == std::string_view::npos ? headers.size() : end + 1);
        if (line.empty())
            break;
        if (!is_continuation(line))
            result.add_header_line(line);
    }
    return result;
}

Result<DeliveredToHeaders> DeliveredToHeaders::read(const std::string& queue_path) {
    auto reader = QueueFileReader::open(queue_path);
    if (!reader)
        return reader.error();
    DeliveredToHeaders result;
    std::string line;
    bool continued = false;  // the current line goes on in the next piece
    for (;;) {
        auto piece = reader->next_content();
        if (!piece)
            return piece.error();
        if (!*piece)
            break;
        if (line.size() < kMaxKeptLine)
            line.append((*piece)->data.substr(0, kMaxKeptLine - line.size()));
        continued = !(*piece)->end_of_line;
        if (continued)
            continue;
        // The primary header ends at the first empty line, or at a line that is not a
        // header (the message has no header then).
        if (line.empty() || (!is_continuation(line) && line.find(':') == std::string::npos))
            break;
        if (!is_continuation(line))
            result.add_header_line(line);
        line.clear();
    }
    return result;
}

}  // namespace postern::local
