// Submitting notices through cleanup: the way every Postern notice enters the queue.
//
// Where it sits: bounce/, between the bounce service and lib/queue's CleanupClient. A
// notice is an internal message (cleanup_flag::mask_internal: canonical and virtual
// mapping, no header or body checks, no milters), as Postfix's bounce posts it; when the
// original asked for SMTPUTF8 the notice does too. One connection to
// queue_directory/public/cleanup per notice (notices are rare; the connection is opened
// relative to the working directory, so it works chrooted or not). Cleanup's answer
// decides: a notice it did not queue is an error, and the bounce service replies "try
// again later", so that the log and the message stay.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

#include "bounce/bounce_service.hpp"

namespace postern {

class CleanupSubmitter final : public NoticeSubmitter {
  public:
    CleanupSubmitter(std::string socket_path, std::chrono::milliseconds timeout,
                     size_t line_length_limit)
        : socket_path_(std::move(socket_path)),
          timeout_(timeout),
          line_length_limit_(line_length_limit) {}

    Result<std::string> submit(const NoticeEnvelope& envelope, const Compose& compose) override;

  private:
    std::string socket_path_;
    std::chrono::milliseconds timeout_;
    size_t line_length_limit_;
};

}  // namespace postern
