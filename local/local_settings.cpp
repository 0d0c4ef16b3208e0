// local(8)'s parameters; see local_settings.hpp.
#include "local/local_settings.hpp"

#include <unistd.h>

#include <climits>

#include "util/strings.hpp"

namespace postern::local {

namespace {

// Postfix's name_mask() wording for a word it does not know.
Error unknown_word(std::string_view parameter, std::string_view word, std::string_view value) {
    return Error(ErrorKind::config, "unknown " + std::string(parameter) + " value \"" +
                                        std::string(word) + "\" in \"" + std::string(value) + "\"");
}

std::string system_hostname() {
    char name[HOST_NAME_MAX + 1] = {};
    if (::gethostname(name, sizeof name - 1) != 0 || name[0] == 0)
        return "localhost";
    return name;
}

// The typed reads, collected: the first error wins and names its parameter.
class Reader {
  public:
    explicit Reader(const Config& config) : config_(config) {}

    std::string text(std::string_view name) {
        auto value = config_.get(name);
        return keep(value) ? std::string(trim(*value)) : std::string();
    }
    bool boolean(std::string_view name) {
        auto value = config_.get_boolean(name);
        return keep(value) && *value;
    }
    int64_t integer(std::string_view name) {
        auto value = config_.get_integer(name);
        return keep(value) ? *value : 0;
    }
    int64_t seconds(std::string_view name) {
        auto value = config_.get_time_seconds(name);
        return keep(value) ? *value : 0;
    }
    template <typename T>
    bool keep(const Result<T>& value) {
        if (!value && !error_)
            error_ = value.error();
        return value.ok();
    }
    void fail(Error error) {
        if (!error_)
            error_ = std::move(error);
    }
    const std::optional<Error>& error() const { return error_; }

  private:
    const Config& config_;
    std::optional<Error> error_;
};

void read_mailbox(Reader& read, LocalSettings& s) {
    s.home_mailbox = read.text("home_mailbox");
    s.mail_spool_directory = read.text("mail_spool_directory");
    s.mailbox_command = read.text("mailbox_command");
    auto locks = parse_lock_methods(read.text("mailbox_delivery_lock"));
    if (read.keep(locks))
        s.mailbox_locks = *locks;
    s.mailbox_size_limit = read.integer("mailbox_size_limit");
    s.message_size_limit = read.integer("message_size_limit");
    s.strict_mailbox_ownership = read.boolean("strict_mailbox_ownership");
    s.require_home_directory = read.boolean("require_home_directory");
    s.deliver_lock_attempts =
        static_cast<int>(std::max<int64_t>(1, read.integer("deliver_lock_attempts")));
    s.deliver_lock_delay = std::chrono::seconds(read.seconds("deliver_lock_delay"));
    s.stale_lock_time = std::chrono::seconds(read.seconds("stale_lock_time"));
}

void read_expansion(Reader& read, LocalSettings& s) {
    s.alias_maps = read.text("alias_maps");
    s.forward_path = read.text("forward_path");
    s.luser_relay = read.text("luser_relay");
    s.recipient_delimiter = read.text("recipient_delimiter");
    s.owner_request_special = read.boolean("owner_request_special");
    s.expand_owner_alias = read.boolean("expand_owner_alias");
    s.reset_owner_alias = read.boolean("reset_owner_alias");
    s.frozen_delivered_to = read.boolean("frozen_delivered_to");
    s.enable_original_recipient = read.boolean("enable_original_recipient");
    auto delivered = parse_delivered_header_classes(read.text("prepend_delivered_header"));
    if (read.keep(delivered))
        s.prepend_delivered = *delivered;
    auto commands =
        parse_expansion_classes("allow_mail_to_commands", read.text("allow_mail_to_commands"));
    if (read.keep(commands))
        s.allow_commands = *commands;
    auto files = parse_expansion_classes("allow_mail_to_files", read.text("allow_mail_to_files"));
    if (read.keep(files))
        s.allow_files = *files;
    auto propagate = parse_propagation_classes(read.text("propagate_unmatched_extensions"));
    if (read.keep(propagate))
        s.propagate_extensions = *propagate;
    s.duplicate_filter_limit =
        static_cast<size_t>(std::max<int64_t>(0, read.integer("duplicate_filter_limit")));
    s.line_length_limit =
        static_cast<size_t>(std::max<int64_t>(80, read.integer("line_length_limit")));
    s.double_bounce_sender = read.text("double_bounce_sender");
}

void read_commands(Reader& read, LocalSettings& s) {
    s.default_privs = read.text("default_privs");
    s.command_time_limit = std::chrono::seconds(read.seconds("command_time_limit"));
    s.local_command_shell = read.text("local_command_shell");
    s.command_execution_directory = read.text("command_execution_directory");
    const std::string exported = read.text("export_environment");  // split_list views it
    for (std::string_view name : split_list(exported))
        s.export_environment.emplace_back(name);
    s.command_expansion_filter = read.text("command_expansion_filter");
    s.forward_expansion_filter = read.text("forward_expansion_filter");
    s.execution_directory_expansion_filter = read.text("execution_directory_expansion_filter");
}

}  // namespace

Result<int> parse_propagation_classes(std::string_view value) {
    std::string local_classes;
    for (std::string_view word : split_list(value))
        if (!equals_ignore_case(word, "canonical") && !equals_ignore_case(word, "virtual") &&
            !equals_ignore_case(word, "generic"))
            local_classes.append(word).append(" ");
    return parse_expansion_classes("propagate_unmatched_extensions", local_classes);
}

Result<int> parse_expansion_classes(std::string_view parameter, std::string_view value) {
    int mask = 0;
    for (std::string_view word : split_list(value)) {
        if (equals_ignore_case(word, "alias"))
            mask |= static_cast<int>(ExpansionKind::alias);
        else if (equals_ignore_case(word, "forward"))
            mask |= static_cast<int>(ExpansionKind::forward);
        else if (equals_ignore_case(word, "include"))
            mask |= static_cast<int>(ExpansionKind::include);
        else
            return unknown_word(parameter, word, value);
    }
    return mask;
}

Result<std::vector<LockMethod>> parse_lock_methods(std::string_view value) {
    std::vector<LockMethod> methods;
    for (std::string_view word : split_list(value)) {
        if (equals_ignore_case(word, "fcntl"))
            methods.push_back(LockMethod::fcntl);
        else if (equals_ignore_case(word, "flock"))
            methods.push_back(LockMethod::flock);
        else if (equals_ignore_case(word, "dotlock"))
            methods.push_back(LockMethod::dotlock);
        else
            return unknown_word("mailbox_delivery_lock", word, value);
    }
    return methods;
}

Result<int> parse_delivered_header_classes(std::string_view value) {
    int mask = 0;
    for (std::string_view word : split_list(value)) {
        if (equals_ignore_case(word, "command"))
            mask |= delivered_header::command;
        else if (equals_ignore_case(word, "file"))
            mask |= delivered_header::file;
        else if (equals_ignore_case(word, "forward"))
            mask |= delivered_header::forward;
        else
            return unknown_word("prepend_delivered_header", word, value);
    }
    return mask;
}

Result<LocalSettings> LocalSettings::from_config(const Config& config) {
    LocalSettings s;
    Reader read(config);
    s.service_name = read.text("service_name");
    if (s.service_name.empty())
        s.service_name = "local";
    s.queue_directory = read.text("queue_directory");
    s.myorigin = read.text("myorigin");
    s.hostname = system_hostname();
    read_mailbox(read, s);
    read_expansion(read, s);
    read_commands(read, s);
    if (read.error())
        return *read.error();
    // Postfix's local refuses to start when a message could never fit a mailbox.
    if (s.mailbox_size_limit > 0 && s.mailbox_size_limit < s.message_size_limit)
        return Error(ErrorKind::config,
                     "configuration error: mailbox_size_limit is smaller than message_size_limit");
    if (s.default_privs.empty())
        return Error(ErrorKind::config, "default_privs: empty value");
    return s;
}

}  // namespace postern::local
