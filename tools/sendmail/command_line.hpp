// sendmail's command line, as Postfix's sendmail(1) reads it: the Sendmail-compatible
// options (some honoured, some accepted and ignored), the mode they select, and the
// program name (mailq is sendmail -bp, newaliases is sendmail -I).
//
// Untrusted: any local user writes the command line. Parsing stops at the first
// non-option argument (or "--"), so a recipient cannot be taken for an option; values are
// kept as given and checked where they are used. Errors and warnings are Postfix's words.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace postern::sendmail {

enum class Mode {
    enqueue,     // -bm (default): read a message and submit it
    mailq,       // -bp, mailq: postqueue -p
    newaliases,  // -bi, -I, newaliases: postalias on alias_database
    flush,       // -q: postqueue -f
    daemon,      // -bd, -bl: postfix start
    smtp,        // -bs: smtpd -S on stdin and stdout
    verify,      // -bv: not supported yet
};

struct Options {
    Mode mode = Mode::enqueue;
    std::string config_directory;          // -C; empty: MAIL_CONFIG or the default
    std::optional<std::string> sender;     // -f, -r: as given
    std::optional<std::string> full_name;  // -F
    bool extract_recipients = false;       // -t
    bool gateway = false;                  // -G: rewrite_context=remote
    bool dot_ends_input = true;            // cleared by -i, -oi
    int dsn_notify = 0;                    // -N: dsn::notify_* bits; 0: none given
    int dsn_ret = 0;                       // -R: dsn::ret_full or dsn::ret_hdrs
    std::string envelope_id;               // -V
    std::string encoding;                  // -B: "7bit" or "8bit"
    std::optional<std::string> verp;       // -XV[xy]: the delimiters as given ("" = default)
    int verbose = 0;                       // -v count
    std::string alias_database;            // -oA: instead of alias_database
    std::string site_to_flush;             // -qRsite
    std::string id_to_flush;               // -qIqueueid
    std::vector<std::string> recipients;   // the arguments after the options
};

// Parses argv; `program` is argv[0]'s last component (mailq and newaliases preset the
// mode). Usage errors are fatal with exit status 75, as Postfix's sendmail.
Options parse_command_line(int argc, char** argv, const std::string& program);

// The configuration directory -C names: its argument, or the directory of a file whose
// name ends in ".cf" (-C /etc/postfix/main.cf).
std::string config_directory_from_argument(const std::string& argument);

// -N: "never", or a list of success, failure, delay (commas and white space, any case).
// 0 (after Postfix's warnings) when the value is bad.
int parse_dsn_notify(const std::string& value);

}  // namespace postern::sendmail
