// The contract between master and the daemons it runs: which descriptors a daemon finds
// open, what its command line says, and how it reports busy/idle.
//
// Where it sits: lib/server, shared by master/ (the parent side) and the daemon skeletons
// (the child side). Both sides are Postern programs of the same build, so this is a
// private interface; it keeps Postfix's layout and option letters so that `ps` output and
// an administrator's habits carry over.
//
// Descriptors at exec (everything else is closed):
//   0, 1, 2          /dev/null
//   3, 4             reserved (Postfix's process-limit flow pipe)
//   kStatusFd (5)    the daemon's end of its service's status connection (a stream
//                    socketpair shared by all processes of one service generation)
//   kListenFd (6)..  the service's listening sockets: one per address for inet, one for
//                    unix, unix-dgram, fifo and pass; the count is passed with `-s N`
//
// Command line, in this order (as Postfix's master builds it):
//   command [-l] [-z] [-n service] -t type [-d] [-v...] [-u] [-c] [-s count]
//           [master.cf arguments, -o name=value among them]
//   -l  the service has maxproc 1 (a "solitary" daemon such as qmgr)
//   -z  the service has no process limit (maxproc 0)
//   -n  the service name, when it differs from the command's base name
//   -t  the master.cf type: inet, unix, unix-dgram, fifo or pass
//   -d  master runs in debug mode (do not detach, log to stderr)
//   -v  verbose logging
//   -u  unprivileged: drop to mail_owner before reading input
//   -c  chroot to queue_directory before reading input
//   -s  number of listening descriptors from kListenFd on (default 1)
// The configuration directory reaches the daemon through MAIL_CONFIG in its environment.
// A daemon may also be started by hand with `-S` (stand-alone: serve the one client on
// stdin/stdout, no master), which the skeletons support for tests and debugging.
//
// Status reports: the daemon writes one StatusReport each time it becomes busy
// (available = 0) and each time it becomes idle again (available = 1); a newly started
// daemon reports idle once it is ready to accept. Master reads the reports to know how many
// processes of a service can take a new client, and spawns another (up to maxproc) when
// none can. When master closes its end (reload, stop, a removed service), the daemon sees
// end-of-file on kStatusFd: it finishes its current client and exits. SIGTERM from master
// means stop now.
#pragma once

#include <sys/types.h>

#include <cstdint>

namespace postern::master_protocol {

inline constexpr int kStatusFd = 5;
inline constexpr int kListenFd = 6;

// Fixed size, written with one write(): far below the socket buffer, so never split.
struct StatusReport {
    int32_t pid = 0;
    uint32_t generation = 0;  // the service generation from the daemon's environment
    int32_t available = 0;    // 1 idle, 0 busy
};
static_assert(sizeof(StatusReport) == 12);

inline constexpr int32_t kStatusBusy = 0;
inline constexpr int32_t kStatusIdle = 1;

// Environment variables master sets for each daemon (besides MAIL_CONFIG and the
// variables of export_environment).
inline constexpr const char* kGenerationVariable = "POSTERN_SERVICE_GENERATION";

// What a trigger daemon (pickup, qmgr) receives from master's wake-up timer: one byte.
inline constexpr char kWakeupRequest = 'W';

}  // namespace postern::master_protocol
