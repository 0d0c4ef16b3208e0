// The bounce protocol's server side; see bounce_server.hpp.
#include "bounce/bounce_server.hpp"

#include "ipc/attr_channel.hpp"
#include "util/log.hpp"

namespace postern {

Status serve_bounce_requests(ClientConnection& client, BounceService& service,
                             std::chrono::milliseconds timeout) {
    AttrChannel channel(std::move(client.fd));
    for (;;) {
        auto message = channel.receive(timeout);
        if (!message)
            return channel.peer_closed() ? Status() : Status(message.error());
        BounceReply reply;
        auto request = decode_bounce_request(*message);
        if (request) {
            reply = service.handle(*request);
        } else {
            log_warning("malformed request: %s", request.error().message().c_str());
            reply = BounceReply{1, "malformed request"};
        }
        if (Status sent = channel.send(encode_bounce_reply(reply), timeout); !sent)
            return sent;
    }
}

}  // namespace postern
