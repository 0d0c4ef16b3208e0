// Where an accepted message goes: to cleanup over its socket (CleanupSink, cleanup_sink.hpp)
// or, in the unit tests and the fuzz target, to memory.
//
// Where it sits: smtpd/, between the session and lib/queue's CleanupClient. A sink is
// opened at the first accepted recipient (Postfix's smtpd_delay_open_until_valid_rcpt)
// and either finished (cleanup commits the file durably and answers) or abandoned: then
// the connection is dropped and cleanup removes what it had written, so a client that
// vanishes mid-DATA leaves nothing in the queue.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "queue/cleanup_protocol.hpp"
#include "queue/queue_file.hpp"
#include "util/result.hpp"

namespace postern::smtpd {

class MessageSink {
  public:
    virtual ~MessageSink() = default;
    // Starts the message; the queue ID, or a temporary Error (cleanup unreachable).
    virtual Result<std::string> open(int64_t flags) = 0;
    virtual void record(char type, std::string_view data) = 0;
    virtual void attribute(std::string_view name, std::string_view value) = 0;
    virtual void recipient(const QueueRecipient& recipient) = 0;
    virtual void content_line(std::string_view line) = 0;
    virtual void content_continued(std::string_view piece) = 0;
    virtual void end_content() = 0;
    // Commits: cleanup's verdict, or an Error when it could not be asked.
    virtual Result<CleanupResult> finish() = 0;
    // Forgets the message (nothing is queued).
    virtual void abandon() = 0;
};

class MessageSinkFactory {
  public:
    virtual ~MessageSinkFactory() = default;
    virtual std::unique_ptr<MessageSink> create() = 0;
};

}  // namespace postern::smtpd
