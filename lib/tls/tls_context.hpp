// TLS contexts and sessions over OpenSSL 3: the server side of STARTTLS in smtpd
// (certificates from smtpd_tls_cert_file/key_file/chain_files) and the client side in smtp
// (trust from smtp_tls_CAfile/CApath), plus what a finished handshake tells the logs and
// the Received: header.
//
// Where it sits: lib/tls, over tls_policy.hpp; lib/net/smtp_stream.hpp runs the handshake
// and the record I/O on a socket. Security: everything the peer sends in the handshake
// (certificates, names) is untrusted; the contexts load keys before the daemon drops
// privileges (create them in the daemon's pre-jail/pre-drop step: key files are usually
// readable by root only). Renegotiation is disabled (a CPU attack with no use in SMTP).
//
// Log lines, as Postfix 3.7 writes them (logged when *_tls_loglevel >= 1):
//   "Anonymous TLS connection established from host[addr]: TLSv1.3 with cipher
//    TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519 server-signature RSA-PSS
//    (2048 bits) server-digest SHA256"
//   "Verified TLS connection established to host[addr]:25: TLSv1.3 with cipher ..."
//   (Untrusted: a certificate whose chain did not verify; Trusted: the chain verified but
//    no name was checked or matched; Verified: chain and name both good.)
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "tls/tls_policy.hpp"
#include "util/result.hpp"

// OpenSSL's types, without its headers in every includer.
typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;

namespace postern {

enum class TlsRole { client, server };

// Server certificates and trust, from smtpd_tls_* (or any prefix, e.g. a wrapper-mode
// service's -o overrides, which Config already applies).
struct TlsServerFiles {
    // (certificate file, key file) pairs: smtpd_tls_cert_file/key_file, then the
    // eccert/eckey and dcert/dkey pairs when set.
    std::vector<std::pair<std::string, std::string>> cert_key_files;
    // smtpd_tls_chain_files: each file holds a key and its certificate chain. When set, it
    // replaces cert_key_files, as in Postfix.
    std::vector<std::string> chain_files;
    std::string ca_file;  // *_tls_CAfile: trust for client certificates, and the CA list sent
    std::string ca_path;  // *_tls_CApath
    bool ask_client_certificate = false;       // smtpd_tls_ask_ccert / req_ccert
    bool require_client_certificate = false;   // smtpd_tls_req_ccert
    int session_cache_timeout_seconds = 3600;  // smtpd_tls_session_cache_timeout (tickets)
    bool server_cipher_preference = false;     // tls_preempt_cipherlist
    std::string auto_curves;                   // tls_eecdh_auto_curves
};
Result<TlsServerFiles> tls_server_files(const Config& config, std::string_view prefix = "smtpd");

// Client trust and client certificates, from smtp_tls_*.
struct TlsClientFiles {
    std::string ca_file;                                              // smtp_tls_CAfile
    std::string ca_path;                                              // smtp_tls_CApath
    bool append_default_ca = false;                                   // tls_append_default_CA
    std::vector<std::pair<std::string, std::string>> cert_key_files;  // smtp_tls_cert_file...
    std::vector<std::string> chain_files;                             // smtp_tls_chain_files
    int verify_depth = 9;                                             // smtp_tls_scert_verifydepth
    int session_cache_timeout_seconds = 3600;  // smtp_tls_session_cache_timeout
};
Result<TlsClientFiles> tls_client_files(const Config& config, std::string_view prefix = "smtp");

// An SSL_CTX that frees itself. One per process and role; sessions share it. Move-only.
class TlsContext {
  public:
    // Loads certificates and keys now (fails with ErrorKind::config naming the file, and
    // OpenSSL's reason, when one is missing, unreadable or the key does not match).
    // Session tickets are on, so clients resume without a server-side cache.
    static Result<TlsContext> server(const TlsServerFiles& files);
    static Result<TlsContext> client(const TlsClientFiles& files);

    TlsContext(TlsContext&&) noexcept = default;
    TlsContext& operator=(TlsContext&&) noexcept = default;
    ~TlsContext();

    TlsRole role() const { return role_; }
    SSL_CTX* native() const { return context_.get(); }

    // Client contexts: how many sessions are kept for resumption (by
    // TlsClientPolicy::session_cache_key).
    size_t cached_sessions() const;

    struct SessionCache;  // client sessions by key (tls_context.cpp)

  private:
    friend class TlsSession;  // reads the session cache when a client session starts
    struct Free {
        void operator()(SSL_CTX* context) const;
    };
    struct FreeCache {
        void operator()(SessionCache* cache) const;
    };
    TlsContext(TlsRole role, SSL_CTX* context);
    TlsRole role_;
    std::unique_ptr<SSL_CTX, Free> context_;
    // Owned here, reached from OpenSSL's new-session callback through the SSL_CTX.
    std::unique_ptr<SessionCache, FreeCache> sessions_;
};

// What a finished handshake established; filled by TlsSession::handshake().
struct TlsSessionInfo {
    std::string protocol;     // "TLSv1.3"
    std::string cipher_name;  // "TLS_AES_256_GCM_SHA384"
    int cipher_used_bits = 0;
    int cipher_algorithm_bits = 0;
    std::string key_exchange;        // "X25519", "ECDHE", "DHE" or ""
    std::string key_exchange_curve;  // "prime256v1" for ECDHE, else ""
    int key_exchange_bits = 0;       // DHE group size
    std::string server_signature;    // "RSA-PSS", "RSA", "ECDSA", "ED25519" or ""
    std::string server_signature_curve;
    int server_signature_bits = 0;
    std::string server_digest;     // "SHA256"
    std::string client_signature;  // when the client presented a certificate
    std::string client_signature_curve;
    int client_signature_bits = 0;
    std::string client_digest;
    bool reused = false;  // a resumed session (log says "reused" instead of "established")

    bool peer_certificate_present = false;
    bool peer_certificate_trusted = false;  // the chain verified against the CAs
    bool peer_name_matched = false;         // and one of the policy's names matched
    std::string peer_common_name;           // subject CN (for the Received: header)
    std::string issuer_common_name;
    std::string verify_error;  // OpenSSL's reason when not trusted
    std::string sni;           // server side: the name the client asked for
};

// "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519
// server-signature RSA-PSS (2048 bits) server-digest SHA256": the part after the colon in
// the "TLS connection established" line.
std::string tls_summary(const TlsSessionInfo& info);
// "Anonymous", "Untrusted", "Trusted" or "Verified".
const char* tls_trust_word(const TlsSessionInfo& info);
// The whole line: "<trust> TLS connection established to|from <peer>: <summary>", with
// " to <sni>" after the peer on the server side when the client sent SNI.
// `peer` is "host[addr]" (server) or "host[addr]:port" (client).
std::string tls_established_line(const TlsSessionInfo& info, TlsRole role, std::string_view peer);
// The Received: header lines smtpd adds when smtpd_tls_received_header = yes, each
// starting with a tab, without line ends, to follow the "Received: from ..." line:
//   "\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)"
//   "\t key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256)"
//   "\t(No client certificate requested)"   (or "(Client did not present a certificate)"
//    when asked, or "(Client CN \"...\", Issuer \"...\" (verified OK|not verified))")
std::vector<std::string> tls_received_header_lines(const TlsSessionInfo& info,
                                                   bool asked_for_client_certificate);

// One TLS session on a connected socket. Created by SmtpStream when STARTTLS starts (or
// at connect time for wrapper mode); usable directly for other protocols. Move-only.
class TlsSession {
  public:
    // The socket stays owned by the caller and must outlive the session.
    // Client sessions send policy.sni and check names against policy.match_names.
    static Result<TlsSession> client(const TlsContext& context, int socket,
                                     const TlsClientPolicy& policy);
    static Result<TlsSession> server(const TlsContext& context, int socket,
                                     const TlsSessionSettings& settings);

    TlsSession(TlsSession&&) noexcept = default;
    TlsSession& operator=(TlsSession&&) noexcept = default;
    ~TlsSession();

    TlsRole role() const { return role_; }
    SSL* native() const { return ssl_.get(); }
    // After the handshake (SmtpStream fills it). Names checked for the client policy.
    const TlsSessionInfo& info() const { return info_; }
    // Reads what the finished handshake negotiated into info(); for a client session,
    // checks the chain result and the certificate names against the policy's names.
    void collect_info();

  private:
    struct Free {
        void operator()(SSL* ssl) const;
    };
    TlsSession(TlsRole role, SSL* ssl) : role_(role), ssl_(ssl) {}
    TlsRole role_;
    std::unique_ptr<SSL, Free> ssl_;
    std::vector<std::string> match_names_;
    bool wildcard_multiple_labels_ = true;
    // Reached from OpenSSL's new-session callback; a pointer that survives moves.
    std::unique_ptr<std::string> session_cache_key_;
    TlsSessionInfo info_;
};

// Why a client session at a level that checks certificates may not carry mail, or ""
// when it may: "Server certificate not trusted" (chain did not verify) or "Server
// certificate not verified" (no name matched), Postfix's wording for the defer reason.
std::string tls_client_policy_failure(TlsLevel level, const TlsSessionInfo& info);

// OpenSSL's error queue as one text ("error:0A000086:SSL routines::certificate verify
// failed"), emptied; "" when empty. For "warning: TLS library problem: ..." lines.
std::string tls_take_errors();

}  // namespace postern
