// local(8)'s delivery function; see local_agent.hpp.
#include "local/local_agent.hpp"

#include "local/delivered_to.hpp"
#include "local/expansion.hpp"
#include "local/forward.hpp"

namespace postern::local {

namespace {

// Submits what the recipient's expansion forwards; one report per new message.
void submit_forwards(RecipientRun& run, ServerContext& context) {
    if (run.forwards.empty())
        return;
    DeliverySession& session = run.request.session;
    ForwardContext forward;
    forward.queue_path = run.request.queue_path;
    forward.arrival = session.request().times.arrival;
    forward.timeout =
        std::chrono::duration_cast<std::chrono::milliseconds>(context.settings.ipc_timeout);
    forward.delivered_to_header =
        (run.request.settings.prepend_delivered & delivered_header::forward) != 0;
    forward.smtputf8 = (session.request().flags & delivery_flag::smtputf8) != 0;
    for (const ForwardMessage& message : run.forwards.messages()) {
        auto queued = submit_forward(message, forward);
        DeliveryStatus status;
        if (queued) {
            status = make_delivery_status("2.0.0", "forwarded as " + *queued);
            status.action = std::string(dsn_action::relayed);
            session.report(run.index, ReportKind::sent, status);
        } else {
            status = make_delivery_status(queued.error().enhanced_status().empty()
                                              ? std::string_view("4.3.0")
                                              : std::string_view(queued.error().enhanced_status()),
                                          queued.error().message());
            session.report(run.index, ReportKind::deferred, status);
        }
    }
    run.forwards.clear();
}

}  // namespace

Result<UserRights> default_privs_account(const std::string& config_directory,
                                         const std::string& name) {
    std::string prefix = "file " + config_directory + "/main.cf: parameter default_privs: ";
    auto account = user_by_name(name);
    if (!account)
        return Error(ErrorKind::config, prefix + "unknown user name value: " + name);
    if (account->uid == 0)
        return Error(ErrorKind::config, prefix + "user " + name + " has privileged user ID: 0");
    if (account->gid == 0)
        return Error(ErrorKind::config, prefix + "user " + name + " has privileged group ID: 0");
    return account;
}

Result<std::unique_ptr<LocalAgent>> LocalAgent::open(const ServerContext& context) {
    auto settings = LocalSettings::from_config(context.config);
    if (!settings)
        return settings.error();
    auto privs = default_privs_account(context.config_directory, settings->default_privs);
    if (!privs)
        return privs.error();
    auto aliases = AliasTables::open(settings->alias_maps);
    if (!aliases)
        return aliases.error();
    ResolverOptions options;
    options.tables.surrogate_on_open_error = true;
    auto resolver = AddressResolver::open(context.config, options);
    if (!resolver)
        return resolver.error();
    return std::unique_ptr<LocalAgent>(new LocalAgent(std::move(*settings), std::move(*aliases),
                                                      std::move(*resolver), std::move(*privs)));
}

Status LocalAgent::deliver(DeliverySession& session, ServerContext& context) {
    const std::string& queue_path = session.queue_file_path();
    auto headers = DeliveredToHeaders::read(queue_path);
    if (!headers) {
        session.defer_remaining(make_delivery_status("4.3.0", headers.error().message()));
        return {};
    }
    DuplicateFilter filter(settings_.duplicate_filter_limit);
    RequestContext request{session,  settings_,      aliases_, *resolver_,
                           *headers, default_privs_, filter,   queue_path};
    const DeliveryRequest& delivery = session.request();
    for (size_t i = 0; i < delivery.recipients.size(); ++i) {
        RecipientRun run{request, i, {}};
        deliver_recipient(run, initial_state(delivery, delivery.recipients[i], settings_));
        submit_forwards(run, context);
        // Everything it led to was a duplicate: done, without a status line, as Postfix.
        session.done_without_report(i);
    }
    return {};
}

}  // namespace postern::local
