// One SMTP session with one server address: connect, greeting, EHLO (HELO fallback),
// STARTTLS, AUTH, then one transaction for the recipients still pending, and QUIT.
//
// Where it sits: smtp/, called by the agent (smtp_agent.hpp) once per server it tries.
// In: the request and its queue file (through DeliverySession), the server, the TLS and
// SASL settings. Out: a SessionResult with a final outcome for each recipient the server
// answered for, and for the rest a session-level failure the agent either carries to the
// next server or reports. Nothing is reported to the DeliverySession here, except
// connection_ready() for the delay accounting.
//
// Everything the server sends is untrusted: replies are parsed by smtp_reply.hpp, shown
// in reasons as received (bounded by the stream's line limit and the parser's line count)
// and never interpreted beyond the code. Passwords never reach a log line.
// RFCs: 5321 (SMTP), 2920 (PIPELINING), 1870 (SIZE), 6152 (8BITMIME), 6531 (SMTPUTF8),
// 3461 (DSN), 3207 (STARTTLS), 4954 (AUTH).
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "maps/map_list.hpp"
#include "net/tcp_connect.hpp"
#include "queue/delivery_agent.hpp"
#include "smtp/smtp_settings.hpp"
#include "tls/tls_context.hpp"
#include "tls/tls_policy.hpp"

namespace postern::smtp {

// One address of the destination, as the agent tries it (from lib/dns's ServerAddress).
struct SmtpPeer {
    std::string hostname;  // "mx1.example.com", or the address itself for a [literal]
    std::string address;   // numeric: "192.0.2.1"
    uint16_t port = 25;
    // "mx1.example.com[192.0.2.1]:25", the relay= of the status line.
    std::string relay() const;
    // "mx1.example.com[192.0.2.1]", as reasons name the server.
    std::string peer() const;
};

struct RecipientResult {
    ReportKind kind = ReportKind::deferred;
    DeliveryStatus status;
};

struct SessionResult {
    bool connected = false;  // the greeting arrived: counts against smtp_mx_session_limit
    // Recipients (request indexes) this server settled.
    std::map<size_t, RecipientResult> settled;
    // For the pending recipients not in `settled`: why they were not delivered.
    std::optional<DeliveryStatus> failure;
    // The failure is about this server, not the mail: another server may do better.
    bool try_next_server = false;
};

// What every session of the process shares.
struct SessionResources {
    const SmtpSettings* settings = nullptr;
    MapList* sasl_passwords = nullptr;        // null when smtp_sasl_password_maps is empty
    const TlsContext* tls_context = nullptr;  // null when TLS is never used
};

// Talks to `server` about `pending` (indexes into the request's recipients). `tls` is the
// policy for this server (level none: no STARTTLS).
SessionResult run_smtp_session(DeliverySession& session, const SessionResources& resources,
                               const SmtpPeer& server, const TlsClientPolicy& tls,
                               const std::vector<size_t>& pending);

}  // namespace postern::smtp
