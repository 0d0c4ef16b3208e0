#include "master/listeners.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace postern::master {

namespace {

// Enough for bursts; the kernel caps it at net.core.somaxconn.
constexpr int kListenBacklog = 1024;

Result<Fd> open_inet_listener(const InetAddress& address) {
    Fd fd(::socket(address.address.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd.valid())
        return system_error("socket for " + address.text, errno);
    int on = 1;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    // Without this, [::]:25 would also claim 0.0.0.0:25 and the IPv4 bind would fail.
    if (address.address.ss_family == AF_INET6)
        ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
    if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&address.address), address.length) != 0)
        return system_error("bind " + address.text, errno);
    if (::listen(fd.get(), kListenBacklog) != 0)
        return system_error("listen " + address.text, errno);
    return fd;
}

Result<sockaddr_un> unix_address(const std::string& path) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (path.size() >= sizeof address.sun_path)
        return Error(ErrorKind::config, "socket path too long: " + path);
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
    return address;
}

// A socket file left by a previous master is removed; anything else in the way is an error.
Status remove_stale_endpoint(const std::string& path, mode_t expected_type) {
    struct stat status {};
    if (::lstat(path.c_str(), &status) != 0)
        return errno == ENOENT ? Status() : Status(system_error("lstat " + path, errno));
    if ((status.st_mode & S_IFMT) != expected_type)
        return Error(ErrorKind::config, path + ": exists and is not a socket or fifo");
    if (::unlink(path.c_str()) != 0)
        return system_error("unlink " + path, errno);
    return {};
}

Result<Fd> open_unix_listener(const std::string& path, int socket_type) {
    Result<sockaddr_un> address = unix_address(path);
    if (!address)
        return address.error();
    if (Status removed = remove_stale_endpoint(path, S_IFSOCK); !removed)
        return removed.error();
    Fd fd(::socket(AF_UNIX, socket_type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd.valid())
        return system_error("socket for " + path, errno);
    if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&*address), sizeof *address) != 0)
        return system_error("bind " + path, errno);
    if (::chmod(path.c_str(), 0666) != 0)
        return system_error("chmod " + path, errno);
    if (socket_type == SOCK_STREAM && ::listen(fd.get(), kListenBacklog) != 0)
        return system_error("listen " + path, errno);
    return fd;
}

Result<Fd> open_fifo_listener(const std::string& path) {
    if (Status removed = remove_stale_endpoint(path, S_IFIFO); !removed)
        return removed.error();
    if (::mkfifo(path.c_str(), 0622) != 0)
        return system_error("mkfifo " + path, errno);
    if (::chmod(path.c_str(), 0622) != 0)
        return system_error("chmod " + path, errno);
    // Read-write, so the fifo never reports end-of-file when the last writer goes.
    Fd fd(::open(path.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC));
    if (!fd.valid())
        return system_error("open " + path, errno);
    return fd;
}

}  // namespace

Result<std::vector<Fd>> open_listeners(const ServiceDefinition& service) {
    std::vector<Fd> listeners;
    if (service.type == ServiceType::inet) {
        for (const InetAddress& address : service.inet_addresses) {
            Result<Fd> fd = open_inet_listener(address);
            if (!fd)
                return fd.error();
            listeners.push_back(std::move(*fd));
        }
        return listeners;
    }
    Result<Fd> fd = service.type == ServiceType::fifo ? open_fifo_listener(service.socket_path)
                    : service.type == ServiceType::unix_dgram
                        ? open_unix_listener(service.socket_path, SOCK_DGRAM)
                        : open_unix_listener(service.socket_path, SOCK_STREAM);
    if (!fd)
        return fd.error();
    listeners.push_back(std::move(*fd));
    return listeners;
}

}  // namespace postern::master
