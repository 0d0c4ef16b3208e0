// Starting one daemon process: fork, put the status socket and the listening sockets at
// the descriptors master_protocol.hpp fixes, close everything else, exec the program.
//
// Where it sits: master/. The child runs as root until it execs; the program itself
// chroots and drops to mail_owner (lib/server) before it reads any client input, because
// it must first open what it needs (logs, tables) as root, exactly as Postfix's daemons do.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "master/service_definition.hpp"
#include "util/file.hpp"
#include "util/result.hpp"

namespace postern::master {

struct SpawnRequest {
    const ServiceDefinition* service = nullptr;
    int status_fd = -1;  // the children's end of the status socket
    const std::vector<Fd>* listeners = nullptr;
    std::vector<std::string> environment;  // "NAME=value", the whole environment
};

// The new process's pid. The child never returns: if exec fails it logs and exits 1,
// which master's throttling then handles like any other bad start.
Result<pid_t> spawn_process(const SpawnRequest& request);

}  // namespace postern::master
