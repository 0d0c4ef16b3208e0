#include "server/server_startup.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#include <sanitizer/lsan_interface.h>
#endif
#endif

#include "config/log_settings.hpp"
#include "server/master_protocol.hpp"
#include "util/log.hpp"
#include "util/privileges.hpp"

namespace postern {

namespace {

// As Postfix's msg_error(): this many failed accepts in a row end the process.
constexpr int kAcceptErrorLimit = 13;

template <typename T>
T value_or_die(Result<T> result) {
    if (!result)
        log_fatal(result.error());
    return std::move(*result);
}

void die_on_error(const Status& status) {
    if (!status)
        log_fatal(status.error());
}

// Until main.cf is read: Postfix's defaults, and stderr too (master gives /dev/null there,
// a person running the daemon by hand sees why it would not start).
void init_early_logging(const std::string& program) {
    LogSettings settings;
    settings.program = program;
    settings.also_stderr = true;
    (void)log_init(settings);
}

void init_logging(const Config& config, const ServerOptions& options) {
    LogSettings settings = log_settings_from_config(config, options.program);
    settings.verbose = options.verbose;
    // Stand-alone (-S, under sendmail -bs) has a person at the other end: they see errors.
    settings.also_stderr = options.debug || options.stand_alone || ::isatty(STDERR_FILENO) == 1;
    die_on_error(log_init(settings));
}

void check_transport(const ServerOptions& options, const SkeletonTraits& traits) {
    if (options.stand_alone)
        return;
    if (!options.transport)
        log_fatal("no transport type specified");
    const auto& supported = traits.transports;
    if (std::find(supported.begin(), supported.end(), *options.transport) == supported.end())
        log_fatal("unsupported transport type: %s",
                  std::string(service_type_name(*options.transport)).c_str());
}

void check_process_limit(const ServerOptions& options, const SkeletonTraits& traits) {
    if (options.stand_alone)
        return;
    if (traits.solitary && !options.solitary)
        log_fatal("service %s requires a process limit of 1", options.service_name.c_str());
    if (traits.unlimited && !options.unlimited)
        log_fatal("service %s requires a process limit of 0", options.service_name.c_str());
}

UserAccount check_accounts(const std::string& config_directory, const ServerSettings& settings) {
    return value_or_die(
        check_mail_accounts(config_directory, settings.mail_owner, settings.setgid_group));
}

// Every daemon works in the queue directory, chrooted or not, so that the queue's
// relative paths ("incoming/...", "private/...") mean the same in both cases.
void enter_queue_directory(const ServerSettings& settings) {
    if (::chdir(settings.queue_directory.c_str()) != 0)
        log_fatal("chdir(\"%s\"): %m", settings.queue_directory.c_str());
}

// Master's descriptors must not leak into programs the daemon runs (pipe, local's
// commands); listening sockets are non-blocking because every process of the service
// waits on them and only one wins each connection.
int checked_descriptor(int fd, const char* what) {
    int flags = ::fcntl(fd, F_GETFD);
    if (flags < 0)
        log_fatal("descriptor %d (%s) is not open: not started by master?", fd, what);
    if (::fcntl(fd, F_SETFD, flags | FD_CLOEXEC) != 0)
        log_fatal("fcntl descriptor %d: %m", fd);
    return fd;
}

std::vector<Fd> take_listeners(const ServerOptions& options) {
    std::vector<Fd> listeners;
    if (options.stand_alone)
        return listeners;
    for (int i = 0; i < options.listen_count; ++i) {
        int fd = checked_descriptor(master_protocol::kListenFd + i, "listening socket");
        int flags = ::fcntl(fd, F_GETFL);
        if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0)
            log_fatal("fcntl descriptor %d: %m", fd);
        listeners.emplace_back(fd);
    }
    return listeners;
}

MasterStatus take_status(const ServerOptions& options) {
    if (options.stand_alone)
        return MasterStatus(-1, 0);
    int fd = checked_descriptor(master_protocol::kStatusFd, "master status");
    return MasterStatus(fd, MasterStatus::generation_from_environment());
}

extern "C" void terminate_now(int) {
    ::_exit(0);
}

// SIGTERM from master means stop now, whatever the daemon is doing; a peer that goes
// away must give EPIPE, not kill the process.
void install_signal_handlers() {
    struct sigaction action {};
    action.sa_handler = terminate_now;
    sigemptyset(&action.sa_mask);
    if (::sigaction(SIGTERM, &action, nullptr) != 0)
        log_fatal("sigaction SIGTERM: %m");
    ::signal(SIGPIPE, SIG_IGN);
}

bool nothing_to_accept(int error) {
    switch (error) {
        case EAGAIN:
#if EWOULDBLOCK != EAGAIN
        case EWOULDBLOCK:
#endif
        case EINTR:
        case ECONNABORTED:
        case EPROTO:
        case ENETDOWN:
        case ENOPROTOOPT:
        case EHOSTDOWN:
        case ENONET:
        case EHOSTUNREACH:
        case EOPNOTSUPP:
        case ENETUNREACH:
            return true;
        default:
            return false;
    }
}

// A sanitizer build's leak check at exit needs /proc, which a chrooted daemon has lost: it
// would fail and turn every normal exit into status 1. Check now instead (this also turns
// the check at exit off).
void check_leaks_before_chroot() {
#if defined(__SANITIZE_ADDRESS__)
    __lsan_do_leak_check();
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
    __lsan_do_leak_check();
#endif
#endif
}

}  // namespace

void keep_until_exit(const void* object) {
    static auto* kept = new std::vector<const void*>();
    kept->push_back(object);
}

StartedServer::StartedServer(ServerContext&& context, MasterStatus status,
                             std::vector<Fd> listeners)
    : context(std::move(context.options), std::move(context.config), std::move(context.settings),
              std::move(context.config_directory)),
      status(status),
      listeners(std::move(listeners)) {
    this->context.mail_owner = std::move(context.mail_owner);
}

StartedServer& start_server(int argc, char** argv, const SkeletonTraits& traits) {
    init_early_logging(program_base_name(argc > 0 && argv[0] != nullptr ? argv[0] : ""));
    ServerOptions options = value_or_die(parse_server_options(argc, argv));
    check_transport(options, traits);
    check_process_limit(options, traits);
    std::string config_directory = Config::default_config_directory();
    Config config = value_or_die(load_server_config(config_directory, options));
    init_logging(config, options);
    ServerSettings settings = value_or_die(read_server_settings(config));
    UserAccount owner = check_accounts(config_directory, settings);
    enter_queue_directory(settings);
    std::vector<Fd> listeners = take_listeners(options);
    MasterStatus status = take_status(options);
    install_signal_handlers();

    ServerContext context(std::move(options), std::move(config), std::move(settings),
                          std::move(config_directory));
    context.mail_owner = std::move(owner);
    return make_until_exit<StartedServer>(std::move(context), status, std::move(listeners));
}

void run_init_hook(const std::function<Status(ServerContext&)>& hook, ServerContext& context) {
    if (hook)
        die_on_error(hook(context));
}

void run_exit_hook(const std::function<void(ServerContext&)>& hook, ServerContext& context) {
    if (hook)
        hook(context);
}

void give_up_root(const ServerContext& context) {
    if (context.options.chroot) {
        check_leaks_before_chroot();
        die_on_error(enter_chroot(context.settings.queue_directory));
    }
    if (context.options.unprivileged)
        die_on_error(drop_privileges(context.mail_owner));
}

Result<Fd> accept_client(int listen_fd, int flags) {
    static int errors_in_a_row = 0;
    Fd client(::accept4(listen_fd, nullptr, nullptr, flags | SOCK_CLOEXEC));
    if (client.valid()) {
        errors_in_a_row = 0;
        return client;
    }
    int saved = errno;
    if (nothing_to_accept(saved))
        return Error(ErrorKind::temporary, "no connection to accept");
    if (++errors_in_a_row >= kAcceptErrorLimit)
        log_fatal("accept connection: %s: too many errors - program terminated",
                  std::strerror(saved));
    return system_error("accept connection", saved);
}

Result<ReceivedFd> receive_passed_client(int listen_fd) {
    int accepting = 0;
    socklen_t length = sizeof accepting;
    if (::getsockopt(listen_fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &length) != 0)
        return system_error("getsockopt SO_ACCEPTCONN", errno);
    if (accepting == 0)
        return receive_fd(listen_fd);
    auto connection = accept_client(listen_fd, 0);
    if (!connection)
        return connection.error();
    struct timeval timeout {};
    timeout.tv_sec = static_cast<time_t>(kPassTimeout.count());
    if (::setsockopt(connection->get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout) != 0)
        return system_error("setsockopt SO_RCVTIMEO", errno);
    auto received = receive_fd(connection->get());
    if (!received && received.error().kind() == ErrorKind::temporary)
        return Error(ErrorKind::timeout, "timeout receiving a passed client descriptor");
    if (!received)
        return Error(received.error().kind(),
                     "receive passed client descriptor: " + received.error().message());
    return received;
}

}  // namespace postern
