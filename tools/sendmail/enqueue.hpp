// sendmail's delivery mode (-bm, the default): build the envelope from the command line,
// read the message from stdin, and hand both to postdrop as Postfix's sendmail does, record
// for record (lib/queue/maildrop.hpp):
//
//   [A envelope_id] [A ret_flags] A rewrite_context=local|remote  F full name  S sender
//   [A encoding] [A trace_flags] [V delimiters]  per recipient: [A notify_flags] R
//   M  N/L content  X  (with -t: [A notify_flags] R per header recipient)  E
//
// The sender is the user's login name unless -f/-r gives one; the envelope is left
// unqualified for cleanup to complete (myorigin). When postdrop has answered that the
// message is in maildrop/, sendmail exits 0; every failure is a "fatal:" line naming the
// sender and the uid, and exit status 75 (EX_TEMPFAIL), as Postfix's sendmail.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "tools/sendmail/command_line.hpp"
#include "tools/sendmail/message_input.hpp"

namespace postern::sendmail {

// Who submits: the real uid, its login name and the full name the passwd file gives.
struct Submitter {
    uid_t uid = 0;
    std::string login;
    std::optional<std::string> full_name;  // NAME, else the GECOS field; nullopt: none
};

// Postfix's fullname(): the GECOS field up to the first ',', ';' or '%', each '&' replaced
// by the login name with its first letter in upper case.
std::string full_name_from_gecos(std::string_view gecos, std::string_view login);

// The main.cf settings delivery mode uses.
struct EnqueueSettings {
    std::string config_directory;
    std::string postdrop_path;  // command_directory/postdrop
    std::vector<std::string> export_environment;
    size_t line_length_limit = 2048;
    LineEndings line_endings = LineEndings::always;
    size_t header_size_limit = 102400;
    size_t header_address_token_limit = 10240;
    std::string default_verp_delimiters = "+=";
    std::string verp_delimiter_filter = "-=+";
};

// Submits the message; returns the exit status (0) or ends the process with a fatal error.
int enqueue(const Options& options, const EnqueueSettings& settings, const Submitter& submitter);

}  // namespace postern::sendmail
