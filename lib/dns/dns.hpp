// DNS lookups for every Postern program: MX, A/AAAA, PTR and TXT through c-ares, with the
// answers and the failure classes Postfix's dns library gives its callers.
//
// Where it sits: lib/dns, below smtp (MX and address lookups, nexthop.hpp), smtpd (client
// name, client_name.hpp; reject_rbl_client, dnsbl.hpp), postscreen and qmgr. All DNS
// traffic of Postern goes through a DnsResolver (DESIGN.md); the system resolver is used
// only where the administrator asks for it (smtp_host_lookup = native, nexthop.hpp).
//
// Servers: postern_dns_servers (a list of "address", "address:port" or "[v6]:port"), or,
// when it is empty, the system's resolver configuration (/etc/resolv.conf, read by
// c-ares, when the resolver is created: a daemon that chroots creates it before).
// postern_dns_timeout and postern_dns_attempts bound each query. Queries never append
// search domains: the name asked is the name looked up.
//
// Two ways to wait:
//  - synchronously (smtp, smtpd: one client at a time): lookup_*() send the query and
//    wait on the resolver's own sockets until the answer, the query's own timeouts or an
//    optional deadline;
//  - asynchronously (postscreen, qmgr): a resolver made with an EventLoop registers its
//    sockets and a timer on the loop; query() returns at once and calls back from the
//    loop. Never call the synchronous functions on such a resolver.
//
// Trust: replies come from the network. c-ares parses them; names in answers are checked
// with valid_hostname() as Postfix does (a malformed name is dropped, and "invalid" when
// nothing else is left). Nothing a server sends reaches an assert.
//
// Failure classes (DnsStatus), as Postfix's DNS_* results, and what the SMTP client makes
// of them (nexthop.hpp):
//   not_found  NXDOMAIN ("Host not found") or no record of the type ("Host found but no
//              data record of requested type"): permanent; an MX not_found falls back to
//              A/AAAA.
//   null_mx    RFC 7505 "MX 0 .": permanent, "Domain X does not accept mail (nullMX)".
//   invalid    every answer failed the host name check: permanent.
//   failed     FORMERR ("Non-recoverable error"): permanent.
//   retry      SERVFAIL, REFUSED, NOTIMP, timeout, no server reachable, malformed reply:
//              temporary (glibc's resolver, under Postfix, turns REFUSED into TRY_AGAIN).
// The reason text has Postfix's shape: "Host or domain name not found. Name service error
// for name=example.test type=MX: Host not found".
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config/config.hpp"
#include "config/inet_protocols.hpp"  // AddressFamilies: which of A/AAAA to look up
#include "mail/local_domains.hpp"     // HostAddress
#include "util/result.hpp"

namespace postern {

class EventLoop;

enum class DnsType : uint16_t { a = 1, ptr = 12, mx = 15, txt = 16, aaaa = 28 };

// "A", "AAAA", "MX", "PTR", "TXT": the names Postfix puts in its reasons.
const char* dns_type_name(DnsType type);

enum class DnsStatus { ok, not_found, null_mx, invalid, failed, retry };

// "not_found", "null_mx"...: for logs and the dns-lookup test program.
const char* dns_status_name(DnsStatus status);

struct DnsFailure {
    DnsStatus status = DnsStatus::retry;
    // For not_found: the name does not exist at all (NXDOMAIN), not just the record type.
    bool nxdomain = false;
    std::string reason;

    bool temporary() const { return status == DnsStatus::retry; }
};

// A value or a DnsFailure. Reading the wrong side is a broken invariant (abort).
template <typename T>
class [[nodiscard]] DnsResult {
  public:
    DnsResult(T value) : state_(std::move(value)) {}
    DnsResult(DnsFailure failure) : state_(std::move(failure)) {}

    bool ok() const { return state_.index() == 0; }
    explicit operator bool() const { return ok(); }
    DnsStatus status() const { return ok() ? DnsStatus::ok : failure().status; }

    T& value() & { return std::get<0>(check(true)); }
    const T& value() const& { return std::get<0>(check(true)); }
    T&& value() && { return std::get<0>(std::move(check(true))); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    const DnsFailure& failure() const { return std::get<1>(check(false)); }

  private:
    std::variant<T, DnsFailure>& check(bool want_value) {
        if (ok() != want_value)
            std::abort();
        return state_;
    }
    const std::variant<T, DnsFailure>& check(bool want_value) const {
        if (ok() != want_value)
            std::abort();
        return state_;
    }
    std::variant<T, DnsFailure> state_;
};

struct MxRecord {
    unsigned preference = 0;
    std::string host;  // without the trailing dot
    bool operator==(const MxRecord&) const = default;
};

struct TxtRecord {
    // The record's character-strings, in order. Postfix uses only the first.
    std::vector<std::string> strings;
    std::string joined() const;
};

// One answer. Only the member of the asked type is filled. MX records are sorted by
// preference and shuffled within equal preference; addresses keep the server's order.
struct DnsAnswer {
    DnsType type = DnsType::a;
    std::string name;                    // the name asked
    std::vector<MxRecord> mx;            // MX
    std::vector<HostAddress> addresses;  // A, AAAA
    std::vector<std::string> names;      // PTR
    std::vector<TxtRecord> texts;        // TXT
};

// "192.0.2.1", "2001:db8::1".
std::string format_host_address(const HostAddress& address);

struct DnsResolverSettings {
    // "127.0.0.1", "127.0.0.1:5353", "[::1]:5353"; empty: /etc/resolv.conf.
    std::vector<std::string> servers;
    std::chrono::milliseconds timeout{5000};  // per attempt, per server
    int attempts = 2;
};
// Reads postern_dns_servers, postern_dns_timeout, postern_dns_attempts. A malformed
// server is a config error naming it.
Result<DnsResolverSettings> read_dns_resolver_settings(const Config& config);

class DnsResolver {
  public:
    using Callback = std::function<void(DnsResult<DnsAnswer>)>;
    using Clock = std::chrono::steady_clock;

    // A resolver for synchronous lookups.
    static Result<std::unique_ptr<DnsResolver>> create(const DnsResolverSettings& settings);
    // A resolver whose queries run on `loop`. The loop must outlive it.
    static Result<std::unique_ptr<DnsResolver>> create(const DnsResolverSettings& settings,
                                                       EventLoop& loop);
    ~DnsResolver();
    DnsResolver(const DnsResolver&) = delete;
    DnsResolver& operator=(const DnsResolver&) = delete;

    // Asynchronous: `done` runs later, from the loop (or from the synchronous wait), never
    // from inside query(). Destroying the resolver calls every pending `done` with retry.
    void query(std::string name, DnsType type, Callback done);
    // Queries still waiting for an answer.
    size_t pending() const;

    // Synchronous: sends the query and waits. Past `deadline`, the query is given up as
    // retry ("Host not found, try again").
    DnsResult<DnsAnswer> lookup(std::string_view name, DnsType type,
                                std::optional<Clock::time_point> deadline = std::nullopt);
    DnsResult<std::vector<MxRecord>> lookup_mx(
        std::string_view domain, std::optional<Clock::time_point> deadline = std::nullopt);
    // A and/or AAAA as `families` allow, IPv4 first; one family found is success. When
    // both fail, the reason is the more telling one (retry over not_found), as Postfix.
    DnsResult<std::vector<HostAddress>> lookup_addresses(
        std::string_view host, AddressFamilies families,
        std::optional<Clock::time_point> deadline = std::nullopt);
    // The PTR names of an address (in-addr.arpa / ip6.arpa).
    DnsResult<std::vector<std::string>> lookup_ptr(
        const HostAddress& address, std::optional<Clock::time_point> deadline = std::nullopt);
    DnsResult<std::vector<TxtRecord>> lookup_txt(
        std::string_view name, std::optional<Clock::time_point> deadline = std::nullopt);

    // The randomness that shuffles equal-preference MX hosts (tests fix the seed).
    std::mt19937& random() { return random_; }

    // The c-ares channel and its sockets (resolver.cpp only).
    struct Impl;

  private:
    explicit DnsResolver(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
    std::mt19937 random_;
};

// ---- Pure parts, public for the unit tests (dns_reply.cpp). ----

// Sorts by preference and shuffles hosts of equal preference with `random`.
void sort_mx_records(std::vector<MxRecord>& records, std::mt19937& random);

// The name PTR and DNSBL queries use: "4.3.2.1.in-addr.arpa" for 1.2.3.4 (`zone` replaces
// "in-addr.arpa"/"ip6.arpa" when given: "4.3.2.1.zen.example").
std::string reverse_query_name(const HostAddress& address, std::string_view zone = {});

// The failure for a c-ares status (ARES_ENOTFOUND...) of a query for `name`/`type`.
DnsFailure classify_ares_status(int ares_status, std::string_view name, DnsType type);

// Parses a reply c-ares accepted (ARES_SUCCESS) for a query of `type`. `queried` is the
// address of a PTR query (ignored otherwise).
DnsResult<DnsAnswer> parse_dns_reply(DnsType type, std::string_view name,
                                     const unsigned char* reply, int length, std::mt19937& random,
                                     const HostAddress* queried = nullptr);

// Checked before any query: an address or a malformed name is never sent
// ("Name service error for X: invalid host or domain name", not_found).
std::optional<DnsFailure> check_query_name(std::string_view name, DnsType type);

}  // namespace postern
