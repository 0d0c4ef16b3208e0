// master.cf: the parser for Postfix's service table, one service per logical line.
//
// Where it sits: lib/config. master reads it at start-up and on reload to know which
// sockets to open and which daemons to run with which privileges; postconf -M/-F/-P show
// it. The file is trusted to come from the administrator but not to be well formed: it is
// fuzzed, every problem is an Error or a warning naming the file and the line, nothing
// here throws or reads past its input.
//
// Syntax (master(5)): `#` starts a comment line; blank lines are ignored; a line that
// begins with white space continues the previous logical line (comments and blank lines
// inside a logical line do not end it). A logical line holds eight or more words:
//
//   service type private unpriv chroot wakeup maxproc command [arguments...]
//
// `-` in a field means its default. Words are separated by white space, except that text
// inside `{ }` is one word: `-o { name = value with spaces }` passes one parameter. The
// arguments are normalised the way Postfix shows them: among the daemon options,
// `-oname=value` becomes `-o name=value`, a braced `-o` value loses its braces and the
// space around `=` (and gets braces back when it holds white space), and a braced option
// word loses its braces; after them, a braced word is trimmed inside its braces, which it
// keeps only when it holds white space. The seven fields are kept as written, so
// postconf -M shows what the administrator wrote.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace postern {

enum class ServiceType {
    inet,         // TCP socket, service name is [host:]port
    unix_stream,  // "unix": stream socket in private/ or public/
    unix_dgram,   // "unix-dgram": datagram socket (postlog)
    fifo,         // named pipe in private/ or public/
    pass,         // a socket that receives another daemon's client connections
};

// The master.cf spelling of a type ("unix-dgram"), and back.
std::string_view service_type_name(ServiceType type);
std::optional<ServiceType> parse_service_type(std::string_view name);

// A `-o name=value` daemon option.
struct MasterCfParameter {
    std::string name;
    std::string value;
};

struct MasterCfEntry {
    // The first seven fields as written.
    std::string service;
    std::string type_field;
    std::string private_field;
    std::string unprivileged_field;
    std::string chroot_field;
    std::string wakeup_field;
    std::string process_limit_field;
    // The words after the command, as the file has them (braces included).
    std::vector<std::string> arguments;
    // The command and its arguments, normalised as postconf shows them (see above and
    // normalize_command() for Postfix's quirks); never empty.
    std::vector<std::string> command;
    // The `-o` parameters the daemon will see, in file order (a later one for the same
    // name wins; see parameter()): getopt's reading of exec_arguments().
    std::vector<MasterCfParameter> parameters;
    int first_line = 0;  // where the logical line starts
    int last_line = 0;

    // "service/type", the entry's unique key.
    std::string key() const { return service + "/" + type_field; }

    ServiceType type() const;
    // `-` means yes for private and unprivileged, no for chroot (Postfix 3.0 and later).
    bool is_private() const;
    bool is_unprivileged() const;
    bool is_chrooted() const;
    // Seconds between wake-up triggers; 0 (or `-`) means never.
    Result<int> wakeup_seconds() const;
    // A `?` after the wakeup time: wake the service only once it has been used.
    bool wakeup_only_if_used() const;
    // The process limit; `-` means `default_process_limit`. 0 means no limit.
    Result<int> process_limit(int default_process_limit) const;

    // The program name as master.cf gives it (smtpd, pipe, /usr/lib/x/y).
    const std::string& program() const { return command.front(); }
    // The last component of program(): what $process_name expands to.
    std::string process_name() const;
    // The command line joined by single spaces, as postconf -M shows it.
    std::string command_line() const;
    // The argument vector master execs: program() and arguments, braces removed from
    // every word that starts with `{` (as Postfix's master does). A daemon's `-o` handler
    // must still accept "-o{ name = value }", where the braces stay.
    std::vector<std::string> exec_arguments() const;
    // The value of a `-o` parameter, the last one given.
    std::optional<std::string> parameter(std::string_view name) const;
    // The `-o` parameters as postconf -P shows them: read from `command`, where a lone
    // `-`, like `-o`, takes the next word. They differ from `parameters` only when the
    // normalisation quirks apply.
    std::vector<MasterCfParameter> shown_parameters() const;
};

struct MasterCf {
    std::string path;
    std::vector<MasterCfEntry> entries;  // file order
    std::vector<std::string> warnings;   // problems that did not stop parsing

    const MasterCfEntry* find(std::string_view service, ServiceType type) const;
};

Result<MasterCf> parse_master_cf(std::string_view text, const std::string& path);
Result<MasterCf> read_master_cf(const std::string& path);

// Two entries with the same service name and type. postconf accepts them (as Postfix's
// does); master refuses to start, since both would claim the same socket.
Status check_unique_services(const MasterCf& master_cf);

// The daemon options, as postconf -P and -Mf read the normalised command: the words
// after the command up to one that does not start with `-`, or `--`. Only there is
// `-o name=value` a parameter. A lone `-`, like `-o`, takes the next word with it (as
// Postfix's postconf has it).
bool ends_daemon_options(std::string_view word);
bool option_takes_value(std::string_view word);

// Splits a master.cf line into words: white space separates words except inside `{ }`,
// which may nest. An unbalanced `}` is an ordinary character; an unbalanced `{` runs to
// the end of the line.
std::vector<std::string> split_master_words(std::string_view line);

// The text inside a word that starts with `{`, trimmed: "{ a b }" -> "a b". A missing `}`
// or text after the closing `}` is reported through `problem` (when given), and the
// best-effort text is still returned.
std::string strip_braces(std::string_view word, std::string* problem = nullptr);

// Splits "name = value" (white space around both is ignored; the name ends at white
// space or `=`). On failure the error says what is wrong, as Postfix does.
Result<MasterCfParameter> split_parameter(std::string_view text);

// Formats a `-o` value the way postconf shows it: "name=value", in braces when it holds
// white space.
std::string format_option_value(std::string_view text);

}  // namespace postern
