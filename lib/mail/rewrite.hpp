// Address rewriting to canonical form: Postfix's trivial-rewrite "rewrite" request, as a
// library.
//
// Where it sits: lib/mail. cleanup calls it for the envelope sender, every envelope
// recipient and (per local_header_rewrite_clients / remote_header_rewrite_domain) the
// addresses in message headers, before canonical and virtual alias mapping; the
// trivial-rewrite daemon (trivial-rewrite/) answers the same request over a socket; the
// resolver (resolve.hpp) runs the same rules while it strips local domains.
//
// What comes in: one address, from the network or a local user (any bytes: never trusted),
// and the rewrite context. What goes out: the address in canonical form. No I/O, no table
// lookup, no privileges; the work is linear in the address length.
//
// The rules, in Postfix's order (ADDRESS_REWRITING_README, "Rewrite addresses to standard
// form"; postconf(5) for each parameter):
//   - an empty address stays empty; a lone "@" is the empty address;
//   - a source route is removed: "@a,@b:user@c" becomes "user@c" (RFC 5321 section 4.1.2
//     allows routes in a path, section C says to ignore them);
//   - an address without "@": with swap_bangpath "site!user" becomes "user@site"; else with
//     allow_percent_hack "user%site" becomes "user@site" (the rightmost %); else with
//     append_at_myorigin "user" becomes "user@$myorigin";
//   - with append_dot_mydomain, "user@host" becomes "user@host.$mydomain" when the domain
//     has no dot and is not a [literal];
//   - one trailing dot is removed from the domain ("user@host." becomes "user@host"), but
//     not from "..", "@." or similar broken forms, which stay as they are so that the
//     diagnostics that follow show what was sent.
// The local context uses myorigin and mydomain. The remote context (Postfix's "remote"
// rule, for header addresses of mail from remote clients) uses remote_header_rewrite_domain
// for both, so with that parameter empty only the source route and trailing-dot rules apply.
//
// Address forms. Postfix keeps addresses in its internal form, with the local part
// unquoted ("a b@example.com"), and rewrites the external form, RFC 5322 quoted
// ("\"a b\"@example.com"). rewrite() takes and returns the internal form (what cleanup and
// qmgr hold); rewrite_external() takes and returns the external form (the wire form of
// Postfix's rewrite request). rewrite(x) is unquote(rewrite_external(quote(x))), exactly as
// Postfix's rewrite_clnt_internal(). The address is read as RFC 822 tokens, as Postfix's
// tok822 scanner reads it: comments, quoted strings, [domain literals], atoms and specials,
// so that odd input ("a (comment) @ host", "<user@host>", "user@host@other") comes out as
// Postfix's does, byte for byte. Text after a NUL byte is ignored, as in Postfix's C
// strings.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "util/result.hpp"

namespace postern {

// Which rule set applies: Postfix's rewrite_context / the "rule" of a rewrite request.
enum class RewriteContext {
    local,   // myorigin, mydomain (envelopes, headers of local mail)
    remote,  // remote_header_rewrite_domain (headers of mail from remote clients)
};

// "local", "remote".
const char* rewrite_context_name(RewriteContext context);
// The context for a rule name as Postfix's request carries it; nullopt for anything else.
std::optional<RewriteContext> rewrite_context_from_name(std::string_view name);

// The parameters the rules read, once, from Config.
struct RewriteSettings {
    std::string myorigin;                      // expanded; "" means: never append @origin
    std::string mydomain;                      // expanded; "" means: never append .domain
    std::string remote_header_rewrite_domain;  // "" means: the remote context appends nothing
    bool append_at_myorigin = true;
    bool append_dot_mydomain = false;
    bool swap_bangpath = true;
    bool allow_percent_hack = true;
    // compatibility_level below 1 and append_dot_mydomain not set explicitly: each time the
    // rule appends .mydomain, log Postfix's notice "using backwards-compatible default
    // setting append_dot_mydomain=yes to rewrite "host" to "host.example.com"".
    bool warn_compat_append_dot_mydomain = false;

    // Reads append_at_myorigin, append_dot_mydomain, swap_bangpath, allow_percent_hack,
    // myorigin, mydomain, remote_header_rewrite_domain and compatibility_level. Errors
    // name the parameter (a boolean that is not yes/no...).
    static Result<RewriteSettings> from_config(const Config& config);
};

class AddressRewriter {
  public:
    explicit AddressRewriter(RewriteSettings settings) : settings_(std::move(settings)) {}

    // Internal form in, internal form out (cleanup, qmgr, local). Never fails.
    std::string rewrite(RewriteContext context, std::string_view internal_address) const;
    // External (quoted) form in, external form out: what Postfix's rewrite request answers.
    // An empty address comes back empty (Postfix logs "rewrite_addr: null address" for it).
    std::string rewrite_external(RewriteContext context, std::string_view external_address) const;

    const RewriteSettings& settings() const { return settings_; }

    // For the compatibility notice only: whether a domain belongs to an address class with
    // an explicit domain list (mydestination, virtual, relay). When "localhost" does not,
    // the notice adds "please add "localhost" to mydestination or other address class",
    // as Postfix's. The resolver installs it; without it "localhost" is not mentioned.
    void set_domain_class_probe(std::function<bool(std::string_view domain)> probe) {
        domain_class_probe_ = std::move(probe);
    }
    const std::function<bool(std::string_view domain)>& domain_class_probe() const {
        return domain_class_probe_;
    }

  private:
    RewriteSettings settings_;
    std::function<bool(std::string_view domain)> domain_class_probe_;
};

}  // namespace postern
