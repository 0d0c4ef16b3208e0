// The master.cf attributes of a pipe(8) service and the expansion of its argv= macros.
//
// Where it sits: pipe/, between the service's arguments (the administrator's, trusted)
// and the command's argv, whose words carry the envelope (the network's: each macro
// becomes exactly one word or, for per-recipient macros, one word per recipient; nothing
// is ever handed to a shell).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "queue/delivery_request.hpp"
#include "util/result.hpp"

namespace postern::pipe {

struct PipeAttributes {
    std::string flags;       // flags=: D F O R X h q u . > B (as Postfix)
    std::string user;        // user=name[:group]
    std::string group;       // the :group part, empty: the user's own group
    std::string directory;   // directory=
    std::string eol = "\n";  // eol=, with \n \r \t escapes
    std::string null_sender = "MAILER-DAEMON";
    int64_t size_limit = 0;  // size=
    std::vector<std::string> argv;
    bool has(char flag) const { return flags.find(flag) != std::string::npos; }
};

// Parses the arguments after the program name; an unknown attribute or no argv= is an
// ErrorKind::config error.
Result<PipeAttributes> parse_pipe_attributes(const std::vector<std::string>& arguments);

// The command's words for the request's recipients: ${sender}, ${recipient}, ${user}...
// A word holding a per-recipient macro (recipient, original_recipient, user, extension,
// mailbox, domain) is repeated once per recipient, as Postfix does.
std::vector<std::string> expand_argv(const PipeAttributes& attributes,
                                     const DeliveryRequest& request,
                                     const std::vector<size_t>& recipients,
                                     const std::string& recipient_delimiter);

}  // namespace postern::pipe
