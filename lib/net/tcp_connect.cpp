// TCP connect with a deadline and a bind address (see tcp_connect.hpp).
#include "net/tcp_connect.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>

#include <cerrno>
#include <cstring>

namespace postern {

namespace {

struct SocketAddress {
    sockaddr_storage storage{};
    socklen_t length = 0;
    int family() const { return storage.ss_family; }
};

bool parse_address(const std::string& text, uint16_t port, SocketAddress& out) {
    auto* v4 = reinterpret_cast<sockaddr_in*>(&out.storage);
    if (inet_pton(AF_INET, text.c_str(), &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        out.length = sizeof(sockaddr_in);
        return true;
    }
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&out.storage);
    if (inet_pton(AF_INET6, text.c_str(), &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        out.length = sizeof(sockaddr_in6);
        return true;
    }
    return false;
}

std::string endpoint_name(const TcpEndpoint& endpoint) {
    return endpoint.address + "[" + endpoint.address + "]:" + std::to_string(endpoint.port);
}

Error connect_error(const TcpEndpoint& endpoint, int error) {
    return Error(error == ETIMEDOUT ? ErrorKind::timeout : ErrorKind::io,
                 "connect to " + endpoint_name(endpoint) + ": " + std::strerror(error));
}

// Waits for a non-blocking connect() to finish; the socket's own error is the result.
Status finish_connect(int socket, const TcpEndpoint& endpoint, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0)
            return connect_error(endpoint, ETIMEDOUT);
        pollfd entry{socket, POLLOUT, 0};
        int ready = ::poll(&entry, 1, static_cast<int>(left.count()));
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready < 0)
            return connect_error(endpoint, errno);
        if (ready == 0)
            continue;
        int error = 0;
        socklen_t length = sizeof error;
        if (getsockopt(socket, SOL_SOCKET, SO_ERROR, &error, &length) != 0)
            return connect_error(endpoint, errno);
        if (error != 0)
            return connect_error(endpoint, error);
        return Status::success();
    }
}

std::string address_text(const sockaddr_storage& storage) {
    char text[INET6_ADDRSTRLEN] = {};
    if (storage.ss_family == AF_INET)
        inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage)->sin_addr, text,
                  sizeof text);
    else if (storage.ss_family == AF_INET6)
        inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_addr, text,
                  sizeof text);
    return text;
}

}  // namespace

Result<Fd> tcp_connect(const TcpEndpoint& endpoint, const TcpConnectOptions& options) {
    SocketAddress destination;
    if (!parse_address(endpoint.address, endpoint.port, destination))
        return Error(ErrorKind::config,
                     "connect to " + endpoint.address + ": not a numeric IP address");
    Fd socket(::socket(destination.family(), SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!socket.valid())
        return system_error("socket", errno);
    const std::string& bind_text =
        destination.family() == AF_INET ? options.bind_address : options.bind_address6;
    if (!bind_text.empty()) {
        SocketAddress local;
        if (!parse_address(bind_text, 0, local) || local.family() != destination.family())
            return Error(ErrorKind::config, "invalid bind address \"" + bind_text + "\"");
        if (::bind(socket.get(), reinterpret_cast<const sockaddr*>(&local.storage), local.length) !=
            0)
            return Error(ErrorKind::config, "bind " + bind_text + ": " + std::strerror(errno));
    }
    if (::connect(socket.get(), reinterpret_cast<const sockaddr*>(&destination.storage),
                  destination.length) != 0) {
        if (errno != EINPROGRESS)
            return connect_error(endpoint, errno);
        auto timeout =
            options.timeout.count() > 0 ? options.timeout : std::chrono::milliseconds(75000);
        if (auto done = finish_connect(socket.get(), endpoint, timeout); !done)
            return done.error();
    }
    int flags = fcntl(socket.get(), F_GETFL);
    if (flags >= 0)
        fcntl(socket.get(), F_SETFL, flags & ~O_NONBLOCK);
    return socket;
}

std::string socket_peer_address(int socket) {
    sockaddr_storage storage{};
    socklen_t length = sizeof storage;
    if (getpeername(socket, reinterpret_cast<sockaddr*>(&storage), &length) != 0)
        return {};
    return address_text(storage);
}

std::string socket_local_address(int socket) {
    sockaddr_storage storage{};
    socklen_t length = sizeof storage;
    if (getsockname(socket, reinterpret_cast<sockaddr*>(&storage), &length) != 0)
        return {};
    return address_text(storage);
}

uint16_t socket_peer_port(int socket) {
    sockaddr_storage storage{};
    socklen_t length = sizeof storage;
    if (getpeername(socket, reinterpret_cast<sockaddr*>(&storage), &length) != 0)
        return 0;
    if (storage.ss_family == AF_INET)
        return ntohs(reinterpret_cast<const sockaddr_in*>(&storage)->sin_port);
    if (storage.ss_family == AF_INET6)
        return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_port);
    return 0;
}

}  // namespace postern
