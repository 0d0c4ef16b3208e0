#include <catch2/catch.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "util/fd_passing.hpp"
#include "util/file.hpp"

using namespace postern;

namespace {

struct SocketPair {
    explicit SocketPair(int type) {
        int fds[2];
        REQUIRE(::socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, fds) == 0);
        sender.reset(fds[0]);
        receiver.reset(fds[1]);
    }
    Fd sender;
    Fd receiver;
};

Fd temporary_file_with(std::string_view content) {
    char pattern[] = "/tmp/postern-fd-test.XXXXXX";
    Fd fd(::mkstemp(pattern));
    REQUIRE(fd.valid());
    ::unlink(pattern);
    REQUIRE(write_all(fd.get(), content).ok());
    REQUIRE(::lseek(fd.get(), 0, SEEK_SET) == 0);
    return fd;
}

std::string read_all(int fd) {
    std::string content;
    char buffer[256];
    ssize_t n;
    while ((n = ::read(fd, buffer, sizeof buffer)) > 0)
        content.append(buffer, static_cast<size_t>(n));
    return content;
}

int open_descriptor_count() {
    DIR* directory = ::opendir("/proc/self/fd");
    REQUIRE(directory != nullptr);
    int count = 0;
    while (::readdir(directory) != nullptr)
        ++count;
    ::closedir(directory);
    return count;
}

// Sends `count` descriptors (copies of stdin's null device) in one message with raw
// sendmsg, and the given frame bytes: what a misbehaving peer could do.
void send_raw(int socket, std::string_view bytes, int count) {
    Fd null_device(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    REQUIRE(null_device.valid());
    std::vector<int> fds(static_cast<size_t>(count), null_device.get());
    std::vector<char> control(CMSG_SPACE(sizeof(int) * fds.size()) + 1);
    struct iovec vector = {const_cast<char*>(bytes.data()), bytes.size()};
    struct msghdr message {};
    message.msg_iov = &vector;
    message.msg_iovlen = 1;
    if (count > 0) {
        message.msg_control = control.data();
        message.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
        struct cmsghdr* header = CMSG_FIRSTHDR(&message);
        header->cmsg_level = SOL_SOCKET;
        header->cmsg_type = SCM_RIGHTS;
        header->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
        std::memcpy(CMSG_DATA(header), fds.data(), sizeof(int) * fds.size());
    }
    REQUIRE(::sendmsg(socket, &message, 0) == static_cast<ssize_t>(bytes.size()));
}

}  // namespace

TEST_CASE("a file descriptor and its payload cross a socket") {
    int type = GENERATE(SOCK_STREAM, SOCK_SEQPACKET, SOCK_DGRAM);
    auto payload = GENERATE(as<std::string>{}, "", "smtpd", std::string(255, 'x'));
    SocketPair pair(type);
    Fd file = temporary_file_with("hello from the sender\n");
    REQUIRE(send_fd(pair.sender.get(), file.get(), payload).ok());
    file.reset();  // the receiver's copy must work on its own

    auto received = receive_fd(pair.receiver.get());
    REQUIRE(received.ok());
    CHECK(received->payload == payload);
    REQUIRE(received->fd.valid());
    CHECK((::fcntl(received->fd.get(), F_GETFD) & FD_CLOEXEC) != 0);
    CHECK(read_all(received->fd.get()) == "hello from the sender\n");
}

TEST_CASE("on a stream, bytes after the frame are left for the next reader") {
    SocketPair pair(SOCK_STREAM);
    Fd file = temporary_file_with("x");
    REQUIRE(send_fd(pair.sender.get(), file.get(), "client").ok());
    REQUIRE(write_all(pair.sender.get(), "attributes follow").ok());
    auto received = receive_fd(pair.receiver.get());
    REQUIRE(received.ok());
    CHECK(received->payload == "client");
    char buffer[64] = {};
    CHECK(::read(pair.receiver.get(), buffer, sizeof buffer) == 17);
    CHECK(std::string(buffer) == "attributes follow");
}

TEST_CASE("receiving a message without a descriptor is a protocol error") {
    int type = GENERATE(SOCK_STREAM, SOCK_SEQPACKET);
    SocketPair pair(type);
    send_raw(pair.sender.get(), std::string_view("\0", 1), 0);
    auto received = receive_fd(pair.receiver.get());
    REQUIRE_FALSE(received.ok());
    CHECK(received.error().kind() == ErrorKind::protocol);
    CHECK_THAT(received.error().message(), Catch::Contains("no descriptor"));
}

TEST_CASE("extra descriptors are closed, never leaked") {
    int type = GENERATE(SOCK_STREAM, SOCK_SEQPACKET);
    int count = GENERATE(2, 8, 20);  // 20 overflows the control buffer: MSG_CTRUNC
    SocketPair pair(type);
    int before = open_descriptor_count();
    send_raw(pair.sender.get(), std::string_view("\0", 1), count);
    auto received = receive_fd(pair.receiver.get());
    REQUIRE_FALSE(received.ok());
    CHECK(received.error().kind() == ErrorKind::protocol);
    CHECK(open_descriptor_count() == before);
}

TEST_CASE("a frame whose length byte lies is a protocol error") {
    SocketPair pair(SOCK_SEQPACKET);
    int before = open_descriptor_count();
    send_raw(pair.sender.get(),
             "\x05"
             "ab",
             1);
    auto received = receive_fd(pair.receiver.get());
    REQUIRE_FALSE(received.ok());
    CHECK(received.error().kind() == ErrorKind::protocol);
    CHECK(open_descriptor_count() == before);
}

TEST_CASE("a stream closed inside a frame is a protocol error") {
    SocketPair pair(SOCK_STREAM);
    int before = open_descriptor_count();
    send_raw(pair.sender.get(),
             "\x05"
             "ab",
             1);
    pair.sender.reset();
    auto received = receive_fd(pair.receiver.get());
    REQUIRE_FALSE(received.ok());
    CHECK(received.error().kind() == ErrorKind::protocol);
    CHECK(open_descriptor_count() == before - 1);  // minus the sender we closed
}

TEST_CASE("the peer closing is reported") {
    SocketPair pair(SOCK_STREAM);
    pair.sender.reset();
    auto received = receive_fd(pair.receiver.get());
    REQUIRE_FALSE(received.ok());
    CHECK(received.error().kind() == ErrorKind::io);
}

TEST_CASE("nothing to receive on a non-blocking socket is temporary") {
    SocketPair pair(SOCK_STREAM);
    REQUIRE(::fcntl(pair.receiver.get(), F_SETFL, O_NONBLOCK) == 0);
    auto received = receive_fd(pair.receiver.get());
    REQUIRE_FALSE(received.ok());
    CHECK(received.error().kind() == ErrorKind::temporary);
}

TEST_CASE("send_fd refuses a payload that does not fit the frame") {
    SocketPair pair(SOCK_STREAM);
    Fd file = temporary_file_with("x");
    Status status = send_fd(pair.sender.get(), file.get(), std::string(256, 'x'));
    REQUIRE_FALSE(status.ok());
    CHECK(status.error().kind() == ErrorKind::protocol);
}

TEST_CASE("send_fd to a closed peer fails without SIGPIPE") {
    SocketPair pair(SOCK_STREAM);
    pair.receiver.reset();
    Fd file = temporary_file_with("x");
    Status status = send_fd(pair.sender.get(), file.get());
    REQUIRE_FALSE(status.ok());
    CHECK(status.error().kind() == ErrorKind::io);
}

namespace {
std::atomic<bool> signal_seen{false};
void note_signal(int) {
    signal_seen = true;
}
}  // namespace

TEST_CASE("receive_fd carries on after a signal interrupts it") {
    struct sigaction action {};
    struct sigaction previous {};
    action.sa_handler = note_signal;  // no SA_RESTART: recvmsg fails with EINTR
    REQUIRE(::sigaction(SIGUSR1, &action, &previous) == 0);
    signal_seen = false;

    SocketPair pair(SOCK_STREAM);
    Fd file = temporary_file_with("after the signal");
    pthread_t receiver_thread = ::pthread_self();
    std::thread sender([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        ::pthread_kill(receiver_thread, SIGUSR1);
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        (void)send_fd(pair.sender.get(), file.get(), "late");
    });
    auto received = receive_fd(pair.receiver.get());
    sender.join();
    ::sigaction(SIGUSR1, &previous, nullptr);
    CHECK(signal_seen);
    REQUIRE(received.ok());
    CHECK(received->payload == "late");
    CHECK(read_all(received->fd.get()) == "after the signal");
}
