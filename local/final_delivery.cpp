// Mailbox, Maildir, /file and |command deliveries; see final_delivery.hpp.
#include "local/final_delivery.hpp"

#include <sys/stat.h>

#include <cstdlib>
#include <cstring>

#include "local/command.hpp"
#include "local/maildir.hpp"
#include "local/mbox.hpp"
#include "util/log.hpp"

namespace postern::local {

namespace {

// PATH for commands: Postfix's _PATH_DEFPATH.
constexpr const char* kCommandPath = "PATH=/usr/bin:/bin";

CopyOptions copy_options(const RecipientRun& run, const ExpansionState& state, bool mbox,
                         int delivered_class) {
    const LocalSettings& settings = run.request.settings;
    CopyOptions options;
    options.from_line = mbox;
    options.quote_from = mbox;
    options.blank_line = mbox;
    options.sender = state.sender;
    options.original = state.original;
    options.delivered = state.delivered;
    options.delivered_to = (settings.prepend_delivered & delivered_class) != 0;
    options.size_limit = settings.mailbox_size_limit;
    return options;
}

LockSettings lock_settings(const LocalSettings& settings) {
    LockSettings locks;
    locks.methods = settings.mailbox_locks;
    locks.attempts = settings.deliver_lock_attempts;
    locks.delay = settings.deliver_lock_delay;
    locks.stale = settings.stale_lock_time;
    return locks;
}

ReportKind kind_of(const Error& error) {
    return error.enhanced_status().substr(0, 1) == "5" ? ReportKind::bounced : ReportKind::deferred;
}

std::string status_of(const Error& error) {
    return error.enhanced_status().empty() ? std::string("4.3.0") : error.enhanced_status();
}

void report_error(RecipientRun& run, const ExpansionState& state, const Error& error,
                  const std::string& prefix) {
    report(run, state, kind_of(error), status_of(error), prefix + error.message());
}

void deliver_maildir_as(RecipientRun& run, const ExpansionState& state, const UserRights& rights,
                        const std::string& path, int delivered_class) {
    CopyOptions options = copy_options(run, state, false, delivered_class);
    // Opened as mail_owner: the recipient may not read the queue.
    auto message = open_message(run.request.queue_path);
    if (!message)
        return report_error(run, state, message.error(), "maildir delivery failed: ");
    Status delivered = [&] {
        AsUser as(rights);
        return deliver_to_maildir(path, std::move(*message), options,
                                  run.request.settings.hostname);
    }();
    if (delivered)
        return report(run, state, ReportKind::sent, "2.0.0", "delivered to maildir");
    const std::string& text = delivered.error().message();
    if (text.find(std::strerror(EACCES)) != std::string::npos) {
        log_warning("maildir access problem for UID/GID=%ld/%ld: %s", static_cast<long>(rights.uid),
                    static_cast<long>(rights.gid), text.c_str());
        log_warning("perhaps you need to create the maildirs in advance");
    }
    report_error(run, state, delivered.error(), "maildir delivery failed: ");
}

// Whose identity creates and locks a mailbox in the spool directory (Postfix's rule):
// the user when anyone may write the directory, the user with the directory's group when
// its group may, else root, who then gives a new mailbox to the user.
struct SpoolIdentity {
    uid_t uid;
    gid_t gid;
    bool chown;
};

SpoolIdentity spool_identity(const std::string* spool, const UserRights& user) {
    struct stat info {};
    if (spool == nullptr || ::stat(spool->c_str(), &info) != 0 || (info.st_mode & S_IWOTH))
        return {user.uid, user.gid, false};
    if (info.st_mode & S_IWGRP)
        return {user.uid, info.st_gid, false};
    return {0, 0, true};
}

// Opens, checks and appends, as `spool` for the open and the lock and as the user for
// the writing (so that quotas count).
Status append_mbox(RecipientRun& run, const ExpansionState& state, const UserRights& user,
                   const std::string& path, const SpoolIdentity& spool) {
    const LocalSettings& settings = run.request.settings;
    // Opened as mail_owner: the recipient may not read the queue.
    auto message = open_message(run.request.queue_path);
    if (!message)
        return message.error();
    AsUser as_spool(spool.uid, spool.gid);
    MailboxOpen how;
    if (spool.chown) {
        how.chown_uid = user.uid;
        how.chown_gid = user.gid;
    }
    auto mailbox = LockedMailbox::open(path, lock_settings(settings), how);
    if (!mailbox)
        return mailbox.error();
    AsUser as_user(user);
    if (!S_ISREG(mailbox->info().st_mode))
        return Error(ErrorKind::permanent, "destination " + path + " is not a regular file",
                     "5.2.0");
    if (settings.strict_mailbox_ownership && mailbox->info().st_uid != user.uid) {
        log_warning(
            "specify \"strict_mailbox_ownership = no\" to ignore mailbox ownership "
            "mismatch");
        return Error(ErrorKind::temporary, "destination " + path + " is not owned by recipient",
                     "4.2.0");
    }
    return append_to_mailbox(*mailbox, std::move(*message),
                             copy_options(run, state, true, delivered_header::file));
}

void deliver_mbox(RecipientRun& run, const ExpansionState& state, const UserRights& user) {
    const LocalSettings& settings = run.request.settings;
    bool in_spool = settings.home_mailbox.empty();
    std::string path = in_spool ? settings.mail_spool_directory + "/" + state.user
                                : user.home + "/" + settings.home_mailbox;
    SpoolIdentity spool = spool_identity(in_spool ? &settings.mail_spool_directory : nullptr, user);
    if (Status appended = append_mbox(run, state, user, path, spool); !appended)
        return report_error(run, state, appended.error(),
                            "cannot update mailbox " + path + " for user " + state.user + ". ");
    report(run, state, ReportKind::sent, "2.0.0", "delivered to mailbox");
}

bool ends_with_slash(const std::string& text) {
    return !text.empty() && text.back() == '/';
}

std::string filtered(std::string_view value, std::string_view filter) {
    std::string out(value);
    for (char& c : out)
        if (filter.find(c) == std::string_view::npos)
            c = '_';
    return out;
}

// The command's environment (local(8) "EXTERNAL COMMAND DELIVERY").
std::vector<std::string> command_environment(const RecipientRun& run, const ExpansionState& state) {
    const LocalSettings& settings = run.request.settings;
    std::vector<std::string> env{kCommandPath};
    for (const std::string& name : settings.export_environment)
        if (const char* value = std::getenv(name.c_str()); value != nullptr && name != "PATH")
            env.push_back(name + "=" + value);
    auto add = [&](const char* name, std::string_view value) {
        if (!value.empty())
            env.push_back(std::string(name) + "=" +
                          filtered(value, settings.command_expansion_filter));
    };
    if (state.rights) {
        add("SHELL", state.rights->shell);
        add("HOME", state.rights->home);
    }
    add("USER", state.user);
    add("LOGNAME", state.user);
    add("EXTENSION", state.extension);
    add("DOMAIN", state.domain);
    add("LOCAL", state.local);
    add("ORIGINAL_RECIPIENT", state.original);
    add("RECIPIENT", state.address);
    add("SENDER", state.sender);
    const DeliveryClient& client = run.request.session.request().client;
    add("CLIENT_ADDRESS", client.address);
    add("CLIENT_HELO", client.helo);
    add("CLIENT_HOSTNAME", client.name);
    add("CLIENT_PROTOCOL", client.protocol);
    add("SASL_METHOD", client.sasl_method);
    add("SASL_SENDER", client.sasl_sender);
    add("SASL_USERNAME", client.sasl_username);
    return env;
}

}  // namespace

const UserRights& delivery_rights(const RecipientRun& run, const ExpansionState& state) {
    if (state.rights && state.rights->uid != 0)
        return *state.rights;
    return run.request.default_privs;
}

bool deliver_mailbox(RecipientRun& run, ExpansionState state) {
    const LocalSettings& settings = run.request.settings;
    if (!run.request.filter.first_time("mailbox " + state.local))
        return true;
    auto user = user_by_name(state.user);
    if (!user) {
        if (user.error().kind() == ErrorKind::not_found)
            return false;
        report(run, state, ReportKind::deferred, "4.3.0", user.error().message());
        return true;
    }
    state.rights = *user;
    if (!settings.mailbox_command.empty()) {
        auto command = expand_for_recipient(settings.mailbox_command, attributes_of(state, &*user),
                                            settings.command_expansion_filter);
        if (!command)
            report(run, state, ReportKind::deferred, "4.3.5", "mail system configuration error");
        else
            deliver_command(run, state, *command);
    } else if (ends_with_slash(settings.home_mailbox)) {
        deliver_maildir_as(run, state, *user, user->home + "/" + settings.home_mailbox,
                           delivered_header::file);
    } else if (settings.home_mailbox.empty() && ends_with_slash(settings.mail_spool_directory)) {
        deliver_maildir_as(run, state, *user, settings.mail_spool_directory + state.user + "/",
                           delivered_header::file);
    } else {
        deliver_mbox(run, state, *user);
    }
    return true;
}

void deliver_file(RecipientRun& run, const ExpansionState& state, const std::string& path) {
    const UserRights& rights = delivery_rights(run, state);
    if (!run.request.filter.first_time("file " + std::to_string(rights.uid) + " " + path))
        return;
    if (ends_with_slash(path))
        return deliver_maildir_as(run, state, rights, path, delivered_header::file);
    LockSettings locks = lock_settings(run.request.settings);
    locks.dotlock_may_fail = true;
    Status appended = [&]() -> Status {
        // Opened as mail_owner: the file's user may not read the queue.
        auto message = open_message(run.request.queue_path);
        if (!message)
            return message.error();
        AsUser as(rights);
        struct stat info {};
        if (::stat(path.c_str(), &info) == 0 && !S_ISREG(info.st_mode))
            locks.methods.clear();  // /dev/null and the like: nothing to lock
        auto file = LockedMailbox::open(path, locks);
        if (!file)
            return file.error();
        return append_to_mailbox(*file, std::move(*message),
                                 copy_options(run, state, true, delivered_header::file));
    }();
    if (!appended)
        return report_error(run, state, appended.error(),
                            "cannot append message to file " + path + ": ");
    report(run, state, ReportKind::sent, "2.0.0", "delivered to file: " + path);
}

void deliver_command(RecipientRun& run, const ExpansionState& state, const std::string& command) {
    const LocalSettings& settings = run.request.settings;
    const UserRights& rights = delivery_rights(run, state);
    if (!run.request.filter.first_time("command " + std::to_string(rights.uid) + " " + command))
        return;
    CommandSpec spec;
    spec.command = command;
    spec.uid = rights.uid;
    spec.gid = rights.gid;
    spec.environment = command_environment(run, state);
    spec.shell = settings.local_command_shell;
    spec.time_limit = settings.command_time_limit;
    if (!settings.command_execution_directory.empty()) {
        auto directory =
            expand_for_recipient(settings.command_execution_directory,
                                 attributes_of(state, state.rights ? &*state.rights : nullptr),
                                 settings.execution_directory_expansion_filter);
        if (!directory)
            return report(run, state, ReportKind::deferred, "4.3.5",
                          "mail system configuration error");
        spec.working_directory = *directory;
    }
    CopyOptions options = copy_options(run, state, false, delivered_header::command);
    options.from_line = true;  // commands get the From line, but no quoting, no blank line
    options.size_limit = 0;
    CommandOutcome outcome = deliver_to_command(spec, run.request.queue_path, options);
    report(run, state, outcome.kind, outcome.status.status, outcome.status.reason);
}

}  // namespace postern::local
