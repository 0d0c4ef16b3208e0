// discard: Postfix's discard(8) delivery agent. Every recipient of a request is reported
// delivered without being delivered anywhere, with the request's next hop as the reason
// ("discard:silently" in transport_maps logs "status=sent (silently)"). The reason may
// start with an RFC 3463 code of class 2 ("discard:2.1.5 ok"); another class is replaced
// with 2.0.0 and Postfix's warning ("sent: ignoring dsn code "5.1.1"").
//
// Where it sits: after qmgr, which sends delivery requests on private/discard (master.cf
// `discard unix - - n - - discard`). What goes out: one status line per recipient
// (relay=none), done marks, trace/ID records for DSN NOTIFY=SUCCESS, the reply to qmgr
// (lib/queue/delivery_agent.hpp). Not security-sensitive: it never reads the message and
// runs as mail_owner.
#include "queue/delivery_agent.hpp"
#include "server/single_server.hpp"

using namespace postern;

namespace {

Status deliver(DeliverySession& session, ServerContext&) {
    DeliveryStatus status = status_from_text(session.request().nexthop, "2.0.0");
    for (size_t i = 0; i < session.request().recipients.size(); ++i)
        session.sent(i, status);
    return {};
}

Status serve(ClientConnection& client, ServerContext& context) {
    return serve_delivery_requests(client, context, deliver);
}

}  // namespace

int main(int argc, char** argv) {
    return run_single_server(argc, argv, SingleServerHooks{.serve = serve});
}
