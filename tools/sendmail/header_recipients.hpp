// sendmail -t: the recipients named in the message's own headers, as Postfix's sendmail
// finds them: the addresses in To:, Cc: and Bcc:, unless the message has Resent-To:,
// Resent-Cc: or Resent-Bcc: headers, which then win (a resent message goes to its new
// recipients only). Header names match without regard to case; folded headers count as
// one; the headers end at the first line that is not a header (MIME structure is not
// looked into). Addresses are parsed as Postfix's tok822 parses them (lib/mail/address.hpp):
// groups, comments, phrases and route addresses are handled, and every address found is
// kept, duplicates included; the cleanup daemon removes duplicates later.
//
// With -t the content passes through this header reader on its way to postdrop, and comes
// out as Postfix's sendmail writes it then: a header name is followed directly by its ':'
// (white space between them is dropped), and a blank line is put between the headers and
// a body that does not start with one, and a body whose last line has no newline is ended
// with an empty N record. Everything else, header lines and body, is passed on as it
// came, long lines as L pieces of line_length_limit bytes.
//
// Input: the content records sendmail reads from the user (untrusted). Memory is bounded by
// header_size_limit per header and header_address_token_limit per header's addresses.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "mail/header.hpp"

namespace postern::sendmail {

// Where content records go: type 'N' (a whole line) or 'L' (a piece of one).
using ContentSink = std::function<void(char type, std::string_view data)>;

class HeaderRecipients {
  public:
    HeaderRecipients(size_t header_size_limit, size_t address_token_limit, size_t line_length_limit,
                     ContentSink output);

    // One content record in message order.
    void add(char type, std::string_view data);
    // The end of the content; the recipients in internal form, in header order.
    std::vector<std::string> finish();

  private:
    void header(const HeaderInfo* info, const std::string& text);
    void write_header(const std::string& text);
    void body(std::string_view text, bool end_of_line);

    size_t token_limit_;
    size_t line_length_limit_;
    ContentSink output_;
    bool first_body_piece_ = true;
    bool body_line_open_ = false;
    bool resent_ = false;
    std::vector<std::string> recipients_;
    std::vector<std::string> resent_recipients_;
    std::unique_ptr<ContentSplitter> splitter_;
};

}  // namespace postern::sendmail
