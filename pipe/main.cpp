// pipe: Postfix's pipe(8) delivery agent. Delivers a message to an external command named
// by the service's master.cf attributes:
//
//   name unix - n n - - pipe flags=DRhu user=nobody argv=/usr/bin/cmd ${sender} ${recipient}
//
// Where it sits: after qmgr, which sends delivery requests on private/NAME when
// transport_maps routes mail to the service. What goes out: one run of the command per
// request (qmgr's NAME_destination_recipient_limit = 1 gives one per recipient), the
// message on its standard input with the envelope lines the flags ask for (F: From_,
// R: Return-Path, O: X-Original-To, D: Delivered-To, >: ">From" quoting), one status line
// per recipient ("delivered via NAME service"; relay=NAME), defer/bounce records.
// The exit status decides, as Postfix's: 0 sent, a <sysexits.h> code its status
// (EX_TEMPFAIL 75 deferred, EX_NOUSER 67 bounced...), output that starts with an
// enhanced status code that code, NAME_time_limit passed "5.3.0 Command time limit
// exceeded" (local/command.hpp runs the command: the same job as local's |command).
//
// Privileges: not unprivileged in master.cf, so it stays root (effective mail_owner
// between deliveries, as local); the command runs as user= (never root) for good.
#include <grp.h>
#include <signal.h>

#include <memory>

#include "local/command.hpp"
#include "local/identity.hpp"
#include "pipe/pipe_command_line.hpp"
#include "queue/delivery_agent.hpp"
#include "server/single_server.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

using namespace postern;

namespace {

struct PipeService {
    pipe::PipeAttributes attributes;
    uid_t uid = 0;
    gid_t gid = 0;
    std::chrono::seconds time_limit{1000};
    std::string recipient_delimiter;
    std::string name;
};

std::unique_ptr<PipeService> service;

std::string parameter(const ServerContext& context, const std::string& name, std::string fallback) {
    // NAME_time_limit is per service: main.cf sets it without a table entry.
    if (auto set = context.config.explicit_value(name))
        return std::string(*set);
    if (!context.config.is_known(name))
        return fallback;
    auto value = context.config.get(name);
    return value ? *value : fallback;
}

Status open_service(ServerContext& context) {
    ::signal(SIGPIPE, SIG_IGN);
    auto attributes = pipe::parse_pipe_attributes(context.arguments());
    if (!attributes)
        return attributes.error();
    auto opened = std::make_unique<PipeService>();
    opened->attributes = std::move(*attributes);
    opened->name = context.service_name();
    auto user = local::user_by_name(opened->attributes.user);
    if (!user)
        return Error(ErrorKind::config, "user= command-line attribute: " + user.error().message());
    opened->uid = user->uid;
    opened->gid = user->gid;
    if (!opened->attributes.group.empty()) {
        group* found = ::getgrnam(opened->attributes.group.c_str());
        if (!found)
            return Error(ErrorKind::config, "unknown group: " + opened->attributes.group);
        opened->gid = found->gr_gid;
    }
    if (opened->uid == 0 || opened->gid == 0)
        return Error(ErrorKind::config, "user= command-line attribute specifies root privileges");
    std::string limit = parameter(context, opened->name + "_time_limit",
                                  parameter(context, "command_time_limit", "1000s"));
    if (auto seconds = parse_time(limit); seconds)
        opened->time_limit = std::chrono::seconds(*seconds);
    opened->recipient_delimiter = parameter(context, "recipient_delimiter", "");
    service = std::move(opened);
    return {};
}

Status rest_as_mail_owner(ServerContext& context) {
    local::rest_as_mail_owner(context.mail_owner);
    return {};
}

Status deliver(DeliverySession& session, ServerContext&) {
    const DeliveryRequest& request = session.request();
    const pipe::PipeAttributes& attributes = service->attributes;
    if (attributes.size_limit > 0 && request.data_size > attributes.size_limit) {
        session.bounce_remaining(make_delivery_status("5.2.3", "message too large"));
        return {};
    }
    std::vector<size_t> recipients;
    for (size_t i = 0; i < request.recipients.size(); ++i)
        recipients.push_back(i);
    local::CommandSpec spec;
    spec.argv = pipe::expand_argv(attributes, request, recipients, service->recipient_delimiter);
    spec.command = spec.argv.front();
    spec.uid = service->uid;
    spec.gid = service->gid;
    spec.working_directory = attributes.directory;
    spec.time_limit = service->time_limit;
    spec.environment = {"PATH=/usr/bin:/bin"};
    local::CopyOptions copy;
    copy.sender = request.sender;
    copy.from_line = attributes.has('F');
    copy.return_path = attributes.has('R');
    copy.quote_from = attributes.has('>');
    copy.blank_line = attributes.has('B');
    const DeliveryRecipient& first = request.recipients.front();
    if (attributes.has('O'))
        copy.original = first.original.empty() ? first.address : first.original;
    copy.delivered_to = attributes.has('D');
    copy.delivered = first.address;
    local::CommandOutcome outcome =
        local::deliver_to_command(spec, session.queue_file_path(), copy);
    DeliveryStatus status = outcome.status;
    // The command's last line end (a space once printable) says nothing in the reason.
    status.reason = std::string(trim_right(status.reason));
    if (outcome.kind == ReportKind::sent)
        status = make_delivery_status("2.0.0", "delivered via " + service->name + " service");
    for (size_t index : recipients)
        session.report(index, outcome.kind, status, service->name);
    return {};
}

Status serve(ClientConnection& client, ServerContext& context) {
    return serve_delivery_requests(client, context, deliver);
}

}  // namespace

int main(int argc, char** argv) {
    return run_single_server(
        argc, argv,
        SingleServerHooks{
            .serve = serve, .pre_init = open_service, .post_init = rest_as_mail_owner});
}
