// The parameters local(8) reads, once per process, as typed values.
//
// Where it sits: local/, read in pre_init from the daemon's Config (main.cf and the
// service's -o overrides). Nothing here is untrusted: a bad value is a `fatal:` line at
// start-up, as in Postfix ("configuration error: mailbox_size_limit is smaller than
// message_size_limit"). The values whose $names are filled in per recipient
// (forward_path, luser_relay, mailbox_command, command_execution_directory) are kept
// unexpanded; local_expand.hpp expands them.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "util/result.hpp"

namespace postern::local {

// Where a destination was found: the classes of allow_mail_to_commands,
// allow_mail_to_files (alias, forward, include) and prepend_delivered_header.
enum class ExpansionKind { none = 0, alias = 1, forward = 2, include = 4 };

// mailbox_delivery_lock's methods.
enum class LockMethod { fcntl, flock, dotlock };

// prepend_delivered_header's classes.
namespace delivered_header {
inline constexpr int command = 1;
inline constexpr int file = 2;
inline constexpr int forward = 4;
}  // namespace delivered_header

struct LocalSettings {
    std::string service_name = "local";  // our master.cf name: the transport of local mail
    std::string queue_directory;
    std::string hostname;  // gethostname(): Maildir file names, as Postfix's get_hostname()
    std::string myorigin;

    // Mailbox delivery.
    std::string home_mailbox;
    std::string mail_spool_directory;
    std::string mailbox_command;  // unexpanded
    std::vector<LockMethod> mailbox_locks;
    int64_t mailbox_size_limit = 51200000;
    int64_t message_size_limit = 10240000;
    bool strict_mailbox_ownership = true;
    bool require_home_directory = false;
    int deliver_lock_attempts = 20;
    std::chrono::milliseconds deliver_lock_delay{1000};
    std::chrono::seconds stale_lock_time{500};

    // Aliases and forwarding.
    std::string alias_maps;
    std::string forward_path;  // unexpanded
    std::string luser_relay;   // unexpanded
    std::string recipient_delimiter;
    bool owner_request_special = true;
    bool expand_owner_alias = false;
    bool reset_owner_alias = false;
    bool frozen_delivered_to = true;
    bool enable_original_recipient = true;
    int prepend_delivered =
        delivered_header::command | delivered_header::file | delivered_header::forward;
    int allow_commands =
        static_cast<int>(ExpansionKind::alias) | static_cast<int>(ExpansionKind::forward);
    int allow_files =
        static_cast<int>(ExpansionKind::alias) | static_cast<int>(ExpansionKind::forward);
    // propagate_unmatched_extensions' local classes (none by default: "canonical,
    // virtual"): where "user+ext" found "user", the addresses of the expansion get "+ext".
    int propagate_extensions = 0;
    size_t duplicate_filter_limit = 1000;
    size_t line_length_limit = 2048;
    std::string double_bounce_sender = "double-bounce";

    // Commands and files.
    std::string default_privs = "nobody";
    std::chrono::seconds command_time_limit{1000};
    std::string local_command_shell;
    std::string command_execution_directory;  // unexpanded
    std::vector<std::string> export_environment;
    std::string command_expansion_filter;
    std::string forward_expansion_filter;
    std::string execution_directory_expansion_filter;

    static Result<LocalSettings> from_config(const Config& config);
};

// "alias, forward" -> a mask of ExpansionKind; an unknown word is an error naming the
// parameter.
Result<int> parse_expansion_classes(std::string_view parameter, std::string_view value);
// propagate_unmatched_extensions: the alias, forward and include bits; canonical, virtual
// and generic are other programs' classes, accepted and left out.
Result<int> parse_propagation_classes(std::string_view value);
Result<std::vector<LockMethod>> parse_lock_methods(std::string_view value);
Result<int> parse_delivered_header_classes(std::string_view value);

}  // namespace postern::local
