#include "smtpd/smtpd_sasl.hpp"

#include "util/log.hpp"

namespace postern::smtpd {

std::unique_ptr<DovecotSaslSession> DovecotSaslSession::connect(const std::string& path,
                                                                std::chrono::milliseconds timeout,
                                                                std::string security_options,
                                                                DovecotAuthRequest request) {
    auto client = DovecotAuthClient::connect(path, timeout);
    if (!client) {
        log_warning("%s", client.error().message().c_str());
        return nullptr;
    }
    return std::unique_ptr<DovecotSaslSession>(new DovecotSaslSession(
        std::move(*client), std::move(security_options), std::move(request)));
}

std::string DovecotSaslSession::mechanisms() const {
    return filter_sasl_mechanisms(client_.mechanisms(), security_options_);
}

SaslServerSession::Step DovecotSaslSession::start(std::string_view mechanism,
                                                  std::optional<std::string_view> initial) {
    // Only what is advertised may be used (smtpd_sasl_security_options).
    bool offered = false;
    std::string list = mechanisms();
    size_t start = 0;
    while (start <= list.size()) {
        size_t end = list.find(' ', start);
        std::string_view name = std::string_view(list).substr(start, end - start);
        offered = offered || name == mechanism;
        if (end == std::string::npos)
            break;
        start = end + 1;
    }
    if (!offered)
        return Step{Step::Kind::failure, {}, {}, "Invalid authentication mechanism"};
    return step(client_.start(mechanism, initial, request_));
}

SaslServerSession::Step DovecotSaslSession::next(std::string_view response) {
    return step(client_.respond(response));
}

SaslServerSession::Step DovecotSaslSession::step(Result<DovecotAuthReply> reply) {
    if (!reply) {
        log_warning("%s", reply.error().message().c_str());
        return Step{Step::Kind::failure, {}, {}, "Connection lost to authentication server"};
    }
    switch (reply->kind) {
        case DovecotAuthReply::Kind::cont:
            return Step{Step::Kind::challenge, reply->challenge, {}, {}};
        case DovecotAuthReply::Kind::ok:
            return Step{Step::Kind::success, {}, reply->user, {}};
        case DovecotAuthReply::Kind::fail:
            break;
    }
    // Postfix's words when Dovecot gives no reason.
    return Step{Step::Kind::failure,
                {},
                reply->user,
                reply->reason.empty() ? std::string("(reason unavailable)") : reply->reason};
}

}  // namespace postern::smtpd
