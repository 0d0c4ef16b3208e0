#include "smtp/smtp_agent.hpp"

#include <algorithm>

#include "mail/local_domains.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace postern::smtp {

namespace {

Result<std::optional<MapList>> open_tables(const Config& config, std::string_view parameter) {
    auto specs = config.get(parameter);
    if (!specs)
        return specs.error();
    if (trim(*specs).empty())
        return std::optional<MapList>();
    MapListOptions options;
    options.open.context = std::string(parameter);
    options.surrogate_on_open_error = true;
    auto tables = MapList::open(std::string(parameter), *specs, options);
    if (!tables)
        return tables.error();
    return std::optional<MapList>(std::move(*tables));
}

DeliveryStatus status_of(const Error& error) {
    std::string code = error.enhanced_status();
    if (code.empty())
        code = error.kind() == ErrorKind::permanent ? "5.0.0" : "4.0.0";
    return make_delivery_status(code, error.message());
}

void report(DeliverySession& session, size_t index, const DeliveryStatus& status,
            std::string_view relay) {
    ReportKind kind = status.success()     ? ReportKind::sent
                      : status.permanent() ? ReportKind::bounced
                                           : ReportKind::deferred;
    session.report(index, kind, status, relay);
}

// The keys of smtp_tls_policy_maps, as Postfix: the nexthop as written, then its host,
// then its parent domains as ".parent" (partial keys, fixed tables only).
std::vector<std::pair<std::string, KeyForm>> tls_policy_keys(std::string_view text,
                                                             const Nexthop& nexthop) {
    std::vector<std::pair<std::string, KeyForm>> keys;
    keys.emplace_back(text, KeyForm::full);
    if (nexthop.host != text)
        keys.emplace_back(nexthop.host, KeyForm::full);
    if (nexthop.mx_lookup)
        for (auto dot = nexthop.host.find('.'); dot != std::string::npos;
             dot = nexthop.host.find('.', dot + 1))
            keys.emplace_back(nexthop.host.substr(dot), KeyForm::partial);
    return keys;
}

}  // namespace

Result<std::unique_ptr<SmtpAgent>> SmtpAgent::open(const ServerContext& context) {
    std::unique_ptr<SmtpAgent> agent(new SmtpAgent());
    auto settings = read_smtp_settings(context.config);
    if (!settings)
        return settings.error();
    agent->settings_ = std::move(*settings);
    auto dns_settings = read_dns_resolver_settings(context.config);
    if (!dns_settings)
        return dns_settings.error();
    auto resolver = DnsResolver::create(*dns_settings);
    if (!resolver)
        return resolver.error();
    agent->resolver_ = std::move(*resolver);
    auto policy = read_server_lookup_policy(context.config, "smtp");
    if (!policy)
        return policy.error();
    agent->lookup_policy_ = std::move(*policy);
    auto local_domains = LocalDomains::open(context.config);
    if (!local_domains)
        return local_domains.error();
    agent->lookup_policy_.own_addresses = local_domains->own_addresses();
    if (agent->settings_.sasl_enable) {
        auto passwords = open_tables(context.config, "smtp_sasl_password_maps");
        if (!passwords)
            return passwords.error();
        agent->sasl_passwords_ = std::move(*passwords);
    }
    auto policies = open_tables(context.config, "smtp_tls_policy_maps");
    if (!policies)
        return policies.error();
    agent->tls_policies_ = std::move(*policies);
    if (agent->settings_.tls_level != TlsLevel::none || agent->tls_policies_) {
        auto files = tls_client_files(context.config, "smtp");
        if (!files)
            return files.error();
        auto tls = TlsContext::client(*files);
        if (!tls)
            return tls.error();
        agent->tls_context_.emplace(std::move(*tls));
    }
    return agent;
}

Result<TlsClientPolicy> SmtpAgent::tls_policy(const Config& config, std::string_view nexthop_text,
                                              const Nexthop& nexthop, const SmtpPeer& server) {
    TlsPolicyEntry entry;
    entry.level = settings_.tls_level;
    if (tls_policies_) {
        for (const auto& [key, form] : tls_policy_keys(nexthop_text, nexthop)) {
            auto value = tls_policies_->find(key, form);
            if (!value)
                return Error(ErrorKind::temporary, "TLS policy lookup error", "4.7.5");
            if (!*value)
                continue;
            auto parsed = parse_tls_policy_entry(**value);
            if (!parsed) {
                log_warning("%s: invalid TLS policy for \"%s\": %s", tls_policies_->title().c_str(),
                            key.c_str(), parsed.error().message().c_str());
                return Error(ErrorKind::temporary, "TLS policy lookup error", "4.7.5");
            }
            entry = std::move(*parsed);
            break;
        }
    }
    return tls_client_policy(config, entry, server.hostname, nexthop.host, "smtp");
}

void SmtpAgent::report_lookup_failure(DeliverySession& session, const Error& error) {
    auto status = status_of(error);
    if (status.permanent()) {
        session.bounce_remaining(status);
        return;
    }
    session.destination_unavailable(status);
    session.defer_remaining(status);
}

Status SmtpAgent::deliver(DeliverySession& session, const ServerContext& context) {
    const auto& request = session.request();
    auto nexthop = parse_nexthop(request.nexthop, settings_.default_service);
    if (!nexthop) {
        report_lookup_failure(session, nexthop.error());
        return {};
    }
    auto found = resolve_nexthop(*resolver_, *nexthop, lookup_policy_);
    if (!found) {
        report_lookup_failure(session, found.error());
        return {};
    }
    std::vector<SmtpPeer> servers;
    for (const auto& server : found->servers)
        servers.push_back(SmtpPeer{server.host, format_host_address(server.address), server.port});
    std::vector<size_t> pending(request.recipients.size());
    for (size_t i = 0; i < pending.size(); ++i)
        pending[i] = i;
    SessionResources resources{&settings_, sasl_passwords_ ? &*sasl_passwords_ : nullptr,
                               tls_context_ ? &*tls_context_ : nullptr};
    std::optional<DeliveryStatus> failure;
    std::string failure_relay = "none";
    int64_t addresses = 0;
    int64_t sessions = 0;
    bool any_connected = false;
    for (const auto& server : servers) {
        if ((settings_.mx_address_limit > 0 && addresses >= settings_.mx_address_limit) ||
            (settings_.mx_session_limit > 0 && sessions >= settings_.mx_session_limit))
            break;
        ++addresses;
        auto policy = tls_policy(context.config, request.nexthop, *nexthop, server);
        if (!policy) {
            failure = status_of(policy.error());
            break;
        }
        auto result = run_smtp_session(session, resources, server, *policy, pending);
        if (result.connected) {
            ++sessions;
            any_connected = true;
        }
        for (const auto& [index, outcome] : result.settled)
            session.report(index, outcome.kind, outcome.status, server.relay());
        std::erase_if(pending, [&](size_t index) { return result.settled.count(index) > 0; });
        if (pending.empty())
            return {};
        failure = result.failure ? *result.failure
                                 : make_delivery_status("4.3.0", "no result from " + server.peer());
        failure_relay = result.connected ? server.relay() : "none";
        if (!result.try_next_server)
            break;
    }
    if (!failure)
        failure = make_delivery_status("4.4.3", "no server addresses to try");
    // Postfix marks the destination dead when no server could even be reached.
    if (!any_connected && failure->temporary())
        session.destination_unavailable(*failure);
    for (size_t index : pending)
        report(session, index, *failure, failure_relay);
    return {};
}

}  // namespace postern::smtp
