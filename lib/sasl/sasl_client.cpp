#include "sasl/sasl_client.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>

#include "maps/map_list.hpp"
#include "util/strings.hpp"

namespace postern {

namespace {

void add_key(std::vector<SaslLookupKey>& keys, std::string key, bool partial) {
    if (key.empty())
        return;
    for (const auto& existing : keys)
        if (equals_ignore_case(existing.key, key))
            return;
    keys.push_back({std::move(key), partial});
}

// "[relay.example]:587" -> "relay.example", "example.com:25" -> "example.com".
std::string nexthop_domain(std::string_view nexthop) {
    if (!nexthop.empty() && nexthop.front() == '[') {
        auto close = nexthop.find(']');
        return std::string(nexthop.substr(
            1, close == std::string_view::npos ? std::string_view::npos : close - 1));
    }
    auto colon = nexthop.rfind(':');
    return std::string(colon == std::string_view::npos ? nexthop : nexthop.substr(0, colon));
}

// What each mechanism is, in the terms of the security options (Cyrus SASL's properties).
struct MechanismProperties {
    std::string_view name;
    bool plaintext;
    bool anonymous;
    bool active_safe;
    bool dictionary_safe;
    bool mutual;
};

constexpr MechanismProperties kMechanisms[] = {
    {"CRAM-MD5", false, false, false, false, false},
    {"PLAIN", true, false, false, false, false},
    {"LOGIN", true, false, false, false, false},
};

bool allowed_by(const MechanismProperties& mechanism, const SaslSecurityOptions& security) {
    return !(security.no_plaintext && mechanism.plaintext) &&
           !(security.no_anonymous && mechanism.anonymous) &&
           !(security.no_active && !mechanism.active_safe) &&
           !(security.no_dictionary && !mechanism.dictionary_safe) &&
           !(security.mutual_auth && !mechanism.mutual);
}

class PlainExchange final : public SaslClientExchange {
  public:
    explicit PlainExchange(SaslCredentials credentials)
        : SaslClientExchange("PLAIN"), credentials_(std::move(credentials)) {}
    std::optional<std::string> initial_response() override {
        // authzid (empty) NUL authcid NUL password (RFC 4616 section 2).
        std::string response;
        response.push_back('\0');
        response += credentials_.username;
        response.push_back('\0');
        response += credentials_.password;
        return response;
    }
    Result<std::string> respond(std::string_view) override {
        // A server that sends a challenge after the initial response is broken; an empty
        // answer lets it fail the exchange with its own reply.
        return std::string();
    }

  private:
    SaslCredentials credentials_;
};

class LoginExchange final : public SaslClientExchange {
  public:
    explicit LoginExchange(SaslCredentials credentials)
        : SaslClientExchange("LOGIN"), credentials_(std::move(credentials)) {}
    std::optional<std::string> initial_response() override { return std::nullopt; }
    Result<std::string> respond(std::string_view) override {
        // The challenges ("Username:", "Password:") are informational; the order is fixed.
        switch (step_++) {
            case 0:
                return credentials_.username;
            case 1:
                return credentials_.password;
            default:
                return Error(ErrorKind::protocol, "unexpected LOGIN challenge");
        }
    }

  private:
    SaslCredentials credentials_;
    int step_ = 0;
};

class CramMd5Exchange final : public SaslClientExchange {
  public:
    explicit CramMd5Exchange(SaslCredentials credentials)
        : SaslClientExchange("CRAM-MD5"), credentials_(std::move(credentials)) {}
    std::optional<std::string> initial_response() override { return std::nullopt; }
    Result<std::string> respond(std::string_view challenge) override {
        if (answered_)
            return Error(ErrorKind::protocol, "unexpected CRAM-MD5 challenge");
        answered_ = true;
        unsigned char digest[EVP_MAX_MD_SIZE];
        unsigned int length = 0;
        HMAC(EVP_md5(), credentials_.password.data(),
             static_cast<int>(credentials_.password.size()),
             reinterpret_cast<const unsigned char*>(challenge.data()), challenge.size(), digest,
             &length);
        static constexpr char kHex[] = "0123456789abcdef";
        std::string response = credentials_.username + " ";
        for (unsigned int i = 0; i < length; ++i) {
            response.push_back(kHex[digest[i] >> 4]);
            response.push_back(kHex[digest[i] & 15]);
        }
        return response;
    }

  private:
    SaslCredentials credentials_;
    bool answered_ = false;
};

}  // namespace

std::vector<SaslLookupKey> sasl_password_lookup_keys(const SaslLookupTarget& target) {
    std::vector<SaslLookupKey> keys;
    if (target.sender_dependent && !target.sender.empty()) {
        add_key(keys, target.sender, false);
        auto at = target.sender.rfind('@');
        if (at != std::string::npos)
            add_key(keys, target.sender.substr(at), true);
    }
    if (!target.server_port.empty())
        add_key(keys, "[" + target.server_host + "]:" + target.server_port, false);
    add_key(keys, target.server_host, false);
    add_key(keys, target.nexthop, false);
    add_key(keys, nexthop_domain(target.nexthop), false);
    return keys;
}

Result<std::optional<SaslCredentials>> find_sasl_credentials(MapList& passwords,
                                                             const SaslLookupTarget& target) {
    for (const auto& key : sasl_password_lookup_keys(target)) {
        auto value = passwords.find(key.key, key.partial ? KeyForm::partial : KeyForm::full);
        if (!value)
            return value.error();
        if (*value)
            return std::optional<SaslCredentials>(parse_sasl_credentials(**value));
    }
    return std::optional<SaslCredentials>();
}

SaslCredentials parse_sasl_credentials(std::string_view value) {
    auto colon = value.find(':');
    if (colon == std::string_view::npos)
        return {std::string(value), {}};
    return {std::string(value.substr(0, colon)), std::string(value.substr(colon + 1))};
}

Result<SaslSecurityOptions> parse_sasl_security_options(std::string_view value) {
    SaslSecurityOptions options;
    for (auto word : split_list(value)) {
        std::string name = lowercase(word);
        if (name == "noplaintext")
            options.no_plaintext = true;
        else if (name == "noanonymous")
            options.no_anonymous = true;
        else if (name == "noactive")
            options.no_active = true;
        else if (name == "nodictionary")
            options.no_dictionary = true;
        else if (name == "mutual_auth")
            options.mutual_auth = true;
        else
            return Error(ErrorKind::config,
                         "unknown SASL security option \"" + std::string(word) + "\"");
    }
    return options;
}

const std::vector<std::string_view>& supported_sasl_mechanisms() {
    static const std::vector<std::string_view> names = [] {
        std::vector<std::string_view> list;
        for (const auto& mechanism : kMechanisms)
            list.push_back(mechanism.name);
        return list;
    }();
    return names;
}

std::vector<std::string> filter_sasl_mechanisms(const std::vector<std::string>& offered,
                                                const std::vector<std::string>& filter) {
    std::vector<std::string> kept;
    for (const auto& name : offered) {
        bool listed = filter.empty() ||
                      std::any_of(filter.begin(), filter.end(), [&](const std::string& wanted) {
                          return equals_ignore_case(wanted, name);
                      });
        bool seen = std::any_of(kept.begin(), kept.end(), [&](const std::string& earlier) {
            return equals_ignore_case(earlier, name);
        });
        if (listed && !seen)
            kept.push_back(name);
    }
    return kept;
}

std::optional<std::string> choose_sasl_mechanism(const std::vector<std::string>& offered,
                                                 const std::vector<std::string>& filter,
                                                 const SaslSecurityOptions& security) {
    auto usable = filter_sasl_mechanisms(offered, filter);
    for (const auto& mechanism : kMechanisms) {
        if (!allowed_by(mechanism, security))
            continue;
        for (const auto& name : usable)
            if (equals_ignore_case(name, mechanism.name))
                return std::string(mechanism.name);
    }
    return std::nullopt;
}

std::unique_ptr<SaslClientExchange> make_sasl_client_exchange(std::string_view mechanism,
                                                              const SaslCredentials& credentials) {
    if (equals_ignore_case(mechanism, "PLAIN"))
        return std::make_unique<PlainExchange>(credentials);
    if (equals_ignore_case(mechanism, "LOGIN"))
        return std::make_unique<LoginExchange>(credentials);
    if (equals_ignore_case(mechanism, "CRAM-MD5"))
        return std::make_unique<CramMd5Exchange>(credentials);
    return nullptr;
}

std::string sasl_base64_encode(std::string_view bytes) {
    std::string text(4 * ((bytes.size() + 2) / 3), '\0');
    int length = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(text.data()),
                                 reinterpret_cast<const unsigned char*>(bytes.data()),
                                 static_cast<int>(bytes.size()));
    text.resize(static_cast<size_t>(length));
    return text;
}

Result<std::string> sasl_base64_decode(std::string_view text) {
    auto invalid = [] { return Error(ErrorKind::protocol, "malformed base64 data"); };
    if (text.size() % 4 != 0)
        return invalid();
    bool valid = std::all_of(text.begin(), text.end(), [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
               c == '+' || c == '/' || c == '=';
    });
    if (!valid)
        return invalid();
    std::string bytes(3 * (text.size() / 4), '\0');
    int length = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(bytes.data()),
                                 reinterpret_cast<const unsigned char*>(text.data()),
                                 static_cast<int>(text.size()));
    if (length < 0)
        return invalid();
    // EVP_DecodeBlock counts the padding as data bytes.
    size_t padding = 0;
    for (size_t i = text.size(); i > 0 && text[i - 1] == '=' && padding < 2; --i)
        ++padding;
    bytes.resize(static_cast<size_t>(length) - padding);
    return bytes;
}

}  // namespace postern
