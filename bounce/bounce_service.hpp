// The bounce service: what the bounce, defer and trace services (master.cf, all running
// this daemon) do with one request of lib/queue/bounce_protocol.hpp.
//
// Where it sits: bounce/, between the protocol loop (bounce_server.hpp) and the notice
// composer. In comes a request from qmgr naming a message and one of its logs (bounce/ID,
// defer/ID, trace/ID, written by the delivery agents: lib/queue/bounce_log.hpp); out go
// zero, one or two notices through cleanup, with the null sender (or, for postmaster
// notices, double_bounce_sender), and a reply: status 0 when the work is done, 1 when it
// must be tried again (cleanup could not take a notice, a log or the queue file could not
// be opened): nothing is lost, the log stays, qmgr asks again later.
//
// Who gets what, as Postfix 3.7's bounce daemon decides it:
//   flush  sender <>:                 postmaster copy (full message) to
//                                     2bounce_notice_recipient, when notify_classes has
//                                     bounce or 2bounce; otherwise nothing
//          sender double-bounce@:     nothing ("undeliverable postmaster notification
//                                     discarded")
//          any other sender:          non-delivery notice (recipients without NOTIFY or with
//                                     NOTIFY=FAILURE), then a postmaster copy (headers) to
//                                     bounce_notice_recipient when notify_classes has bounce
//          then the log is removed and its recipients are marked done in the queue file
//   warn   the same with delay notices (NOTIFY=DELAY), delay_notice_recipient and the
//          delay class (the full message for sender <>, headers otherwise); the log stays
//          (the message is still being retried)
//   trace  a success notice (headers) to the sender; sender <>: to 2bounce_notice_recipient
//          when notify_classes has 2bounce; then the log is removed. No log: no notice.
// A notice whose recipients were all filtered out (NOTIFY=NEVER...) is not sent, and that
// counts as done. Log lines: "ID: sender non-delivery notification: NEWID" and the like.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bounce/bounce_settings.hpp"
#include "bounce/bounce_template.hpp"
#include "bounce/notice.hpp"
#include "queue/bounce_log.hpp"
#include "queue/bounce_protocol.hpp"
#include "util/result.hpp"

namespace postern {

// Every template's expanded text, made once at start-up.
struct ExpandedTemplates {
    std::vector<std::string> failure;
    std::vector<std::string> delay;
    std::vector<std::string> success;
    std::vector<std::string> verify;

    const std::vector<std::string>& get(NoticeKind kind) const;
    std::vector<std::string>& get(NoticeKind kind);
};

// Expands all four templates; the first error (a bad $name) is returned.
Result<ExpandedTemplates> expand_templates(const BounceTemplates& templates,
                                           const ParameterSource& parameters,
                                           const BounceSettings& settings,
                                           std::vector<std::string>& warnings);

// The envelope of a notice being submitted.
struct NoticeEnvelope {
    std::string sender;  // "" or the double-bounce address
    std::string recipient;
    bool smtputf8 = false;  // the original asked for SMTPUTF8
    int64_t now = 0;        // its arrival time, seconds
};

// Hands a composed notice to the mail system: cleanup in the daemon (notice_submitter.hpp),
// memory in tests.
class NoticeSubmitter {
  public:
    using Compose = std::function<void(std::string_view notice_id, NoticeSink& sink)>;
    virtual ~NoticeSubmitter() = default;
    // Starts a message, lets `compose` write its content under the queue ID it got, and
    // returns that ID once the message is queued. An error: nothing was queued.
    virtual Result<std::string> submit(const NoticeEnvelope& envelope, const Compose& compose) = 0;
};

// DSN NOTIFY filters (Postfix's DSN_NOTIFY_*): a record is reported when it has no NOTIFY
// (older clients) or shares a bit with the filter; postmaster copies report them all.
inline constexpr int kNotifyAll = 15;

// A log record as a notice shows it: display forms for missing parts, everything
// sanitized (control characters, and 8-bit text unless smtputf8_enable).
NoticeRecipient notice_recipient(const BounceLogRecord& record, bool allow_utf8);

class BounceService {
  public:
    // `queue_directory` is where the queues are: "." in the daemon (its working directory,
    // chrooted or not). `clock` gives the time in seconds (injected for tests).
    BounceService(const BounceSettings& settings, const BounceTemplates& templates,
                  const ExpandedTemplates& texts, NoticeSubmitter& submitter,
                  std::string queue_directory, std::function<int64_t()> clock);

    BounceReply handle(const BounceRequest& request);

  private:
    struct Work;  // one request's state (bounce_service.cpp)

    BounceReply flush(Work& work);
    BounceReply warn(Work& work);
    BounceReply trace(Work& work);
    // Sends one notice; true when it was sent or had nothing to report.
    Result<bool> send(Work& work, const NoticeSpec& spec, int notify_filter,
                      std::string_view sender, std::string_view what);
    bool send_postmaster_copy(Work& work, NoticeKind kind, const std::string& recipient, int ret,
                              std::string_view what);
    void finish_log(Work& work, bool mark_done);

    const BounceSettings& settings_;
    const BounceTemplates& templates_;
    const ExpandedTemplates& texts_;
    NoticeSubmitter& submitter_;
    std::string queue_directory_;
    std::function<int64_t()> clock_;
};

}  // namespace postern
