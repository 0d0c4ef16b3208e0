#include "tools/postmap/query_keys.hpp"

#include <optional>

namespace postern::table_tool {
namespace {

bool is_name_char(unsigned char c) {
    return c > 32 && c < 127 && c != ':';
}

// The header as its key: NAME: value, with white space before the colon removed; nullopt
// when `line` is not a header line.
std::optional<std::string> header_line(const std::string& line) {
    size_t name_end = 0;
    while (name_end < line.size() && is_name_char(static_cast<unsigned char>(line[name_end])))
        ++name_end;
    size_t colon = name_end;
    while (colon < line.size() && (line[colon] == ' ' || line[colon] == '\t'))
        ++colon;
    if (name_end == 0 || colon == line.size() || line[colon] != ':')
        return std::nullopt;
    return line.substr(0, name_end) + line.substr(colon);
}

bool starts_with_blank(const std::string& line) {
    return !line.empty() && (line.front() == ' ' || line.front() == '\t');
}

}  // namespace

bool QueryKeys::next(std::string& key) {
    if (kind_ == Kind::message)
        return next_message_key(key);
    return static_cast<bool>(std::getline(input_, key));
}

bool QueryKeys::next_message_key(std::string& key) {
    while (ready_.empty()) {
        if (done_ || !read_message_line()) {
            done_ = true;
            flush_header();
            if (ready_.empty())
                return false;
        }
    }
    key = std::move(ready_.front());
    ready_.pop_front();
    return true;
}

bool QueryKeys::read_message_line() {
    std::string line;
    if (!std::getline(input_, line))
        return false;
    if (!in_headers_) {
        ready_.push_back(std::move(line));
        return true;
    }
    if (starts_with_blank(line) && !header_.empty()) {
        header_ += '\n';
        header_ += line;
        return true;
    }
    if (std::optional<std::string> header = header_line(line)) {
        flush_header();
        header_ = std::move(*header);
        return true;
    }
    end_of_headers(line);
    // -h alone reads nothing after the headers.
    return body_keys_;
}

void QueryKeys::end_of_headers(const std::string& line) {
    flush_header();
    in_headers_ = false;
    if (!body_keys_)
        return;
    if (!line.empty())
        ready_.emplace_back();  // the empty line the message should have had
    ready_.push_back(line);
}

void QueryKeys::flush_header() {
    if (header_.empty())
        return;
    if (header_keys_)
        ready_.push_back(std::move(header_));
    header_.clear();
}

}  // namespace postern::table_tool
