// Which master runs an instance: the pid file and lock that make master one per instance,
// and the test that `postfix status|stop|reload` use to find it.
//
// Where it sits: lib/server, used by master (which holds the locks for its whole life) and
// by the postfix command (which only looks). The files are Postfix's:
//   $queue_directory/pid/master.pid   the pid, locked while master runs
//   $data_directory/master.lock       the same, so two instances cannot share data_directory
// A lock, not the pid's existence, says master runs: a pid file left by a killed master is
// harmless, and its pid may belong to another process by now.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "util/file.hpp"
#include "util/result.hpp"

namespace postern {

std::string master_pid_path(const std::string& queue_directory);
std::string master_lock_path(const std::string& data_directory);

// The pid of the master that holds the instance's pid-file lock, or nullopt when no master
// runs. An error only when the pid file cannot be examined at all.
Result<std::optional<pid_t>> running_master_pid(const std::string& queue_directory);

// Held by master for its whole life; released when the process exits.
class MasterLock {
  public:
    // Locks both files and writes this process's pid into them. A lock already held gives
    // an ErrorKind::temporary error ("the Postfix mail system is already running").
    static Result<MasterLock> acquire(const std::string& queue_directory,
                                      const std::string& data_directory);
    // After fork() to the background: the new pid goes into the files.
    Status rewrite_pid();

  private:
    Fd pid_file_;
    Fd lock_file_;
};

}  // namespace postern
