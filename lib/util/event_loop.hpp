// EventLoop and Event: libevent behind RAII, for every process that waits on more than one
// thing at a time (master, the many-clients skeleton, postscreen, qmgr).
//
// Where it sits: util. Callbacks run as C frames inside libevent (STYLE.md habit 4): they
// must not throw; a callback reports trouble through the values it returns to its owner
// or by logging. An Event removes itself from the loop when destroyed, so an object that
// owns its events cannot be called back after it is gone.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>

#include "util/result.hpp"

struct event_base;
struct event;

namespace postern {

class EventLoop {
  public:
    EventLoop();
    ~EventLoop();
    EventLoop(const EventLoop&) = delete;
    EventLoop& operator=(const EventLoop&) = delete;

    event_base* base() const { return base_; }
    // Runs until stop() or until no event is left. An error only when libevent fails.
    Status run();
    // Makes run() return after the callbacks now running.
    void stop();

  private:
    event_base* base_ = nullptr;
};

// What woke an fd event.
struct EventReady {
    bool readable = false;
    bool writable = false;
    bool timed_out = false;
};

class Event {
  public:
    using Callback = std::function<void(EventReady)>;

    Event() = default;
    ~Event();
    Event(Event&& other) noexcept;
    Event& operator=(Event&& other) noexcept;
    Event(const Event&) = delete;
    Event& operator=(const Event&) = delete;

    // Watches `fd`; `persist` keeps it armed after each callback.
    static Event readable(EventLoop& loop, int fd, bool persist, Callback callback);
    static Event writable(EventLoop& loop, int fd, bool persist, Callback callback);
    // Fires once after the delay given to arm(); arm() again to repeat.
    static Event timer(EventLoop& loop, Callback callback);
    // Delivered by the loop, not in signal context, so the callback may do anything.
    static Event signal(EventLoop& loop, int signal_number, Callback callback);

    // Adds the event to its loop; with a timeout, the callback runs with timed_out set
    // when nothing happened in time (for a timer: when the delay has passed).
    void arm(std::optional<std::chrono::milliseconds> timeout = std::nullopt);
    void disarm();
    bool armed() const;
    bool valid() const { return event_ != nullptr; }

  private:
    struct Context {
        Callback callback;
    };
    static Event make(EventLoop& loop, int fd, short what, Callback callback);
    static void dispatch(int fd, short what, void* argument);

    event* event_ = nullptr;
    // Stable address for libevent's callback argument, even when the Event moves.
    std::unique_ptr<Context> context_;
};

}  // namespace postern
