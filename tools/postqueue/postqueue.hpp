// postqueue: the unprivileged user's queue command, compatible with Postfix's
// postqueue [-v] [-c config_dir] -f | -i queue_id | -j | -p | -s site.
//
// In the mail flow it is a client of three services: showq (the listing, -p and -j),
// qmgr and pickup (-f: retry deferred mail now), flush (-i, -s: the fast-flush service).
// It runs set-gid setgid_group so that it can reach queue_directory/public, and is started
// by any local user: the command line and the environment are untrusted. A configuration
// directory other than the default is accepted from such a user only when the default
// main.cf lists it (alternate_config_directories, multi_instance_directories), or the
// user could point the set-gid program at a main.cf of their own; authorized_mailq_users
// and authorized_flush_users say who may list and flush. Every fatal error exits 69
// (EX_UNAVAILABLE), as Postfix's postqueue does.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>

#include "config/config.hpp"

namespace postern::postqueue {

inline constexpr int kExitUnavailable = 69;  // EX_UNAVAILABLE

struct Invocation {
    Config config;
    std::string config_directory;
    std::string queue_directory;
    std::string daemon_directory;
    std::chrono::milliseconds ipc_timeout{std::chrono::seconds(3600)};
    uid_t uid = 0;
    std::string user;         // the invoking user's name, or the uid as text
    bool privileged = false;  // root or mail_owner: the access lists do not apply
    int verbose = 0;
};

// -p (json = false) and -j. Returns the exit status.
int show_queue(const Invocation& invocation, bool json);
// -f, -i ID and -s SITE. Return the exit status; errors are fatal.
int flush_queue(const Invocation& invocation);
int flush_queue_id(const Invocation& invocation, const std::string& queue_id);
int flush_site(const Invocation& invocation, const std::string& site);

// The access lists: fatal "User NAME(UID) is not allowed to ..." when refused.
void require_mailq_access(const Invocation& invocation);
void require_flush_access(const Invocation& invocation);

}  // namespace postern::postqueue
