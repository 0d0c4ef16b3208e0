// showq's queue listing: Postfix's showq_report() behaviour over Postern's record reader.
#include "showq/queue_listing.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <unordered_set>

#include "mail/quote_address.hpp"
#include "queue/bounce_log.hpp"
#include "queue/queue_file.hpp"
#include "queue/queue_scan.hpp"
#include "util/file.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace postern {
namespace {

// Pointer records a hostile file could chain forever; real files have a few.
constexpr int kMaxPointerJumps = 10000;

std::string printable(std::string_view text, bool utf8) {
    std::string out;
    append_sanitized(out, text, utf8);
    return out;
}

// An address as showq shows it: quoted, the null address named, sanitized.
std::string display_address(std::string_view address, const ShowqSettings& settings) {
    if (address.empty())
        return printable(settings.empty_address, settings.utf8);
    return printable(quote_address_local_part(address), settings.utf8);
}

// atol(): the leading decimal number, 0 when there is none.
int64_t leading_number(std::string_view text) {
    text = trim_left(text);
    size_t end = 0;
    if (end < text.size() && (text[end] == '-' || text[end] == '+'))
        ++end;
    while (end < text.size() && text[end] >= '0' && text[end] <= '9' && end < 18)
        ++end;
    auto number = parse_integer(text.substr(0, end));
    return number ? *number : 0;
}

// The content size from the size record, or nullopt when malformed.
std::optional<int64_t> content_size(std::string_view data) {
    std::string_view first = trim_left(data);
    first = first.substr(0, first.find_first_of(kWhiteSpace));
    auto number = parse_integer(first);
    if (!number || *number < 0)
        return std::nullopt;
    return *number;
}

std::string full_path(const ShowqSettings& settings, const std::string& relative) {
    return settings.queue_directory.empty() ? relative : settings.queue_directory + "/" + relative;
}

// What the reading of one file collects.
struct FileState {
    ShowqMessage message;
    std::vector<std::string> recipients;  // raw pending addresses, in file order
    bool have_sender = false;
    bool have_arrival = false;
    std::optional<int64_t> size;
};

enum class Step { more, stop };

Step take_sender(FileState& state, const Record& record, std::string_view id,
                 const ShowqSettings& settings) {
    if (state.have_sender) {
        log_warning("%.*s: duplicate sender address: %s -- skipping remainder of this file",
                    static_cast<int>(id.size()), id.data(),
                    printable(record.data, settings.utf8).c_str());
        return Step::stop;
    }
    state.message.sender = display_address(record.data, settings);
    state.have_sender = true;
    return Step::more;
}

Step take_recipient(FileState& state, const Record& record, std::string_view id) {
    if (!state.have_sender) {
        log_warning("%.*s: missing sender address:  -- skipping remainder of this file",
                    static_cast<int>(id.size()), id.data());
        return Step::stop;
    }
    state.recipients.emplace_back(record.data);
    return Step::more;
}

void take_size(FileState& state, const Record& record, std::string_view id,
               const ShowqSettings& settings) {
    if (state.size)
        return;
    state.size = content_size(record.data);
    if (!state.size)
        log_warning("%.*s: malformed size record: %s -- using file size instead",
                    static_cast<int>(id.size()), id.data(),
                    printable(record.data, settings.utf8).c_str());
}

// Jumps over the content by the size record, as Postfix's showq does, so that the
// extracted recipients after it are read without reading the message.
Step skip_content(FileState& state, RecordReader& records) {
    if (!state.size)
        return Step::more;
    int64_t target = records.offset() + *state.size;
    if (target > records.size() || !records.seek(target))
        return Step::stop;
    return Step::more;
}

Step follow_pointer(const Record& record, RecordReader& records, int& jumps) {
    int64_t target = leading_number(record.data);
    if (target <= 0)
        return Step::more;
    if (++jumps > kMaxPointerJumps || target >= records.size() || !records.seek(target))
        return Step::stop;
    return Step::more;
}

Step take_record(FileState& state, const Record& record, RecordReader& records, std::string_view id,
                 const ShowqSettings& settings, int& jumps) {
    switch (record.type) {
        case rec_type::size:
            take_size(state, record, id, settings);
            return Step::more;
        case rec_type::time:
            if (!state.have_arrival) {
                state.message.arrival_time = leading_number(record.data);
                state.have_arrival = true;
            }
            return Step::more;
        case rec_type::sender:
            return take_sender(state, record, id, settings);
        case rec_type::recipient:
            return take_recipient(state, record, id);
        case rec_type::message:
            return skip_content(state, records);
        case rec_type::pointer:
            return follow_pointer(record, records, jumps);
        case rec_type::end:
            return Step::stop;
        default:
            return Step::more;
    }
}

void read_records(FileState& state, RecordReader& records, std::string_view id,
                  const ShowqSettings& settings) {
    int jumps = 0;
    for (;;) {
        Result<std::optional<Record>> record = records.next();
        if (!record) {
            log_warning("%s", record.error().message().c_str());
            return;
        }
        if (!record->has_value())
            return;
        if (take_record(state, **record, records, id, settings, jumps) == Step::stop)
            return;
    }
}

// The defer log first, then the file's recipients the log did not name.
void add_recipients(FileState& state, std::string_view id, const ShowqSettings& settings) {
    std::unordered_set<std::string> seen;
    auto log =
        read_bounce_log(settings.queue_directory, settings.hashing, bounce_log_queue::defer, id);
    if (!log && log.error().kind() != ErrorKind::not_found)
        log_warning("%s", log.error().message().c_str());
    if (log) {
        for (const BounceLogRecord& entry : *log) {
            std::string address = bounce_log_display_recipient(entry);
            if (seen.size() < settings.duplicate_filter_limit)
                seen.insert(entry.recipient);
            state.message.recipients.push_back(
                ShowqRecipient{printable(address, settings.utf8),
                               printable(bounce_log_display_reason(entry), settings.utf8)});
        }
    }
    for (const std::string& address : state.recipients)
        if (!seen.contains(address))
            state.message.recipients.push_back(
                ShowqRecipient{display_address(address, settings), {}});
}

// lstat checks as Postfix's mail_open_ok(): nullopt when the file is not to be shown.
std::optional<struct stat> ready_file(const std::string& path, const std::string& relative) {
    struct stat info {};
    if (::lstat(path.c_str(), &info) != 0) {
        if (errno != ENOENT)
            log_warning("%s: %s", relative.c_str(), std::strerror(errno));
        return std::nullopt;
    }
    if (!S_ISREG(info.st_mode)) {
        log_warning("%s: uid %ld: not a regular file", relative.c_str(),
                    static_cast<long>(info.st_uid));
        return std::nullopt;
    }
    if ((info.st_mode & S_IRWXU) != kQueueFileModeReady)
        return std::nullopt;
    if (info.st_nlink > 1)
        log_warning("%s: uid %ld: file has %d links", relative.c_str(),
                    static_cast<long>(info.st_uid), static_cast<int>(info.st_nlink));
    return info;
}

Status list_queue(const ShowqSettings& settings, std::string_view queue_name,
                  const std::function<Status(const ShowqMessage&)>& emit) {
    std::string base = settings.queue_directory;
    Result<QueueScan> scan = QueueScan::open(base, std::string(queue_name));
    if (!scan) {
        if (scan.error().kind() != ErrorKind::not_found)
            log_warning("%s", scan.error().message().c_str());
        return {};
    }
    for (;;) {
        auto entry = scan->next();
        if (!entry) {
            log_warning("%s", entry.error().message().c_str());
            return {};
        }
        if (!entry->has_value())
            return {};
        const QueueScanEntry& found = **entry;
        if (found.kind != QueueScanEntry::Kind::name || !queue_id_ok(found.name))
            continue;
        auto message = read_queued_message(settings, queue_name, found.name, found.path());
        if (message)
            if (Status emitted = emit(*message); !emitted)
                return emitted;
    }
}

}  // namespace

Result<ShowqSettings> ShowqSettings::from_config(const Config& config) {
    ShowqSettings settings;
    auto empty = config.get("empty_address_recipient");
    auto limit = config.get_integer("duplicate_filter_limit");
    auto hashing = QueueHashing::from_config(config);
    auto utf8 = config.get_boolean("smtputf8_enable");
    if (!empty)
        return empty.error();
    if (!limit)
        return limit.error();
    if (!hashing)
        return hashing.error();
    if (!utf8)
        return utf8.error();
    settings.empty_address = *empty;
    settings.duplicate_filter_limit = static_cast<size_t>(*limit < 0 ? 0 : *limit);
    settings.hashing = std::move(*hashing);
    settings.utf8 = *utf8;
    return settings;
}

const std::vector<std::string_view>& showq_queue_order() {
    static const std::vector<std::string_view> order = {"maildrop", "active", "incoming",
                                                        "deferred", "hold"};
    return order;
}

std::optional<ShowqMessage> read_queued_message(const ShowqSettings& settings,
                                                std::string_view queue_name, std::string_view id,
                                                const std::string& relative_path) {
    std::string path = full_path(settings, relative_path);
    std::optional<struct stat> info = ready_file(path, relative_path);
    if (!info)
        return std::nullopt;
    Fd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    if (!fd.valid()) {
        if (errno != ENOENT)
            log_warning("open %s: %s", relative_path.c_str(), std::strerror(errno));
        return std::nullopt;
    }
    Result<RecordReader> records = RecordReader::open(fd.get(), relative_path);
    if (!records) {
        log_warning("%s", records.error().message().c_str());
        return std::nullopt;
    }
    FileState state;
    state.message.queue_name = std::string(queue_name);
    state.message.queue_id = std::string(id);
    read_records(state, *records, id, settings);
    if (!state.have_sender)
        return std::nullopt;
    if (state.message.arrival_time <= 0)
        state.message.arrival_time = static_cast<int64_t>(info->st_mtime);
    state.message.message_size = state.size ? *state.size : static_cast<int64_t>(info->st_size);
    state.message.forced_expire = (info->st_mode & kQueueFileModeExpire) != 0;
    add_recipients(state, id, settings);
    return std::move(state.message);
}

Status list_queued_messages(const ShowqSettings& settings,
                            const std::function<Status(const ShowqMessage&)>& emit) {
    for (std::string_view queue : showq_queue_order())
        if (Status listed = list_queue(settings, queue, emit); !listed)
            return listed;
    return {};
}

}  // namespace postern
