#include "qmgr/service_client.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "util/file.hpp"
#include "util/log.hpp"

namespace postern {

namespace {

using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

// How often a connect to a service whose listen queue is full is tried again.
constexpr milliseconds kBusyRetry{100};
constexpr size_t kReadSize = 16 * 1024;

bool unavailable_errno(int error) {
    return error == ENOENT || error == ECONNREFUSED || error == ENOTDIR || error == EACCES ||
           error == ENOTSOCK || error == EPROTOTYPE || error == ENAMETOOLONG;
}

}  // namespace

// One connection and the call it is busy with. The stages are small handlers, each
// armed by the one before: kick (start in the loop), connect, send, receive, idle.
class ServicePool::Connection {
  public:
    explicit Connection(ServicePool& pool) : pool_(pool) {}

    void start(std::string frame, Callback done);
    void watch_idle();

  private:
    enum class Stage { idle, connecting, sending, receiving, closed };

    void on_timer();
    void connect();
    void disarm_all();
    void connect_ready(EventReady ready);
    void send_some();
    void on_readable(EventReady ready);
    void receive_some();
    void idle_event();
    void succeed(AttrList reply);
    void fail(ServiceCallResult::Failure failure, std::string error);
    void make_events();

    ServicePool& pool_;
    Fd fd_;
    Event readable_;
    Event writable_;
    Event timer_;  // the first step, the busy retry and the idle timeout (see on_timer)
    AttrFrameDecoder decoder_;
    std::string out_;
    size_t sent_ = 0;
    Callback done_;
    size_t served_ = 0;
    bool fresh_ = true;
    Stage stage_ = Stage::closed;
    SteadyClock::time_point connect_deadline_;
};

void ServicePool::Connection::start(std::string frame, Callback done) {
    out_ = std::move(frame);
    sent_ = 0;
    done_ = std::move(done);
    fresh_ = served_ == 0;
    stage_ = fd_.valid() ? Stage::sending : Stage::connecting;
    connect_deadline_ = SteadyClock::now() + pool_.options_.io_timeout;
    if (!timer_.valid())
        timer_ = Event::timer(pool_.loop_, [this](EventReady) { on_timer(); });
    timer_.arm(milliseconds{0});
}

// The first step of a call runs from the loop, so that no callback ever runs inside
// call(); the same timer retries a busy connect and ends an idle connection.
void ServicePool::Connection::on_timer() {
    switch (stage_) {
        case Stage::connecting:
            return connect();
        case Stage::sending:
            return send_some();
        case Stage::idle:
            stage_ = Stage::closed;
            disarm_all();
            return pool_.closed(*this);
        case Stage::receiving:
        case Stage::closed:
            return;
    }
}

void ServicePool::Connection::disarm_all() {
    if (readable_.valid())
        readable_.disarm();
    if (writable_.valid())
        writable_.disarm();
    timer_.disarm();
}

void ServicePool::Connection::make_events() {
    readable_ = Event::readable(pool_.loop_, fd_.get(), true,
                                [this](EventReady ready) { on_readable(ready); });
    writable_ = Event::writable(pool_.loop_, fd_.get(), false, [this](EventReady ready) {
        if (stage_ == Stage::connecting)
            connect_ready(ready);
        else if (ready.timed_out)
            fail(ServiceCallResult::Failure::broken, "timeout sending request");
        else
            send_some();
    });
}

void ServicePool::Connection::connect() {
    const std::string& path = pool_.path_;
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (path.size() >= sizeof address.sun_path)
        return fail(ServiceCallResult::Failure::unavailable, std::strerror(ENAMETOOLONG));
    std::memcpy(address.sun_path, path.data(), path.size());
    fd_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd_.valid())
        return fail(ServiceCallResult::Failure::broken,
                    std::string("socket: ") + std::strerror(errno));
    int rc;
    do {
        rc = ::connect(fd_.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address);
    } while (rc < 0 && errno == EINTR);
    if (rc == 0) {
        make_events();
        stage_ = Stage::sending;
        return send_some();
    }
    int error = errno;
    if (error == EINPROGRESS) {
        make_events();
        writable_.arm(pool_.options_.io_timeout);
        return;
    }
    fd_.reset();
    if (error == EAGAIN && SteadyClock::now() < connect_deadline_) {
        // The listen queue is full: every agent process is busy starting up.
        timer_.arm(kBusyRetry);
        return;
    }
    auto failure = unavailable_errno(error) ? ServiceCallResult::Failure::unavailable
                                            : ServiceCallResult::Failure::broken;
    fail(failure, std::strerror(error));
}

void ServicePool::Connection::connect_ready(EventReady ready) {
    if (ready.timed_out)
        return fail(ServiceCallResult::Failure::broken, "timeout connecting");
    int error = 0;
    socklen_t size = sizeof error;
    if (::getsockopt(fd_.get(), SOL_SOCKET, SO_ERROR, &error, &size) < 0)
        error = errno;
    if (error != 0) {
        auto failure = unavailable_errno(error) ? ServiceCallResult::Failure::unavailable
                                                : ServiceCallResult::Failure::broken;
        return fail(failure, std::strerror(error));
    }
    stage_ = Stage::sending;
    send_some();
}

void ServicePool::Connection::send_some() {
    while (sent_ < out_.size()) {
        ssize_t wrote = ::send(fd_.get(), out_.data() + sent_, out_.size() - sent_,
                               MSG_NOSIGNAL | MSG_DONTWAIT);
        if (wrote > 0) {
            sent_ += static_cast<size_t>(wrote);
            continue;
        }
        if (wrote < 0 && errno == EINTR)
            continue;
        if (wrote < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            writable_.arm(pool_.options_.io_timeout);
            return;
        }
        if (wrote < 0 && sent_ == 0 && served_ > 0 && (errno == EPIPE || errno == ECONNRESET)) {
            // The agent closed this kept connection before the request went out: nothing
            // was delivered, so the request goes over a new connection.
            // (From the timer: this may run inside writable_'s callback, which connect()
            // replaces.)
            disarm_all();
            fd_.reset();
            served_ = 0;
            fresh_ = true;
            stage_ = Stage::connecting;
            timer_.arm(milliseconds{0});
            return;
        }
        return fail(ServiceCallResult::Failure::broken,
                    std::string("send request: ") + std::strerror(errno));
    }
    stage_ = Stage::receiving;
    readable_.arm(pool_.options_.reply_timeout);
}

void ServicePool::Connection::on_readable(EventReady ready) {
    if (stage_ == Stage::idle)
        return idle_event();
    if (ready.timed_out)
        return fail(ServiceCallResult::Failure::broken, "timeout waiting for the reply");
    receive_some();
}

void ServicePool::Connection::receive_some() {
    char buffer[kReadSize];
    ssize_t got = ::read(fd_.get(), buffer, sizeof buffer);
    if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (got < 0)
        return fail(ServiceCallResult::Failure::broken,
                    std::string("read reply: ") + std::strerror(errno));
    if (got == 0)
        return fail(ServiceCallResult::Failure::broken,
                    decoder_.idle() ? "lost connection" : "lost connection inside a reply");
    decoder_.feed(std::string_view(buffer, static_cast<size_t>(got)));
    auto frame = decoder_.next();
    if (!frame)
        return fail(ServiceCallResult::Failure::broken, frame.error().message());
    if (!*frame)
        return;
    if (!decoder_.idle())
        return fail(ServiceCallResult::Failure::broken, "unexpected data after the reply");
    succeed(std::move(**frame));
}

void ServicePool::Connection::succeed(AttrList reply) {
    ++served_;
    ServiceCallResult result;
    result.reply = std::move(reply);
    result.fresh_connection = fresh_;
    bool keep = served_ < pool_.options_.requests_per_connection;
    stage_ = keep ? Stage::idle : Stage::closed;
    if (!keep)
        disarm_all();
    pool_.finished(*this, keep, std::move(result), std::move(done_));
}

void ServicePool::Connection::fail(ServiceCallResult::Failure failure, std::string error) {
    ServiceCallResult result;
    result.failure = failure;
    result.error = std::move(error);
    result.fresh_connection = fresh_;
    stage_ = Stage::closed;
    disarm_all();
    pool_.finished(*this, false, std::move(result), std::move(done_));
}

// Idle: kept open for the next call. End-of-file or stray bytes from the agent, or the
// idle time running out, close it.
void ServicePool::Connection::watch_idle() {
    readable_.arm();
    timer_.arm(pool_.options_.idle_timeout);
}

void ServicePool::Connection::idle_event() {
    char byte;
    ssize_t got = ::recv(fd_.get(), &byte, 1, MSG_DONTWAIT | MSG_PEEK);
    if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    stage_ = Stage::closed;
    disarm_all();
    pool_.closed(*this);
}

// ---- ServicePool ----

ServicePool::ServicePool(EventLoop& loop, std::string path, Options options)
    : loop_(loop), path_(std::move(path)), options_(options) {
    reaper_ = Event::timer(loop_, [this](EventReady) {
        graveyard_.clear();
        while (!early_failures_.empty()) {
            auto [result, done] = std::move(early_failures_.front());
            early_failures_.pop_front();
            done(std::move(result));
        }
    });
}

ServicePool::~ServicePool() = default;

void ServicePool::call(const AttrList& request, Callback done) {
    std::string frame;
    if (Status encoded = append_attr_frame(frame, request); !encoded) {
        ServiceCallResult result;
        result.failure = ServiceCallResult::Failure::broken;
        result.error = encoded.error().message();
        return fail_soon(std::move(result), std::move(done));
    }
    if (!idle_.empty()) {
        Connection* connection = idle_.back();
        idle_.pop_back();
        return start(*connection, std::move(frame), std::move(done));
    }
    if (options_.limit == 0 || connections_.size() < options_.limit) {
        connections_.push_back(std::make_unique<Connection>(*this));
        return start(*connections_.back(), std::move(frame), std::move(done));
    }
    waiting_.push_back(Waiting{std::move(frame), std::move(done)});
}

void ServicePool::start(Connection& connection, std::string frame, Callback done) {
    connection.start(std::move(frame), std::move(done));
}

void ServicePool::fail_soon(ServiceCallResult result, Callback done) {
    early_failures_.emplace_back(std::move(result), std::move(done));
    reaper_.arm(milliseconds{0});
}

void ServicePool::finished(Connection& connection, bool keep, ServiceCallResult result,
                           Callback done) {
    if (keep)
        went_idle(connection);
    else
        bury(connection);
    // Last: the callback may call() again, and this connection may serve that call.
    if (done)
        done(std::move(result));
}

void ServicePool::went_idle(Connection& connection) {
    if (!waiting_.empty()) {
        Waiting next = std::move(waiting_.front());
        waiting_.pop_front();
        return start(connection, std::move(next.frame), std::move(next.done));
    }
    idle_.push_back(&connection);
    connection.watch_idle();
}

// An idle connection the peer closed or that sat unused too long.
void ServicePool::closed(Connection& connection) {
    std::erase(idle_, &connection);
    bury(connection);
}

void ServicePool::bury(Connection& connection) {
    auto found = std::find_if(connections_.begin(), connections_.end(),
                              [&](const auto& owned) { return owned.get() == &connection; });
    if (found == connections_.end())
        return;
    graveyard_.push_back(std::move(*found));
    connections_.erase(found);
    reaper_.arm(milliseconds{0});
    // A slot is free: the first waiting call gets a new connection.
    if (!waiting_.empty() && (options_.limit == 0 || connections_.size() < options_.limit)) {
        Waiting next = std::move(waiting_.front());
        waiting_.pop_front();
        connections_.push_back(std::make_unique<Connection>(*this));
        start(*connections_.back(), std::move(next.frame), std::move(next.done));
    }
}

}  // namespace postern
