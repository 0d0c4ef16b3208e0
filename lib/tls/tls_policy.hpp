// TLS policy: what a TLS level asks of a session, and how Postfix's TLS parameters map onto
// OpenSSL settings. Pure functions over strings and the Config: no OpenSSL objects here, so
// smtp (policy per destination) and smtpd (one level per service) can decide before any
// handshake, and unit tests cover every mapping without a socket.
//
// Where it sits: lib/tls, below smtp/ and smtpd/, above lib/config. Inputs are the
// administrator's main.cf/master.cf values (trusted) and, for name matching, the nexthop
// and MX names from DNS (untrusted: compared, never interpreted).
//
// Levels (Postfix TLS_README): none, may (opportunistic, no checks), encrypt (mandatory TLS,
// no certificate checks), verify (mandatory, the chain must verify and a name must match
// smtp_tls_verify_cert_match), secure (the same with smtp_tls_secure_cert_match, names
// never taken from insecure DNS). dane/dane-only/fingerprint parse, and act as encrypt/
// secure respectively until DANE and fingerprints are implemented (see docs/tls.md).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "util/result.hpp"

namespace postern {

enum class TlsLevel { none, may, encrypt, dane, dane_only, fingerprint, verify, secure };

// "none", "may", "encrypt", "dane", "dane-only", "fingerprint", "verify", "secure".
const char* tls_level_name(TlsLevel level);
// Case-insensitive; an unknown word is an ErrorKind::config error naming it.
Result<TlsLevel> parse_tls_level(std::string_view word);
// TLS is required: a peer without STARTTLS, or a failed handshake, defers (client) or
// gets "530 5.7.0 Must issue a STARTTLS command first" (server).
bool tls_level_is_mandatory(TlsLevel level);
// The certificate chain and a name must verify (verify, secure, and the DANE/fingerprint
// levels until they have their own checks).
bool tls_level_checks_certificate(TlsLevel level);

// The SMTP client's default level, as Postfix derives it: `<prefix>_tls_security_level`
// when set, else the legacy switches: <prefix>_enforce_tls=yes gives verify when
// <prefix>_tls_enforce_peername=yes (the default) and encrypt otherwise;
// <prefix>_use_tls=yes gives may; otherwise none. prefix is "smtp" or "lmtp".
Result<TlsLevel> smtp_client_tls_level(const Config& config, std::string_view prefix = "smtp");
// smtpd's level: smtpd_tls_security_level when set (none, may or encrypt), else
// smtpd_enforce_tls=yes gives encrypt, smtpd_use_tls=yes gives may, otherwise none.
// Also right for postscreen with prefix "postscreen".
Result<TlsLevel> smtpd_tls_level(const Config& config, std::string_view prefix = "smtpd");

// A protocol selection in OpenSSL terms: the version range and, for "holes" in a list
// of exclusions, SSL_OP_NO_* bits. 0 for min/max means "no bound".
struct TlsProtocols {
    int min_version = 0;            // TLS1_VERSION, TLS1_2_VERSION... or 0
    int max_version = 0;            // likewise
    uint64_t disabled_options = 0;  // SSL_OP_NO_TLSv1_1 | ...
    bool operator==(const TlsProtocols&) const = default;
};
// Postfix syntax for *_tls_protocols and *_tls_mandatory_protocols: either a range
// (">=TLSv1.2", "<=TLSv1.2", both: ">=TLSv1 <=TLSv1.2") or a list of names with or
// without "!" ("!SSLv2, !SSLv3", "TLSv1.2 TLSv1.3"), separated by comma, colon or space.
// Names: SSLv2, SSLv3, TLSv1, TLSv1.1, TLSv1.2, TLSv1.3 (case-insensitive). Empty: all.
// An unknown name is an ErrorKind::config error. SSLv2/SSLv3 are never enabled.
Result<TlsProtocols> parse_tls_protocols(std::string_view value);

// The OpenSSL cipher list of a Postfix cipher grade ("export", "low", "medium", "high",
// "null"): tls_<grade>_cipherlist from the config, then ":!name" for each word of
// `exclusions` (the *_tls_exclude_ciphers / *_tls_mandatory_exclude_ciphers values,
// separated by comma, colon or space). An unknown grade is an ErrorKind::config error.
Result<std::string> tls_cipher_list(const Config& config, std::string_view grade,
                                    std::string_view exclusions = {});

// What one session uses: protocols and ciphers chosen by whether TLS is mandatory at the
// session's level (Postfix: *_tls_mandatory_protocols/_ciphers for encrypt and above,
// *_tls_protocols/_ciphers for may).
struct TlsSessionSettings {
    TlsProtocols protocols;
    std::string cipher_list;  // already an OpenSSL cipher string
    int log_level = 0;        // *_tls_loglevel
};
// prefix "smtp", "lmtp" or "smtpd". Reads <prefix>_tls_[mandatory_]protocols,
// <prefix>_tls_[mandatory_]ciphers, <prefix>_tls_exclude_ciphers (+ mandatory exclusions
// when mandatory) and <prefix>_tls_loglevel.
Result<TlsSessionSettings> tls_session_settings(const Config& config, std::string_view prefix,
                                                TlsLevel level);

// The names a server certificate must match at verify/secure, from
// smtp_tls_verify_cert_match ("hostname" by default) or smtp_tls_secure_cert_match
// ("nexthop, dot-nexthop"): "hostname" is the MX host (or the relayhost's host name),
// "nexthop" the nexthop domain, "dot-nexthop" any subdomain of it, and any other word a
// literal name (a leading dot: any subdomain of it). Returned as match patterns for
// tls_certificate_name_matches(): "name" exact, ".name" any subdomain.
std::vector<std::string> tls_match_names(std::string_view cert_match, std::string_view hostname,
                                         std::string_view nexthop_domain);
// Whether one certificate name (a DNS subjectAltName, or the CN when the certificate has
// no DNS names) satisfies one pattern from tls_match_names(). Case-insensitive; a
// certificate wildcard "*.example.com" matches one or more labels when
// `wildcard_multiple_labels` (tls_wildcard_matches_multiple_labels, default yes), else one.
bool tls_certificate_name_matches(std::string_view certificate_name, std::string_view pattern,
                                  bool wildcard_multiple_labels = true);

// The SNI name the client sends, from smtp_tls_servername: empty → none; "hostname" →
// the server's host name; "nexthop" → the nexthop domain; anything else literally.
// Postfix never sends an IP address literal: those give "".
std::string tls_client_sni(std::string_view servername_setting, std::string_view hostname,
                           std::string_view nexthop_domain);

// Everything the client needs to start TLS with one server.
struct TlsClientPolicy {
    TlsLevel level = TlsLevel::none;
    TlsSessionSettings settings;
    std::vector<std::string> match_names;  // for verify/secure, from tls_match_names()
    std::string sni;                       // empty: no SNI
    bool wildcard_multiple_labels = true;
    // Sessions with the same key resume each other (TLS session reuse within the
    // process). tls_client_policy() sets "hostname:nexthop:level"; smtp may add the
    // address and port. Empty: no reuse.
    std::string session_cache_key;
};
// One smtp_tls_policy_maps result, Postfix syntax: a level, then attributes
// "match=name:name", "protocols=...", "ciphers=grade", "exclude=...", "servername=..."
// ("verify match=hostname:nexthop protocols=>=TLSv1.2"). Unknown attributes or levels are
// ErrorKind::config errors (Postfix defers the mail with "invalid TLS policy").
struct TlsPolicyEntry {
    TlsLevel level = TlsLevel::none;
    std::optional<std::string> match;       // ':'-separated, as *_cert_match but one word
    std::optional<std::string> protocols;   // replaces the *_protocols value
    std::optional<std::string> ciphers;     // a grade, replaces *_ciphers
    std::optional<std::string> exclude;     // replaces the exclusions
    std::optional<std::string> servername;  // replaces smtp_tls_servername
};
Result<TlsPolicyEntry> parse_tls_policy_entry(std::string_view table_value);

// The policy toward `hostname` (the server's DNS name, or the [literal] host) reached as
// nexthop `nexthop_domain`, from <prefix>_tls_* parameters, with `entry`'s attributes on
// top (a TlsPolicyEntry with only .level set when no policy table applies).
Result<TlsClientPolicy> tls_client_policy(const Config& config, const TlsPolicyEntry& entry,
                                          std::string_view hostname,
                                          std::string_view nexthop_domain,
                                          std::string_view prefix = "smtp");

}  // namespace postern
