// Attribute channels (lib/ipc/attr_channel.hpp) over real sockets: both sides, deadlines,
// the peer closing, a peer writing garbage, signals, and connecting by path.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include "ipc/attr_channel.hpp"
#include "util/file.hpp"

using namespace postern;
using namespace std::chrono_literals;
using namespace std::string_literals;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto kLong = 10s;  // long enough never to fire when things work

struct SocketPair {
    SocketPair() {
        int fds[2];
        REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0);
        client.reset(fds[0]);
        server.reset(fds[1]);
    }
    Fd client;
    Fd server;
};

// Raw bytes, as a misbehaving peer would write them; false once the other side is gone.
bool write_raw(int fd, std::string_view bytes) {
    while (!bytes.empty()) {
        ssize_t sent = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (sent < 0)
            return false;
        bytes.remove_prefix(static_cast<size_t>(sent));
    }
    return true;
}

std::string frame_of(const AttrList& list) {
    auto frame = encode_attr_frame(list);
    REQUIRE(frame.ok());
    return *frame;
}

// The server side of one connection: answers each "n" with "n + 1" until the client is
// done; returns how many requests it answered, or -1 when the end was not a clean close.
int serve_increments(AttrChannel& server) {
    int answered = 0;
    for (;;) {
        auto request = server.receive(kLong);
        if (!request)
            return server.peer_closed() ? answered : -1;
        AttrReader reader(std::move(*request), "increment request");
        auto n = reader.integer("n");
        auto padding = reader.optional_data("padding");
        if (!n || !padding || !reader.finish().ok())
            return -1;
        AttrList reply;
        reply.add_int("n", *n + 1);
        if (padding->has_value())
            reply.add_data("padding", std::move(**padding));
        if (!server.send(reply, kLong).ok())
            return -1;
        ++answered;
    }
}

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

void require_error(const Status& status, ErrorKind kind) {
    REQUIRE_FALSE(status.ok());
    CHECK(status.error().kind() == kind);
}

template <typename T>
void require_error(const Result<T>& result, ErrorKind kind) {
    REQUIRE_FALSE(result.ok());
    INFO(result.error().message());
    CHECK(result.error().kind() == kind);
}

struct TemporaryDirectory {
    TemporaryDirectory() {
        char pattern[] = "/tmp/postern-ipc-test.XXXXXX";
        REQUIRE(::mkdtemp(pattern) != nullptr);
        path = pattern;
    }
    ~TemporaryDirectory() {
        std::string command = "rm -rf '" + path + "'";
        (void)std::system(command.c_str());
    }
    std::string path;
};

Fd listen_at(const std::string& path, int backlog) {
    Fd listener(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    REQUIRE(listener.valid());
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    REQUIRE(path.size() < sizeof address.sun_path);
    std::memcpy(address.sun_path, path.data(), path.size());
    REQUIRE(::bind(listener.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(::listen(listener.get(), backlog) == 0);
    return listener;
}

// accept(), but never hanging a failed test for longer than `timeout`.
Fd accept_within(int listener, std::chrono::milliseconds timeout) {
    struct pollfd descriptor = {listener, POLLIN, 0};
    if (::poll(&descriptor, 1, static_cast<int>(timeout.count())) != 1)
        return Fd();
    return Fd(::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC));
}

}  // namespace

TEST_CASE("a request and its reply cross a socketpair", "[ipc]") {
    SocketPair pair;
    AttrChannel server(std::move(pair.server));
    int answered = 0;
    std::jthread server_thread([&] { answered = serve_increments(server); });

    {
        AttrChannel client(std::move(pair.client));
        for (int i = 0; i < 10; ++i) {
            auto reply = client.request(AttrList().add_int("n", i), kLong);
            REQUIRE(reply.ok());
            AttrReader reader(std::move(*reply), "increment reply");
            CHECK(*reader.integer("n") == i + 1);
            CHECK(reader.finish().ok());
        }
    }  // the client closes: the server sees a clean end
    server_thread.join();
    CHECK(answered == 10);
}

TEST_CASE("frames far larger than the socket buffer go through whole", "[ipc]") {
    SocketPair pair;
    AttrChannel server(std::move(pair.server));
    int answered = 0;
    std::jthread server_thread([&] { answered = serve_increments(server); });

    std::string padding(900 * 1024, '\0');
    for (size_t i = 0; i < padding.size(); ++i)
        padding[i] = static_cast<char>(i * 7);
    {
        AttrChannel client(std::move(pair.client));
        auto reply = client.request(AttrList().add_int("n", 1).add_data("padding", padding), kLong);
        REQUIRE(reply.ok());
        AttrReader reader(std::move(*reply), "increment reply");
        CHECK(*reader.integer("n") == 2);
        auto echoed = reader.data("padding");
        REQUIRE(echoed.ok());
        CHECK(*echoed == padding);
    }
    server_thread.join();
    CHECK(answered == 1);
}

TEST_CASE("frames that arrive together are received one at a time", "[ipc]") {
    SocketPair pair;
    AttrChannel server(std::move(pair.server));
    std::string burst = frame_of(AttrList().add_int("n", 1)) + frame_of(AttrList()) +
                        frame_of(AttrList().add_string("s", "third"));
    REQUIRE(write_raw(pair.client.get(), burst));
    pair.client.reset();

    auto first = server.receive(kLong);
    auto second = server.receive(kLong);
    auto third = server.receive(kLong);
    REQUIRE(first.ok());
    REQUIRE(second.ok());
    REQUIRE(third.ok());
    CHECK(*first == AttrList().add_int("n", 1));
    CHECK(second->empty());
    CHECK(*third == AttrList().add_string("s", "third"));
    auto end = server.receive(kLong);
    require_error(end, ErrorKind::io);
    CHECK(server.peer_closed());
}

TEST_CASE("a frame dribbled one byte at a time is put together", "[ipc]") {
    SocketPair pair;
    AttrChannel server(std::move(pair.server));
    std::string frame = frame_of(AttrList().add_string("sender", "a@example.com").add_int("n", 7));
    std::jthread writer([&] {
        for (char byte : frame) {
            write_raw(pair.client.get(), std::string_view(&byte, 1));
            std::this_thread::sleep_for(1ms);
        }
    });
    auto received = server.receive(kLong);
    writer.join();
    REQUIRE(received.ok());
    CHECK(*received == AttrList().add_string("sender", "a@example.com").add_int("n", 7));
}

TEST_CASE("receive gives up at its deadline", "[ipc]") {
    SocketPair pair;
    AttrChannel server(std::move(pair.server));
    auto start = Clock::now();
    auto received = server.receive(200ms);
    double elapsed = seconds_since(start);
    require_error(received, ErrorKind::timeout);
    CHECK(elapsed >= 0.19);
    CHECK(elapsed < 2.0);
    CHECK_FALSE(server.peer_closed());
    CHECK(server.failed());
}

TEST_CASE("the deadline covers the whole frame, not each read", "[ipc]") {
    SocketPair pair;
    AttrChannel server(std::move(pair.server));
    std::string frame = frame_of(AttrList().add_data("d", std::string(200, 'x')));
    std::atomic<bool> stop{false};
    std::jthread writer([&] {  // one byte every 20ms: 4s for the frame
        for (char byte : frame) {
            if (stop || !write_raw(pair.client.get(), std::string_view(&byte, 1)))
                return;
            std::this_thread::sleep_for(20ms);
        }
    });
    auto start = Clock::now();
    auto received = server.receive(300ms);
    double elapsed = seconds_since(start);
    stop = true;
    writer.join();
    require_error(received, ErrorKind::timeout);
    CHECK(elapsed < 2.0);
}

TEST_CASE("send gives up at its deadline when the peer does not read", "[ipc]") {
    SocketPair pair;
    int blocking = GENERATE(0, 1);
    if (!blocking)
        REQUIRE(::fcntl(pair.client.get(), F_SETFL, O_NONBLOCK) == 0);
    AttrChannel client(std::move(pair.client));
    AttrList big;
    big.add_data("d", std::string(1000 * 1000, 'x'));  // more than the socket buffers hold
    auto start = Clock::now();
    Status sent = client.send(big, 200ms);
    double elapsed = seconds_since(start);
    require_error(sent, ErrorKind::timeout);
    CHECK(elapsed >= 0.19);
    CHECK(elapsed < 2.0);

    // Half a frame went out: the channel refuses to go on.
    CHECK(client.failed());
    require_error(client.send(AttrList(), kLong), ErrorKind::timeout);
}

TEST_CASE("the peer closing between frames is its own error", "[ipc]") {
    SocketPair pair;
    AttrChannel server(std::move(pair.server));
    pair.client.reset();
    auto received = server.receive(kLong);
    require_error(received, ErrorKind::io);
    CHECK(server.peer_closed());
    CHECK_THAT(received.error().message(), Catch::Contains("closed by peer"));
}

TEST_CASE("the peer closing inside a frame is a protocol error", "[ipc]") {
    SocketPair pair;
    AttrChannel server(std::move(pair.server));
    std::string frame = frame_of(AttrList().add_string("s", "cut short"));
    REQUIRE(write_raw(pair.client.get(), std::string_view(frame).substr(0, frame.size() - 3)));
    pair.client.reset();
    auto received = server.receive(kLong);
    require_error(received, ErrorKind::protocol);
    CHECK_FALSE(server.peer_closed());
    CHECK_THAT(received.error().message(), Catch::Contains("inside a frame"));
}

TEST_CASE("a peer writing garbage is a protocol error at once", "[ipc]") {
    auto garbage = GENERATE("EHLO example.com\r\n"s, "\x01\x00\x00\x00\x03\xff\xff\xff"s,
                            "\x01\xff\xff\xff\xff"s);
    SocketPair pair;
    AttrChannel server(std::move(pair.server));
    REQUIRE(write_raw(pair.client.get(), garbage));  // and the peer stays connected
    auto start = Clock::now();
    auto received = server.receive(kLong);
    require_error(received, ErrorKind::protocol);
    CHECK(seconds_since(start) < 2.0);
    CHECK(server.failed());
    // The stream is out of step: no later frame is believed.
    REQUIRE(write_raw(pair.client.get(), frame_of(AttrList())));
    require_error(server.receive(kLong), ErrorKind::protocol);
}

TEST_CASE("a frame over the channel's limit fails on its header", "[ipc]") {
    SocketPair pair;
    AttrLimits limits;
    limits.max_frame_size = 64;
    AttrChannel server(std::move(pair.server), limits);
    AttrChannel client(std::move(pair.client));
    REQUIRE(client.send(AttrList().add_data("d", std::string(100, 'x')), kLong).ok());
    auto received = server.receive(kLong);
    require_error(received, ErrorKind::protocol);
    CHECK_THAT(received.error().message(), Catch::Contains("limit 64"));
}

TEST_CASE("a message the encoder refuses leaves the channel usable", "[ipc]") {
    SocketPair pair;
    AttrChannel client(std::move(pair.client));
    AttrChannel server(std::move(pair.server));
    AttrList duplicate;
    duplicate.add_int("n", 1).add_int("n", 2);
    require_error(client.send(duplicate, kLong), ErrorKind::protocol);
    CHECK_FALSE(client.failed());
    REQUIRE(client.send(AttrList().add_int("n", 1), kLong).ok());
    auto received = server.receive(kLong);
    REQUIRE(received.ok());
    CHECK(*received == AttrList().add_int("n", 1));
}

TEST_CASE("sending to a closed peer fails without SIGPIPE", "[ipc]") {
    SocketPair pair;
    AttrChannel client(std::move(pair.client));
    pair.server.reset();
    Status sent = client.send(AttrList().add_int("n", 1), kLong);
    require_error(sent, ErrorKind::io);
    CHECK(client.peer_closed());
}

namespace {
std::atomic<bool> signal_seen{false};
void note_signal(int) {
    signal_seen = true;
}
}  // namespace

TEST_CASE("receive carries on after a signal interrupts it", "[ipc]") {
    struct sigaction action {};
    struct sigaction previous {};
    action.sa_handler = note_signal;  // no SA_RESTART: poll() fails with EINTR
    REQUIRE(::sigaction(SIGUSR1, &action, &previous) == 0);
    signal_seen = false;

    SocketPair pair;
    AttrChannel server(std::move(pair.server));
    pthread_t receiver = ::pthread_self();
    std::jthread sender([&] {
        std::this_thread::sleep_for(100ms);
        ::pthread_kill(receiver, SIGUSR1);
        std::this_thread::sleep_for(100ms);
        write_raw(pair.client.get(), frame_of(AttrList().add_string("s", "late")));
    });
    auto received = server.receive(kLong);
    sender.join();
    ::sigaction(SIGUSR1, &previous, nullptr);
    CHECK(signal_seen);
    REQUIRE(received.ok());
    CHECK(*received == AttrList().add_string("s", "late"));
}

// ---- connecting by path ----

TEST_CASE("a client reaches a service by its socket path", "[ipc]") {
    TemporaryDirectory directory;
    std::string path = directory.path + "/cleanup";
    Fd listener = listen_at(path, 16);
    int answered = 0;
    std::jthread server_thread([&] {
        for (int i = 0; i < 2; ++i) {
            Fd accepted = accept_within(listener.get(), kLong);
            if (!accepted.valid())
                return;
            AttrChannel server(std::move(accepted));
            answered += serve_increments(server);
        }
    });

    {
        auto channel = connect_attr_service(path, kLong);
        REQUIRE(channel.ok());
        auto reply = channel->request(AttrList().add_int("n", 41), kLong);
        REQUIRE(reply.ok());
        CHECK(*reply == AttrList().add_int("n", 42));
    }
    auto one_shot = attr_request(path, AttrList().add_int("n", 1), kLong);
    REQUIRE(one_shot.ok());
    CHECK(*one_shot == AttrList().add_int("n", 2));
    server_thread.join();
    CHECK(answered == 2);
}

TEST_CASE("connecting to a missing service fails at once", "[ipc]") {
    TemporaryDirectory directory;
    auto start = Clock::now();
    auto channel = connect_attr_service(directory.path + "/private/nothing", kLong);
    require_error(channel, ErrorKind::io);
    CHECK_THAT(channel.error().message(), Catch::Contains("private/nothing"));
    CHECK(seconds_since(start) < 2.0);

    auto reply = attr_request(directory.path + "/nothing", AttrList(), kLong);
    require_error(reply, ErrorKind::io);
}

TEST_CASE("a socket path too long for sockaddr_un is refused", "[ipc]") {
    auto channel = connect_attr_service("/tmp/" + std::string(200, 'x'), kLong);
    require_error(channel, ErrorKind::io);
    CHECK_THAT(channel.error().message(), Catch::Contains("too long"));
    require_error(connect_attr_service("", kLong), ErrorKind::io);
}

namespace {

// Fills the listener's queue with connections nobody accepts; returns them.
std::vector<Fd> fill_backlog(const std::string& path) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, path.data(), path.size());
    std::vector<Fd> pending;
    for (int i = 0; i < 100; ++i) {
        Fd socket(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
        REQUIRE(socket.valid());
        if (::connect(socket.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
            REQUIRE(errno == EAGAIN);
            return pending;
        }
        pending.push_back(std::move(socket));
    }
    FAIL("the listen queue never filled");
    return pending;
}

}  // namespace

TEST_CASE("a busy service is retried until the deadline", "[ipc]") {
    TemporaryDirectory directory;
    std::string path = directory.path + "/busy";
    Fd listener = listen_at(path, 0);
    std::vector<Fd> pending = fill_backlog(path);

    SECTION("nobody accepts: timeout") {
        auto start = Clock::now();
        auto channel = connect_attr_service(path, 200ms);
        require_error(channel, ErrorKind::timeout);
        CHECK(seconds_since(start) >= 0.19);
        CHECK(seconds_since(start) < 2.0);
    }
    SECTION("the service catches up: connected") {
        std::jthread acceptor([&] {
            std::this_thread::sleep_for(100ms);
            Fd accepted = accept_within(listener.get(), kLong);  // frees one place
        });
        auto channel = connect_attr_service(path, kLong);
        acceptor.join();
        REQUIRE(channel.ok());
    }
}
