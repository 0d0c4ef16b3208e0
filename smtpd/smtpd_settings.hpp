// What smtpd reads from main.cf and the service's -o overrides, once per process.
//
// Where it sits: smtpd/, between lib/config and the session (smtpd_session.hpp). Nothing
// here is untrusted; a bad value is a `fatal:` line at start-up (the skeleton's pre_init).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "util/result.hpp"

namespace postern::smtpd {

struct SmtpdSettings {
    std::string myhostname = "localhost";
    std::string mail_name = "Postfix";
    std::string banner = "localhost ESMTP Postfix";  // smtpd_banner, expanded
    int64_t message_size_limit = 10240000;           // 0: no limit
    size_t line_length_limit = 2048;
    int64_t recipient_limit = 1000;
    std::chrono::seconds timeout{300};
    int hard_error_limit = 20;
    int soft_error_limit = 10;
    std::chrono::seconds error_sleep_time{1};
    int junk_command_limit = 100;
    bool disable_vrfy_command = false;
    bool helo_required = false;
    bool delay_reject = true;
    bool peername_lookup = true;  // smtpd_peername_lookup
    bool smtputf8_enable = true;
    std::vector<std::string> discard_ehlo_keywords;  // lower case
    bool sasl_auth_enable = false;
    std::string sasl_type = "cyrus";
    std::string sasl_path = "smtpd";
    std::string sasl_security_options = "noanonymous";
    std::string sasl_tls_security_options = "noanonymous";  // once TLS is active
    std::string sasl_service = "smtp";
    bool tls_auth_only = false;
    bool tls_received_header = false;  // smtpd_tls_received_header
    bool tls_ask_ccert = false;        // smtpd_tls_ask_ccert
    std::string queue_directory;
    std::chrono::seconds ipc_timeout{3600};

    static Result<SmtpdSettings> from_config(const Config& config);
};

}  // namespace postern::smtpd
