// postqueue -f (qmgr and pickup triggers), -i ID and -s SITE (the fast-flush service).
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "ipc/trigger.hpp"
#include "mail/host_syntax.hpp"
#include "queue/flush_client.hpp"
#include "queue/queue_id.hpp"
#include "tools/postqueue/postqueue.hpp"
#include "util/log.hpp"

namespace postern::postqueue {
namespace {

using namespace std::string_view_literals;

// What Postfix's postqueue -f sends: forget dead destinations, ignore the retry times,
// scan deferred/ and incoming/ (qmgr); and look in maildrop/ (pickup). The NUL that
// ends each request is part of what Postfix sends.
constexpr std::string_view kQmgrFlushRequest = "FADI\0"sv;
constexpr std::string_view kPickupWakeupRequest = "W\0"sv;

[[noreturn]] void mail_system_down() {
    log_fatal("Cannot flush mail queue - mail system is down");
}

// The trigger, or a warning naming the public service as Postfix's does.
bool trigger(const Invocation& invocation, std::string_view service, std::string_view request,
             bool warn) {
    std::string relative = "public/" + std::string(service);
    std::string path = invocation.queue_directory + "/" + relative;
    struct stat info {};
    if (::stat(path.c_str(), &info) != 0) {
        if (warn)
            log_warning("unable to look up %s: %s", relative.c_str(), std::strerror(errno));
        return false;
    }
    Status sent = send_trigger_to_service(path, request);
    if (!sent && warn) {
        const std::string& text = sent.error().message();
        size_t colon = text.rfind(": ");
        log_warning("connect to %s: %s", relative.c_str(),
                    colon == std::string::npos ? text.c_str() : text.c_str() + colon + 2);
    }
    return sent.ok();
}

// A destination as Postfix's postqueue -s accepts it: a host name or an [address literal].
bool valid_destination(std::string_view site) {
    return valid_hostname(site) || valid_mailhost_literal(site);
}

// At most 100 bytes of an untrusted name in a message, "..." when there was more.
std::string shortened(const std::string& text) {
    return text.size() > 100 ? text.substr(0, 100) + "..." : text;
}

FlushClientSettings client_settings(const Invocation& invocation, const FastFlushDomains* domains) {
    FlushClientSettings settings;
    settings.queue_directory = invocation.queue_directory;
    settings.timeout = invocation.ipc_timeout;
    settings.domains = domains;
    return settings;
}

// The flush service's answer as postqueue reports it.
int report_flush_status(Result<int64_t> status, std::string_view subject) {
    if (!status) {
        const std::string& text = status.error().message();
        size_t colon = text.rfind(": ");
        log_warning("connect to public/flush: %s",
                    colon == std::string::npos ? text.c_str() : text.c_str() + colon + 2);
        mail_system_down();
    }
    std::string what(subject);
    switch (*status) {
        case flush_status::ok:
            return 0;
        case flush_status::bad:
            log_fatal("Invalid request: \"%s\"", what.c_str());
        case flush_status::fail:
            mail_system_down();
        case flush_status::deny:
            log_fatal("Flush service is not configured for destination \"%s\"", what.c_str());
        default:
            log_fatal("Unknown flush server reply status %lld", static_cast<long long>(*status));
    }
}

}  // namespace

int flush_queue(const Invocation& invocation) {
    if (!trigger(invocation, "qmgr", kQmgrFlushRequest, true))
        mail_system_down();
    if (!trigger(invocation, "pickup", kPickupWakeupRequest, false))
        mail_system_down();
    return 0;
}

int flush_queue_id(const Invocation& invocation, const std::string& queue_id) {
    if (!queue_id_ok(queue_id))
        log_fatal("Cannot flush queue ID - invalid name: \"%s\"", queue_id.c_str());
    return report_flush_status(flush_send_file(client_settings(invocation, nullptr), queue_id),
                               queue_id);
}

int flush_site(const Invocation& invocation, const std::string& site) {
    if (!valid_destination(site))
        log_fatal("Cannot flush mail queue - invalid destination: \"%s\"", shortened(site).c_str());
    Result<FastFlushDomains> domains = FastFlushDomains::from_config(invocation.config);
    if (!domains)
        log_fatal(domains.error());
    return report_flush_status(flush_send_site(client_settings(invocation, &*domains), site), site);
}

}  // namespace postern::postqueue
