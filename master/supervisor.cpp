#include "master/supervisor.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "build_config.hpp"
#include "config/config.hpp"
#include "config/master_cf.hpp"
#include "ipc/trigger.hpp"
#include "master/environment.hpp"
#include "master/listeners.hpp"
#include "master/spawn.hpp"
#include "server/master_protocol.hpp"
#include "util/log.hpp"

extern char** environ;

namespace postern::master {

using std::chrono::milliseconds;
using std::chrono::seconds;

struct Supervisor::Service {
    ServiceDefinition definition;
    std::vector<Fd> listeners;
    Fd status_master_end;
    Fd status_child_end;
    uint32_t generation = 0;
    std::map<pid_t, Process> processes;  // this generation's
    std::vector<Event> listen_watches;
    Event status_event;
    Event throttle_timer;
    Event wakeup_timer;
    bool throttled = false;
    bool watching = false;
    bool used = false;
    std::string status_buffer;

    size_t available_count() const {
        size_t count = 0;
        for (const auto& [pid, process] : processes)
            count += process.available ? 1 : 0;
        return count;
    }
    bool has_room() const {
        return definition.process_limit == 0 ||
               processes.size() < static_cast<size_t>(definition.process_limit);
    }
};

namespace {

// How long stop waits for children to go after SIGTERM before it uses SIGKILL.
constexpr auto kStopGrace = seconds(5);

void notify_systemd(const char* state) {
    sd_notify(0, state);
}

constexpr std::string_view kWakeup(&master_protocol::kWakeupRequest, 1);

std::string describe_exit(int status) {
    if (WIFEXITED(status))
        return "exit status " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status))
        return "killed by signal " + std::to_string(WTERMSIG(status));
    return "stopped";
}

}  // namespace

Supervisor::Supervisor(EventLoop& loop, SupervisorOptions options)
    : loop_(loop), options_(std::move(options)) {}

Supervisor::~Supervisor() = default;

Result<std::vector<ServiceDefinition>> Supervisor::load_definitions() {
    Result<Config> config = Config::load(options_.config_directory);
    if (!config)
        return config.error();
    Result<MasterSettings> settings = read_master_settings(*config);
    if (!settings)
        return settings.error();
    settings->debug = options_.debug;
    settings->verbose = options_.verbose;
    Result<MasterCf> master_cf = read_master_cf(options_.config_directory + "/master.cf");
    if (!master_cf)
        return master_cf.error();
    for (const std::string& warning : master_cf->warnings)
        log_warning("%s", warning.c_str());
    Result<std::vector<ServiceDefinition>> definitions = resolve_services(*master_cf, *settings);
    if (!definitions)
        return definitions.error();
    settings_ = std::move(*settings);
    return definitions;
}

Status Supervisor::start() {
    Result<std::vector<ServiceDefinition>> definitions = load_definitions();
    if (!definitions)
        return definitions.error();
    for (ServiceDefinition& definition : *definitions) {
        Result<std::vector<Fd>> listeners = open_listeners(definition);
        if (!listeners)
            return listeners.error();
        if (Status opened = open_service(std::move(definition), std::move(*listeners)); !opened)
            return opened;
    }
    return {};
}

Status Supervisor::open_service(ServiceDefinition definition, std::vector<Fd> listeners) {
    auto service = std::make_unique<Service>();
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0)
        return system_error("socketpair", errno);
    service->status_master_end.reset(pair[0]);
    service->status_child_end.reset(pair[1]);
    ::fcntl(pair[0], F_SETFL, O_NONBLOCK);
    service->definition = std::move(definition);
    service->listeners = std::move(listeners);
    service->generation = next_generation_++;
    std::string key = service->definition.key;
    services_[key] = std::move(service);
    return {};
}

void Supervisor::arm_service(Service& service) {
    Service* target = &service;
    service.status_event = Event::readable(loop_, service.status_master_end.get(), true,
                                           [this, target](EventReady) { read_status(*target); });
    service.status_event.arm();
    service.listen_watches.clear();
    for (const Fd& listener : service.listeners) {
        service.listen_watches.push_back(
            Event::readable(loop_, listener.get(), true, [this, target](EventReady) {
                if (target->watching)
                    spawn(*target);
            }));
    }
    service.watching = false;
    update_listen_watch(service);
    if (service.definition.wakeup_seconds > 0) {
        service.wakeup_timer = Event::timer(loop_, [this, target](EventReady) {
            send_wakeup(*target);
            target->wakeup_timer.arm(seconds(target->definition.wakeup_seconds));
        });
        service.wakeup_timer.arm(milliseconds(0));
    } else {
        service.wakeup_timer = Event();
    }
}

void Supervisor::arm() {
    auto on_signal = [this](int signal_number) {
        return [this, signal_number](EventReady) {
            if (signal_number == SIGHUP)
                reload();
            else if (signal_number == SIGCHLD)
                reap_children();
            else
                terminate(signal_number);
        };
    };
    for (int signal_number : {SIGHUP, SIGCHLD, SIGTERM, SIGINT, SIGQUIT}) {
        signal_events_.push_back(Event::signal(loop_, signal_number, on_signal(signal_number)));
        signal_events_.back().arm();
    }
    ::signal(SIGPIPE, SIG_IGN);
    for (auto& [key, service] : services_)
        arm_service(*service);
    // Children that exited before the SIGCHLD handler existed.
    reap_children();
}

void Supervisor::update_listen_watch(Service& service) {
    bool want = !service.throttled && service.available_count() == 0 && service.has_room();
    if (want == service.watching)
        return;
    service.watching = want;
    for (Event& watch : service.listen_watches) {
        if (want)
            watch.arm();
        else
            watch.disarm();
    }
}

std::vector<std::string> Supervisor::child_environment(const Service& service) const {
    std::vector<std::string> environment;
    for (char** variable = environ; *variable != nullptr; ++variable) {
        std::string_view text(*variable);
        if (!text.starts_with("MAIL_CONFIG=") &&
            !text.starts_with(std::string(kNotifySocketVariable) + "=") &&
            !text.starts_with(std::string(master_protocol::kGenerationVariable) + "="))
            environment.emplace_back(text);
    }
    environment.push_back("MAIL_CONFIG=" + options_.config_directory);
    environment.push_back(std::string(master_protocol::kGenerationVariable) + "=" +
                          std::to_string(service.generation));
    return environment;
}

void Supervisor::spawn(Service& service) {
    SpawnRequest request;
    request.service = &service.definition;
    request.status_fd = service.status_child_end.get();
    request.listeners = &service.listeners;
    request.environment = child_environment(service);
    Result<pid_t> pid = spawn_process(request);
    if (!pid) {
        log_warning("%s: %s", service.definition.program_path.c_str(),
                    pid.error().message().c_str());
        throttle(service);
        return;
    }
    log_debug(1, "spawn: %s pid %d", service.definition.program_path.c_str(),
              static_cast<int>(*pid));
    service.processes[*pid] = Process{service.generation, true, 0};
    service.used = true;
    update_listen_watch(service);
}

void Supervisor::throttle(Service& service) {
    if (service.throttled)
        return;
    service.throttled = true;
    // Postfix's line names only the program; this one says which service waits and how long.
    log_warning("service %s: no new processes for %d seconds (service_throttle_time)",
                service.definition.key.c_str(), settings_.service_throttle_time);
    update_listen_watch(service);
    Service* target = &service;
    service.throttle_timer = Event::timer(loop_, [this, target](EventReady) {
        target->throttled = false;
        update_listen_watch(*target);
    });
    service.throttle_timer.arm(seconds(settings_.service_throttle_time));
}

void Supervisor::read_status(Service& service) {
    char buffer[4096];
    for (;;) {
        ssize_t got = ::read(service.status_master_end.get(), buffer, sizeof buffer);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        service.status_buffer.append(buffer, static_cast<size_t>(got));
    }
    constexpr size_t kSize = sizeof(master_protocol::StatusReport);
    size_t offset = 0;
    for (; service.status_buffer.size() - offset >= kSize; offset += kSize) {
        master_protocol::StatusReport report;
        std::memcpy(&report, service.status_buffer.data() + offset, kSize);
        apply_report(service, report.pid, report.generation,
                     report.available == master_protocol::kStatusIdle);
    }
    service.status_buffer.erase(0, offset);
    update_listen_watch(service);
}

void Supervisor::apply_report(Service& service, pid_t pid, uint32_t generation, bool available) {
    auto found = service.processes.find(pid);
    if (found == service.processes.end() || found->second.generation != generation) {
        // A process of an earlier generation, or one already reaped: nothing to count.
        log_debug(1, "status report from pid %d generation %u ignored", static_cast<int>(pid),
                  generation);
        return;
    }
    Process& process = found->second;
    if (process.available && !available)
        ++process.use_count;
    process.available = available;
}

void Supervisor::reap_children() {
    for (;;) {
        int status = 0;
        pid_t pid = ::waitpid(-1, &status, WNOHANG);
        if (pid <= 0)
            break;
        child_exited(pid, status);
    }
}

void Supervisor::child_exited(pid_t pid, int status) {
    bool normal = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (auto retired = retired_.find(pid); retired != retired_.end()) {
        // During stop, a process ended by master's own SIGTERM is no news.
        if (!normal && !(stopping_ && WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM))
            log_warning("process %s pid %d %s", retired->second.c_str(), static_cast<int>(pid),
                        describe_exit(status).c_str());
        retired_.erase(retired);
        return;
    }
    for (auto& [key, service] : services_) {
        auto found = service->processes.find(pid);
        if (found == service->processes.end())
            continue;
        const std::string& path = service->definition.program_path;
        if (!normal) {
            log_warning("process %s pid %d %s", path.c_str(), static_cast<int>(pid),
                        describe_exit(status).c_str());
            if (found->second.use_count == 0 && !service->throttled) {
                log_warning("%s: bad command startup -- throttling", path.c_str());
                throttle(*service);
            }
        }
        service->processes.erase(found);
        update_listen_watch(*service);
        return;
    }
    // Not ours to know: in init mode (-i) orphans are reaped here too.
}

void Supervisor::retire_processes(Service& service) {
    for (const auto& [pid, process] : service.processes)
        retired_[pid] = service.definition.program_path;
    service.processes.clear();
}

void Supervisor::send_wakeup(Service& service) {
    if (service.definition.wakeup_only_if_used && !service.used)
        return;
    const ServiceDefinition& definition = service.definition;
    Status sent;
    switch (definition.type) {
        case ServiceType::fifo:
            sent = send_trigger(definition.socket_path, TriggerEndpoint::fifo, kWakeup);
            break;
        case ServiceType::unix_stream:
        case ServiceType::pass:
            sent = send_trigger(definition.socket_path, TriggerEndpoint::stream_socket, kWakeup);
            break;
        case ServiceType::unix_dgram:
            sent = send_trigger(definition.socket_path, TriggerEndpoint::datagram_socket, kWakeup);
            break;
        case ServiceType::inet:
            sent = Error(ErrorKind::config, "wakeup is not supported for inet services");
            break;
    }
    // A full backlog means the service has plenty of requests already.
    if (!sent && sent.error().message().find("Resource temporarily") == std::string::npos)
        log_warning("%s: wakeup %s: %s", definition.key.c_str(), definition.name.c_str(),
                    sent.error().message().c_str());
}

void Supervisor::reload() {
    notify_systemd("RELOADING=1");
    // After `postfix logrotate` renamed maillog_file, this starts the new file; the
    // daemons open it anew as they restart with the new generation.
    if (Status reopened = log_reopen(); !reopened)
        log_warning("%s", reopened.error().message().c_str());
    log_info("reload -- version %s, configuration %s", POSTERN_MAIL_VERSION,
             options_.config_directory.c_str());
    Result<std::vector<ServiceDefinition>> definitions = load_definitions();
    if (!definitions) {
        log_warning("reload failed, the running configuration is kept: %s",
                    definitions.error().message().c_str());
        notify_systemd("READY=1");
        return;
    }
    std::map<std::string, std::unique_ptr<Service>> previous;
    previous.swap(services_);
    for (ServiceDefinition& definition : *definitions) {
        std::vector<Fd> listeners;
        auto old = previous.find(definition.key);
        if (old != previous.end() &&
            old->second->definition.endpoint_signature() == definition.endpoint_signature()) {
            listeners = std::move(old->second->listeners);
        } else {
            if (old != previous.end()) {
                // Same name, other sockets: the old ones must go before the new bind.
                retire_processes(*old->second);
                previous.erase(old);
            }
            Result<std::vector<Fd>> opened = open_listeners(definition);
            if (!opened) {
                log_warning("%s: %s", definition.key.c_str(), opened.error().message().c_str());
                continue;
            }
            listeners = std::move(*opened);
        }
        if (Status ok = open_service(std::move(definition), std::move(listeners)); !ok)
            log_warning("%s", ok.error().message().c_str());
    }
    // Old generations finish their current client and exit when their status socket
    // closes, which happens as `previous` goes out of scope.
    for (auto& [key, service] : previous) {
        retire_processes(*service);
        if (!services_.contains(key) && !service->definition.socket_path.empty())
            ::unlink(service->definition.socket_path.c_str());
    }
    previous.clear();
    for (auto& [key, service] : services_)
        arm_service(*service);
    notify_systemd("READY=1");
}

void Supervisor::terminate(int signal_number) {
    notify_systemd("STOPPING=1");
    log_info("terminating on signal %d", signal_number);
    stopping_ = true;
    for (auto& [key, service] : services_)
        retire_processes(*service);
    services_.clear();  // closes every listening socket: no new clients
    for (const auto& [pid, path] : retired_)
        ::kill(pid, SIGTERM);
    auto deadline = std::chrono::steady_clock::now() + kStopGrace;
    while (!retired_.empty() && std::chrono::steady_clock::now() < deadline) {
        reap_children();
        std::this_thread::sleep_for(milliseconds(20));
    }
    for (const auto& [pid, path] : retired_) {
        log_warning("process %s pid %d did not stop: killing it", path.c_str(),
                    static_cast<int>(pid));
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
    }
    retired_.clear();
    loop_.stop();
}

}  // namespace postern::master
