// queue_tool: a test program over lib/queue's queue file reader and writer, for
// tests/system/queue_file_compat_test.py until cleanup and postcat exist. Not installed.
//
//   queue_tool [-c dir] write [-q queue] SPEC MESSAGE   write and commit a queue file;
//                                                       prints "ID PATH"
//   queue_tool dump FILE                                the file, field by field (below)
//   queue_tool done FILE INDEX...                       mark recipients done (0-based)
//   queue_tool [-c dir] scan QUEUE                      read every file of a queue; move
//                                                       corrupt ones to corrupt/
//
// -c names the directory of main.cf (queue_directory, enable_long_queue_ids,
// hash_queue_names, hash_queue_depth, line_length_limit), as Postfix's -c.
//
// SPEC has one record-producing line each, written in this order:
//   time SECONDS MICROSECONDS | attribute NAME=VALUE | full_name TEXT | sender ADDRESS
//   envid TEXT | ret full|hdrs | warning SECONDS
//   recipient ADDRESS [original=A] [orcpt=TYPE;A] [notify=success,delay,failure|never]
//   extracted attribute NAME=VALUE | extracted recipient ... (after the content)
// "sender" with nothing after it is the null sender. MESSAGE is the content: one line per
// newline, bytes kept as they are.
//
// dump prints "name: value" lines; content lines are escaped (\\, \xNN for bytes outside
// printable ASCII) so that 8-bit and NUL bytes survive a text comparison.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "queue/queue_file.hpp"
#include "util/file.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

using namespace postern;

namespace {

constexpr const char* kUsage =
    "usage: queue_tool [-c dir] write [-q queue] SPEC MESSAGE | dump FILE | "
    "done FILE INDEX... | [-c dir] scan QUEUE";

struct Settings {
    std::string queue_directory;
    QueueFileOptions options;
};

Settings load_settings(const std::string& config_directory) {
    Config config = or_fatal(Config::load(
        config_directory.empty() ? Config::default_config_directory() : config_directory));
    Settings settings;
    settings.queue_directory = or_fatal(config.get("queue_directory"));
    settings.options.hashing = or_fatal(QueueHashing::from_config(config));
    settings.options.id_form = or_fatal(config.get_boolean("enable_long_queue_ids"))
                                   ? QueueIdForm::long_form
                                   : QueueIdForm::short_form;
    settings.options.line_length_limit =
        static_cast<size_t>(or_fatal(config.get_integer("line_length_limit")));
    return settings;
}

int parse_notify(std::string_view text) {
    int flags = 0;
    for (std::string_view word : split_list(text, ",")) {
        if (equals_ignore_case(word, "never"))
            flags |= dsn::notify_never;
        else if (equals_ignore_case(word, "success"))
            flags |= dsn::notify_success;
        else if (equals_ignore_case(word, "failure"))
            flags |= dsn::notify_failure;
        else if (equals_ignore_case(word, "delay"))
            flags |= dsn::notify_delay;
        else
            log_fatal("bad notify value: %.*s", static_cast<int>(word.size()), word.data());
    }
    return flags;
}

QueueRecipient parse_recipient(std::string_view text) {
    std::vector<std::string_view> words = split_list(text, " ");
    if (words.empty())
        log_fatal("recipient without an address");
    QueueRecipient recipient;
    recipient.address = std::string(words[0]);
    for (size_t i = 1; i < words.size(); ++i) {
        std::string_view word = words[i];
        if (word.starts_with("original="))
            recipient.original = std::string(word.substr(9));
        else if (word.starts_with("orcpt="))
            recipient.dsn_orcpt = std::string(word.substr(6));
        else if (word.starts_with("notify="))
            recipient.dsn_notify = parse_notify(word.substr(7));
        else
            log_fatal("bad recipient option: %.*s", static_cast<int>(word.size()), word.data());
    }
    return recipient;
}

std::pair<std::string_view, std::string_view> split_word(std::string_view line) {
    size_t space = line.find(' ');
    if (space == std::string_view::npos)
        return {line, {}};
    return {line.substr(0, space), line.substr(space + 1)};
}

void apply_spec_line(QueueFileWriter& writer, std::string_view keyword, std::string_view rest) {
    if (keyword == "time") {
        auto [seconds, microseconds] = split_word(rest);
        writer.arrival_time({or_fatal(parse_integer(seconds)),
                             static_cast<int32_t>(or_fatal(parse_integer(microseconds)))});
    } else if (keyword == "attribute") {
        size_t equals = rest.find('=');
        if (equals == std::string_view::npos)
            log_fatal("attribute without '='");
        writer.attribute(rest.substr(0, equals), rest.substr(equals + 1));
    } else if (keyword == "full_name") {
        writer.full_name(rest);
    } else if (keyword == "sender") {
        writer.sender(rest);
    } else if (keyword == "envid") {
        writer.dsn_envelope(rest, 0);
    } else if (keyword == "ret") {
        writer.dsn_envelope("", rest == "full" ? dsn::ret_full : dsn::ret_hdrs);
    } else if (keyword == "warning") {
        writer.warning_time(or_fatal(parse_integer(rest)));
    } else if (keyword == "recipient") {
        writer.recipient(parse_recipient(rest));
    } else {
        log_fatal("bad spec line: %.*s", static_cast<int>(keyword.size()), keyword.data());
    }
}

int write_command(const Settings& settings, std::string_view queue, const std::string& spec_path,
                  const std::string& message_path) {
    std::string spec = or_fatal(read_file(spec_path));
    std::string message = or_fatal(read_file(message_path));
    QueueFileWriter writer =
        or_fatal(QueueFileWriter::create(settings.queue_directory, queue, settings.options));
    std::vector<std::pair<std::string_view, std::string_view>> extracted;
    for (std::string_view line : split_list(spec, "\n")) {
        if (line.starts_with("#"))
            continue;
        auto [keyword, rest] = split_word(line);
        if (keyword == "extracted")
            extracted.push_back(split_word(rest));
        else
            apply_spec_line(writer, keyword, rest);
    }
    writer.begin_content();
    std::string_view text = message;
    while (!text.empty()) {
        size_t newline = text.find('\n');
        writer.content_line(text.substr(0, newline));
        text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
    }
    writer.begin_extracted();
    for (auto [keyword, rest] : extracted)
        apply_spec_line(writer, keyword, rest);
    or_fatal(writer.commit());
    std::printf("%s %s\n", writer.queue_id().c_str(), writer.path().c_str());
    return 0;
}

std::string escaped(std::string_view text) {
    std::string out;
    for (char c : text) {
        auto byte = static_cast<unsigned char>(c);
        if (c == '\\') {
            out += "\\\\";
        } else if (byte < 0x20 || byte >= 0x7f) {
            char hex[8];
            std::snprintf(hex, sizeof hex, "\\x%02x", byte);
            out += hex;
        } else {
            out.push_back(c);
        }
    }
    return out;
}

const char* status_name(RecipientStatus status) {
    switch (status) {
        case RecipientStatus::done:
            return "done";
        case RecipientStatus::canceled:
            return "canceled";
        default:
            return "pending";
    }
}

void print_envelope(const QueueEnvelope& envelope) {
    const QueueSizeRecord& size = envelope.size;
    std::printf("size: %lld %lld %lld %lld %lld %lld\n", static_cast<long long>(size.content_size),
                static_cast<long long>(size.content_offset),
                static_cast<long long>(size.recipient_count),
                static_cast<long long>(size.qmgr_flags),
                static_cast<long long>(size.content_length), static_cast<long long>(size.smtputf8));
    std::printf("arrival: %lld %d\n", static_cast<long long>(envelope.arrival.seconds),
                envelope.arrival.microseconds);
    std::printf("full_name: %s\n", escaped(envelope.full_name).c_str());
    std::printf("sender: %s\n", escaped(envelope.sender).c_str());
    std::printf("envelope_id: %s\n", escaped(envelope.envelope_id).c_str());
    std::printf("ret: %d\n", envelope.dsn_ret);
    for (const auto& [name, value] : envelope.attributes)
        std::printf("attribute: %s=%s\n", escaped(name).c_str(), escaped(value).c_str());
    for (const QueueRecipient& recipient : envelope.recipients)
        std::printf("recipient: %s offset=%lld status=%s original=%s orcpt=%s notify=%d%s\n",
                    escaped(recipient.address).c_str(), static_cast<long long>(recipient.offset),
                    status_name(recipient.status), escaped(recipient.original).c_str(),
                    escaped(recipient.dsn_orcpt).c_str(), recipient.dsn_notify,
                    recipient.extracted ? " extracted" : "");
}

int dump_command(const std::string& path) {
    QueueFileReader reader = or_fatal(QueueFileReader::open(path));
    QueueFileContents contents = or_fatal(read_queue_file(reader));
    print_envelope(contents.envelope);
    for (const std::string& line : contents.lines)
        std::printf("line: %s\n", escaped(line).c_str());
    return 0;
}

int done_command(const std::string& path, const std::vector<std::string>& indexes) {
    QueueFileReader reader = or_fatal(QueueFileReader::open(path, true));
    QueueEnvelope envelope = or_fatal(reader.read_envelope());
    std::vector<int64_t> offsets;
    for (const std::string& index : indexes) {
        int64_t i = or_fatal(parse_integer(index));
        if (i < 0 || static_cast<size_t>(i) >= envelope.recipients.size())
            log_fatal("no recipient %s", index.c_str());
        offsets.push_back(envelope.recipients[static_cast<size_t>(i)].offset);
    }
    or_fatal(mark_recipients_done(reader.fd(), offsets, path));
    return 0;
}

// Reads every file directly in QUEUE (not its hashed subdirectories: enough for a test);
// prints "ok ID" or "corrupt ID" and quarantines the corrupt ones.
int scan_command(const Settings& settings, const std::string& queue) {
    std::string directory = settings.queue_directory + "/" + queue;
    std::vector<std::string> ids;
    std::error_code error;
    for (const auto& entry : std::filesystem::directory_iterator(directory, error))
        if (entry.is_regular_file() && queue_id_ok(entry.path().filename().string()))
            ids.push_back(entry.path().filename().string());
    if (error)
        log_fatal("scan %s: %s", directory.c_str(), error.message().c_str());
    std::sort(ids.begin(), ids.end());
    for (const std::string& id : ids) {
        std::string path = directory + "/" + id;
        auto reader = QueueFileReader::open(path);
        Status status = reader ? Status() : Status(reader.error());
        if (reader) {
            auto contents = read_queue_file(*reader);
            if (!contents)
                status = contents.error();
        }
        if (status) {
            std::printf("ok %s\n", id.c_str());
            continue;
        }
        std::printf("corrupt %s\n", id.c_str());
        or_fatal(quarantine_corrupt_queue_file(settings.queue_directory, settings.options.hashing,
                                               queue, id, status.error()));
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    std::string config_directory;
    std::string queue = "incoming";
    int option;
    while ((option = ::getopt(argc, argv, "+c:")) != -1) {
        if (option != 'c')
            log_fatal("%s", kUsage);
        config_directory = optarg;
    }
    std::vector<std::string> args(argv + optind, argv + argc);
    if (args.empty())
        log_fatal("%s", kUsage);
    std::string command = args[0];
    args.erase(args.begin());
    if (command == "write") {
        if (args.size() >= 2 && args[0] == "-q") {
            queue = args[1];
            args.erase(args.begin(), args.begin() + 2);
        }
        if (args.size() != 2)
            log_fatal("%s", kUsage);
        return write_command(load_settings(config_directory), queue, args[0], args[1]);
    }
    if (command == "dump" && args.size() == 1)
        return dump_command(args[0]);
    if (command == "done" && args.size() >= 2)
        return done_command(args[0], std::vector<std::string>(args.begin() + 1, args.end()));
    if (command == "scan" && args.size() == 1)
        return scan_command(load_settings(config_directory), args[0]);
    log_fatal("%s", kUsage);
}
