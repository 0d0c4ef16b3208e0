#include "ipc/attr_channel.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>

namespace postern {

namespace {

using Clock = std::chrono::steady_clock;
using Deadline = Clock::time_point;
using std::chrono::milliseconds;

// How much one recv() may take in: large enough for a message body in a few calls.
constexpr size_t kReadChunk = 64 * 1024;
// How long to pause before knocking again on a service whose listen queue is full.
constexpr milliseconds kBusyRetry{10};

// A deadline that cannot overflow, even for a caller passing milliseconds::max().
Deadline deadline_after(milliseconds timeout) {
    constexpr milliseconds kLongest = std::chrono::hours(24 * 365);
    return Clock::now() + std::clamp(timeout, milliseconds{0}, kLongest);
}

Error channel_error(ErrorKind kind, std::string text) {
    return Error(kind, "attribute channel: " + std::move(text));
}

// Waits until `fd` is ready for `events`; POLLERR and POLLHUP count as ready, so that the
// next system call reports what happened.
Status wait_ready(int fd, short events, Deadline deadline, const char* what) {
    for (;;) {
        auto left = std::chrono::ceil<milliseconds>(deadline - Clock::now()).count();
        if (left <= 0)
            return channel_error(ErrorKind::timeout, std::string(what) + " timed out");
        struct pollfd descriptor = {fd, events, 0};
        int ready = ::poll(&descriptor, 1, static_cast<int>(std::min<int64_t>(left, INT_MAX)));
        if (ready > 0)
            return {};
        if (ready < 0 && errno != EINTR)
            return system_error("attribute channel: poll", errno);
    }
}

}  // namespace

AttrChannel::AttrChannel(Fd socket, AttrLimits limits)
    : socket_(std::move(socket)), decoder_(limits) {}

Error AttrChannel::fail(Error error) {
    failed_ = error;
    return error;
}

Status AttrChannel::send(const AttrList& message, milliseconds timeout) {
    return send_until(message, deadline_after(timeout));
}

Result<AttrList> AttrChannel::receive(milliseconds timeout) {
    return receive_until(deadline_after(timeout));
}

Result<AttrList> AttrChannel::request(const AttrList& request, milliseconds timeout) {
    Deadline deadline = deadline_after(timeout);
    if (auto sent = send_until(request, deadline); !sent)
        return sent.error();
    return receive_until(deadline);
}

Status AttrChannel::send_until(const AttrList& message, Deadline deadline) {
    if (failed_)
        return *failed_;
    send_buffer_.clear();
    if (auto encoded = append_attr_frame(send_buffer_, message, decoder_.limits()); !encoded)
        return encoded.error();  // nothing was sent: the stream is still in step
    if (auto written = write_pending(deadline); !written)
        return fail(written.error());
    return {};
}

Result<AttrList> AttrChannel::receive_until(Deadline deadline) {
    if (failed_)
        return *failed_;
    for (;;) {
        auto frame = decoder_.next();
        if (!frame)
            return fail(frame.error());
        if (*frame)
            return std::move(**frame);
        if (auto got = read_some(deadline); !got)
            return fail(got.error());
    }
}

Status AttrChannel::write_pending(Deadline deadline) {
    std::string_view rest = send_buffer_;
    while (!rest.empty()) {
        ssize_t sent = ::send(socket_.get(), rest.data(), rest.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (sent >= 0) {
            rest.remove_prefix(static_cast<size_t>(sent));
            continue;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            if (auto ready = wait_ready(socket_.get(), POLLOUT, deadline, "send"); !ready)
                return ready;
            continue;
        }
        if (errno == EPIPE || errno == ECONNRESET) {
            peer_closed_ = true;
            return channel_error(ErrorKind::io, "connection closed by peer");
        }
        return system_error("attribute channel: send", errno);
    }
    return {};
}

// Reads whatever has arrived (at least one byte) into the decoder.
Status AttrChannel::read_some(Deadline deadline) {
    char buffer[kReadChunk];
    for (;;) {
        ssize_t got = ::recv(socket_.get(), buffer, sizeof buffer, MSG_DONTWAIT);
        if (got > 0) {
            decoder_.feed(std::string_view(buffer, static_cast<size_t>(got)));
            return {};
        }
        if (got == 0 || (got < 0 && errno == ECONNRESET))
            return end_of_file();
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            if (auto ready = wait_ready(socket_.get(), POLLIN, deadline, "receive"); !ready)
                return ready;
            continue;
        }
        return system_error("attribute channel: recv", errno);
    }
}

// Between frames the peer is done; inside one it broke off a message.
Error AttrChannel::end_of_file() {
    if (decoder_.idle()) {
        peer_closed_ = true;
        return channel_error(ErrorKind::io, "connection closed by peer");
    }
    return channel_error(ErrorKind::protocol, "connection closed inside a frame (" +
                                                  std::to_string(decoder_.buffered()) +
                                                  " bytes of it received)");
}

// ---- client side ----

namespace {

// Whether connect() got through (true) or found the listen queue full (false).
Result<bool> connect_once(int socket, const sockaddr_un& address, const std::string& path,
                          Deadline deadline) {
    if (::connect(socket, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0)
        return true;
    int saved = errno;
    if (saved == EAGAIN)  // Linux, non-blocking UNIX socket: the listener's backlog is full
        return false;
    if (saved != EINPROGRESS && saved != EINTR)
        return system_error("connect to " + path, saved);
    // The connection completes in the background (other systems, or a signal).
    if (auto ready = wait_ready(socket, POLLOUT, deadline, "connect"); !ready)
        return ready.error();
    int result = 0;
    socklen_t length = sizeof result;
    if (::getsockopt(socket, SOL_SOCKET, SO_ERROR, &result, &length) != 0)
        return system_error("connect to " + path + ": getsockopt", errno);
    if (result == EAGAIN)
        return false;
    if (result != 0)
        return system_error("connect to " + path, result);
    return true;
}

}  // namespace

Result<AttrChannel> connect_attr_service(const std::string& path, milliseconds timeout,
                                         AttrLimits limits) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (path.empty() || path.size() >= sizeof address.sun_path)
        return Error(ErrorKind::io, "connect to " + path + ": " + std::strerror(ENAMETOOLONG));
    std::memcpy(address.sun_path, path.data(), path.size());

    Deadline deadline = deadline_after(timeout);
    for (;;) {
        Fd socket(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
        if (!socket.valid())
            return system_error("socket", errno);
        auto connected = connect_once(socket.get(), address, path, deadline);
        if (!connected)
            return connected.error();
        if (*connected)
            return AttrChannel(std::move(socket), limits);
        auto left = std::chrono::ceil<milliseconds>(deadline - Clock::now());
        if (left <= milliseconds{0})
            return Error(ErrorKind::timeout, "connect to " + path + ": service busy, timed out");
        ::poll(nullptr, 0, static_cast<int>(std::min(left, kBusyRetry).count()));
    }
}

Result<AttrList> attr_request(const std::string& path, const AttrList& request,
                              milliseconds timeout, AttrLimits limits) {
    Deadline deadline = deadline_after(timeout);
    auto channel = connect_attr_service(path, timeout, limits);
    if (!channel)
        return channel.error();
    auto left = std::chrono::ceil<milliseconds>(deadline - Clock::now());
    return channel->request(request, std::max(left, milliseconds{0}));
}

}  // namespace postern
