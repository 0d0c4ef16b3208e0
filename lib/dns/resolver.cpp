// DnsResolver: one c-ares channel, driven either by its own poll() (synchronous lookups)
// or by an EventLoop (see dns.hpp).
//
// c-ares tells us which sockets it wants watched through its socket-state callback; both
// modes keep that table. On a loop, each socket gets libevent events and one timer stands
// for c-ares's next timeout. An event whose socket c-ares closed is retired, not
// destroyed, because its own callback may be the one running: the timer, which is never
// retired, frees them on its next run. Callbacks to users never run inside query().
#include <ares.h>
#include <arpa/nameser.h>
#include <poll.h>
#include <sys/time.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <mutex>

#include "dns/dns.hpp"
#include "util/event_loop.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace postern {
namespace {

constexpr int kDnsClassInternet = 1;

std::once_flag library_once;
int library_status = ARES_SUCCESS;

Status init_library() {
    std::call_once(library_once, [] { library_status = ares_library_init(ARES_LIB_INIT_ALL); });
    if (library_status != ARES_SUCCESS)
        return Error(ErrorKind::config,
                     std::string("cannot initialize c-ares: ") + ares_strerror(library_status));
    return {};
}

}  // namespace

struct DnsResolver::Impl {
    struct Watch {
        bool readable = false;
        bool writable = false;
        Event read_event;
        Event write_event;
    };

    // One query in flight: what c-ares hands back to on_reply().
    struct Query {
        Impl* impl = nullptr;
        std::string name;
        DnsType type = DnsType::a;
        Callback done;
    };

    ares_channel channel = nullptr;
    EventLoop* loop = nullptr;
    std::mt19937* random = nullptr;
    std::map<int, Watch> sockets;
    std::vector<Event> retired;
    // Results to hand over from the loop, not from inside query().
    std::vector<std::function<void()>> deferred;
    Event timer;
    size_t pending = 0;
    bool inside_query = false;

    ~Impl() {
        if (channel)
            ares_destroy(channel);  // calls every pending query back (ARES_EDESTRUCTION)
    }

    static Result<ares_channel> open_channel(const DnsResolverSettings& settings,
                                             void* socket_state_data) {
        if (Status status = init_library(); !status)
            return status.error();
        ares_options options{};
        options.flags = ARES_FLAG_NOSEARCH;
        options.timeout = static_cast<int>(settings.timeout.count());
        options.tries = settings.attempts;
        options.sock_state_cb = &on_socket_state;
        options.sock_state_cb_data = socket_state_data;
        int mask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_SOCK_STATE_CB;
        ares_channel channel = nullptr;
        int status = ares_init_options(&channel, &options, mask);
        if (status != ARES_SUCCESS)
            return Error(ErrorKind::config, std::string("cannot initialize the DNS resolver: ") +
                                                ares_strerror(status));
        if (!settings.servers.empty()) {
            std::string list = join(settings.servers, ",");
            status = ares_set_servers_ports_csv(channel, list.c_str());
            if (status != ARES_SUCCESS) {
                ares_destroy(channel);
                return Error(ErrorKind::config, "bad postern_dns_servers value \"" + list +
                                                    "\": " + ares_strerror(status));
            }
        }
        return channel;
    }

    static void on_socket_state(void* data, ares_socket_t fd, int readable, int writable) {
        static_cast<Impl*>(data)->update_socket(fd, readable != 0, writable != 0);
    }

    void update_socket(int fd, bool readable, bool writable) {
        if (!readable && !writable) {
            auto found = sockets.find(fd);
            if (found != sockets.end()) {
                retire(found->second.read_event);
                retire(found->second.write_event);
                sockets.erase(found);
            }
            return;
        }
        Watch& watch = sockets[fd];
        watch.readable = readable;
        watch.writable = writable;
        if (loop == nullptr)
            return;
        update_event(watch.read_event, readable, fd, true);
        update_event(watch.write_event, writable, fd, false);
    }

    void update_event(Event& event, bool wanted, int fd, bool for_reading) {
        if (!wanted) {
            retire(event);
            return;
        }
        if (event.valid())
            return;
        auto ready = [this, fd, for_reading](EventReady) { on_socket_ready(fd, for_reading); };
        event = for_reading ? Event::readable(*loop, fd, true, ready)
                            : Event::writable(*loop, fd, true, ready);
        event.arm();
    }

    void retire(Event& event) {
        if (!event.valid())
            return;
        event.disarm();
        retired.push_back(std::move(event));
        event = Event();
    }

    void on_socket_ready(int fd, bool readable) {
        ares_process_fd(channel, readable ? fd : ARES_SOCKET_BAD, readable ? ARES_SOCKET_BAD : fd);
        schedule_timer();
    }

    void on_timer() {
        retired.clear();
        ares_process_fd(channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
        std::vector<std::function<void()>> ready;
        ready.swap(deferred);
        for (auto& deliver : ready)
            deliver();
        schedule_timer();
    }

    // How long c-ares may wait before its next timeout, capped by `cap`.
    std::chrono::milliseconds ares_wait(std::chrono::milliseconds cap) const {
        timeval max_wait{};
        max_wait.tv_sec = cap.count() / 1000;
        max_wait.tv_usec = (cap.count() % 1000) * 1000;
        timeval storage{};
        timeval* wait = ares_timeout(channel, &max_wait, &storage);
        auto result = std::chrono::milliseconds(wait->tv_sec * 1000 + (wait->tv_usec + 999) / 1000);
        return result;
    }

    void schedule_timer() {
        if (loop == nullptr)
            return;
        if (!retired.empty() || !deferred.empty()) {
            timer.arm(std::chrono::milliseconds(0));
        } else if (pending > 0) {
            timer.arm(ares_wait(std::chrono::milliseconds(60000)));
        } else {
            timer.disarm();
        }
    }

    static void on_reply(void* argument, int status, int /*timeouts*/, unsigned char* reply,
                         int length) {
        std::unique_ptr<Query> query(static_cast<Query*>(argument));
        Impl& impl = *query->impl;
        --impl.pending;
        DnsResult<DnsAnswer> result =
            status == ARES_SUCCESS
                ? parse_dns_reply(query->type, query->name, reply, length, *impl.random, nullptr)
                : DnsResult<DnsAnswer>(classify_ares_status(status, query->name, query->type));
        impl.finish(std::move(query->done), std::move(result));
    }

    void finish(Callback done, DnsResult<DnsAnswer> result) {
        if (inside_query && loop != nullptr) {
            deferred.push_back([done = std::move(done), result = std::move(result)]() mutable {
                done(std::move(result));
            });
            return;
        }
        done(std::move(result));
    }

    void start(std::string name, DnsType type, Callback done) {
        if (std::optional<DnsFailure> bad = check_query_name(name, type)) {
            inside_query = true;
            finish(std::move(done), *bad);
            inside_query = false;
            schedule_timer();
            return;
        }
        auto query = std::make_unique<Query>();
        query->impl = this;
        query->name = std::move(name);
        query->type = type;
        query->done = std::move(done);
        ++pending;
        inside_query = true;
        const char* text = query->name.c_str();
        ares_query(channel, text, kDnsClassInternet, static_cast<int>(type), on_reply,
                   query.release());
        inside_query = false;
        schedule_timer();
    }

    // One round of the synchronous wait: poll the sockets until c-ares's next timeout or
    // the deadline, then let c-ares read, write or time out.
    void wait_once(std::optional<Clock::time_point> deadline) {
        std::chrono::milliseconds cap(60000);
        if (deadline) {
            auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(*deadline - Clock::now());
            cap = std::max(std::chrono::milliseconds(0), std::min(cap, left));
        }
        std::chrono::milliseconds wait = ares_wait(cap);
        std::vector<pollfd> watched;
        for (const auto& [fd, watch] : sockets) {
            short events =
                static_cast<short>((watch.readable ? POLLIN : 0) | (watch.writable ? POLLOUT : 0));
            watched.push_back({fd, events, 0});
        }
        int ready = ::poll(watched.data(), watched.size(), static_cast<int>(wait.count()));
        if (ready < 0 && errno != EINTR)
            log_warning("dns: poll: %m");
        bool any = false;
        for (const pollfd& each : watched) {
            if (each.revents == 0)
                continue;
            any = true;
            bool readable = (each.revents & (POLLIN | POLLERR | POLLHUP)) != 0;
            bool writable = (each.revents & POLLOUT) != 0;
            ares_process_fd(channel, readable ? each.fd : ARES_SOCKET_BAD,
                            writable ? each.fd : ARES_SOCKET_BAD);
        }
        if (!any)
            ares_process_fd(channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    }
};

DnsResolver::DnsResolver(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)), random_(std::random_device{}()) {
    impl_->random = &random_;
}

DnsResolver::~DnsResolver() {
    // Pending queries are called back while random_ still exists.
    impl_.reset();
}

Result<std::unique_ptr<DnsResolver>> DnsResolver::create(const DnsResolverSettings& settings) {
    auto impl = std::make_unique<Impl>();
    Result<ares_channel> channel = Impl::open_channel(settings, impl.get());
    if (!channel)
        return channel.error();
    impl->channel = *channel;
    return std::unique_ptr<DnsResolver>(new DnsResolver(std::move(impl)));
}

Result<std::unique_ptr<DnsResolver>> DnsResolver::create(const DnsResolverSettings& settings,
                                                         EventLoop& loop) {
    auto impl = std::make_unique<Impl>();
    Result<ares_channel> channel = Impl::open_channel(settings, impl.get());
    if (!channel)
        return channel.error();
    impl->channel = *channel;
    impl->loop = &loop;
    Impl* raw = impl.get();
    impl->timer = Event::timer(loop, [raw](EventReady) { raw->on_timer(); });
    return std::unique_ptr<DnsResolver>(new DnsResolver(std::move(impl)));
}

void DnsResolver::query(std::string name, DnsType type, Callback done) {
    impl_->start(std::move(name), type, std::move(done));
}

size_t DnsResolver::pending() const {
    return impl_->pending;
}

namespace {

struct SyncQuery {
    std::string name;
    DnsType type;
    std::optional<DnsResult<DnsAnswer>> result;
};

}  // namespace

// Sends every query at once and waits for all the answers (A and AAAA in one round trip).
static void lookup_together(DnsResolver::Impl& impl, std::vector<SyncQuery>& queries,
                            std::optional<DnsResolver::Clock::time_point> deadline) {
    for (SyncQuery& query : queries)
        impl.start(query.name, query.type, [&query](DnsResult<DnsAnswer> answer) {
            query.result.emplace(std::move(answer));
        });
    auto unanswered = [&queries] {
        return std::any_of(queries.begin(), queries.end(),
                           [](const SyncQuery& query) { return !query.result; });
    };
    while (unanswered()) {
        if (deadline && DnsResolver::Clock::now() >= *deadline) {
            ares_cancel(impl.channel);  // calls back with ARES_ECANCELLED: retry
            break;
        }
        impl.wait_once(deadline);
    }
    for (SyncQuery& query : queries)
        if (!query.result)
            query.result.emplace(classify_ares_status(ARES_ETIMEOUT, query.name, query.type));
}

DnsResult<DnsAnswer> DnsResolver::lookup(std::string_view name, DnsType type,
                                         std::optional<Clock::time_point> deadline) {
    std::vector<SyncQuery> queries{{std::string(name), type, std::nullopt}};
    lookup_together(*impl_, queries, deadline);
    return std::move(*queries.front().result);
}

DnsResult<std::vector<MxRecord>> DnsResolver::lookup_mx(std::string_view domain,
                                                        std::optional<Clock::time_point> deadline) {
    DnsResult<DnsAnswer> answer = lookup(domain, DnsType::mx, deadline);
    if (!answer)
        return answer.failure();
    return std::move(answer->mx);
}

DnsResult<std::vector<HostAddress>> DnsResolver::lookup_addresses(
    std::string_view host, AddressFamilies families, std::optional<Clock::time_point> deadline) {
    std::vector<HostAddress> found;
    std::optional<DnsFailure> worst;
    // Postfix's precedence when every type failed: a temporary failure says more than
    // "not found", and any other failure more than "not found".
    auto rank = [](DnsStatus status) {
        switch (status) {
            case DnsStatus::retry:
                return 4;
            case DnsStatus::invalid:
                return 3;
            case DnsStatus::failed:
                return 2;
            default:
                return 1;
        }
    };
    std::vector<SyncQuery> queries;
    if (families.ipv4)
        queries.push_back({std::string(host), DnsType::a, std::nullopt});
    if (families.ipv6)
        queries.push_back({std::string(host), DnsType::aaaa, std::nullopt});
    lookup_together(*impl_, queries, deadline);
    for (SyncQuery& query : queries) {
        DnsResult<DnsAnswer>& answer = *query.result;
        if (answer) {
            found.insert(found.end(), answer->addresses.begin(), answer->addresses.end());
        } else if (!worst || rank(answer.failure().status) >= rank(worst->status)) {
            worst = answer.failure();
        }
    }
    if (!found.empty())
        return found;
    if (!worst)
        return DnsFailure{DnsStatus::not_found, false,
                          "Host or domain name not found. Name service error for name=" +
                              std::string(host) + ": no address family enabled"};
    return *worst;
}

DnsResult<std::vector<std::string>> DnsResolver::lookup_ptr(
    const HostAddress& address, std::optional<Clock::time_point> deadline) {
    std::string name = reverse_query_name(address);
    DnsResult<DnsAnswer> answer = lookup(name, DnsType::ptr, deadline);
    if (!answer)
        return answer.failure();
    return std::move(answer->names);
}

DnsResult<std::vector<TxtRecord>> DnsResolver::lookup_txt(
    std::string_view name, std::optional<Clock::time_point> deadline) {
    DnsResult<DnsAnswer> answer = lookup(name, DnsType::txt, deadline);
    if (!answer)
        return answer.failure();
    return std::move(answer->texts);
}

}  // namespace postern
