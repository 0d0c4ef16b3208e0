// qmgr's non-blocking service connections (qmgr/service_client.hpp) against a small
// attribute-protocol server on the same event loop: replies, connection reuse, the
// connection limit, a missing socket, and a peer that closes instead of answering.
#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ipc/attr.hpp"
#include "qmgr/service_client.hpp"
#include "util/event_loop.hpp"
#include "util/file.hpp"

using namespace postern;
using std::chrono::milliseconds;

namespace {

// Answers {n=N} with {n=N+1}; with `hang_up`, closes each connection instead.
class EchoServer {
  public:
    EchoServer(EventLoop& loop, std::string path, bool hang_up)
        : loop_(loop), path_(std::move(path)), hang_up_(hang_up) {
        listener_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        std::snprintf(address.sun_path, sizeof address.sun_path, "%s", path_.c_str());
        REQUIRE(::bind(listener_.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) ==
                0);
        REQUIRE(::listen(listener_.get(), 16) == 0);
        accept_ = Event::readable(loop_, listener_.get(), true, [this](EventReady) { accept(); });
        accept_.arm();
    }
    ~EchoServer() { ::unlink(path_.c_str()); }

    int connections = 0;
    int requests = 0;

  private:
    struct Client {
        Fd fd;
        Event readable;
        AttrFrameDecoder decoder;
    };

    void accept() {
        Fd fd(::accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
        if (!fd.valid())
            return;
        ++connections;
        int id = next_id_++;
        auto client = std::make_unique<Client>();
        client->fd = std::move(fd);
        client->readable =
            Event::readable(loop_, client->fd.get(), true, [this, id](EventReady) { read(id); });
        client->readable.arm();
        clients_[id] = std::move(client);
    }

    void read(int id) {
        Client& client = *clients_[id];
        char buffer[4096];
        ssize_t got = ::read(client.fd.get(), buffer, sizeof buffer);
        if (got <= 0)
            return close_soon(id);
        client.decoder.feed(std::string_view(buffer, static_cast<size_t>(got)));
        auto frame = client.decoder.next();
        if (!frame || !*frame)
            return;
        ++requests;
        if (hang_up_)
            return close_soon(id);
        int64_t n = std::get<int64_t>((**frame).find("n")->value);
        auto reply = encode_attr_frame(AttrList().add_int("n", n + 1));
        REQUIRE(reply);
        REQUIRE(write_all(client.fd.get(), *reply).ok());
    }

    // Not from inside the client's own callback.
    void close_soon(int id) {
        clients_[id]->readable.disarm();
        closing_.push_back(id);
        reaper_ = Event::timer(loop_, [this](EventReady) {
            for (int gone : closing_)
                clients_.erase(gone);
            closing_.clear();
        });
        reaper_.arm(milliseconds{0});
    }

    EventLoop& loop_;
    std::string path_;
    bool hang_up_;
    Fd listener_;
    Event accept_;
    Event reaper_;
    std::map<int, std::unique_ptr<Client>> clients_;
    std::vector<int> closing_;
    int next_id_ = 0;
};

std::string socket_path(const char* name) {
    return "/tmp/qmgr-pool-" + std::to_string(::getpid()) + "-" + name;
}

// Runs the loop until `done` or a deadline.
void run_until(EventLoop& loop, const std::function<bool()>& done) {
    Event deadline = Event::timer(loop, [&](EventReady) { loop.stop(); });
    deadline.arm(milliseconds{5000});
    Event poll;
    poll = Event::timer(loop, [&](EventReady) {
        if (done())
            loop.stop();
        else
            poll.arm(milliseconds{5});
    });
    poll.arm(milliseconds{0});
    REQUIRE(loop.run().ok());
    REQUIRE(done());
}

}  // namespace

TEST_CASE("a service pool gets replies and reuses its connections", "[qmgr]") {
    EventLoop loop;
    std::string path = socket_path("echo");
    EchoServer server(loop, path, false);
    ServicePool::Options options;
    options.limit = 2;
    ServicePool pool(loop, path, options);
    std::vector<int64_t> answers;
    std::vector<bool> fresh;
    for (int64_t n = 0; n < 6; ++n) {
        pool.call(AttrList().add_int("n", n * 10), [&](ServiceCallResult result) {
            REQUIRE(result.failure == ServiceCallResult::Failure::none);
            answers.push_back(std::get<int64_t>(result.reply->find("n")->value));
            fresh.push_back(result.fresh_connection);
        });
    }
    CHECK(answers.empty());  // callbacks come from the loop, never from call()
    CHECK(pool.connections() == 2);
    CHECK(pool.waiting() == 4);
    run_until(loop, [&] { return answers.size() == 6; });
    std::vector<int64_t> expected = {1, 11, 21, 31, 41, 51};
    std::sort(answers.begin(), answers.end());
    CHECK(answers == expected);
    CHECK(server.connections == 2);
    CHECK(std::count(fresh.begin(), fresh.end(), true) == 2);
}

TEST_CASE("a connection is closed after requests_per_connection calls", "[qmgr]") {
    EventLoop loop;
    std::string path = socket_path("turnover");
    EchoServer server(loop, path, false);
    ServicePool::Options options;
    options.limit = 1;
    options.requests_per_connection = 2;
    ServicePool pool(loop, path, options);
    int answered = 0;
    for (int i = 0; i < 5; ++i)
        pool.call(AttrList().add_int("n", i), [&](ServiceCallResult result) {
            CHECK(result.failure == ServiceCallResult::Failure::none);
            ++answered;
        });
    run_until(loop, [&] { return answered == 5; });
    CHECK(server.connections == 3);
}

TEST_CASE("a missing socket is unavailable, a peer that hangs up is broken", "[qmgr]") {
    EventLoop loop;
    ServicePool missing(loop, socket_path("nobody"), ServicePool::Options{});
    std::optional<ServiceCallResult> first;
    missing.call(AttrList().add_int("n", 1), [&](ServiceCallResult result) { first = result; });
    run_until(loop, [&] { return first.has_value(); });
    CHECK(first->failure == ServiceCallResult::Failure::unavailable);
    CHECK(first->error == "No such file or directory");

    std::string path = socket_path("hangup");
    EchoServer server(loop, path, true);
    ServicePool pool(loop, path, ServicePool::Options{});
    std::optional<ServiceCallResult> second;
    pool.call(AttrList().add_int("n", 1), [&](ServiceCallResult result) { second = result; });
    run_until(loop, [&] { return second.has_value(); });
    CHECK(second->failure == ServiceCallResult::Failure::broken);
    CHECK(second->error == "lost connection");
    CHECK(second->fresh_connection);
    CHECK(server.requests == 1);
}
