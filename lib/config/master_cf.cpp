#include "config/master_cf.hpp"

#include <cstddef>
#include <map>

#include "config/main_cf.hpp"
#include "util/file.hpp"
#include "util/strings.hpp"

namespace postern {
namespace {

// What separates master.cf words. Not kWhiteSpace: a form feed is part of a word here.
constexpr std::string_view kBlanks = " \t\r\n";

// The fields every entry has: seven, then the command.
constexpr size_t kFieldCount = 8;
constexpr size_t kCommandField = 7;

bool is_blank(char c) {
    return kBlanks.find(c) != std::string_view::npos;
}

bool has_blank(std::string_view text) {
    return text.find_first_of(kBlanks) != std::string_view::npos;
}

bool all_digits(std::string_view text) {
    if (text.empty())
        return false;
    for (char c : text)
        if (c < '0' || c > '9')
            return false;
    return true;
}

// Control characters in quoted text would garble a terminal or a log line.
std::string printable(std::string_view text) {
    std::string out(text);
    for (char& c : out)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
            c = '?';
    return out;
}

bool valid_boolean_field(std::string_view text) {
    return text == "y" || text == "n" || text == "-";
}

// `-` or a number, either optionally followed by `?`; `?` alone counts as 0.
bool valid_wakeup_field(std::string_view text) {
    if (!text.empty() && text.back() == '?')
        text.remove_suffix(1);
    return text.empty() || text == "-" || all_digits(text);
}

bool valid_process_limit_field(std::string_view text) {
    return text == "-" || all_digits(text);
}

// A non-negative decimal that fits in an int.
std::optional<int> small_number(std::string_view text) {
    if (!all_digits(text))
        return std::nullopt;
    int64_t value = 0;
    for (char c : text) {
        value = value * 10 + (c - '0');
        if (value > INT32_MAX)
            return std::nullopt;
    }
    return static_cast<int>(value);
}

std::string line_prefix(const std::string& path, int line) {
    return "file " + path + ": line " + std::to_string(line) + ": ";
}

Error invalid_field(const std::string& path, const LogicalLine& line, std::string_view field,
                    std::string_view value) {
    return Error(ErrorKind::config, line_prefix(path, line.first_line) + "invalid " +
                                        std::string(field) + " field \"" + printable(value) +
                                        "\" in \"" + printable(line.text) + "\"");
}

// Postfix names the file this way in the warnings about braces and `-o` values.
constexpr std::string_view kBraceContext = "master.cf: ";

// Normalises one `-o` value: a braced value is checked and loses its braces.
std::string normalize_option_value(std::string_view value, std::vector<std::string>& warnings) {
    if (value.empty() || value.front() != '{')
        return format_option_value(value);
    std::string problem;
    std::string content = strip_braces(value, &problem);
    if (!problem.empty())
        warnings.push_back(std::string(kBraceContext) + problem);
    auto parameter = split_parameter(content);
    if (!parameter) {
        warnings.push_back(std::string(kBraceContext) + parameter.error().message() + ": \"" +
                           printable(content) + "\"");
        return format_option_value(content);
    }
    return format_option_value(parameter->name + "=" + parameter->value);
}

// Where postconf's normalisation stops treating words as daemon options. Unlike
// ends_daemon_options(), a lone `-` also ends them here.
bool ends_normalized_options(std::string_view word) {
    return ends_daemon_options(word) || word == "-";
}

// Fills entry.command: the command and its arguments as postconf shows them.
//
// Among the daemon options: a braced word loses its braces (and the options end when what
// is left is not an option); an option word with an `o` after its first letter is split
// there into the part before and a new word `-o...` that is normalised in turn ("-vo" ->
// "-v" "-o"; Postfix splits at any later `o` too, so "-oproxy=x" -> "-o pr" "-o xy=x",
// which is kept for byte-for-byte output); `-oname=value` becomes `-o` `name=value`; a
// `-o` value is normalised by normalize_option_value(). After the daemon options, a
// braced word is trimmed inside its braces and keeps them only when it holds white space.
void normalize_command(MasterCfEntry& entry, std::vector<std::string>& warnings) {
    auto stripped = [&](std::string_view word) {
        std::string problem;
        std::string content = strip_braces(word, &problem);
        if (!problem.empty())
            warnings.push_back(std::string(kBraceContext) + problem);
        return content;
    };
    std::vector<std::string> queue = entry.arguments;
    bool in_options = true;
    for (size_t i = 0; i < queue.size(); ++i) {
        std::string word = queue[i];
        bool braced = !word.empty() && word.front() == '{';
        if (in_options && braced) {
            entry.command.push_back(stripped(word));
            in_options = !ends_normalized_options(entry.command.back());
            continue;
        }
        if (in_options && ends_normalized_options(word))
            in_options = false;
        if (!in_options) {
            entry.command.push_back(braced ? format_option_value(stripped(word)) : word);
            continue;
        }
        if (size_t split = word.find('o', 2); split != std::string::npos) {
            queue.insert(queue.begin() + static_cast<std::ptrdiff_t>(i) + 1,
                         "-" + word.substr(split));
            word.resize(split);
        }
        if (word.size() > 2 && word[1] == 'o') {
            entry.command.push_back("-o");
            entry.command.push_back(
                normalize_option_value(std::string_view(word).substr(2), warnings));
        } else if (word == "-o" && i + 1 < queue.size()) {
            entry.command.push_back(word);
            entry.command.push_back(normalize_option_value(queue[++i], warnings));
        } else {
            entry.command.push_back(word);
        }
    }
}

// Fills entry.parameters with what the daemon will see: getopt's reading of the
// arguments master passes (braces removed), where only `o` takes a value.
void collect_parameters(MasterCfEntry& entry) {
    std::vector<std::string> arguments = entry.exec_arguments();
    for (size_t j = 1; j < arguments.size(); ++j) {
        const std::string& word = arguments[j];
        if (ends_normalized_options(word))
            break;
        size_t o = word.find('o', 1);
        if (o == std::string::npos)
            continue;
        std::string value;
        if (o + 1 < word.size())
            value = word.substr(o + 1);
        else if (j + 1 < arguments.size())
            value = arguments[++j];
        else
            break;
        if (!value.empty() && value.front() == '{')
            value = strip_braces(value);
        if (auto parameter = split_parameter(value))
            entry.parameters.push_back(std::move(*parameter));
    }
}

Result<MasterCfEntry> parse_entry(const LogicalLine& line, const std::string& path,
                                  std::vector<std::string>& warnings) {
    std::vector<std::string> words = split_master_words(line.text);
    if (words.size() < kFieldCount)
        return Error(ErrorKind::config, line_prefix(path, line.first_line) + "bad field count");
    if (!parse_service_type(words[1]))
        return invalid_field(path, line, "type", words[1]);
    if (!valid_boolean_field(words[2]))
        return invalid_field(path, line, "private", words[2]);
    if (!valid_boolean_field(words[3]))
        return invalid_field(path, line, "unprivileged", words[3]);
    if (!valid_boolean_field(words[4]))
        return invalid_field(path, line, "chroot", words[4]);
    if (!valid_wakeup_field(words[5]))
        return invalid_field(path, line, "wakeup", words[5]);
    if (!valid_process_limit_field(words[6]))
        return invalid_field(path, line, "process_limit", words[6]);

    MasterCfEntry entry;
    entry.service = words[0];
    entry.type_field = words[1];
    entry.private_field = words[2];
    entry.unprivileged_field = words[3];
    entry.chroot_field = words[4];
    entry.wakeup_field = words[5];
    entry.process_limit_field = words[6];
    entry.first_line = line.first_line;
    entry.last_line = line.last_line;
    entry.arguments.assign(words.begin() + kCommandField + 1, words.end());
    entry.command.push_back(words[kCommandField]);
    normalize_command(entry, warnings);
    collect_parameters(entry);
    return entry;
}

}  // namespace

std::string_view service_type_name(ServiceType type) {
    switch (type) {
        case ServiceType::inet:
            return "inet";
        case ServiceType::unix_stream:
            return "unix";
        case ServiceType::unix_dgram:
            return "unix-dgram";
        case ServiceType::fifo:
            return "fifo";
        case ServiceType::pass:
            return "pass";
    }
    return "unix";
}

std::optional<ServiceType> parse_service_type(std::string_view name) {
    for (ServiceType type : {ServiceType::inet, ServiceType::unix_stream, ServiceType::unix_dgram,
                             ServiceType::fifo, ServiceType::pass})
        if (name == service_type_name(type))
            return type;
    return std::nullopt;
}

ServiceType MasterCfEntry::type() const {
    // The parser admits only valid types; an entry built by hand defaults to unix.
    return parse_service_type(type_field).value_or(ServiceType::unix_stream);
}

bool MasterCfEntry::is_private() const {
    return private_field != "n";
}

bool MasterCfEntry::is_unprivileged() const {
    return unprivileged_field != "n";
}

bool MasterCfEntry::is_chrooted() const {
    return chroot_field == "y";
}

Result<int> MasterCfEntry::wakeup_seconds() const {
    std::string_view text = wakeup_field;
    if (!text.empty() && text.back() == '?')
        text.remove_suffix(1);
    if (text.empty() || text == "-")
        return 0;
    if (auto value = small_number(text))
        return *value;
    return Error(ErrorKind::config, "line " + std::to_string(first_line) + ": service " + key() +
                                        ": bad wakeup time \"" + printable(wakeup_field) + "\"");
}

bool MasterCfEntry::wakeup_only_if_used() const {
    return !wakeup_field.empty() && wakeup_field.back() == '?';
}

Result<int> MasterCfEntry::process_limit(int default_process_limit) const {
    if (process_limit_field == "-")
        return default_process_limit;
    if (auto value = small_number(process_limit_field))
        return *value;
    return Error(ErrorKind::config, "line " + std::to_string(first_line) + ": service " + key() +
                                        ": bad process limit \"" + printable(process_limit_field) +
                                        "\"");
}

std::string MasterCfEntry::process_name() const {
    std::string_view name = program();
    size_t slash = name.rfind('/');
    if (slash != std::string_view::npos)
        name.remove_prefix(slash + 1);
    return std::string(name);
}

std::string MasterCfEntry::command_line() const {
    return join(command, " ");
}

std::vector<std::string> MasterCfEntry::exec_arguments() const {
    std::vector<std::string> arguments{program()};
    for (const std::string& word : this->arguments)
        arguments.push_back(!word.empty() && word.front() == '{' ? strip_braces(word) : word);
    return arguments;
}

std::optional<std::string> MasterCfEntry::parameter(std::string_view name) const {
    for (auto it = parameters.rbegin(); it != parameters.rend(); ++it)
        if (it->name == name)
            return it->value;
    return std::nullopt;
}

std::vector<MasterCfParameter> MasterCfEntry::shown_parameters() const {
    std::vector<MasterCfParameter> shown;
    for (size_t j = 1; j < command.size(); ++j) {
        const std::string& word = command[j];
        if (ends_daemon_options(word))
            break;
        if (!option_takes_value(word) || j + 1 >= command.size())
            continue;
        std::string_view value = command[++j];
        if (word != "-o")
            continue;
        std::string content =
            !value.empty() && value.front() == '{' ? strip_braces(value) : std::string(value);
        if (auto parameter = split_parameter(content))
            shown.push_back(std::move(*parameter));
    }
    return shown;
}

const MasterCfEntry* MasterCf::find(std::string_view service, ServiceType type) const {
    for (const MasterCfEntry& entry : entries)
        if (entry.service == service && entry.type() == type)
            return &entry;
    return nullptr;
}

bool ends_daemon_options(std::string_view word) {
    return word.empty() || word.front() != '-' || word == "--";
}

bool option_takes_value(std::string_view word) {
    return word == "-o" || word == "-";
}

std::vector<std::string> split_master_words(std::string_view line) {
    std::vector<std::string> words;
    size_t pos = 0;
    while (pos < line.size()) {
        while (pos < line.size() && is_blank(line[pos]))
            ++pos;
        if (pos >= line.size())
            break;
        size_t start = pos;
        int depth = 0;
        for (; pos < line.size(); ++pos) {
            char c = line[pos];
            if (c == '{') {
                ++depth;
            } else if (c == '}') {
                if (depth > 0)
                    --depth;
            } else if (depth == 0 && is_blank(c)) {
                break;
            }
        }
        words.emplace_back(line.substr(start, pos - start));
    }
    return words;
}

std::string strip_braces(std::string_view word, std::string* problem) {
    if (word.empty() || word.front() != '{')
        return std::string(word);
    int depth = 0;
    size_t close = std::string_view::npos;
    for (size_t i = 0; i < word.size(); ++i) {
        if (word[i] == '{') {
            ++depth;
        } else if (word[i] == '}' && --depth == 0) {
            close = i;
            break;
        }
    }
    std::string_view content;
    if (close == std::string_view::npos) {
        if (problem != nullptr)
            *problem = "missing '}' in \"" + printable(word) + "\"";
        content = word.substr(1);
    } else {
        if (close + 1 != word.size() && problem != nullptr)
            *problem = "syntax error after '}' in \"" + printable(word) + "\"";
        content = word.substr(1, close - 1);
    }
    size_t first = content.find_first_not_of(kBlanks);
    if (first == std::string_view::npos)
        return {};
    size_t last = content.find_last_not_of(kBlanks);
    return std::string(content.substr(first, last - first + 1));
}

Result<MasterCfParameter> split_parameter(std::string_view text) {
    size_t start = text.find_first_not_of(kBlanks);
    text = start == std::string_view::npos ? std::string_view() : text.substr(start);
    size_t name_end = text.find_first_of(" \t\r\n=");
    if (name_end == std::string_view::npos)
        name_end = text.size();
    if (name_end == 0)
        return Error(ErrorKind::config, "missing attribute name");
    std::string_view rest = text.substr(name_end);
    size_t equals = rest.find_first_not_of(kBlanks);
    if (equals == std::string_view::npos || rest[equals] != '=')
        return Error(ErrorKind::config, "missing '=' after attribute name");
    std::string_view value = rest.substr(equals + 1);
    size_t first = value.find_first_not_of(kBlanks);
    if (first == std::string_view::npos)
        value = {};
    else
        value = value.substr(first, value.find_last_not_of(kBlanks) - first + 1);
    return MasterCfParameter{std::string(text.substr(0, name_end)), std::string(value)};
}

std::string format_option_value(std::string_view text) {
    if (has_blank(text))
        return "{" + std::string(text) + "}";
    return std::string(text);
}

Result<MasterCf> parse_master_cf(std::string_view text, const std::string& path) {
    MasterCf master_cf;
    master_cf.path = path;
    for (const LogicalLine& line : logical_lines(text, LineJoin::verbatim)) {
        if (is_blank(line.text.front())) {
            // Nothing to continue: Postfix warns and skips the line.
            std::string shown = printable(line.text.substr(0, 30));
            if (line.text.size() > 30)
                shown += "...";
            master_cf.warnings.push_back(
                path + ": logical line must not start with whitespace: \"" + shown + "\"");
            continue;
        }
        auto entry = parse_entry(line, path, master_cf.warnings);
        if (!entry)
            return entry.error();
        master_cf.entries.push_back(std::move(*entry));
    }
    return master_cf;
}

Result<MasterCf> read_master_cf(const std::string& path) {
    auto text = read_file(path);
    if (!text)
        return text.error();
    return parse_master_cf(*text, path);
}

Status check_unique_services(const MasterCf& master_cf) {
    std::map<std::string, int> first_seen;
    for (const MasterCfEntry& entry : master_cf.entries) {
        auto [it, inserted] = first_seen.emplace(entry.key(), entry.first_line);
        if (!inserted)
            return Error(ErrorKind::config, line_prefix(master_cf.path, entry.first_line) +
                                                "duplicate service \"" + printable(entry.key()) +
                                                "\" (first defined at line " +
                                                std::to_string(it->second) + ")");
    }
    return Status::success();
}

}  // namespace postern
