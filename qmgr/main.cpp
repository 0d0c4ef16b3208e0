// qmgr: the queue manager daemon, Postfix's qmgr(8), on the trigger skeleton.
//
//   master.cf:  qmgr  unix  n  -  n  300  1  qmgr
//
// Where it sits: between cleanup (which writes incoming/ and wakes qmgr) and the delivery
// agents and the bounce service (which qmgr sends requests to); see queue_manager.hpp for
// the flow. Triggers arrive on public/qmgr from local processes, some unprivileged
// (postqueue -f): they are untrusted bytes, of which qmgr reads only the letters of
// lib/ipc/trigger.hpp. The skeleton drops to mail_owner before the first trigger; the
// tables of address resolution (transport_maps...) are opened before that, as root.
//
// qmgr runs for good: max_use and max_idle do not apply to it (as Postfix's qmgr sets
// them off). When a resolution table changes it opens a new resolver (when the file is
// readable as mail_owner; otherwise the skeleton restarts the process, as for any daemon).
#include <memory>

#include "config/master_cf.hpp"
#include "mail/resolve.hpp"
#include "qmgr/qmgr_settings.hpp"
#include "qmgr/queue_manager.hpp"
#include "server/trigger_server.hpp"
#include "util/log.hpp"

using namespace postern;

namespace {

// Enough answers for the recipients of a full active queue's distinct destinations.
constexpr size_t kResolverCacheSize = 20000;

struct Qmgr {
    std::unique_ptr<QmgrSettings> settings;
    std::unique_ptr<AddressResolver> resolver;
    std::unique_ptr<QueueManager> manager;
};

Qmgr& qmgr() {
    static Qmgr instance;
    return instance;
}

Result<std::unique_ptr<AddressResolver>> open_resolver(const Config& config) {
    ResolverOptions options;
    options.tables.surrogate_on_open_error = true;
    options.cache_size = kResolverCacheSize;
    return AddressResolver::open(config, options);
}

// A table the resolver reads was replaced: use a resolver that reads the new one.
void reopen_changed_resolver(const Config& config) {
    auto changed = qmgr().resolver->changed_table();
    if (!changed)
        return;
    auto reopened = open_resolver(config);
    if (!reopened) {
        log_warning("table %s has changed, reopen failed: %s", changed->c_str(),
                    reopened.error().message().c_str());
        return;
    }
    log_info("table %s has changed -- reopening", changed->c_str());
    qmgr().resolver = std::move(*reopened);
}

Status pre_init(ServerContext& context) {
    context.settings.max_use = 0;
    context.settings.max_idle = std::chrono::seconds(0);
    if (auto timeout = context.config.get_time_seconds("qmgr_daemon_timeout"))
        context.settings.daemon_timeout = std::chrono::seconds(*timeout);
    if (auto timeout = context.config.get_time_seconds("qmgr_ipc_timeout"))
        context.settings.ipc_timeout = std::chrono::seconds(*timeout);
    auto master_cf = read_master_cf(context.config_directory + "/master.cf");
    if (!master_cf)
        log_warning("%s; every transport gets $default_process_limit",
                    master_cf.error().message().c_str());
    qmgr().settings = std::make_unique<QmgrSettings>(
        QmgrSettings::read(context.config, master_cf ? &*master_cf : nullptr));
    auto resolver = open_resolver(context.config);
    if (!resolver)
        return resolver.error();
    qmgr().resolver = std::move(*resolver);
    return {};
}

Status post_init(ServerContext& context) {
    auto resolve = [](std::string_view sender, std::string_view recipient) {
        return qmgr().resolver->resolve(sender, recipient);
    };
    qmgr().manager = std::make_unique<QueueManager>(*context.event_loop, context.config,
                                                    *qmgr().settings, resolve);
    const Config& config = context.config;
    qmgr().manager->on_deferred_scan = [&config] { reopen_changed_resolver(config); };
    qmgr().manager->start();
    return {};
}

Status trigger(std::string_view request, ServerContext& context) {
    reopen_changed_resolver(context.config);
    qmgr().manager->trigger(request);
    return {};
}

}  // namespace

int main(int argc, char** argv) {
    return run_trigger_server(
        argc, argv,
        TriggerServerHooks{
            .trigger = trigger, .pre_init = pre_init, .post_init = post_init, .solitary = true});
}
