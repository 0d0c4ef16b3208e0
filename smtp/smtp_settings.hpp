// The smtp delivery agent's parameters, read once at start-up (typed, from the parameter
// table), and the tables it opens before it drops privileges.
//
// Where it sits: smtp/, between main.cpp's pre_init and the agent. A bad value is a
// configuration error (fatal at start-up, as in Postfix).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "maps/map_list.hpp"
#include "sasl/sasl_client.hpp"
#include "tls/tls_policy.hpp"
#include "util/result.hpp"

namespace postern::smtp {

struct SmtpTimeouts {
    std::chrono::seconds connect{30};
    std::chrono::seconds helo{300};  // greeting and EHLO/HELO reply
    std::chrono::seconds starttls{300};
    std::chrono::seconds mail{300};
    std::chrono::seconds rcpt{300};
    std::chrono::seconds data_init{120};
    std::chrono::seconds data_xfer{180};
    std::chrono::seconds data_done{600};
    std::chrono::seconds rset{20};
    std::chrono::seconds quit{300};
};

struct SmtpSettings {
    std::string helo_name;  // smtp_helo_name
    std::string bind_address;
    std::string bind_address6;
    std::string default_service = "smtp";  // smtp_tcp_port
    int64_t mx_address_limit = 5;
    int64_t mx_session_limit = 2;
    bool always_send_ehlo = true;
    bool never_send_ehlo = false;
    bool skip_5xx_greeting = true;
    bool skip_quit_response = true;
    size_t line_length_limit = 2048;
    std::vector<std::string> discard_ehlo_keywords;
    SmtpTimeouts timeouts;

    // SASL (smtp_sasl_*).
    bool sasl_enable = false;
    bool sender_dependent_authentication = false;
    bool sasl_soft_bounce = true;
    std::vector<std::string> sasl_mechanism_filter;
    SaslSecurityOptions sasl_security;
    SaslSecurityOptions sasl_tls_security;

    // TLS: the default level; per-destination levels come from tls_policy_maps.
    TlsLevel tls_level = TlsLevel::none;
};

// Reads every smtp_* parameter above.
Result<SmtpSettings> read_smtp_settings(const Config& config);

}  // namespace postern::smtp
