// Maildir delivery (qmail's format, as Postfix's local(8) writes it): home_mailbox or a
// /file destination ending in "/", and mail_spool_directory ending in "/".
//
// Where it sits: local/, called with the recipient's identity already in force (AsUser),
// so every file and directory is created as the user, with the user's quota and rights.
// What goes out: MAILDIR/new/SECONDS.VdevIinodeMmicroseconds.HOST, mode 0600, holding the
// envelope headers and the content (message_copy.hpp). The steps make the delivery
// atomic and durable before it is reported:
//   1. create tmp/SECONDS.PPID.HOST exclusively (tmp/, new/, cur/ and the Maildir itself
//      are created, mode 0700, when missing);
//   2. write the message, fsync the file;
//   3. link it into new/ under its unique name (made from the file's device and inode and
//      the delivery's start time, so no two files ever share a name), remove the tmp/ name;
//   4. fsync new/: only then is the message there after a crash, and only then is
//      "delivered to maildir" reported.
// A failure leaves no file in new/ and removes what it wrote in tmp/.
#pragma once

#include <string>

#include "local/message_copy.hpp"
#include "util/result.hpp"

namespace postern::local {

// `maildir` ends in "/". Errors are worded as Postfix's ("create maildir file PATH:
// Permission denied") with the status of mailbox_status_for_errno(), default 5.2.0; the
// caller prefixes "maildir delivery failed: ".
Status deliver_to_maildir(const std::string& maildir, MessageSource message,
                          const CopyOptions& options, const std::string& hostname);

// The host name as it appears in a Maildir file name: '/' and ':' written as "\057" and
// "\072", as the Maildir convention asks.
std::string maildir_hostname(const std::string& hostname);

// mkdir -p with mode 0700 for each directory it creates; `path` may end in "/".
Status make_directories(const std::string& path, mode_t mode = 0700);

}  // namespace postern::local
