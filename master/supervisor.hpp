// The supervisor: master's resident loop. It owns every service's sockets, keeps enough
// processes to serve them, reaps and replaces processes, throttles services whose
// programs die at start, sends wake-up triggers, and applies reload and stop signals.
//
// Where it sits: master/, root for its whole life. Its inputs are the configuration files
// and the status reports of its own children (12-byte records on a socket only they hold);
// neither comes from the network. A report that does not parse is logged and ignored.
//
// The spawning rule (Postfix's): a new process counts as available until it reports busy;
// master watches a service's listening sockets only while no process is available and
// the process limit leaves room, and spawns one process when a client is waiting.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "master/service_definition.hpp"
#include "util/event_loop.hpp"
#include "util/file.hpp"
#include "util/result.hpp"

namespace postern::master {

struct SupervisorOptions {
    std::string config_directory;
    bool debug = false;
    int verbose = 0;
};

class Supervisor {
  public:
    Supervisor(EventLoop& loop, SupervisorOptions options);
    ~Supervisor();

    // Reads the configuration and opens every service. At start-up any error is fatal to
    // the caller; nothing has been spawned yet.
    Status start();
    // Installs the signal handlers and the wake-up timers; the caller then runs the loop.
    void arm();
    // The exit status for master once the loop returns.
    int exit_status() const { return exit_status_; }

  private:
    struct Process {
        uint32_t generation = 0;
        bool available = true;
        int use_count = 0;
    };
    struct Service;

    Result<std::vector<ServiceDefinition>> load_definitions();
    Status open_service(ServiceDefinition definition, std::vector<Fd> listeners);
    void arm_service(Service& service);
    void update_listen_watch(Service& service);
    void spawn(Service& service);
    void throttle(Service& service);
    void read_status(Service& service);
    void apply_report(Service& service, pid_t pid, uint32_t generation, bool available);
    void reap_children();
    void child_exited(pid_t pid, int status);
    void retire_processes(Service& service);
    void send_wakeup(Service& service);
    void reload();
    void terminate(int signal_number);
    std::vector<std::string> child_environment(const Service& service) const;

    EventLoop& loop_;
    SupervisorOptions options_;
    MasterSettings settings_;
    std::map<std::string, std::unique_ptr<Service>> services_;  // by key
    // Processes of earlier generations and removed services: reaped, never replaced.
    std::map<pid_t, std::string> retired_;
    uint32_t next_generation_ = 1;
    std::vector<Event> signal_events_;
    int exit_status_ = 0;
    bool stopping_ = false;
};

}  // namespace postern::master
