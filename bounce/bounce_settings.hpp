// The parameters the bounce daemon reads, read once at start-up as typed values.
//
// Where it sits: bounce/, between lib/config and the rest of the daemon. Nothing here is
// untrusted: main.cf and master.cf are the administrator's, and a bad value is a `fatal:`
// line at start-up (master respawns the daemon with throttling), as in Postfix.
// Parameters (postconf(5), bounce(8)): myhostname, mail_name, bounce_size_limit,
// notify_classes, bounce_notice_recipient, 2bounce_notice_recipient,
// delay_notice_recipient, double_bounce_sender, delay_warning_time,
// maximal_queue_lifetime, smtputf8_enable, enable_threaded_bounces, header_from_format,
// bounce_template_file, hash_queue_names, hash_queue_depth, ipc_timeout, line_length_limit.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "queue/queue_id.hpp"
#include "util/result.hpp"

namespace postern {

// The notify_classes that concern notices (Postfix's MAIL_ERROR_BOUNCE, _2BOUNCE, _DELAY);
// the other classes (data, policy, protocol, resource, software) are other daemons' business.
struct NotifyClasses {
    bool bounce = false;         // postmaster copy of every non-delivery notice
    bool double_bounce = false;  // undeliverable notices go to 2bounce_notice_recipient
    bool delay = false;          // postmaster copy of every delay notice
};

// Parses a notify_classes value; an unknown class is a configuration error, as Postfix's
// name_mask() makes it.
Result<NotifyClasses> parse_notify_classes(std::string_view value);

struct BounceSettings {
    std::string myhostname;
    std::string mail_name = "Postfix";
    int64_t bounce_size_limit = 50000;  // 0: no limit
    std::string bounce_notice_recipient = "postmaster";
    std::string double_bounce_notice_recipient = "postmaster";  // 2bounce_notice_recipient
    std::string delay_notice_recipient = "postmaster";
    std::string double_bounce_sender = "double-bounce";
    NotifyClasses notify;
    int64_t delay_warning_time = 0;              // seconds
    int64_t maximal_queue_lifetime = 5 * 86400;  // seconds
    bool smtputf8_enable = true;
    bool threaded_bounces = false;      // enable_threaded_bounces
    bool header_from_obsolete = false;  // header_from_format = obsolete
    std::string template_file;          // bounce_template_file
    QueueHashing hashing;
    std::chrono::seconds ipc_timeout{3600};
    size_t line_length_limit = 2048;

    // The sender of postmaster notices, and the address whose own notices are never
    // answered (Postfix's mail_addr_double_bounce(): double_bounce_sender@myhostname).
    std::string double_bounce_address() const;
    // What a null sender is shown as (mail_addr_mail_daemon()).
    std::string mailer_daemon_address() const;
};

Result<BounceSettings> read_bounce_settings(const Config& config);

}  // namespace postern
