// The daemon_timeout watchdog: a process stuck on one request for longer than
// daemon_timeout logs "fatal: watchdog timeout" and exits, so that master starts a fresh
// one instead of counting a hung process as busy forever.
//
// Where it sits: lib/server. Built on alarm(2) and SIGALRM, as Postfix's watchdog; a
// daemon must not use alarm() itself. The single-client skeleton runs it around each
// serve(); the event-driven skeletons keep it fed from a loop timer, so any one callback
// that blocks the loop for too long trips it. If logging the fatal line itself hangs (the
// alarm may interrupt anything), a second alarm five seconds later kills the process.
#pragma once

#include <chrono>

#include "util/event_loop.hpp"

namespace postern {

// Arms (or re-arms) the watchdog; a timeout of zero or less disarms it.
void watchdog_start(std::chrono::seconds timeout);
void watchdog_stop();

// For an event loop: a timer that re-arms the watchdog every tenth of `timeout` (at most
// ten times a second), so that it trips when one callback keeps the loop from running for
// about `timeout`. Must not move once started (its callback refers to it).
class WatchdogFeeder {
  public:
    WatchdogFeeder() = default;
    WatchdogFeeder(const WatchdogFeeder&) = delete;
    WatchdogFeeder& operator=(const WatchdogFeeder&) = delete;

    void start(EventLoop& loop, std::chrono::seconds timeout);

  private:
    void feed();

    Event timer_;
    std::chrono::seconds timeout_{0};
};

}  // namespace postern
