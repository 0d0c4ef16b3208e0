// Passing an open file descriptor to another process over a UNIX-domain socket (SCM_RIGHTS).
//
// Where it sits: util. postscreen hands a client's connection to an smtpd this way, and
// master may pass sockets the same way. The peer is another Postern process but is not
// trusted blindly: a message with no descriptor, more than one, a truncated control
// message or a malformed frame is a protocol error, and every descriptor that arrived
// with it is closed (none leaks into the receiver).
//
// Wire format, one message: one byte N (0..255), then N payload bytes; the descriptor rides
// on the first byte. Works on SOCK_STREAM (reads exactly one frame, so bytes that follow
// on the stream are left for the next reader) and on SOCK_SEQPACKET / SOCK_DGRAM.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "util/file.hpp"
#include "util/result.hpp"

namespace postern {

inline constexpr size_t kMaxFdPayload = 255;

// Sends `fd` (which stays open here) and an optional payload of up to kMaxFdPayload bytes.
// Retries on EINTR; a non-blocking socket that is full gives ErrorKind::temporary.
Status send_fd(int socket, int fd, std::string_view payload = {});

struct ReceivedFd {
    Fd fd;  // always valid in a successful result; close-on-exec
    std::string payload;
};

// Receives one message sent by send_fd. Retries on EINTR; on a non-blocking socket with
// nothing to read, ErrorKind::temporary; the peer closing gives ErrorKind::io.
Result<ReceivedFd> receive_fd(int socket);

}  // namespace postern
