// test-multi: a many-clients daemon (lib/server/multi_server.hpp) for the system tests of
// master and the skeletons. Not a mail component; nothing here is installed.
//
//   master.cf:  multi  unix  -  n  n  -  2  test-multi [client_limit]
//
// Every line a client sends ("\n"-terminated) comes back as "<pid> <line>\n"; a client is
// done when it closes its end. client_limit (default 0: never saturated) is the number of
// simultaneous clients at which the process stops accepting and reports busy, so that
// master starts another process of the service. Input is test input, but still bounded:
// a line longer than 4096 bytes, or a client that does not read its replies, is dropped.
#include <unistd.h>

#include <cerrno>
#include <map>
#include <memory>
#include <string>

#include "server/multi_server.hpp"
#include "util/file.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

using namespace postern;

namespace {

constexpr size_t kLineLimit = 4096;

struct Session {
    MultiClient client;
    Event readable;
    std::string buffer;
};

// Lives until the process exits, with the skeleton's loop.
std::map<int, std::unique_ptr<Session>>& sessions() {
    static auto* all = new std::map<int, std::unique_ptr<Session>>();
    return *all;
}

// Replies to every complete line; false when the client must go.
bool answer_lines(Session& session) {
    std::string prefix = std::to_string(::getpid()) + " ";
    size_t end;
    while ((end = session.buffer.find('\n')) != std::string::npos) {
        std::string reply = prefix + session.buffer.substr(0, end + 1);
        session.buffer.erase(0, end + 1);
        // Replies are short; a client whose socket buffer is full is not worth waiting for.
        if (!write_all(session.client.fd(), reply))
            return false;
    }
    return session.buffer.size() <= kLineLimit;
}

void client_readable(int fd) {
    auto found = sessions().find(fd);
    if (found == sessions().end())
        return;
    Session& session = *found->second;
    char chunk[1024];
    ssize_t got = ::read(fd, chunk, sizeof chunk);
    if (got < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (got > 0) {
        session.buffer.append(chunk, static_cast<size_t>(got));
        if (answer_lines(session))
            return;
    }
    sessions().erase(found);  // closes the connection and counts the client done
}

void new_client(MultiClient client, MultiServer& server) {
    int fd = client.fd();
    auto session = std::make_unique<Session>();
    session->client = std::move(client);
    session->readable =
        Event::readable(server.loop(), fd, true, [fd](EventReady) { client_readable(fd); });
    session->readable.arm();
    sessions()[fd] = std::move(session);
}

Status read_client_limit(ServerContext& context) {
    if (context.arguments().empty())
        return {};
    auto limit = parse_integer(context.arguments().front());
    if (!limit || *limit < 0)
        return Error(ErrorKind::config, "usage: test-multi [client_limit]");
    context.settings.client_limit = static_cast<size_t>(*limit);
    return {};
}

}  // namespace

int main(int argc, char** argv) {
    return run_multi_server(
        argc, argv, MultiServerHooks{.on_connect = new_client, .pre_init = read_client_limit});
}
