#include "server/master_status.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "server/master_protocol.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace postern {

uint32_t MasterStatus::generation_from_environment() {
    const char* text = std::getenv(master_protocol::kGenerationVariable);
    if (text == nullptr)
        return 0;
    auto value = parse_integer(text);
    if (!value || *value < 0 || *value > UINT32_MAX)
        return 0;
    return static_cast<uint32_t>(*value);
}

void MasterStatus::report_idle() {
    report(master_protocol::kStatusIdle);
}

void MasterStatus::report_busy() {
    report(master_protocol::kStatusBusy);
}

void MasterStatus::report(int32_t available) {
    if (fd_ < 0 || gone_ || available == last_report_)
        return;
    master_protocol::StatusReport status;
    status.pid = static_cast<int32_t>(::getpid());
    status.generation = generation_;
    status.available = available;
    ssize_t written;
    do {
        written = ::write(fd_, &status, sizeof status);
    } while (written < 0 && errno == EINTR);
    if (written != static_cast<ssize_t>(sizeof status)) {
        log_debug(1, "status report to master failed: %m -- master gone");
        gone_ = true;
        return;
    }
    last_report_ = available;
}

bool MasterStatus::check_connected() {
    if (fd_ < 0 || gone_)
        return !gone_;
    char buffer[64];
    ssize_t got;
    do {
        got = ::read(fd_, buffer, sizeof buffer);
    } while (got < 0 && errno == EINTR);
    if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return true;
    if (got <= 0) {
        log_debug(1, "master disconnect -- exiting");
        gone_ = true;
    }
    return !gone_;
}

}  // namespace postern
