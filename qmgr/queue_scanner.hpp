// Incremental scans of incoming/ and deferred/: the queue IDs qmgr may take into active/,
// handed out one at a time as the active queue has room.
//
// Where it sits: qmgr/, over lib/queue/queue_scan.hpp. A scan walks its queue once, in
// directory order (as Postfix's qmgr does), descending into hashed subdirectories. A
// request that arrives while a scan runs is remembered and starts one more pass when this
// one ends, so a burst of triggers costs one extra pass, not one per trigger, and a scan
// paused because active/ is full holds no more than one open directory per level. Each
// file is visited once per pass: nothing is O(n^2) in queue size.
//
// Names come from a directory mail_owner can write: only names that pass queue_id_ok()
// (no '.', no '/') are returned; temporary files ("USEC.PID") are skipped here.
#pragma once

#include <optional>
#include <string>

#include "queue/queue_scan.hpp"

namespace postern {

struct ScanCandidate {
    std::string queue_id;
    std::string path;          // relative to queue_directory: "deferred/B/BA7..."
    bool ignore_time = false;  // the scan was asked for with 'A': ignore the retry time
};

class QueueScanner {
  public:
    // `queue` is "incoming" or "deferred"; names are relative to `base` (".").
    QueueScanner(std::string base, std::string queue)
        : base_(std::move(base)), queue_(std::move(queue)) {}

    const std::string& queue() const { return queue_; }
    // Asks for a pass; `ignore_time` for the 'A' trigger.
    void request(bool ignore_time);
    // A pass is running or requested.
    bool active() const { return running_ || requested_; }

    // The next candidate, or nullopt when the pass (and any requested one) is done.
    std::optional<ScanCandidate> next();

  private:
    bool start_pass();

    std::string base_;
    std::string queue_;
    std::optional<QueueScan> scan_;
    bool running_ = false;
    bool requested_ = false;
    bool ignore_time_ = false;            // of the running pass
    bool requested_ignore_time_ = false;  // of the requested one
};

}  // namespace postern
