#include <sstream>

#include "server/trigger_server.hpp"
#include "server_test_harness.hpp"

using namespace postern;
using namespace postern::server_test;
using master_protocol::kStatusBusy;
using master_protocol::kStatusIdle;

namespace {

// Each request is reported as "trigger <size> <bytes>" on kReportFd.
Status report_trigger(std::string_view request, ServerContext&) {
    report_line("trigger " + std::to_string(request.size()) + " " + std::string(request));
    return {};
}

int run_reporting_trigger(int argc, char** argv) {
    return run_trigger_server(argc, argv, TriggerServerHooks{.trigger = report_trigger});
}

Fd fifo_listener(const std::string& path, int access) {
    REQUIRE(::mkfifo(path.c_str(), 0622) == 0);
    Fd fd(::open(path.c_str(), access | O_NONBLOCK | O_CLOEXEC));
    REQUIRE(fd.valid());
    return fd;
}

void write_fifo(const std::string& path, const std::string& bytes) {
    Fd writer(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
    REQUIRE(writer.valid());
    REQUIRE(write_all(writer.get(), bytes).ok());
}

// A trigger daemon whose requests the test reads from `reports`.
struct TriggerFixture {
    TriggerFixture(const std::string& type, std::vector<std::string> options,
                   DaemonProcess::Run run = run_reporting_trigger, int fifo_access = O_RDWR)
        : listener_path(instance.path("trigger")), reports(report.read_end.get()) {
        Fd listener = type == "fifo" ? fifo_listener(listener_path, fifo_access)
                                     : unix_listener(listener_path);
        std::vector<std::string> arguments = {"test-trigger", "-n", "pickup", "-t", type};
        arguments.insert(arguments.end(), options.begin(), options.end());
        std::vector<std::pair<int, Fd>> placements;
        placements.emplace_back(kReportFd, std::move(report.write_end));
        daemon.emplace(instance, arguments, listeners_of(std::move(listener)), run,
                       std::move(placements));
    }

    TestInstance instance;
    std::string listener_path;
    Pipe report;
    LineReader reports;
    std::optional<DaemonProcess> daemon;
};

}  // namespace

TEST_CASE("trigger server: fifo bytes reach trigger(), busy and idle around each", "[server]") {
    TriggerFixture fixture("fifo", {});
    DaemonProcess& daemon = *fixture.daemon;
    daemon.expect_status(kStatusIdle);
    write_fifo(fixture.listener_path, std::string(1, master_protocol::kWakeupRequest));
    CHECK(fixture.reports.next() == "trigger 1 W");
    daemon.expect_status(kStatusBusy);
    daemon.expect_status(kStatusIdle);
    // The writer went away; the fifo must not report end-of-file to the daemon.
    write_fifo(fixture.listener_path, "AB");
    CHECK(fixture.reports.next() == "trigger 2 AB");
    daemon.expect_status(kStatusBusy);
    daemon.expect_status(kStatusIdle);
    CHECK_FALSE(daemon.wait_exit(50ms));
}

TEST_CASE("trigger server: a read-only fifo descriptor is reopened read-write", "[server]") {
    TriggerFixture fixture("fifo", {}, run_reporting_trigger, O_RDONLY);
    DaemonProcess& daemon = *fixture.daemon;
    daemon.expect_status(kStatusIdle);
    for (const char* request : {"A", "B", "C"}) {
        write_fifo(fixture.listener_path, request);
        CHECK(fixture.reports.next() == std::string("trigger 1 ") + request);
    }
    // A process spinning on end-of-file would have used far more than this.
    std::this_thread::sleep_for(300ms);
    auto stat = read_file("/proc/" + std::to_string(daemon.pid()) + "/stat");
    REQUIRE(stat.ok());
    std::istringstream fields(stat->substr(stat->rfind(')') + 2));
    std::string field;
    long cpu_ticks = 0;
    for (int i = 3; i <= 15 && fields >> field; ++i)
        if (i == 14 || i == 15)
            cpu_ticks += std::stol(field);
    CHECK(cpu_ticks < 20);
}

TEST_CASE("trigger server: each unix connection is one request, then closed", "[server]") {
    TriggerFixture fixture("unix", {});
    DaemonProcess& daemon = *fixture.daemon;
    daemon.expect_status(kStatusIdle);
    TestClient client(connect_unix(fixture.listener_path));
    REQUIRE(write_all(client.fd.get(), "F").ok());
    CHECK(fixture.reports.next() == "trigger 1 F");
    CHECK(client.closed_by_peer());
    daemon.expect_status(kStatusBusy);
    daemon.expect_status(kStatusIdle);
}

TEST_CASE("trigger server: a unix request is cut at kTriggerRequestLimit bytes", "[server]") {
    TriggerFixture fixture("unix", {});
    fixture.daemon->expect_status(kStatusIdle);
    TestClient client(connect_unix(fixture.listener_path));
    REQUIRE(write_all(client.fd.get(), std::string(3000, 'x')).ok());
    auto line = fixture.reports.next();
    REQUIRE(line);
    CHECK(line->substr(0, 13) == "trigger " + std::to_string(kTriggerRequestLimit) + " ");
    CHECK(client.closed_by_peer());
}

TEST_CASE("trigger server: a silent unix client is dropped after trigger_timeout", "[server]") {
    TriggerFixture fixture("unix", {"-o", "trigger_timeout=1"});
    fixture.daemon->expect_status(kStatusIdle);
    TestClient silent(connect_unix(fixture.listener_path));
    CHECK_FALSE(silent.closed_by_peer(500ms));
    CHECK(silent.closed_by_peer(2000ms));
    // Meanwhile and after, other requests go through.
    TestClient next(connect_unix(fixture.listener_path));
    REQUIRE(write_all(next.fd.get(), "W").ok());
    CHECK(fixture.reports.next() == "trigger 1 W");
}

TEST_CASE("trigger server: exits after max_use requests", "[server]") {
    TriggerFixture fixture("fifo", {"-o", "max_use=2"});
    DaemonProcess& daemon = *fixture.daemon;
    daemon.expect_status(kStatusIdle);
    write_fifo(fixture.listener_path, "1");
    CHECK(fixture.reports.next() == "trigger 1 1");
    CHECK_FALSE(daemon.wait_exit(100ms));
    write_fifo(fixture.listener_path, "2");
    CHECK(fixture.reports.next() == "trigger 1 2");
    CHECK(daemon.wait_exit() == 0);
}

TEST_CASE("trigger server: exits after max_idle seconds without a request", "[server]") {
    TriggerFixture fixture("fifo", {"-o", "max_idle=1"});
    DaemonProcess& daemon = *fixture.daemon;
    daemon.expect_status(kStatusIdle);
    std::this_thread::sleep_for(600ms);
    write_fifo(fixture.listener_path, "W");
    CHECK(fixture.reports.next() == "trigger 1 W");
    // The request restarted the idle time.
    CHECK_FALSE(daemon.wait_exit(600ms));
    CHECK(daemon.wait_exit(3000ms) == 0);
}

TEST_CASE("trigger server: master closing the status socket ends it", "[server]") {
    TriggerFixture fixture("unix", {});
    DaemonProcess& daemon = *fixture.daemon;
    daemon.expect_status(kStatusIdle);
    daemon.close_status();
    CHECK(daemon.wait_exit() == 0);
}

TEST_CASE("trigger server: the periodic callback runs between requests", "[server]") {
    auto run = [](int argc, char** argv) {
        return run_trigger_server(
            argc, argv,
            TriggerServerHooks{.trigger = report_trigger,
                               .period = 100ms,
                               .periodic = [](ServerContext&) { report_line("tick"); }});
    };
    TriggerFixture fixture("fifo", {}, run);
    fixture.daemon->expect_status(kStatusIdle);
    CHECK(fixture.reports.next(1000ms) == "tick");
    CHECK(fixture.reports.next(1000ms) == "tick");
    write_fifo(fixture.listener_path, "W");
    std::string line;
    while (auto next = fixture.reports.next(1000ms)) {
        line = *next;
        if (line != "tick")
            break;
    }
    CHECK(line == "trigger 1 W");
}

TEST_CASE("trigger server: -S takes one request from standard input", "[server]") {
    TestInstance instance;
    Pipe input, report;
    REQUIRE(write_all(input.write_end.get(), "Wx").ok());
    std::vector<std::pair<int, Fd>> placements;
    placements.emplace_back(STDIN_FILENO, std::move(input.read_end));
    placements.emplace_back(kReportFd, std::move(report.write_end));
    DaemonProcess daemon(instance, {"test-trigger", "-S"}, {}, run_reporting_trigger,
                         std::move(placements));
    LineReader reports(report.read_end.get());
    CHECK(reports.next() == "trigger 2 Wx");
    CHECK(daemon.wait_exit() == 0);
}

TEST_CASE("trigger server: supports only fifo and unix", "[server]") {
    TestInstance instance;
    DaemonProcess daemon(instance, {"test-trigger", "-t", "inet"},
                         listeners_of(unix_listener(instance.path("l"))), run_reporting_trigger);
    CHECK(daemon.wait_exit() == 1);
    CHECK_THAT(*read_file(instance.path("stderr")) + instance.log(),
               Catch::Contains("fatal: unsupported transport type: inet"));
}
