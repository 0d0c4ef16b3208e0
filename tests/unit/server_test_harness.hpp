// Running a daemon skeleton for real in a forked child, the way master would: a status
// socketpair at kStatusFd, listening sockets from kListenFd on, MAIL_CONFIG naming a
// throw-away instance, and the test playing master (reading status reports, closing the
// status socket) and the clients. Shared by the server_*_test.cpp files.
#pragma once

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <iostream>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "server/master_protocol.hpp"
#include "util/file.hpp"

namespace postern::server_test {

using namespace std::chrono_literals;
using std::chrono::milliseconds;

inline constexpr uint32_t kGeneration = 7;
// Where a child writes what the test should see besides its clients' replies.
inline constexpr int kReportFd = 20;

// The mail_owner and setgid_group accounts every skeleton checks at start-up.
inline void ensure_mail_accounts() {
    if (std::system("getent group postdrop >/dev/null || groupadd --system postdrop") != 0 ||
        std::system("getent passwd postfix >/dev/null || "
                    "useradd --system --no-create-home --shell /usr/sbin/nologin postfix") != 0)
        FAIL("cannot create the postfix account and the postdrop group");
}

// A throw-away instance: main.cf, a queue directory, a maillog file.
struct TestInstance {
    explicit TestInstance(const std::string& extra_main_cf = "") {
        ensure_mail_accounts();
        char pattern[] = "/tmp/postern-server.XXXXXX";
        REQUIRE(::mkdtemp(pattern) != nullptr);
        directory = pattern;
        queue_directory = directory + "/queue";
        maillog = directory + "/maillog";
        REQUIRE(::mkdir(queue_directory.c_str(), 0755) == 0);
        std::string main_cf = "queue_directory = " + queue_directory +
                              "\nmaillog_file = " + maillog + "\nmyhostname = test.example\n" +
                              extra_main_cf;
        REQUIRE(replace_file_atomically(directory + "/main.cf", main_cf).ok());
    }
    ~TestInstance() {
        if (std::getenv("POSTERN_KEEP_TEST_INSTANCE") != nullptr)
            return;
        std::error_code ignored;
        std::filesystem::remove_all(directory, ignored);
    }
    TestInstance(const TestInstance&) = delete;
    TestInstance& operator=(const TestInstance&) = delete;

    std::string log() const {
        auto text = read_file(maillog);
        return text ? *text : std::string();
    }
    std::string path(const std::string& name) const { return directory + "/" + name; }

    std::string directory;
    std::string queue_directory;
    std::string maillog;
};

inline Fd unix_listener(const std::string& path) {
    Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    REQUIRE(fd.valid());
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    REQUIRE(path.size() < sizeof address.sun_path);
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
    ::unlink(path.c_str());
    REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(::listen(fd.get(), 16) == 0);
    return fd;
}

inline Fd connect_unix(const std::string& path) {
    Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    REQUIRE(fd.valid());
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
    REQUIRE(::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    return fd;
}

struct Pipe {
    Pipe() {
        int fds[2];
        REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
        read_end.reset(fds[0]);
        write_end.reset(fds[1]);
    }
    Fd read_end;
    Fd write_end;
};

struct SocketPair {
    SocketPair() {
        int fds[2];
        REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0);
        first.reset(fds[0]);
        second.reset(fds[1]);
    }
    Fd first;
    Fd second;
};

inline bool wait_readable(int fd, milliseconds timeout) {
    pollfd ready{fd, POLLIN, 0};
    return ::poll(&ready, 1, static_cast<int>(timeout.count())) == 1;
}

// Line-oriented reading with a timeout, for clients and report pipes.
class LineReader {
  public:
    explicit LineReader(int fd) : fd_(fd) {}
    // The next line without "\n"; nullopt on timeout or end of input.
    std::optional<std::string> next(milliseconds timeout = 5000ms) {
        auto deadline = std::chrono::steady_clock::now() + timeout;
        for (;;) {
            if (size_t end = buffer_.find('\n'); end != std::string::npos) {
                std::string line = buffer_.substr(0, end);
                buffer_.erase(0, end + 1);
                return line;
            }
            auto left = std::chrono::duration_cast<milliseconds>(deadline -
                                                                 std::chrono::steady_clock::now());
            if (left.count() <= 0 || !wait_readable(fd_, left))
                return std::nullopt;
            char chunk[4096];
            ssize_t got = ::read(fd_, chunk, sizeof chunk);
            if (got <= 0)
                return std::nullopt;
            buffer_.append(chunk, static_cast<size_t>(got));
        }
    }

  private:
    int fd_;
    std::string buffer_;
};

// One client of a daemon under test.
struct TestClient {
    explicit TestClient(Fd connection) : fd(std::move(connection)), reader(fd.get()) {}
    std::optional<std::string> ask(const std::string& line, milliseconds timeout = 5000ms) {
        if (!write_all(fd.get(), line + "\n").ok())
            return std::nullopt;
        return reader.next(timeout);
    }
    // True when the daemon closed the connection within `timeout` (end-of-file, or a
    // reset when it closed with input unread).
    bool closed_by_peer(milliseconds timeout = 5000ms) {
        if (!wait_readable(fd.get(), timeout))
            return false;
        char byte;
        return ::read(fd.get(), &byte, 1) <= 0;
    }
    // Says "bye" (which the test daemons answer by closing) and waits until the daemon
    // has closed the connection, so that it has counted the client done.
    bool leave() { return write_all(fd.get(), "bye\n").ok() && closed_by_peer(); }
    Fd fd;
    LineReader reader;
};

// A daemon in a forked child. The child calls `run(argc, argv)` and exits with its value.
class DaemonProcess {
  public:
    using Run = std::function<int(int argc, char** argv)>;

    // `placements`: descriptors the child finds at the given numbers, besides the status
    // socket at kStatusFd; listeners go from kListenFd on, in order.
    DaemonProcess(const TestInstance& instance, std::vector<std::string> arguments,
                  std::vector<Fd> listeners, Run run,
                  std::vector<std::pair<int, Fd>> placements = {}) {
        SocketPair status;
        for (size_t i = 0; i < listeners.size(); ++i)
            placements.emplace_back(master_protocol::kListenFd + static_cast<int>(i),
                                    std::move(listeners[i]));
        placements.emplace_back(master_protocol::kStatusFd, std::move(status.second));
        std::cout.flush();
        std::cerr.flush();
        std::fflush(nullptr);
        pid_ = ::fork();
        REQUIRE(pid_ >= 0);
        if (pid_ == 0) {
            status.first.reset();
            run_child(instance, arguments, placements, run);
        }
        status_ = std::move(status.first);
    }

    ~DaemonProcess() {
        if (pid_ > 0 && !exit_status_) {
            ::kill(pid_, SIGKILL);
            int ignored;
            ::waitpid(pid_, &ignored, 0);
        }
    }
    DaemonProcess(const DaemonProcess&) = delete;
    DaemonProcess& operator=(const DaemonProcess&) = delete;

    pid_t pid() const { return pid_; }

    // The next status report, or nullopt when none came in time (or the child is gone).
    std::optional<master_protocol::StatusReport> next_status(milliseconds timeout = 5000ms) {
        if (!status_.valid() || !wait_readable(status_.get(), timeout))
            return std::nullopt;
        master_protocol::StatusReport report;
        if (::read(status_.get(), &report, sizeof report) != sizeof report)
            return std::nullopt;
        return report;
    }
    // The next report is `available`, from this child and generation.
    void expect_status(int32_t available, milliseconds timeout = 5000ms) {
        auto report = next_status(timeout);
        REQUIRE(report);
        CHECK(report->pid == pid_);
        CHECK(report->generation == kGeneration);
        CHECK(report->available == available);
    }
    // No report arrives within `timeout`.
    bool no_status_for(milliseconds timeout) {
        return !status_.valid() || !wait_readable(status_.get(), timeout);
    }
    // Master goes away: the daemon sees end-of-file on its status socket.
    void close_status() { status_.reset(); }

    // The exit status (128 + signal when killed), or nullopt if still running.
    std::optional<int> wait_exit(milliseconds timeout = 5000ms) {
        auto deadline = std::chrono::steady_clock::now() + timeout;
        while (!exit_status_) {
            int status = 0;
            pid_t done = ::waitpid(pid_, &status, WNOHANG);
            if (done == pid_)
                exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            else if (std::chrono::steady_clock::now() >= deadline)
                break;
            else
                std::this_thread::sleep_for(10ms);
        }
        return exit_status_;
    }

  private:
    [[noreturn]] static void run_child(const TestInstance& instance,
                                       const std::vector<std::string>& arguments,
                                       std::vector<std::pair<int, Fd>>& placements,
                                       const Run& run) {
        // Out of the way first, so that no placement overwrites a descriptor still needed.
        std::vector<std::pair<int, Fd>> high;
        for (auto& [target, fd] : placements) {
            high.emplace_back(target, Fd(::fcntl(fd.get(), F_DUPFD, 100)));
            fd.reset();
        }
        std::vector<bool> placed(1024, false);
        for (auto& [target, fd] : high) {
            if (::dup2(fd.get(), target) != target)
                ::_exit(99);
            placed[static_cast<size_t>(target)] = true;
            fd.reset();
        }
        // As master does: nothing else stays open (a test's own pipe ends included).
        for (int fd = 3; fd < static_cast<int>(placed.size()); ++fd)
            if (!placed[static_cast<size_t>(fd)])
                Fd{fd}.reset();
        Fd error_output(
            ::open((instance.directory + "/stderr").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644));
        ::dup2(error_output.get(), STDERR_FILENO);
        error_output.reset();
        ::setenv("MAIL_CONFIG", instance.directory.c_str(), 1);
        ::setenv(master_protocol::kGenerationVariable, std::to_string(kGeneration).c_str(), 1);
        std::vector<std::string> words = arguments;
        std::vector<char*> argv;
        for (std::string& word : words)
            argv.push_back(word.data());
        argv.push_back(nullptr);
        ::_exit(run(static_cast<int>(words.size()), argv.data()));
    }

    pid_t pid_ = -1;
    Fd status_;
    std::optional<int> exit_status_;
};

inline std::vector<Fd> listeners_of(Fd listener) {
    std::vector<Fd> all;
    all.push_back(std::move(listener));
    return all;
}

// Writes a report line from inside a child (kReportFd must be placed).
inline void report_line(const std::string& line) {
    (void)write_all(kReportFd, line + "\n");
}

}  // namespace postern::server_test
