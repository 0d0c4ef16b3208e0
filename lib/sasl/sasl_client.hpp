// The SMTP client's side of SASL (RFC 4954 AUTH): which credentials to use for a server,
// which mechanism to pick from what the server offers, and the client's half of the
// PLAIN (RFC 4616), LOGIN (draft-murchison-sasl-login) and CRAM-MD5 (RFC 2195) exchanges.
//
// Where it sits: lib/sasl, below smtp (and lmtp). The smtp agent asks
// sasl_password_lookup_keys() for the keys of smtp_sasl_password_maps, in Postfix's order,
// choose_sasl_mechanism() for the mechanism, and drives a SaslClientExchange over its
// connection. Postern's own client answers to smtp_sasl_type = cyrus (sasl_types.hpp).
//
// Trust: the server's mechanism list and challenges come from the network; the password
// map belongs to the administrator and holds secrets: nothing here logs a password.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace postern {

// What smtp_sasl_password_maps is asked for one delivery attempt.
struct SaslLookupTarget {
    std::string sender;             // envelope sender (internal form), empty for <>
    bool sender_dependent = false;  // smtp_sender_dependent_authentication
    std::string server_host;        // the server name as tried: "mx1.example.com", "127.0.0.1"
    std::string server_port;        // its port as text: "587"
    std::string nexthop;            // the request's nexthop as written: "[smtp.example.com]:587"
};

// The keys in Postfix's order: the sender address and its @domain (only with
// sender-dependent authentication and a non-null sender), then "[host]:port", then the
// server host name, then the nexthop as written (so a relayhost's "[relay]:587" line
// matches whatever address it resolved to), then the nexthop's domain without brackets or
// port. Duplicates are left out. Each key says whether it is a partial one (@domain).
struct SaslLookupKey {
    std::string key;
    bool partial = false;
};
std::vector<SaslLookupKey> sasl_password_lookup_keys(const SaslLookupTarget& target);

class MapList;

struct SaslCredentials {
    std::string username;
    std::string password;
};

// The first answer of `passwords` for the keys above, as credentials; nullopt when no key
// is in the table; a table error (ErrorKind::temporary) stops the search, so the caller
// defers instead of going on without authentication.
Result<std::optional<SaslCredentials>> find_sasl_credentials(MapList& passwords,
                                                             const SaslLookupTarget& target);

// "user:password" as in sasl_passwd (the first colon separates them; a value without a
// colon is a user name with an empty password, as Postfix reads it).
SaslCredentials parse_sasl_credentials(std::string_view value);

// smtp_sasl_security_options and smtp_sasl_tls_security_options: what a mechanism must
// not be. Postfix's words: noplaintext, noactive, nodictionary, noanonymous, mutual_auth.
struct SaslSecurityOptions {
    bool no_plaintext = false;
    bool no_anonymous = false;
    bool no_active = false;
    bool no_dictionary = false;
    bool mutual_auth = false;
};
// An unknown word is ErrorKind::config naming it.
Result<SaslSecurityOptions> parse_sasl_security_options(std::string_view value);

// Mechanisms Postern's client implements, strongest first (the preference when a server
// offers several).
const std::vector<std::string_view>& supported_sasl_mechanisms();

// The mechanism to use, or nullopt when none is left: the server's list (the words of its
// EHLO AUTH lines, any case), filtered by smtp_sasl_mechanism_filter (`filter`: names,
// any case; empty lets everything through, as Postfix), then by the security options,
// then the strongest that Postern implements.
std::optional<std::string> choose_sasl_mechanism(const std::vector<std::string>& offered,
                                                 const std::vector<std::string>& filter,
                                                 const SaslSecurityOptions& security);

// The server's list after smtp_sasl_mechanism_filter only (for the log when nothing fits).
std::vector<std::string> filter_sasl_mechanisms(const std::vector<std::string>& offered,
                                                const std::vector<std::string>& filter);

// One authentication: AUTH <mechanism> [initial response], then one response per 334
// challenge. Challenges and responses are the decoded bytes; the caller does base64 on the
// wire (sasl_base64_*).
class SaslClientExchange {
  public:
    virtual ~SaslClientExchange() = default;
    const std::string& mechanism() const { return mechanism_; }
    // The initial response sent with AUTH (RFC 4954 section 4), nullopt for none.
    virtual std::optional<std::string> initial_response() = 0;
    // The answer to a challenge; an error when the mechanism expected no more.
    virtual Result<std::string> respond(std::string_view challenge) = 0;

  protected:
    explicit SaslClientExchange(std::string mechanism) : mechanism_(std::move(mechanism)) {}

  private:
    std::string mechanism_;
};

// nullptr for a mechanism Postern does not implement.
std::unique_ptr<SaslClientExchange> make_sasl_client_exchange(std::string_view mechanism,
                                                              const SaslCredentials& credentials);

// Base64 (RFC 4648, with padding) as RFC 4954 puts SASL data on the wire. decode: an
// error for anything that is not valid base64.
std::string sasl_base64_encode(std::string_view bytes);
Result<std::string> sasl_base64_decode(std::string_view text);

}  // namespace postern
