// sendmail, mailq, newaliases: the Sendmail-compatible command, compatible with Postfix's
// sendmail(1). One program; the name it is run under decides the default mode (mailq is
// sendmail -bp, newaliases is sendmail -I).
//
// In the mail flow it is where local mail starts: delivery mode (enqueue.hpp) hands the
// message to the set-gid postdrop, which puts it in maildrop/ for pickup. The other modes
// run the program that does the work, as Postfix's sendmail does: postqueue -p (-bp,
// mailq), postqueue -f (-q), postqueue -s SITE (-qRsite), postqueue -i ID (-qIid),
// postalias on alias_database (-bi, -I, newaliases), postfix start (-bd, -bl) and smtpd -S
// (-bs). Address verification (-bv) is not implemented yet (it needs the verify service).
//
// Runs as the invoking user, without privileges of its own: the command line, stdin and
// the environment are the user's. A configuration directory given with -C by a user other
// than root must be authorized by the default main.cf (authorized_config.hpp); one given
// through MAIL_CONFIG is checked by postdrop. authorized_submit_users is checked here (for
// the message) and again by postdrop (which a user cannot bypass). Every fatal error exits
// with status 75 (EX_TEMPFAIL), as Postfix's sendmail.
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "build_config.hpp"
#include "config/authorized_config.hpp"
#include "config/log_settings.hpp"
#include "tools/postqueue/user_acl.hpp"
#include "tools/sendmail/command_line.hpp"
#include "tools/sendmail/enqueue.hpp"
#include "util/file.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace postern::sendmail {
namespace {

constexpr int kExitTempFail = 75;  // EX_TEMPFAIL

std::string program_name(const char* argv0) {
    if (argv0 == nullptr)
        return "sendmail";
    const char* slash = std::strrchr(argv0, '/');
    return slash != nullptr ? slash + 1 : argv0;
}

std::string required(const Config& config, const char* name) {
    Result<std::string> value = config.get(name);
    if (!value)
        log_fatal(value.error());
    return *value;
}

size_t required_size(const Config& config, const char* name) {
    Result<int64_t> value = config.get_integer(name);
    if (!value)
        log_fatal(value.error());
    if (*value <= 0)
        log_fatal("bad %s value: %lld", name, static_cast<long long>(*value));
    return static_cast<size_t>(*value);
}

Config load_configuration(Options& options, const std::string& program) {
    const bool from_command_line = !options.config_directory.empty();
    std::string directory =
        from_command_line ? options.config_directory : Config::default_config_directory();
    if (from_command_line && ::getuid() != 0)
        require_authorized_config_directory(directory, POSTERN_CONFIG_DIRECTORY);
    options.config_directory = directory;
    Result<Config> config = Config::load(directory);
    if (!config)
        log_fatal(config.error());
    config->set_override("config_directory", directory);
    LogSettings logging = log_settings_from_config(*config, program);
    logging.also_stderr = true;
    logging.verbose = options.verbose > 1 ? options.verbose - 1 : 0;
    (void)log_init(logging);  // a user may not be able to open maillog_file
    // The programs run for the other modes find this configuration too.
    ::setenv("MAIL_CONFIG", directory.c_str(), 1);
    return std::move(*config);
}

Submitter identify_submitter() {
    Submitter submitter;
    submitter.uid = ::getuid();
    struct passwd* entry = ::getpwuid(submitter.uid);
    if (entry == nullptr)
        log_fatal("no login name found for user ID %lu", static_cast<unsigned long>(submitter.uid));
    submitter.login = entry->pw_name;
    if (const char* name = std::getenv("NAME"))
        submitter.full_name = name;
    else
        submitter.full_name =
            full_name_from_gecos(entry->pw_gecos ? entry->pw_gecos : "", submitter.login);
    return submitter;
}

void require_submit_permission(const Config& config) {
    uid_t uid = ::getuid();
    struct passwd* entry = ::getpwuid(uid);
    std::string name = entry != nullptr ? entry->pw_name : "unknown";
    std::string list = required(config, "authorized_submit_users");
    if (list.starts_with("static:"))
        return;
    Result<bool> allowed = postqueue::user_list_allows(list, name);
    if (!allowed)
        log_fatal(allowed.error());
    if (!*allowed)
        log_fatal("User %s(%ld) is not allowed to submit mail", name.c_str(),
                  static_cast<long>(uid));
}

// Replaces this process with DIRECTORY/NAME ARGUMENTS..., as Postfix's mail_run_replace.
[[noreturn]] void run_replace(const std::string& directory, std::vector<std::string> arguments) {
    std::string path = directory + "/" + arguments.front();
    std::vector<char*> argv;
    for (std::string& argument : arguments)
        argv.push_back(argument.data());
    argv.push_back(nullptr);
    ::execv(path.c_str(), argv.data());
    log_fatal("execvp %s: %s", path.c_str(), std::strerror(errno));
}

void add_verbose(std::vector<std::string>& arguments, int verbose) {
    for (int i = 0; i < verbose; ++i)
        arguments.emplace_back("-v");
}

void require_no_recipients(const Options& options, const char* mode) {
    if (!options.recipients.empty())
        log_fatal("%s mode requires no recipient", mode);
}

[[noreturn]] void run_newaliases(const Options& options, const Config& config) {
    require_no_recipients(options, "alias initialization");
    std::vector<std::string> arguments{"postalias"};
    add_verbose(arguments, options.verbose);
    arguments.emplace_back("--");
    std::string tables = options.alias_database.empty() ? required(config, "alias_database")
                                                        : options.alias_database;
    for (std::string_view table : split_list(tables))
        arguments.emplace_back(table);
    run_replace(required(config, "command_directory"), std::move(arguments));
}

[[noreturn]] void run_postqueue(const Options& options, const Config& config,
                                std::vector<std::string> mode_arguments) {
    std::vector<std::string> arguments{"postqueue"};
    for (std::string& argument : mode_arguments)
        arguments.push_back(std::move(argument));
    add_verbose(arguments, options.verbose);
    run_replace(required(config, "command_directory"), std::move(arguments));
}

[[noreturn]] void run_smtpd(const Options& options, const Config& config) {
    require_no_recipients(options, "stand-alone");
    require_submit_permission(config);
    std::string directory = required(config, "daemon_directory");
    if (::access((directory + "/smtpd").c_str(), X_OK) != 0)
        log_fatal("-bs: stand-alone SMTP mode needs %s/smtpd, which is not installed yet",
                  directory.c_str());
    std::vector<std::string> arguments{"smtpd", "-S"};
    add_verbose(arguments, options.verbose);
    run_replace(directory, std::move(arguments));
}

EnqueueSettings enqueue_settings(const Options& options, const Config& config) {
    EnqueueSettings settings;
    settings.config_directory = options.config_directory;
    settings.postdrop_path = required(config, "command_directory") + "/postdrop";
    const std::string exported = required(config, "export_environment");
    for (std::string_view name : split_list(exported))
        settings.export_environment.emplace_back(name.substr(0, name.find('=')));
    settings.line_length_limit = required_size(config, "line_length_limit");
    std::string endings = required(config, "sendmail_fix_line_endings");
    auto parsed = parse_line_endings(endings);
    if (!parsed)
        log_fatal("invalid sendmail_fix_line_endings value: \"%s\"", endings.c_str());
    settings.line_endings = *parsed;
    settings.header_size_limit = required_size(config, "header_size_limit");
    settings.header_address_token_limit = required_size(config, "header_address_token_limit");
    settings.default_verp_delimiters = required(config, "default_verp_delimiters");
    settings.verp_delimiter_filter = required(config, "verp_delimiter_filter");
    return settings;
}

int run_enqueue(const Options& options, const Config& config) {
    if (!options.site_to_flush.empty()) {
        require_no_recipients(options, "flush site");
        run_postqueue(options, config, {"-s", options.site_to_flush});
    }
    if (!options.id_to_flush.empty()) {
        require_no_recipients(options, "flush queue ID");
        run_postqueue(options, config, {"-i", options.id_to_flush});
    }
    require_submit_permission(config);
    Submitter submitter = identify_submitter();
    return enqueue(options, enqueue_settings(options, config), submitter);
}

int run(int argc, char** argv) {
    set_fatal_exit_status(kExitTempFail);
    ensure_standard_descriptors();
    ::signal(SIGPIPE, SIG_IGN);  // a write to a postdrop that died is an error, not a kill
    const std::string program = program_name(argc > 0 ? argv[0] : nullptr);
    LogSettings early;
    early.program = program;
    early.also_stderr = true;
    (void)log_init(early);
    Options options = parse_command_line(argc, argv, program);
    Config config = load_configuration(options, program);
    switch (options.mode) {
        case Mode::enqueue:
            return run_enqueue(options, config);
        case Mode::mailq:
            require_no_recipients(options, "display queue");
            run_postqueue(options, config, {"-p"});
        case Mode::flush:
            require_no_recipients(options, "flush queue");
            run_postqueue(options, config, {"-f"});
        case Mode::newaliases:
            run_newaliases(options, config);
        case Mode::daemon:
            require_no_recipients(options, "daemon");
            run_replace(required(config, "command_directory"), {"postfix", "start"});
        case Mode::smtp:
            run_smtpd(options, config);
        case Mode::verify:
            log_fatal("-bv: address verification is not supported yet");
    }
    return kExitTempFail;
}

}  // namespace
}  // namespace postern::sendmail

int main(int argc, char** argv) {
    return postern::sendmail::run(argc, argv);
}
