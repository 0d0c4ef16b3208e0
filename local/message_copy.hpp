// Copying a message out of its queue file into a mailbox, a Maildir file, a command's
// input or a /file destination, with the envelope headers local(8) adds.
//
// Where it sits: local/, between the queue file (read with QueueFileReader, untrusted:
// a damaged file is ErrorKind::corrupt and the delivery is deferred) and every local
// destination. What goes out, in Postfix's order and spelling:
//
//   From sender  Thu Dec  3 09:15:20 2026      mbox, /file and commands (MAILER-DAEMON
//                                              for the null sender)
//   Return-Path: <sender>                      always
//   X-Original-To: orig                        when the recipient had an original address
//   Delivered-To: rcpt@domain                  per prepend_delivered_header, lower case
//   the content, every byte as the queue file holds it (8-bit, NUL, long lines put back
//   together from their L records), each line ended by "\n"; in mbox format a line that
//   starts with "From " gets a ">" first, and one empty line ends the message.
//
// Performance: the content is read with the reader's large preads and written in
// kCopyChunk pieces, one write() each; nothing is copied per line beyond the buffer.
// mailbox_size_limit is enforced as the bytes are produced (Postfix uses RLIMIT_FSIZE):
// going over it is "error writing message: File too large", status 5.2.2.
#pragma once

#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>

#include "queue/queue_file.hpp"
#include "util/result.hpp"

namespace postern::local {

inline constexpr size_t kCopyChunk = 64 * 1024;

// Where the bytes go. write() gets whole chunks; an Error carries the enhanced status
// (mailbox_status_for_errno) for the report.
class ContentSink {
  public:
    virtual ~ContentSink() = default;
    virtual Status write(std::string_view bytes) = 0;
};

// A sink over a descriptor (mailbox, Maildir file, /file).
class FdSink final : public ContentSink {
  public:
    explicit FdSink(int fd) : fd_(fd) {}
    Status write(std::string_view bytes) override;

  private:
    int fd_;
};

struct CopyOptions {
    bool from_line = false;   // the "From " envelope line (mbox, /file, commands)
    bool quote_from = false;  // ">From " quoting (mbox and /file only)
    bool blank_line = false;  // an empty line after the message (mbox and /file)
    bool delivered_to = false;
    bool return_path = true;    // pipe(8) writes it only with flag R
    std::string sender;         // internal form; empty: the null sender
    std::string original;       // X-Original-To; empty: no header
    std::string delivered;      // Delivered-To's address
    int64_t size_limit = 0;     // mailbox_size_limit; 0: none
    int64_t existing_size = 0;  // bytes already in the file (mbox), counted against it
    std::time_t now = 0;        // for the From line; 0: time(nullptr)
};

// The message to copy. A delivery opens the queue file as mail_owner before it takes the
// recipient's identity (the recipient may not read queue_directory, so opening it as
// them would fail with EACCES); tests may give a path, opened at the copy.
class MessageSource {
  public:
    MessageSource(const std::string& queue_path) : path_(queue_path) {}    // NOLINT: implicit
    MessageSource(QueueFileReader reader) : reader_(std::move(reader)) {}  // NOLINT: implicit
    // The reader, opened now if it was given as a path. Once only.
    Result<QueueFileReader> take();

  private:
    std::string path_;
    std::optional<QueueFileReader> reader_;
};

// Opens the queue file at `queue_path` (relative to the working directory) for one copy,
// with the current identity: a failure is a temporary error (4.3.0).
Result<QueueFileReader> open_message(const std::string& queue_path);

// Copies the content of the message to `sink`. Returns the number of bytes written.
Result<int64_t> copy_message(MessageSource source, ContentSink& sink, const CopyOptions& options);

// The headers and From line alone, as copy_message writes them first (for tests).
std::string envelope_headers(const CopyOptions& options);

// Postfix's mbox_dsn(): which enhanced status a failed file operation gets.
//   ENOSPC: 4.3.0 (the system is full), EAGAIN/ESTALE: 4.2.0 (try again),
//   EDQUOT/EFBIG: 5.2.2 (the mailbox is full), anything else: `default_status`.
const char* mailbox_status_for_errno(int error, const char* default_status);

// An Error for a failed file operation: "WHAT: strerror", ErrorKind::temporary for a 4
// status, permanent for a 5, and the status as its enhanced status code.
Error mailbox_error(std::string what, int error, const char* default_status = "5.2.0");

}  // namespace postern::local
