// What every daemon knows about itself once its skeleton has started it: the command line,
// the configuration (main.cf, the service's `-o` overrides on top), the standard settings
// the skeletons obey, and the mail_owner account.
//
// Where it sits: lib/server, between lib/config and the skeletons. Daemons receive a
// ServerContext in each hook and read their own parameters from `config` (typed reads, as
// STYLE.md habit 2 asks). Nothing here is untrusted input: main.cf and master.cf are the
// administrator's, and an error in them is a `fatal:` line at start-up.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "server/server_options.hpp"
#include "util/privileges.hpp"
#include "util/result.hpp"

namespace postern {

class EventLoop;

// The parameters every skeleton obeys. A daemon may change them in its pre_init hook
// (qmgr sets max_use and max_idle to 0, as Postfix's does); 0 means "no limit" there. From
// main.cf or -o, each must be at least 1, as in Postfix.
struct ServerSettings {
    int64_t max_use = 100;                       // clients (or triggers) before the process exits
    std::chrono::seconds max_idle{100};          // idle time before the process exits
    std::chrono::seconds ipc_timeout{3600};      // for the daemon's internal connections
    std::chrono::seconds daemon_timeout{18000};  // the watchdog: longest time on one request
    std::string queue_directory;                 // the working directory, and the chroot jail
    std::string mail_owner;                      // the account -u drops to
    std::string setgid_group;                    // checked against mail_owner, as Postfix does
    // Many-clients skeleton only, and not a main.cf parameter: the number of clients at
    // which the process stops accepting and reports busy (multi_server.hpp); 0: no limit.
    size_t client_limit = 0;
};

// Reads max_use, max_idle, ipc_timeout, daemon_timeout, queue_directory, mail_owner and
// setgid_group. Errors name the parameter and its value.
Result<ServerSettings> read_server_settings(const Config& config);

// main.cf from `config_directory`, then the parameters the service brings
// (add_service_parameters), the `-o` overrides in order, and config_directory and
// service_name set to what this process runs as.
Result<Config> load_server_config(const std::string& config_directory,
                                  const ServerOptions& options);

class ServerContext {
  public:
    ServerContext(ServerOptions options, Config config, ServerSettings settings,
                  std::string config_directory)
        : options(std::move(options)),
          config(std::move(config)),
          settings(std::move(settings)),
          config_directory(std::move(config_directory)) {}
    ServerContext(const ServerContext&) = delete;
    ServerContext& operator=(const ServerContext&) = delete;

    const std::string& service_name() const { return options.service_name; }
    // The daemon-specific words after the options (pipe's "flags=R user=...").
    const std::vector<std::string>& arguments() const { return options.arguments; }

    ServerOptions options;
    Config config;
    ServerSettings settings;
    std::string config_directory;
    // Looked up and checked at start-up whether or not -u is given, as Postfix does.
    UserAccount mail_owner;
    // The event-driven skeletons' loop, for the daemon's own events (timers, its clients);
    // null in the single-client skeleton. It outlives every object the daemon creates.
    EventLoop* event_loop = nullptr;
};

}  // namespace postern
