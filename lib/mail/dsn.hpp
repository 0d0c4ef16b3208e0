// Delivery status: what happened to one recipient, in the terms of RFC 3464 (DSN) and
// RFC 3463 (enhanced status codes), as Postfix's DSN structure carries it from a delivery
// agent to the logs, the defer and bounce logs, and the bounce daemon's reports.
//
// Where it sits: lib/mail, below the delivery agents (local, smtp, error...), qmgr and
// bounce. A DeliveryStatus is built by the agent that tried the delivery; the text parts
// may come from a remote server (an SMTP reply) and are untrusted: they are logged and put
// in reports, never interpreted, and are cut to a bounded length where they are stored.
#pragma once

#include <string>
#include <string_view>

namespace postern {

// RFC 3464 section 2.3.3 actions, as Postfix names them.
namespace dsn_action {
inline constexpr std::string_view failed = "failed";
inline constexpr std::string_view delayed = "delayed";
inline constexpr std::string_view delivered = "delivered";
inline constexpr std::string_view relayed = "relayed";
inline constexpr std::string_view expanded = "expanded";
}  // namespace dsn_action

struct DeliveryStatus {
    // The enhanced status code, "2.0.0", "4.4.1", "5.1.1".
    std::string status;
    // One of dsn_action; empty means "derive from the status class".
    std::string action;
    // The human-readable reason as it appears in the log's parentheses: "delivered to
    // maildir", "host mx.example.com[192.0.2.1] said: 550 5.1.1 unknown user (in reply
    // to RCPT TO command)".
    std::string reason;
    // RFC 3464 Diagnostic-Code: type ("smtp", "x-unix") and text ("550 5.1.1 unknown");
    // empty when there is none.
    std::string diagnostic_type;
    std::string diagnostic_text;
    // RFC 3464 Remote-MTA: type ("dns") and name ("mx.example.com"); empty when local.
    std::string mta_type;
    std::string mta_name;

    // The class digit of the status: '2', '4' or '5' ('4' when malformed: a status that
    // cannot be read is treated as temporary, never as success).
    char status_class() const;
    bool permanent() const { return status_class() == '5'; }
    bool temporary() const { return status_class() == '4'; }
    bool success() const { return status_class() == '2'; }
};

// True for "D.D{1,3}.D{1,3}" with D in 2, 4, 5 first (RFC 3463's syntax).
bool is_enhanced_status_code(std::string_view text);

// An enhanced status code at the start of `text` ("5.1.1 user unknown"), or empty.
std::string_view leading_enhanced_status_code(std::string_view text);

// Convenience constructors for the common cases.
DeliveryStatus make_delivery_status(std::string_view status, std::string_view reason);

}  // namespace postern
