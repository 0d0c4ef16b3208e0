#include <map>
#include <memory>

#include "server/multi_server.hpp"
#include "server_test_harness.hpp"
#include "util/event_loop.hpp"

using namespace postern;
using namespace postern::server_test;
using master_protocol::kStatusBusy;
using master_protocol::kStatusIdle;

namespace {

// A many-clients echo for the tests: "<line>" comes back as "<clients> <line>".
struct EchoSession {
    MultiClient client;
    Event readable;
};

std::map<int, std::unique_ptr<EchoSession>> sessions;

void echo_readable(int fd, MultiServer& server) {
    auto found = sessions.find(fd);
    if (found == sessions.end())
        return;
    char chunk[1024];
    ssize_t got = ::read(fd, chunk, sizeof chunk);
    if (got < 0 && errno == EAGAIN)
        return;
    std::string text(chunk, got > 0 ? static_cast<size_t>(got) : 0);
    if (got <= 0 || text == "bye\n") {
        sessions.erase(found);  // the skeleton counts the client done
        return;
    }
    std::string reply = std::to_string(server.client_count()) + " " + text;
    (void)write_all(fd, reply);
}

void echo_connect(MultiClient client, MultiServer& server) {
    int fd = client.fd();
    auto session = std::make_unique<EchoSession>();
    session->client = std::move(client);
    session->readable = Event::readable(server.loop(), fd, true,
                                        [fd, &server](EventReady) { echo_readable(fd, server); });
    session->readable.arm();
    sessions[fd] = std::move(session);
}

int run_echo(int argc, char** argv, size_t client_limit) {
    return run_multi_server(argc, argv,
                            MultiServerHooks{.on_connect = echo_connect,
                                             .pre_init = [client_limit](ServerContext& context) {
                                                 context.settings.client_limit = client_limit;
                                                 return Status();
                                             }});
}

struct MultiServerFixture {
    MultiServerFixture(std::vector<std::string> options, size_t client_limit)
        : socket_path(instance.path("listener")) {
        std::vector<std::string> arguments = {"test-multi", "-n", "anvil", "-t", "unix"};
        arguments.insert(arguments.end(), options.begin(), options.end());
        daemon.emplace(
            instance, arguments, listeners_of(unix_listener(socket_path)),
            [client_limit](int argc, char** argv) { return run_echo(argc, argv, client_limit); });
    }
    TestClient connect() { return TestClient(connect_unix(socket_path)); }

    TestInstance instance;
    std::string socket_path;
    std::optional<DaemonProcess> daemon;
};

}  // namespace

TEST_CASE("multi server: many clients at once, idle while it accepts", "[server]") {
    MultiServerFixture fixture({}, 0);
    DaemonProcess& daemon = *fixture.daemon;
    daemon.expect_status(kStatusIdle);
    TestClient first = fixture.connect();
    TestClient second = fixture.connect();
    CHECK(first.ask("a") == "2 a");
    CHECK(second.ask("b") == "2 b");
    CHECK(first.ask("c") == "2 c");
    REQUIRE(second.leave());
    CHECK(first.ask("d") == "1 d");
    // With no client limit it never reports busy.
    CHECK(daemon.no_status_for(100ms));
}

TEST_CASE("multi server: busy at client_limit, stops accepting, idle below it", "[server]") {
    MultiServerFixture fixture({}, 2);
    DaemonProcess& daemon = *fixture.daemon;
    daemon.expect_status(kStatusIdle);
    TestClient first = fixture.connect();
    CHECK(first.ask("a") == "1 a");
    CHECK(daemon.no_status_for(100ms));
    TestClient second = fixture.connect();
    CHECK(second.ask("b") == "2 b");
    daemon.expect_status(kStatusBusy);
    // Saturated: a third client waits in the listen queue.
    TestClient third = fixture.connect();
    CHECK_FALSE(third.ask("c", 300ms));
    first.fd.reset();
    daemon.expect_status(kStatusIdle);
    CHECK(third.reader.next() == "2 c");
    daemon.expect_status(kStatusBusy);
}

TEST_CASE("multi server: after max_use connections it drains and exits", "[server]") {
    MultiServerFixture fixture({"-o", "max_use=2"}, 0);
    DaemonProcess& daemon = *fixture.daemon;
    daemon.expect_status(kStatusIdle);
    TestClient first = fixture.connect();
    CHECK(first.ask("a") == "1 a");
    TestClient second = fixture.connect();
    CHECK(second.ask("b") == "2 b");
    daemon.expect_status(kStatusBusy);  // no longer available for new clients
    TestClient third = fixture.connect();
    CHECK_FALSE(third.ask("c", 300ms));
    REQUIRE(first.leave());
    CHECK(second.ask("d") == "1 d");
    CHECK_FALSE(daemon.wait_exit(100ms));
    second.fd.reset();
    CHECK(daemon.wait_exit() == 0);
}

TEST_CASE("multi server: max_idle counts only time without clients", "[server]") {
    MultiServerFixture fixture({"-o", "max_idle=1"}, 0);
    DaemonProcess& daemon = *fixture.daemon;
    daemon.expect_status(kStatusIdle);
    TestClient client = fixture.connect();
    CHECK(client.ask("a") == "1 a");
    CHECK_FALSE(daemon.wait_exit(1500ms));
    CHECK(client.ask("b") == "1 b");
    REQUIRE(client.leave());
    CHECK_FALSE(daemon.wait_exit(500ms));
    CHECK(daemon.wait_exit(3000ms) == 0);
}

TEST_CASE("multi server: master closing the status socket: no new clients, then exit", "[server]") {
    MultiServerFixture fixture({}, 0);
    DaemonProcess& daemon = *fixture.daemon;
    daemon.expect_status(kStatusIdle);
    TestClient first = fixture.connect();
    CHECK(first.ask("a") == "1 a");
    daemon.close_status();
    std::this_thread::sleep_for(100ms);
    TestClient late = fixture.connect();
    CHECK_FALSE(late.ask("late", 300ms));
    CHECK(first.ask("b") == "1 b");
    CHECK_FALSE(daemon.wait_exit(100ms));
    first.fd.reset();
    CHECK(daemon.wait_exit() == 0);
}

TEST_CASE("multi server: the daemon's own events share the loop", "[server]") {
    TestInstance instance;
    Pipe report;
    std::vector<std::pair<int, Fd>> placements;
    placements.emplace_back(kReportFd, std::move(report.write_end));
    auto run = [](int argc, char** argv) {
        static Event timer;
        return run_multi_server(
            argc, argv,
            MultiServerHooks{.on_connect = echo_connect, .post_init = [](ServerContext& context) {
                                 if (context.event_loop == nullptr)
                                     return Status(Error(ErrorKind::io, "no loop"));
                                 timer = Event::timer(*context.event_loop, [](EventReady) {
                                     report_line("timer uid=" + std::to_string(::getuid()));
                                 });
                                 timer.arm(50ms);
                                 return Status();
                             }});
    };
    DaemonProcess daemon(instance, {"test-multi", "-u", "-t", "unix"},
                         listeners_of(unix_listener(instance.path("l"))), run,
                         std::move(placements));
    daemon.expect_status(kStatusIdle);
    LineReader lines(report.read_end.get());
    auto line = lines.next();
    REQUIRE(line);
    CHECK(*line != "timer uid=0");
    CHECK_THAT(*line, Catch::StartsWith("timer uid="));
}
