// qmgr-queue-writer: writes test messages straight into a queue with lib/queue's writer,
// as cleanup would, for qmgr's system tests (many messages without a process per
// message). Not installed.
//
//   qmgr-queue-writer -c CONFIG_DIR [-n COUNT] [-q QUEUE] [-a AGE] [-w SECONDS]
//                     [-N NOTIFY] -f SENDER RECIPIENT...
//
//   -n   how many messages (default 1), each to every RECIPIENT
//   -q   the queue (default incoming); hold, deferred... for the tests that need it
//   -a   arrival (and create_time) AGE seconds in the past, for expiry tests
//   -w   a W record: the delay warning is due SECONDS after the arrival
//   -N   DSN NOTIFY for every recipient: success, failure, delay or never (comma list)
//   -f   the envelope sender; "" is the null sender
// Prints one queue ID per line. It runs as mail_owner (it switches to it when started as
// root), so the files belong to the account qmgr runs as, as cleanup's do.
#include <getopt.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "queue/queue_file.hpp"
#include "util/log.hpp"
#include "util/privileges.hpp"
#include "util/strings.hpp"

using namespace postern;

namespace {

struct Options {
    std::string config_directory;
    long count = 1;
    std::string queue = "incoming";
    long age = 0;
    long warning = -1;
    int notify = 0;
    std::string sender;
    bool have_sender = false;
    std::vector<std::string> recipients;
};

int parse_notify(std::string_view text) {
    int flags = 0;
    for (std::string_view word : split_list(text, ",")) {
        if (word == "success")
            flags |= dsn::notify_success;
        else if (word == "failure")
            flags |= dsn::notify_failure;
        else if (word == "delay")
            flags |= dsn::notify_delay;
        else if (word == "never")
            flags |= dsn::notify_never;
        else
            log_fatal("bad -N value: %s", std::string(word).c_str());
    }
    return flags;
}

Options parse_options(int argc, char** argv) {
    Options options;
    int option;
    while ((option = getopt(argc, argv, "c:n:q:a:w:N:f:")) != -1) {
        switch (option) {
            case 'c':
                options.config_directory = optarg;
                break;
            case 'n':
                options.count = std::stol(optarg);
                break;
            case 'q':
                options.queue = optarg;
                break;
            case 'a':
                options.age = std::stol(optarg);
                break;
            case 'w':
                options.warning = std::stol(optarg);
                break;
            case 'N':
                options.notify = parse_notify(optarg);
                break;
            case 'f':
                options.sender = optarg;
                options.have_sender = true;
                break;
            default:
                log_fatal("usage: qmgr-queue-writer -c dir [-n count] -f sender rcpt...");
        }
    }
    for (int i = optind; i < argc; ++i)
        options.recipients.emplace_back(argv[i]);
    if (options.config_directory.empty() || !options.have_sender || options.recipients.empty())
        log_fatal("usage: qmgr-queue-writer -c dir [-n count] -f sender rcpt...");
    return options;
}

void write_message(const Options& options, const std::string& queue_directory,
                   const QueueFileOptions& file_options, long serial) {
    QueueFileWriter writer =
        or_fatal(QueueFileWriter::create(queue_directory, options.queue, file_options));
    QueueTime now = queue_time_now();
    QueueTime arrival{now.seconds - options.age, now.microseconds};
    writer.arrival_time(arrival);
    writer.attribute("create_time", std::to_string(arrival.seconds));
    writer.attribute("rewrite_context", "local");
    writer.sender(options.sender);
    if (options.warning >= 0)
        writer.warning_time(arrival.seconds + options.warning);
    for (const std::string& address : options.recipients) {
        QueueRecipient recipient;
        recipient.address = address;
        recipient.dsn_notify = options.notify;
        writer.recipient(recipient);
    }
    writer.begin_content();
    writer.content_line("Subject: qmgr test message " + std::to_string(serial));
    writer.content_line("");
    writer.content_line("test body " + std::to_string(serial));
    writer.begin_extracted();
    or_fatal(writer.commit());
    std::printf("%s\n", writer.queue_id().c_str());
}

}  // namespace

int main(int argc, char** argv) {
    Options options = parse_options(argc, argv);
    Config config = or_fatal(Config::load(options.config_directory));
    std::string queue_directory = or_fatal(config.get("queue_directory"));
    if (::geteuid() == 0) {
        UserAccount owner = or_fatal(
            check_mail_owner(options.config_directory, or_fatal(config.get("mail_owner"))));
        or_fatal(drop_privileges(owner));
    }
    QueueFileOptions file_options;
    file_options.hashing = or_fatal(QueueHashing::from_config(config));
    file_options.id_form = or_fatal(config.get_boolean("enable_long_queue_ids"))
                               ? QueueIdForm::long_form
                               : QueueIdForm::short_form;
    for (long i = 0; i < options.count; ++i)
        write_message(options, queue_directory, file_options, i);
    return 0;
}
