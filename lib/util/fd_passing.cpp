#include "util/fd_passing.hpp"

#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace postern {

namespace {

// Room for a few descriptors, so that a peer sending more than one is seen and each of
// them closed; beyond that the kernel sets MSG_CTRUNC and closes the rest itself.
constexpr size_t kControlFds = 8;

union SendControl {
    struct cmsghdr align;
    char buffer[CMSG_SPACE(sizeof(int))];
};

union ReceiveControl {
    struct cmsghdr align;
    char buffer[CMSG_SPACE(sizeof(int) * kControlFds)];
};

Error io_error(std::string_view what, int saved_errno) {
    if (saved_errno == EAGAIN || saved_errno == EWOULDBLOCK)
        return Error(ErrorKind::temporary, system_error(what, saved_errno).message());
    return system_error(what, saved_errno);
}

Error protocol_error(std::string_view what) {
    return Error(ErrorKind::protocol, "receive_fd: " + std::string(what));
}

// Sends what sendmsg left over (a stream socket may take a frame in pieces).
Status send_rest(int socket, const char* data, size_t size) {
    while (size > 0) {
        ssize_t sent = ::send(socket, data, size, MSG_NOSIGNAL);
        if (sent < 0) {
            if (errno == EINTR)
                continue;
            return io_error("send_fd: send", errno);
        }
        data += sent;
        size -= static_cast<size_t>(sent);
    }
    return {};
}

// Takes ownership of every descriptor in the control messages, so none can leak.
std::vector<Fd> collect_descriptors(struct msghdr& message) {
    std::vector<Fd> descriptors;
    for (struct cmsghdr* header = CMSG_FIRSTHDR(&message); header != nullptr;
         header = CMSG_NXTHDR(&message, header)) {
        if (header->cmsg_level != SOL_SOCKET || header->cmsg_type != SCM_RIGHTS)
            continue;
        size_t count = (header->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        const unsigned char* data = CMSG_DATA(header);
        for (size_t i = 0; i < count; ++i) {
            int fd;
            std::memcpy(&fd, data + i * sizeof(int), sizeof fd);
            descriptors.emplace_back(fd);
        }
    }
    return descriptors;
}

Result<int> socket_type(int socket) {
    int type = 0;
    socklen_t length = sizeof type;
    if (::getsockopt(socket, SOL_SOCKET, SO_TYPE, &type, &length) != 0)
        return system_error("receive_fd: getsockopt SO_TYPE", errno);
    return type;
}

// Reads exactly `size` bytes of a frame's payload from a stream socket.
Status receive_rest(int socket, char* data, size_t size) {
    while (size > 0) {
        ssize_t got = ::recv(socket, data, size, 0);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return protocol_error("payload not sent with its descriptor");
            return system_error("receive_fd: recv", errno);
        }
        if (got == 0)
            return protocol_error("connection closed inside a message");
        data += got;
        size -= static_cast<size_t>(got);
    }
    return {};
}

}  // namespace

Status send_fd(int socket, int fd, std::string_view payload) {
    if (payload.size() > kMaxFdPayload)
        return Error(ErrorKind::protocol, "send_fd: payload longer than 255 bytes");
    char frame[1 + kMaxFdPayload];
    frame[0] = static_cast<char>(payload.size());
    if (!payload.empty())
        std::memcpy(frame + 1, payload.data(), payload.size());
    size_t frame_size = 1 + payload.size();

    struct iovec vector = {frame, frame_size};
    SendControl control{};
    struct msghdr message {};
    message.msg_iov = &vector;
    message.msg_iovlen = 1;
    message.msg_control = control.buffer;
    message.msg_controllen = sizeof control.buffer;
    struct cmsghdr* header = CMSG_FIRSTHDR(&message);
    header->cmsg_level = SOL_SOCKET;
    header->cmsg_type = SCM_RIGHTS;
    header->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(header), &fd, sizeof fd);

    ssize_t sent;
    do {
        sent = ::sendmsg(socket, &message, MSG_NOSIGNAL);
    } while (sent < 0 && errno == EINTR);
    if (sent < 0)
        return io_error("send_fd: sendmsg", errno);
    auto done = static_cast<size_t>(sent);
    return send_rest(socket, frame + done, frame_size - done);
}

Result<ReceivedFd> receive_fd(int socket) {
    auto type = socket_type(socket);
    if (!type)
        return type.error();
    bool stream = *type == SOCK_STREAM;

    char frame[1 + kMaxFdPayload];
    // On a stream, read the length byte alone: what follows the frame is not ours.
    struct iovec vector = {frame, stream ? size_t{1} : sizeof frame};
    ReceiveControl control{};
    struct msghdr message {};
    message.msg_iov = &vector;
    message.msg_iovlen = 1;
    message.msg_control = control.buffer;
    message.msg_controllen = sizeof control.buffer;

    ssize_t got;
    do {
        got = ::recvmsg(socket, &message, MSG_CMSG_CLOEXEC);
    } while (got < 0 && errno == EINTR);
    if (got < 0)
        return io_error("receive_fd: recvmsg", errno);
    std::vector<Fd> descriptors = collect_descriptors(message);  // closed on every error
    if (got == 0)
        return Error(ErrorKind::io, "receive_fd: connection closed by peer");
    if (message.msg_flags & MSG_CTRUNC)
        return protocol_error("control message truncated (too many descriptors)");
    if (message.msg_flags & MSG_TRUNC)
        return protocol_error("message longer than a descriptor frame");
    if (descriptors.empty())
        return protocol_error("no descriptor in the message");
    if (descriptors.size() > 1)
        return protocol_error(std::to_string(descriptors.size()) + " descriptors in one message");

    auto payload_size = static_cast<size_t>(static_cast<unsigned char>(frame[0]));
    if (stream) {
        if (auto status = receive_rest(socket, frame + 1, payload_size); !status)
            return status.error();
    } else if (static_cast<size_t>(got) != 1 + payload_size) {
        return protocol_error("frame length does not match its length byte");
    }
    return ReceivedFd{std::move(descriptors.front()), std::string(frame + 1, payload_size)};
}

}  // namespace postern
