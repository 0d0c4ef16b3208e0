// flush: the fast-flush service, Postfix's flush(8):
// master.cf `flush unix n - n 1000? 0 flush`, socket queue_directory/public/flush.
//
// In the mail flow it sits beside qmgr. Delivery agents report each deferred recipient
// whose domain fast_flush_domains lists (flush_add); ETRN in smtpd, `postqueue -s site`
// and `sendmail -qRsite` ask for that site's mail (send_site), `postqueue -i ID` for one
// message (send_file); master's wakeup ('W', every 1000s once the service was used) and
// the refresh request send logs unread for fast_flush_refresh_time and remove empty ones
// older than fast_flush_purge_time; purge sends every log now. The requests are the
// attribute protocol of lib/queue/flush_client.hpp, one per connection, each answered with
// a FLUSH_STAT_* status. The service is public: any local user (and, through ETRN, the
// network) chooses the site and the queue ID, so both are checked before any path is
// built, and a log's file name holds only [a-z0-9_] (flush_log.hpp). Runs as mail_owner
// in queue_directory.
#include <sys/socket.h>

#include <optional>

#include "flush/flush_log.hpp"
#include "ipc/attr_channel.hpp"
#include "ipc/trigger.hpp"
#include "queue/flush_client.hpp"
#include "server/master_protocol.hpp"
#include "server/single_server.hpp"
#include "util/log.hpp"

using namespace postern;

namespace {

using namespace std::string_view_literals;

// Forget dead destinations (the flushed mail would otherwise wait behind them), then scan
// incoming/, where the flushed files now are.
constexpr std::string_view kQmgrFlushTrigger = "FI"sv;

struct Flush {
    std::optional<FastFlushDomains> domains;
    FlushLogSettings logs;
    std::string qmgr_path;
};

Flush& flush() {
    static Flush instance;
    return instance;
}

Status read_settings(ServerContext& context) {
    Result<FastFlushDomains> domains = FastFlushDomains::from_config(context.config);
    if (!domains)
        return domains.error();
    flush().domains = std::move(*domains);
    Result<QueueHashing> hashing = QueueHashing::from_config(context.config);
    if (!hashing)
        return hashing.error();
    flush().logs.hashing = std::move(*hashing);
    Result<int64_t> purge = context.config.get_time_seconds("fast_flush_purge_time");
    if (!purge)
        return purge.error();
    Result<int64_t> refresh = context.config.get_time_seconds("fast_flush_refresh_time");
    if (!refresh)
        return refresh.error();
    flush().logs.purge_time = std::chrono::seconds(*purge);
    flush().logs.refresh_time = std::chrono::seconds(*refresh);
    Result<std::string> qmgr = context.config.get("queue_service_name");
    flush().qmgr_path = "public/" + (qmgr ? *qmgr : std::string("qmgr"));
    return {};
}

void wake_qmgr(int moved) {
    if (moved == 0)
        return;
    if (Status sent = send_trigger_to_service(flush().qmgr_path, kQmgrFlushTrigger); !sent)
        log_warning("%s", sent.error().message().c_str());
}

// Eligibility as the client checks it; the service checks again (clients are untrusted).
int64_t site_status(std::string_view site) {
    if (!flush_site_ok(site))
        return flush_status::bad;
    Result<bool> eligible = flush().domains->eligible(site);
    if (!eligible) {
        log_warning("%s", eligible.error().message().c_str());
        return flush_status::fail;
    }
    return *eligible ? flush_status::ok : flush_status::deny;
}

int64_t add(std::string_view site, std::string_view queue_id) {
    if (!queue_id_ok(queue_id))
        return flush_status::bad;
    if (int64_t status = site_status(site); status != flush_status::ok)
        return status;
    if (Status added = flush_log_add(flush_log_name(site), queue_id); !added) {
        log_warning("%s", added.error().message().c_str());
        return flush_status::fail;
    }
    return flush_status::ok;
}

int64_t send_site(std::string_view site) {
    if (int64_t status = site_status(site); status != flush_status::ok)
        return status;
    Result<int> moved = flush_log_send(flush().logs, flush_log_name(site));
    if (!moved) {
        log_warning("%s", moved.error().message().c_str());
        return flush_status::fail;
    }
    wake_qmgr(*moved);
    return flush_status::ok;
}

int64_t send_file(std::string_view queue_id) {
    if (!queue_id_ok(queue_id))
        return flush_status::bad;
    wake_qmgr(flush_queue_file(flush().logs.hashing, queue_id, ::time(nullptr)) ? 1 : 0);
    return flush_status::ok;
}

Status reply(AttrChannel& channel, int64_t status, std::chrono::milliseconds timeout) {
    AttrList answer;
    answer.add_int(std::string(flush_attr::status), status);
    return channel.send(answer, timeout);
}

std::string text_of(const AttrList& request, std::string_view name) {
    const Attr* attr = request.find(name);
    const std::string* value = attr != nullptr ? std::get_if<std::string>(&attr->value) : nullptr;
    return value != nullptr ? *value : std::string();
}

Status serve(ClientConnection& client, ServerContext& context) {
    // master's wakeup is one raw byte, not a request frame.
    char first = 0;
    if (::recv(client.input_fd(), &first, 1, MSG_PEEK) == 1 &&
        first == master_protocol::kWakeupRequest) {
        wake_qmgr(flush_log_refresh(flush().logs, flush().logs.refresh_time));
        return {};
    }
    auto timeout =
        std::chrono::duration_cast<std::chrono::milliseconds>(context.settings.ipc_timeout);
    AttrChannel channel(std::move(client.fd));
    Result<AttrList> request = channel.receive(timeout);
    if (!request)
        return channel.peer_closed() ? Status() : Status(request.error());
    std::string what = text_of(*request, flush_attr::request);
    if (what == flush_request::add)
        return reply(
            channel,
            add(text_of(*request, flush_attr::site), text_of(*request, flush_attr::queue_id)),
            timeout);
    if (what == flush_request::send_site)
        return reply(channel, send_site(text_of(*request, flush_attr::site)), timeout);
    if (what == flush_request::send_file)
        return reply(channel, send_file(text_of(*request, flush_attr::queue_id)), timeout);
    if (what == flush_request::refresh || what == flush_request::purge) {
        // Answered first: the work may take a while and the client need not wait.
        Status answered = reply(channel, flush_status::ok, timeout);
        auto age =
            what == flush_request::purge ? std::chrono::seconds(0) : flush().logs.refresh_time;
        wake_qmgr(flush_log_refresh(flush().logs, age));
        return answered;
    }
    return reply(channel, flush_status::unknown, timeout);
}

}  // namespace

int main(int argc, char** argv) {
    return run_single_server(argc, argv,
                             SingleServerHooks{.serve = serve, .post_init = read_settings});
}
