// The trivial-rewrite service: many clients on one event loop, each sending rewrite and
// resolve requests (lib/mail/rewrite_protocol.hpp) on a connection it keeps open, answered
// by one AddressResolver opened at start-up.
//
// Where it sits: trivial-rewrite/, between the many-clients skeleton (lib/server) and the
// library (lib/mail/resolve.hpp, rewrite.hpp). What arrives is another process's request:
// every frame is checked against the schema and the attribute limits, a malformed one ends
// that client's connection (logged), never the process. Runs as mail_owner after the
// skeleton's privilege drop; the tables were opened before it, as root.
//
// Tables that change: every 10 seconds (Postfix's interval) the service asks whether a
// table file changed; when one did it logs "table X has changed -- restarting", stops
// accepting, answers each later request with kServerFlagReconnect and closes that
// connection after the reply, so that clients move to a process master starts with the new
// table. The same flag goes out once the skeleton is closing for any other reason.
#pragma once

#include <memory>

#include "ipc/attr.hpp"

#include "mail/resolve.hpp"
#include "server/multi_server.hpp"

namespace postern {

class RewriteService {
  public:
    explicit RewriteService(std::unique_ptr<AddressResolver> resolver)
        : resolver_(std::move(resolver)) {}

    // The skeleton's on_connect hook.
    void serve(MultiClient client, MultiServer& server);
    // After the privilege drop (post_init): the table check timer.
    void start_table_checks(EventLoop& loop);

    // Answers one request frame; the reply to send. An Error is a protocol violation.
    Result<AttrList> answer(AttrList request, bool closing);

    AddressResolver& resolver() { return *resolver_; }
    bool tables_changed() const { return tables_changed_; }

  private:
    void check_tables();

    std::unique_ptr<AddressResolver> resolver_;
    Event table_timer_;
    bool tables_changed_ = false;
    MultiServer* server_ = nullptr;
};

}  // namespace postern
