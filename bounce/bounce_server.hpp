// The bounce daemon's side of the bounce protocol (lib/queue/bounce_protocol.hpp): the
// requests of one qmgr connection, one after another, each answered with a BounceReply.
//
// Where it sits: bounce/, between the single-client skeleton (lib/server) and the bounce
// service. The client is qmgr, another Postern process, but its frames are still checked:
// a frame that is not a valid request gets {status=1, reason} and a warning, and the
// connection goes on (the frame itself was whole); a broken stream ends the connection.
#pragma once

#include <chrono>

#include "bounce/bounce_service.hpp"
#include "server/single_server.hpp"

namespace postern {

Status serve_bounce_requests(ClientConnection& client, BounceService& service,
                             std::chrono::milliseconds timeout);

}  // namespace postern
