// The smtp delivery agent's work on one delivery request: find the servers of the
// nexthop, try them in order within smtp_mx_address_limit and smtp_mx_session_limit, and
// report every recipient (sent, deferred, bounced) with relay=host[addr]:port.
//
// Where it sits: smtp/, between main.cpp (the single-client skeleton and
// serve_delivery_requests) and the sessions (smtp_session.hpp). open() runs in pre_init,
// as root before any chroot: it reads the parameters, opens smtp_sasl_password_maps and
// smtp_tls_policy_maps (the password file is usually readable by root only) and loads the
// TLS client context. lib/dns finds the servers (the resolver is made here too, while
// /etc/resolv.conf is still visible).
#pragma once

#include <memory>
#include <optional>

#include "dns/dns.hpp"
#include "dns/nexthop.hpp"
#include "maps/map_list.hpp"
#include "queue/delivery_agent.hpp"
#include "server/server_context.hpp"
#include "smtp/smtp_session.hpp"
#include "smtp/smtp_settings.hpp"
#include "tls/tls_context.hpp"

namespace postern::smtp {

class SmtpAgent {
  public:
    static Result<std::unique_ptr<SmtpAgent>> open(const ServerContext& context);

    Status deliver(DeliverySession& session, const ServerContext& context);

  private:
    SmtpAgent() = default;
    // The TLS policy toward `server` of `nexthop`: smtp_tls_policy_maps, else the default.
    Result<TlsClientPolicy> tls_policy(const Config& config, std::string_view nexthop_text,
                                       const Nexthop& nexthop, const SmtpPeer& server);
    // Every recipient not yet reported, with the status of a failed lookup.
    void report_lookup_failure(DeliverySession& session, const Error& error);

    SmtpSettings settings_;
    std::optional<MapList> sasl_passwords_;
    std::optional<MapList> tls_policies_;
    std::optional<TlsContext> tls_context_;
    std::unique_ptr<DnsResolver> resolver_;
    ServerLookupPolicy lookup_policy_;
};

}  // namespace postern::smtp
