// cleanup-submit: sends a message to a running cleanup daemon through CleanupClient
// (lib/queue/cleanup_protocol.hpp), the way smtpd and pickup do, for the system tests of
// cleanup. Not installed.
//
//   cleanup-submit [options] SOCKET < message
//     -f FLAGS      cleanup flags (default: cleanup_flag::mask_external)
//     -s SENDER     envelope sender (internal form; default: empty, the null sender)
//     -F NAME       sender full name
//     -a NAME=VALUE an envelope attribute (repeatable)
//     -r RCPT       an envelope recipient (repeatable); -o ORIG, -N NOTIFY and -O ORCPT
//                   give the original recipient, DSN NOTIFY and ORCPT of the next -r
//     -x RCPT       a recipient in the extracted segment (as sendmail -t leaves them)
//     -e T:DATA     a raw envelope record of type T (to test how cleanup refuses them)
//     -T            send no arrival time record
//     -n COUNT      send the message COUNT times over the one connection
// For each message it prints "queue_id=ID status=N reason=TEXT". Message lines end at
// LF (a CR before it is removed). Exit status 0 when every message got an answer.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include "queue/cleanup_protocol.hpp"

using namespace postern;

namespace {

struct Options {
    int64_t flags = cleanup_flag::mask_external;
    std::string sender;
    std::string full_name;
    std::vector<std::pair<std::string, std::string>> attributes;
    std::vector<QueueRecipient> recipients;
    std::vector<std::string> extracted;
    std::vector<std::pair<char, std::string>> raw;
    bool send_time = true;
    int count = 1;
    std::string socket;
};

[[noreturn]] void usage() {
    std::cerr << "usage: cleanup-submit [-f flags] [-s sender] [-F name] [-a name=value] "
                 "[-o orig] [-N notify] [-O orcpt] [-r rcpt]... [-x rcpt]... [-e T:data] "
                 "[-T] [-n count] socket < message\n";
    std::exit(2);
}

Options parse(int argc, char** argv) {
    Options options;
    QueueRecipient next;
    int option;
    while ((option = getopt(argc, argv, "f:s:F:a:r:o:N:O:x:e:Tn:")) != -1) {
        std::string arg = optarg ? optarg : "";
        switch (option) {
            case 'f':
                options.flags = std::strtoll(arg.c_str(), nullptr, 0);
                break;
            case 's':
                options.sender = arg;
                break;
            case 'F':
                options.full_name = arg;
                break;
            case 'a': {
                size_t equals = arg.find('=');
                if (equals == std::string::npos)
                    usage();
                options.attributes.emplace_back(arg.substr(0, equals), arg.substr(equals + 1));
                break;
            }
            case 'o':
                next.original = arg;
                break;
            case 'N':
                next.dsn_notify = std::atoi(arg.c_str());
                break;
            case 'O':
                next.dsn_orcpt = arg;
                break;
            case 'r':
                next.address = arg;
                options.recipients.push_back(next);
                next = QueueRecipient{};
                break;
            case 'x':
                options.extracted.push_back(arg);
                break;
            case 'e':
                if (arg.size() < 2 || arg[1] != ':')
                    usage();
                options.raw.emplace_back(arg[0], arg.substr(2));
                break;
            case 'T':
                options.send_time = false;
                break;
            case 'n':
                options.count = std::atoi(arg.c_str());
                break;
            default:
                usage();
        }
    }
    if (optind + 1 != argc)
        usage();
    options.socket = argv[optind];
    return options;
}

std::vector<std::string> message_lines() {
    std::string text((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    std::vector<std::string> lines;
    size_t start = 0;
    while (start < text.size()) {
        size_t end = text.find('\n', start);
        std::string line =
            text.substr(start, end == std::string::npos ? std::string::npos : end - start);
        if (!line.empty() && line.back() == '\r')
            line.pop_back();
        lines.push_back(std::move(line));
        if (end == std::string::npos)
            break;
        start = end + 1;
    }
    return lines;
}

bool send_one(CleanupClient& client, const Options& options,
              const std::vector<std::string>& lines) {
    auto queue_id = client.open(options.flags);
    if (!queue_id) {
        std::cout << "open failed: " << queue_id.error().message() << "\n";
        return false;
    }
    if (options.send_time)
        client.arrival_time(queue_time_now());
    for (const auto& [name, value] : options.attributes)
        client.attribute(name, value);
    if (!options.full_name.empty())
        client.record(rec_type::full_name, options.full_name);
    client.sender(options.sender);
    for (const auto& [type, data] : options.raw)
        client.record(type, data);
    for (const QueueRecipient& recipient : options.recipients)
        client.recipient(recipient);
    for (const std::string& line : lines)
        client.content_line(line);
    client.end_content();
    for (const std::string& recipient : options.extracted)
        client.record(rec_type::recipient, recipient);
    auto result = client.finish();
    if (!result) {
        std::cout << "queue_id=" << *queue_id << " failed: " << result.error().message() << "\n";
        return false;
    }
    std::cout << "queue_id=" << *queue_id << " status=" << result->status
              << " reason=" << result->reason << "\n";
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    Options options = parse(argc, argv);
    std::vector<std::string> lines = message_lines();
    auto client = CleanupClient::connect(options.socket, std::chrono::seconds(60));
    if (!client) {
        std::cout << "connect failed: " << client.error().message() << "\n";
        return 1;
    }
    bool ok = true;
    for (int i = 0; i < options.count; ++i)
        ok = send_one(*client, options, lines) && ok;
    return ok ? 0 : 1;
}
