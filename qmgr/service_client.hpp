// Connections from qmgr to the services it sends requests to: the delivery agents
// (private/TRANSPORT) and the bounce service (private/bounce, defer, trace). One request
// and one reply per call, over the attribute protocol, without ever blocking qmgr's event
// loop: connecting, writing and reading are all non-blocking, and the reply is decoded
// with AttrFrameDecoder as its bytes arrive.
//
// Where it sits: qmgr/, between the queue manager and lib/ipc. A ServicePool holds the
// connections to one service: a connection that has answered is kept for the next call
// (no connection, and for a single-client agent no process start, per delivery), closed
// after `idle_timeout` without a call (so that idle agent processes can exit) and after
// `requests_per_connection` calls (so that agent processes still turn over and pick up a
// reload). At most `limit` connections exist at once; further calls wait in order.
//
// Trust: the peer is another Postern process, but what it sends is checked (frame limits
// of attr.hpp) and a peer that breaks the protocol, closes early or stops answering ends
// that call with a failure, never a crash. Callbacks run from the event loop, never from
// inside call(), so a caller may start more calls from a callback.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ipc/attr.hpp"
#include "util/event_loop.hpp"

namespace postern {

struct ServiceCallResult {
    enum class Failure {
        none,         // `reply` holds the answer
        unavailable,  // nobody listens at the socket (the service is not in master.cf)
        broken,       // connected, but the call failed: see `error`
    };
    Failure failure = Failure::none;
    std::optional<AttrList> reply;
    std::string error;  // "connect to private/smtp: No such file or directory"...
    // The call went over a connection that had carried no call before.
    bool fresh_connection = true;
};

class ServicePool {
  public:
    struct Options {
        size_t limit = 0;  // connections at once; 0: no limit
        std::chrono::milliseconds io_timeout{std::chrono::seconds(60)};   // connect, write
        std::chrono::milliseconds reply_timeout{std::chrono::hours(6)};   // the answer
        std::chrono::milliseconds idle_timeout{std::chrono::seconds(5)};  // kept open
        size_t requests_per_connection = 100;
    };
    using Callback = std::function<void(ServiceCallResult result)>;

    // `path` is the socket, relative to the working directory ("private/smtp"); `name`
    // is how errors name it (the same, normally).
    ServicePool(EventLoop& loop, std::string path, Options options);
    ~ServicePool();
    ServicePool(const ServicePool&) = delete;
    ServicePool& operator=(const ServicePool&) = delete;

    void call(const AttrList& request, Callback done);

    const std::string& path() const { return path_; }
    size_t connections() const { return connections_.size(); }
    size_t busy() const { return connections_.size() - idle_.size(); }
    size_t waiting() const { return waiting_.size(); }

  private:
    class Connection;
    friend class Connection;
    struct Waiting {
        std::string frame;
        Callback done;
    };

    void start(Connection& connection, std::string frame, Callback done);
    // A connection finished its call: it is idle again, or closed.
    void finished(Connection& connection, bool keep, ServiceCallResult result, Callback done);
    void went_idle(Connection& connection);
    void closed(Connection& connection);
    void bury(Connection& connection);
    void fail_soon(ServiceCallResult result, Callback done);

    EventLoop& loop_;
    std::string path_;
    Options options_;
    std::vector<std::unique_ptr<Connection>> connections_;
    std::vector<Connection*> idle_;
    std::deque<Waiting> waiting_;
    // Closed connections are destroyed from the reaper, outside their own callbacks.
    std::vector<std::unique_ptr<Connection>> graveyard_;
    std::deque<std::pair<ServiceCallResult, Callback>> early_failures_;
    Event reaper_;
};

}  // namespace postern
