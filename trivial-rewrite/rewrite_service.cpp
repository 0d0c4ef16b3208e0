// The trivial-rewrite service (see rewrite_service.hpp).
#include "trivial-rewrite/rewrite_service.hpp"

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <map>

#include "ipc/attr.hpp"
#include "mail/rewrite_protocol.hpp"
#include "maps/map.hpp"
#include "util/log.hpp"

namespace postern {
namespace {

constexpr std::chrono::seconds kTableCheckInterval{10};
// Replies a client has not read yet, beyond which it is dropped: a client that does not
// read must not make the service hold its answers in memory.
constexpr size_t kMaxPendingOutput = 4 * 1024 * 1024;

// One connected client: its requests in, its replies out.
class Session {
  public:
    Session(MultiClient client, MultiServer& server, RewriteService& service)
        : client_(std::move(client)), server_(server), service_(service) {}

    void start();

  private:
    void readable();
    void writable();
    // Answers every complete frame; false when the client must go.
    bool answer_frames();
    // Writes what it can; false when the connection failed.
    bool flush();
    void finish();

    MultiClient client_;
    MultiServer& server_;
    RewriteService& service_;
    Event readable_;
    Event writable_;
    AttrFrameDecoder decoder_{AttrLimits{}};
    std::string output_;
    bool last_reply_ = false;  // close once the output is written
};

// Sessions live here until their client is done.
std::map<int, std::unique_ptr<Session>>& sessions() {
    static auto* all = new std::map<int, std::unique_ptr<Session>>();
    return *all;
}

void Session::start() {
    int fd = client_.fd();
    readable_ = Event::readable(server_.loop(), fd, true, [this](EventReady) { readable(); });
    writable_ = Event::writable(server_.loop(), fd, false, [this](EventReady) { writable(); });
    readable_.arm();
}

void Session::finish() {
    int fd = client_.fd();
    readable_.disarm();
    writable_.disarm();
    client_.finish();
    sessions().erase(fd);  // destroys this session: nothing may touch it afterwards
}

void Session::readable() {
    char chunk[16384];
    ssize_t got = ::read(client_.fd(), chunk, sizeof chunk);
    if (got < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (got <= 0) {
        if (got < 0 || !decoder_.idle())
            log_warning("trivial-rewrite client: connection ended inside a request");
        return finish();
    }
    decoder_.feed(std::string_view(chunk, static_cast<size_t>(got)));
    if (!answer_frames() || !flush())
        return finish();
}

bool Session::answer_frames() {
    while (!last_reply_) {
        Result<std::optional<AttrList>> frame = decoder_.next();
        if (!frame) {
            log_warning("trivial-rewrite client: %s", frame.error().message().c_str());
            return false;
        }
        if (!frame->has_value())
            return true;
        bool closing = server_.closing() || service_.tables_changed();
        Result<AttrList> reply = service_.answer(std::move(**frame), closing);
        if (!reply) {
            log_warning("trivial-rewrite client: %s", reply.error().message().c_str());
            return false;
        }
        if (Status encoded = append_attr_frame(output_, *reply); !encoded) {
            log_warning("trivial-rewrite reply: %s", encoded.error().message().c_str());
            return false;
        }
        last_reply_ = closing;
    }
    return true;
}

bool Session::flush() {
    while (!output_.empty()) {
        ssize_t wrote = ::write(client_.fd(), output_.data(), output_.size());
        if (wrote < 0 && errno == EINTR)
            continue;
        if (wrote < 0 && errno == EAGAIN) {
            if (output_.size() > kMaxPendingOutput) {
                log_warning("trivial-rewrite client does not read its replies: dropped");
                return false;
            }
            readable_.disarm();  // no new requests until the replies are out
            writable_.arm();
            return true;
        }
        if (wrote <= 0)
            return false;
        output_.erase(0, static_cast<size_t>(wrote));
    }
    if (last_reply_)
        return false;  // told to reconnect: this connection is done
    if (!readable_.armed())
        readable_.arm();
    return true;
}

void Session::writable() {
    if (!flush())
        return finish();
    if (!output_.empty())
        return;
    // Requests that arrived while the replies waited.
    if (!answer_frames() || !flush())
        finish();
}

}  // namespace

void RewriteService::serve(MultiClient client, MultiServer& server) {
    server_ = &server;
    if (tables_changed_)
        server.close();
    int fd = client.fd();
    auto session = std::make_unique<Session>(std::move(client), server, *this);
    Session& started = *session;
    sessions()[fd] = std::move(session);
    started.start();
}

void RewriteService::start_table_checks(EventLoop& loop) {
    table_timer_ = Event::timer(loop, [this](EventReady) { check_tables(); });
    table_timer_.arm(std::chrono::duration_cast<std::chrono::milliseconds>(kTableCheckInterval));
}

void RewriteService::check_tables() {
    if (!tables_changed_) {
        if (std::optional<std::string> table = changed_open_table()) {
            log_info("table %s has changed -- restarting", table->c_str());
            tables_changed_ = true;
            if (server_ != nullptr)
                server_->close();
        }
    }
    table_timer_.arm(std::chrono::duration_cast<std::chrono::milliseconds>(kTableCheckInterval));
}

Result<AttrList> RewriteService::answer(AttrList request, bool closing) {
    Result<RewriteServiceRequest> parsed = parse_rewrite_service_request(std::move(request));
    if (!parsed)
        return parsed.error();
    int64_t server_flags = closing ? kServerFlagReconnect : 0;
    if (parsed->kind == RewriteServiceRequest::Kind::rewrite) {
        std::string rewritten =
            resolver_->rewriter().rewrite_external(parsed->rule, parsed->address);
        log_debug(1, "`%s' `%s' -> `%s'", rewrite_context_name(parsed->rule),
                  parsed->address.c_str(), rewritten.c_str());
        return make_rewrite_reply(server_flags, rewritten);
    }
    ResolveReply reply = resolver_->resolve(parsed->sender, parsed->address, parsed->resolve);
    log_debug(1, "`%s' -> `%s' `%s' `%s' %u", parsed->address.c_str(), reply.transport.c_str(),
              reply.nexthop.c_str(), reply.recipient.c_str(), reply.flags);
    return make_resolve_reply(server_flags, reply);
}

}  // namespace postern
