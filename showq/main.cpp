// showq: lists the mail queue for postqueue -p/-j, mailq and sendmail -bp, as Postfix's
// showq(8) does: master.cf `showq unix n - n - - showq`, socket queue_directory/public/showq.
//
// In the mail flow it is a bystander: it reads maildrop/, active/, incoming/, deferred/,
// hold/ and defer/ (queue_listing.hpp) and writes one listing per client in the showq
// protocol (lib/queue/showq_protocol.hpp). The service is public, so any local user can
// connect; the client sends nothing and nothing is read from it. The daemon drops to
// mail_owner (master's -u) before its first client and may run chrooted in
// queue_directory; everything it reads from the spool is untrusted. Run by root with -S
// (postqueue does so when the mail system is down), the one client is standard output.
#include <unistd.h>

#include <optional>

#include "queue/showq_protocol.hpp"
#include "server/single_server.hpp"
#include "showq/queue_listing.hpp"
#include "util/file.hpp"
#include "util/log.hpp"

using namespace postern;

namespace {

std::optional<ShowqSettings> settings;

Status read_settings(ServerContext& context) {
    Result<ShowqSettings> read = ShowqSettings::from_config(context.config);
    if (!read)
        return read.error();
    settings = std::move(*read);
    return {};
}

Status serve(ClientConnection& client, ServerContext& context) {
    // With -S the listing goes to standard output; otherwise to the connection.
    Fd output(::dup(client.output_fd));
    if (!output.valid())
        return system_error("dup", errno);
    AttrChannel channel(std::move(output));
    auto timeout =
        std::chrono::duration_cast<std::chrono::milliseconds>(context.settings.ipc_timeout);
    Status listed = list_queued_messages(*settings, [&](const ShowqMessage& message) {
        return send_showq_message(channel, message, timeout);
    });
    if (!listed)
        return listed;
    return send_showq_end(channel, timeout);
}

}  // namespace

int main(int argc, char** argv) {
    return run_single_server(argc, argv,
                             SingleServerHooks{.serve = serve, .post_init = read_settings});
}
