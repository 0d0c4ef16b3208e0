// MessageSink over cleanup's public/cleanup socket: one connection per message, dropped
// when the message is abandoned (cleanup then removes its incoming/ file).
//
// Where it sits: smtpd/, over lib/queue/cleanup_protocol.hpp.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "smtpd/message_sink.hpp"

namespace postern::smtpd {

class CleanupSinkFactory final : public MessageSinkFactory {
  public:
    CleanupSinkFactory(std::string socket_path, std::chrono::milliseconds timeout,
                       size_t line_length_limit)
        : socket_path_(std::move(socket_path)),
          timeout_(timeout),
          line_length_limit_(line_length_limit) {}
    std::unique_ptr<MessageSink> create() override;

  private:
    std::string socket_path_;
    std::chrono::milliseconds timeout_;
    size_t line_length_limit_;
};

}  // namespace postern::smtpd
