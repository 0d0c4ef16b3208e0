// Parameter usage: see parameter_usage.hpp for the rules. Moved here from postconf so that
// `postfix check` reports exactly what postconf reports.
#include "config/parameter_usage.hpp"

#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "util/strings.hpp"

namespace postern {
namespace {

bool is_name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// Finds the `$...` references in a value without expanding anything: both branches of a
// conditional and both sides of a relational expression are visited. Stops at the first
// syntax error and reports it the way Postfix does.
class ReferenceScanner {
  public:
    using Callback = std::function<void(std::string_view name)>;
    explicit ReferenceScanner(Callback callback) : callback_(std::move(callback)) {}

    // Calls back for each reference; returns the syntax error that stopped the scan, if any.
    std::optional<std::string> scan(std::string_view value) {
        error_.clear();
        scan_text(value);
        if (error_.empty())
            return std::nullopt;
        // A name syntax error already shows where it is; the others quote the value.
        if (error_.find(">>>") == std::string::npos)
            error_ += ": \"" + std::string(value) + "\"";
        return error_;
    }

  private:
    void scan_text(std::string_view text) {
        size_t pos = 0;
        while (error_.empty() && (pos = text.find('$', pos)) != std::string_view::npos) {
            ++pos;
            if (pos < text.size() && text[pos] == '$') {
                ++pos;
            } else if (pos < text.size() && (text[pos] == '{' || text[pos] == '(')) {
                pos = scan_braced(text, pos);
            } else {
                size_t end = pos;
                while (end < text.size() && is_name_char(text[end]))
                    ++end;
                if (end == pos)
                    error_ = "empty macro name";
                else
                    callback_(text.substr(pos, end - pos));
                pos = end;
            }
        }
    }

    // `text[open]` is `{` or `(`; returns the position after the matching close.
    size_t scan_braced(std::string_view text, size_t open) {
        char open_char = text[open];
        char close_char = open_char == '{' ? '}' : ')';
        int depth = 0;
        size_t pos = open;
        for (; pos < text.size(); ++pos) {
            if (text[pos] == open_char)
                ++depth;
            else if (text[pos] == close_char && --depth == 0)
                break;
        }
        if (pos >= text.size()) {
            error_ = "truncated macro reference";
            return text.size();
        }
        scan_inside(text.substr(open + 1, pos - open - 1));
        return pos + 1;
    }

    void scan_inside(std::string_view inside) {
        std::string_view body = trim(inside);
        if (!body.empty() && body.front() == '{') {  // relational: ${{a} == {b}?...}
            scan_text(body);
            return;
        }
        size_t end = 0;
        while (end < body.size() && is_name_char(body[end]))
            ++end;
        std::string_view name = body.substr(0, end);
        std::string_view after_name = body.substr(end);
        std::string_view rest = trim_left(after_name);
        if (rest.empty()) {
            if (name.empty())
                error_ = "empty macro name";
            else
                callback_(name);
            return;
        }
        if (rest.front() != '?' && rest.front() != ':') {
            size_t leading = inside.size() - trim_left(inside).size();
            error_ = "attribute name syntax error at: \"..." +
                     std::string(inside.substr(0, leading + end)) + ">>>" +
                     std::string(after_name.substr(0, 20)) + "\"";
            return;
        }
        callback_(name);
        scan_text(rest.substr(1));
    }

    Callback callback_;
    std::string error_;
};

// The settings each database client table type reads from `name_setting` parameters.
struct DatabaseSettings {
    std::string_view type;
    std::vector<std::string_view> settings;
};

const std::vector<DatabaseSettings>& database_settings() {
    static const std::vector<DatabaseSettings> table = {
        {"ldap",
         {"bind",
          "bind_dn",
          "bind_pw",
          "cache",
          "cache_expiry",
          "cache_size",
          "chase_referrals",
          "debuglevel",
          "dereference",
          "domain",
          "expansion_limit",
          "leaf_result_attribute",
          "query_filter",
          "recursion_limit",
          "result_attribute",
          "result_filter",
          "result_format",
          "sasl_authz_id",
          "sasl_mechs",
          "sasl_minssf",
          "sasl_realm",
          "scope",
          "search_base",
          "server_host",
          "server_port",
          "size_limit",
          "special_result_attribute",
          "start_tls",
          "terminal_result_attribute",
          "timeout",
          "tls_ca_cert_dir",
          "tls_ca_cert_file",
          "tls_cert",
          "tls_cipher_suite",
          "tls_key",
          "tls_random_file",
          "tls_require_cert",
          "version"}},
        {"memcache",
         {"backup", "data_size_limit", "domain", "flags", "key_format", "line_size_limit",
          "max_try", "memcache", "retry_pause", "timeout", "ttl"}},
        {"mysql",
         {"additional_conditions",
          "dbname",
          "domain",
          "expansion_limit",
          "hosts",
          "option_file",
          "option_group",
          "password",
          "query",
          "require_result_set",
          "result_format",
          "select_field",
          "table",
          "tls_CAfile",
          "tls_CApath",
          "tls_cert_file",
          "tls_ciphers",
          "tls_key_file",
          "tls_verify_cert",
          "user",
          "where_field"}},
        {"pgsql",
         {"additional_conditions", "dbname", "domain", "expansion_limit", "hosts", "password",
          "query", "result_format", "select_field", "select_function", "table", "user",
          "where_field"}},
        {"sqlite",
         {"additional_conditions", "dbpath", "domain", "expansion_limit", "query", "result_format",
          "select_field", "table", "where_field"}},
    };
    return table;
}

// Adds name_setting for each `type:name` database table that `value` names.
void register_database_settings(std::string_view value, std::set<std::string, std::less<>>& out) {
    for (std::string_view token : split_list(value, ", \t\r\n{}()")) {
        for (const DatabaseSettings& database : database_settings()) {
            std::string prefix = std::string(database.type) + ":";
            size_t at = token.find(prefix);
            if (at == std::string_view::npos || (at > 0 && token[at - 1] != ':'))
                continue;
            std::string_view name = token.substr(at + prefix.size());
            if (name.empty() || name.front() == '/')
                continue;
            for (std::string_view setting : database.settings)
                out.insert(std::string(name) + "_" + std::string(setting));
        }
    }
}

// One item per name, the one in force (the last), in file order: what Postfix's
// dictionaries keep of main.cf and of a service's `-o` options.
template <typename Item>
std::vector<Item> last_of_each_name(const std::vector<Item>& all) {
    std::vector<Item> kept;
    std::set<std::string_view> later;
    for (auto it = all.rbegin(); it != all.rend(); ++it)
        if (later.insert(it->name).second)
            kept.push_back(*it);
    return {kept.rbegin(), kept.rend()};
}

bool defines(const MasterCfEntry& entry, std::string_view name) {
    for (const MasterCfParameter& parameter : entry.parameters)
        if (parameter.name == name)
            return true;
    return false;
}

// Where a reference or a setting was found, for the warning about it.
struct Place {
    const std::string* path;
    bool in_master_cf;
    int line;
};

class UsageCheck {
  public:
    UsageCheck(const Config& config, const MasterCf& master_cf)
        : config_(config),
          master_cf_(master_cf),
          main_cf_path_(config.main_cf_path()),
          local_used_(master_cf.entries.size()) {
        for (const MainCfEntry& entry : effective_main_cf_entries())
            main_cf_names_.insert(entry.name);
        for (const MasterCfEntry& entry : master_cf.entries) {
            for (const ServiceParameter& parameter :
                 service_parameters(entry.service, entry.program()))
                service_names_.insert(parameter.name);
            for (const MasterCfParameter& parameter : entry.parameters)
                master_cf_names_.insert(parameter.name);
        }
    }

    void scan_master_cf() {
        for (size_t i = 0; i < master_cf_.entries.size(); ++i) {
            const MasterCfEntry& entry = master_cf_.entries[i];
            Place place{&master_cf_.path, true, entry.first_line};
            auto resolve = [&](std::string_view name) { resolve_from_service(i, name, place); };
            for (const MasterCfParameter& parameter : last_of_each_name(entry.parameters)) {
                if (parameter.name == "smtpd_restriction_classes")
                    for_each_class(parameter.value, ServiceScope(entry, config_), resolve);
                scan_value(parameter.value, place, resolve);
            }
        }
    }

    void scan_main_cf() {
        std::vector<MainCfEntry> entries = effective_main_cf_entries();
        for (const MainCfEntry& entry : entries) {
            Place place{&main_cf_path_, false, entry.line};
            auto resolve = [&](std::string_view name) { resolve_from_main_cf(name, place); };
            if (entry.name == "smtpd_restriction_classes")
                for_each_class(entry.value, config_, resolve);
        }
        for (const MainCfEntry& entry : entries) {
            Place place{&main_cf_path_, false, entry.line};
            scan_value(entry.value, place,
                       [&](std::string_view name) { resolve_from_main_cf(name, place); });
        }
    }

    void report_unused_main_cf() {
        for (const MainCfEntry& entry : effective_main_cf_entries())
            if (!is_known(entry.name))
                add(ParameterUsageWarning::Kind::unused, {&main_cf_path_, false, entry.line},
                    "unused parameter: " + entry.name + "=" + entry.value);
    }

    void report_unused_master_cf() {
        for (size_t i = 0; i < master_cf_.entries.size(); ++i) {
            const MasterCfEntry& entry = master_cf_.entries[i];
            for (const MasterCfParameter& parameter : last_of_each_name(entry.parameters))
                if (!is_known(parameter.name) && local_used_[i].count(parameter.name) == 0)
                    add(ParameterUsageWarning::Kind::unused,
                        {&master_cf_.path, true, entry.first_line},
                        "unused parameter: " + parameter.name + "=" + parameter.value);
        }
    }

    std::vector<ParameterUsageWarning> take_warnings() { return std::move(warnings_); }

  private:
    std::vector<MainCfEntry> effective_main_cf_entries() const {
        return last_of_each_name(config_.main_cf().entries);
    }

    bool is_known(std::string_view name) const {
        return config_.is_known(name) || service_names_.count(name) != 0 ||
               registered_.count(name) != 0;
    }

    void add(ParameterUsageWarning::Kind kind, const Place& place, std::string detail) {
        warnings_.push_back({kind, *place.path, place.in_master_cf, place.line, std::move(detail)});
    }

    template <typename Resolve>
    void scan_value(std::string_view value, const Place& place, Resolve resolve) {
        register_database_settings(value, registered_);
        if (auto error = ReferenceScanner(resolve).scan(value))
            add(ParameterUsageWarning::Kind::syntax, place, std::move(*error));
    }

    void resolve_from_service(size_t index, std::string_view name, const Place& place) {
        if (defines(master_cf_.entries[index], name))
            local_used_[index].insert(std::string(name));
        else if (main_cf_names_.count(name) != 0)
            registered_.insert(std::string(name));
        else if (!is_known(name))
            add(ParameterUsageWarning::Kind::undefined, place,
                "undefined parameter: " + std::string(name));
    }

    void resolve_from_main_cf(std::string_view name, const Place& place) {
        if (main_cf_names_.count(name) != 0 || master_cf_names_.count(name) != 0)
            registered_.insert(std::string(name));
        else if (!is_known(name))
            add(ParameterUsageWarning::Kind::undefined, place,
                "undefined parameter: " + std::string(name));
    }

    template <typename Resolve>
    void for_each_class(std::string_view value, const ParameterSource& scope, Resolve resolve) {
        auto expanded = expand_value(value, scope);
        if (!expanded)
            return;
        for (std::string_view name : split_list(*expanded))
            resolve(name);
    }

    const Config& config_;
    const MasterCf& master_cf_;
    std::string main_cf_path_;
    std::set<std::string, std::less<>> main_cf_names_;
    std::set<std::string, std::less<>> master_cf_names_;
    std::set<std::string, std::less<>> service_names_;
    std::set<std::string, std::less<>> registered_;               // user-defined names found in use
    std::vector<std::set<std::string, std::less<>>> local_used_;  // per master.cf entry
    std::vector<ParameterUsageWarning> warnings_;
};

}  // namespace

std::string ParameterUsageWarning::text() const {
    if (kind == Kind::syntax)
        return detail;
    return path + ": " + detail;
}

std::string ParameterUsageWarning::located_text() const {
    std::string line_text = std::to_string(line);
    if (in_master_cf)
        return "file " + path + ": line " + line_text + ": " + detail;
    return path + ", line " + line_text + ": " + detail;
}

std::optional<std::string_view> ServiceScope::raw_value(std::string_view name) const {
    for (auto it = entry_.parameters.rbegin(); it != entry_.parameters.rend(); ++it)
        if (it->name == name)
            return it->value;
    return outer_.raw_value(name);
}

std::vector<ParameterUsageWarning> check_parameter_usage(const Config& config,
                                                         const MasterCf& master_cf,
                                                         const ParameterUsageOptions& options) {
    UsageCheck check(config, master_cf);
    check.scan_master_cf();
    check.scan_main_cf();
    if (options.report_main_cf_unused)
        check.report_unused_main_cf();
    if (options.report_master_cf_unused)
        check.report_unused_master_cf();
    return check.take_warnings();
}

}  // namespace postern
