// The fast-flush client and the fast_flush_domains list.
#include "queue/flush_client.hpp"

#include "ipc/attr_channel.hpp"
#include "maps/map_list.hpp"
#include "maps/search.hpp"
#include "util/file.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace postern {
namespace {

constexpr int kMaxListFileDepth = 8;

Result<int64_t> flush_request_status(const FlushClientSettings& settings, const AttrList& request) {
    Result<AttrList> reply =
        attr_request(settings.queue_directory + "/public/flush", request, settings.timeout);
    if (!reply)
        return reply.error();
    AttrReader reader(std::move(*reply), "flush reply");
    Result<int64_t> status = reader.integer(flush_attr::status);
    if (!status)
        return status.error();
    if (Status done = reader.finish(); !done)
        return done.error();
    return *status;
}

// Eligibility first, as Postfix's client checks it: an ineligible site is deny, no request.
Result<std::optional<int64_t>> check_site(const FlushClientSettings& settings,
                                          std::string_view site) {
    if (!flush_site_ok(site))
        return std::optional<int64_t>(flush_status::bad);
    if (settings.domains == nullptr)
        return std::optional<int64_t>();
    Result<bool> eligible = settings.domains->eligible(site);
    if (!eligible)
        return eligible.error();
    return *eligible ? std::optional<int64_t>() : std::optional<int64_t>(flush_status::deny);
}

// "a.b.example" -> "b.example" -> "example"; empty after the last label.
std::string_view parent_domain(std::string_view domain) {
    size_t dot = domain.find('.');
    return dot == std::string_view::npos ? std::string_view() : domain.substr(dot + 1);
}

}  // namespace

std::string_view flush_status_text(int64_t status) {
    switch (status) {
        case flush_status::ok:
            return "success";
        case flush_status::fail:
            return "fast flush service unavailable";
        case flush_status::unknown:
            return "unknown request";
        case flush_status::bad:
            return "invalid request parameter";
        case flush_status::deny:
            return "fast flush service is not configured for this destination";
        default:
            return "unknown flush service status";
    }
}

bool flush_site_ok(std::string_view site) {
    if (site.empty() || site.size() > 255)
        return false;
    for (char c : site) {
        auto byte = static_cast<unsigned char>(c);
        if (byte <= 0x20 || byte == 0x7f || c == '/')
            return false;
    }
    return true;
}

std::string flush_log_name(std::string_view site) {
    std::string name;
    name.reserve(site.size());
    for (char c : site) {
        auto byte = static_cast<unsigned char>(c);
        bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        name.push_back(
            alnum && byte < 0x80 ? static_cast<char>(c | (c >= 'A' && c <= 'Z' ? 0x20 : 0)) : '_');
    }
    return name;
}

Result<FastFlushDomains> FastFlushDomains::from_config(const Config& config) {
    Result<std::string> list = config.get("fast_flush_domains");
    if (!list)
        return list.error();
    Result<std::string> parents = config.get("parent_domain_matches_subdomains");
    if (!parents)
        return parents.error();
    return from_list(*list, parent_style_for("fast_flush_domains", *parents) == ParentStyle::bare);
}

Result<FastFlushDomains> FastFlushDomains::from_list(std::string_view list, bool parent_matches) {
    FastFlushDomains domains;
    domains.parent_matches_ = parent_matches;
    if (Status added = add_patterns(domains.patterns_, list, 0); !added)
        return added.error();
    return domains;
}

Status FastFlushDomains::add_patterns(std::vector<Pattern>& patterns, std::string_view list,
                                      int depth) {
    for (const std::string& word : split_map_specs(list)) {
        Pattern pattern;
        std::string_view text = word;
        while (!text.empty() && text.front() == '!') {
            pattern.negated = !pattern.negated;
            text.remove_prefix(1);
        }
        if (text.empty())
            continue;
        if (text.front() == '/') {
            if (depth >= kMaxListFileDepth)
                return Error(ErrorKind::config, "fast_flush_domains: too many nested files");
            Result<std::string> content = read_file(std::string(text));
            if (!content)
                return content.error();
            if (Status added = add_patterns(patterns, *content, depth + 1); !added)
                return added;
            continue;
        }
        if (text.find(':') != std::string_view::npos && text.front() != '[') {
            Result<std::unique_ptr<Map>> table = open_map(text);
            if (!table)
                return table.error();
            pattern.text = std::string(text);
            pattern.table = std::shared_ptr<Map>(std::move(*table));
        } else {
            pattern.text = lowercase(text);
        }
        patterns.push_back(std::move(pattern));
    }
    return {};
}

// nullopt: this pattern does not decide; else whether the site is eligible.
Result<std::optional<bool>> FastFlushDomains::match_pattern(const Pattern& pattern,
                                                            const std::string& site) const {
    bool matched = false;
    if (pattern.table) {
        for (std::string_view key = site; !key.empty() && !matched;
             key = parent_matches_ ? parent_domain(key) : std::string_view()) {
            auto found = pattern.table->lookup(key);
            if (!found)
                return Error(ErrorKind::temporary,
                             pattern.text + " lookup error for \"" + site + "\"");
            matched = found->has_value();
        }
    } else if (pattern.text.front() == '.') {
        matched = site.size() > pattern.text.size() && site.ends_with(pattern.text);
    } else {
        matched = site == pattern.text || (parent_matches_ && site.size() > pattern.text.size() &&
                                           site.ends_with(pattern.text) &&
                                           site[site.size() - pattern.text.size() - 1] == '.');
    }
    if (!matched)
        return std::optional<bool>();
    return std::optional<bool>(!pattern.negated);
}

Result<bool> FastFlushDomains::eligible(std::string_view site) const {
    std::string folded = lowercase(site);
    for (const Pattern& pattern : patterns_) {
        auto decided = match_pattern(pattern, folded);
        if (!decided)
            return decided.error();
        if (decided->has_value())
            return **decided;
    }
    return false;
}

Result<int64_t> flush_add(const FlushClientSettings& settings, std::string_view site,
                          std::string_view queue_id) {
    auto checked = check_site(settings, site);
    if (!checked)
        return checked.error();
    if (checked->has_value())
        return **checked;
    AttrList request;
    request.add_string(std::string(flush_attr::request), std::string(flush_request::add))
        .add_string(std::string(flush_attr::site), std::string(site))
        .add_string(std::string(flush_attr::queue_id), std::string(queue_id));
    return flush_request_status(settings, request);
}

Result<int64_t> flush_send_site(const FlushClientSettings& settings, std::string_view site) {
    auto checked = check_site(settings, site);
    if (!checked)
        return checked.error();
    if (checked->has_value())
        return **checked;
    AttrList request;
    request.add_string(std::string(flush_attr::request), std::string(flush_request::send_site))
        .add_string(std::string(flush_attr::site), std::string(site));
    return flush_request_status(settings, request);
}

Result<int64_t> flush_send_file(const FlushClientSettings& settings, std::string_view queue_id) {
    AttrList request;
    request.add_string(std::string(flush_attr::request), std::string(flush_request::send_file))
        .add_string(std::string(flush_attr::queue_id), std::string(queue_id));
    return flush_request_status(settings, request);
}

Result<int64_t> flush_refresh(const FlushClientSettings& settings) {
    AttrList request;
    request.add_string(std::string(flush_attr::request), std::string(flush_request::refresh));
    return flush_request_status(settings, request);
}

void flush_add_deferred_recipient(const Config& config, const std::string& queue_directory,
                                  std::string_view recipient, std::string_view queue_id) {
    size_t at = recipient.rfind('@');
    if (at == std::string_view::npos || at + 1 == recipient.size())
        return;
    // Opened on first use: the list's tables stay open for the process's life.
    static std::optional<Result<FastFlushDomains>> domains;
    if (!domains) {
        domains = FastFlushDomains::from_config(config);
        if (!*domains)
            log_warning("fast_flush_domains: %s", (*domains).error().message().c_str());
    }
    if (!*domains)
        return;
    FlushClientSettings settings;
    settings.queue_directory = queue_directory;
    if (Result<int64_t> timeout = config.get_time_seconds("ipc_timeout"); timeout)
        settings.timeout = std::chrono::seconds(*timeout);
    settings.domains = &**domains;
    Result<int64_t> status = flush_add(settings, recipient.substr(at + 1), queue_id);
    if (!status || (*status != flush_status::ok && *status != flush_status::deny &&
                    *status != flush_status::bad))
        log_warning("unable to talk to fast flush service");
}

Result<int64_t> flush_purge(const FlushClientSettings& settings) {
    AttrList request;
    request.add_string(std::string(flush_attr::request), std::string(flush_request::purge));
    return flush_request_status(settings, request);
}

}  // namespace postern
