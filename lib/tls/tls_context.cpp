// TLS contexts and sessions over OpenSSL 3 (see tls_context.hpp).
#include "tls/tls_context.hpp"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <csignal>
#include <map>

#include "util/strings.hpp"

namespace postern {

namespace {

// Options every Postern context gets: OpenSSL's bug workarounds, no renegotiation (a
// CPU attack with no use in SMTP), no compression (CRIME), and a peer that closes without
// close_notify counts as end of file (SMTP has its own QUIT; Postfix treats it the same).
constexpr uint64_t kContextOptions =
    SSL_OP_ALL | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_IGNORE_UNEXPECTED_EOF;

// A session id context, needed for server-side resumption when client certificates
// are asked for.
constexpr unsigned char kSessionIdContext[] = "postern";

Error openssl_error(ErrorKind kind, const std::string& what) {
    std::string reasons = tls_take_errors();
    return Error(kind, reasons.empty() ? what : what + ": " + reasons);
}

// Keeps the handshake going whatever the chain looks like: the result stays in
// SSL_get_verify_result(), and the level decides afterwards (Trusted vs Untrusted).
int continue_after_verify(int /*preverified*/, X509_STORE_CTX* /*store*/) {
    return 1;
}

Status load_cert_key_pairs(SSL_CTX* context,
                           const std::vector<std::pair<std::string, std::string>>& pairs) {
    for (const auto& [cert, key] : pairs) {
        if (SSL_CTX_use_certificate_chain_file(context, cert.c_str()) != 1)
            return openssl_error(ErrorKind::config, "cannot load certificate file " + cert);
        if (SSL_CTX_use_PrivateKey_file(context, key.c_str(), SSL_FILETYPE_PEM) != 1)
            return openssl_error(ErrorKind::config, "cannot load private key file " + key);
        if (SSL_CTX_check_private_key(context) != 1)
            return openssl_error(ErrorKind::config,
                                 "private key " + key + " does not match certificate " + cert);
    }
    return Status::success();
}

// Each chain file holds a key followed by its certificate chain (Postfix 3.4+).
Status load_chain_files(SSL_CTX* context, const std::vector<std::string>& files) {
    for (const auto& file : files) {
        if (SSL_CTX_use_PrivateKey_file(context, file.c_str(), SSL_FILETYPE_PEM) != 1)
            return openssl_error(ErrorKind::config, "cannot load private key from " + file);
        if (SSL_CTX_use_certificate_chain_file(context, file.c_str()) != 1)
            return openssl_error(ErrorKind::config, "cannot load certificate chain from " + file);
        if (SSL_CTX_check_private_key(context) != 1)
            return openssl_error(ErrorKind::config,
                                 "private key and certificate in " + file + " do not match");
    }
    return Status::success();
}

Status load_trust(SSL_CTX* context, const std::string& ca_file, const std::string& ca_path) {
    if (ca_file.empty() && ca_path.empty())
        return Status::success();
    if (SSL_CTX_load_verify_locations(context, ca_file.empty() ? nullptr : ca_file.c_str(),
                                      ca_path.empty() ? nullptr : ca_path.c_str()) != 1)
        return openssl_error(ErrorKind::config,
                             "cannot load CA locations " + (ca_file.empty() ? ca_path : ca_file));
    return Status::success();
}

Result<std::vector<std::pair<std::string, std::string>>> cert_key_pairs(const Config& config,
                                                                        const std::string& p) {
    std::vector<std::pair<std::string, std::string>> pairs;
    for (const char* kind : {"", "ec", "d"}) {
        auto cert = config.get(p + "_tls_" + kind + "cert_file");
        auto key = config.get(p + "_tls_" + kind + "key_file");
        if (!cert)
            return cert.error();
        if (!key)
            return key.error();
        if (!trim(*cert).empty())
            pairs.emplace_back(std::string(trim(*cert)),
                               std::string(trim(*key).empty() ? trim(*cert) : trim(*key)));
    }
    return pairs;
}

Result<std::vector<std::string>> string_list(const Config& config, const std::string& name) {
    return config.get_list(name);
}

std::string common_name(const X509_NAME* name) {
    if (name == nullptr)
        return {};
    int index = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
    if (index < 0)
        return {};
    const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index));
    unsigned char* utf8 = nullptr;
    int length = ASN1_STRING_to_UTF8(&utf8, data);
    if (length < 0)
        return {};
    std::string result(reinterpret_cast<char*>(utf8), static_cast<size_t>(length));
    OPENSSL_free(utf8);
    return result;
}

// The DNS names a certificate claims: its subjectAltName DNS entries, or its CN when it
// has none (RFC 6125 fallback, as Postfix does).
std::vector<std::string> certificate_names(X509* certificate) {
    std::vector<std::string> names;
    auto* alt_names = static_cast<GENERAL_NAMES*>(
        X509_get_ext_d2i(certificate, NID_subject_alt_name, nullptr, nullptr));
    if (alt_names != nullptr) {
        for (int i = 0; i < sk_GENERAL_NAME_num(alt_names); ++i) {
            const GENERAL_NAME* name = sk_GENERAL_NAME_value(alt_names, i);
            if (name->type != GEN_DNS)
                continue;
            const ASN1_IA5STRING* dns = name->d.dNSName;
            std::string text(reinterpret_cast<const char*>(ASN1_STRING_get0_data(dns)),
                             static_cast<size_t>(ASN1_STRING_length(dns)));
            if (text.find('\0') == std::string::npos)  // an embedded NUL is an attack
                names.push_back(std::move(text));
        }
        GENERAL_NAMES_free(alt_names);
    }
    if (names.empty()) {
        std::string cn = common_name(X509_get_subject_name(certificate));
        if (!cn.empty() && cn.find('\0') == std::string::npos)
            names.push_back(std::move(cn));
    }
    return names;
}

struct KeyDescription {
    std::string name;
    std::string curve;
    int bits = 0;
};

std::string group_name(const EVP_PKEY* key) {
    char name[80] = {};
    size_t length = 0;
    if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof name,
                                       &length) != 1)
        return {};
    return std::string(name, length);
}

// A signature key as Postfix names it: "RSA-PSS"/"RSA" with its bits, "ECDSA" with its
// curve, or the algorithm's short name.
KeyDescription signature_description(int signature_type, const EVP_PKEY* key) {
    KeyDescription description;
    switch (signature_type) {
        case EVP_PKEY_RSA_PSS:
            description.name = "RSA-PSS";
            break;
        case EVP_PKEY_RSA:
            description.name = "RSA";
            break;
        case EVP_PKEY_EC:
            description.name = "ECDSA";
            break;
        default:
            if (const char* name = OBJ_nid2sn(signature_type); name != nullptr)
                description.name = name;
    }
    if (key != nullptr) {
        if (EVP_PKEY_get_base_id(key) == EVP_PKEY_EC)
            description.curve = group_name(key);
        else if (signature_type == EVP_PKEY_RSA || signature_type == EVP_PKEY_RSA_PSS)
            description.bits = EVP_PKEY_get_bits(key);
    }
    return description;
}

KeyDescription key_exchange_description(EVP_PKEY* key) {
    KeyDescription description;
    if (key == nullptr)
        return description;
    switch (EVP_PKEY_get_base_id(key)) {
        case EVP_PKEY_X25519:
            description.name = "X25519";
            break;
        case EVP_PKEY_X448:
            description.name = "X448";
            break;
        case EVP_PKEY_EC:
            description.name = "ECDHE";
            description.curve = group_name(key);
            break;
        case EVP_PKEY_DH:
            description.name = "DHE";
            description.bits = EVP_PKEY_get_bits(key);
            break;
        default:
            if (const char* name = OBJ_nid2sn(EVP_PKEY_get_base_id(key)); name != nullptr)
                description.name = name;
    }
    return description;
}

std::string digest_name(int nid) {
    if (nid == NID_undef)
        return {};
    const char* name = OBJ_nid2sn(nid);
    return name != nullptr ? name : "";
}

void append_key(std::string& out, const char* label, const std::string& name,
                const std::string& curve, int bits) {
    if (name.empty())
        return;
    out += " ";
    out += label;
    out += " " + name;
    if (!curve.empty())
        out += " (" + curve + ")";
    else if (bits > 0)
        out += " (" + std::to_string(bits) + " bits)";
}

// "key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256", with a
// leading space, or "" when the handshake told nothing of the kind.
std::string key_details(const TlsSessionInfo& info) {
    std::string out;
    append_key(out, "key-exchange", info.key_exchange, info.key_exchange_curve,
               info.key_exchange_bits);
    if (!info.server_signature.empty()) {
        append_key(out, "server-signature", info.server_signature, info.server_signature_curve,
                   info.server_signature_bits);
        if (!info.server_digest.empty())
            out += " server-digest " + info.server_digest;
    }
    if (!info.client_signature.empty()) {
        append_key(out, "client-signature", info.client_signature, info.client_signature_curve,
                   info.client_signature_bits);
        if (!info.client_digest.empty())
            out += " client-digest " + info.client_digest;
    }
    return out;
}

// Header comments may not contain what would end or nest them.
std::string comment_safe(std::string_view text) {
    std::string out;
    for (char c : text) {
        auto byte = static_cast<unsigned char>(c);
        out += (byte < 0x20 || byte == 0x7f || c == '(' || c == ')' || c == '\\' || c == '"') ? '?'
                                                                                              : c;
    }
    return out;
}

Status apply_session_settings(SSL* ssl, const TlsSessionSettings& settings) {
    if (settings.protocols.min_version != 0 &&
        SSL_set_min_proto_version(ssl, settings.protocols.min_version) != 1)
        return openssl_error(ErrorKind::config, "cannot set the lowest TLS protocol version");
    if (settings.protocols.max_version != 0 &&
        SSL_set_max_proto_version(ssl, settings.protocols.max_version) != 1)
        return openssl_error(ErrorKind::config, "cannot set the highest TLS protocol version");
    SSL_set_options(ssl, settings.protocols.disabled_options);
    if (!settings.cipher_list.empty() &&
        SSL_set_cipher_list(ssl, settings.cipher_list.c_str()) != 1)
        return openssl_error(ErrorKind::config,
                             "invalid TLS cipher list \"" + settings.cipher_list + "\"");
    return Status::success();
}

// OpenSSL writes to the socket with write(2): a peer gone away would raise SIGPIPE.
// Postfix's daemons ignore SIGPIPE for the same reason; so does every process that
// starts TLS (idempotent).
void ignore_sigpipe() {
    std::signal(SIGPIPE, SIG_IGN);
}

}  // namespace

std::string tls_take_errors() {
    std::string out;
    while (unsigned long code = ERR_get_error()) {
        char text[256];
        ERR_error_string_n(code, text, sizeof text);
        if (!out.empty())
            out += "; ";
        out += text;
    }
    return out;
}

Result<TlsServerFiles> tls_server_files(const Config& config, std::string_view prefix) {
    const std::string p(prefix);
    TlsServerFiles files;
    auto pairs = cert_key_pairs(config, p);
    if (!pairs)
        return pairs.error();
    files.cert_key_files = std::move(*pairs);
    auto chains = string_list(config, p + "_tls_chain_files");
    if (!chains)
        return chains.error();
    files.chain_files = std::move(*chains);
    auto ca_file = config.get(p + "_tls_CAfile");
    auto ca_path = config.get(p + "_tls_CApath");
    auto ask = config.get_boolean(p + "_tls_ask_ccert");
    auto require = config.get_boolean(p + "_tls_req_ccert");
    auto timeout = config.get_time_seconds(p + "_tls_session_cache_timeout");
    auto preempt = config.get_boolean("tls_preempt_cipherlist");
    auto curves = config.get("tls_eecdh_auto_curves");
    for (const Status& status :
         {ca_file ? Status() : Status(ca_file.error()),
          ca_path ? Status() : Status(ca_path.error()), ask ? Status() : Status(ask.error()),
          require ? Status() : Status(require.error()),
          timeout ? Status() : Status(timeout.error()),
          preempt ? Status() : Status(preempt.error()), curves ? Status() : Status(curves.error())})
        if (!status)
            return status.error();
    files.ca_file = std::string(trim(*ca_file));
    files.ca_path = std::string(trim(*ca_path));
    files.require_client_certificate = *require;
    files.ask_client_certificate = *ask || *require;
    files.session_cache_timeout_seconds = static_cast<int>(*timeout);
    files.server_cipher_preference = *preempt;
    files.auto_curves = *curves;
    return files;
}

Result<TlsClientFiles> tls_client_files(const Config& config, std::string_view prefix) {
    const std::string p(prefix);
    TlsClientFiles files;
    auto ca_file = config.get(p + "_tls_CAfile");
    auto ca_path = config.get(p + "_tls_CApath");
    auto append = config.get_boolean("tls_append_default_CA");
    auto depth = config.get_integer(p + "_tls_scert_verifydepth");
    auto pairs = cert_key_pairs(config, p);
    auto chains = string_list(config, p + "_tls_chain_files");
    for (const Status& status :
         {ca_file ? Status() : Status(ca_file.error()),
          ca_path ? Status() : Status(ca_path.error()), append ? Status() : Status(append.error()),
          depth ? Status() : Status(depth.error()), pairs ? Status() : Status(pairs.error()),
          chains ? Status() : Status(chains.error())})
        if (!status)
            return status.error();
    files.ca_file = std::string(trim(*ca_file));
    files.ca_path = std::string(trim(*ca_path));
    files.append_default_ca = *append;
    files.verify_depth = static_cast<int>(*depth);
    auto timeout = config.get_time_seconds(p + "_tls_session_cache_timeout");
    if (!timeout)
        return timeout.error();
    files.session_cache_timeout_seconds = static_cast<int>(*timeout);
    files.cert_key_files = std::move(*pairs);
    files.chain_files = std::move(*chains);
    return files;
}

// Client sessions kept for resumption, by TlsClientPolicy::session_cache_key. One entry
// per key: the newest session (ticket) the server gave.
struct TlsContext::SessionCache {
    std::map<std::string, SSL_SESSION*, std::less<>> sessions;
    ~SessionCache() {
        for (auto& [key, session] : sessions)
            SSL_SESSION_free(session);
    }
    void store(const std::string& key, SSL_SESSION* session) {
        auto [entry, added] = sessions.emplace(key, session);
        if (!added) {
            SSL_SESSION_free(entry->second);
            entry->second = session;
        }
    }
};

namespace {

int session_key_index() {
    static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    return index;
}

int cache_index() {
    static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    return index;
}

// OpenSSL calls this when the server hands out a session (in TLS 1.3, after the
// handshake, while the client reads). Returning 1 keeps the reference.
int remember_session(SSL* ssl, SSL_SESSION* session) {
    auto* key = static_cast<std::string*>(SSL_get_ex_data(ssl, session_key_index()));
    auto* cache = static_cast<TlsContext::SessionCache*>(
        SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), cache_index()));
    if (key == nullptr || key->empty() || cache == nullptr || !SSL_SESSION_is_resumable(session))
        return 0;
    cache->store(*key, session);
    return 1;
}

}  // namespace

TlsContext::TlsContext(TlsRole role, SSL_CTX* context) : role_(role), context_(context) {
    if (role_ == TlsRole::client) {
        sessions_.reset(new SessionCache);
        SSL_CTX_set_ex_data(context, cache_index(), sessions_.get());
        SSL_CTX_sess_set_new_cb(context, remember_session);
    }
}

void TlsContext::Free::operator()(SSL_CTX* context) const {
    SSL_CTX_free(context);
}
void TlsContext::FreeCache::operator()(SessionCache* cache) const {
    delete cache;
}
TlsContext::~TlsContext() = default;

size_t TlsContext::cached_sessions() const {
    return sessions_ ? sessions_->sessions.size() : 0;
}

Result<TlsContext> TlsContext::server(const TlsServerFiles& files) {
    ERR_clear_error();
    SSL_CTX* raw = SSL_CTX_new(TLS_server_method());
    if (raw == nullptr)
        return openssl_error(ErrorKind::io, "cannot create a TLS server context");
    TlsContext context(TlsRole::server, raw);
    SSL_CTX_set_options(
        raw,
        kContextOptions | (files.server_cipher_preference ? SSL_OP_CIPHER_SERVER_PREFERENCE : 0));
    if (files.chain_files.empty() && files.cert_key_files.empty())
        return Error(ErrorKind::config,
                     "no server certificate: set smtpd_tls_chain_files or smtpd_tls_cert_file");
    Status loaded = files.chain_files.empty() ? load_cert_key_pairs(raw, files.cert_key_files)
                                              : load_chain_files(raw, files.chain_files);
    if (!loaded)
        return loaded.error();
    if (auto trust = load_trust(raw, files.ca_file, files.ca_path); !trust)
        return trust.error();
    if (files.ask_client_certificate) {
        if (!files.ca_file.empty())
            SSL_CTX_set_client_CA_list(raw, SSL_load_client_CA_file(files.ca_file.c_str()));
        SSL_CTX_set_verify(raw,
                           files.require_client_certificate
                               ? SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT
                               : SSL_VERIFY_PEER,
                           files.require_client_certificate ? nullptr : continue_after_verify);
    }
    SSL_CTX_set_session_id_context(raw, kSessionIdContext, sizeof kSessionIdContext - 1);
    SSL_CTX_set_session_cache_mode(raw, SSL_SESS_CACHE_SERVER);
    SSL_CTX_set_timeout(raw, files.session_cache_timeout_seconds);
    std::string curves = join(
        [&] {
            std::vector<std::string> names;
            for (auto name : split_list(files.auto_curves))
                names.emplace_back(name);
            return names;
        }(),
        ":");
    // Unknown curve names (an older OpenSSL) keep OpenSSL's own list rather than fail.
    if (!curves.empty() && SSL_CTX_set1_groups_list(raw, curves.c_str()) != 1)
        tls_take_errors();
    ERR_clear_error();
    return context;
}

Result<TlsContext> TlsContext::client(const TlsClientFiles& files) {
    ERR_clear_error();
    SSL_CTX* raw = SSL_CTX_new(TLS_client_method());
    if (raw == nullptr)
        return openssl_error(ErrorKind::io, "cannot create a TLS client context");
    TlsContext context(TlsRole::client, raw);
    SSL_CTX_set_options(raw, kContextOptions);
    if (auto trust = load_trust(raw, files.ca_file, files.ca_path); !trust)
        return trust.error();
    if (files.append_default_ca && SSL_CTX_set_default_verify_paths(raw) != 1)
        return openssl_error(ErrorKind::config, "cannot load the system's default CAs");
    Status loaded = files.chain_files.empty() ? load_cert_key_pairs(raw, files.cert_key_files)
                                              : load_chain_files(raw, files.chain_files);
    if (!loaded)
        return loaded.error();
    SSL_CTX_set_verify(raw, SSL_VERIFY_PEER, continue_after_verify);
    // Postfix counts the depth below the leaf; OpenSSL counts intermediates.
    SSL_CTX_set_verify_depth(raw, files.verify_depth + 1);
    // Postern keeps client sessions itself (TlsContext::SessionCache), by policy key.
    SSL_CTX_set_session_cache_mode(raw, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_set_timeout(raw, files.session_cache_timeout_seconds);
    ERR_clear_error();
    return context;
}

void TlsSession::Free::operator()(SSL* ssl) const {
    SSL_free(ssl);
}
TlsSession::~TlsSession() = default;

Result<TlsSession> TlsSession::client(const TlsContext& context, int socket,
                                      const TlsClientPolicy& policy) {
    ignore_sigpipe();
    ERR_clear_error();
    SSL* raw = SSL_new(context.native());
    if (raw == nullptr)
        return openssl_error(ErrorKind::io, "cannot create a TLS session");
    TlsSession session(TlsRole::client, raw);
    if (SSL_set_fd(raw, socket) != 1)
        return openssl_error(ErrorKind::io, "cannot attach the TLS session to its socket");
    if (auto applied = apply_session_settings(raw, policy.settings); !applied)
        return applied.error();
    if (!policy.sni.empty() && SSL_set_tlsext_host_name(raw, policy.sni.c_str()) != 1)
        return openssl_error(ErrorKind::config, "invalid SNI name \"" + policy.sni + "\"");
    session.match_names_ = policy.match_names;
    session.wildcard_multiple_labels_ = policy.wildcard_multiple_labels;
    if (!policy.session_cache_key.empty()) {
        session.session_cache_key_ = std::make_unique<std::string>(policy.session_cache_key);
        SSL_set_ex_data(raw, session_key_index(), session.session_cache_key_.get());
        if (const auto* cache = context.sessions_.get(); cache != nullptr) {
            auto found = cache->sessions.find(policy.session_cache_key);
            if (found != cache->sessions.end())
                SSL_set_session(raw, found->second);
        }
    }
    SSL_set_connect_state(raw);
    return session;
}

Result<TlsSession> TlsSession::server(const TlsContext& context, int socket,
                                      const TlsSessionSettings& settings) {
    ignore_sigpipe();
    ERR_clear_error();
    SSL* raw = SSL_new(context.native());
    if (raw == nullptr)
        return openssl_error(ErrorKind::io, "cannot create a TLS session");
    TlsSession session(TlsRole::server, raw);
    if (SSL_set_fd(raw, socket) != 1)
        return openssl_error(ErrorKind::io, "cannot attach the TLS session to its socket");
    if (auto applied = apply_session_settings(raw, settings); !applied)
        return applied.error();
    SSL_set_accept_state(raw);
    return session;
}

void TlsSession::collect_info() {
    SSL* ssl = ssl_.get();
    TlsSessionInfo info;
    info.protocol = SSL_get_version(ssl);
    if (const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl); cipher != nullptr) {
        info.cipher_name = SSL_CIPHER_get_name(cipher);
        info.cipher_used_bits = SSL_CIPHER_get_bits(cipher, &info.cipher_algorithm_bits);
    }
    info.reused = SSL_session_reused(ssl) == 1;

    EVP_PKEY* exchange = nullptr;
    if (role_ == TlsRole::client ? SSL_get_peer_tmp_key(ssl, &exchange) == 1
                                 : SSL_get_tmp_key(ssl, &exchange) == 1) {
        KeyDescription kex = key_exchange_description(exchange);
        info.key_exchange = kex.name;
        info.key_exchange_curve = kex.curve;
        info.key_exchange_bits = kex.bits;
        EVP_PKEY_free(exchange);
    }

    X509* peer = SSL_get0_peer_certificate(ssl);
    // The server's signature: the peer's on the client, our own on the server.
    int signature_type = NID_undef;
    int digest = NID_undef;
    const EVP_PKEY* server_key = nullptr;
    if (role_ == TlsRole::client) {
        SSL_get_peer_signature_type_nid(ssl, &signature_type);
        SSL_get_peer_signature_nid(ssl, &digest);
        server_key = peer != nullptr ? X509_get0_pubkey(peer) : nullptr;
    } else {
        SSL_get_signature_type_nid(ssl, &signature_type);
        SSL_get_signature_nid(ssl, &digest);
        X509* own = SSL_get_certificate(ssl);
        server_key = own != nullptr ? X509_get0_pubkey(own) : nullptr;
    }
    if (signature_type != NID_undef) {
        KeyDescription signature = signature_description(signature_type, server_key);
        info.server_signature = signature.name;
        info.server_signature_curve = signature.curve;
        info.server_signature_bits = signature.bits;
        info.server_digest = digest_name(digest);
    }
    if (role_ == TlsRole::server && peer != nullptr) {
        int client_type = NID_undef;
        int client_digest = NID_undef;
        if (SSL_get_peer_signature_type_nid(ssl, &client_type) == 1) {
            KeyDescription signature = signature_description(client_type, X509_get0_pubkey(peer));
            info.client_signature = signature.name;
            info.client_signature_curve = signature.curve;
            info.client_signature_bits = signature.bits;
            SSL_get_peer_signature_nid(ssl, &client_digest);
            info.client_digest = digest_name(client_digest);
        }
    }

    if (peer != nullptr) {
        info.peer_certificate_present = true;
        long verify = SSL_get_verify_result(ssl);
        info.peer_certificate_trusted = verify == X509_V_OK;
        if (verify != X509_V_OK)
            info.verify_error = X509_verify_cert_error_string(verify);
        info.peer_common_name = common_name(X509_get_subject_name(peer));
        info.issuer_common_name = common_name(X509_get_issuer_name(peer));
        if (info.peer_certificate_trusted && !match_names_.empty()) {
            for (const std::string& name : certificate_names(peer))
                for (const std::string& pattern : match_names_)
                    if (tls_certificate_name_matches(name, pattern, wildcard_multiple_labels_))
                        info.peer_name_matched = true;
        }
    }
    if (role_ == TlsRole::server)
        if (const char* sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name); sni != nullptr)
            info.sni = sni;
    info_ = std::move(info);
}

std::string tls_summary(const TlsSessionInfo& info) {
    return info.protocol + " with cipher " + info.cipher_name + " (" +
           std::to_string(info.cipher_used_bits) + "/" +
           std::to_string(info.cipher_algorithm_bits) + " bits)" + key_details(info);
}

const char* tls_trust_word(const TlsSessionInfo& info) {
    if (!info.peer_certificate_present)
        return "Anonymous";
    if (info.peer_certificate_trusted && info.peer_name_matched)
        return "Verified";
    return info.peer_certificate_trusted ? "Trusted" : "Untrusted";
}

std::string tls_established_line(const TlsSessionInfo& info, TlsRole role, std::string_view peer) {
    std::string line = tls_trust_word(info);
    line += info.reused ? " TLS connection reused " : " TLS connection established ";
    line += role == TlsRole::client ? "to " : "from ";
    line += peer;
    if (role == TlsRole::server && !info.sni.empty())
        line += " to " + info.sni;
    line += ": " + tls_summary(info);
    return line;
}

std::vector<std::string> tls_received_header_lines(const TlsSessionInfo& info,
                                                   bool asked_for_client_certificate) {
    std::vector<std::string> lines;
    std::string first = "\t(using " + info.protocol + " with cipher " + info.cipher_name + " (" +
                        std::to_string(info.cipher_used_bits) + "/" +
                        std::to_string(info.cipher_algorithm_bits) + " bits)";
    std::string details = key_details(info);
    if (details.empty()) {
        lines.push_back(first + ")");
    } else {
        lines.push_back(first);
        lines.push_back("\t" + details + ")");
    }
    if (info.peer_certificate_present)
        lines.push_back("\t(Client CN \"" + comment_safe(info.peer_common_name) + "\", Issuer \"" +
                        comment_safe(info.issuer_common_name) + "\" (" +
                        (info.peer_certificate_trusted ? "verified OK" : "not verified") + "))");
    else if (asked_for_client_certificate)
        lines.push_back("\t(Client did not present a certificate)");
    else
        lines.push_back("\t(No client certificate requested)");
    return lines;
}

std::string tls_client_policy_failure(TlsLevel level, const TlsSessionInfo& info) {
    if (!tls_level_checks_certificate(level))
        return {};
    if (!info.peer_certificate_present || !info.peer_certificate_trusted)
        return "Server certificate not trusted";
    if (!info.peer_name_matched)
        return "Server certificate not verified";
    return {};
}

}  // namespace postern
