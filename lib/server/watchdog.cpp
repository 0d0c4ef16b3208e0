#include "server/watchdog.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <climits>

#include "util/log.hpp"

namespace postern {

namespace {

constexpr unsigned kKillDelaySeconds = 5;

// Postfix's watchdog does the same: log and exit from the signal handler, with a default
// SIGALRM armed first in case the logging cannot finish.
extern "C" void watchdog_expired(int) {
    ::signal(SIGALRM, SIG_DFL);
    ::alarm(kKillDelaySeconds);
    log_fatal("watchdog timeout");
}

void install_handler() {
    static bool installed = false;
    if (installed)
        return;
    struct sigaction action {};
    action.sa_handler = watchdog_expired;
    sigemptyset(&action.sa_mask);
    if (::sigaction(SIGALRM, &action, nullptr) != 0)
        log_fatal("sigaction SIGALRM: %m");
    installed = true;
}

}  // namespace

void watchdog_start(std::chrono::seconds timeout) {
    if (timeout.count() <= 0) {
        watchdog_stop();
        return;
    }
    install_handler();
    long long seconds = timeout.count();
    ::alarm(seconds > UINT_MAX ? UINT_MAX : static_cast<unsigned>(seconds));
}

void watchdog_stop() {
    ::alarm(0);
}

void WatchdogFeeder::start(EventLoop& loop, std::chrono::seconds timeout) {
    timeout_ = timeout;
    if (timeout.count() <= 0)
        return;
    timer_ = Event::timer(loop, [this](EventReady) { feed(); });
    feed();
}

void WatchdogFeeder::feed() {
    watchdog_start(timeout_);
    using std::chrono::milliseconds;
    milliseconds period = std::max(milliseconds(100), milliseconds(timeout_) / 10);
    timer_.arm(period);
}

}  // namespace postern
