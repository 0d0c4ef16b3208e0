// Triggers: the one-shot wake-up messages that tell a trigger-driven daemon (pickup, qmgr,
// flush) there is work. master sends 'W' on its wakeup timer; postdrop wakes pickup after
// it drops a file into maildrop/; cleanup wakes qmgr after it queued a message; postqueue -f
// and postsuper ask qmgr to scan its queues.
//
// Where it sits: lib/ipc, below master, the daemons and the tools. A trigger is a few bytes
// written to the service's endpoint without waiting for an answer, exactly as Postfix's
// trigger clients do: a fifo (opened write-only, non-blocking: nobody reading is an error,
// not a hang), or a UNIX-domain stream or datagram socket. The receiving side is the
// trigger skeleton (lib/server/trigger_server.hpp), which takes each request as raw bytes.
#pragma once

#include <string>
#include <string_view>

#include "util/result.hpp"

namespace postern {

// Request bytes, with Postfix's letters (trigger.h, qmgr.h), so that a Postfix tool can wake
// a Postern daemon and the other way round.
namespace trigger_request {
inline constexpr char wakeup = 'W';         // any trigger daemon: look for work
inline constexpr char scan_incoming = 'I';  // qmgr: scan incoming/
inline constexpr char scan_deferred = 'D';  // qmgr: scan deferred/
inline constexpr char scan_all = 'A';       // qmgr: scan incoming/ and deferred/, ignoring backoff
inline constexpr char flush_dead = 'F';     // qmgr: forget which destinations are dead
}  // namespace trigger_request

enum class TriggerEndpoint { fifo, stream_socket, datagram_socket };

// Writes `request` to the endpoint at `path` and closes it. Errors (ErrorKind::io) name the
// path: "connect to /var/spool/postfix/public/pickup: No such file or directory".
Status send_trigger(const std::string& path, TriggerEndpoint endpoint, std::string_view request);

// A public or private service of the trigger kind, as the tools address them: the endpoint
// is a stream socket unless `path` is a fifo (Postfix before 3.0 shipped pickup and qmgr as
// fifo services; master.cf decides, so the file's type does too).
Status send_trigger_to_service(const std::string& path, std::string_view request);

}  // namespace postern
