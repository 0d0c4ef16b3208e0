// Message headers: recognizing a header line, the table of header names Postfix treats
// specially (header_opts), and a streaming, MIME-aware splitter that turns the content
// lines of a message into logical header fields (continuation lines folded in,
// header_size_limit applied) followed by body lines, telling which header block each field
// belongs to: the message's own headers, a MIME part's headers, or the headers of an
// attached message (what header_checks, mime_header_checks and nested_header_checks see).
//
// Where it sits: lib/mail, below cleanup (which edits headers as they stream past) and
// anything else that reads message content. The content is untrusted (a network client's
// or a local user's message): any bytes, lines of any length, MIME structures nested
// without end, boundaries of any length. The splitter keeps at most header_size_limit bytes
// of one header, at most mime_nesting_limit levels of MIME structure and boundaries of at
// most mime_boundary_length_limit bytes; its memory does not grow with the message.
// RFCs: 5322 section 2.2 (header fields, folding), 2045 and 2046 (MIME headers, multipart
// boundaries, message/rfc822 parts).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace postern {

// The length of the header name at the start of `line` when the line starts a header
// field: printable ASCII other than ':' (no white space inside the name), then optional
// spaces or tabs, then ':'. 0 when the line is not a header (Postfix's is_header).
size_t header_name_length(std::string_view line);
inline bool is_header(std::string_view line) {
    return header_name_length(line) > 0;
}

// Header names Postfix knows (header_opts.h), with its preferred spelling.
enum class HeaderType : uint8_t {
    other = 0,
    apparently_to,
    bcc,
    cc,
    content_length,
    content_transfer_encoding,
    content_type,
    date,
    delivered_to,
    errors_to,
    from,
    message_id,
    received,
    reply_to,
    resent_bcc,
    resent_cc,
    resent_date,
    resent_from,
    resent_message_id,
    resent_reply_to,
    resent_sender,
    resent_to,
    return_path,
    return_receipt_to,
    sender,
    to,
    mail_followup_to,
    content_description,
    content_disposition,
    content_id,
    mime_version,
    disposition_notification_to,
};

// What cleanup does with a header of a kind (Postfix's HDR_OPT_* bits).
namespace header_flag {
inline constexpr unsigned drop = 1 << 0;       // removed from the message (Bcc, Return-Path...)
inline constexpr unsigned sender = 1 << 1;     // holds sender addresses (From, Sender...)
inline constexpr unsigned recipient = 1 << 2;  // holds recipient addresses (To, Cc...)
inline constexpr unsigned resent = 1 << 3;     // a Resent- header
inline constexpr unsigned extract = 1 << 4;    // sendmail -t takes recipients from it
inline constexpr unsigned mime = 1 << 5;       // a MIME header (Content-*, MIME-Version)
}  // namespace header_flag

struct HeaderInfo {
    std::string_view name;  // preferred spelling: "Message-Id", "Resent-To"
    HeaderType type = HeaderType::other;
    unsigned flags = 0;
};

// The table entry for the header that `line` starts ("To: a@b" or just "To"), matched
// without regard to case, white space before the ':' ignored; nullptr for other names.
const HeaderInfo* find_header_info(std::string_view line);

// The value of a header field: what follows the ':' with leading white space removed.
// `line` must start a header (is_header).
std::string_view header_value(std::string_view line);

// Postfix's layout of a header that was rebuilt from its addresses (cleanup_fold_header):
// `header` holds "Name: " and the address list with a newline after each comma
// (HeaderAddressList::externalize); lines are joined with a space while the joined line
// stays shorter than 70 characters. Returns the header as newline-separated lines.
std::string fold_address_header(std::string_view header);

// The records a (possibly multi-line) logical header becomes, as Postfix's cleanup writes
// it: one line per '\n'-separated piece, a tab put before pieces that do not start with
// white space, and the header cut to `size_limit` bytes (at the last line boundary when
// that loses less than 10%, else in the middle of a line).
std::vector<std::string> header_output_lines(std::string_view header, size_t size_limit);

// Which block of headers a header field belongs to (Postfix's MIME_HDR_*).
enum class HeaderClass : uint8_t {
    primary,    // the message's own headers: header_checks
    multipart,  // the headers of a MIME part: mime_header_checks
    nested,     // the headers of an attached message (message/rfc822): nested_header_checks
};

// Problems the splitter found (Postfix's MIME_ERR_* bits).
namespace mime_error {
inline constexpr unsigned nesting = 1 << 0;           // deeper than mime_nesting_limit
inline constexpr unsigned truncated_header = 1 << 1;  // a header longer than header_size_limit
inline constexpr unsigned eight_bit_in_header = 1 << 2;
inline constexpr unsigned eight_bit_in_7bit_body = 1 << 3;
inline constexpr unsigned encoding_domain = 1 << 4;
}  // namespace mime_error

// The text Postfix logs and replies for a MIME error bit ("MIME nesting exceeds safety
// limit"), and its enhanced status code ("5.6.0").
std::string_view mime_error_text(unsigned error);
std::string_view mime_error_status(unsigned error);

struct ContentSplitterOptions {
    size_t header_size_limit = 102400;         // header_size_limit
    int mime_nesting_limit = 100;              // mime_nesting_limit
    size_t mime_boundary_length_limit = 2048;  // mime_boundary_length_limit
    bool disable_mime = false;                 // disable_mime_input_processing
    bool report_nesting = false;               // treat too deep nesting as an error
};

// What the splitter hands on. Every callback may be empty.
struct ContentSplitterEvents {
    // One complete logical header: its physical lines joined with '\n' (the line ends
    // removed), cut at header_size_limit. `info` is find_header_info() of it. The callee
    // may change `header` (it is the splitter's buffer, reused afterwards).
    std::function<void(HeaderClass header_class, const HeaderInfo* info, std::string& header)>
        header;
    // The end of the message's own headers, before the first body line (also when the
    // message has no body or no headers at all).
    std::function<void()> primary_headers_end;
    // A body line, or a piece of a long one (end_of_line false: the line goes on in the
    // next piece). `offset` counts the bytes of the current body part before this piece
    // (body_checks_size_limit applies to each part).
    std::function<void(std::string_view text, bool end_of_line, int64_t offset)> body;
    // A problem found (one bit of mime_error) and the text near it.
    std::function<void(unsigned error, std::string_view context)> error;
};

// Splits message content into headers and body, one content record at a time.
class ContentSplitter {
  public:
    ContentSplitter(ContentSplitterOptions options, ContentSplitterEvents events);

    // One content record: a whole line (end_of_line) or a piece of a longer one.
    void add(std::string_view text, bool end_of_line);
    // The end of the content: a pending header is handed on, the primary headers end is
    // reported if it was not yet. Further add() calls are ignored.
    void finish();

    // The union of every mime_error bit seen so far.
    unsigned errors() const { return errors_; }

  private:
    enum class State : uint8_t { headers, body };
    // What starts once the current physical line ends.
    enum class After : uint8_t { nothing, part_headers, nested_headers };
    // What the header block being read says about the content that follows it.
    enum class Content : uint8_t { text, multipart, message };
    // One open level of MIME structure: a multipart (its boundary, cut to
    // mime_boundary_length_limit, and whether it is multipart/digest, whose parts are
    // messages by default) or an attached message (empty boundary).
    struct Level {
        std::string boundary;
        bool digest = false;
    };

    void start_line(std::string_view text);
    void add_header_piece(std::string_view text, bool new_line);
    void flush_header();
    void learn_content_type(std::string_view header);
    void end_of_headers();
    void start_headers(HeaderClass header_class);
    bool boundary_line(std::string_view line);
    void body_piece(std::string_view text, bool end_of_line);
    void report(unsigned error, std::string_view context);

    ContentSplitterOptions options_;
    ContentSplitterEvents events_;
    State state_ = State::headers;
    HeaderClass header_class_ = HeaderClass::primary;
    After after_line_ = After::nothing;
    bool primary_done_ = false;
    bool finished_ = false;
    bool in_line_ = false;         // the previous piece did not end its line
    bool line_is_body_ = false;    // the current physical line belongs to the body
    bool header_pending_ = false;  // header_ holds a header not yet handed on
    bool header_full_ = false;     // the pending header reached header_size_limit
    std::string header_;
    int64_t body_offset_ = 0;
    unsigned errors_ = 0;
    Content block_content_ = Content::text;
    std::string block_boundary_;
    bool block_digest_ = false;
    std::vector<Level> levels_;  // innermost last
};

}  // namespace postern
