// error: Postfix's error(8) and retry delivery agent. Every recipient of a request is
// bounced (service "error") or deferred (service "retry", Postfix 2.4 and later) with the
// request's next hop as the reason: "error:5.1.2 no such domain" in transport_maps, or
// what the resolver gives for a virtual alias domain's unknown users.
//
// Where it sits: after qmgr, which sends delivery requests on private/error and
// private/retry (master.cf `error unix - - n - - error`, `retry unix - - n - - error`).
// What comes in: a request (lib/queue/delivery_request.hpp); what goes out: one status
// line per recipient (relay=none), the reason in bounce/ID or defer/ID, done marks for
// bounced recipients, the reply to qmgr (lib/queue/delivery_agent.hpp does all of it).
// The reason may start with an RFC 3463 enhanced status code; without one the status is
// 5.0.0 (error) or 4.0.0 (retry), and a code of the wrong class is replaced the same way,
// with Postfix's warning ("bounce_append: ignoring dsn code "4.4.4""). Not
// security-sensitive: it never talks to the network and runs as mail_owner.
#include "queue/delivery_agent.hpp"
#include "server/single_server.hpp"

using namespace postern;

namespace {

Status deliver(DeliverySession& session, ServerContext& context) {
    bool retry = context.service_name() == "retry";
    DeliveryStatus status = status_from_text(session.request().nexthop, retry ? "4.0.0" : "5.0.0");
    if (retry)
        session.defer_remaining(status);
    else
        session.bounce_remaining(status);
    return {};
}

Status serve(ClientConnection& client, ServerContext& context) {
    return serve_delivery_requests(client, context, deliver);
}

}  // namespace

int main(int argc, char** argv) {
    return run_single_server(argc, argv, SingleServerHooks{.serve = serve});
}
