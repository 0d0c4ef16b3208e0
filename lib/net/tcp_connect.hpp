// TCP connections with a deadline and an optional local address: the SMTP client's
// smtp_connect_timeout and smtp_bind_address/smtp_bind_address6.
//
// Where it sits: lib/net, beside smtp_stream.hpp. Addresses are numeric (lib/dns resolves
// names first); nothing here looks a name up.
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "util/file.hpp"
#include "util/result.hpp"

namespace postern {

// A numeric address and port: "192.0.2.1" or "2001:db8::1" (no brackets).
struct TcpEndpoint {
    std::string address;
    uint16_t port = 25;
};

struct TcpConnectOptions {
    std::chrono::milliseconds timeout{30000};  // smtp_connect_timeout; 0: the kernel's own
    // smtp_bind_address (IPv4 destinations) and smtp_bind_address6 (IPv6): numeric, or
    // empty for the kernel's choice. Only the one of the destination's family is used.
    std::string bind_address;
    std::string bind_address6;
};

// Connects; the result is blocking-mode and close-on-exec (SmtpStream makes it
// non-blocking). Errors, with Postfix's wording for the message:
//   ErrorKind::timeout  "connect to 192.0.2.1[192.0.2.1]:25: Connection timed out"
//   ErrorKind::io       "connect to ...: Connection refused" (and other errno texts)
//   ErrorKind::config   a bind address that is not numeric, or bind() failed
// The message names the endpoint as "address[address]:port"; a caller that knows the host
// name replaces that prefix when it logs.
Result<Fd> tcp_connect(const TcpEndpoint& endpoint, const TcpConnectOptions& options);

// "192.0.2.1" / "2001:db8::1" from a connected socket's local or peer side; "" on error.
std::string socket_peer_address(int socket);
std::string socket_local_address(int socket);
uint16_t socket_peer_port(int socket);

}  // namespace postern
