// The maildrop: how a local user's message travels from sendmail through the set-gid
// postdrop program into queue_directory/maildrop/, and what pickup may take from there.
//
// Where it sits: lib/queue, shared by tools/sendmail (writes the record stream), tools/postdrop
// (checks it and writes the maildrop file) and pickup/ (checks the file again and hands it to
// cleanup). Everything here is untrusted input handling: the record stream comes from any
// local user, and a maildrop file was written by one.
//
// The record stream and the maildrop file are Postfix's own (so that Postfix's sendmail can
// drive Postern's postdrop, Postfix's pickup can read Postern's maildrop files, and the
// other way round): queue-file records (queue_file.hpp) without the size record,
//
//   T arrival time (written by postdrop itself; a T from the user is refused)
//   envelope:   A attributes (filtered, see submission_attribute_allowed), F full name,
//               S sender, [A notify_flags] R recipients, V VERP delimiters, i, n
//   M, then N/L content records,
//   X, then extracted A and R records (sendmail -t puts header recipients here),
//   E
//
// sendmail and postdrop talk over postdrop's stdin and stdout (Postfix's `postdrop -r`):
//
//   postdrop -> sendmail   {protocol=postdrop_protocol, queue_id=ID}   the file exists
//   sendmail -> postdrop   the records, up to and including E
//   postdrop -> sendmail   {status=S, reason=TEXT}                     after the fsyncs
//
// in Postfix's plain attribute encoding: each attribute is its name, a NUL byte, its value,
// a NUL byte, and a list ends with one more NUL byte. status is 0 when the message is safely
// in maildrop/, else cleanup_status bits (cleanup_protocol.hpp); a reason, when not empty,
// is the text sendmail reports.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/result.hpp"

namespace postern {

// Attribute names and the protocol name of the sendmail-postdrop conversation (Postfix's).
namespace postdrop_attr {
inline constexpr std::string_view protocol = "protocol";
inline constexpr std::string_view queue_id = "queue_id";
inline constexpr std::string_view status = "status";
inline constexpr std::string_view reason = "reason";
}  // namespace postdrop_attr
inline constexpr std::string_view kPostdropProtocolName = "postdrop_protocol";

// The queue name of the maildrop directory.
inline constexpr std::string_view kMaildropQueue = "maildrop";

// A maildrop file's mode while postdrop writes it, and once it is ready for pickup: pickup
// runs as mail_owner, not as the submitting user, so the file is readable by others (the
// maildrop directory itself admits no one but mail_owner and setgid_group).
inline constexpr unsigned kMaildropModeWriting = 0644;
inline constexpr unsigned kMaildropModeReady = 0744;

// ---- Record types per segment ----

// The record types one segment admits. The first type of each set is the one that ends the
// segment and starts the next (M, X, E), as in Postfix's rec_type.h.
struct SegmentRules {
    std::string_view envelope;
    std::string_view content;
    std::string_view extracted;
};

// What postdrop accepts from sendmail, and pickup from a file a user submitted.
inline constexpr SegmentRules kSubmissionSegments{"MFSRVAin", "XLN", "EAR"};
// What pickup accepts from a file a user submitted: what postdrop writes (its own T first).
inline constexpr SegmentRules kMaildropFileSegments{"MTFSRVAin", "XLN", "EAR"};
// What pickup accepts from a file mail_owner put there (postsuper -r requeues whole queue
// files into maildrop/): Postfix's queue-file sets, time and DSN records included.
inline constexpr SegmentRules kRequeuedSegments{"MCTcFILSDRO/WVA>K<ion", "XLN",
                                                "EDRPreAFILSO/<ion"};

enum class MaildropSegment { envelope, content, extracted, done };

// Follows a record stream through its segments: accept() says whether a record type may
// appear where it does and moves on to the next segment at M, X and E.
class SegmentTracker {
  public:
    explicit SegmentTracker(const SegmentRules& rules) : rules_(rules) {}

    // False when the type does not belong in the current segment (or after E).
    bool accept(char type);
    MaildropSegment segment() const { return segment_; }

  private:
    std::string_view allowed() const;

    SegmentRules rules_;
    MaildropSegment segment_ = MaildropSegment::envelope;
};

// ---- Attribute records ----

struct NamedAttribute {
    std::string_view name;
    std::string_view value;
};

// "name = value" as Postfix's split_nameval() reads it: white space around the name and the
// value is dropped; the text ends at a NUL byte. Errors are Postfix's words: "missing
// attribute name", "missing '=' after attribute name".
Result<NamedAttribute> split_attribute(std::string_view text);

// The attributes a local user may set through postdrop: encoding (7bit, 8bit, none),
// envelope_id, notify_flags, rewrite_context (local, remote), trace_flags, and the DSN
// attributes that stand for records (is_dsn_attribute).
bool submission_attribute_allowed(const NamedAttribute& attribute);

// The attributes Postfix maps to records of their own (rec_attr_map): dsn_orig_rcpt,
// notify_flags, envelope_id, ret_flags, create_time.
bool is_dsn_attribute(std::string_view name);

// ---- Plain attribute lists (the postdrop pipe protocol) ----

using PlainAttributes = std::vector<std::pair<std::string, std::string>>;

// name NUL value NUL ... NUL.
std::string encode_plain_attributes(const PlainAttributes& attributes);

// The value of `name`, or nullptr.
const std::string* find_plain_attribute(const PlainAttributes& attributes, std::string_view name);

// Reads one list from `fd` (blocking). `buffer` keeps bytes read past the list for the next
// call. A list longer than `limit` bytes, or end of input inside it, is an
// ErrorKind::protocol error; end of input before the first byte is ErrorKind::io.
Result<PlainAttributes> read_plain_attributes(int fd, std::string& buffer, size_t limit = 4096);

}  // namespace postern
