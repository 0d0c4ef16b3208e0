#include "sasl/dovecot_auth.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "net/tcp_connect.hpp"
#include "util/strings.hpp"

namespace postern {

namespace {

// Dovecot's lines are short (MECH lists, a challenge); this bounds a misbehaving server.
constexpr size_t kMaxLineLength = 64 * 1024;

std::vector<std::string_view> split_fields(std::string_view line) {
    std::vector<std::string_view> fields;
    size_t start = 0;
    while (true) {
        size_t tab = line.find('\t', start);
        fields.push_back(line.substr(start, tab - start));
        if (tab == std::string_view::npos)
            return fields;
        start = tab + 1;
    }
}

bool safe_field(std::string_view text) {
    return text.find_first_of("\t\r\n") == std::string_view::npos;
}

Result<Fd> connect_unix(const std::string& path) {
    sockaddr_un address{};
    if (path.size() >= sizeof(address.sun_path))
        return Error(ErrorKind::config, "SASL: socket path too long: " + path);
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
    Fd socket(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!socket.valid())
        return system_error("socket", errno);
    if (::connect(socket.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)) < 0)
        return Error(ErrorKind::temporary,
                     "SASL: Connect to " + path + " failed: " + std::strerror(errno));
    return socket;
}

}  // namespace

bool DovecotMechanism::has_flag(std::string_view flag) const {
    for (const std::string& own : flags)
        if (equals_ignore_case(own, flag))
            return true;
    return false;
}

std::string filter_sasl_mechanisms(const std::vector<DovecotMechanism>& mechanisms,
                                   std::string_view security_options) {
    bool no_anonymous = false, no_plaintext = false, no_active = false, no_dictionary = false;
    bool mutual_auth = false, forward_secrecy = false;
    for (std::string_view option : split_list(security_options)) {
        std::string word = lowercase(option);
        no_anonymous = no_anonymous || word == "noanonymous";
        no_plaintext = no_plaintext || word == "noplaintext";
        no_active = no_active || word == "noactive";
        no_dictionary = no_dictionary || word == "nodictionary";
        mutual_auth = mutual_auth || word == "mutual_auth";
        forward_secrecy = forward_secrecy || word == "forward_secrecy";
    }
    std::string names;
    for (const DovecotMechanism& mechanism : mechanisms) {
        if (mechanism.has_flag("private") || (no_anonymous && mechanism.has_flag("anonymous")) ||
            (no_plaintext && mechanism.has_flag("plaintext")) ||
            (no_active && mechanism.has_flag("active")) ||
            (no_dictionary && mechanism.has_flag("dictionary")) ||
            (mutual_auth && !mechanism.has_flag("mutual-auth")) ||
            (forward_secrecy && !mechanism.has_flag("forward-secrecy")))
            continue;
        names += (names.empty() ? "" : " ") + mechanism.name;
    }
    return names;
}

Result<DovecotAuthClient> DovecotAuthClient::connect(std::string_view path,
                                                     std::chrono::milliseconds timeout) {
    Result<Fd> socket = Fd();
    if (path.substr(0, 5) == "inet:") {
        std::string_view rest = path.substr(5);
        size_t colon = rest.rfind(':');
        if (colon == std::string_view::npos)
            return Error(ErrorKind::config, "SASL: bad inet address: " + std::string(path));
        TcpEndpoint endpoint;
        endpoint.address = std::string(rest.substr(0, colon));
        if (endpoint.address.size() > 2 && endpoint.address.front() == '[')
            endpoint.address = endpoint.address.substr(1, endpoint.address.size() - 2);
        auto port = parse_integer(rest.substr(colon + 1));
        if (!port || *port <= 0 || *port > 65535)
            return Error(ErrorKind::config, "SASL: bad port: " + std::string(path));
        endpoint.port = static_cast<uint16_t>(*port);
        TcpConnectOptions options;
        options.timeout = timeout;
        socket = tcp_connect(endpoint, options);
    } else {
        socket = connect_unix(std::string(path));
    }
    if (!socket)
        return socket.error();
    DovecotAuthClient client(std::move(*socket), timeout);
    if (auto shaken = client.handshake(); !shaken)
        return shaken.error();
    return client;
}

Status DovecotAuthClient::handshake() {
    if (auto sent = send("VERSION\t1\t2\nCPID\t" + std::to_string(::getpid()) + "\n"); !sent)
        return sent;
    bool version_ok = false;
    while (true) {
        auto line = read_line();
        if (!line)
            return line.error();
        auto fields = split_fields(*line);
        if (fields[0] == "VERSION") {
            if (fields.size() < 2 || fields[1] != "1")
                return Error(ErrorKind::protocol,
                             "SASL: authentication server protocol version mismatch");
            version_ok = true;
        } else if (fields[0] == "MECH" && fields.size() >= 2) {
            DovecotMechanism mechanism{std::string(fields[1]), {}};
            for (size_t i = 2; i < fields.size(); ++i)
                mechanism.flags.emplace_back(fields[i]);
            mechanisms_.push_back(std::move(mechanism));
        } else if (fields[0] == "DONE") {
            break;
        }
    }
    if (!version_ok)
        return Error(ErrorKind::protocol, "SASL: no VERSION from the authentication server");
    return {};
}

Result<DovecotAuthReply> DovecotAuthClient::start(std::string_view mechanism,
                                                  std::optional<std::string_view> initial,
                                                  const DovecotAuthRequest& request) {
    bool known = false;
    for (const DovecotMechanism& offered : mechanisms_)
        known = known || equals_ignore_case(offered.name, mechanism);
    if (!known || !safe_field(mechanism) || (initial && !safe_field(*initial))) {
        DovecotAuthReply reply;
        reply.reason = "Invalid authentication mechanism";
        return reply;
    }
    ++request_id_;
    std::string line = "AUTH\t" + std::to_string(request_id_) + "\t" + std::string(mechanism) +
                       "\tservice=" + request.service + "\tnologin";
    if (!request.local_address.empty())
        line += "\tlip=" + request.local_address;
    if (!request.remote_address.empty())
        line += "\trip=" + request.remote_address;
    if (request.secured)
        line += "\tsecured";
    if (initial)
        line += "\tresp=" + std::string(*initial == "=" ? std::string_view{} : *initial);
    if (auto sent = send(line + "\n"); !sent)
        return sent.error();
    return read_reply();
}

Result<DovecotAuthReply> DovecotAuthClient::respond(std::string_view response) {
    if (!safe_field(response)) {
        DovecotAuthReply reply;
        reply.reason = "Invalid base64 data in continued response";
        return reply;
    }
    if (auto sent =
            send("CONT\t" + std::to_string(request_id_) + "\t" + std::string(response) + "\n");
        !sent)
        return sent.error();
    return read_reply();
}

Result<DovecotAuthReply> DovecotAuthClient::read_reply() {
    while (true) {
        auto line = read_line();
        if (!line)
            return line.error();
        auto fields = split_fields(*line);
        if (fields.size() < 2 || fields[1] != std::to_string(request_id_))
            continue;  // not about this request (a stale one): Dovecot never sends these
        DovecotAuthReply reply;
        if (fields[0] == "CONT") {
            reply.kind = DovecotAuthReply::Kind::cont;
            reply.challenge = fields.size() > 2 ? std::string(fields[2]) : std::string();
            return reply;
        }
        if (fields[0] != "OK" && fields[0] != "FAIL")
            return Error(ErrorKind::protocol,
                         "SASL: unexpected reply from the authentication server");
        reply.kind = fields[0] == "OK" ? DovecotAuthReply::Kind::ok : DovecotAuthReply::Kind::fail;
        for (size_t i = 2; i < fields.size(); ++i) {
            std::string_view field = fields[i];
            if (field.substr(0, 5) == "user=")
                reply.user = std::string(field.substr(5));
            else if (field.substr(0, 7) == "reason=")
                reply.reason = std::string(field.substr(7));
            else if (field == "temp")
                reply.temporary = true;
        }
        return reply;
    }
}

Status DovecotAuthClient::send(const std::string& line) {
    size_t sent = 0;
    while (sent < line.size()) {
        pollfd ready{socket_.get(), POLLOUT, 0};
        int waited = ::poll(&ready, 1, static_cast<int>(timeout_.count()));
        if (waited == 0)
            return Error(ErrorKind::timeout, "SASL: timeout writing to the authentication server");
        ssize_t written =
            ::send(socket_.get(), line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
        if (written < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            return system_error("SASL: write to the authentication server", errno);
        }
        sent += static_cast<size_t>(written);
    }
    return {};
}

Result<std::string> DovecotAuthClient::read_line() {
    while (true) {
        size_t newline = input_.find('\n');
        if (newline != std::string::npos) {
            std::string line = input_.substr(0, newline);
            input_.erase(0, newline + 1);
            return line;
        }
        if (input_.size() > kMaxLineLength)
            return Error(ErrorKind::protocol, "SASL: line too long from the authentication server");
        pollfd ready{socket_.get(), POLLIN, 0};
        int waited = ::poll(&ready, 1, static_cast<int>(timeout_.count()));
        if (waited == 0)
            return Error(ErrorKind::timeout,
                         "SASL: timeout reading from the authentication server");
        char buffer[4096];
        ssize_t got = ::read(socket_.get(), buffer, sizeof(buffer));
        if (got == 0)
            return Error(ErrorKind::io, "SASL: authentication server closed the connection");
        if (got < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            return system_error("SASL: read from the authentication server", errno);
        }
        input_.append(buffer, static_cast<size_t>(got));
    }
}

}  // namespace postern
