// Message headers: header recognition, Postfix's table of header kinds, header output
// layout, and the MIME-aware content splitter (see header.hpp).
#include "mail/header.hpp"

#include <algorithm>
#include <array>
#include <utility>

#include "util/strings.hpp"

namespace postern {
namespace {

bool is_space_or_tab(char c) {
    return c == ' ' || c == '\t';
}

// Postfix's header_opts table: names in their preferred spelling, the kind, what cleanup
// does with them.
using namespace header_flag;
constexpr std::array kHeaderTable = {
    HeaderInfo{"Apparently-To", HeaderType::apparently_to, recipient},
    HeaderInfo{"Bcc", HeaderType::bcc, drop | recipient | extract},
    HeaderInfo{"Cc", HeaderType::cc, recipient | extract},
    HeaderInfo{"Content-Description", HeaderType::content_description, mime},
    HeaderInfo{"Content-Disposition", HeaderType::content_disposition, mime},
    HeaderInfo{"Content-ID", HeaderType::content_id, mime},
    HeaderInfo{"Content-Length", HeaderType::content_length, drop},
    HeaderInfo{"Content-Transfer-Encoding", HeaderType::content_transfer_encoding, mime},
    HeaderInfo{"Content-Type", HeaderType::content_type, mime},
    HeaderInfo{"Delivered-To", HeaderType::delivered_to, 0},
    HeaderInfo{"Disposition-Notification-To", HeaderType::disposition_notification_to, sender},
    HeaderInfo{"Date", HeaderType::date, 0},
    HeaderInfo{"Errors-To", HeaderType::errors_to, sender},
    HeaderInfo{"From", HeaderType::from, sender},
    HeaderInfo{"Mail-Followup-To", HeaderType::mail_followup_to, sender},
    HeaderInfo{"Message-Id", HeaderType::message_id, 0},
    HeaderInfo{"MIME-Version", HeaderType::mime_version, mime},
    HeaderInfo{"Received", HeaderType::received, 0},
    HeaderInfo{"Reply-To", HeaderType::reply_to, sender},
    HeaderInfo{"Resent-Bcc", HeaderType::resent_bcc, drop | recipient | extract | resent},
    HeaderInfo{"Resent-Cc", HeaderType::resent_cc, recipient | extract | resent},
    HeaderInfo{"Resent-Date", HeaderType::resent_date, resent},
    HeaderInfo{"Resent-From", HeaderType::resent_from, sender | resent},
    HeaderInfo{"Resent-Message-Id", HeaderType::resent_message_id, resent},
    HeaderInfo{"Resent-Reply-To", HeaderType::resent_reply_to, recipient | resent},
    HeaderInfo{"Resent-Sender", HeaderType::resent_sender, sender | resent},
    HeaderInfo{"Resent-To", HeaderType::resent_to, recipient | extract | resent},
    HeaderInfo{"Return-Path", HeaderType::return_path, drop | sender},
    HeaderInfo{"Return-Receipt-To", HeaderType::return_receipt_to, sender},
    HeaderInfo{"Sender", HeaderType::sender, sender},
    HeaderInfo{"To", HeaderType::to, recipient | extract},
};

// Lines of a rebuilt address header are joined while shorter than this (a tab counts as
// one character), as Postfix's cleanup does.
constexpr size_t kFoldWidth = 70;

// RFC 2045 tspecials, which end a MIME token.
constexpr std::string_view kMimeSpecials = "()<>@,;:\\\"/[]?=";

// Skips white space and (nested) comments.
size_t skip_mime_space(std::string_view text, size_t at) {
    while (at < text.size()) {
        char c = text[at];
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            ++at;
        } else if (c == '(') {
            int level = 0;
            for (; at < text.size(); ++at) {
                if (text[at] == '\\') {
                    if (at + 1 < text.size())  // a final backslash must not step past the end
                        ++at;
                } else if (text[at] == '(') {
                    ++level;
                } else if (text[at] == ')' && --level == 0) {
                    ++at;
                    break;
                }
            }
        } else {
            break;
        }
    }
    return at;
}

std::string_view mime_token(std::string_view text, size_t& at) {
    size_t start = at;
    while (at < text.size()) {
        auto c = static_cast<unsigned char>(text[at]);
        if (c <= ' ' || c >= 0x7f ||
            kMimeSpecials.find(static_cast<char>(c)) != std::string_view::npos)
            break;
        ++at;
    }
    return text.substr(start, at - start);
}

// A parameter value: a token or a quoted string (quotes and escapes removed).
std::string mime_parameter_value(std::string_view text, size_t& at) {
    if (at >= text.size() || text[at] != '"')
        return std::string(mime_token(text, at));
    std::string value;
    for (++at; at < text.size() && text[at] != '"'; ++at) {
        if (text[at] == '\\' && at + 1 < text.size())
            ++at;
        value.push_back(text[at]);
    }
    if (at < text.size())
        ++at;
    return value;
}

struct ContentType {
    std::string type;
    std::string subtype;
    std::string boundary;
};

ContentType parse_content_type(std::string_view value) {
    ContentType result;
    size_t at = skip_mime_space(value, 0);
    result.type = lowercase(mime_token(value, at));
    at = skip_mime_space(value, at);
    if (at < value.size() && value[at] == '/') {
        at = skip_mime_space(value, at + 1);
        result.subtype = lowercase(mime_token(value, at));
    }
    while (at < value.size()) {
        at = skip_mime_space(value, at);
        if (at >= value.size() || value[at] != ';')
            break;
        at = skip_mime_space(value, at + 1);
        std::string_view name = mime_token(value, at);
        at = skip_mime_space(value, at);
        if (name.empty() || at >= value.size() || value[at] != '=')
            break;
        at = skip_mime_space(value, at + 1);
        std::string parameter = mime_parameter_value(value, at);
        if (equals_ignore_case(name, "boundary") && result.boundary.empty())
            result.boundary = std::move(parameter);
    }
    return result;
}

}  // namespace

size_t header_name_length(std::string_view line) {
    size_t name_length = 0;
    bool after_name = false;  // white space seen after the name
    for (char ch : line) {
        auto c = static_cast<unsigned char>(ch);
        if (c == ':')
            return name_length;
        if (c == ' ' || c == '\t') {
            if (name_length == 0)
                return 0;
            after_name = true;
            continue;
        }
        if (c == 0 || c >= 0x80 || c < 0x20 || c == 0x7f || after_name)
            return 0;
        ++name_length;
    }
    return 0;
}

const HeaderInfo* find_header_info(std::string_view line) {
    std::string_view name = line.substr(0, line.find(':'));
    while (!name.empty() && is_space_or_tab(name.back()))
        name.remove_suffix(1);
    for (const HeaderInfo& info : kHeaderTable) {
        if (equals_ignore_case(info.name, name))
            return &info;
    }
    return nullptr;
}

std::string_view header_value(std::string_view line) {
    size_t colon = line.find(':');
    if (colon == std::string_view::npos)
        return {};
    return trim_left(line.substr(colon + 1));
}

std::string fold_address_header(std::string_view header) {
    std::string folded(header);
    size_t line_start = 0;  // start of the output line being built
    size_t position = folded.find('\n');
    while (position != std::string::npos) {
        size_t next_end = folded.find('\n', position + 1);
        size_t end = next_end == std::string::npos ? folded.size() : next_end;
        if (end - line_start < kFoldWidth)
            folded[position] = ' ';
        else
            line_start = position + 1;
        position = next_end;
    }
    return folded;
}

std::vector<std::string> header_output_lines(std::string_view header, size_t size_limit) {
    std::vector<std::string> lines;
    size_t start = 0;
    while (start <= header.size()) {
        size_t end = header.find('\n', start);
        bool last = end == std::string_view::npos;
        std::string_view line = header.substr(start, last ? std::string_view::npos : end - start);
        if (start + line.size() > size_limit) {
            if (start > size_limit * 9 / 10)
                break;  // a clean cut at the end of the previous line
            line = line.substr(0, size_limit - start);
            last = true;
        }
        if (start == 0 || (!line.empty() && is_space_or_tab(line.front())))
            lines.emplace_back(line);
        else
            lines.push_back("\t" + std::string(line));
        if (last)
            break;
        start = end + 1;
    }
    return lines;
}

std::string_view mime_error_text(unsigned error) {
    if (error & mime_error::nesting)
        return "MIME nesting exceeds safety limit";
    if (error & mime_error::truncated_header)
        return "message header length exceeds safety limit";
    if (error & mime_error::eight_bit_in_header)
        return "improper use of 8-bit data in message header";
    if (error & mime_error::eight_bit_in_7bit_body)
        return "improper use of 8-bit data in message body";
    if (error & mime_error::encoding_domain)
        return "invalid message/* or multipart/* encoding domain";
    return "unknown MIME error";
}

std::string_view mime_error_status(unsigned) {
    return "5.6.0";  // every MIME problem is a content problem: "media error"
}

// ---- ContentSplitter ----

ContentSplitter::ContentSplitter(ContentSplitterOptions options, ContentSplitterEvents events)
    : options_(std::move(options)), events_(std::move(events)) {}

void ContentSplitter::add(std::string_view text, bool end_of_line) {
    if (finished_)
        return;
    if (!in_line_)
        start_line(text);
    if (line_is_body_)
        body_piece(text, end_of_line);
    else
        add_header_piece(text, !in_line_);
    in_line_ = !end_of_line;
    if (end_of_line && after_line_ != After::nothing) {
        After next = after_line_;
        after_line_ = After::nothing;
        start_headers(next == After::nested_headers ? HeaderClass::nested : HeaderClass::multipart);
    }
}

// Decides where a new physical line goes: the header being read, a new header, or the
// body (which it may start).
void ContentSplitter::start_line(std::string_view text) {
    if (state_ == State::body) {
        line_is_body_ = true;
        if (text.size() >= 2 && text[0] == '-' && text[1] == '-')
            boundary_line(text);
        return;
    }
    if (header_pending_ && !text.empty() && is_space_or_tab(text.front())) {
        line_is_body_ = false;
        return;
    }
    flush_header();
    if (is_header(text)) {
        line_is_body_ = false;
        header_.clear();
        header_pending_ = true;
        header_full_ = false;
        return;
    }
    bool primary = header_class_ == HeaderClass::primary;
    end_of_headers();
    line_is_body_ = true;
    // The message's own headers end with an empty line, even when the sender left it out
    // (Postfix adds it; the headers of parts and attached messages stay as they are).
    if (primary && !text.empty())
        body_piece("", true);
    // A part that ends without a blank line: its boundary ends its headers.
    if (state_ == State::body && text.size() >= 2 && text[0] == '-' && text[1] == '-')
        boundary_line(text);
}

// A header keeps at most header_size_limit bytes, newlines between its lines included. A
// continuation line that does not fit is cut, and left out when what would remain of it
// is only white space (what Postfix 3.7 does, observed with small limits).
void ContentSplitter::add_header_piece(std::string_view text, bool new_line) {
    if (header_full_)
        return;
    size_t limit = options_.header_size_limit;
    bool continuation = new_line && !header_.empty();
    size_t needed = header_.size() + (continuation ? 1 : 0) + text.size();
    if (needed <= limit) {
        if (continuation)
            header_.push_back('\n');
        header_.append(text);
        return;
    }
    size_t room = limit > header_.size() + (continuation ? 1 : 0)
                      ? limit - header_.size() - (continuation ? 1 : 0)
                      : 0;
    std::string_view kept = text.substr(0, room);
    if (!trim(kept).empty() || !continuation) {
        if (continuation)
            header_.push_back('\n');
        header_.append(kept);
    }
    header_full_ = true;
    report(mime_error::truncated_header, header_);
}

void ContentSplitter::flush_header() {
    if (!header_pending_)
        return;
    header_pending_ = false;
    const HeaderInfo* info = find_header_info(header_);
    if (info != nullptr && info->type == HeaderType::content_type && !options_.disable_mime)
        learn_content_type(header_);
    if (events_.header)
        events_.header(header_class_, info, header_);
}

void ContentSplitter::learn_content_type(std::string_view header) {
    ContentType type = parse_content_type(header_value(header));
    block_content_ = Content::text;
    if (type.type == "multipart" && !type.boundary.empty()) {
        block_content_ = Content::multipart;
        block_boundary_ = type.boundary.substr(0, options_.mime_boundary_length_limit);
        block_digest_ = type.subtype == "digest";
    } else if (type.type == "message" && (type.subtype == "rfc822" || type.subtype == "global")) {
        block_content_ = Content::message;
    }
}

// The line that ends a header block belongs to the body; what the block's Content-Type
// said decides what comes next.
void ContentSplitter::end_of_headers() {
    if (header_class_ == HeaderClass::primary && !primary_done_) {
        primary_done_ = true;
        if (events_.primary_headers_end)
            events_.primary_headers_end();
    }
    state_ = State::body;
    body_offset_ = 0;
    Content content = options_.disable_mime ? Content::text : block_content_;
    if (content != Content::text) {
        if (levels_.size() >= static_cast<size_t>(std::max(options_.mime_nesting_limit, 0))) {
            if (options_.report_nesting)
                report(mime_error::nesting, header_);
        } else if (content == Content::multipart) {
            levels_.push_back(Level{block_boundary_, block_digest_});
        } else {
            levels_.push_back(Level{});
            after_line_ = After::nested_headers;
        }
    }
    block_content_ = Content::text;
}

void ContentSplitter::start_headers(HeaderClass header_class) {
    state_ = State::headers;
    header_class_ = header_class;
    bool in_digest =
        header_class == HeaderClass::multipart && !levels_.empty() && levels_.back().digest;
    block_content_ = in_digest ? Content::message : Content::text;
}

// A line "--BOUNDARY" or "--BOUNDARY--" of an open multipart closes the levels inside it;
// the first form starts a part, whose headers follow.
bool ContentSplitter::boundary_line(std::string_view line) {
    std::string_view rest = line.substr(2);
    for (size_t i = levels_.size(); i-- > 0;) {
        const std::string& boundary = levels_[i].boundary;
        if (boundary.empty() || rest.substr(0, boundary.size()) != boundary)
            continue;
        bool closing = rest.substr(boundary.size(), 2) == "--";
        levels_.resize(closing ? i : i + 1);
        if (!closing)
            after_line_ = After::part_headers;
        return true;
    }
    return false;
}

void ContentSplitter::body_piece(std::string_view text, bool end_of_line) {
    if (events_.body)
        events_.body(text, end_of_line, body_offset_);
    body_offset_ += static_cast<int64_t>(text.size()) + (end_of_line ? 1 : 0);
}

void ContentSplitter::finish() {
    if (finished_)
        return;
    if (state_ == State::headers)
        flush_header();
    if (!primary_done_) {
        primary_done_ = true;
        if (events_.primary_headers_end)
            events_.primary_headers_end();
    }
    finished_ = true;
}

void ContentSplitter::report(unsigned error, std::string_view context) {
    errors_ |= error;
    if (events_.error)
        events_.error(error, context);
}

}  // namespace postern
