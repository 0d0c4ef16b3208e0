// The fast-flush client: how qmgr, the delivery agents, smtpd (ETRN) and postqueue (-s, -i)
// talk to the flush service, Postfix's flush(8).
//
// Where it sits: lib/queue, between the flush daemon (flush/) and its clients. The flush
// service keeps one log per eligible destination (queue_directory/flush/SITE: the queue
// IDs of mail deferred for it) so that a request for one site (ETRN, "postqueue -s site",
// "sendmail -qRsite") delivers exactly that site's mail without a scan of the whole queue.
//
//   flush_add(site, id)     a message for `site` was deferred: remember it
//   flush_send_site(site)   deliver the mail listed for `site` now (ETRN, postqueue -s)
//   flush_send_file(id)     deliver this deferred message now (postqueue -i, sendmail -qI)
//   flush_refresh()         send old non-empty logs, remove old empty ones
//   flush_purge()           send every non-empty log, remove the empty ones
//
// Eligible sites are those fast_flush_domains matches (default $relay_domains; a
// Postfix domain list: names, ".sub.domains", !negation, /file and type:table entries;
// "example.com" also matches its subdomains while parent_domain_matches_subdomains lists
// fast_flush_domains). The client checks eligibility itself before it connects, as
// Postfix's does, so an ineligible site costs no request.
//
// The wire is the attribute protocol on queue_directory/public/flush (master.cf's
// `flush unix n - n 1000? 0 flush`):
//   {request="add", site, queue_id}  {request="send_site", site}  {request="send_file",
//   queue_id}  {request="refresh"}  {request="purge"}   each answered by {status=N}
// with Postfix's FLUSH_STAT_* values below. A site and a queue ID are untrusted text (the
// site of an ETRN comes from the network): the service checks both.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "maps/map.hpp"
#include "util/result.hpp"

namespace postern {

// The answers (Postfix's FLUSH_STAT_*, same values).
namespace flush_status {
inline constexpr int64_t ok = 0;       // done
inline constexpr int64_t fail = 1;     // the service could not do it (try again later)
inline constexpr int64_t unknown = 2;  // no such request, or nothing known about it
inline constexpr int64_t bad = 3;      // malformed request (a bad site name or queue ID)
inline constexpr int64_t deny = 4;     // the site is not eligible for fast flush
}  // namespace flush_status

// "success", "fast flush service is not configured for this destination"... (Postfix's
// flush_strerror).
std::string_view flush_status_text(int64_t status);

namespace flush_request {
inline constexpr std::string_view add = "add";
inline constexpr std::string_view send_site = "send_site";
inline constexpr std::string_view send_file = "send_file";
inline constexpr std::string_view refresh = "refresh";
inline constexpr std::string_view purge = "purge";
}  // namespace flush_request

namespace flush_attr {
inline constexpr std::string_view request = "request";
inline constexpr std::string_view site = "site";
inline constexpr std::string_view queue_id = "queue_id";
inline constexpr std::string_view status = "status";
}  // namespace flush_attr

// fast_flush_domains, opened once (tables included) and asked per site.
class FastFlushDomains {
  public:
    // Reads fast_flush_domains and parent_domain_matches_subdomains. A table that cannot
    // be opened, or a /file that cannot be read, is an error (the caller's fatal).
    static Result<FastFlushDomains> from_config(const Config& config);
    // From a list value directly (tests): `parent_matches` as if the parameter were
    // listed in parent_domain_matches_subdomains.
    static Result<FastFlushDomains> from_list(std::string_view list, bool parent_matches);

    // True when `site` (a domain or an [address literal], any case) is eligible. A table
    // lookup error is an ErrorKind::temporary error.
    Result<bool> eligible(std::string_view site) const;

  private:
    struct Pattern {
        std::string text;  // lower-cased name, or the table spec
        bool negated = false;
        std::shared_ptr<Map> table;  // type:table entries
    };
    Result<std::optional<bool>> match_pattern(const Pattern& pattern,
                                              const std::string& site) const;
    static Status add_patterns(std::vector<Pattern>& patterns, std::string_view list, int depth);

    std::vector<Pattern> patterns_;
    bool parent_matches_ = true;
};

// A site name the service accepts: a domain name or an address literal, 1..255 bytes, no
// white space, no control characters, no '/'.
bool flush_site_ok(std::string_view site);

// The log's file name for a site: lower case, every character other than a letter or a
// digit replaced with '_' ("example.com" -> "example_com"), as Postfix names it.
std::string flush_log_name(std::string_view site);

struct FlushClientSettings {
    std::string queue_directory;
    std::chrono::milliseconds timeout{std::chrono::seconds(3600)};  // ipc_timeout
    const FastFlushDomains* domains = nullptr;                      // null: every site is eligible
};

// Each returns the service's flush_status, or an Error when it cannot be reached (the
// caller decides: qmgr goes on, postqueue says "mail system is down").
Result<int64_t> flush_add(const FlushClientSettings& settings, std::string_view site,
                          std::string_view queue_id);
Result<int64_t> flush_send_site(const FlushClientSettings& settings, std::string_view site);
Result<int64_t> flush_send_file(const FlushClientSettings& settings, std::string_view queue_id);
Result<int64_t> flush_refresh(const FlushClientSettings& settings);

// The defer path's notice, as Postfix's defer_append() gives it: when the domain of
// `recipient` is eligible, flush_add(domain, queue_id) on the service under
// `queue_directory` ("." in a daemon). fast_flush_domains is read from `config` once per
// process; an unreachable service or an unreadable list is a warning, never an error of
// the delivery. Called by DeliverySession for every deferred recipient.
void flush_add_deferred_recipient(const Config& config, const std::string& queue_directory,
                                  std::string_view recipient, std::string_view queue_id);
Result<int64_t> flush_purge(const FlushClientSettings& settings);

}  // namespace postern
