#include <arpa/inet.h>
#include <netinet/in.h>
#include <pwd.h>

#include "maps/map.hpp"
#include "server/single_server.hpp"
#include "server_test_harness.hpp"
#include "util/fd_passing.hpp"

using namespace postern;
using namespace postern::server_test;
using master_protocol::kStatusBusy;
using master_protocol::kStatusIdle;

namespace {

uid_t uid_at_pre_init = 12345;
// Set by a test before the daemon forks: a table pre_init opens, as a daemon opens its maps.
std::string table_to_open;
std::unique_ptr<Map> opened_table;

// A line-echoing serve() for the tests; a few lines are commands.
Status test_serve(ClientConnection& client, ServerContext& context) {
    LineReader reader(client.input_fd());
    while (auto line = reader.next(60000ms)) {
        std::string reply = *line;
        if (*line == "quit")
            return {};
        if (*line == "fail")
            return Error(ErrorKind::protocol, "client said fail");
        if (*line == "whoami")
            reply = "uid=" + std::to_string(::getuid()) + " gid=" + std::to_string(::getgid()) +
                    " pre_init_uid=" + std::to_string(uid_at_pre_init) +
                    " service=" + context.service_name();
        if (line->rfind("exists ", 0) == 0)
            reply = ::access(line->substr(7).c_str(), F_OK) == 0 ? "yes" : "no";
        if (line->rfind("sleep ", 0) == 0) {
            ::sleep(static_cast<unsigned>(std::stoi(line->substr(6))));
            reply = "slept";
        }
        if (*line == "blocking")
            reply = (::fcntl(client.input_fd(), F_GETFL) & O_NONBLOCK) == 0 ? "yes" : "no";
        if (*line == "payload")
            reply = "payload=" + client.payload + " listener=" + std::to_string(client.listener);
        if (!write_all(client.output_fd, reply + "\n").ok())
            break;
    }
    return {};
}

int run_test_server(int argc, char** argv) {
    return run_single_server(
        argc, argv, SingleServerHooks{.serve = test_serve, .pre_init = [](ServerContext&) {
                                          uid_at_pre_init = ::getuid();
                                          if (!table_to_open.empty())
                                              opened_table =
                                                  std::move(open_map(table_to_open).value());
                                          return Status();
                                      }});
}

struct SingleServerFixture {
    explicit SingleServerFixture(std::vector<std::string> options, const std::string& main_cf = "")
        : instance(main_cf), socket_path(instance.path("listener")) {
        std::vector<std::string> arguments = {"test-single", "-n", "echo", "-t", "unix"};
        arguments.insert(arguments.end(), options.begin(), options.end());
        daemon.emplace(instance, arguments, listeners_of(unix_listener(socket_path)),
                       run_test_server);
    }
    TestClient connect() { return TestClient(connect_unix(socket_path)); }

    TestInstance instance;
    std::string socket_path;
    std::optional<DaemonProcess> daemon;
};

}  // namespace

TEST_CASE("single server: idle at start, busy and idle around each client", "[server]") {
    SingleServerFixture fixture({});
    DaemonProcess& daemon = *fixture.daemon;
    daemon.expect_status(kStatusIdle);
    for (int round = 0; round < 2; ++round) {
        TestClient client = fixture.connect();
        CHECK(client.ask("hello") == "hello");
        daemon.expect_status(kStatusBusy);
        CHECK(client.ask("whoami") == "uid=0 gid=0 pre_init_uid=0 service=echo");
        CHECK(daemon.no_status_for(100ms));
        client.fd.reset();
        daemon.expect_status(kStatusIdle);
    }
    CHECK_FALSE(daemon.wait_exit(100ms));
}

TEST_CASE("single server: exits after max_use clients", "[server]") {
    SingleServerFixture fixture({"-o", "max_use=2"});
    DaemonProcess& daemon = *fixture.daemon;
    daemon.expect_status(kStatusIdle);
    {
        TestClient first = fixture.connect();
        CHECK(first.ask("one") == "one");
    }
    daemon.expect_status(kStatusBusy);
    daemon.expect_status(kStatusIdle);
    {
        TestClient second = fixture.connect();
        CHECK(second.ask("two") == "two");
        CHECK_FALSE(daemon.wait_exit(100ms));
    }
    daemon.expect_status(kStatusBusy);
    CHECK(daemon.wait_exit() == 0);
    // No idle report from a process that is about to exit.
    CHECK_FALSE(daemon.next_status(100ms));
}

TEST_CASE("single server: a table rebuilt on disk ends the process after its client", "[server]") {
    TestInstance scratch;
    std::string table = scratch.path("access");
    REQUIRE(replace_file_atomically(table, "one 1\n").ok());
    table_to_open = "texthash:" + table;
    SingleServerFixture fixture({});
    table_to_open.clear();
    DaemonProcess& daemon = *fixture.daemon;
    daemon.expect_status(kStatusIdle);
    {
        TestClient first = fixture.connect();
        CHECK(first.ask("one") == "one");
    }
    daemon.expect_status(kStatusBusy);
    daemon.expect_status(kStatusIdle);
    {
        TestClient second = fixture.connect();
        CHECK(second.ask("two") == "two");
        REQUIRE(replace_file_atomically(table, "one 1\ntwo 2\n").ok());
        CHECK_FALSE(daemon.wait_exit(100ms));
    }
    CHECK(daemon.wait_exit() == 0);
    CHECK_THAT(fixture.instance.log(),
               Catch::Contains("table texthash:" + table + " has changed -- restarting"));
}

TEST_CASE("single server: exits after max_idle seconds without a client", "[server]") {
    SingleServerFixture fixture({"-v", "-o", "max_idle=1"});
    DaemonProcess& daemon = *fixture.daemon;
    daemon.expect_status(kStatusIdle);
    auto started = std::chrono::steady_clock::now();
    CHECK_FALSE(daemon.wait_exit(700ms));
    CHECK(daemon.wait_exit(3000ms) == 0);
    CHECK(std::chrono::steady_clock::now() - started >= 900ms);
    CHECK_THAT(fixture.instance.log(), Catch::Contains("idle timeout -- exiting"));
}

TEST_CASE("single server: master closing the status socket ends it after the client", "[server]") {
    SingleServerFixture fixture({});
    DaemonProcess& daemon = *fixture.daemon;
    daemon.expect_status(kStatusIdle);
    TestClient client = fixture.connect();
    CHECK(client.ask("before") == "before");
    daemon.expect_status(kStatusBusy);
    daemon.close_status();
    // The client being served is finished first.
    CHECK(client.ask("after") == "after");
    CHECK_FALSE(daemon.wait_exit(300ms));
    client.fd.reset();
    CHECK(daemon.wait_exit() == 0);
}

TEST_CASE("single server: master closing the status socket ends an idle process", "[server]") {
    SingleServerFixture fixture({});
    DaemonProcess& daemon = *fixture.daemon;
    daemon.expect_status(kStatusIdle);
    daemon.close_status();
    CHECK(daemon.wait_exit() == 0);
}

TEST_CASE("single server: SIGTERM stops it at once, even with a client", "[server]") {
    SingleServerFixture fixture({});
    DaemonProcess& daemon = *fixture.daemon;
    daemon.expect_status(kStatusIdle);
    TestClient client = fixture.connect();
    CHECK(client.ask("hello") == "hello");
    REQUIRE(::kill(daemon.pid(), SIGTERM) == 0);
    CHECK(daemon.wait_exit() == 0);
}

TEST_CASE("single server: a serve() error is a warning and the next client is served", "[server]") {
    SingleServerFixture fixture({});
    DaemonProcess& daemon = *fixture.daemon;
    daemon.expect_status(kStatusIdle);
    {
        TestClient client = fixture.connect();
        REQUIRE(write_all(client.fd.get(), "fail\n").ok());
        CHECK(client.closed_by_peer());
    }
    TestClient next = fixture.connect();
    CHECK(next.ask("still here") == "still here");
    CHECK_THAT(fixture.instance.log(),
               Catch::Contains("postfix/test-single[" + std::to_string(daemon.pid()) +
                               "]: warning: client said fail"));
}

TEST_CASE("single server: the daemon_timeout watchdog ends a stuck client", "[server]") {
    SingleServerFixture fixture({"-o", "daemon_timeout=1"});
    DaemonProcess& daemon = *fixture.daemon;
    daemon.expect_status(kStatusIdle);
    TestClient client = fixture.connect();
    REQUIRE(write_all(client.fd.get(), "sleep 30\n").ok());
    CHECK(daemon.wait_exit(4000ms) == 1);
    CHECK_THAT(fixture.instance.log(), Catch::Contains("fatal: watchdog timeout"));
}

TEST_CASE("single server: serves every listening descriptor (-s)", "[server]") {
    TestInstance instance;
    std::vector<Fd> listeners;
    listeners.push_back(unix_listener(instance.path("first")));
    listeners.push_back(unix_listener(instance.path("second")));
    DaemonProcess daemon(instance, {"test-single", "-t", "unix", "-s", "2"}, std::move(listeners),
                         run_test_server);
    daemon.expect_status(kStatusIdle);
    TestClient second(connect_unix(instance.path("second")));
    CHECK(second.ask("payload") == "payload= listener=1");
    second.fd.reset();
    TestClient first(connect_unix(instance.path("first")));
    CHECK(first.ask("payload") == "payload= listener=0");
}

TEST_CASE("single server: pass receives a client's descriptor and its payload", "[server]") {
    TestInstance instance;
    std::string path = instance.path("pass");
    DaemonProcess daemon(instance, {"test-single", "-n", "smtpd", "-t", "pass"},
                         listeners_of(unix_listener(path)), run_test_server);
    daemon.expect_status(kStatusIdle);
    SocketPair client;  // `first` plays the remote SMTP client; `second` is passed on
    {
        Fd sender = connect_unix(path);
        REQUIRE(send_fd(sender.get(), client.second.get(), "postscreen-ok").ok());
        // The skeleton closes the sender's connection once it has the descriptor.
        CHECK(TestClient(std::move(sender)).closed_by_peer());
    }
    client.second.reset();
    daemon.expect_status(kStatusBusy);
    TestClient remote(std::move(client.first));
    CHECK(remote.ask("payload") == "payload=postscreen-ok listener=0");
    CHECK(remote.ask("hello") == "hello");
    remote.fd.reset();
    daemon.expect_status(kStatusIdle);
}

TEST_CASE("single server: -S serves standard input and output without master", "[server]") {
    TestInstance instance;
    Pipe input, output;
    std::vector<std::pair<int, Fd>> placements;
    placements.emplace_back(STDIN_FILENO, std::move(input.read_end));
    placements.emplace_back(STDOUT_FILENO, std::move(output.write_end));
    DaemonProcess daemon(instance, {"test-single", "-S", "-n", "by-hand"}, {}, run_test_server,
                         std::move(placements));
    REQUIRE(write_all(input.write_end.get(), "one\nwhoami\nquit\nignored\n").ok());
    LineReader replies(output.read_end.get());
    CHECK(replies.next() == "one");
    CHECK(replies.next() == "uid=0 gid=0 pre_init_uid=0 service=by-hand");
    CHECK(daemon.wait_exit() == 0);
    CHECK_FALSE(daemon.next_status(50ms));
}

TEST_CASE("single server: -u drops to mail_owner after pre_init, before any client", "[server]") {
    SingleServerFixture fixture({"-u"});
    DaemonProcess& daemon = *fixture.daemon;
    daemon.expect_status(kStatusIdle);
    struct passwd* owner = ::getpwnam("postfix");
    REQUIRE(owner != nullptr);
    TestClient client = fixture.connect();
    CHECK(client.ask("whoami") == "uid=" + std::to_string(owner->pw_uid) +
                                      " gid=" + std::to_string(owner->pw_gid) +
                                      " pre_init_uid=0 service=echo");
}

TEST_CASE("single server: -c chroots to queue_directory", "[server]") {
    SingleServerFixture fixture({"-c"});
    REQUIRE(write_all(Fd(::open((fixture.instance.queue_directory + "/marker").c_str(),
                                O_WRONLY | O_CREAT, 0644))
                          .get(),
                      "x")
                .ok());
    DaemonProcess& daemon = *fixture.daemon;
    daemon.expect_status(kStatusIdle);
    TestClient client = fixture.connect();
    CHECK(client.ask("exists /marker") == "yes");
    CHECK(client.ask("exists " + fixture.instance.directory + "/main.cf") == "no");
}

TEST_CASE("single server: without -c it still works in queue_directory", "[server]") {
    SingleServerFixture fixture({});
    REQUIRE(write_all(Fd(::open((fixture.instance.queue_directory + "/marker").c_str(),
                                O_WRONLY | O_CREAT, 0644))
                          .get(),
                      "x")
                .ok());
    fixture.daemon->expect_status(kStatusIdle);
    TestClient client = fixture.connect();
    CHECK(client.ask("exists marker") == "yes");
    CHECK(client.ask("exists /marker") == "no");
}

TEST_CASE("single server: start-up errors are fatal, with a clear message", "[server]") {
    auto [options, message] = GENERATE(table<std::vector<std::string>, std::string>({
        {{"test-single", "-x"}, "fatal: invalid option: -x"},
        {{"test-single", "-n", "echo"}, "fatal: no transport type specified"},
        {{"test-single", "-t", "fifo"}, "fatal: unsupported transport type: fifo"},
        {{"test-single", "-t", "unix", "-o", "max_use=0"},
         "fatal: invalid max_use parameter value 0 < 1"},
        {{"test-single", "-t", "unix", "-o", "mail_owner=root"},
         "parameter mail_owner: user root has privileged user ID"},
        {{"test-single", "-t", "unix", "-o", "mail_owner=no-such-user-here"},
         "parameter mail_owner: unknown user name value: no-such-user-here"},
        {{"test-single", "-t", "unix", "-o", "setgid_group=postfix"},
         "parameters mail_owner and setgid_group: user postfix and group postfix have the "
         "same group ID"},
        {{"test-single", "-t", "unix", "-s", "3"},
         "fatal: descriptor 7 (listening socket) is not open"},
        {{"test-single", "-t", "unix", "-o", "queue_directory=/nonexistent/queue"},
         "fatal: chdir(\"/nonexistent/queue\"): No such file or directory"},
    }));
    TestInstance instance;
    DaemonProcess daemon(instance, options, listeners_of(unix_listener(instance.path("l"))),
                         run_test_server);
    CHECK(daemon.wait_exit() == 1);
    auto errors = read_file(instance.path("stderr"));
    CHECK_THAT(instance.log() + (errors ? *errors : std::string()), Catch::Contains(message));
    CHECK_FALSE(daemon.next_status(50ms));
}

TEST_CASE("single server: a daemon that needs maxproc 1 refuses to run without -l", "[server]") {
    TestInstance instance;
    auto solitary = [](int argc, char** argv) {
        return run_single_server(argc, argv,
                                 SingleServerHooks{.serve = test_serve, .solitary = true});
    };
    DaemonProcess refused(instance, {"test-single", "-n", "qmgr", "-t", "unix"},
                          listeners_of(unix_listener(instance.path("a"))), solitary);
    CHECK(refused.wait_exit() == 1);
    CHECK_THAT(*read_file(instance.path("stderr")),
               Catch::Contains("fatal: service qmgr requires a process limit of 1"));
    DaemonProcess accepted(instance, {"test-single", "-l", "-n", "qmgr", "-t", "unix"},
                           listeners_of(unix_listener(instance.path("b"))), solitary);
    accepted.expect_status(kStatusIdle);
}

TEST_CASE("single server: -o syslog_name names the service in log lines", "[server]") {
    SingleServerFixture fixture({"-o", "syslog_name=postfix/submission"});
    DaemonProcess& daemon = *fixture.daemon;
    daemon.expect_status(kStatusIdle);
    TestClient client = fixture.connect();
    REQUIRE(write_all(client.fd.get(), "fail\n").ok());
    CHECK(client.closed_by_peer());
    CHECK_THAT(fixture.instance.log(),
               Catch::Contains(" postfix/submission/test-single[" + std::to_string(daemon.pid()) +
                               "]: warning: client said fail"));
}

TEST_CASE("single server: inet accepts TCP clients", "[server]") {
    TestInstance instance;
    Fd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    REQUIRE(listener.valid());
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    REQUIRE(::bind(listener.get(), reinterpret_cast<sockaddr*>(&address), length) == 0);
    REQUIRE(::listen(listener.get(), 16) == 0);
    REQUIRE(::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&address), &length) == 0);
    DaemonProcess daemon(instance, {"test-single", "-n", "smtp", "-t", "inet"},
                         listeners_of(std::move(listener)), run_test_server);
    daemon.expect_status(kStatusIdle);
    Fd connection(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    REQUIRE(::connect(connection.get(), reinterpret_cast<sockaddr*>(&address), length) == 0);
    TestClient client(std::move(connection));
    CHECK(client.ask("over tcp") == "over tcp");
    daemon.expect_status(kStatusBusy);
}

TEST_CASE("single server: pass also works on a connected socket, and serves blocking", "[server]") {
    TestInstance instance;
    int fds[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) == 0);
    Fd sender(fds[0]), listener(fds[1]);
    DaemonProcess daemon(instance, {"test-single", "-t", "pass"}, listeners_of(std::move(listener)),
                         run_test_server);
    daemon.expect_status(kStatusIdle);
    for (const char* payload : {"one", "two"}) {
        SocketPair client;
        REQUIRE(::fcntl(client.second.get(), F_SETFL, O_NONBLOCK) == 0);
        REQUIRE(send_fd(sender.get(), client.second.get(), payload).ok());
        client.second.reset();
        TestClient remote(std::move(client.first));
        CHECK(remote.ask("payload") == std::string("payload=") + payload + " listener=0");
        CHECK(remote.ask("blocking") == "yes");
        daemon.expect_status(kStatusBusy);
        remote.fd.reset();
        daemon.expect_status(kStatusIdle);
    }
}
