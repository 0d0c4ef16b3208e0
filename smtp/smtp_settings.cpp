#include "smtp/smtp_settings.hpp"

#include "dns/nexthop.hpp"
#include "util/strings.hpp"

namespace postern::smtp {

namespace {

Status read_seconds(const Config& config, std::string_view name, std::chrono::seconds& out) {
    auto value = config.get_time_seconds(name);
    if (!value)
        return value.error();
    out = std::chrono::seconds(*value);
    return {};
}

Status read_timeouts(const Config& config, SmtpTimeouts& timeouts) {
    struct Entry {
        std::string_view name;
        std::chrono::seconds* target;
    };
    const Entry entries[] = {
        {"smtp_connect_timeout", &timeouts.connect},
        {"smtp_helo_timeout", &timeouts.helo},
        {"smtp_starttls_timeout", &timeouts.starttls},
        {"smtp_mail_timeout", &timeouts.mail},
        {"smtp_rcpt_timeout", &timeouts.rcpt},
        {"smtp_data_init_timeout", &timeouts.data_init},
        {"smtp_data_xfer_timeout", &timeouts.data_xfer},
        {"smtp_data_done_timeout", &timeouts.data_done},
        {"smtp_rset_timeout", &timeouts.rset},
        {"smtp_quit_timeout", &timeouts.quit},
    };
    for (const auto& entry : entries)
        if (auto status = read_seconds(config, entry.name, *entry.target); !status)
            return status;
    return {};
}

Status read_sasl(const Config& config, SmtpSettings& settings) {
    auto enable = config.get_boolean("smtp_sasl_auth_enable");
    auto sender_dependent = config.get_boolean("smtp_sender_dependent_authentication");
    auto soft_bounce = config.get_boolean("smtp_sasl_auth_soft_bounce");
    auto filter = config.get_list("smtp_sasl_mechanism_filter");
    auto plain_options = config.get("smtp_sasl_security_options");
    auto tls_options = config.get("smtp_sasl_tls_security_options");
    if (!enable || !sender_dependent || !soft_bounce || !filter || !plain_options || !tls_options)
        return !enable             ? enable.error()
               : !sender_dependent ? sender_dependent.error()
               : !soft_bounce      ? soft_bounce.error()
               : !filter           ? filter.error()
               : !plain_options    ? plain_options.error()
                                   : tls_options.error();
    auto security = parse_sasl_security_options(*plain_options);
    if (!security)
        return Error(ErrorKind::config,
                     "smtp_sasl_security_options: " + security.error().message());
    auto tls_security = parse_sasl_security_options(*tls_options);
    if (!tls_security)
        return Error(ErrorKind::config,
                     "smtp_sasl_tls_security_options: " + tls_security.error().message());
    settings.sasl_enable = *enable;
    settings.sender_dependent_authentication = *sender_dependent;
    settings.sasl_soft_bounce = *soft_bounce;
    settings.sasl_mechanism_filter = *filter;
    settings.sasl_security = *security;
    settings.sasl_tls_security = *tls_security;
    return {};
}

}  // namespace

Result<SmtpSettings> read_smtp_settings(const Config& config) {
    SmtpSettings settings;
    auto helo_name = config.get("smtp_helo_name");
    auto bind_address = config.get("smtp_bind_address");
    auto bind_address6 = config.get("smtp_bind_address6");
    auto port = config.get("smtp_tcp_port");
    auto address_limit = config.get_integer("smtp_mx_address_limit");
    auto session_limit = config.get_integer("smtp_mx_session_limit");
    auto always_ehlo = config.get_boolean("smtp_always_send_ehlo");
    auto never_ehlo = config.get_boolean("smtp_never_send_ehlo");
    auto skip_5xx = config.get_boolean("smtp_skip_5xx_greeting");
    auto skip_quit = config.get_boolean("smtp_skip_quit_response");
    auto line_limit = config.get_integer("line_length_limit");
    auto discard = config.get_list("smtp_discard_ehlo_keywords");
    for (const Error* error :
         {helo_name ? nullptr : &helo_name.error(), bind_address ? nullptr : &bind_address.error(),
          bind_address6 ? nullptr : &bind_address6.error(), port ? nullptr : &port.error(),
          address_limit ? nullptr : &address_limit.error(),
          session_limit ? nullptr : &session_limit.error(),
          always_ehlo ? nullptr : &always_ehlo.error(), never_ehlo ? nullptr : &never_ehlo.error(),
          skip_5xx ? nullptr : &skip_5xx.error(), skip_quit ? nullptr : &skip_quit.error(),
          line_limit ? nullptr : &line_limit.error(), discard ? nullptr : &discard.error()})
        if (error)
            return *error;
    if (auto port_number = service_port(*port); !port_number)
        return Error(ErrorKind::config, "smtp_tcp_port: " + port_number.error().message());
    settings.helo_name = *helo_name;
    settings.bind_address = *bind_address;
    settings.bind_address6 = *bind_address6;
    settings.default_service = *port;
    settings.mx_address_limit = *address_limit;
    settings.mx_session_limit = *session_limit;
    settings.always_send_ehlo = *always_ehlo;
    settings.never_send_ehlo = *never_ehlo;
    settings.skip_5xx_greeting = *skip_5xx;
    settings.skip_quit_response = *skip_quit;
    settings.line_length_limit = static_cast<size_t>(std::max<int64_t>(*line_limit, 1));
    settings.discard_ehlo_keywords = *discard;
    if (auto status = read_timeouts(config, settings.timeouts); !status)
        return status.error();
    if (auto status = read_sasl(config, settings); !status)
        return status.error();
    auto level = smtp_client_tls_level(config, "smtp");
    if (!level)
        return level.error();
    settings.tls_level = *level;
    return settings;
}

}  // namespace postern::smtp
