// pickup: the daemon that moves local submissions from queue_directory/maildrop/ into the
// queue, compatible with Postfix's pickup(8).
//
// In the mail flow: sendmail -> postdrop -> maildrop/ID -> pickup -> cleanup -> incoming/.
// master.cf: `pickup unix n - n 60 1 pickup`: a public trigger service (postdrop wakes it
// through public/pickup after each submission, master every 60 seconds), one process.
// Each wake-up scans maildrop/ (maildrop_scan.hpp) and streams every ready file to cleanup
// (pickup_copy.hpp); the request bytes themselves mean nothing to pickup.
//
// Untrusted: the maildrop files, written by local users. Privileges: mail_owner after the
// skeleton's drop (chrooted when master.cf says so); pickup opens no file for writing and
// removes a maildrop file only when cleanup has queued its message or it is bad.
#include <ctime>
#include <optional>

#include "pickup/maildrop_scan.hpp"
#include "server/trigger_server.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

using namespace postern;

namespace {

pickup::PickupSettings& settings() {
    static pickup::PickupSettings value;
    return value;
}

template <typename T>
T required(Result<T> value) {
    if (!value)
        log_fatal(value.error());
    return std::move(*value);
}

// cleanup's flags for mail from pickup, less what receive_override_options turns off.
int64_t cleanup_flags(const Config& config) {
    int64_t flags = cleanup_flag::bounce | cleanup_flag::mask_external;
    for (const std::string& option : required(config.get_list("receive_override_options"))) {
        if (option == "no_address_mappings")
            flags &= ~cleanup_flag::map_ok;
        else if (option == "no_header_body_checks")
            flags &= ~cleanup_flag::filter;
        else if (option == "no_milters")
            flags &= ~cleanup_flag::milter;
    }
    return flags;
}

bool smtputf8_autodetect(const Config& config) {
    if (!required(config.get_boolean("smtputf8_enable")))
        return false;
    for (const std::string& source : required(config.get_list("smtputf8_autodetect_classes")))
        if (equals_ignore_case(source, "sendmail") || equals_ignore_case(source, "all"))
            return true;
    return false;
}

Status read_settings(ServerContext& context) {
    if (!context.arguments().empty())
        log_fatal("unexpected command-line argument: %s", context.arguments().front().c_str());
    const Config& config = context.config;
    pickup::PickupSettings& s = settings();
    int64_t limit = required(config.get_integer("line_length_limit"));
    if (limit <= 0)
        log_fatal("bad line_length_limit value: %lld", static_cast<long long>(limit));
    s.line_length_limit = static_cast<size_t>(limit);
    s.myhostname = required(config.get("myhostname"));
    s.mail_name = required(config.get("mail_name"));
    s.content_filter = std::string(trim(required(config.get("content_filter"))));
    s.cleanup_flags = cleanup_flags(config);
    s.smtputf8_autodetect = smtputf8_autodetect(config);
    s.mail_owner_uid = context.mail_owner.uid;
    s.ipc_timeout = context.settings.ipc_timeout;
    s.cleanup_socket = "public/" + required(config.get("cleanup_service_name"));
    // The time zone is read now: a chrooted pickup has no /etc/localtime to read later.
    ::tzset();
    return {};
}

Status wake_up(std::string_view, ServerContext&) {
    pickup::scan_maildrop(settings());
    return {};
}

}  // namespace

int main(int argc, char** argv) {
    return run_trigger_server(
        argc, argv,
        TriggerServerHooks{.trigger = wake_up, .pre_init = read_settings, .solitary = true});
}
