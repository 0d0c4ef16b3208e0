// TLS policy: Postfix's TLS parameters mapped onto levels, protocol ranges and cipher
// lists (see tls_policy.hpp).
#include "tls/tls_policy.hpp"

#include <arpa/inet.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <array>

#include "util/strings.hpp"

namespace postern {

namespace {

struct LevelName {
    TlsLevel level;
    const char* name;
};

constexpr std::array<LevelName, 8> kLevelNames{{
    {TlsLevel::none, "none"},
    {TlsLevel::may, "may"},
    {TlsLevel::encrypt, "encrypt"},
    {TlsLevel::dane, "dane"},
    {TlsLevel::dane_only, "dane-only"},
    {TlsLevel::fingerprint, "fingerprint"},
    {TlsLevel::verify, "verify"},
    {TlsLevel::secure, "secure"},
}};

// Protocols in version order. SSLv2/SSLv3 are accepted in settings but never enabled.
struct ProtocolName {
    const char* name;
    int version;         // 0: a protocol OpenSSL 3 no longer has
    uint64_t no_option;  // SSL_OP_NO_*
};

constexpr std::array<ProtocolName, 6> kProtocols{{
    {"SSLv2", 0, 0},
    {"SSLv3", 0, 0},
    {"TLSv1", TLS1_VERSION, SSL_OP_NO_TLSv1},
    {"TLSv1.1", TLS1_1_VERSION, SSL_OP_NO_TLSv1_1},
    {"TLSv1.2", TLS1_2_VERSION, SSL_OP_NO_TLSv1_2},
    {"TLSv1.3", TLS1_3_VERSION, SSL_OP_NO_TLSv1_3},
}};

constexpr std::string_view kProtocolSeparators = ", \t\r\n:";

const ProtocolName* find_protocol(std::string_view name) {
    for (const auto& protocol : kProtocols)
        if (equals_ignore_case(name, protocol.name))
            return &protocol;
    return nullptr;
}

Error protocol_error(std::string_view value, std::string_view word) {
    return Error(ErrorKind::config, "invalid TLS protocol list \"" + std::string(value) +
                                        "\": unknown protocol \"" + std::string(word) + "\"");
}

Result<std::string> get_string(const Config& config, const std::string& name) {
    return config.get(name);
}

bool is_ip_literal(std::string_view name) {
    if (name.empty() || name.front() == '[')
        return true;
    std::string text(name);
    unsigned char buffer[16];
    return inet_pton(AF_INET, text.c_str(), buffer) == 1 ||
           inet_pton(AF_INET6, text.c_str(), buffer) == 1;
}

std::string normalized_name(std::string_view name) {
    std::string result = lowercase(trim(name));
    while (!result.empty() && result.back() == '.')
        result.pop_back();
    return result;
}

}  // namespace

const char* tls_level_name(TlsLevel level) {
    for (const auto& entry : kLevelNames)
        if (entry.level == level)
            return entry.name;
    return "none";
}

Result<TlsLevel> parse_tls_level(std::string_view word) {
    for (const auto& entry : kLevelNames)
        if (equals_ignore_case(word, entry.name))
            return entry.level;
    return Error(ErrorKind::config, "unknown TLS security level \"" + std::string(word) + "\"");
}

bool tls_level_is_mandatory(TlsLevel level) {
    return level != TlsLevel::none && level != TlsLevel::may && level != TlsLevel::dane;
}

bool tls_level_checks_certificate(TlsLevel level) {
    return level == TlsLevel::verify || level == TlsLevel::secure || level == TlsLevel::dane_only ||
           level == TlsLevel::fingerprint;
}

Result<TlsLevel> smtp_client_tls_level(const Config& config, std::string_view prefix) {
    const std::string p(prefix);
    auto level = config.get(p + "_tls_security_level");
    if (!level)
        return level.error();
    if (!trim(*level).empty())
        return parse_tls_level(trim(*level));
    auto enforce = config.get_boolean(p + "_enforce_tls");
    if (!enforce)
        return enforce.error();
    if (*enforce) {
        auto peername = config.get_boolean(p + "_tls_enforce_peername");
        if (!peername)
            return peername.error();
        return *peername ? TlsLevel::verify : TlsLevel::encrypt;
    }
    auto use = config.get_boolean(p + "_use_tls");
    if (!use)
        return use.error();
    return *use ? TlsLevel::may : TlsLevel::none;
}

Result<TlsLevel> smtpd_tls_level(const Config& config, std::string_view prefix) {
    const std::string p(prefix);
    auto level = config.get(p + "_tls_security_level");
    if (!level)
        return level.error();
    if (!trim(*level).empty()) {
        auto parsed = parse_tls_level(trim(*level));
        if (!parsed)
            return parsed;
        if (*parsed != TlsLevel::none && *parsed != TlsLevel::may && *parsed != TlsLevel::encrypt)
            return Error(ErrorKind::config, "invalid " + p + "_tls_security_level value \"" +
                                                std::string(trim(*level)) +
                                                "\": the server knows none, may and encrypt");
        return parsed;
    }
    auto enforce = config.get_boolean(p + "_enforce_tls");
    if (!enforce)
        return enforce.error();
    if (*enforce)
        return TlsLevel::encrypt;
    auto use = config.get_boolean(p + "_use_tls");
    if (!use)
        return use.error();
    return *use ? TlsLevel::may : TlsLevel::none;
}

Result<TlsProtocols> parse_tls_protocols(std::string_view value) {
    // Which of kProtocols stay enabled, and explicit range bounds.
    std::array<bool, kProtocols.size()> enabled{};
    enabled.fill(true);
    bool any_included = false;
    std::array<bool, kProtocols.size()> included{};
    int explicit_min = 0;
    int explicit_max = 0;
    for (std::string_view word : split_list(value, kProtocolSeparators)) {
        bool exclude = false;
        int* bound = nullptr;
        if (word.starts_with(">=")) {
            bound = &explicit_min;
            word.remove_prefix(2);
        } else if (word.starts_with("<=")) {
            bound = &explicit_max;
            word.remove_prefix(2);
        } else if (word.starts_with("!")) {
            exclude = true;
            word.remove_prefix(1);
        }
        const ProtocolName* protocol = find_protocol(word);
        if (protocol == nullptr)
            return protocol_error(value, word);
        size_t index = static_cast<size_t>(protocol - kProtocols.data());
        if (bound != nullptr) {
            // >=SSLv3 means "no lower bound" in OpenSSL 3 terms; <=SSLv3 disables all.
            *bound = protocol->version != 0 ? protocol->version : (bound == &explicit_max ? -1 : 0);
        } else if (exclude) {
            enabled[index] = false;
        } else {
            any_included = true;
            included[index] = true;
        }
    }
    if (any_included)
        for (size_t i = 0; i < kProtocols.size(); ++i)
            enabled[i] = enabled[i] && included[i];
    for (size_t i = 0; i < kProtocols.size(); ++i) {
        int version = kProtocols[i].version;
        if (version == 0 || (explicit_min > 0 && version < explicit_min) ||
            (explicit_max != 0 && (explicit_max < 0 || version > explicit_max)))
            enabled[i] = false;
    }
    size_t lowest = kProtocols.size();
    size_t highest = 0;
    for (size_t i = 0; i < kProtocols.size(); ++i)
        if (enabled[i]) {
            lowest = std::min(lowest, i);
            highest = std::max(highest, i);
        }
    if (lowest == kProtocols.size())
        return Error(ErrorKind::config,
                     "invalid TLS protocol list \"" + std::string(value) + "\": no protocol left");
    TlsProtocols result;
    // No bound where the range reaches the ends of what OpenSSL offers, so a newer
    // protocol is allowed when "<=" was not asked for (as in Postfix).
    if (kProtocols[lowest].version > TLS1_VERSION)
        result.min_version = kProtocols[lowest].version;
    if (kProtocols[highest].version < TLS1_3_VERSION || explicit_max > 0)
        result.max_version = kProtocols[highest].version;
    for (size_t i = lowest; i <= highest; ++i)
        if (!enabled[i])
            result.disabled_options |= kProtocols[i].no_option;
    return result;
}

Result<std::string> tls_cipher_list(const Config& config, std::string_view grade,
                                    std::string_view exclusions) {
    const std::string name = lowercase(trim(grade));
    if (name != "export" && name != "low" && name != "medium" && name != "high" && name != "null")
        return Error(ErrorKind::config, "invalid TLS cipher grade \"" + std::string(grade) +
                                            "\": known grades are export, low, medium, high "
                                            "and null");
    auto list = get_string(config, "tls_" + name + "_cipherlist");
    if (!list)
        return list.error();
    std::string result(trim(*list));
    for (std::string_view cipher : split_list(exclusions, kProtocolSeparators))
        result += ":!" + std::string(cipher);
    return result;
}

Result<TlsSessionSettings> tls_session_settings(const Config& config, std::string_view prefix,
                                                TlsLevel level) {
    const std::string p(prefix);
    const bool mandatory = tls_level_is_mandatory(level);
    const std::string which = mandatory ? "_tls_mandatory_" : "_tls_";
    auto protocols_value = config.get(p + which + "protocols");
    if (!protocols_value)
        return protocols_value.error();
    auto protocols = parse_tls_protocols(*protocols_value);
    if (!protocols)
        return Error(ErrorKind::config, p + which + "protocols: " + protocols.error().message());
    auto grade = config.get(p + which + "ciphers");
    if (!grade)
        return grade.error();
    auto exclusions = config.get(p + "_tls_exclude_ciphers");
    if (!exclusions)
        return exclusions.error();
    std::string excluded = *exclusions;
    if (mandatory) {
        auto more = config.get(p + "_tls_mandatory_exclude_ciphers");
        if (!more)
            return more.error();
        excluded += " " + *more;
    }
    auto ciphers = tls_cipher_list(config, *grade, excluded);
    if (!ciphers)
        return Error(ErrorKind::config, p + which + "ciphers: " + ciphers.error().message());
    auto log_level = config.get_integer(p + "_tls_loglevel");
    if (!log_level)
        return log_level.error();
    TlsSessionSettings settings;
    settings.protocols = *protocols;
    settings.cipher_list = std::move(*ciphers);
    settings.log_level = static_cast<int>(*log_level);
    return settings;
}

std::vector<std::string> tls_match_names(std::string_view cert_match, std::string_view hostname,
                                         std::string_view nexthop_domain) {
    std::vector<std::string> names;
    auto add = [&names](std::string name) {
        if (name.empty() || name == ".")
            return;
        if (std::find(names.begin(), names.end(), name) == names.end())
            names.push_back(std::move(name));
    };
    for (std::string_view word : split_list(cert_match, kProtocolSeparators)) {
        if (equals_ignore_case(word, "hostname"))
            add(normalized_name(hostname));
        else if (equals_ignore_case(word, "nexthop"))
            add(normalized_name(nexthop_domain));
        else if (equals_ignore_case(word, "dot-nexthop"))
            add("." + normalized_name(nexthop_domain));
        else if (word.front() == '.')
            add("." + normalized_name(word.substr(1)));
        else
            add(normalized_name(word));
    }
    return names;
}

bool tls_certificate_name_matches(std::string_view certificate_name, std::string_view pattern,
                                  bool wildcard_multiple_labels) {
    const std::string name = normalized_name(certificate_name);
    const std::string want = lowercase(pattern);
    if (name.empty() || want.empty())
        return false;
    if (want.front() == '.')  // any subdomain; a wildcard certificate is one too
        return name.size() > want.size() && name.ends_with(want);
    if (name == want)
        return true;
    if (!name.starts_with("*."))
        return false;
    const std::string_view suffix = std::string_view(name).substr(1);  // ".example.com"
    if (want.size() <= suffix.size() || !want.ends_with(suffix))
        return false;
    std::string_view labels = std::string_view(want).substr(0, want.size() - suffix.size());
    return wildcard_multiple_labels || labels.find('.') == std::string_view::npos;
}

std::string tls_client_sni(std::string_view servername_setting, std::string_view hostname,
                           std::string_view nexthop_domain) {
    std::string_view setting = trim(servername_setting);
    std::string name;
    if (setting.empty())
        return {};
    if (equals_ignore_case(setting, "hostname"))
        name = normalized_name(hostname);
    else if (equals_ignore_case(setting, "nexthop"))
        name = normalized_name(nexthop_domain);
    else
        name = normalized_name(setting);
    return is_ip_literal(name) ? std::string() : name;
}

Result<TlsPolicyEntry> parse_tls_policy_entry(std::string_view table_value) {
    auto words = split_list(table_value, kListSeparators);
    if (words.empty())
        return Error(ErrorKind::config, "invalid TLS policy: empty");
    auto level = parse_tls_level(words.front());
    if (!level)
        return Error(ErrorKind::config, "invalid TLS policy \"" + std::string(table_value) +
                                            "\": " + level.error().message());
    TlsPolicyEntry entry;
    entry.level = *level;
    for (size_t i = 1; i < words.size(); ++i) {
        std::string_view word = words[i];
        size_t equals = word.find('=');
        if (equals == std::string_view::npos)
            return Error(ErrorKind::config,
                         "invalid TLS policy attribute \"" + std::string(word) + "\": no \"=\"");
        std::string key = lowercase(word.substr(0, equals));
        std::string value(word.substr(equals + 1));
        if (key == "match")
            entry.match = value;
        else if (key == "protocols")
            entry.protocols = value;
        else if (key == "ciphers")
            entry.ciphers = value;
        else if (key == "exclude")
            entry.exclude = value;
        else if (key == "servername")
            entry.servername = value;
        else
            return Error(ErrorKind::config,
                         "invalid TLS policy attribute \"" + std::string(word) + "\"");
    }
    return entry;
}

namespace {

Status apply_entry_overrides(const Config& config, const TlsPolicyEntry& entry,
                             TlsSessionSettings& settings, std::string_view prefix) {
    if (entry.protocols) {
        auto protocols = parse_tls_protocols(*entry.protocols);
        if (!protocols)
            return protocols.error();
        settings.protocols = *protocols;
    }
    if (entry.ciphers || entry.exclude) {
        const std::string p(prefix);
        const bool mandatory = tls_level_is_mandatory(entry.level);
        std::string grade;
        if (entry.ciphers) {
            grade = *entry.ciphers;
        } else {
            auto configured =
                config.get(p + (mandatory ? "_tls_mandatory_ciphers" : "_tls_ciphers"));
            if (!configured)
                return configured.error();
            grade = *configured;
        }
        std::string exclusions;
        if (entry.exclude) {
            exclusions = *entry.exclude;
        } else {
            auto configured = config.get(p + "_tls_exclude_ciphers");
            if (!configured)
                return configured.error();
            exclusions = *configured;
        }
        auto ciphers = tls_cipher_list(config, grade, exclusions);
        if (!ciphers)
            return ciphers.error();
        settings.cipher_list = std::move(*ciphers);
    }
    return Status::success();
}

}  // namespace

Result<TlsClientPolicy> tls_client_policy(const Config& config, const TlsPolicyEntry& entry,
                                          std::string_view hostname,
                                          std::string_view nexthop_domain,
                                          std::string_view prefix) {
    const std::string p(prefix);
    TlsClientPolicy policy;
    policy.level = entry.level;
    auto settings = tls_session_settings(config, prefix, entry.level);
    if (!settings)
        return settings.error();
    policy.settings = std::move(*settings);
    if (auto applied = apply_entry_overrides(config, entry, policy.settings, prefix); !applied)
        return applied.error();
    if (tls_level_checks_certificate(entry.level)) {
        std::string match;
        if (entry.match) {
            match = *entry.match;
        } else {
            const bool secure = entry.level != TlsLevel::verify;
            auto configured =
                config.get(p + (secure ? "_tls_secure_cert_match" : "_tls_verify_cert_match"));
            if (!configured)
                return configured.error();
            match = *configured;
        }
        policy.match_names = tls_match_names(match, hostname, nexthop_domain);
    }
    std::string servername;
    if (entry.servername) {
        servername = *entry.servername;
    } else {
        auto configured = config.get(p + "_tls_servername");
        if (!configured)
            return configured.error();
        servername = *configured;
    }
    policy.sni = tls_client_sni(servername, hostname, nexthop_domain);
    auto multiple = config.get_boolean("tls_wildcard_matches_multiple_labels");
    if (!multiple)
        return multiple.error();
    policy.wildcard_multiple_labels = *multiple;
    policy.session_cache_key = normalized_name(hostname) + ":" + normalized_name(nexthop_domain) +
                               ":" + tls_level_name(entry.level);
    return policy;
}

}  // namespace postern
