// What master runs: each master.cf entry resolved against main.cf into a ServiceDefinition
// (where it listens, which program with which argument vector, with what privileges and
// limits).
//
// Where it sits: master/, between lib/config's parsers and the supervisor. Input is the
// administrator's configuration, trusted but not assumed correct: every problem is an
// Error naming master.cf's file and line, found before any socket is opened, so a broken
// reload leaves the running services alone.
#pragma once

#include <sys/socket.h>

#include <string>
#include <vector>

#include "config/config.hpp"
#include "config/inet_protocols.hpp"
#include "config/master_cf.hpp"
#include "util/result.hpp"

namespace postern::master {

// One TCP address an inet service listens on.
struct InetAddress {
    sockaddr_storage address{};
    socklen_t length = 0;
    std::string text;  // "127.0.0.1:25", "[::1]:25" for log lines
};

struct ServiceDefinition {
    std::string name;  // master.cf's service field ("smtp", "127.0.0.1:2525", "pickup")
    ServiceType type = ServiceType::unix_stream;
    std::string key;  // "name/type": what identifies a service across reloads
    std::string program_path;
    std::vector<std::string> arguments;  // argv, argv[0] included
    bool unprivileged = true;
    bool chrooted = false;
    int wakeup_seconds = 0;
    bool wakeup_only_if_used = false;
    int process_limit = 0;  // 0: no limit
    // inet: the addresses; others: the path of the socket or fifo.
    std::vector<InetAddress> inet_addresses;
    std::string socket_path;
    int line = 0;

    // How many descriptors the service's processes get from kListenFd on.
    size_t listen_count() const;
    // The socket part of the definition: when it changes, a reload must reopen sockets.
    std::string endpoint_signature() const;
};

// Settings of main.cf that shape every service.
struct MasterSettings {
    std::string config_directory;
    std::string queue_directory;
    std::string daemon_directory;
    std::string data_directory;
    std::vector<std::string> inet_interfaces;
    AddressFamilies address_families;  // inet_protocols
    int default_process_limit = 100;
    int service_throttle_time = 60;
    bool debug = false;  // master -d: children get -d
    int verbose = 0;
};

Result<MasterSettings> read_master_settings(const Config& config);

// Every entry of master.cf, resolved. Fails on the first entry that cannot work.
Result<std::vector<ServiceDefinition>> resolve_services(const MasterCf& master_cf,
                                                        const MasterSettings& settings);

}  // namespace postern::master
