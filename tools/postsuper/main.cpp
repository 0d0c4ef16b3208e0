// postsuper: the queue superintendent (see postsuper.hpp). This file holds the command
// line, the configuration, the privilege drop and the order of work; superintendent.cpp
// does the work.
#include <getopt.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <ctime>
#include <iostream>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "config/log_settings.hpp"
#include "tools/postsuper/postsuper.hpp"
#include "util/file.hpp"
#include "util/log.hpp"
#include "util/privileges.hpp"

namespace postern::postsuper {
namespace {

const char* kUsage =
    "usage: postsuper [-c config_dir] [-d queue_id (delete)] [-e queue_id (expire)] "
    "[-f queue_id (expire and/or un-hold)] [-h queue_id (hold)] [-H queue_id (un-hold)] "
    "[-p (purge temporary files)] [-r queue_id (requeue)] [-s (structure fix)] "
    "[-S (redundant structure fix)][-v (verbose)] [queue...]";

// One -d, -r, -h, -H, -e or -f with a queue ID (or "-"), done in command-line order as
// Postfix does.
struct ByIdRequest {
    char option;
    std::string id;
};

struct Options {
    unsigned actions = 0;
    std::vector<ByIdRequest> by_id;
    std::string config_directory;
    std::vector<std::string> queues;  // empty: the operation's default queues
    int verbose = 0;
};

// -d ID and -d ALL; the same for -r, -h, -H, -e, -f. ALL in upper case only: "all" is an
// ID (that names no message).
void add_target(Options& options, char option, const char* id, unsigned one, unsigned all) {
    if (std::strcmp(id, "ALL") == 0) {
        options.actions |= all;
        return;
    }
    options.by_id.push_back(ByIdRequest{option, id});
    options.actions |= one;
}

Options parse_command_line(int argc, char** argv) {
    Options options;
    opterr = 0;
    int option;
    while ((option = getopt(argc, argv, ":c:d:e:f:h:H:pr:sSv")) != -1) {
        switch (option) {
            case 'c':
                if (optarg[0] != '/')
                    log_fatal("-c requires absolute pathname");
                options.config_directory = optarg;
                break;
            case 'd':
                add_target(options, 'd', optarg, kDeleteOne, kDeleteAll);
                break;
            case 'e':
                add_target(options, 'e', optarg, kExpireOne, kExpireAll);
                break;
            case 'f':  // expire, and release from hold
                add_target(options, 'f', optarg, kExpireOne | kReleaseOne,
                           kExpireAll | kReleaseAll);
                break;
            case 'h':
                add_target(options, 'h', optarg, kHoldOne, kHoldAll);
                break;
            case 'H':
                add_target(options, 'H', optarg, kReleaseOne, kReleaseAll);
                break;
            case 'r':
                add_target(options, 'r', optarg, kRequeueOne, kRequeueAll);
                break;
            case 'p':
                options.actions |= kPurge;
                break;
            case 's':
                options.actions |= kStructure;
                break;
            case 'S':
                options.actions |= kStructure | kStrictNames;
                break;
            case 'v':
                ++options.verbose;
                break;
            default:
                std::cerr << "postsuper: "
                          << (option == ':' ? "option requires an argument -- '"
                                            : "invalid option -- '")
                          << static_cast<char>(optopt) << "'\n";
                log_fatal("%s", kUsage);
        }
    }
    for (int i = optind; i < argc; ++i)
        options.queues.emplace_back(argv[i]);
    return options;
}

// "ALL" and IDs of one operation together: ALL wins, as in Postfix.
void drop_ids_under_all(Options& options) {
    struct Pair {
        unsigned one, all;
        const char* option;
    };
    for (Pair pair : {Pair{kDeleteOne, kDeleteAll, "-d"}, Pair{kRequeueOne, kRequeueAll, "-r"},
                      Pair{kHoldOne, kHoldAll, "-h"}, Pair{kReleaseOne, kReleaseAll, "-H"}}) {
        if ((options.actions & pair.one) && (options.actions & pair.all)) {
            log_warning("option \"%s ALL\" will ignore other command line queue IDs", pair.option);
            options.actions &= ~pair.one;
        }
    }
}

// ---- Interruption ----

// Set once a structural change began, so that an interrupted run says the queue needs
// another run. Read by the signal handler.
volatile sig_atomic_t structure_changing = 0;

void interrupted(int signal_number) {
    static const char kWarning[] =
        "postsuper: warning: OPERATION INCOMPLETE -- RERUN COMMAND TO FIX THE QUEUE FIRST\n";
    if (structure_changing)
        (void)!::write(STDERR_FILENO, kWarning, sizeof kWarning - 1);
    ::_exit(signal_number);
}

void install_signal_handlers() {
    for (int signal_number : {SIGHUP, SIGINT, SIGQUIT, SIGTERM}) {
        struct sigaction action {};
        action.sa_handler = interrupted;
        sigemptyset(&action.sa_mask);
        ::sigaction(signal_number, &action, nullptr);
    }
}

// ---- Configuration and privileges ----

struct Setup {
    QueueHashing hashing;
    QueueIdForm id_form = QueueIdForm::short_form;
};

// Reads main.cf, starts logging, changes into queue_directory and becomes mail_owner:
// from here on nothing runs as root.
Setup load_and_drop_privileges(const Options& options) {
    std::string directory = options.config_directory.empty() ? Config::default_config_directory()
                                                             : options.config_directory;
    Config config = or_fatal(Config::load(directory));
    config.set_override("config_directory", directory);
    LogSettings logging = log_settings_from_config(config, "postsuper");
    logging.also_stderr = true;
    logging.verbose = options.verbose;
    if (Status started = log_init(logging); !started)
        log_fatal(started.error());
    std::string queue_directory = or_fatal(config.get("queue_directory"));
    if (::chdir(queue_directory.c_str()) != 0)
        log_fatal("chdir %s: %s", queue_directory.c_str(), std::strerror(errno));
    UserAccount owner = or_fatal(check_mail_accounts(directory, or_fatal(config.get("mail_owner")),
                                                     or_fatal(config.get("setgid_group"))));
    or_fatal(drop_privileges(owner.uid, owner.gid, {owner.gid}));
    Setup setup;
    setup.hashing = or_fatal(QueueHashing::from_config(config));
    setup.id_form = or_fatal(config.get_boolean("enable_long_queue_ids")) ? QueueIdForm::long_form
                                                                          : QueueIdForm::short_form;
    return setup;
}

const std::vector<std::string>& queues_for(const Options& options,
                                           const std::vector<std::string>& defaults) {
    return options.queues.empty() ? defaults : options.queues;
}

void check_queue_names(const std::vector<std::string>& queues) {
    for (const std::string& queue : queues)
        if (!queue_name_ok(queue) || find_queue_info(queue) == nullptr)
            log_fatal("invalid directory name: %s", queue.c_str());
}

// ---- By queue ID ----

// One queue ID for one request. -f expires wherever the message is and releases it when
// it is in hold (and hold is among the queues).
void operate_on(Superintendent& work, const Options& options, char option, std::string_view id) {
    Counters& counters = work.counters();
    switch (option) {
        case 'd':
            counters.deleted += work.delete_one(queues_for(options, default_queues()), id);
            break;
        case 'r':
            counters.requeued += work.requeue_one(queues_for(options, default_queues()), id);
            break;
        case 'h':
            counters.held += work.hold_one(queues_for(options, default_hold_queues()), id);
            break;
        case 'H':
            counters.released +=
                work.release_one(queues_for(options, default_release_queues()), id);
            break;
        case 'e':
        case 'f':
            counters.expired += work.expire_one(queues_for(options, default_queues()), id);
            if (option == 'f')
                counters.released +=
                    work.release_one(queues_for(options, default_release_queues()), id);
            break;
    }
}

// The option's "ALL" took its IDs away (drop_ids_under_all).
bool dropped(const Options& options, char option) {
    switch (option) {
        case 'd':
            return (options.actions & kDeleteOne) == 0;
        case 'r':
            return (options.actions & kRequeueOne) == 0;
        case 'h':
            return (options.actions & kHoldOne) == 0;
        case 'H':
            return (options.actions & kReleaseOne) == 0;
        default:
            return false;
    }
}

// Each request in command-line order; "-" reads one ID a line from stdin.
void operate_by_ids(Superintendent& work, const Options& options) {
    for (const ByIdRequest& request : options.by_id) {
        if (dropped(options, request.option))
            continue;
        if (request.id != "-") {
            operate_on(work, options, request.option, request.id);
            continue;
        }
        for (std::string line; std::getline(std::cin, line);)
            operate_on(work, options, request.option, line);
    }
}

// ---- Report ----

void report_count(const char* what, int count) {
    log_info("%s: %d message%s", what, count, count == 1 ? "" : "s");
}

// One line per operation asked for, zero counts included (as Postfix 3.7 reports them).
void report(const Options& options, const Counters& counters) {
    const unsigned actions = options.actions;
    if (actions & (kRequeueOne | kRequeueAll))
        report_count("Requeued", counters.requeued);
    if (actions & (kDeleteOne | kDeleteAll))
        report_count("Deleted", counters.deleted);
    if (actions & (kExpireOne | kExpireAll))
        report_count("Force-expired", counters.expired);
    if (actions & (kHoldOne | kHoldAll))
        report_count("Placed on hold", counters.held);
    if (actions & (kReleaseOne | kReleaseAll))
        report_count("Released from hold", counters.released);
    if (counters.inode_fixed > 0)
        report_count("Renamed to match inode number", counters.inode_fixed);
    if (counters.inode_mismatch > 0 || counters.inode_fixed > 0)
        log_warning("QUEUE FILE NAMES WERE CHANGED TO MATCH INODE NUMBERS");
}

const std::vector<std::string>& pass_queues(const Options& options) {
    if (!options.queues.empty())
        return options.queues;
    if (options.actions == kHoldAll)
        return default_hold_queues();
    if (options.actions == kReleaseAll)
        return default_release_queues();
    return default_queues();
}

int run(int argc, char** argv) {
    ensure_standard_descriptors();
    ::umask(022);
    LogSettings early;
    early.program = "postsuper";
    early.also_stderr = true;
    (void)log_init(early);
    if (::geteuid() != ::getuid() || ::getegid() != ::getgid())
        log_fatal("this postfix command must not run as a set-uid process");
    if (::getuid() != 0)
        log_fatal("use of this command is reserved for the superuser");
    Options options = parse_command_line(argc, argv);
    Setup setup = load_and_drop_privileges(options);
    install_signal_handlers();
    drop_ids_under_all(options);
    if (options.actions == 0)
        options.actions = kDefaultActions;
    check_queue_names(options.queues);

    Superintendent work(setup.hashing, setup.id_form, std::time(nullptr));
    // The pass first: files in their right place before anything is looked up by name.
    if (options.actions & ~kActionsById) {
        structure_changing = (options.actions & kStructure) != 0;
        work.pass(pass_queues(options), options.actions);
        // Names changed to NEWID#FIX in the first pass are finished in a second.
        if (work.counters().inode_mismatch > 0)
            work.pass(pass_queues(options), options.actions);
    }
    const Counters& counters = work.counters();
    if ((options.actions & kActionsById) &&
        (counters.inode_mismatch > 0 || counters.inode_fixed > 0)) {
        work.sync_directories();
        log_error("QUEUE FILE NAMES WERE CHANGED TO MATCH INODE NUMBERS");
        log_fatal("CHECK YOUR QUEUE IDS AND RE-ISSUE THE COMMAND");
    }
    operate_by_ids(work, options);
    work.sync_directories();
    structure_changing = 0;
    report(options, counters);
    return 0;
}

}  // namespace
}  // namespace postern::postsuper

int main(int argc, char** argv) {
    return postern::postsuper::run(argc, argv);
}
