// Trigger clients; see trigger.hpp.
#include "ipc/trigger.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "util/file.hpp"

namespace postern {

namespace {

Status send_to_socket(const std::string& path, int socket_type, std::string_view request) {
    sockaddr_un address{};
    if (path.size() >= sizeof address.sun_path)
        return Error(ErrorKind::io, "connect to " + path + ": path name too long");
    Fd fd(::socket(AF_UNIX, socket_type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd.valid())
        return system_error("socket", errno);
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0)
        return system_error("connect to " + path, errno);
    ssize_t sent = ::send(fd.get(), request.data(), request.size(), MSG_NOSIGNAL);
    if (sent != static_cast<ssize_t>(request.size()))
        return system_error("write to " + path, sent < 0 ? errno : EAGAIN);
    return {};
}

Status send_to_fifo(const std::string& path, std::string_view request) {
    Fd fd(::open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
    if (!fd.valid())
        return system_error("open " + path, errno);
    ssize_t written = ::write(fd.get(), request.data(), request.size());
    if (written != static_cast<ssize_t>(request.size()))
        return system_error("write to " + path, written < 0 ? errno : EAGAIN);
    return {};
}

}  // namespace

Status send_trigger(const std::string& path, TriggerEndpoint endpoint, std::string_view request) {
    switch (endpoint) {
        case TriggerEndpoint::fifo:
            return send_to_fifo(path, request);
        case TriggerEndpoint::stream_socket:
            return send_to_socket(path, SOCK_STREAM, request);
        case TriggerEndpoint::datagram_socket:
            return send_to_socket(path, SOCK_DGRAM, request);
    }
    return Error(ErrorKind::io, "send_trigger: unknown endpoint");
}

Status send_trigger_to_service(const std::string& path, std::string_view request) {
    struct stat status {};
    bool fifo = ::stat(path.c_str(), &status) == 0 && S_ISFIFO(status.st_mode);
    return send_trigger(path, fifo ? TriggerEndpoint::fifo : TriggerEndpoint::stream_socket,
                        request);
}

}  // namespace postern
