// Address resolution: Postfix's trivial-rewrite "resolve" (and "verify") request, as a
// library. For one recipient (and its sender, for sender-dependent tables) it answers the
// address class, the transport, the next hop and the recipient as the delivery agent gets
// it.
//
// Where it sits: lib/mail. qmgr calls it for every recipient of every message it moves to
// active/ (directly, in its own process); smtpd will call it for reject_unauth_destination,
// permit_mx_backup and local_recipient_maps (classify_domain, or resolve and the class
// bits); the trivial-rewrite daemon (trivial-rewrite/) answers the same request over a
// socket. Recipients and senders come from the network: any bytes, never trusted. Tables
// are opened once, before a daemon chroots (lib/maps: every lookup failure is an Error,
// which here becomes the fail flag, never "not found"). No privileges.
//
// The algorithm, in Postfix's order (ADDRESS_CLASS_README, trivial-rewrite(8)):
//  1. The recipient (internal form) is quoted, cut into RFC 822 tokens, and every local
//     domain is stripped from the right ("user@remote@localhost" is "user@remote"), each
//     time running the rewrite rules (rewrite.hpp, local context) so that "user%remote" and
//     "remote!user" become "user@remote"; with resolve_dequoted_address a quoted local part
//     is opened to look for the same operators (stopping "user@remote"@localhost relays).
//     An empty local part is empty_address_recipient. A recipient without a domain gets
//     @$myhostname. resolve_null_domain strips a trailing "@".
//  2. The domain must be a valid host name or [address] literal; with
//     resolve_numeric_domain, "user@1.2.3.4" is "user@[1.2.3.4]". Otherwise: the error flag
//     (and the default class), nothing else decided.
//  3. The class: local (mydestination, or a literal of inet_interfaces/proxy_interfaces:
//     local_transport, next hop the domain); virtual alias (virtual_alias_domains: the
//     error transport, "5.1.1 User unknown in virtual alias table"); virtual mailbox
//     (virtual_mailbox_domains: virtual_transport); relay (relay_domains: relay_transport);
//     default (default_transport, or sender_dependent_default_transport_maps). For relay
//     and default, the next hop is sender_dependent_relayhost_maps, else relayhost, else
//     the domain. A "transport:nexthop" main.cf value sets the next hop. Routing operators
//     left in a remote recipient's local part set the routed flag.
//  4. transport_maps override transport and next hop (transport_table.hpp), except for the
//     virtual alias class; relocated_maps turn the recipient into an error ("5.1.6 User has
//     moved to ..."); a recipient that starts with '-' gets the error flag unless
//     allow_min_user.
// A table lookup failure at any step ends the request with the fail flag (after the
// "warning: TITLE lookup failure" Postfix logs): the caller defers the recipient.
//
// Cache: answers are kept per resolver (most recently used first, at most
// ResolverOptions::cache_size), keyed by request, recipient and, only when a
// sender-dependent table is configured for that request, the sender. Failed answers are not
// kept. A long-lived process checks changed_table() between batches and opens a new
// resolver when a table file changed (the daemons exit instead, so master starts a fresh
// one, as Postfix's trivial-rewrite does).
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "config/config.hpp"
#include "mail/domain_list.hpp"
#include "mail/local_domains.hpp"
#include "mail/rewrite.hpp"
#include "mail/transport_table.hpp"
#include "maps/map_list.hpp"
#include "maps/search.hpp"
#include "util/result.hpp"

namespace postern {

// The reply flags, with Postfix's values (they travel in the flags attribute).
namespace resolve_flag {
inline constexpr uint32_t final_delivery = 1u << 0;  // not set by Postfix 3.7's resolver
inline constexpr uint32_t routed = 1u << 1;          // routing operators left (user@a@b)
inline constexpr uint32_t error = 1u << 2;           // bad address syntax: bounce
inline constexpr uint32_t fail = 1u << 3;            // the resolver failed: defer
inline constexpr uint32_t class_local = 1u << 8;
inline constexpr uint32_t class_alias = 1u << 9;
inline constexpr uint32_t class_virtual = 1u << 10;
inline constexpr uint32_t class_relay = 1u << 11;
inline constexpr uint32_t class_default = 1u << 12;
inline constexpr uint32_t class_final = class_local | class_alias | class_virtual;
inline constexpr uint32_t class_mask =
    class_local | class_alias | class_virtual | class_relay | class_default;
}  // namespace resolve_flag

enum class AddressClass { local, virtual_alias, virtual_mailbox, relay, other };

// "local", "alias", "virtual", "relay", "default" (Postfix's class names).
const char* address_class_name(AddressClass address_class);

// Which parameter set a request uses: Postfix's "resolve" and "verify" requests. verify
// reads the address_verify_* variants (address_verify_relayhost...), for probes.
enum class ResolveRequest { regular, verify };
const char* resolve_request_name(ResolveRequest request);  // "resolve", "verify"
std::optional<ResolveRequest> resolve_request_from_name(std::string_view name);

struct ResolveReply {
    std::string transport;  // master.cf service name ("smtp", "local", "error")
    std::string nexthop;    // transport-specific: "example.com", "[host]:587", error text
    std::string recipient;  // internal form, always user@domain once resolved
    uint32_t flags = 0;     // resolve_flag bits

    bool failed() const { return (flags & resolve_flag::fail) != 0; }
    bool bad_address() const { return (flags & resolve_flag::error) != 0; }
    bool routed() const { return (flags & resolve_flag::routed) != 0; }
    // The class bit that is set; nullopt when none is (a failure before the class).
    std::optional<AddressClass> address_class() const;
    // What a caller does with a reply it cannot route: a temporary Error "address resolver
    // failure" (4.3.0) when failed(), a permanent one "bad address syntax" (5.1.3) when
    // bad_address(), as Postfix's qmgr words them; success otherwise.
    Status status() const;
    bool operator==(const ResolveReply&) const = default;
};

// The parameters of one request kind (regular or verify).
struct TransportSettings {
    std::string local_transport;
    std::string virtual_transport;
    std::string relay_transport;
    std::string default_transport;
    std::string relayhost;
    // The parameter names, for messages ("parameter local_transport: null transport...").
    std::string local_transport_name;
    std::string virtual_transport_name;
    std::string relay_transport_name;
    std::string default_transport_name;
    std::string sender_relayhost_name;
    std::string sender_transport_name;
};

// What the resolver reads from Config, once.
struct ResolverSettings {
    std::string myhostname;
    std::string myorigin;
    std::string config_directory;
    std::string empty_address_recipient;
    std::string empty_relayhost_key;  // empty_address_relayhost_maps_lookup_key
    std::string empty_transport_key;  // empty_address_default_transport_maps_lookup_key
    ExtensionRules extension;         // recipient_delimiter, owner_request_special...
    bool resolve_dequoted_address = true;
    bool resolve_null_domain = false;
    bool resolve_numeric_domain = false;
    bool allow_min_user = false;
    bool helpful_warnings = true;
    bool show_user_unknown_table_name = true;
    bool smtputf8_enable = false;
    bool swap_bangpath = true;
    bool allow_percent_hack = true;
    TransportSettings regular;
    TransportSettings verify;

    static Result<ResolverSettings> from_config(const Config& config);
};

struct ResolverOptions {
    MapListOptions tables;  // daemons: surrogate_on_open_error = true
    size_t cache_size = 1000;
};

class AddressResolver {
  public:
    // Reads the parameters and opens every table the resolver uses (virtual_alias_domains,
    // virtual_mailbox_domains, relay_domains, mydestination, transport_maps,
    // sender_dependent_*_maps, relocated_maps, and their address_verify_* variants).
    static Result<std::unique_ptr<AddressResolver>> open(const Config& config,
                                                         const ResolverOptions& options = {});
    ~AddressResolver();
    AddressResolver(const AddressResolver&) = delete;
    AddressResolver& operator=(const AddressResolver&) = delete;

    // Resolves an internal-form recipient (never fails: see the flags).
    ResolveReply resolve(std::string_view sender, std::string_view recipient,
                         ResolveRequest request = ResolveRequest::regular);

    // The class a domain belongs to, in the resolver's order (Postfix's resolve_class):
    // for smtpd's reject_unauth_destination and permit_mx_backup. A lookup failure is an
    // Error (temporary).
    Result<AddressClass> classify_domain(std::string_view domain);
    // Postfix's resolve_local(): mydestination, inet_interfaces, proxy_interfaces.
    Result<bool> is_local_domain(std::string_view domain);

    // The rewrite rules with this configuration (cleanup may share one resolver's).
    const AddressRewriter& rewriter() const;
    const ResolverSettings& settings() const;

    // The first table whose file changed since it was opened.
    std::optional<std::string> changed_table() const;

    struct CacheStats {
        uint64_t hits = 0;
        uint64_t misses = 0;
        size_t entries = 0;
    };
    CacheStats cache_stats() const;
    void clear_cache();

    struct Impl;  // opaque: the tables, the settings and the cache (resolve.cpp)

  private:
    explicit AddressResolver(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace postern
