// postdrop: the set-gid program that puts a local user's message into the maildrop queue,
// compatible with Postfix's postdrop [-rv] [-c config_dir].
//
// In the mail flow: sendmail -> postdrop -> queue_directory/maildrop/ID -> pickup -> cleanup.
// sendmail runs as the submitting user and cannot write to maildrop/ (mode 0730, group
// setgid_group); postdrop is installed set-gid setgid_group so that it can. It reads the
// message as queue-file records on stdin (lib/queue/maildrop.hpp), checks them (the user is
// not trusted: submission.hpp), writes them to a new maildrop file, makes the file durable,
// wakes pickup through queue_directory/public/pickup, and tells sendmail on stdout.
//
// Untrusted: the command line, the environment and stdin all come from the user. Hence a
// configuration directory other than the default must be authorized by the default main.cf
// (authorized_config.hpp); -v is for root only; authorized_submit_users says who may
// submit, local_login_sender_maps which senders each user may claim. Privileges: the
// user's uid with the setgid_group's gid, never more; postdrop touches nothing but its
// own maildrop file and the pickup trigger.
//
// Exit statuses and messages are Postfix's: 1 with a "fatal:" line on stderr (and in the
// log) for usage, configuration, permission and input errors; 0 when the input was
// cancelled (it ended before the E record; the partial file is removed); the signal's
// number after HUP, INT, QUIT or TERM (the file is removed).
#include <fcntl.h>
#include <getopt.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "build_config.hpp"
#include "config/authorized_config.hpp"
#include "config/log_settings.hpp"
#include "ipc/trigger.hpp"
#include "queue/cleanup_protocol.hpp"
#include "queue/maildrop.hpp"
#include "tools/postdrop/login_sender.hpp"
#include "tools/postdrop/submission.hpp"
#include "tools/postqueue/user_acl.hpp"
#include "util/file.hpp"
#include "util/log.hpp"
#include "util/privileges.hpp"

namespace postern::postdrop {
namespace {

struct Options {
    std::string config_directory;  // -c; empty: MAIL_CONFIG or the default
    int verbose = 0;
};

Options parse_command_line(int argc, char** argv) {
    Options options;
    opterr = 0;
    int option;
    while ((option = getopt(argc, argv, "+c:rv")) != -1) {
        switch (option) {
            case 'c':
                options.config_directory = optarg;
                break;
            case 'r':  // the record protocol is the only one
                break;
            case 'v':
                if (::geteuid() == 0)
                    ++options.verbose;
                break;
            default:
                std::fprintf(stderr, "postdrop: %s -- '%c'\n",
                             option == ':' ? "option requires an argument" : "invalid option",
                             optopt);
                log_fatal("usage: postdrop [-c config_dir] [-v]");
        }
    }
    return options;
}

std::string required(const Config& config, const char* name) {
    Result<std::string> value = config.get(name);
    if (!value)
        log_fatal(value.error());
    return *value;
}

Config load_configuration(const Options& options) {
    std::string directory = options.config_directory.empty() ? Config::default_config_directory()
                                                             : options.config_directory;
    if (running_with_borrowed_privileges())
        require_authorized_config_directory(directory, POSTERN_CONFIG_DIRECTORY);
    Result<Config> config = Config::load(directory);
    if (!config)
        log_fatal(config.error());
    config->set_override("config_directory", directory);
    LogSettings logging = log_settings_from_config(*config, "postdrop");
    logging.also_stderr = true;
    logging.verbose = options.verbose;
    // A user may not be able to open maillog_file; the lines still reach stderr and syslog.
    (void)log_init(logging);
    auto accounts = check_mail_accounts(directory, required(*config, "mail_owner"),
                                        required(*config, "setgid_group"));
    if (!accounts)
        log_fatal(accounts.error());
    return std::move(*config);
}

// The login name, or nullopt when the uid has no passwd entry.
std::optional<std::string> login_name(uid_t uid) {
    struct passwd* entry = ::getpwuid(uid);
    if (entry == nullptr)
        return std::nullopt;
    return std::string(entry->pw_name);
}

void require_submit_permission(const Config& config, uid_t uid) {
    std::string name = login_name(uid).value_or("unknown");
    std::string list = required(config, "authorized_submit_users");
    // As Postfix: the usual static: default admits everyone without a lookup.
    if (list.starts_with("static:"))
        return;
    Result<bool> allowed = postqueue::user_list_allows(list, name);
    if (!allowed)
        log_fatal(allowed.error());
    if (!*allowed)
        log_fatal("User %s(%ld) is not allowed to submit mail", name.c_str(),
                  static_cast<long>(uid));
}

QueueFileOptions maildrop_options(const Config& config) {
    QueueFileOptions options;
    auto long_ids = config.get_boolean("enable_long_queue_ids");
    if (!long_ids)
        log_fatal(long_ids.error());
    options.id_form = *long_ids ? QueueIdForm::long_form : QueueIdForm::short_form;
    auto hashing = QueueHashing::from_config(config);
    if (!hashing)
        log_fatal(hashing.error());
    options.hashing = std::move(*hashing);
    return options;
}

size_t line_length_limit(const Config& config) {
    auto limit = config.get_integer("line_length_limit");
    if (!limit)
        log_fatal(limit.error());
    return static_cast<size_t>(*limit);
}

void send_attributes(const PlainAttributes& attributes) {
    // sendmail may be gone already; the message's fate does not depend on this reply.
    (void)write_all(STDOUT_FILENO, encode_plain_attributes(attributes));
}

// pickup not running is not an error: it finds the file at its next scan.
void wake_pickup(const Config& config) {
    std::string path = "public/" + required(config, "pickup_service_name");
    struct stat endpoint {};
    if (::stat(path.c_str(), &endpoint) != 0) {
        log_warning("unable to look up %s: %s", path.c_str(), std::strerror(errno));
        return;
    }
    if (Status sent = send_trigger_to_service(path, std::string(1, trigger_request::wakeup)); !sent)
        log_warning("%s", sent.error().message().c_str());
}

SubmissionVerdict receive_message(const Config& config, MaildropFile& file, uid_t uid,
                                  LoginSenderPolicy& senders) {
    QueueTime now = queue_time_now();
    file.record(rec_type::time,
                std::to_string(now.seconds) + " " + std::to_string(now.microseconds));
    RecordStreamReader input(STDIN_FILENO, "stdin", line_length_limit(config));
    SubmissionPolicy policy{uid, [&](std::string_view sender) { return senders.allows(sender); }};
    auto copied = copy_submission(input, file, policy);
    if (!copied && copied.error().kind() == ErrorKind::corrupt) {
        log_warning("%s", copied.error().message().c_str());
        log_fatal("uid=%ld: malformed input", static_cast<long>(uid));
    }
    if (!copied)
        log_fatal(copied.error());
    if (!copied->has_value()) {  // the input ended early: sendmail gave up
        file.remove();
        std::exit(0);
    }
    return std::move(**copied);
}

int run(int argc, char** argv) {
    ensure_standard_descriptors();
    ::umask(022);
    LogSettings early;
    early.program = "postdrop";
    early.also_stderr = true;
    (void)log_init(early);
    Options options = parse_command_line(argc, argv);
    Config config = load_configuration(options);
    std::string queue_directory = required(config, "queue_directory");
    if (::chdir(queue_directory.c_str()) != 0)
        log_fatal("chdir %s: %s", queue_directory.c_str(), std::strerror(errno));
    const uid_t uid = ::getuid();
    require_submit_permission(config, uid);
    std::string login = login_name(uid).value_or("uid:" + std::to_string(uid));

    install_cleanup_handlers();
    auto file = MaildropFile::create(".", maildrop_options(config));
    if (!file)
        log_fatal(file.error());
    send_attributes({{std::string(postdrop_attr::protocol), std::string(kPostdropProtocolName)},
                     {std::string(postdrop_attr::queue_id), file->queue_id()}});
    // As Postfix's postdrop, the sender tables are opened once the file exists: a table
    // that cannot be opened is then a failed submission (sendmail reports a queue file
    // write error), not a postdrop that could not start.
    auto senders = LoginSenderPolicy::open(config, login);
    if (!senders)
        log_fatal(senders.error());
    SubmissionVerdict verdict = receive_message(config, *file, uid, *senders);
    if (verdict.status == 0) {
        if (Status committed = file->commit(); !committed) {
            log_warning("uid=%ld: %s", static_cast<long>(uid), committed.error().message().c_str());
            verdict.status = cleanup_status::write;
        } else {
            wake_pickup(config);
        }
    }
    if (verdict.status != 0)
        file->remove();
    send_attributes({{std::string(postdrop_attr::status), std::to_string(verdict.status)},
                     {std::string(postdrop_attr::reason), verdict.reason}});
    return verdict.status == 0 ? 0 : 1;
}

}  // namespace
}  // namespace postern::postdrop

int main(int argc, char** argv) {
    return postern::postdrop::run(argc, argv);
}
