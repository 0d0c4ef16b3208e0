// Recipients from headers; see header_recipients.hpp.
#include "tools/sendmail/header_recipients.hpp"

#include <algorithm>

#include "mail/address.hpp"

namespace postern::sendmail {

HeaderRecipients::HeaderRecipients(size_t header_size_limit, size_t address_token_limit,
                                   size_t line_length_limit, ContentSink output)
    : token_limit_(address_token_limit),
      line_length_limit_(std::max<size_t>(line_length_limit, 1)),
      output_(std::move(output)) {
    ContentSplitterOptions options;
    options.header_size_limit = header_size_limit;
    options.disable_mime = true;
    ContentSplitterEvents events;
    events.header = [this](HeaderClass header_class, const HeaderInfo* info, std::string& text) {
        if (header_class == HeaderClass::primary)
            header(info, text);
        write_header(text);
    };
    events.body = [this](std::string_view text, bool end_of_line, int64_t) {
        body(text, end_of_line);
    };
    splitter_ = std::make_unique<ContentSplitter>(options, std::move(events));
}

void HeaderRecipients::add(char type, std::string_view data) {
    splitter_->add(data, type != 'L');
}

void HeaderRecipients::header(const HeaderInfo* info, const std::string& text) {
    if (info == nullptr || (info->flags & header_flag::recipient) == 0 ||
        (info->flags & header_flag::extract) == 0)
        return;
    const bool resent = (info->flags & header_flag::resent) != 0;
    // Once a Resent- recipient header was seen, the others no longer matter.
    if (resent_ && !resent)
        return;
    if (resent)
        resent_ = true;
    std::vector<std::string>& into = resent ? resent_recipients_ : recipients_;
    for (ParsedAddress& address : parse_address_list(header_value(text), token_limit_))
        into.push_back(std::move(address.internal));
}

// "Name  : value" goes out as "Name: value"; each line of a folded header as it was, cut
// into L pieces of line_length_limit bytes when longer.
void HeaderRecipients::write_header(const std::string& text) {
    std::string normalized = text;
    if (size_t name = header_name_length(normalized); name > 0) {
        size_t colon = normalized.find(':', name);
        normalized.erase(name, colon - name);
    }
    std::string_view rest = normalized;
    for (;;) {
        size_t newline = rest.find('\n');
        std::string_view line = rest.substr(0, newline);
        while (line.size() > line_length_limit_) {
            output_('L', line.substr(0, line_length_limit_));
            line.remove_prefix(line_length_limit_);
        }
        output_('N', line);
        if (newline == std::string_view::npos)
            break;
        rest.remove_prefix(newline + 1);
    }
}

void HeaderRecipients::body(std::string_view text, bool end_of_line) {
    if (first_body_piece_) {
        first_body_piece_ = false;
        if (!text.empty() || !end_of_line)  // the headers need their blank line
            output_('N', "");
    }
    output_(end_of_line ? 'N' : 'L', text);
    body_line_open_ = !end_of_line;
}

std::vector<std::string> HeaderRecipients::finish() {
    splitter_->finish();
    // A body that ends without a newline gets one, as Postfix's MIME reader gives it.
    if (body_line_open_)
        output_('N', "");
    return resent_ ? std::move(resent_recipients_) : std::move(recipients_);
}

}  // namespace postern::sendmail
