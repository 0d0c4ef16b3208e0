// bounce: Postern's delivery status notification daemon (Postfix's bounce(8)), behind the
// master.cf services bounce, defer and trace:
//
//   bounce    unix  -       -       n       -       0       bounce
//   defer     unix  -       -       n       -       0       bounce
//   trace     unix  -       -       n       -       0       bounce
//
// In: requests from qmgr (lib/queue/bounce_protocol.hpp) naming a message and one of its
// logs; the logs (bounce/, defer/, trace/) and the queue file, which hold untrusted text.
// Out: RFC 3464 notices to the sender and the postmaster through cleanup (public/cleanup),
// and a reply per request. Runs unprivileged as mail_owner, optionally chrooted to
// queue_directory; bounce_template_file is read as root before that (pre_init).
// RFCs: 3461-3464 (DSN), 3834 (Auto-Submitted), 5322, 2045, 6531-6533 (SMTPUTF8 notices).
#include <ctime>
#include <memory>

#include "bounce/bounce_server.hpp"
#include "bounce/bounce_service.hpp"
#include "bounce/notice_submitter.hpp"
#include "util/file.hpp"
#include "util/log.hpp"

using namespace postern;

namespace {

// What the daemon builds at start-up and keeps for every client.
struct BounceDaemon {
    BounceSettings settings;
    BounceTemplates templates;
    ExpandedTemplates texts;
    std::unique_ptr<CleanupSubmitter> submitter;
    std::unique_ptr<BounceService> service;
};

BounceDaemon daemon_state;

void log_all(const std::vector<std::string>& warnings) {
    for (const std::string& warning : warnings)
        log_warning("%s", warning.c_str());
}

// As root, before the chroot: the settings, and the template file, which may live outside
// the jail.
Status load(ServerContext& context) {
    auto settings = read_bounce_settings(context.config);
    if (!settings)
        return settings.error();
    daemon_state.settings = std::move(*settings);
    daemon_state.templates = builtin_bounce_templates(daemon_state.settings.header_from_obsolete);
    std::vector<std::string> warnings;
    if (const std::string& file = daemon_state.settings.template_file; !file.empty()) {
        auto text = read_file(file);
        if (!text)
            return Error(ErrorKind::config, "open " + file + ": " + text.error().message());
        if (Status loaded = load_bounce_templates(*text, file, daemon_state.templates, warnings);
            !loaded)
            return loaded;
    }
    auto texts =
        expand_templates(daemon_state.templates, context.config, daemon_state.settings, warnings);
    log_all(warnings);
    if (!texts)
        return texts.error();
    daemon_state.texts = std::move(*texts);
    return {};
}

// After the privilege drop: paths relative to queue_directory, the working directory.
Status start(ServerContext&) {
    const BounceSettings& settings = daemon_state.settings;
    daemon_state.submitter = std::make_unique<CleanupSubmitter>(
        "public/cleanup", settings.ipc_timeout, settings.line_length_limit);
    daemon_state.service = std::make_unique<BounceService>(
        settings, daemon_state.templates, daemon_state.texts, *daemon_state.submitter, ".",
        [] { return static_cast<int64_t>(std::time(nullptr)); });
    return {};
}

Status serve(ClientConnection& client, ServerContext&) {
    return serve_bounce_requests(client, *daemon_state.service, daemon_state.settings.ipc_timeout);
}

}  // namespace

int main(int argc, char** argv) {
    return run_single_server(
        argc, argv,
        SingleServerHooks{.serve = serve, .pre_init = load, .post_init = start, .unlimited = true});
}
