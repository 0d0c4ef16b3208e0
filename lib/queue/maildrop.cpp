// The maildrop rules and the postdrop pipe protocol; see maildrop.hpp.
#include "queue/maildrop.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "util/file.hpp"

namespace postern {
namespace {

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

}  // namespace

std::string_view SegmentTracker::allowed() const {
    switch (segment_) {
        case MaildropSegment::envelope:
            return rules_.envelope;
        case MaildropSegment::content:
            return rules_.content;
        case MaildropSegment::extracted:
            return rules_.extracted;
        case MaildropSegment::done:
            break;
    }
    return {};
}

bool SegmentTracker::accept(char type) {
    std::string_view set = allowed();
    if (set.empty() || type == '\0' || set.find(type) == std::string_view::npos)
        return false;
    if (type == set.front())
        segment_ = static_cast<MaildropSegment>(static_cast<int>(segment_) + 1);
    return true;
}

Result<NamedAttribute> split_attribute(std::string_view text) {
    if (size_t nul = text.find('\0'); nul != std::string_view::npos)
        text = text.substr(0, nul);
    size_t name_start = 0;
    while (name_start < text.size() && is_space(text[name_start]))
        ++name_start;
    if (name_start == text.size())
        return Error(ErrorKind::protocol, "missing attribute name");
    size_t name_end = name_start;
    while (name_end < text.size() && !is_space(text[name_end]) && text[name_end] != '=')
        ++name_end;
    size_t equals = name_end;
    while (equals < text.size() && is_space(text[equals]))
        ++equals;
    if (equals == text.size() || text[equals] != '=')
        return Error(ErrorKind::protocol, "missing '=' after attribute name");
    size_t value_start = equals + 1;
    while (value_start < text.size() && is_space(text[value_start]))
        ++value_start;
    size_t value_end = text.size();
    while (value_end > value_start && is_space(text[value_end - 1]))
        --value_end;
    return NamedAttribute{text.substr(name_start, name_end - name_start),
                          text.substr(value_start, value_end - value_start)};
}

bool is_dsn_attribute(std::string_view name) {
    return name == "dsn_orig_rcpt" || name == "notify_flags" || name == "envelope_id" ||
           name == "ret_flags" || name == "create_time";
}

bool submission_attribute_allowed(const NamedAttribute& attribute) {
    const std::string_view name = attribute.name;
    const std::string_view value = attribute.value;
    if (name == "encoding")
        return value == "7bit" || value == "8bit" || value == "none";
    if (name == "rewrite_context")
        return value == "local" || value == "remote";
    return name == "trace_flags" || is_dsn_attribute(name);
}

std::string encode_plain_attributes(const PlainAttributes& attributes) {
    std::string out;
    for (const auto& [name, value] : attributes) {
        out.append(name).push_back('\0');
        out.append(value).push_back('\0');
    }
    out.push_back('\0');
    return out;
}

const std::string* find_plain_attribute(const PlainAttributes& attributes, std::string_view name) {
    for (const auto& attribute : attributes)
        if (attribute.first == name)
            return &attribute.second;
    return nullptr;
}

namespace {

// Splits one complete list off the front of `buffer`; false when it is not complete yet.
bool take_plain_list(std::string& buffer, PlainAttributes& out) {
    size_t at = 0;
    PlainAttributes list;
    for (;;) {
        size_t name_end = buffer.find('\0', at);
        if (name_end == std::string::npos)
            return false;
        if (name_end == at) {  // the empty name ends the list
            buffer.erase(0, at + 1);
            out = std::move(list);
            return true;
        }
        size_t value_end = buffer.find('\0', name_end + 1);
        if (value_end == std::string::npos)
            return false;
        list.emplace_back(buffer.substr(at, name_end - at),
                          buffer.substr(name_end + 1, value_end - name_end - 1));
        at = value_end + 1;
    }
}

}  // namespace

Result<PlainAttributes> read_plain_attributes(int fd, std::string& buffer, size_t limit) {
    for (;;) {
        PlainAttributes list;
        if (take_plain_list(buffer, list))
            return list;
        if (buffer.size() > limit)
            return Error(ErrorKind::protocol,
                         "attribute list longer than " + std::to_string(limit) + " bytes");
        char chunk[512];
        ssize_t got = ::read(fd, chunk, sizeof chunk);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return system_error("read", errno);
        if (got == 0)
            return Error(buffer.empty() ? ErrorKind::io : ErrorKind::protocol,
                         buffer.empty() ? "end of input" : "end of input inside an attribute list");
        buffer.append(chunk, static_cast<size_t>(got));
    }
}

}  // namespace postern
