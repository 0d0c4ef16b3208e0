// bounce_tool: a test client for the bounce daemon, for tests/system/bounce_test.py and
// tests/system/bounce_golden/capture.py. Not installed.
//
//   bounce_tool [-c dir] log LOG QUEUE_NAME QUEUE_ID RECORDS
//       appends each record of RECORDS (a file in the bounce log's own name=value format,
//       records separated by empty lines) to LOG/ID (bounce, defer or trace) with
//       lib/queue's bounce log writer; a record without offset= gets the offset of its
//       recipient's R record in QUEUE_NAME/ID
//   bounce_tool [-c dir] request SERVICE name=value...
//       sends one bounce request (request, queue_name, queue_id, log, sender, encoding,
//       smtputf8, dsn_envid, dsn_ret) to queue_directory/private/SERVICE and prints
//       "status=N reason=TEXT"
//
// -c names the directory of main.cf (queue_directory, hash_queue_names, hash_queue_depth).
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "ipc/attr_channel.hpp"
#include "queue/bounce_log.hpp"
#include "queue/bounce_protocol.hpp"
#include "queue/queue_file.hpp"
#include "util/file.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

using namespace postern;
using namespace std::chrono_literals;

namespace {

constexpr const char* kUsage =
    "usage: bounce_tool [-c dir] log LOG QUEUE_NAME QUEUE_ID RECORDS | "
    "request SERVICE name=value...";

struct Instance {
    std::string queue_directory;
    QueueHashing hashing;
};

Instance load(const std::string& config_directory) {
    Config config = or_fatal(Config::load(
        config_directory.empty() ? Config::default_config_directory() : config_directory));
    return Instance{or_fatal(config.get("queue_directory")),
                    or_fatal(QueueHashing::from_config(config))};
}

int64_t recipient_offset(const QueueEnvelope& envelope, const std::string& address) {
    for (const QueueRecipient& recipient : envelope.recipients)
        if (recipient.address == address)
            return recipient.offset;
    log_fatal("no recipient %s in the queue file", address.c_str());
}

int log_command(const Instance& instance, const std::vector<std::string>& words) {
    if (words.size() != 4)
        log_fatal("%s", kUsage);
    const std::string& log = words[0];
    std::string path =
        queue_file_path(instance.queue_directory, instance.hashing, words[1], words[2]);
    QueueFileReader reader = or_fatal(QueueFileReader::open(path));
    QueueEnvelope envelope = or_fatal(reader.read_envelope());
    for (BounceLogRecord record : parse_bounce_log(or_fatal(read_file(words[3])))) {
        if (record.offset < 0)
            record.offset = recipient_offset(envelope, record.recipient);
        or_fatal(
            append_bounce_log(instance.queue_directory, instance.hashing, log, words[2], record));
    }
    return 0;
}

Status set_field(BounceRequest& request, std::string_view name, std::string_view value) {
    std::string text(value);
    if (name == "request")
        request.request = text;
    else if (name == "queue_name")
        request.queue_name = text;
    else if (name == "queue_id")
        request.queue_id = text;
    else if (name == "log")
        request.log = text;
    else if (name == "sender")
        request.sender = text;
    else if (name == "encoding")
        request.encoding = text;
    else if (name == "dsn_envid")
        request.dsn_envid = text;
    else if (name == "smtputf8" || name == "dsn_ret") {
        auto number = parse_integer(value);
        if (!number)
            return number.error();
        if (name == "smtputf8")
            request.smtputf8 = *number;
        else
            request.dsn_ret = static_cast<int>(*number);
    } else
        return Error(ErrorKind::config, "unknown request field: " + std::string(name));
    return {};
}

int request_command(const Instance& instance, const std::vector<std::string>& words) {
    if (words.empty())
        log_fatal("%s", kUsage);
    BounceRequest request;
    for (size_t i = 1; i < words.size(); ++i) {
        size_t equals = words[i].find('=');
        if (equals == std::string::npos)
            log_fatal("bad field: %s", words[i].c_str());
        or_fatal(set_field(request, std::string_view(words[i]).substr(0, equals),
                           std::string_view(words[i]).substr(equals + 1)));
    }
    std::string socket = instance.queue_directory + "/private/" + words[0];
    AttrList answer = or_fatal(attr_request(socket, encode_bounce_request(request), 120s));
    BounceReply reply = or_fatal(decode_bounce_reply(answer));
    std::printf("status=%lld reason=%s\n", static_cast<long long>(reply.status),
                reply.reason.c_str());
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> words(argv + 1, argv + argc);
    std::string config_directory;
    if (words.size() >= 2 && words[0] == "-c") {
        config_directory = words[1];
        words.erase(words.begin(), words.begin() + 2);
    }
    if (words.empty())
        log_fatal("%s", kUsage);
    Instance instance = load(config_directory);
    std::string command = words[0];
    words.erase(words.begin());
    if (command == "log")
        return log_command(instance, words);
    if (command == "request")
        return request_command(instance, words);
    log_fatal("%s", kUsage);
}
