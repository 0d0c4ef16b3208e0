// AUTH for one SMTP session over Dovecot (lib/sasl/dovecot_auth.hpp): the session's
// SaslServerSession, connected when the session starts, with the mechanism list filtered
// by smtpd_sasl_security_options (smtpd_sasl_tls_security_options once TLS is active).
//
// Where it sits: smtpd/, between the session (smtpd_session.hpp) and lib/sasl.
#pragma once

#include <memory>
#include <string>

#include "sasl/dovecot_auth.hpp"
#include "smtpd/smtpd_session.hpp"

namespace postern::smtpd {

class DovecotSaslSession final : public SaslServerSession {
  public:
    // Connects to `path`; nullptr (after a warning) when Dovecot cannot be reached, so the
    // session goes on without AUTH, as Postfix's smtpd does after its warning.
    static std::unique_ptr<DovecotSaslSession> connect(const std::string& path,
                                                       std::chrono::milliseconds timeout,
                                                       std::string security_options,
                                                       DovecotAuthRequest request);

    std::string mechanisms() const override;
    Step start(std::string_view mechanism, std::optional<std::string_view> initial) override;
    Step next(std::string_view response) override;
    // After STARTTLS: Dovecot is told the channel is secured, and the mechanisms are
    // filtered with smtpd_sasl_tls_security_options instead.
    void set_secured(std::string tls_security_options) {
        request_.secured = true;
        security_options_ = std::move(tls_security_options);
    }

  private:
    DovecotSaslSession(DovecotAuthClient client, std::string security_options,
                       DovecotAuthRequest request)
        : client_(std::move(client)),
          security_options_(std::move(security_options)),
          request_(std::move(request)) {}
    Step step(Result<DovecotAuthReply> reply);

    DovecotAuthClient client_;
    std::string security_options_;
    DovecotAuthRequest request_;
};

}  // namespace postern::smtpd
