// Attribute channels: one connection between two Postern daemons, carrying AttrList
// frames (attr.hpp) both ways.
//
// Where it sits: lib/ipc, over attr.hpp and below every daemon. A client (smtpd to cleanup,
// qmgr to trivial-rewrite, a delivery agent to bounce) connects to the service's UNIX-domain
// stream socket (queue_directory/private/NAME or public/NAME; the caller builds the path),
// sends a request and reads the reply. The server side, given a connection its skeleton
// accepted, reads requests and writes replies. A connection carries as many request/reply
// pairs as the two sides like: no connection per message (DESIGN.md, performance).
//
//   client:  auto cleanup = connect_attr_service(path, timeout);
//            auto reply = cleanup->request(AttrList().add_string("queue_id", id), timeout);
//   server:  AttrChannel client(std::move(accepted));
//            for (;;) {
//                auto request = client.receive(timeout);
//                if (!request) break;  // client.peer_closed(): the client is done, no warning
//                ... client.send(reply, timeout) ...
//            }
//
// Timeouts are deadlines for a whole operation (Postfix's ipc_timeout, 3600s by default,
// is the caller's to pass): a peer dribbling one byte at a time cannot hold a channel longer
// than that. Each read and write is tried without blocking first and waits in poll() only
// when the socket is not ready, so the socket may be blocking or not; EINTR is retried and
// partial reads and writes carry on; SIGPIPE is never raised. What the peer sends is as
// untrusted as in attr.hpp: frames are checked against the channel's AttrLimits, and an
// oversized frame fails as soon as its header arrives.
//
// Errors, by kind:
//   timeout   the deadline passed (or, when connecting, the service stayed busy)
//   protocol  a malformed or oversized frame, or end-of-file inside a frame
//   io        the peer closed the connection between frames (peer_closed() is then true:
//             the normal end for a server reading requests), or a system call failed
// After an error the stream is out of step, so the channel refuses further use (except
// after an encoding refusal in send(), which sends nothing): close it.
// For event-loop daemons, AttrFrameDecoder (attr.hpp) is the same decoder without the I/O.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "ipc/attr.hpp"
#include "util/file.hpp"
#include "util/result.hpp"

namespace postern {

class AttrChannel {
  public:
    explicit AttrChannel(Fd socket, AttrLimits limits = {});

    // Sends one frame. An encoding refusal (attr.hpp limits, duplicate names) is an
    // ErrorKind::protocol error and leaves the channel usable.
    Status send(const AttrList& message, std::chrono::milliseconds timeout);
    // Waits for the next complete frame.
    Result<AttrList> receive(std::chrono::milliseconds timeout);
    // Client side: send `request`, then wait for its reply; both within one timeout.
    Result<AttrList> request(const AttrList& request, std::chrono::milliseconds timeout);

    // The last error was the peer closing the connection between frames.
    bool peer_closed() const { return peer_closed_; }
    // An earlier error left the stream out of step.
    bool failed() const { return failed_.has_value(); }
    int fd() const { return socket_.get(); }
    // Gives the socket back; bytes already read past the last frame are lost with the
    // channel.
    Fd release() { return std::move(socket_); }

  private:
    using Deadline = std::chrono::steady_clock::time_point;

    Status send_until(const AttrList& message, Deadline deadline);
    Result<AttrList> receive_until(Deadline deadline);
    Status write_pending(Deadline deadline);
    Status read_some(Deadline deadline);
    Error end_of_file();
    Error fail(Error error);

    Fd socket_;
    AttrFrameDecoder decoder_;
    std::string send_buffer_;  // keeps its capacity: no allocation per frame once warm
    std::optional<Error> failed_;
    bool peer_closed_ = false;
};

// Connects to the UNIX-domain stream socket at `path`. A service whose listen queue is full
// is retried until the timeout passes (ErrorKind::timeout); a missing socket or nobody
// listening is an ErrorKind::io error at once.
Result<AttrChannel> connect_attr_service(const std::string& path, std::chrono::milliseconds timeout,
                                         AttrLimits limits = {});

// One request and its reply on a connection of their own, all within `timeout`: for rare
// calls. A daemon that talks to a service often keeps its AttrChannel open instead.
Result<AttrList> attr_request(const std::string& path, const AttrList& request,
                              std::chrono::milliseconds timeout, AttrLimits limits = {});

}  // namespace postern
