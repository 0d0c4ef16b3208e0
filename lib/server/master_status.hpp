// The daemon's side of the status connection to master (master_protocol.hpp): busy/idle
// reports, and noticing that master has gone.
//
// Where it sits: lib/server, used by the three skeletons only. The descriptor is
// kStatusFd, shared by every process of the service generation; master never writes on
// it, so readable means end-of-file or an error: master closed its end (reload, stop, a
// removed service). A failed report means the same. Either way the daemon finishes what
// it is doing and exits; it never serves a new client for a master that is gone.
#pragma once

#include <cstdint>

namespace postern {

class MasterStatus {
  public:
    // `fd` < 0: stand-alone (-S); reports go nowhere and master is never gone.
    MasterStatus(int fd, uint32_t generation) : fd_(fd), generation_(generation) {}

    // POSTERN_SERVICE_GENERATION from the environment; 0 when unset or not a number.
    static uint32_t generation_from_environment();

    // One StatusReport each, and only when the state changes.
    void report_idle();
    void report_busy();

    // Called when the descriptor is readable: reads what is there; true while master
    // is still connected.
    bool check_connected();
    bool master_gone() const { return gone_; }
    int fd() const { return fd_; }

  private:
    void report(int32_t available);

    int fd_;
    uint32_t generation_;
    bool gone_ = false;
    int32_t last_report_ = -1;
};

}  // namespace postern
