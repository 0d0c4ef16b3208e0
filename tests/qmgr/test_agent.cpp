// test-agent: a delivery agent for qmgr's system tests, over lib/queue/delivery_agent.hpp
// (the same bookkeeping as the real agents: status lines, done marks, defer and bounce
// logs). Not a mail component; nothing is installed.
//
//   master.cf:  testagent  unix  -  -  n  -  4  test-agent /tmp/instance/agent.log [sleep=MS]
//
// What it does with a recipient depends on its local part:
//   defer-...   deferred ("4.4.0 test deferral")
//   bounce-...  bounced ("5.1.1 test bounce")
//   dead-...    deferred, and the destination reported unavailable (connection failure)
//   slow-...    sent after sleeping 1.5 s (the whole request waits)
//   anything else: sent ("2.0.0 delivered by test-agent")
// and `sleep=MS` makes every request take at least that long; with `failfile=PATH`, every
// recipient is deferred ("4.4.0 test failure file present") while PATH exists.
//
// It appends one line per event to the log file named by its first argument (opened once
// at start-up, before the privilege drop; one write() per line, O_APPEND, so lines of
// several processes never mix):
//   connect PID                                   a connection from qmgr
//   start SECONDS PID QUEUEID NEXTHOP COUNT        a request begins
//   deliver PID QUEUEID RECIPIENT                  a recipient is reported sent
//   end SECONDS PID QUEUEID NEXTHOP                the request is done (before the reply)
#include <fcntl.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <string_view>
#include <thread>

#include "queue/delivery_agent.hpp"
#include "server/single_server.hpp"
#include "util/file.hpp"
#include "util/strings.hpp"

using namespace postern;

namespace {

struct AgentState {
    Fd log;
    int sleep_ms = 0;
    std::string fail_file;
};

AgentState& state() {
    static AgentState agent;
    return agent;
}

std::string now_text() {
    struct timeval now {};
    ::gettimeofday(&now, nullptr);
    char text[40];
    std::snprintf(text, sizeof text, "%lld.%06ld", static_cast<long long>(now.tv_sec),
                  static_cast<long>(now.tv_usec));
    return text;
}

void record(const std::string& line) {
    (void)write_all(state().log.get(), line + "\n");
}

Status open_log(ServerContext& context) {
    const auto& arguments = context.arguments();
    if (arguments.empty())
        return Error(ErrorKind::config, "usage: test-agent logfile [sleep=MS]");
    state().log.reset(
        ::open(arguments[0].c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666));
    if (!state().log.valid())
        return system_error("open " + arguments[0], errno);
    for (size_t i = 1; i < arguments.size(); ++i) {
        std::string_view word = arguments[i];
        if (word.rfind("sleep=", 0) == 0)
            state().sleep_ms = static_cast<int>(parse_integer(word.substr(6)).value());
        else if (word.rfind("failfile=", 0) == 0)
            state().fail_file = std::string(word.substr(9));
    }
    return {};
}

bool starts_with(std::string_view text, std::string_view prefix) {
    return text.substr(0, prefix.size()) == prefix;
}

Status deliver(DeliverySession& session, ServerContext&) {
    const DeliveryRequest& request = session.request();
    std::string pid = std::to_string(::getpid());
    record("start " + now_text() + " " + pid + " " + request.queue_id + " " + request.nexthop +
           " " + std::to_string(request.recipients.size()));
    int sleep_ms = state().sleep_ms;
    for (const DeliveryRecipient& recipient : request.recipients)
        if (starts_with(recipient.address, "slow-"))
            sleep_ms = std::max(sleep_ms, 1500);
    if (sleep_ms > 0)
        std::this_thread::sleep_for(std::chrono::milliseconds(sleep_ms));
    bool failing = !state().fail_file.empty() && ::access(state().fail_file.c_str(), F_OK) == 0;
    for (size_t i = 0; i < request.recipients.size(); ++i) {
        const std::string& address = request.recipients[i].address;
        if (failing) {
            session.deferred(i, make_delivery_status("4.4.0", "test failure file present"));
        } else if (starts_with(address, "defer-")) {
            session.deferred(i, make_delivery_status("4.4.0", "test deferral"));
        } else if (starts_with(address, "bounce-")) {
            session.bounced(i, make_delivery_status("5.1.1", "test bounce"));
        } else if (starts_with(address, "dead-")) {
            DeliveryStatus status = make_delivery_status("4.4.1", "test destination is down");
            session.destination_unavailable(status);
            session.deferred(i, status);
        } else {
            record("deliver " + pid + " " + request.queue_id + " " + address);
            session.sent(i, make_delivery_status("2.0.0", "delivered by test-agent"));
        }
    }
    record("end " + now_text() + " " + pid + " " + request.queue_id + " " + request.nexthop);
    return {};
}

Status serve(ClientConnection& client, ServerContext& context) {
    record("connect " + std::to_string(::getpid()));
    DeliveryAgentOptions options;
    options.relay_default = "test-agent";
    return serve_delivery_requests(client, context, deliver, options);
}

}  // namespace

int main(int argc, char** argv) {
    return run_single_server(argc, argv, SingleServerHooks{.serve = serve, .pre_init = open_log});
}
