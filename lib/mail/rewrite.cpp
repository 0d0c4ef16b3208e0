// Address rewriting to canonical form (see rewrite.hpp for the rules and the contract).
#include "mail/rewrite.hpp"

#include <strings.h>

#include "config/expand.hpp"
#include "mail/address.hpp"
#include "mail/rewrite_internal.hpp"
#include "mail/rewrite_tokens.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace postern {
namespace {

// Appends an operator and the tokens of `text` (a domain from main.cf) to `tokens`.
void append_scanned(RewriteTokens& tokens, char op, std::string_view text) {
    RewriteTokens more{RewriteToken{AddressTokenKind::special, std::string(1, op)}};
    RewriteTokens domain = scan_rewrite_tokens(text);
    more.insert(more.end(), std::make_move_iterator(domain.begin()),
                std::make_move_iterator(domain.end()));
    append_tokens(tokens, std::move(more));
}

// "@a,@b:user@c" becomes "user@c"; a route with nothing after its colon stays.
void strip_source_route(RewriteTokens& tokens) {
    if (tokens.empty() || !tokens.front().is('@'))
        return;
    size_t colon = find_first_token(tokens, ':');
    if (colon != kNoToken && colon + 1 < tokens.size())
        tokens.erase(tokens.begin(), tokens.begin() + static_cast<ptrdiff_t>(colon) + 1);
}

// "site!user" becomes "user@site" (at the first '!'): the user's tokens and an '@' go in
// front of the site's, as Postfix moves them (which decides where spaces go).
void swap_bang_path(RewriteTokens& tokens, size_t bang) {
    auto bang_at = tokens.begin() + static_cast<ptrdiff_t>(bang);
    RewriteTokens user(std::make_move_iterator(bang_at + 1), std::make_move_iterator(tokens.end()));
    tokens.erase(bang_at, tokens.end());
    prepend_tokens(tokens, RewriteTokens{RewriteToken{AddressTokenKind::special, "@"}});
    prepend_tokens(tokens, std::move(user));
}

// An address without '@': a bang path, a percent hack, or an unqualified name.
void qualify(const RewriteSettings& settings, std::string_view origin, RewriteTokens& tokens) {
    if (settings.swap_bangpath) {
        if (size_t bang = find_first_token(tokens, '!'); bang != kNoToken) {
            swap_bang_path(tokens, bang);
            return;
        }
    }
    if (settings.allow_percent_hack) {
        if (size_t percent = find_last_token(tokens, '%'); percent != kNoToken) {
            // assign(1, '@'), not = "@": GCC 12 at -O2 warns -Wrestrict (a false positive).
            tokens[percent].text.assign(1, '@');
            return;
        }
    }
    if (settings.append_at_myorigin && !origin.empty()) {
        append_scanned(tokens, '@', origin);
    }
}

// Postfix 3.7's notice for a configuration that relies on the old default.
void log_compat_append_dot(const AddressRewriter& rewriter, const RewriteToken& host) {
    const RewriteSettings& settings = rewriter.settings();
    if (host.is_special())
        return;
    const char* name = host.text.c_str();
    const char* mydomain = settings.mydomain.c_str();
    if (::strcasecmp(name, "localhost") != 0) {
        log_info(
            "using backwards-compatible default setting append_dot_mydomain=yes to rewrite "
            "\"%s\" to \"%s.%s\"",
            name, name, mydomain);
    } else if (!rewriter.domain_class_probe() || !rewriter.domain_class_probe()("localhost")) {
        log_info(
            "using backwards-compatible default setting append_dot_mydomain=yes to rewrite "
            "\"%s\" to \"%s.%s\"; please add \"localhost\" to mydestination or other "
            "address class",
            name, name, mydomain);
    }
}

// "user@host" becomes "user@host.$mydomain"; literals and dotted names stay.
void append_dot_domain(const AddressRewriter& rewriter, std::string_view domain,
                       RewriteTokens& tokens) {
    size_t at = find_last_token(tokens, '@');
    if (at == kNoToken || at + 1 == tokens.size() ||
        has_token_kind(tokens, AddressTokenKind::domain_literal, at) ||
        find_first_token(tokens, '.', at) != kNoToken)
        return;
    if (rewriter.settings().warn_compat_append_dot_mydomain)
        log_compat_append_dot(rewriter, tokens[at + 1]);
    append_scanned(tokens, '.', domain);
}

// One trailing dot goes, but not from "..", "@." or a lone ".".
void strip_trailing_dot(RewriteTokens& tokens) {
    size_t n = tokens.size();
    if (n >= 2 && tokens[n - 1].is('.') && !tokens[n - 2].is('.') && !tokens[n - 2].is('@'))
        tokens.pop_back();
}

}  // namespace

const char* rewrite_context_name(RewriteContext context) {
    return context == RewriteContext::local ? "local" : "remote";
}

std::optional<RewriteContext> rewrite_context_from_name(std::string_view name) {
    if (name == "local")
        return RewriteContext::local;
    if (name == "remote")
        return RewriteContext::remote;
    return std::nullopt;
}

Result<RewriteSettings> RewriteSettings::from_config(const Config& config) {
    RewriteSettings settings;
    for (auto [name, target] :
         {std::pair{"myorigin", &settings.myorigin},
          {"mydomain", &settings.mydomain},
          {"remote_header_rewrite_domain", &settings.remote_header_rewrite_domain}}) {
        Result<std::string> value = config.get(name);
        if (!value)
            return value.error();
        *target = std::string(trim(*value));
    }
    for (auto [name, target] : {std::pair{"append_at_myorigin", &settings.append_at_myorigin},
                                {"append_dot_mydomain", &settings.append_dot_mydomain},
                                {"swap_bangpath", &settings.swap_bangpath},
                                {"allow_percent_hack", &settings.allow_percent_hack}}) {
        Result<bool> value = config.get_boolean(name);
        if (!value)
            return value.error();
        *target = *value;
    }
    Result<std::string> level = config.get("compatibility_level");
    if (!level)
        return level.error();
    settings.warn_compat_append_dot_mydomain =
        compare_compatibility_levels(trim(*level), "1") < 0 &&
        !config.explicit_value("append_dot_mydomain").has_value();
    return settings;
}

void apply_rewrite_rules(const AddressRewriter& rewriter, RewriteContext context,
                         RewriteTokens& tokens) {
    const RewriteSettings& settings = rewriter.settings();
    bool local = context == RewriteContext::local;
    std::string_view origin = local ? settings.myorigin : settings.remote_header_rewrite_domain;
    std::string_view domain = local ? settings.mydomain : settings.remote_header_rewrite_domain;

    if (tokens.empty())
        return;
    if (tokens.size() == 1 && tokens[0].kind == AddressTokenKind::quoted_string &&
        tokens[0].text.empty())
        return;  // the empty address
    if (tokens.size() == 1 && tokens[0].is('@')) {
        tokens[0] = RewriteToken{AddressTokenKind::quoted_string, "", true};
        return;  // a lone "@" is the empty address
    }
    strip_source_route(tokens);
    if (find_last_token(tokens, '@') == kNoToken)
        qualify(settings, origin, tokens);
    if (settings.append_dot_mydomain && !domain.empty())
        append_dot_domain(rewriter, domain, tokens);
    strip_trailing_dot(tokens);
}

std::string AddressRewriter::rewrite_external(RewriteContext context,
                                              std::string_view external_address) const {
    if (external_address.empty() || external_address.front() == '\0') {
        log_warning("rewrite_addr: null address");
        return {};
    }
    RewriteTokens tokens = scan_rewrite_tokens(external_address);
    apply_rewrite_rules(*this, context, tokens);
    return externalize_address(join_rewrite_tokens(tokens));
}

std::string AddressRewriter::rewrite(RewriteContext context,
                                     std::string_view internal_address) const {
    return internalize_address(rewrite_external(context, externalize_address(internal_address)));
}

}  // namespace postern
