// Delivering one local recipient through aliases, .forward and :include: files; see
// expansion.hpp.
#include "local/expansion.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "local/destinations.hpp"
#include "local/final_delivery.hpp"
#include "local/local_expand.hpp"
#include "maps/search.hpp"
#include "util/file.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace postern::local {

namespace {

// What a file read for expansion gave.
struct UserFile {
    std::string text;
    struct stat info {};
};

// Reads a .forward or :include: file with the current identity: no symbolic link at the
// end, a regular file, at most kMaxForwardFileBytes. ENOENT comes back as not_found.
Result<UserFile> read_user_file(const std::string& path) {
    Fd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
    if (!fd.valid())
        return errno == ENOENT ? Error(ErrorKind::not_found, std::strerror(errno))
                               : Error(ErrorKind::io, std::strerror(errno));
    UserFile file;
    if (::fstat(fd.get(), &file.info) != 0)
        return Error(ErrorKind::io, std::strerror(errno));
    if (!S_ISREG(file.info.st_mode))
        return Error(ErrorKind::permanent, "not a regular file");
    char buffer[16384];
    while (file.text.size() < kMaxForwardFileBytes) {
        ssize_t got = ::read(fd.get(), buffer, sizeof buffer);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return Error(ErrorKind::io, std::strerror(errno));
        if (got == 0)
            break;
        file.text.append(buffer, static_cast<size_t>(got));
    }
    if (file.text.size() > kMaxForwardFileBytes)
        file.text.resize(kMaxForwardFileBytes);
    return file;
}

bool is_mailer_daemon_or_postmaster(std::string_view user) {
    return equals_ignore_case(user, "mailer-daemon") || equals_ignore_case(user, "postmaster");
}

// NOTIFY=SUCCESS is not passed on through an expansion (RFC 3461 section 6.2.7.3).
int notify_below_expansion(int notify) {
    if (notify == dsn::notify_success)
        return dsn::notify_never;
    return notify & ~dsn::notify_success;
}

int deliver_list(RecipientRun& run, const ExpansionState& state, std::string_view list);
void deliver_switch(RecipientRun& run, ExpansionState state);

// "user@domain" with "+ext" spliced in before the "@" (at the end without a domain).
std::string with_extension(const std::string& address, const std::string& unmatched) {
    if (unmatched.empty())
        return address;
    size_t at = address.rfind('@');
    if (at == std::string::npos)
        return address + unmatched;
    return address.substr(0, at) + unmatched + address.substr(at);
}

// What an expansion of kind `kind` propagates: the extension not matched, when
// propagate_unmatched_extensions lists the kind.
std::string propagated(const LocalSettings& settings, ExpansionKind kind,
                       const std::string& unmatched) {
    return (settings.propagate_extensions & static_cast<int>(kind)) != 0 ? unmatched
                                                                         : std::string();
}

// The canonical form of an address from an expansion, and whether local delivers it
// (its transport is this service) or it must be forwarded.
void deliver_address(RecipientRun& run, ExpansionState state, const std::string& address) {
    ResolveReply reply = run.request.resolver.resolve(state.sender, address);
    if (reply.failed())
        return report(run, state, ReportKind::deferred, "4.3.0", "address resolver failure");
    if (reply.bad_address())
        return report(run, state, ReportKind::bounced, "5.1.3", "bad address syntax");
    state.address = with_extension(reply.recipient, state.unmatched);
    if (reply.transport == run.request.settings.service_name) {
        deliver_recipient(run, std::move(state));
        return;
    }
    // Forward as a new message (Postfix's deliver_indirect), once per address.
    if (!run.request.filter.first_time("indirect " + state.address))
        return;
    run.forwards.add(
        state.delivered, state.sender, state.dsn_envid, state.dsn_ret,
        ForwardRecipient{state.address, state.original, state.dsn_orcpt, state.dsn_notify});
}

// "~/path": the path below the home directory of the rights in force.
std::optional<std::string> home_path(RecipientRun& run, const ExpansionState& state,
                                     const std::string& path) {
    if (path.rfind("~/", 0) != 0)
        return path;
    if (!state.rights || state.rights->home.empty()) {
        log_warning("unknown home directory for: %s", path.c_str());
        report(run, state, ReportKind::bounced, "5.3.5", "mail system configuration error");
        return std::nullopt;
    }
    return state.rights->home + path.substr(1);
}

void deliver_include(RecipientRun& run, ExpansionState state, const std::string& written) {
    auto path = home_path(run, state, written);
    if (!path)
        return;
    if (path->empty() || path->front() != '/') {
        log_warning(":include:%s uses a relative path", path->c_str());
        return report(run, state, ReportKind::bounced, "5.3.5", "mail system configuration error");
    }
    if (!run.request.filter.first_time("include " + *path))
        return;
    const UserRights& reader = delivery_rights(run, state);
    Result<UserFile> file = [&] {
        AsUser as(reader);
        return read_user_file(*path);
    }();
    if (!file) {
        log_warning("unable to lookup :include: file %s: %s", path->c_str(),
                    file.error().message().c_str());
        return report(run, state, ReportKind::bounced, "5.3.5", "mail system configuration error");
    }
    // An include file owned by a user runs its commands and files as that user, so that
    // the file's owner cannot borrow the rights of whoever listed it.
    if (file->info.st_uid != 0) {
        auto owner = user_by_uid(file->info.st_uid);
        if (!owner)
            return report(run, state, ReportKind::deferred, "4.3.0",
                          "cannot find :include: file owner");
        state.rights = *owner;
    }
    state.expansion = ExpansionKind::include;
    state.unmatched = propagated(run.request.settings, ExpansionKind::include, state.unmatched);
    for (const std::string& line :
         destination_lines(file->text, run.request.settings.line_length_limit))
        deliver_list(run, state, line);
}

void deliver_destination(RecipientRun& run, const ExpansionState& state,
                         const Destination& destination) {
    const LocalSettings& settings = run.request.settings;
    int kind = static_cast<int>(state.expansion);
    switch (destination.kind) {
        case DestinationKind::command:
            if ((settings.allow_commands & kind) == 0)
                return report(run, state, ReportKind::bounced, "5.7.1",
                              "mail to command is restricted");
            return deliver_command(run, state, destination.text);
        case DestinationKind::file: {
            if ((settings.allow_files & kind) == 0)
                return report(run, state, ReportKind::bounced, "5.7.1",
                              "mail to file is restricted");
            if (auto path = home_path(run, state, destination.text))
                deliver_file(run, state, *path);
            return;
        }
        case DestinationKind::include:
            return deliver_include(run, state, destination.text);
        case DestinationKind::address:
            return deliver_address(run, state, destination.text);
    }
}

// Every destination of a list; returns how many there were.
int deliver_list(RecipientRun& run, const ExpansionState& state, std::string_view list) {
    std::vector<Destination> destinations = parse_destinations(list);
    for (const Destination& destination : destinations)
        deliver_destination(run, state, destination);
    return static_cast<int>(destinations.size());
}

// Who may be told about problems below an alias: the owner- alias when there is one.
// Returns false when the lookup failed (reported).
bool set_owner(RecipientRun& run, ExpansionState& state, const std::string& name) {
    const LocalSettings& settings = run.request.settings;
    if (!settings.owner_request_special)
        return true;
    auto owner = run.request.aliases.find("owner-" + name);
    if (!owner) {
        report(run, state, ReportKind::deferred, "4.3.0", "alias database unavailable");
        return false;
    }
    if (!*owner) {
        if (settings.reset_owner_alias)
            state.owner.clear();
        return true;
    }
    std::string address = settings.expand_owner_alias ? (*owner)->value : "owner-" + name;
    state.owner = run.request.resolver.rewriter().rewrite(RewriteContext::local, address);
    state.sender = state.owner;
    // A list's members get a message of their own: the original DSN does not apply.
    state.dsn_envid.clear();
    state.dsn_ret = 0;
    state.dsn_orcpt.clear();
    state.original.clear();
    return true;
}

// Rights for |command and /file in an alias: the table owner's, none (default_privs)
// for root's. False when the owner has no passwd entry (reported).
bool set_alias_rights(RecipientRun& run, ExpansionState& state, const std::string& name,
                      uid_t owner) {
    if (owner == 0) {
        state.rights.reset();
        return true;
    }
    auto rights = user_by_uid(owner);
    if (!rights) {
        log_warning("cannot find alias database owner for %s", name.c_str());
        report(run, state, ReportKind::deferred, "4.3.0", "cannot find alias database owner");
        return false;
    }
    state.rights = *rights;
    return true;
}

// True when `name` is an alias (and was delivered, or failed and was reported).
bool deliver_alias(RecipientRun& run, ExpansionState state, const std::string& name) {
    state.level++;
    // An alias that lists itself means the user of that name.
    if (!state.expanded_from.empty() && equals_ignore_case(state.expanded_from, name))
        return false;
    if (state.level > kMaxExpansionLevel) {
        log_warning("alias database loop for %s", name.c_str());
        report(run, state, ReportKind::bounced, "5.4.6", "alias database loop for " + name);
        return true;
    }
    state.expanded_from = name;
    auto found = run.request.aliases.find(name);
    if (!found) {
        report(run, state, ReportKind::deferred, "4.3.0", "alias database unavailable");
        return true;
    }
    if (!*found)
        return false;
    state.expansion = ExpansionKind::alias;
    bool bare_user = !state.extension.empty() && !equals_ignore_case(name, state.local);
    state.unmatched = bare_user ? propagated(run.request.settings, ExpansionKind::alias,
                                             state.delimiter + state.extension)
                                : std::string();
    if (!set_alias_rights(run, state, name, (*found)->owner) || !set_owner(run, state, name))
        return true;
    if (!run.request.settings.frozen_delivered_to)
        state.delivered = state.address;
    state.dsn_notify = notify_below_expansion(state.dsn_notify);
    if (deliver_list(run, state, (*found)->value) < 1) {
        log_warning("no recipient in alias lookup result for %s", name.c_str());
        report(run, state, ReportKind::deferred, "4.3.0", "alias database unavailable");
    }
    return true;
}

// The first .forward of forward_path that exists: its destinations, with the user's
// rights. False when there is none, or it lists nothing (then the mailbox gets the mail).
bool deliver_dotforward(RecipientRun& run, ExpansionState state) {
    const LocalSettings& settings = run.request.settings;
    auto user = user_by_name(state.user);
    if (!user) {
        if (user.error().kind() == ErrorKind::not_found)
            return false;
        report(run, state, ReportKind::deferred, "4.3.0", user.error().message());
        return true;
    }
    if (!run.request.filter.first_time("forward " + state.user))
        return false;
    auto paths = expand_for_recipient(settings.forward_path, attributes_of(state, &*user),
                                      settings.forward_expansion_filter);
    if (!paths) {
        log_warning("forward_path: %s", paths.error().message().c_str());
        report(run, state, ReportKind::deferred, "4.3.5", "mail system configuration error");
        return true;
    }
    for (std::string_view path : split_list(*paths)) {
        Result<UserFile> file = [&] {
            AsUser as(*user);
            return read_user_file(std::string(path));
        }();
        if (!file) {
            if (file.error().kind() != ErrorKind::not_found)
                log_warning("cannot open %.*s: %s", static_cast<int>(path.size()), path.data(),
                            file.error().message().c_str());
            continue;
        }
        if (file->info.st_uid != 0 && file->info.st_uid != user->uid) {
            log_warning("file %.*s has bad owner uid %ld", static_cast<int>(path.size()),
                        path.data(), static_cast<long>(file->info.st_uid));
            continue;
        }
        ExpansionState below = state;
        below.expansion = ExpansionKind::forward;
        // A .forward+ext (a path that used $extension) matched the extension.
        bool matched = !state.extension.empty() &&
                       path.find(state.delimiter + state.extension) != std::string_view::npos;
        below.unmatched =
            state.extension.empty() || matched
                ? std::string()
                : propagated(settings, ExpansionKind::forward, state.delimiter + state.extension);
        below.rights = *user;
        below.expanded_from = state.local;
        below.owner.clear();
        below.dsn_notify = notify_below_expansion(state.dsn_notify);
        if (!settings.frozen_delivered_to)
            below.delivered = state.address;
        int count = 0;
        for (const std::string& line : destination_lines(file->text, settings.line_length_limit))
            count += deliver_list(run, below, line);
        return count > 0;
    }
    return false;
}

void deliver_unknown(RecipientRun& run, ExpansionState state) {
    const LocalSettings& settings = run.request.settings;
    if (!settings.luser_relay.empty()) {
        auto relay = expand_for_recipient(settings.luser_relay, attributes_of(state, nullptr),
                                          settings.forward_expansion_filter);
        if (!relay)
            return report(run, state, ReportKind::deferred, "4.3.5",
                          "mail system configuration error");
        if (deliver_list(run, state, *relay) > 0)
            return;
    }
    if (is_mailer_daemon_or_postmaster(state.user)) {
        log_warning("required alias not found: %s", state.user.c_str());
        return report(run, state, ReportKind::sent, "2.0.0", "discarded");
    }
    report(run, state, ReportKind::bounced, "5.1.1", "unknown user: \"" + state.user + "\"");
}

bool home_directory_missing(RecipientRun& run, const ExpansionState& state) {
    if (!run.request.settings.require_home_directory)
        return false;
    auto user = user_by_name(state.user);
    if (!user)
        return false;
    struct stat info {};
    int result;
    {
        AsUser as(*user);
        result = ::stat(user->home.c_str(), &info);
    }
    if (result == 0)
        return false;
    report(run, state, ReportKind::deferred, "4.3.0",
           "cannot access home directory " + user->home + ": " + std::strerror(errno));
    return true;
}

void deliver_switch(RecipientRun& run, ExpansionState state) {
    state.level++;
    if (deliver_alias(run, state, state.local))
        return;
    if (!state.extension.empty() && deliver_alias(run, state, state.user))
        return;
    // Below an alias with an owner, or from an :include: file: a message of its own.
    if ((!state.owner.empty() && !equals_ignore_case(state.owner, state.user)) ||
        state.expansion == ExpansionKind::include) {
        if (run.request.filter.first_time("indirect " + state.address))
            run.forwards.add(
                state.delivered, state.sender, state.dsn_envid, state.dsn_ret,
                ForwardRecipient{state.address, state.original, state.dsn_orcpt, state.dsn_notify});
        return;
    }
    if (home_directory_missing(run, state))
        return;
    if (deliver_dotforward(run, state))
        return;
    if (deliver_mailbox(run, state))
        return;
    deliver_unknown(run, state);
}

// Local part, domain, user and extension of state.address.
void split_address(const RequestContext& request, ExpansionState& state) {
    const LocalSettings& settings = request.settings;
    state.local = lowercase(state.address);
    if (size_t at = state.local.rfind('@'); at != std::string::npos) {
        state.domain = state.local.substr(at + 1);
        state.local.resize(at);
    } else {
        log_warning("no @ in recipient address: %s", state.local.c_str());
        state.domain.clear();
    }
    ExtensionRules rules;
    rules.delimiters = settings.recipient_delimiter;
    rules.owner_request_special = settings.owner_request_special;
    rules.double_bounce_sender = settings.double_bounce_sender;
    SplitLocalpart split = split_extension(state.local, rules);
    state.user = std::string(split.user);
    state.extension.clear();
    state.delimiter.clear();
    if (!split.extension.empty()) {
        state.delimiter = std::string(split.extension.substr(0, 1));
        state.extension = std::string(split.extension.substr(1));
    }
    if (state.extension.find('/') != std::string::npos) {
        log_warning("%s: address with illegal extension: %s",
                    request.session.request().queue_id.c_str(), state.local.c_str());
        state.user = state.local;
        state.extension.clear();
        state.delimiter.clear();
    }
}

}  // namespace

RecipientAttributes attributes_of(const ExpansionState& state, const UserRights* user) {
    RecipientAttributes a;
    a.user = state.user;
    a.recipient = state.address;
    a.extension = state.extension;
    a.domain = state.domain;
    a.local = state.local;
    a.recipient_delimiter = state.delimiter;
    if (user != nullptr) {
        a.home = user->home;
        a.shell = user->shell;
    }
    return a;
}

bool DuplicateFilter::first_time(const std::string& key) {
    if (seen_.size() >= limit_)
        return true;
    return seen_.insert(lowercase(key)).second;
}

ExpansionState initial_state(const DeliveryRequest& request, const DeliveryRecipient& recipient,
                             const LocalSettings& settings) {
    ExpansionState state;
    state.address = recipient.address;
    state.sender = request.sender;
    state.original = settings.enable_original_recipient ? recipient.original : std::string();
    state.dsn_orcpt = recipient.dsn_orcpt;
    state.dsn_notify = recipient.dsn_notify;
    state.dsn_envid = request.dsn_envid;
    state.dsn_ret = request.dsn_ret;
    return state;
}

void report(RecipientRun& run, const ExpansionState& state, ReportKind kind,
            std::string_view status, const std::string& reason) {
    run.request.session.report(run.index, kind, make_delivery_status(status, reason), {},
                               state.address);
}

void deliver_recipient(RecipientRun& run, ExpansionState state) {
    state.level++;
    if (!run.request.filter.first_time("recipient " + std::to_string(state.level) + " " +
                                       state.address))
        return;
    if (run.request.delivered_headers.contains(state.address))
        return report(run, state, ReportKind::bounced, "5.4.6",
                      "mail forwarding loop for " + state.address);
    if (state.delivered.empty())
        state.delivered = state.address;
    state.unmatched.clear();  // an address of an expansion has its own extension
    split_address(run.request, state);
    if (state.user.empty())
        return report(run, state, ReportKind::bounced, "5.1.3",
                      "null username in " + state.address);
    deliver_switch(run, std::move(state));
}

}  // namespace postern::local
