// sendmail's command line; see command_line.hpp.
#include "tools/sendmail/command_line.hpp"

#include <getopt.h>

#include <cstdio>
#include <string_view>

#include "queue/queue_file.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace postern::sendmail {
namespace {

// Postfix's option letters; -q takes an optional value (-q alone flushes the queue).
constexpr const char* kOptionLetters = "+:A:B:C:F:GIL:N:O:R:UV:X:b:ce:f:h:imno:p:q::r:tvx";

// An allprint() check: printable ASCII, at least one character.
bool printable_text(std::string_view text) {
    if (text.empty())
        return false;
    for (unsigned char c : text)
        if (c < 0x20 || c > 0x7e)
            return false;
    return true;
}

void set_mode_from_b(Options& options, const char* value) {
    switch (value[0]) {
        case 'd':
        case 'l':
            options.mode = Mode::daemon;
            return;
        case 'h':  // host status: Postfix has none
        case 'H':
            return;
        case 'i':
            options.mode = Mode::newaliases;
            return;
        case 'm':
            options.mode = Mode::enqueue;
            return;
        case 'p':
            options.mode = Mode::mailq;
            return;
        case 's':
            options.mode = Mode::smtp;
            return;
        case 'v':
            options.mode = Mode::verify;
            return;
        default:
            log_fatal("unsupported: -b%c", value[0]);
    }
}

void set_queue_option(Options& options, const char* value) {
    if (value == nullptr || value[0] == '\0') {
        options.mode = Mode::flush;
    } else if (value[0] == 'R') {
        options.site_to_flush = value + 1;
        if (options.site_to_flush.empty())
            log_fatal("specify: -qRsitename");
    } else if (value[0] == 'I') {
        options.id_to_flush = value + 1;
        if (options.id_to_flush.empty())
            log_fatal("specify: -qIqueueid");
    } else if (value[0] < '0' || value[0] > '9') {
        log_fatal("-q%c is not implemented", value[0]);
    }
    // -qINTERVAL: the queue manager's schedule is queue_run_delay; ignored.
}

void set_o_option(Options& options, const char* value) {
    switch (value[0]) {
        case 'A':
            if (value[1] == '\0')
                log_fatal("-oA requires pathname");
            options.alias_database = value + 1;
            return;
        case 'i':
            options.dot_ends_input = false;
            return;
        default:  // -o7, -o8, -om and the rest of Sendmail's options: ignored
            return;
    }
}

void set_x_option(Options& options, const char* value) {
    if (value[0] != 'V')
        log_fatal("unsupported: -X%c", value[0]);
    options.verp = std::string(value + 1);
}

void set_return(Options& options, const char* value) {
    if (equals_ignore_case(value, "full"))
        options.dsn_ret = dsn::ret_full;
    else if (equals_ignore_case(value, "hdrs"))
        options.dsn_ret = dsn::ret_hdrs;
    else
        log_warning("bad -R option value -- ignored");
}

void set_envelope_id(Options& options, const char* value) {
    std::string_view text(value);
    if (!printable_text(text))
        log_warning("bad syntax in -V option value -- ignored");
    else if (text.size() > 100)
        log_warning("too long -V option value -- ignored");
    else
        options.envelope_id = text;
}

void set_body_type(Options& options, const char* value) {
    std::string_view type(value);
    if (type == "8BITMIME")
        options.encoding = "8bit";
    else if (type == "7BIT")
        options.encoding = "7bit";
    else
        log_fatal("-B option needs 8BITMIME or 7BIT");
}

[[noreturn]] void usage_error(int option) {
    std::fprintf(stderr, "sendmail: %s -- '%c'\n",
                 option == ':' ? "option requires an argument" : "invalid option", optopt);
    log_fatal("usage: sendmail [options]");
}

void apply_option(Options& options, int option, const char* value) {
    switch (option) {
        case 'B':
            set_body_type(options, value);
            break;
        case 'C':
            options.config_directory = config_directory_from_argument(value);
            break;
        case 'F':
            options.full_name = value;
            break;
        case 'G':  // a gateway submission: header addresses are not made local
            options.gateway = true;
            break;
        case 'I':
            options.mode = Mode::newaliases;
            break;
        case 'N':
            options.dsn_notify = parse_dsn_notify(value);
            break;
        case 'R':
            set_return(options, value);
            break;
        case 'V':
            set_envelope_id(options, value);
            break;
        case 'X':
            set_x_option(options, value);
            break;
        case 'b':
            set_mode_from_b(options, value);
            break;
        case 'f':
        case 'r':
            options.sender = value;
            break;
        case 'i':
            options.dot_ends_input = false;
            break;
        case 'n':
            log_fatal("-n option not supported");
        case 'o':
            set_o_option(options, value);
            break;
        case 'q':
            set_queue_option(options, value);
            break;
        case 't':
            options.extract_recipients = true;
            break;
        case 'v':
            ++options.verbose;
            break;
        case 'A':  // -Am, -Ac: one configuration for every kind of submission
        case 'L':  // the log label: syslog_name
        case 'O':  // -O option=value: main.cf instead
        case 'U':  // initial user submission
        case 'c':
        case 'e':
        case 'h':  // hop count: hopcount_limit
        case 'm':  // the sender is never left out of alias expansions
        case 'p':
        case 'x':
            break;
        default:
            usage_error(option);
    }
}

void check_conflicts(const Options& options) {
    if (options.extract_recipients && options.mode != Mode::enqueue)
        log_fatal("-t can be used only in delivery mode");
    if (!options.site_to_flush.empty() && options.mode != Mode::enqueue)
        log_fatal("-qR can be used only in delivery mode");
    if (!options.id_to_flush.empty() && options.mode != Mode::enqueue)
        log_fatal("-qI can be used only in delivery mode");
}

}  // namespace

std::string config_directory_from_argument(const std::string& argument) {
    size_t slash = argument.rfind('/');
    std::string_view last = slash == std::string::npos
                                ? std::string_view(argument)
                                : std::string_view(argument).substr(slash + 1);
    if (!last.ends_with(".cf"))
        return argument;
    if (slash == std::string::npos)
        return ".";
    return slash == 0 ? "/" : argument.substr(0, slash);
}

int parse_dsn_notify(const std::string& value) {
    int mask = 0;
    bool never = false;
    bool valid = true;
    for (std::string_view word : split_list(value)) {
        if (equals_ignore_case(word, "never")) {
            never = true;
        } else if (equals_ignore_case(word, "success")) {
            mask |= dsn::notify_success;
        } else if (equals_ignore_case(word, "failure")) {
            mask |= dsn::notify_failure;
        } else if (equals_ignore_case(word, "delay")) {
            mask |= dsn::notify_delay;
        } else {
            log_warning("unknown DSN NOTIFY command value \"%s\" in \"%s\"",
                        std::string(word).c_str(), value.c_str());
            valid = false;
        }
    }
    if (never && mask == 0 && valid)
        return dsn::notify_never;
    if (!valid || never || mask == 0) {
        log_warning("bad -N option value -- ignored");
        return 0;
    }
    return mask;
}

Options parse_command_line(int argc, char** argv, const std::string& program) {
    Options options;
    if (program == "mailq")
        options.mode = Mode::mailq;
    else if (program == "newaliases")
        options.mode = Mode::newaliases;
    opterr = 0;
    optind = 1;
    int option;
    while ((option = getopt(argc, argv, kOptionLetters)) != -1)
        apply_option(options, option, optarg);
    for (int i = optind; i < argc; ++i)
        options.recipients.emplace_back(argv[i]);
    check_conflicts(options);
    return options;
}

}  // namespace postern::sendmail
