// libFuzzer target: smtpd_session: the whole SMTP server state machine (smtpd/), fed a
// client's byte stream with no network, cut into lines (and BDAT chunks) the way
// lib/net/smtp_stream.hpp cuts them, with small limits so that the limit paths run.
// The restrictions include access tables and a restriction class, AUTH talks to a fake
// SASL server, and messages go to an in-memory sink. Every reply must be a well-formed
// SMTP reply line, and nothing may crash, hang or leak.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "smtpd/restrictions.hpp"
#include "smtpd/smtpd_session.hpp"
#include "util/log.hpp"

using namespace postern;
using namespace postern::smtpd;

namespace {

class NullSink final : public MessageSink {
  public:
    Result<std::string> open(int64_t) override {
        if (open_)
            std::abort();  // one message per sink
        open_ = true;
        return std::string("4FUZZQUEUEID");
    }
    void record(char, std::string_view) override {}
    void attribute(std::string_view, std::string_view) override {}
    void recipient(const QueueRecipient&) override {}
    void content_line(std::string_view) override {}
    void content_continued(std::string_view) override {}
    void end_content() override {}
    Result<CleanupResult> finish() override { return CleanupResult{}; }
    void abandon() override {}

  private:
    bool open_ = false;
};

class NullSinks final : public MessageSinkFactory {
  public:
    std::unique_ptr<MessageSink> create() override { return std::make_unique<NullSink>(); }
};

class FakeSasl final : public SaslServerSession {
  public:
    std::string mechanisms() const override { return "PLAIN LOGIN"; }
    Step start(std::string_view mechanism, std::optional<std::string_view> initial) override {
        if (mechanism != "PLAIN" && mechanism != "LOGIN")
            return Step{Step::Kind::failure, {}, {}, "Invalid authentication mechanism"};
        if (initial)
            return next(*initial);
        return Step{Step::Kind::challenge, "", {}, {}};
    }
    Step next(std::string_view response) override {
        if (response == "AHRlc3QAdGVzdA==")
            return Step{Step::Kind::success, {}, "test", {}};
        return Step{Step::Kind::failure, {}, {}, "UGFzc3dvcmQ6"};
    }
};

Restrictions& restrictions() {
    static std::unique_ptr<Restrictions> opened = [] {
        Config config = Config::defaults_only();
        config.set_override("compatibility_level", "3.6");
        config.set_override("mynetworks", "10.0.0.0/8");
        config.set_override("smtpd_client_restrictions",
                            "check_client_access inline:{ {10.1.1.1=REJECT} }");
        config.set_override("smtpd_helo_restrictions",
                            "reject_invalid_helo_hostname, check_helo_access inline:{bad=strict}");
        config.set_override("smtpd_restriction_classes", "strict");
        config.set_override("strict", "warn_if_reject reject, reject_non_fqdn_helo_hostname");
        config.set_override("smtpd_sender_restrictions",
                            "reject_non_fqdn_sender, check_sender_access inline:{x@y=HOLD}");
        config.set_override("smtpd_recipient_restrictions",
                            "check_recipient_access inline:{ {r@example.com=451 4.1.1 no} }");
        auto result = Restrictions::open(config, [](std::string_view domain) {
            return Result<AddressClass>(domain == "example.com" ? AddressClass::local
                                                                : AddressClass::other);
        });
        if (!result)
            std::abort();
        return std::move(*result);
    }();
    return *opened;
}

void check_output(std::string_view output) {
    while (!output.empty()) {
        size_t end = output.find("\r\n");
        if (end == std::string_view::npos || end < 3)
            std::abort();
        std::string_view line = output.substr(0, end);
        for (size_t i = 0; i < 3; ++i)
            if (line[i] < '0' || line[i] > '9')
                std::abort();
        output.remove_prefix(end + 2);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static bool quiet = [] {
        LogSettings settings;
        settings.maillog_file = "/dev/null";
        (void)log_init(settings);
        return true;
    }();
    (void)quiet;
    std::string_view input(reinterpret_cast<const char*>(data), size);
    SmtpdSettings settings;
    settings.line_length_limit = 64;
    settings.message_size_limit = 2000;
    settings.recipient_limit = 5;
    settings.hard_error_limit = 30;
    settings.soft_error_limit = 5;
    settings.sasl_auth_enable = true;
    NullSinks sinks;
    FakeSasl sasl;
    SessionServices services;
    services.sinks = &sinks;
    services.restrictions = &restrictions();
    services.sleep = [](std::chrono::seconds) {};
    ClientIdentity client;
    client.address = size % 2 ? "10.1.1.1" : "192.0.2.1";
    SmtpSession session(settings, client, services, &sasl);
    if (size % 3 == 0)
        session.offer_starttls(size % 5 == 0);
    session.start();
    while (!input.empty() && !session.finished()) {
        if (session.bdat_remaining() > 0) {
            size_t take = std::min<size_t>({session.bdat_remaining(), input.size(), 100});
            session.receive_bdat(input.substr(0, take));
            input.remove_prefix(take);
        } else {
            size_t end = input.find('\n');
            std::string_view line = input.substr(0, end);
            bool complete = end != std::string_view::npos && end <= settings.line_length_limit;
            if (line.size() > settings.line_length_limit)
                line = line.substr(0, settings.line_length_limit);
            input.remove_prefix(std::min(input.size(), line.size() + (complete ? 1 : 0)));
            if (complete && !line.empty() && line.back() == '\r')
                line.remove_suffix(1);
            session.receive_line(line, complete);
        }
        if (session.starttls_pending())
            session.tls_started();
        check_output(session.take_output());
    }
    session.connection_lost();
    check_output(session.take_output());
    return 0;
}
