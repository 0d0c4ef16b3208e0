#include "util/event_loop.hpp"

#include <event2/event.h>

#include <cstdlib>
#include <utility>

#include "util/log.hpp"

namespace postern {

EventLoop::EventLoop() : base_(event_base_new()) {
    if (base_ == nullptr)
        log_fatal("event_base_new: cannot create an event loop");
}

EventLoop::~EventLoop() {
    event_base_free(base_);
}

Status EventLoop::run() {
    if (event_base_dispatch(base_) < 0)
        return Error(ErrorKind::io, "event loop failed");
    return {};
}

void EventLoop::stop() {
    event_base_loopbreak(base_);
}

Event::~Event() {
    if (event_ != nullptr)
        event_free(event_);
}

Event::Event(Event&& other) noexcept
    : event_(std::exchange(other.event_, nullptr)), context_(std::move(other.context_)) {}

Event& Event::operator=(Event&& other) noexcept {
    if (this != &other) {
        if (event_ != nullptr)
            event_free(event_);
        event_ = std::exchange(other.event_, nullptr);
        context_ = std::move(other.context_);
    }
    return *this;
}

Event Event::make(EventLoop& loop, int fd, short what, Callback callback) {
    Event made;
    made.context_ = std::make_unique<Context>(Context{std::move(callback)});
    made.event_ = event_new(loop.base(), fd, what, &Event::dispatch, made.context_.get());
    if (made.event_ == nullptr)
        log_fatal("event_new: out of memory");
    return made;
}

Event Event::readable(EventLoop& loop, int fd, bool persist, Callback callback) {
    return make(loop, fd, static_cast<short>(EV_READ | (persist ? EV_PERSIST : 0)),
                std::move(callback));
}

Event Event::writable(EventLoop& loop, int fd, bool persist, Callback callback) {
    return make(loop, fd, static_cast<short>(EV_WRITE | (persist ? EV_PERSIST : 0)),
                std::move(callback));
}

Event Event::timer(EventLoop& loop, Callback callback) {
    return make(loop, -1, 0, std::move(callback));
}

Event Event::signal(EventLoop& loop, int signal_number, Callback callback) {
    return make(loop, signal_number, EV_SIGNAL | EV_PERSIST, std::move(callback));
}

void Event::arm(std::optional<std::chrono::milliseconds> timeout) {
    if (event_ == nullptr)
        return;
    if (!timeout) {
        event_add(event_, nullptr);
        return;
    }
    struct timeval delay {};
    delay.tv_sec = static_cast<time_t>(timeout->count() / 1000);
    delay.tv_usec = static_cast<suseconds_t>((timeout->count() % 1000) * 1000);
    event_add(event_, &delay);
}

void Event::disarm() {
    if (event_ != nullptr)
        event_del(event_);
}

bool Event::armed() const {
    return event_ != nullptr &&
           event_pending(event_, EV_READ | EV_WRITE | EV_TIMEOUT | EV_SIGNAL, nullptr) != 0;
}

void Event::dispatch(int /*fd*/, short what, void* argument) {
    auto* context = static_cast<Context*>(argument);
    EventReady ready;
    ready.readable = (what & (EV_READ | EV_SIGNAL)) != 0;
    ready.writable = (what & EV_WRITE) != 0;
    ready.timed_out = (what & EV_TIMEOUT) != 0;
    // Copied first: the callback may destroy the Event (and this context) it belongs to.
    Callback callback = context->callback;
    callback(ready);
}

}  // namespace postern
