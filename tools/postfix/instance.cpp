// postfix: loading the instance the command works on, and the checks that postfix-script
// makes before any verb. Postfix's C program reads main.cf and enters queue_directory; the
// script then insists that the other directories exist. The messages are theirs.
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "config/log_settings.hpp"
#include "server/master_lock.hpp"
#include "tools/postfix/postfix.hpp"
#include "util/log.hpp"
#include "util/privileges.hpp"

namespace postern::postfix {
namespace {

std::string required_value(const Config& config, const char* name) {
    Result<std::string> value = config.get(name);
    if (!value)
        log_fatal("%s", value.error().message().c_str());
    return *value;
}

void start_logging(const Config& config, const PostfixOptions& options,
                   const std::string& program_suffix) {
    LogSettings settings = log_settings_from_config(config, "");
    // Postfix's stderr lines carry the whole identifier: "postfix/postfix-script: text".
    settings.syslog_name += program_suffix;
    settings.program.clear();
    settings.also_stderr = true;
    settings.verbose = options.verbose;
    if (Status started = log_init(settings); !started)
        log_fatal("%s", started.error().message().c_str());
}

bool is_directory(const std::string& path) {
    return ::access(path.c_str(), X_OK) == 0 && ::chdir(path.c_str()) == 0;
}

// As every Postfix program does at start: mail_owner and setgid_group must exist, be
// unprivileged and be distinct.
void check_accounts(const Instance& instance) {
    Result<UserAccount> owner =
        check_mail_accounts(instance.config_directory, instance.mail_owner, instance.setgid_group);
    if (!owner)
        log_fatal("%s", owner.error().message().c_str());
}

}  // namespace

Instance load_instance(const PostfixOptions& options) {
    Result<Config> loaded = Config::load(options.config_directory);
    if (!loaded)
        log_fatal("%s", loaded.error().message().c_str());
    Instance instance(options, std::move(*loaded));
    Config& config = instance.config;
    config.set_override("config_directory", options.config_directory);
    start_logging(config, options, "");
    for (const std::string& warning : config.main_cf().warnings) {
        log_warning("%s", warning.c_str());
        ++instance.main_cf_warnings;
    }
    instance.config_directory = options.config_directory;
    instance.queue_directory = required_value(config, "queue_directory");
    instance.data_directory = required_value(config, "data_directory");
    instance.daemon_directory = required_value(config, "daemon_directory");
    instance.command_directory = required_value(config, "command_directory");
    instance.mail_owner = required_value(config, "mail_owner");
    instance.setgid_group = required_value(config, "setgid_group");
    check_accounts(instance);
    if (::chdir(instance.queue_directory.c_str()) != 0)
        log_fatal("chdir(%s): %s", instance.queue_directory.c_str(), std::strerror(errno));
    return instance;
}

void use_script_log_identity(const Instance& instance) {
    start_logging(instance.config, instance.options, "/postfix-script");
}

void require_instance_directories(const Instance& instance) {
    if (!is_directory(instance.command_directory))
        log_fatal("no Postfix command directory %s!", instance.command_directory.c_str());
    if (!is_directory(instance.daemon_directory))
        log_fatal("no Postfix daemon directory %s!", instance.daemon_directory.c_str());
    if (!is_directory(instance.config_directory))
        log_fatal("no Postfix configuration directory %s!", instance.config_directory.c_str());
    if (!is_directory(instance.queue_directory))
        log_fatal("no Postfix queue directory %s!", instance.queue_directory.c_str());
    // The script ends up in queue_directory; so does Postern.
}

std::string setting_or_empty(const Config& config, const char* name) {
    Result<std::string> value = config.get(name);
    return value ? *value : std::string();
}

QueueLayout queue_layout_of(const Instance& instance) {
    Result<QueueAccounts> accounts =
        lookup_queue_accounts(instance.mail_owner, instance.setgid_group);
    if (!accounts)
        log_fatal("file %s: %s", instance.config.main_cf_path().c_str(),
                  accounts.error().message().c_str());
    return QueueLayout{instance.queue_directory, instance.data_directory, std::move(*accounts)};
}

std::optional<pid_t> running_master(const Instance& instance) {
    Result<std::optional<pid_t>> pid = running_master_pid(instance.queue_directory);
    if (!pid)
        log_fatal("%s", pid.error().message().c_str());
    return *pid;
}

}  // namespace postern::postfix
