// The delivery status log line, the one line per recipient and attempt that every
// delivery agent writes and every Postfix log tool parses:
//
//   ID: to=<user@example.com>, orig_to=<alias@example.com>, relay=local, delay=0.12,
//       delays=0.05/0.01/0/0.06, dsn=2.0.0, status=sent (delivered to maildir)
//
// Where it sits: lib/mail, used by the delivery agents (through lib/queue's delivery agent
// helper) and by qmgr and bounce for the lines they write themselves (expired, returned to
// sender). The shape is Postfix's (log_adhoc): to=, orig_to= only when it differs, relay=,
// conn_use= when a connection was reused, delay= and delays=a/b/c/d rounded as Postfix
// rounds them, dsn=, status= and the reason in parentheses.
#pragma once

#include <string>
#include <string_view>

namespace postern {

// The four parts of delays=a/b/c/d, in seconds.
struct DelayProfile {
    double before_active = 0;  // a: arrival until qmgr took the message into active/
    double in_qmgr = 0;        // b: active until the delivery agent got it
    double connection = 0;     // c: connection set-up (DNS, greeting, TLS, HELO)
    double transmission = 0;   // d: sending the message
    double total() const { return before_active + in_qmgr + connection + transmission; }
};

// A delay as Postfix logs it: whole seconds from 10 s on, one decimal from 1 s, below that
// two significant digits but at most `resolution_limit` decimals (delay_logging_resolution_limit),
// trailing zeros dropped; "0" for nothing.
std::string format_log_delay(double seconds, int resolution_limit = 2);

struct DeliveryLogLine {
    std::string_view queue_id;
    std::string_view recipient;  // as it is to appear inside to=<...>: external form
    std::string_view original;   // orig_to; left out when empty or equal to recipient
    std::string_view relay;      // "local", "mx.example.com[192.0.2.1]:25", "none"
    int connection_use = 0;      // conn_use=, left out when 0 or 1
    DelayProfile delays;
    std::string_view dsn;     // "2.0.0"
    std::string_view status;  // sent, deferred, bounced, expired, deliverable, undeliverable
    std::string_view reason;  // inside the parentheses
};

std::string format_delivery_log_line(const DeliveryLogLine& line, int resolution_limit = 2);

}  // namespace postern
