// Opening the sockets and fifos master.cf asks for. master opens every one itself, as
// root, before any daemon runs, so a daemon never needs the privilege to bind port 25 and
// a service's processes all share one listening socket.
//
// Where it sits: master/. UNIX-domain endpoints live in queue_directory/private (only
// mail_owner may enter) or /public (setgid_group may enter); the sockets themselves are
// mode 0666 and fifos 0622, the directory's mode being the access control, as in Postfix.
#pragma once

#include <vector>

#include "master/service_definition.hpp"
#include "util/file.hpp"
#include "util/result.hpp"

namespace postern::master {

// The service's listening descriptors, in the order of listen_count(); non-blocking and
// close-on-exec (the spawner moves them to their fixed numbers in each child).
Result<std::vector<Fd>> open_listeners(const ServiceDefinition& service);

}  // namespace postern::master
