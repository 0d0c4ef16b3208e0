// The heart of postdrop: copying the record stream a local user's sendmail sends into the
// maildrop file, checking everything on the way, as Postfix's postdrop does:
//
//   - each record type must belong to the segment it arrives in (kSubmissionSegments);
//     anything else ends postdrop ("uid=N: unexpected record type: T");
//   - a record cut short, longer than line_length_limit, or with a garbled length ends it too
//     ("uid=N: malformed input", after the reader's warning);
//   - attribute records are limited to what a user may set (submission_attribute_allowed);
//     others are dropped with a warning, and kept ones are written back normalized;
//   - a T record from the user is refused: postdrop writes the arrival time itself;
//   - there must be a sender and a recipient, and each sender must pass
//     local_login_sender_maps; otherwise the input is still read to its end (so sendmail
//     is not cut off mid-write) and the reply is a failure status.
// The input ending cleanly on a record boundary before E means sendmail gave up: the
// submission is cancelled.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "tools/postdrop/maildrop_file.hpp"
#include "tools/postdrop/record_stream.hpp"
#include "util/result.hpp"

namespace postern::postdrop {

// What the submission ended with: 0 and an empty reason when the message may be committed,
// else cleanup_status bits and the text for sendmail (empty: sendmail shows the bits' text).
struct SubmissionVerdict {
    int64_t status = 0;
    std::string reason;
};

struct SubmissionPolicy {
    uid_t uid = 0;
    // local_login_sender_maps; an error is fatal for the caller (table unavailable).
    std::function<Result<bool>(std::string_view sender)> sender_allowed;
};

// Copies `input` into `file` up to and including E. nullopt: cancelled (the caller removes
// the file). An Error of ErrorKind::corrupt is a malformed stream (its message is the
// reader's warning), ErrorKind::protocol an unexpected record type (its message is the
// fatal line), ErrorKind::temporary a sender table failure.
Result<std::optional<SubmissionVerdict>> copy_submission(RecordStreamReader& input,
                                                         MaildropFile& file,
                                                         const SubmissionPolicy& policy);

}  // namespace postern::postdrop
