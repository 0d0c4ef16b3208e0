// The command line every daemon gets from master (master_protocol.hpp), parsed once for
// all three skeletons.
//
// Where it sits: lib/server, the first thing a daemon does. The words come from master,
// which built them from master.cf: the administrator's text, so a bad option is a clear
// `fatal:` line naming it, never a crash. Parsing is pure (no environment, no files) so
// that it can be tested table-driven.
//
//   command [-cdlSuvz] [-n service] [-o name=value]... [-s count] [-t type]
//           [--] [daemon arguments...]
//
// As getopt(3) with POSIX semantics: flags may be grouped ("-uc"), an option's value may be
// attached ("-s2", "-oname=value") or the next word ("-o" "name=value"); the options end at
// the first word that does not start with '-', or after "--". Unlike Postfix's daemons,
// `-c` here means chroot, as master passes it; the configuration directory comes from
// MAIL_CONFIG. A `-o` value may be braced ("-o{ name = value }", or "{ name = value }" as
// the next word), and white space around '=' is ignored, as in master.cf.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/master_cf.hpp"
#include "util/result.hpp"

namespace postern {

struct ServerOptions {
    std::string program;                       // base name of argv[0]: "smtpd"
    std::string service_name;                  // -n, else the program name
    std::optional<ServiceType> transport;      // -t; may be absent only with -S
    bool solitary = false;                     // -l: master runs one process at most
    bool unlimited = false;                    // -z: master runs any number of processes
    bool debug = false;                        // -d: also log to stderr
    int verbose = 0;                           // -v, counted
    bool unprivileged = false;                 // -u: drop to mail_owner
    bool chroot = false;                       // -c: chroot to queue_directory
    int listen_count = 1;                      // -s
    bool stand_alone = false;                  // -S: one client on stdin/stdout, no master
    std::vector<MasterCfParameter> overrides;  // -o, in command-line order
    std::vector<std::string> arguments;        // what follows the options
};

// The largest -s value accepted; far beyond any real service.
inline constexpr int kMaxListenCount = 1024;

// `words` is the whole argv, program name first. Errors are ErrorKind::config with a text
// for a `fatal:` line: "invalid option: -x", "option requires an argument: -o",
// "invalid socket_count: 0", "unsupported transport type: tcp",
// "invalid \"-o foo\" option value: missing '=' after attribute name".
Result<ServerOptions> parse_server_options(const std::vector<std::string>& words);
Result<ServerOptions> parse_server_options(int argc, char** argv);

// "smtpd" for "/usr/libexec/postern/smtpd".
std::string program_base_name(const std::string& path);

}  // namespace postern
