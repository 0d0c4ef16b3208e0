#include "qmgr/queue_scanner.hpp"

#include "queue/queue_id.hpp"
#include "util/log.hpp"

namespace postern {

void QueueScanner::request(bool ignore_time) {
    requested_ = true;
    requested_ignore_time_ = requested_ignore_time_ || ignore_time;
    // A running pass that ignores the time already does what was asked, for the files it
    // has not reached; the new pass covers the rest.
}

bool QueueScanner::start_pass() {
    if (!requested_)
        return false;
    requested_ = false;
    ignore_time_ = requested_ignore_time_;
    requested_ignore_time_ = false;
    auto opened = QueueScan::open(base_, queue_);
    if (!opened) {
        log_warning("scan %s: %s", queue_.c_str(), opened.error().message().c_str());
        return false;
    }
    scan_.emplace(std::move(*opened));
    running_ = true;
    return true;
}

std::optional<ScanCandidate> QueueScanner::next() {
    for (;;) {
        if (!running_ && !start_pass())
            return std::nullopt;
        auto entry = scan_->next();
        if (!entry) {
            log_warning("scan %s: %s", queue_.c_str(), entry.error().message().c_str());
            entry = std::optional<QueueScanEntry>();
        }
        if (!*entry) {
            running_ = false;
            scan_.reset();
            continue;
        }
        if ((*entry)->kind != QueueScanEntry::Kind::name || !queue_id_ok((*entry)->name))
            continue;
        std::string path = base_ == "." ? (*entry)->path() : base_ + "/" + (*entry)->path();
        return ScanCandidate{(*entry)->name, std::move(path), ignore_time_};
    }
}

}  // namespace postern
