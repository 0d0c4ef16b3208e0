// postconf's master.cf modes: -M shows entries, -F their fields, -P their `-o` parameters;
// all entries, or those that service[/type[/name]] patterns select (`*` matches anything;
// an empty part counts as `*`). -f folds, -h and -H (with -F and -P) drop names or
// values, -x expands `-o` values with the service's own parameters, $service_name and
// $process_name in front of main.cf.
#include <algorithm>
#include <array>
#include <iostream>
#include <map>

#include "config/expand.hpp"
#include "tools/postconf/output.hpp"
#include "tools/postconf/postconf.hpp"
#include "util/strings.hpp"

namespace postern::postconf {
namespace {

// Where postconf -M puts the start of each field; at least one space always separates
// fields, so a long service name pushes the rest along.
constexpr size_t kColumns[] = {0, 11, 17, 25, 33, 41, 49, 57};

constexpr std::string_view kFieldNames[] = {"service", "type",   "private",       "unprivileged",
                                            "chroot",  "wakeup", "process_limit", "command"};
constexpr size_t kCommandField = 7;

enum class Mode { entries, fields, parameters };

// One service[/type[/name]] request from the command line.
struct Request {
    std::string text;
    std::string service;
    std::string type;
    std::string name;  // a field (-F) or parameter (-P) name; "*" for all
    bool matched = false;
};

bool is_wildcard(std::string_view part) {
    return part == "*";
}

bool part_matches(std::string_view pattern, std::string_view value) {
    return is_wildcard(pattern) || pattern == value;
}

// Splits "service/type/name" the way Postfix does: empty parts are dropped, missing
// trailing parts are `*`, and `*` is only allowed as a whole part.
std::optional<Request> parse_request(const std::string& text, size_t max_parts) {
    if (text.empty() || text.front() == '/')
        return std::nullopt;
    std::vector<std::string_view> parts = split_list(text, "/");
    if (parts.empty() || parts.size() > max_parts)
        return std::nullopt;
    for (std::string_view part : parts)
        if (!is_wildcard(part) && part.find('*') != std::string_view::npos)
            return std::nullopt;
    Request request;
    request.text = text;
    request.service = parts[0];
    request.type = parts.size() > 1 ? std::string(parts[1]) : "*";
    request.name = parts.size() > 2 ? std::string(parts[2]) : "*";
    return request;
}

std::vector<Request> parse_requests(const PostconfOptions& options, Mode mode) {
    std::vector<Request> requests;
    for (const std::string& argument : options.arguments) {
        if (argument.find('=') != std::string::npos)
            fatal("editing master.cf with -M, -F or -P is not supported yet: \"" + argument + "\"");
        std::optional<Request> request;
        switch (mode) {
            case Mode::entries:
                request = parse_request(argument, 2);
                if (!request)
                    fatal("-M option requires service_name[/type]");
                break;
            case Mode::fields:
                request = parse_request(argument, 3);
                if (!request)
                    fatal("-F option requires service_name[/type[/field]]");
                if (!is_wildcard(request->name) &&
                    std::find(std::begin(kFieldNames), std::end(kFieldNames), request->name) ==
                        std::end(kFieldNames))
                    fatal("invalid service attribute name: \"" + request->name + "\"");
                break;
            case Mode::parameters:
                request = parse_request(argument, 3);
                if (!request)
                    fatal("-P option requires service_name[/type[/parameter]]");
                break;
        }
        requests.push_back(std::move(*request));
    }
    return requests;
}

// The flags among `flags` that are set, as Postfix lists them: "-d -h".
std::string flag_list(const std::vector<std::pair<char, bool>>& flags) {
    std::string listed;
    for (const auto& [flag, set] : flags) {
        if (!set)
            continue;
        if (!listed.empty())
            listed += ' ';
        listed += '-';
        listed += flag;
    }
    return listed;
}

size_t count_set(const std::vector<std::pair<char, bool>>& flags) {
    size_t count = 0;
    for (const auto& flag : flags)
        count += flag.second ? 1 : 0;
    return count;
}

void check_option_conflicts(const PostconfOptions& options) {
    std::vector<std::pair<char, bool>> modes = {
        {'a', options.server_sasl_types}, {'A', options.client_sasl_types},
        {'F', options.master_fields},     {'m', options.map_types},
        {'M', options.master_entries},    {'P', options.master_parameters}};
    if (count_set(modes) > 1)
        fatal("specify one of " + flag_list(modes));
    if (options.hide_names && options.hide_values)
        fatal("specify one of -h -H");
    char mode = options.master_entries ? 'M' : options.master_fields ? 'F' : 'P';
    std::vector<std::pair<char, bool>> refused = {{'d', options.show_defaults},
                                                  {'n', options.show_non_default}};
    if (mode == 'M')
        refused = {{'d', options.show_defaults},
                   {'h', options.hide_names},
                   {'H', options.hide_values},
                   {'n', options.show_non_default}};
    if (count_set(refused) > 0)
        fatal(std::string("with option -") + mode + ", do not specify " + flag_list(refused));
}

// The seven fields before the command, as written, in master.cf's column order.
std::array<const std::string*, kCommandField> leading_fields(const MasterCfEntry& entry) {
    return {&entry.service,
            &entry.type_field,
            &entry.private_field,
            &entry.unprivileged_field,
            &entry.chroot_field,
            &entry.wakeup_field,
            &entry.process_limit_field};
}

// $name lookups for one service's -o values: its own -o parameters first, then
// $service_name and $process_name, then main.cf and the defaults.
using ParameterTable = std::map<std::string, std::string, std::less<>>;

class ServiceScope final : public ParameterSource {
  public:
    ServiceScope(const Config& config, const MasterCfEntry& entry, const ParameterTable* parameters)
        : config_(config),
          service_name_(entry.service),
          process_name_(entry.process_name()),
          parameters_(parameters) {}

    std::optional<std::string_view> raw_value(std::string_view name) const override {
        if (parameters_ != nullptr)
            if (auto it = parameters_->find(name); it != parameters_->end())
                return it->second;
        if (name == "service_name")
            return service_name_;
        if (name == "process_name")
            return process_name_;
        return config_.raw_value(name);
    }

  private:
    const Config& config_;
    std::string service_name_;
    std::string process_name_;
    const ParameterTable* parameters_;
};

// The -o parameters postconf shows for each entry. Entries with the same service/type
// share one table, where a later -o wins; an entry sees the table only if it has -o
// options itself or an earlier entry created the table. This is how Postfix's postconf
// behaves with duplicate entries, kept so -P shows the same.
class ParameterTables {
  public:
    explicit ParameterTables(const MasterCf& master_cf) {
        for (const MasterCfEntry& entry : master_cf.entries) {
            auto it = tables_.find(entry.key());
            std::vector<MasterCfParameter> parameters = entry.shown_parameters();
            if (!parameters.empty() && it == tables_.end())
                it = tables_.emplace(entry.key(), ParameterTable{}).first;
            if (it == tables_.end()) {
                by_entry_.push_back(nullptr);
                continue;
            }
            for (const MasterCfParameter& parameter : parameters)
                it->second[parameter.name] = parameter.value;
            by_entry_.push_back(&it->second);
        }
    }
    // nullptr when the entry has no table.
    const ParameterTable* of(size_t entry_index) const { return by_entry_.at(entry_index); }

  private:
    std::map<std::string, ParameterTable> tables_;  // node-based: pointers stay valid
    std::vector<const ParameterTable*> by_entry_;
};

class MasterPrinter {
  public:
    MasterPrinter(const PostconfOptions& options, const Config& config, const MasterCf& master_cf)
        : options_(options), config_(config), master_cf_(master_cf), tables_(master_cf) {}

    void show(Mode mode, std::vector<Request>& requests) {
        for (size_t index = 0; index < master_cf_.entries.size(); ++index) {
            const MasterCfEntry& entry = master_cf_.entries[index];
            parameters_ = tables_.of(index);
            if (requests.empty()) {
                Request all{"", "*", "*", "*", false};
                show_entry(mode, entry, all);
                continue;
            }
            for (Request& request : requests)
                if (part_matches(request.service, entry.service) &&
                    part_matches(request.type, entry.type_field))
                    show_entry(mode, entry, request);
        }
        for (const Request& request : requests)
            if (!request.matched)
                warn("unmatched request: \"" + request.text + "\"");
    }

  private:
    void show_entry(Mode mode, const MasterCfEntry& entry, Request& request) {
        switch (mode) {
            case Mode::entries:
                request.matched = true;
                show_master_entry(entry);
                break;
            case Mode::fields:
                request.matched = true;
                show_fields(entry, request.name);
                break;
            case Mode::parameters:
                show_parameters(entry, request);
                break;
        }
    }

    void show_master_entry(const MasterCfEntry& entry) {
        const auto fields = leading_fields(entry);
        std::string line;
        for (size_t field = 0; field <= kCommandField; ++field) {
            if (field > 0) {
                do
                    line += ' ';
                while (line.size() < kColumns[field]);
            }
            if (field < kCommandField)
                line += *fields[field];
        }
        append_master_command(line, line.size(), command_words(entry), options_.fold);
        std::cout << line << '\n';
    }

    void show_fields(const MasterCfEntry& entry, const std::string& wanted) {
        const auto values = leading_fields(entry);
        for (size_t field = 0; field <= kCommandField; ++field) {
            if (!part_matches(wanted, kFieldNames[field]))
                continue;
            std::string name = entry.key() + "/" + std::string(kFieldNames[field]);
            if (options_.hide_values) {
                std::cout << name << '\n';
                continue;
            }
            std::string line = options_.hide_names ? "" : name + " = ";
            std::vector<std::string> words = field == kCommandField
                                                 ? command_words(entry)
                                                 : std::vector<std::string>{*values[field]};
            append_master_command(line, line.size(), words, options_.fold, true);
            std::cout << line << '\n';
        }
    }

    void show_parameters(const MasterCfEntry& entry, Request& request) {
        if (parameters_ == nullptr)
            return;
        for (const auto& [name, raw] : *parameters_) {
            if (!part_matches(request.name, name))
                continue;
            request.matched = true;
            std::string full_name = entry.key() + "/" + name;
            if (options_.hide_values) {
                std::cout << full_name << '\n';
                continue;
            }
            std::string value = options_.expand ? expand(entry, raw) : raw;
            if (options_.hide_names)
                print_line(value, options_.fold);
            else
                print_line(full_name + " = " + value, options_.fold);
        }
    }

    // The command words to show, with `-o` values expanded under -x.
    std::vector<std::string> command_words(const MasterCfEntry& entry) {
        std::vector<std::string> words = entry.command;
        if (!options_.expand)
            return words;
        for (size_t i = 1; i < words.size(); ++i) {
            if (ends_daemon_options(words[i]))
                break;
            if (!option_takes_value(words[i]) || i + 1 >= words.size())
                continue;
            bool is_parameter = words[i] == "-o";
            std::string& value = words[++i];
            if (!is_parameter)
                continue;
            auto parameter = split_parameter(
                !value.empty() && value.front() == '{' ? strip_braces(value) : value);
            if (parameter)
                value =
                    format_option_value(parameter->name + "=" + expand(entry, parameter->value));
        }
        return words;
    }

    std::string expand(const MasterCfEntry& entry, const std::string& raw) {
        // Undefined names are not reported here: warn_about_parameter_usage() already did,
        // once for the whole of master.cf.
        ServiceScope scope(config_, entry, parameters_);
        auto expanded = expand_value(raw, scope);
        if (!expanded) {
            warn(master_cf_.path + ": service " + entry.key() + ": " + expanded.error().message());
            return raw;
        }
        return std::move(*expanded);
    }

    const PostconfOptions& options_;
    const Config& config_;
    const MasterCf& master_cf_;
    ParameterTables tables_;
    const ParameterTable* parameters_ = nullptr;  // the current entry's
};

}  // namespace

int run_master_mode(const PostconfOptions& options) {
    check_option_conflicts(options);
    Mode mode = options.master_entries  ? Mode::entries
                : options.master_fields ? Mode::fields
                                        : Mode::parameters;
    MasterCf master_cf;
    Config config = load_configuration(options, master_cf);
    std::vector<Request> requests = parse_requests(options, mode);
    MasterPrinter(options, config, master_cf).show(mode, requests);
    return 0;
}

}  // namespace postern::postconf
