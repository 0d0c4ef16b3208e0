// Address resolution (see resolve.hpp for the algorithm and the contract).
#include "mail/resolve.hpp"

#include <strings.h>

#include "mail/address.hpp"
#include "mail/host_syntax.hpp"
#include "mail/quote_address.hpp"
#include "mail/rewrite_internal.hpp"
#include "mail/rewrite_tokens.hpp"
#include "maps/casefold.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace postern {
namespace {

// What the reply says before a step has decided it (Postfix's placeholders).
constexpr std::string_view kNoTransport = "CHANNEL NOT UPDATED";
constexpr std::string_view kNoNexthop = "NEXTHOP NOT UPDATED";
constexpr std::string_view kNoRecipient = "NEXTRCPT NOT UPDATED";

Status read_string(const Config& config, std::string_view name, std::string& out) {
    Result<std::string> value = config.get(name);
    if (!value)
        return value.error();
    out = std::string(trim(*value));
    return {};
}

// A parameter Postfix declares with a minimum length of 1: empty is a start-up error.
Status read_required(const Config& config, std::string_view name, std::string& out) {
    if (Status read = read_string(config, name, out); !read)
        return read;
    if (out.empty())
        return Error(ErrorKind::config, "bad string length 0 < 1: " + std::string(name) + " = ");
    return {};
}

Status read_boolean(const Config& config, std::string_view name, bool& out) {
    Result<bool> value = config.get_boolean(name);
    if (!value)
        return value.error();
    out = *value;
    return {};
}

// The transports of one request kind; `prefix` is "" or "address_verify_".
Status read_transports(const Config& config, std::string_view prefix, TransportSettings& out) {
    std::string p(prefix);
    out.local_transport_name = p + "local_transport";
    out.virtual_transport_name = p + "virtual_transport";
    out.relay_transport_name = p + "relay_transport";
    out.default_transport_name = p + "default_transport";
    out.sender_relayhost_name = p + "sender_dependent_relayhost_maps";
    out.sender_transport_name = p + "sender_dependent_default_transport_maps";
    for (auto [name, target] : {std::pair{out.local_transport_name, &out.local_transport},
                                {out.virtual_transport_name, &out.virtual_transport},
                                {out.relay_transport_name, &out.relay_transport},
                                {out.default_transport_name, &out.default_transport}}) {
        if (Status read = read_required(config, name, *target); !read)
            return read;
    }
    return read_string(config, p + "relayhost", out.relayhost);
}

// Tokens from `begin` to the end, joined as Postfix's tok822_internalize joins them.
std::string joined(const RewriteTokens& tokens, size_t begin = 0) {
    return join_rewrite_tokens(tokens, begin, tokens.size());
}

// A local part alone in external form: quoted unless it is a dot-atom, even when it holds
// an '@' (Postfix's QUOTE_FLAG_BARE_LOCALPART).
std::string quote_bare_localpart(std::string_view localpart) {
    std::string quoted = quote_address_local_part(std::string(localpart) + "@");
    quoted.pop_back();
    return quoted;
}

// Postfix's mail_addr_find() as trivial-rewrite uses it (sender-dependent tables,
// relocated_maps): the address search order of search.hpp, each key but @domain asked in
// external (quoted) form first and then, when that differs and found nothing, as it is.
Result<std::optional<std::string>> find_address_external_first(
    MapList& maps, std::string_view address, const AddressSearchOptions& options) {
    std::optional<bool> local;  // asked once, when a key first needs it
    size_t at = address.rfind('@');
    std::string_view domain =
        at == std::string_view::npos ? std::string_view() : address.substr(at + 1);
    for (const SearchKey& key : address_search_keys(address, options)) {
        if (key.needs_local_domain) {
            if (!local) {
                Result<bool> answer = options.is_local_domain(domain);
                if (!answer)
                    return answer.error();
                local = *answer;
            }
            if (!*local)
                continue;
        }
        std::string external = key.key;
        if (!key.key.starts_with('@'))
            external = key.key.find('@') != std::string::npos && !key.needs_local_domain
                           ? externalize_address(key.key)
                           : quote_bare_localpart(key.key);
        Result<std::optional<std::string>> found = maps.find(external, key.form);
        if (!found || found->has_value())
            return found;
        if (external != key.key) {
            found = maps.find(key.key, key.form);
            if (!found || found->has_value())
                return found;
        }
    }
    return std::optional<std::string>();
}

bool is_empty_localpart(const RewriteTokens& tokens) {
    return tokens.empty() ||
           (tokens.size() == 1 && tokens[0].kind == AddressTokenKind::quoted_string &&
            tokens[0].text.empty());
}

}  // namespace

// ---- Names and flags ----

const char* address_class_name(AddressClass address_class) {
    switch (address_class) {
        case AddressClass::local:
            return "local";
        case AddressClass::virtual_alias:
            return "alias";
        case AddressClass::virtual_mailbox:
            return "virtual";
        case AddressClass::relay:
            return "relay";
        case AddressClass::other:
            break;
    }
    return "default";
}

const char* resolve_request_name(ResolveRequest request) {
    return request == ResolveRequest::regular ? "resolve" : "verify";
}

std::optional<ResolveRequest> resolve_request_from_name(std::string_view name) {
    if (name == "resolve")
        return ResolveRequest::regular;
    if (name == "verify")
        return ResolveRequest::verify;
    return std::nullopt;
}

std::optional<AddressClass> ResolveReply::address_class() const {
    if (flags & resolve_flag::class_local)
        return AddressClass::local;
    if (flags & resolve_flag::class_alias)
        return AddressClass::virtual_alias;
    if (flags & resolve_flag::class_virtual)
        return AddressClass::virtual_mailbox;
    if (flags & resolve_flag::class_relay)
        return AddressClass::relay;
    if (flags & resolve_flag::class_default)
        return AddressClass::other;
    return std::nullopt;
}

Status ResolveReply::status() const {
    if (failed())
        return Error(ErrorKind::temporary, "address resolver failure", "4.3.0");
    if (bad_address())
        return Error(ErrorKind::permanent, "bad address syntax", "5.1.3");
    return {};
}

// ---- Settings ----

Result<ResolverSettings> ResolverSettings::from_config(const Config& config) {
    ResolverSettings s;
    for (auto [name, target] : {std::pair{"myhostname", &s.myhostname},
                                {"empty_address_recipient", &s.empty_address_recipient}}) {
        if (Status read = read_required(config, name, *target); !read)
            return read.error();
    }
    for (auto [name, target] :
         {std::pair{"myorigin", &s.myorigin},
          {"config_directory", &s.config_directory},
          {"empty_address_relayhost_maps_lookup_key", &s.empty_relayhost_key},
          {"empty_address_default_transport_maps_lookup_key", &s.empty_transport_key},
          {"recipient_delimiter", &s.extension.delimiters},
          {"double_bounce_sender", &s.extension.double_bounce_sender}}) {
        if (Status read = read_string(config, name, *target); !read)
            return read.error();
    }
    for (auto [name, target] : {std::pair{"resolve_dequoted_address", &s.resolve_dequoted_address},
                                {"resolve_null_domain", &s.resolve_null_domain},
                                {"resolve_numeric_domain", &s.resolve_numeric_domain},
                                {"allow_min_user", &s.allow_min_user},
                                {"helpful_warnings", &s.helpful_warnings},
                                {"show_user_unknown_table_name", &s.show_user_unknown_table_name},
                                {"smtputf8_enable", &s.smtputf8_enable},
                                {"swap_bangpath", &s.swap_bangpath},
                                {"allow_percent_hack", &s.allow_percent_hack},
                                {"owner_request_special", &s.extension.owner_request_special}}) {
        if (Status read = read_boolean(config, name, *target); !read)
            return read.error();
    }
    if (Status read = read_transports(config, "", s.regular); !read)
        return read.error();
    if (Status read = read_transports(config, "address_verify_", s.verify); !read)
        return read.error();
    return s;
}

// ---- The resolver's state ----

// The tables of one request kind.
// The verify request shares a table with the regular one when both parameters name the
// same tables (the default), as Postfix opens one "type:name" once per process.
struct RequestTables {
    std::shared_ptr<TransportTable> transport;
    std::shared_ptr<MapList> sender_relayhost;  // null when not configured
    std::shared_ptr<MapList> sender_transport;
    std::string transport_value, relayhost_value, sender_transport_value;  // as expanded
    bool sender_dependent() const { return sender_relayhost || sender_transport; }
};

struct AddressResolver::Impl {
    ResolverSettings settings;
    std::unique_ptr<AddressRewriter> rewriter;
    LocalDomains local;
    DomainList virtual_alias_domains;
    DomainList virtual_mailbox_domains;
    DomainList relay_domains;
    std::shared_ptr<MapList> relocated;
    RequestTables regular;
    RequestTables verify;

    // The cache: most recently used first.
    struct CacheEntry {
        std::string key;
        ResolveReply reply;
    };
    std::list<CacheEntry> cache;
    std::unordered_map<std::string_view, std::list<CacheEntry>::iterator> cache_index;
    size_t cache_size = 0;
    CacheStats stats;

    ResolveReply resolve(std::string_view sender, std::string_view recipient,
                         ResolveRequest request);
    Result<AddressClass> classify(std::string_view domain);
    const RequestTables& tables(ResolveRequest request) const {
        return request == ResolveRequest::regular ? regular : verify;
    }
    RequestTables& tables(ResolveRequest request) {
        return request == ResolveRequest::regular ? regular : verify;
    }
    const TransportSettings& transports(ResolveRequest request) const {
        return request == ResolveRequest::regular ? settings.regular : settings.verify;
    }

    std::string cache_key(std::string_view sender, std::string_view recipient,
                          ResolveRequest request) const;
    const ResolveReply* cached(const std::string& key);
    void remember(std::string key, const ResolveReply& reply);
};

// ---- Opening ----

namespace {

// The tables a parameter names, or null when it names none; `shared` (with the value it
// was opened from) is used instead when the value is the same.
Result<std::shared_ptr<MapList>> open_optional_maps(const Config& config, const std::string& name,
                                                    const MapListOptions& options,
                                                    std::string* value_out = nullptr,
                                                    const std::shared_ptr<MapList>& shared = {},
                                                    const std::string& shared_value = {}) {
    Result<std::string> value = config.get(name);
    if (!value)
        return value.error();
    if (value_out)
        *value_out = *value;
    if (trim(*value).empty())
        return std::shared_ptr<MapList>();
    if (shared && *value == shared_value)
        return shared;
    Result<MapList> maps = MapList::open(name, *value, options);
    if (!maps)
        return maps.error();
    return std::make_shared<MapList>(std::move(*maps));
}

Result<DomainList> open_domain_list(const Config& config, const std::string& name,
                                    DomainMatch style, const MapListOptions& options) {
    Result<std::string> value = config.get(name);
    if (!value)
        return value.error();
    return DomainList::open(name, *value, style, options);
}

// `regular` is null when opening the regular request's tables, else those to share with.
Status open_request_tables(const Config& config, const TransportSettings& names,
                           std::string_view transport_maps, ExtensionRules extension,
                           const MapListOptions& options, const RequestTables* regular,
                           RequestTables& out) {
    Result<std::string> parents = config.get("parent_domain_matches_subdomains");
    if (!parents)
        return parents.error();
    Result<std::string> value = config.get(transport_maps);
    if (!value)
        return value.error();
    out.transport_value = *value;
    if (regular && regular->transport_value == *value) {
        out.transport = std::make_shared<TransportTable>(
            TransportTable::sharing(std::string(transport_maps), *regular->transport));
    } else {
        Result<TransportTable> transport =
            TransportTable::open(std::string(transport_maps), *value,
                                 parent_style_for("transport_maps", *parents), extension, options);
        if (!transport)
            return transport.error();
        out.transport = std::make_shared<TransportTable>(std::move(*transport));
    }
    Result<std::shared_ptr<MapList>> relay = open_optional_maps(
        config, names.sender_relayhost_name, options, &out.relayhost_value,
        regular ? regular->sender_relayhost : nullptr, regular ? regular->relayhost_value : "");
    if (!relay)
        return relay.error();
    out.sender_relayhost = std::move(*relay);
    Result<std::shared_ptr<MapList>> sender_transport = open_optional_maps(
        config, names.sender_transport_name, options, &out.sender_transport_value,
        regular ? regular->sender_transport : nullptr,
        regular ? regular->sender_transport_value : "");
    if (!sender_transport)
        return sender_transport.error();
    out.sender_transport = std::move(*sender_transport);
    return {};
}

Status open_class_lists(const Config& config, const MapListOptions& options,
                        AddressResolver::Impl& impl) {
    Result<std::string> parents = config.get("parent_domain_matches_subdomains");
    if (!parents)
        return parents.error();
    Result<DomainList> alias =
        open_domain_list(config, "virtual_alias_domains", DomainMatch::exact, options);
    if (!alias)
        return alias.error();
    impl.virtual_alias_domains = std::move(*alias);
    Result<DomainList> mailbox =
        open_domain_list(config, "virtual_mailbox_domains", DomainMatch::exact, options);
    if (!mailbox)
        return mailbox.error();
    impl.virtual_mailbox_domains = std::move(*mailbox);
    Result<DomainList> relay = open_domain_list(
        config, "relay_domains", domain_list_style("relay_domains", *parents), options);
    if (!relay)
        return relay.error();
    impl.relay_domains = std::move(*relay);
    return {};
}

}  // namespace

AddressResolver::AddressResolver(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
AddressResolver::~AddressResolver() = default;

Result<std::unique_ptr<AddressResolver>> AddressResolver::open(const Config& config,
                                                               const ResolverOptions& options) {
    auto impl = std::make_unique<Impl>();
    Result<ResolverSettings> settings = ResolverSettings::from_config(config);
    if (!settings)
        return settings.error();
    impl->settings = std::move(*settings);
    impl->cache_size = options.cache_size;
    // As Postfix's daemons: with SMTPUTF8, table keys fold and check as UTF-8.
    ResolverOptions opened_with = options;
    if (impl->settings.smtputf8_enable)
        opened_with.tables.open.flags = opened_with.tables.open.flags | MapFlag::utf8_keys;
    // No $n from a regexp table's input into a transport, next hop or relayhost.
    opened_with.tables.open.flags = opened_with.tables.open.flags | MapFlag::no_regsub;
    Result<RewriteSettings> rewrite = RewriteSettings::from_config(config);
    if (!rewrite)
        return rewrite.error();
    impl->rewriter = std::make_unique<AddressRewriter>(std::move(*rewrite));
    Result<LocalDomains> local = LocalDomains::open(config, opened_with.tables);
    if (!local)
        return local.error();
    impl->local = std::move(*local);
    if (Status opened = open_class_lists(config, opened_with.tables, *impl); !opened)
        return opened.error();
    Result<std::shared_ptr<MapList>> relocated =
        open_optional_maps(config, "relocated_maps", opened_with.tables);
    if (!relocated)
        return relocated.error();
    impl->relocated = std::move(*relocated);
    const ExtensionRules& extension = impl->settings.extension;
    if (Status opened = open_request_tables(config, impl->settings.regular, "transport_maps",
                                            extension, opened_with.tables, nullptr, impl->regular);
        !opened)
        return opened.error();
    if (Status opened =
            open_request_tables(config, impl->settings.verify, "address_verify_transport_maps",
                                extension, opened_with.tables, &impl->regular, impl->verify);
        !opened)
        return opened.error();
    Impl* state = impl.get();
    impl->rewriter->set_domain_class_probe([state](std::string_view domain) {
        Result<AddressClass> found = state->classify(domain);
        return found.ok() && *found != AddressClass::other;
    });
    return std::unique_ptr<AddressResolver>(new AddressResolver(std::move(impl)));
}

// ---- Resolving ----

namespace {

// One request in progress (Postfix's resolve_addr() locals).
class Resolution {
  public:
    Resolution(AddressResolver::Impl& impl, std::string_view sender, std::string_view recipient,
               ResolveRequest request)
        : impl_(impl),
          s_(impl.settings),
          names_(impl.transports(request)),
          tables_(impl.tables(request)),
          sender_(sender),
          recipient_(recipient) {
        reply_.transport = kNoTransport;
        reply_.nexthop = kNoNexthop;
        reply_.recipient = kNoRecipient;
    }

    ResolveReply run();

  private:
    enum class Step { again, done, failed };

    ResolveReply fail() {
        reply_.flags |= resolve_flag::fail;
        return reply_;
    }
    bool strip_local_domains();
    Step strip_step();
    Step strip_domain();
    bool open_quoted_localpart();
    void qualify();
    bool check_domain();
    bool choose_class();
    bool choose_remote_class();
    bool choose_other_transport();
    bool choose_relayhost();
    void choose_local_class();
    bool apply_transport_maps();
    bool apply_relocated_maps();
    Result<std::optional<std::string>> find_sender(MapList& maps, const std::string& empty_key);
    Result<bool> is_local_or_origin(std::string_view domain);
    void warn_both(std::string_view first, std::string_view second);

    AddressResolver::Impl& impl_;
    const ResolverSettings& s_;
    const TransportSettings& names_;
    RequestTables& tables_;
    std::string_view sender_;
    std::string_view recipient_;
    ResolveReply reply_;
    RewriteTokens tokens_;
    std::optional<RewriteTokens> saved_domain_;
    bool remote_ = false;  // the domain left is not one of ours
    std::string domain_;   // the recipient domain once the recipient is final
    std::string blame_;    // the parameter that chose the transport, for messages
};

ResolveReply Resolution::run() {
    tokens_ = scan_rewrite_tokens(externalize_address(recipient_));
    if (!strip_local_domains())
        return fail();
    qualify();
    if (!check_domain())
        return reply_;
    if (!choose_class())
        return fail();
    if (!(reply_.flags & resolve_flag::class_alias) && !apply_transport_maps())
        return fail();
    if (!apply_relocated_maps())
        return fail();
    if (!s_.allow_min_user && reply_.recipient.starts_with('-'))
        reply_.flags |= resolve_flag::error;
    return reply_;
}

// Strips local domains from the right until a remote domain or none is left; false on a
// table failure or a runaway loop.
bool Resolution::strip_local_domains() {
    size_t limit = recipient_.size() + 100;
    for (size_t count = 0;; ++count) {
        if (count > limit) {
            log_warning("resolve_addr: <%s>: giving up after %zu iterations",
                        std::string(recipient_).c_str(), count);
            return false;
        }
        Step step = strip_step();
        if (step == Step::failed)
            return false;
        if (step == Step::done)
            return true;
    }
}

Resolution::Step Resolution::strip_step() {
    size_t n = tokens_.size();
    if (n >= 2 && tokens_[n - 1].is('.') && find_last_token(tokens_, '@') != kNoToken &&
        !tokens_[n - 2].is('.') && !tokens_[n - 2].is('@'))
        tokens_.pop_back();
    if (s_.resolve_null_domain && !tokens_.empty() && tokens_.back().is('@'))
        tokens_.pop_back();
    if (Step stripped = strip_domain(); stripped != Step::again)
        return stripped;
    if (find_last_token(tokens_, '@') != kNoToken ||
        (s_.swap_bangpath && find_last_token(tokens_, '!') != kNoToken) ||
        (s_.allow_percent_hack && find_last_token(tokens_, '%') != kNoToken)) {
        apply_rewrite_rules(*impl_.rewriter, RewriteContext::local, tokens_);
        return Step::again;
    }
    if (s_.resolve_dequoted_address && open_quoted_localpart())
        return Step::again;
    if (is_empty_localpart(tokens_)) {
        tokens_ = scan_rewrite_tokens(s_.empty_address_recipient);
        return Step::again;
    }
    return Step::done;
}

// Cuts off (and keeps) the rightmost "@domain" when the domain is ours.
Resolution::Step Resolution::strip_domain() {
    size_t at = find_last_token(tokens_, '@');
    if (at == kNoToken)
        return Step::again;
    if (at + 1 < tokens_.size()) {
        Result<bool> local = impl_.local.is_local(joined(tokens_, at + 1));
        if (!local)
            return Step::failed;
        if (!*local) {
            remote_ = true;
            return Step::done;
        }
    }
    saved_domain_ =
        RewriteTokens(std::make_move_iterator(tokens_.begin() + static_cast<ptrdiff_t>(at)),
                      std::make_move_iterator(tokens_.end()));
    tokens_.resize(at);
    return Step::again;
}

// "user@remote"@localhost and friends: the quoted local part, opened, has routing
// operators. True when it did and the tokens were replaced.
bool Resolution::open_quoted_localpart() {
    if (tokens_.size() != 1 || tokens_[0].kind != AddressTokenKind::quoted_string)
        return false;
    std::string local = tokens_[0].text;
    size_t op = local.rfind('@');
    if (op == std::string::npos && s_.allow_percent_hack)
        op = local.rfind('%');
    if (op == std::string::npos && s_.swap_bangpath)
        op = local.rfind('!');
    if (op == std::string::npos)
        return false;
    if (local[op] == '%')
        local[op] = '@';
    if (local[op] == '@')
        local = externalize_address(local);
    tokens_ = scan_rewrite_tokens(local);
    apply_rewrite_rules(*impl_.rewriter, RewriteContext::local, tokens_);
    return true;
}

// A local recipient gets its domain back, or @$myhostname when it had none.
void Resolution::qualify() {
    if (!remote_) {
        if (saved_domain_) {
            append_tokens(tokens_, std::move(*saved_domain_));
        } else {
            RewriteTokens domain{RewriteToken{AddressTokenKind::special, "@"}};
            RewriteTokens host = scan_rewrite_tokens(s_.myhostname);
            domain.insert(domain.end(), host.begin(), host.end());
            append_tokens(tokens_, std::move(domain));
        }
    }
    reply_.recipient = joined(tokens_);
    size_t at = reply_.recipient.rfind('@');
    domain_ = at == std::string::npos ? std::string() : reply_.recipient.substr(at + 1);
}

// The domain must be a host name or an address literal; false when the reply is final.
bool Resolution::check_domain() {
    // With SMTPUTF8 the whole recipient must be well-formed UTF-8.
    if (s_.smtputf8_enable && !is_valid_utf8(reply_.recipient)) {
        reply_.flags |= resolve_flag::error | resolve_flag::class_default;
        return false;
    }
    bool valid = !domain_.empty() &&
                 (domain_.front() == '[' ? valid_mailhost_literal(domain_)
                                         : valid_utf8_hostname(s_.smtputf8_enable, domain_));
    if (valid)
        return true;
    if (s_.resolve_numeric_domain && valid_host_address(domain_)) {
        size_t at = reply_.recipient.rfind('@');
        reply_.recipient = reply_.recipient.substr(0, at + 1) + "[" + domain_ + "]";
        domain_ = "[" + domain_ + "]";
        Result<bool> local = impl_.local.is_local(domain_);
        if (!local) {
            reply_.flags |= resolve_flag::fail;
            return false;
        }
        if (*local)
            remote_ = false;
        return true;
    }
    reply_.flags |= resolve_flag::error | resolve_flag::class_default;
    return false;
}

bool Resolution::choose_class() {
    // Routing operators before the one that introduces the domain: "user@a@b", "a!b@c"
    // (whichever class, and whether or not this system honours them).
    size_t first_operator = reply_.recipient.find_first_of("@!%");
    if (first_operator == std::string::npos ||
        std::string_view(reply_.recipient).substr(first_operator + 1) != domain_)
        reply_.flags |= resolve_flag::routed;
    if (remote_) {
        if (!choose_remote_class())
            return false;
    } else {
        choose_local_class();
    }
    // "transport:nexthop" in main.cf: the next hop is part of the setting.
    if (size_t colon = reply_.transport.find(':'); colon != std::string::npos) {
        std::string nexthop = reply_.transport.substr(colon + 1);
        reply_.transport.resize(colon);
        if (!nexthop.empty())
            reply_.nexthop = nexthop;
    }
    if (reply_.transport.empty()) {
        log_warning("file %s/main.cf: parameter %s: null transport is not allowed",
                    s_.config_directory.c_str(), blame_.c_str());
        return false;
    }
    return true;
}

void Resolution::warn_both(std::string_view first, std::string_view second) {
    log_warning("do not list domain %s in BOTH %s and %s", domain_.c_str(),
                std::string(first).c_str(), std::string(second).c_str());
}

void Resolution::choose_local_class() {
    if (s_.helpful_warnings) {
        Result<bool> alias = impl_.virtual_alias_domains.matches(domain_);
        if (alias.ok() && *alias)
            warn_both("mydestination", "virtual_alias_domains");
        Result<bool> mailbox = impl_.virtual_mailbox_domains.matches(domain_);
        if (mailbox.ok() && *mailbox)
            warn_both("mydestination", "virtual_mailbox_domains");
    }
    reply_.transport = names_.local_transport;
    reply_.nexthop = domain_;
    reply_.flags |= resolve_flag::class_local;
    blame_ = names_.local_transport_name;
}

bool Resolution::choose_remote_class() {
    Result<bool> alias = impl_.virtual_alias_domains.matches(domain_);
    if (!alias) {
        log_warning("virtual_alias_domains lookup failure");
        return false;
    }
    if (*alias) {
        if (s_.helpful_warnings) {
            Result<bool> mailbox = impl_.virtual_mailbox_domains.matches(domain_);
            if (mailbox.ok() && *mailbox)
                warn_both("virtual_alias_domains", "virtual_mailbox_domains");
            Result<bool> relay = impl_.relay_domains.matches(domain_);
            if (relay.ok() && *relay)
                warn_both("virtual_alias_domains", "relay_domains");
        }
        reply_.transport = "error";
        reply_.nexthop = s_.show_user_unknown_table_name
                             ? "5.1.1 User unknown in virtual alias table"
                             : "5.1.1 User unknown";
        reply_.flags |= resolve_flag::class_alias;
        return true;
    }
    Result<bool> mailbox = impl_.virtual_mailbox_domains.matches(domain_);
    if (!mailbox) {
        log_warning("virtual_mailbox_domains lookup failure");
        return false;
    }
    if (*mailbox) {
        if (s_.helpful_warnings) {
            Result<bool> relay = impl_.relay_domains.matches(domain_);
            if (relay.ok() && *relay)
                warn_both("virtual_mailbox_domains", "relay_domains");
        }
        reply_.transport = names_.virtual_transport;
        reply_.nexthop = domain_;
        reply_.flags |= resolve_flag::class_virtual;
        blame_ = names_.virtual_transport_name;
        return true;
    }
    Result<bool> relay = impl_.relay_domains.matches(domain_);
    if (!relay) {
        log_warning("relay_domains lookup failure");
        return false;
    }
    if (*relay) {
        reply_.transport = names_.relay_transport;
        reply_.flags |= resolve_flag::class_relay;
        blame_ = names_.relay_transport_name;
    } else {
        if (!choose_other_transport())
            return false;
        reply_.flags |= resolve_flag::class_default;
    }
    return choose_relayhost();
}

bool Resolution::choose_other_transport() {
    reply_.transport = names_.default_transport;
    blame_ = names_.default_transport_name;
    if (!tables_.sender_transport)
        return true;
    Result<std::optional<std::string>> found =
        find_sender(*tables_.sender_transport, s_.empty_transport_key);
    if (!found) {
        log_warning("%s lookup failure", names_.sender_transport_name.c_str());
        return false;
    }
    if (found->has_value()) {
        blame_ = names_.sender_transport_name;
        if (::strcasecmp((*found)->c_str(), "DUNNO") != 0)
            reply_.transport = **found;
    }
    return true;
}

bool Resolution::choose_relayhost() {
    if (tables_.sender_relayhost) {
        Result<std::optional<std::string>> found =
            find_sender(*tables_.sender_relayhost, s_.empty_relayhost_key);
        if (!found) {
            log_warning("%s lookup failure", names_.sender_relayhost_name.c_str());
            return false;
        }
        // DUNNO ends the search without overriding relayhost.
        if (found->has_value() && ::strcasecmp((*found)->c_str(), "DUNNO") != 0) {
            reply_.nexthop = **found;
            return true;
        }
    }
    reply_.nexthop = names_.relayhost.empty() ? domain_ : names_.relayhost;
    return true;
}

Result<bool> Resolution::is_local_or_origin(std::string_view domain) {
    if (::strcasecmp(std::string(domain).c_str(), s_.myorigin.c_str()) == 0)
        return true;
    return impl_.local.is_local(domain);
}

// A sender-dependent table: the sender as it is (internal form), or for the null sender
// its lookup key, with Postfix's address search order (user+ext@domain, user@domain, user+ext
// and user when the domain is ours, @domain).
Result<std::optional<std::string>> Resolution::find_sender(MapList& maps,
                                                           const std::string& empty_key) {
    std::string key = sender_.empty() ? empty_key : std::string(sender_);
    AddressSearchOptions options;
    options.extension = s_.extension;
    options.is_local_domain = [this](std::string_view domain) {
        return is_local_or_origin(domain);
    };
    return find_address_external_first(maps, key, options);
}

bool Resolution::apply_transport_maps() {
    if (tables_.transport->empty())
        return true;
    TransportChoice choice{reply_.transport, reply_.nexthop};
    Result<bool> applied = tables_.transport->apply(reply_.recipient, domain_, choice);
    if (!applied) {
        log_warning("%s lookup failure", tables_.transport->title().c_str());
        return false;
    }
    reply_.transport = std::move(choice.transport);
    reply_.nexthop = std::move(choice.nexthop);
    return true;
}

bool Resolution::apply_relocated_maps() {
    if (!impl_.relocated)
        return true;
    AddressSearchOptions options;
    options.extension = s_.extension;
    options.is_local_domain = [this](std::string_view domain) {
        return is_local_or_origin(domain);
    };
    Result<std::optional<std::string>> match =
        find_address_external_first(*impl_.relocated, reply_.recipient, options);
    if (!match) {
        log_warning("relocated_maps lookup failure");
        return false;
    }
    if (match->has_value()) {
        reply_.transport = "error";
        reply_.nexthop = "5.1.6 User has moved to " + **match;
    }
    return true;
}

}  // namespace

ResolveReply AddressResolver::Impl::resolve(std::string_view sender, std::string_view recipient,
                                            ResolveRequest request) {
    std::string key = cache_key(sender, recipient, request);
    if (const ResolveReply* hit = cached(key))
        return *hit;
    ResolveReply reply = Resolution(*this, sender, recipient, request).run();
    if (!reply.failed())
        remember(std::move(key), reply);
    return reply;
}

// ---- The cache ----

std::string AddressResolver::Impl::cache_key(std::string_view sender, std::string_view recipient,
                                             ResolveRequest request) const {
    std::string key(1, request == ResolveRequest::regular ? 'r' : 'v');
    key += std::to_string(recipient.size());
    key += ':';
    key += recipient;
    if (tables(request).sender_dependent())
        key += sender;
    return key;
}

const ResolveReply* AddressResolver::Impl::cached(const std::string& key) {
    auto found = cache_index.find(key);
    if (found == cache_index.end()) {
        ++stats.misses;
        return nullptr;
    }
    ++stats.hits;
    cache.splice(cache.begin(), cache, found->second);
    return &found->second->reply;
}

void AddressResolver::Impl::remember(std::string key, const ResolveReply& reply) {
    if (cache_size == 0)
        return;
    if (cache.size() >= cache_size) {
        cache_index.erase(cache.back().key);
        cache.pop_back();
    }
    cache.push_front(CacheEntry{std::move(key), reply});
    cache_index.emplace(cache.front().key, cache.begin());
}

// ---- Classes ----

Result<AddressClass> AddressResolver::Impl::classify(std::string_view domain) {
    Result<bool> local_domain = local.is_local(domain);
    if (!local_domain)
        return local_domain.error();
    if (*local_domain)
        return AddressClass::local;
    for (auto [list, found] : {std::pair{&virtual_alias_domains, AddressClass::virtual_alias},
                               {&virtual_mailbox_domains, AddressClass::virtual_mailbox},
                               {&relay_domains, AddressClass::relay}}) {
        Result<bool> listed = list->matches(domain);
        if (!listed)
            return listed.error();
        if (*listed)
            return found;
    }
    return AddressClass::other;
}

// ---- The public face ----

ResolveReply AddressResolver::resolve(std::string_view sender, std::string_view recipient,
                                      ResolveRequest request) {
    return impl_->resolve(sender, recipient, request);
}

Result<AddressClass> AddressResolver::classify_domain(std::string_view domain) {
    return impl_->classify(domain);
}

Result<bool> AddressResolver::is_local_domain(std::string_view domain) {
    return impl_->local.is_local(domain);
}

const AddressRewriter& AddressResolver::rewriter() const {
    return *impl_->rewriter;
}

const ResolverSettings& AddressResolver::settings() const {
    return impl_->settings;
}

std::optional<std::string> AddressResolver::changed_table() const {
    const Impl& impl = *impl_;
    if (auto changed = impl.local.changed_table())
        return changed;
    for (const DomainList* list :
         {&impl.virtual_alias_domains, &impl.virtual_mailbox_domains, &impl.relay_domains}) {
        if (auto changed = list->changed_table())
            return changed;
    }
    for (const RequestTables* request : {&impl.regular, &impl.verify}) {
        if (auto changed = request->transport->changed_table())
            return changed;
        for (const auto* maps : {request->sender_relayhost.get(), request->sender_transport.get()})
            if (maps)
                if (auto changed = maps->changed_table())
                    return changed;
    }
    if (impl.relocated)
        return impl.relocated->changed_table();
    return std::nullopt;
}

AddressResolver::CacheStats AddressResolver::cache_stats() const {
    CacheStats stats = impl_->stats;
    stats.entries = impl_->cache.size();
    return stats;
}

void AddressResolver::clear_cache() {
    impl_->cache_index.clear();
    impl_->cache.clear();
}

}  // namespace postern
