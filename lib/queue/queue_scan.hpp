// Queue scans: the names in one queue directory, in directory order, descending into the
// one-character subdirectories that hashed queues use, as Postfix's mail_scan_dir does.
//
// Where it sits: lib/queue, below showq (which lists every queue), postsuper (which walks
// them to repair, delete, hold and requeue) and the flush service (which reads flush/).
// The names come from a directory that mail_owner can write: nothing here follows a
// symbolic link (a link where a subdirectory should be is reported as an entry, not
// entered), and names are returned as they are, for the caller to check with
// queue_id_ok() before building a path. Directory order is the file system's, as in
// Postfix, so a listing by Postern and one by Postfix of the same directory agree.
#pragma once

#include <dirent.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "util/result.hpp"

namespace postern {

struct QueueScanEntry {
    enum class Kind {
        name,   // an entry (file, or anything that is not a subdirectory to enter)
        leave,  // the scan is done with the subdirectory `directory`
    };
    Kind kind = Kind::name;
    std::string directory;  // relative to the scan's base: "deferred/B"
    std::string name;       // the entry's name; empty for leave
    int depth = 0;          // subdirectory levels below the queue

    // "deferred/B/2B..." (or the directory itself for leave).
    std::string path() const { return name.empty() ? directory : directory + "/" + name; }
};

class QueueScan {
  public:
    // Scans BASE/QUEUE; entries are named relative to BASE ("deferred/B/ID"). With
    // `descend`, a one-character name that is a directory is entered (and reported with
    // Kind::leave when done), up to `max_depth` levels; otherwise it is an entry.
    static Result<QueueScan> open(const std::string& base, const std::string& queue,
                                  bool descend = true, int max_depth = 16);

    // The next entry, or nullopt when the queue is done. "." and ".." are skipped.
    Result<std::optional<QueueScanEntry>> next();

  private:
    struct DirCloser {
        void operator()(DIR* dir) const;
    };
    struct Level {
        std::unique_ptr<DIR, DirCloser> dir;
        std::string directory;
    };
    QueueScan(std::string base, bool descend, int max_depth)
        : base_(std::move(base)), descend_(descend), max_depth_(max_depth) {}
    Status push(const std::string& directory);
    bool enter(const std::string& directory, const std::string& name);

    std::string base_;
    bool descend_ = true;
    int max_depth_ = 16;
    std::vector<Level> levels_;
};

// Every name of a queue, subdirectories included, for callers that want a list: the
// entries of kind `name`, in scan order. A queue that does not exist is empty.
Result<std::vector<QueueScanEntry>> list_queue(const std::string& base, const std::string& queue,
                                               bool descend = true);

}  // namespace postern
