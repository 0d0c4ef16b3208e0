// The agent side of the delivery protocol (lib/queue/delivery_agent): a real queue file
// written with QueueFileWriter, serve_delivery_requests on one end of a socketpair and
// qmgr's side played by the test on the other, then the done marks, the defer/bounce/trace
// logs, the status lines and the reply checked.
#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "ipc/attr_channel.hpp"
#include "queue/bounce_log.hpp"
#include "queue/delivery_agent.hpp"
#include "queue/queue_file.hpp"
#include "util/file.hpp"
#include "util/log.hpp"

using namespace postern;
using namespace std::chrono_literals;

namespace {

// A queue directory in a fresh folder, the process working in it (the agent opens queue
// files relative to its working directory, as a daemon in queue_directory does), and a
// maillog_file for the status lines. Everything is put back afterwards.
struct AgentFixture {
    AgentFixture() {
        char pattern[] = "/tmp/postern-agent-test.XXXXXX";
        REQUIRE(::mkdtemp(pattern) != nullptr);
        root = pattern;
        queue = root + "/queue";
        for (const char* sub : {"", "/active", "/defer", "/bounce", "/trace"})
            REQUIRE(::mkdir((queue + sub).c_str(), 0700) == 0);
        char cwd[4096];
        REQUIRE(::getcwd(cwd, sizeof cwd) != nullptr);
        previous_directory = cwd;
        REQUIRE(::chdir(queue.c_str()) == 0);
        LogSettings settings;
        settings.program = "local";
        settings.hostname = "myhost";
        settings.maillog_file = root + "/maillog";
        REQUIRE(log_init(settings).ok());
    }
    ~AgentFixture() {
        LogSettings quiet;
        quiet.maillog_file = "/dev/null";
        (void)log_init(quiet);
        (void)::chdir(previous_directory.c_str());
        std::error_code ignored;
        std::filesystem::remove_all(root, ignored);
    }

    // A committed queue file in active/ with these recipients; returns the request qmgr
    // would send for it.
    DeliveryRequest write_message(const std::vector<QueueRecipient>& recipients) {
        auto writer = QueueFileWriter::create(queue, "active", QueueFileOptions{});
        REQUIRE(writer.ok());
        writer->arrival_time({1700000000, 5});
        writer->sender("sender@example.org");
        DeliveryRequest request;
        for (const QueueRecipient& recipient : recipients) {
            DeliveryRecipient entry;
            entry.address = recipient.address;
            entry.original = recipient.original;
            entry.dsn_notify = recipient.dsn_notify;
            entry.offset = writer->recipient(recipient);
            request.recipients.push_back(entry);
        }
        writer->content_line("Subject: test");
        writer->content_line("");
        writer->content_line("body");
        REQUIRE(writer->commit().ok());
        request.queue_name = "active";
        request.queue_id = writer->queue_id();
        request.sender = "sender@example.org";
        request.nexthop = "local";
        request.times.arrival = {1700000000, 5};
        request.times.active = {1700000001, 0};
        request.times.handed_over = {1700000001, 500};
        return request;
    }

    std::string path_of(const DeliveryRequest& request) const {
        return queue + "/active/" + request.queue_id;
    }

    std::vector<std::string> log_lines() const {
        auto text = read_file(root + "/maillog");
        REQUIRE(text.ok());
        std::vector<std::string> lines;
        std::istringstream stream(*text);
        for (std::string line; std::getline(stream, line);)
            lines.push_back(line);
        return lines;
    }
    bool logged(const std::string& fragment) const {
        for (const std::string& line : log_lines())
            if (line.find(fragment) != std::string::npos)
                return true;
        return false;
    }

    std::vector<BounceLogRecord> records(std::string_view log_queue,
                                         const DeliveryRequest& request) {
        auto read = read_bounce_log(".", QueueHashing{}, log_queue, request.queue_id);
        if (!read && read.error().kind() == ErrorKind::not_found)
            return {};
        REQUIRE(read.ok());
        return *read;
    }

    std::string root;
    std::string queue;
    std::string previous_directory;
};

QueueRecipient recipient(std::string address, int notify = 0, std::string original = {}) {
    QueueRecipient result;
    result.address = std::move(address);
    result.dsn_notify = notify;
    result.original = std::move(original);
    return result;
}

// Serves `requests` on one socketpair, as qmgr would send them one after another on one
// connection; returns the decoded replies and the serve() status.
struct Served {
    std::vector<DeliveryReply> replies;
    Status status;
};

Served serve(const std::vector<DeliveryRequest>& requests, const DeliverFunction& deliver,
             const DeliveryAgentOptions& options = {}) {
    int pair[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) == 0);
    ServerContext context(ServerOptions{}, Config::defaults_only(), ServerSettings{}, "");
    ClientConnection connection;
    connection.fd = Fd(pair[1]);
    connection.output_fd = pair[1];
    Served served;
    std::thread agent(
        [&] { served.status = serve_delivery_requests(connection, context, deliver, options); });
    {
        AttrChannel qmgr{Fd(pair[0])};
        for (const DeliveryRequest& request : requests) {
            auto reply = qmgr.request(encode_delivery_request(request), 10s);
            if (!reply)
                break;
            auto decoded = decode_delivery_reply(*reply, request.recipients.size());
            REQUIRE(decoded.ok());
            served.replies.push_back(*decoded);
        }
    }  // qmgr closes the connection: the agent's serve() returns
    agent.join();
    return served;
}

std::vector<RecipientStatus> statuses_in(const std::string& path) {
    auto reader = QueueFileReader::open(path);
    REQUIRE(reader.ok());
    auto envelope = reader->read_envelope();
    REQUIRE(envelope.ok());
    std::vector<RecipientStatus> result;
    for (const QueueRecipient& recipient : envelope->recipients)
        result.push_back(recipient.status);
    return result;
}

}  // namespace

TEST_CASE("delivery agent: one report per recipient, done marks, logs and reply",
          "[delivery_agent]") {
    AgentFixture fixture;
    DeliveryRequest request = fixture.write_message({
        recipient("user0@example.com", dsn::notify_success, "alias0"),
        recipient("user1@example.com"),
        recipient("user2@example.com", dsn::notify_failure),
        recipient("user3@example.com"),
    });
    Served served = serve({request}, [](DeliverySession& session, ServerContext&) {
        session.sent(0, make_delivery_status("2.0.0", "delivered to maildir"), "local");
        session.deferred(1, make_delivery_status("4.2.0", "mailbox busy"));
        session.bounced(2, make_delivery_status("5.1.1", "unknown user: \"user2\""));
        return Status();  // recipient 3: not reported
    });
    REQUIRE(served.status.ok());
    REQUIRE(served.replies.size() == 1);
    CHECK(served.replies[0].outcomes ==
          std::vector<RecipientOutcome>{RecipientOutcome::done, RecipientOutcome::deferred,
                                        RecipientOutcome::done, RecipientOutcome::deferred});
    CHECK(statuses_in(fixture.path_of(request)) ==
          std::vector<RecipientStatus>{RecipientStatus::done, RecipientStatus::pending,
                                       RecipientStatus::done, RecipientStatus::pending});

    std::string id = request.queue_id;
    CHECK(fixture.logged(id + ": to=<user0@example.com>, orig_to=<alias0>, relay=local, delay="));
    CHECK(fixture.logged("dsn=2.0.0, status=sent (delivered to maildir)"));
    CHECK(fixture.logged(id + ": to=<user1@example.com>, relay=none, delay="));
    CHECK(fixture.logged("dsn=4.2.0, status=deferred (mailbox busy)"));
    CHECK(fixture.logged("dsn=5.1.1, status=bounced (unknown user: \"user2\")"));
    CHECK(fixture.logged("warning: " + id + ": delivery agent did not report 1 recipient(s)"));
    CHECK(fixture.logged("to=<user3@example.com>, relay=none, delay="));
    CHECK(fixture.logged("dsn=4.3.0, status=deferred (delivery agent did not report a result)"));

    auto defer = fixture.records("defer", request);
    REQUIRE(defer.size() == 2);
    CHECK(defer[0].recipient == "user1@example.com");
    CHECK(defer[0].offset == request.recipients[1].offset);
    CHECK(defer[0].status.status == "4.2.0");
    CHECK(defer[0].status.action == "delayed");
    CHECK(defer[0].status.reason == "mailbox busy");
    CHECK(defer[1].recipient == "user3@example.com");
    CHECK(defer[1].status.reason == "delivery agent did not report a result");

    auto bounce = fixture.records("bounce", request);
    REQUIRE(bounce.size() == 1);
    CHECK(bounce[0].recipient == "user2@example.com");
    CHECK(bounce[0].status.status == "5.1.1");
    CHECK(bounce[0].status.action == "failed");
    CHECK(bounce[0].dsn_notify == dsn::notify_failure);

    auto trace = fixture.records("trace", request);
    REQUIRE(trace.size() == 1);  // only user0 asked for NOTIFY=SUCCESS
    CHECK(trace[0].recipient == "user0@example.com");
    CHECK(trace[0].original_recipient == "alias0");
    CHECK(trace[0].status.action == "delivered");
    CHECK(trace[0].status.status == "2.0.0");
}

TEST_CASE("delivery agent: several requests on one connection", "[delivery_agent]") {
    AgentFixture fixture;
    DeliveryRequest first = fixture.write_message({recipient("a@example.com")});
    DeliveryRequest second = fixture.write_message({recipient("b@example.com")});
    int calls = 0;
    Served served = serve({first, second}, [&](DeliverySession& session, ServerContext&) {
        ++calls;
        session.sent(0, make_delivery_status("2.0.0", "ok"));
        return Status();
    });
    REQUIRE(served.status.ok());
    CHECK(calls == 2);
    REQUIRE(served.replies.size() == 2);
    CHECK(statuses_in(fixture.path_of(first)) == std::vector{RecipientStatus::done});
    CHECK(statuses_in(fixture.path_of(second)) == std::vector{RecipientStatus::done});
}

TEST_CASE("delivery agent: addresses in status lines are in external form", "[delivery_agent]") {
    AgentFixture fixture;
    DeliveryRequest request = fixture.write_message({recipient("a b@example.com")});
    Served served = serve({request}, [](DeliverySession& session, ServerContext&) {
        session.sent(0, make_delivery_status("2.0.0", "ok"));
        return Status();
    });
    REQUIRE(served.status.ok());
    CHECK(fixture.logged("to=<\"a b\"@example.com>, relay=none"));
}

TEST_CASE("delivery agent: a status of the wrong class is replaced, as Postfix does",
          "[delivery_agent]") {
    AgentFixture fixture;
    DeliveryRequest request = fixture.write_message(
        {recipient("a@example.com"), recipient("b@example.com"), recipient("c@example.com")});
    Served served = serve({request}, [](DeliverySession& session, ServerContext&) {
        session.bounced(0, make_delivery_status("4.4.4", "class mismatch"));
        session.deferred(1, make_delivery_status("5.1.1", "wrong class"));
        session.sent(2, make_delivery_status("", "no code"));
        return Status();
    });
    REQUIRE(served.status.ok());
    CHECK(fixture.logged("warning: bounce_append: ignoring dsn code \"4.4.4\""));
    CHECK(fixture.logged("dsn=5.0.0, status=bounced (class mismatch)"));
    CHECK(fixture.logged("warning: defer_append: ignoring dsn code \"5.1.1\""));
    CHECK(fixture.logged("dsn=4.0.0, status=deferred (wrong class)"));
    CHECK(fixture.logged("warning: sent: ignoring dsn code \"\""));
    CHECK(fixture.logged("dsn=2.0.0, status=sent (no code)"));
    auto bounce = fixture.records("bounce", request);
    REQUIRE(bounce.size() == 1);
    CHECK(bounce[0].status.status == "5.0.0");
}

TEST_CASE("delivery agent: several reports per recipient (local's expansions)",
          "[delivery_agent]") {
    AgentFixture fixture;
    DeliveryRequest request = fixture.write_message({
        recipient("list@example.com", 0, "list"),
        recipient("other@example.com"),
        recipient("third@example.com"),
    });
    DeliveryAgentOptions options;
    options.relay_default = "local";
    options.several_reports_per_recipient = true;
    Served served = serve(
        {request},
        [](DeliverySession& session, ServerContext&) {
            // list: a mailbox and a bounce: done.
            session.report(0, ReportKind::sent,
                           make_delivery_status("2.0.0", "delivered to mailbox"), {},
                           "member@example.com");
            session.report(0, ReportKind::bounced,
                           make_delivery_status("5.1.1", "unknown user: \"gone\""), {},
                           "gone@example.com");
            // other: delivered once, deferred once: deferred as a whole.
            session.report(1, ReportKind::sent, make_delivery_status("2.0.0", "delivered to file"));
            session.report(1, ReportKind::deferred, make_delivery_status("4.3.0", "busy"));
            // third: deferred first, then sent: still deferred.
            session.report(2, ReportKind::deferred, make_delivery_status("4.3.0", "busy"));
            session.report(2, ReportKind::sent, make_delivery_status("2.0.0", "ok"));
            return Status();
        },
        options);
    REQUIRE(served.status.ok());
    REQUIRE(served.replies.size() == 1);
    CHECK(served.replies[0].outcomes == std::vector<RecipientOutcome>{RecipientOutcome::done,
                                                                      RecipientOutcome::deferred,
                                                                      RecipientOutcome::deferred});
    CHECK(statuses_in(fixture.path_of(request)) ==
          std::vector<RecipientStatus>{RecipientStatus::done, RecipientStatus::pending,
                                       RecipientStatus::pending});
    CHECK(fixture.logged("to=<member@example.com>, orig_to=<list>, relay=local, delay="));
    CHECK(fixture.logged("to=<gone@example.com>, orig_to=<list>, relay=local"));
    auto bounce = fixture.records("bounce", request);
    REQUIRE(bounce.size() == 1);
    CHECK(bounce[0].recipient == "gone@example.com");
    CHECK(bounce[0].original_recipient == "list");
    CHECK(bounce[0].offset == request.recipients[0].offset);
    CHECK(!fixture.logged("twice or out of range"));
}

TEST_CASE("delivery agent: a second report without the option is refused", "[delivery_agent]") {
    AgentFixture fixture;
    DeliveryRequest request = fixture.write_message({recipient("a@example.com")});
    Served served = serve({request}, [](DeliverySession& session, ServerContext&) {
        session.sent(0, make_delivery_status("2.0.0", "ok"));
        session.deferred(0, make_delivery_status("4.0.0", "again"));
        session.sent(7, make_delivery_status("2.0.0", "no such index"));
        return Status();
    });
    REQUIRE(served.status.ok());
    CHECK(served.replies.at(0).outcomes == std::vector{RecipientOutcome::done});
    CHECK(fixture.logged("delivery agent reported recipient 0 twice or out of range"));
    CHECK(fixture.logged("delivery agent reported recipient 7 twice or out of range"));
    CHECK(fixture.records("defer", request).empty());
}

TEST_CASE("delivery agent: a queue file that is gone defers every recipient", "[delivery_agent]") {
    AgentFixture fixture;
    DeliveryRequest request =
        fixture.write_message({recipient("a@example.com"), recipient("b@example.com")});
    REQUIRE(::unlink(fixture.path_of(request).c_str()) == 0);
    bool called = false;
    Served served = serve({request}, [&](DeliverySession&, ServerContext&) {
        called = true;
        return Status();
    });
    REQUIRE(served.status.ok());
    CHECK(!called);
    CHECK(served.replies.at(0).outcomes ==
          std::vector{RecipientOutcome::deferred, RecipientOutcome::deferred});
}

TEST_CASE("delivery agent: a deliver() error is a warning; its recipients are deferred",
          "[delivery_agent]") {
    AgentFixture fixture;
    DeliveryRequest request = fixture.write_message({recipient("a@example.com")});
    Served served = serve({request}, [](DeliverySession&, ServerContext&) {
        return Status(Error(ErrorKind::io, "disk on fire"));
    });
    REQUIRE(served.status.ok());
    CHECK(served.replies.at(0).outcomes == std::vector{RecipientOutcome::deferred});
    CHECK(fixture.logged("warning: " + request.queue_id + ": disk on fire"));
}

TEST_CASE("delivery agent: the session names its queue file", "[delivery_agent]") {
    AgentFixture fixture;
    DeliveryRequest request = fixture.write_message({recipient("a@example.com")});
    std::string seen;
    Served served = serve({request}, [&](DeliverySession& session, ServerContext&) {
        seen = session.queue_file_path();
        session.sent(0, make_delivery_status("2.0.0", "ok"));
        return Status();
    });
    REQUIRE(served.status.ok());
    CHECK(seen == "./active/" + request.queue_id);
}

TEST_CASE("status_from_text: a leading enhanced status code or the default", "[delivery_agent]") {
    struct Case {
        const char* text;
        const char* status;
        const char* reason;
    };
    auto c = GENERATE(Case{"5.1.2 no such domain here", "5.1.2", "no such domain here"},
                      Case{"plain text reason", "5.0.0", "plain text reason"},
                      Case{"  4.4.4   spaced  ", "4.4.4", "spaced"},
                      Case{"5.1.1", "5.1.1", "(empty)"}, Case{"", "5.0.0", "(empty)"},
                      Case{"5.1.1x not a code", "5.0.0", "5.1.1x not a code"},
                      Case{"2.0.0\tok", "2.0.0", "ok"});
    DeliveryStatus status = status_from_text(c.text, "5.0.0", "(empty)");
    CHECK(status.status == c.status);
    CHECK(status.reason == c.reason);
}
