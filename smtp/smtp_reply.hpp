// SMTP server replies as the SMTP client reads them (RFC 5321 section 4.2), the enhanced
// status code in them (RFC 2034, RFC 3463), and the EHLO keywords the client acts on.
//
// Where it sits: smtp/, between the connection (smtp_stream.hpp), which gives lines, and
// the session (smtp_session.hpp), which decides what a reply means for each recipient.
// Everything here is untrusted network input: a malformed line is a protocol error, a
// reply is bounded in lines and length, and nothing is interpreted beyond the code.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace postern::smtp {

struct SmtpReply {
    int code = 0;                    // 220, 250, 550...
    std::string dsn;                 // the enhanced code: the server's, else "X.0.0" from the class
    std::vector<std::string> lines;  // each whole line as received, without CRLF

    char reply_class() const { return static_cast<char>('0' + code / 100); }
    bool positive() const { return code >= 200 && code < 400; }
    bool temporary() const { return code >= 400 && code < 500; }
    bool permanent() const { return code >= 500; }
    // The reply as one line for log and DSN text: the lines joined with a space
    // ("550-5.1.1 first 550 5.1.1 second"), as Postfix shows a multi-line reply.
    std::string text() const;
    // The text after the code (and the enhanced code) of every line, one per element:
    // the EHLO keywords, the SASL challenge.
    std::vector<std::string> messages() const;
};

// Gathers the lines of one reply. Feed each line (CRLF removed); complete() says when the
// last line ("250 " or a bare "250") arrived.
class SmtpReplyParser {
  public:
    // A line that does not start with three digits, or whose code differs from the first
    // line's, is ErrorKind::protocol. More than kMaxLines lines too.
    Status add_line(std::string_view line);
    bool complete() const { return complete_; }
    // The finished reply; the parser starts over.
    SmtpReply take();

    static constexpr size_t kMaxLines = 1000;

  private:
    SmtpReply reply_;
    bool complete_ = false;
};

// The enhanced code at the start of a reply line's text ("5.1.1 user unknown" -> "5.1.1"),
// when it is well formed and of the reply's own class; else empty.
std::string reply_enhanced_code(int code, std::string_view text);

// What the server said it supports in its EHLO reply (RFC 5321 section 4.1.1.1).
struct EhloFeatures {
    bool pipelining = false;
    bool starttls = false;
    bool eight_bit_mime = false;
    bool smtputf8 = false;
    bool dsn = false;
    bool size = false;
    int64_t size_limit = 0;                    // SIZE nnn; 0 when none given
    std::vector<std::string> auth_mechanisms;  // AUTH and AUTH= lines, merged
};

// The keywords of a 250 EHLO reply, lines after the first; `discarded`
// (smtp_discard_ehlo_keywords) are ignored, any case.
EhloFeatures parse_ehlo_features(const SmtpReply& reply,
                                 const std::vector<std::string>& discarded = {});

}  // namespace postern::smtp
