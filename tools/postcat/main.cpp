// postcat: show queue files (see postcat.hpp).
#include <fcntl.h>
#include <getopt.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>

#include "config/config.hpp"
#include "queue/queue_id.hpp"
#include "tools/postcat/postcat.hpp"
#include "util/file.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace postern::postcat {
namespace {

const char* kUsage =
    "usage: postcat [-b (body text)] [-c config_dir] [-d (decimal record type)] [-e (envelope "
    "records)] [-h (header text)] [-q (access queue)] [-v] [file(s)...]";

// Where -q looks, in Postfix's order.
const char* const kSearchQueues[] = {"maildrop", "incoming", "active", "deferred", "hold", "saved"};

[[noreturn]] void usage_error(int option) {
    std::cerr << "postcat: "
              << (option == ':' ? "option requires an argument -- '" : "invalid option -- '")
              << static_cast<char>(optopt) << "'\n";
    log_fatal("%s", kUsage);
}

Options parse_command_line(int argc, char** argv, std::vector<std::string>& files) {
    Options options;
    opterr = 0;
    int option;
    while ((option = getopt(argc, argv, "bc:dehoqrs:v")) != -1) {
        switch (option) {
            case 'b':
                options.body = true;
                break;
            case 'c':
                options.config_directory = optarg;
                break;
            case 'd':
                options.decimal = true;
                break;
            case 'e':
                options.envelope = true;
                break;
            case 'h':
                options.header = true;
                break;
            case 'o':
                options.offsets = true;
                break;
            case 'q':
                options.search_queue = true;
                break;
            case 'r':
                options.raw = true;
                break;
            case 's': {
                auto offset = parse_integer(optarg);
                if (!offset || *offset < 0)
                    log_fatal("invalid offset argument: %s", optarg);
                options.start = *offset;
                break;
            }
            case 'v':
                ++options.verbose;
                break;
            default:
                usage_error(option);
        }
    }
    if (!options.body && !options.envelope && !options.header)
        options.body = options.envelope = options.header = true;
    for (int i = optind; i < argc; ++i)
        files.emplace_back(argv[i]);
    return options;
}

struct Settings {
    std::string queue_directory;
    QueueHashing hashing;
};

Settings load_settings(const Options& options) {
    std::string directory = options.config_directory.empty() ? Config::default_config_directory()
                                                             : options.config_directory;
    Result<Config> config = Config::load(directory);
    if (!config)
        log_fatal(config.error());
    Settings settings;
    Result<std::string> queue = config->get("queue_directory");
    Result<QueueHashing> hashing = QueueHashing::from_config(*config);
    if (!queue)
        log_fatal(queue.error());
    if (!hashing)
        log_fatal(hashing.error());
    settings.queue_directory = *queue;
    settings.hashing = *hashing;
    return settings;
}

void show(const Options& options, int fd, const std::string& name) {
    Status shown = print_queue_file(options, fd, name);
    if (!shown)
        log_fatal("%s", shown.error().message().c_str());
}

// -q: the first queue that has the ID, named as Postfix names it ("deferred/B/ID").
void show_queued(const Options& options, const Settings& settings, const std::string& id) {
    if (queue_id_ok(id)) {
        for (const char* queue : kSearchQueues) {
            std::string relative = queue_directory_for(settings.hashing, queue, id) + id;
            Fd fd(::open((settings.queue_directory + "/" + relative).c_str(),
                         O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
            if (fd.valid())
                return show(options, fd.get(), relative);
        }
    }
    log_fatal("open queue file %s: No such file or directory", id.c_str());
}

int run(int argc, char** argv) {
    std::vector<std::string> files;
    Options options = parse_command_line(argc, argv, files);
    Settings settings = load_settings(options);
    if (files.empty()) {
        show(options, STDIN_FILENO, "stdin");
        return 0;
    }
    for (const std::string& file : files) {
        if (options.search_queue) {
            show_queued(options, settings, file);
            continue;
        }
        Fd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
        if (!fd.valid())
            log_fatal("open %s: %s", file.c_str(), std::strerror(errno));
        show(options, fd.get(), file);
    }
    return 0;
}

}  // namespace
}  // namespace postern::postcat

int main(int argc, char** argv) {
    try {
        return postern::postcat::run(argc, argv);
    } catch (const std::exception& error) {
        postern::log_fatal("%s", error.what());
    }
}
