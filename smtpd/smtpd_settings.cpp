#include "smtpd/smtpd_settings.hpp"

#include "util/strings.hpp"

namespace postern::smtpd {

namespace {

// One typed read after another, stopping at the first error (which names the parameter).
class SettingsReader {
  public:
    explicit SettingsReader(const Config& config) : config_(config) {}

    void text(std::string_view name, std::string& out) {
        if (auto value = config_.get(name); check(value))
            out = *value;
    }
    template <typename Integer>
    void integer(std::string_view name, Integer& out) {
        if (auto value = config_.get_integer(name); check(value))
            out = static_cast<Integer>(*value);
    }
    void seconds(std::string_view name, std::chrono::seconds& out) {
        if (auto value = config_.get_time_seconds(name); check(value))
            out = std::chrono::seconds(*value);
    }
    void boolean(std::string_view name, bool& out) {
        if (auto value = config_.get_boolean(name); check(value))
            out = *value;
    }
    Status status() const { return status_; }

  private:
    template <typename T>
    bool check(const Result<T>& result) {
        if (result || !status_)
            return result.ok() && status_.ok();
        status_ = result.error();
        return false;
    }
    const Config& config_;
    Status status_;
};

}  // namespace

Result<SmtpdSettings> SmtpdSettings::from_config(const Config& config) {
    SmtpdSettings settings;
    SettingsReader read(config);
    read.text("myhostname", settings.myhostname);
    read.text("mail_name", settings.mail_name);
    read.text("smtpd_banner", settings.banner);
    read.integer("message_size_limit", settings.message_size_limit);
    read.integer("line_length_limit", settings.line_length_limit);
    read.integer("smtpd_recipient_limit", settings.recipient_limit);
    read.seconds("smtpd_timeout", settings.timeout);
    read.integer("smtpd_hard_error_limit", settings.hard_error_limit);
    read.integer("smtpd_soft_error_limit", settings.soft_error_limit);
    read.seconds("smtpd_error_sleep_time", settings.error_sleep_time);
    read.integer("smtpd_junk_command_limit", settings.junk_command_limit);
    read.boolean("disable_vrfy_command", settings.disable_vrfy_command);
    read.boolean("smtpd_helo_required", settings.helo_required);
    read.boolean("smtpd_delay_reject", settings.delay_reject);
    read.boolean("smtpd_peername_lookup", settings.peername_lookup);
    read.boolean("smtputf8_enable", settings.smtputf8_enable);
    read.boolean("smtpd_sasl_auth_enable", settings.sasl_auth_enable);
    read.text("smtpd_sasl_type", settings.sasl_type);
    read.text("smtpd_sasl_path", settings.sasl_path);
    read.text("smtpd_sasl_security_options", settings.sasl_security_options);
    read.text("smtpd_sasl_tls_security_options", settings.sasl_tls_security_options);
    read.text("smtpd_sasl_service", settings.sasl_service);
    read.boolean("smtpd_tls_auth_only", settings.tls_auth_only);
    read.boolean("smtpd_tls_received_header", settings.tls_received_header);
    read.boolean("smtpd_tls_ask_ccert", settings.tls_ask_ccert);
    read.text("queue_directory", settings.queue_directory);
    read.seconds("ipc_timeout", settings.ipc_timeout);
    std::string discard;
    read.text("smtpd_discard_ehlo_keywords", discard);
    if (!read.status())
        return read.status().error();
    for (std::string_view keyword : split_list(discard))
        settings.discard_ehlo_keywords.push_back(lowercase(keyword));
    return settings;
}

}  // namespace postern::smtpd
