// postcat's printer: Postfix 3.7's record-by-record display of a queue file.
//
// The file is read as Postfix's record reader reads it: padding records are skipped and
// pointer records followed, transparently, so that an offset shown with -o is where the
// read of a record began (a pointer's own offset when one was followed). -r is accepted
// and, as Postfix 3.7.11 observably does, shows the same. Section logic:
//   envelope   every record by name (-e); M starts the content, X out of order warns;
//   content    N and L records are message lines, header lines until the first line that
//              is neither a header nor a continuation (-h), the rest body (-b);
//   extracted  after X, records by name (-e) until E.
#include "tools/postcat/postcat.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "queue/queue_file.hpp"
#include "tools/postcat/record_names.hpp"
#include "util/file.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace postern::postcat {
namespace {

constexpr int kMaxPointerJumps = 10000;
constexpr size_t kOutputChunk = 64 * 1024;

// A header line: a field name (printable, no ':'), optional blanks, then ':'.
bool is_header_line(std::string_view line) {
    size_t at = 0;
    while (at < line.size()) {
        auto byte = static_cast<unsigned char>(line[at]);
        if (line[at] == ':' || byte <= 0x20 || byte == 0x7f)
            break;
        ++at;
    }
    if (at == 0)
        return false;
    while (at < line.size() && (line[at] == ' ' || line[at] == '\t'))
        ++at;
    return at < line.size() && line[at] == ':';
}

// The size record's numbers as sscanf() reads them: leading numeric fields only.
std::vector<int64_t> size_record_fields(std::string_view data) {
    std::vector<int64_t> fields;
    for (std::string_view field : split_list(data, " ")) {
        auto number = parse_integer(field);
        if (!number)
            break;
        fields.push_back(*number);
    }
    return fields;
}

// Postfix accepts a size record with a positive content size and offset.
bool size_record_valid(const std::vector<int64_t>& fields) {
    return fields.size() >= 2 && fields[0] > 0 && fields[1] > 0;
}

enum class Section { envelope, content, extracted, done };

class Printer {
  public:
    Printer(const Options& options, const std::string& name, RecordReader& records)
        : options_(options), name_(name), records_(records) {}

    Status run();

  private:
    // The next record as rec_get() returns it (padding skipped, pointers followed).
    Result<std::optional<Record>> next_record();
    void handle(const Record& record);
    void handle_named(const Record& record);
    void handle_attribute(const Record& record);
    void handle_content(const Record& record);
    void marker(const Record& record, const char* what);
    void prefix(const Record& record);
    void text(std::string_view bytes);
    void skip_content();
    void check_size_record(const Record& record);
    Status flush();
    bool showing_records() const { return options_.envelope; }

    const Options& options_;
    const std::string& name_;
    RecordReader& records_;
    int64_t start_ = 0;  // where the current record's read began
    Section section_ = Section::envelope;
    bool in_header_ = true;
    bool line_start_ = true;               // the next content record begins a line
    bool line_shown_ = false;              // the current content line is printed
    std::optional<int64_t> content_size_;  // from the size record
    std::optional<int64_t> data_offset_;   // the content's offset, from the size record
    bool skipped_body_ = false;
    bool size_checked_ = false;
    char previous_type_ = 0;
    std::string out_;
};

Result<std::optional<Record>> Printer::next_record() {
    start_ = records_.offset();
    for (int jumps = 0;;) {
        auto record = records_.next();
        if (!record || !record->has_value())
            return record;
        char type = (*record)->type;
        if (type == rec_type::padding)
            continue;
        if (type != rec_type::pointer)
            return record;
        int64_t target = leading_number((*record)->data);
        if (target <= 0)
            continue;
        if (++jumps > kMaxPointerJumps)
            return records_.corrupt("too many pointer records");
        if (Status moved = records_.seek(target); !moved)
            return moved.error();
    }
}

// Envelope records only: jump over the content by the size record, as Postfix does (a
// jump past the end simply ends the file).
void Printer::skip_content() {
    if (!content_size_)
        return;
    int64_t target = *data_offset_ + *content_size_;
    if (target >= records_.size() || !records_.seek(target))
        section_ = Section::done;
}

void Printer::text(std::string_view bytes) {
    out_.append(bytes);
}

Status Printer::flush() {
    Status written = write_all(STDOUT_FILENO, out_);
    out_.clear();
    return written;
}

void Printer::prefix(const Record& record) {
    char buffer[64];
    if (options_.offsets) {
        std::snprintf(buffer, sizeof buffer, "%9lld ", static_cast<long long>(start_));
        text(buffer);
    }
    if (options_.decimal) {
        std::snprintf(buffer, sizeof buffer, "%3d ",
                      static_cast<int>(static_cast<unsigned char>(record.type)));
        text(buffer);
    }
}

void Printer::marker(const Record& record, const char* what) {
    prefix(record);
    text("*** ");
    text(what);
    text(" ");
    text(name_);
    text(" ***\n");
}

void Printer::handle_attribute(const Record& record) {
    size_t equals = record.data.find('=');
    std::string_view name = trim(record.data.substr(0, equals));
    if (equals == std::string_view::npos || name.empty()) {
        log_warning("%s: malformed attribute: %s: %.*s", name_.c_str(),
                    name.empty() ? "missing attribute name" : "missing '=' after attribute name",
                    static_cast<int>(record.data.size()), record.data.data());
        return;
    }
    std::string_view value = trim(record.data.substr(equals + 1));
    if (name == queue_attr::create_time) {
        text("create_time: " + asctime_text(leading_number(value)) + "\n");
        return;
    }
    text("named_attribute: ");
    text(name);
    text("=");
    text(value);
    text("\n");
}

void Printer::handle_named(const Record& record) {
    prefix(record);
    switch (record.type) {
        case rec_type::attribute:
            handle_attribute(record);
            return;
        case rec_type::time:
        case rec_type::warning:
            text(std::string(record_type_name(record.type)) + ": " +
                 asctime_text(leading_number(record.data)) + "\n");
            return;
        case rec_type::normal:
            text(record.data);
            text("\n");
            return;
        default:
            break;
    }
    text(record_type_name(record.type));
    text(": ");
    text(record.data.substr(0, record.data.find('\0')));
    text("\n");
}

// The size record is checked whether or not it is shown, as Postfix checks it.
void Printer::check_size_record(const Record& record) {
    (void)flush();
    if (size_checked_) {
        log_warning("file contains multiple size records");
        return;
    }
    std::vector<int64_t> fields = size_record_fields(record.data);
    size_checked_ = fields.size() >= 2;
    if (!size_record_valid(fields)) {
        log_warning("invalid size record: %.*s", static_cast<int>(record.data.size()),
                    record.data.data());
        return;
    }
    content_size_ = fields[0];
    data_offset_ = fields[1];
    // Message text only: straight to the content, as Postfix jumps there.
    if (!options_.envelope && section_ == Section::envelope) {
        if (*data_offset_ >= records_.size() || !records_.seek(*data_offset_)) {
            section_ = Section::done;
            return;
        }
        section_ = Section::content;
        in_header_ = true;
        line_start_ = true;
    }
}

void Printer::handle_content(const Record& record) {
    if (line_start_) {
        if (in_header_ && !is_header_line(record.data) &&
            !(!record.data.empty() && (record.data[0] == ' ' || record.data[0] == '\t')))
            in_header_ = false;
        line_shown_ = in_header_ ? options_.header : options_.body;
    }
    bool end_of_line = record.type == rec_type::normal;
    line_start_ = end_of_line;
    if (!line_shown_)
        return;
    prefix(record);
    text(record.data);
    if (end_of_line || options_.offsets)
        text("\n");
}

void Printer::handle(const Record& record) {
    bool marker_type = record.type == rec_type::message || record.type == rec_type::extracted ||
                       record.type == rec_type::end;
    // A content line left open by an L record just before X is ended first.
    if (record.type == rec_type::extracted && section_ == Section::content &&
        previous_type_ == rec_type::continued && line_shown_ && !options_.offsets)
        text("\n");
    previous_type_ = record.type;
    if (marker_type)
        line_start_ = true;
    switch (record.type) {
        case rec_type::message:
            if (section_ == Section::content)
                log_warning("%s: out-of-order message content marker", name_.c_str());
            if (showing_records())
                marker(record, "MESSAGE CONTENTS");
            section_ = Section::content;
            in_header_ = true;
            line_start_ = true;
            if (!options_.header && !options_.body)
                skip_content();
            return;
        case rec_type::extracted:
            if (section_ == Section::envelope || section_ == Section::extracted)
                log_warning("%s: out-of-order extracted segment marker", name_.c_str());
            if (!options_.envelope) {
                section_ = Section::done;
                return;
            }
            marker(record, "HEADER EXTRACTED");
            section_ = Section::extracted;
            return;
        case rec_type::end:
            if (section_ == Section::content)
                log_warning("%s: out-of-order message end marker", name_.c_str());
            if (showing_records())
                marker(record, "MESSAGE FILE END");
            section_ = Section::done;
            return;
        default:
            break;
    }
    bool content_record = record.type == rec_type::normal || record.type == rec_type::continued;
    if (section_ == Section::content && !content_record) {
        if (in_header_ ? options_.header : options_.body)
            handle_named(record);
        if (record.type == rec_type::size)
            check_size_record(record);
        return;
    }
    if (section_ == Section::content && content_record) {
        handle_content(record);
        // Headers wanted but not the body, and they are over: the rest of the content is
        // not read (as Postfix), the envelope goes on after it.
        if (!in_header_ && !options_.body) {
            if (!options_.envelope)
                section_ = Section::done;
            else if (!skipped_body_)
                skip_content();
            skipped_body_ = true;
        }
        return;
    }
    if (showing_records())
        handle_named(record);
    if (record.type == rec_type::size)
        check_size_record(record);
}

Status Printer::run() {
    for (bool first = true; section_ != Section::done; first = false) {
        auto record = next_record();
        if (!record) {
            if (Status flushed = flush(); !flushed)
                return flushed;
            log_warning("%s", record.error().message().c_str());
            return Error(ErrorKind::corrupt, "record read error");
        }
        if (!record->has_value())
            break;
        if (first && options_.envelope && !options_.start)
            text("*** ENVELOPE RECORDS " + name_ + " ***\n");
        handle(**record);
        if (out_.size() >= kOutputChunk)
            if (Status flushed = flush(); !flushed)
                return flushed;
    }
    return flush();
}

// The whole of a descriptor that is not a regular file (standard input from a pipe).
Result<std::string> read_all(int fd) {
    std::string data;
    char buffer[65536];
    for (;;) {
        ssize_t got = ::read(fd, buffer, sizeof buffer);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return system_error("read", errno);
        if (got == 0)
            return data;
        data.append(buffer, static_cast<size_t>(got));
    }
}

// Postfix's test before anything is shown: the first byte must be a record type a queue
// file can begin with (it peeks at the byte before it reads a record). An empty input
// shows nothing at all.
bool looks_like_queue_file(int fd, const std::string& memory, bool in_memory,
                           const std::string& name) {
    char first = 0;
    if (in_memory) {
        if (memory.empty())
            return false;
        first = memory[0];
    } else if (::pread(fd, &first, 1, 0) != 1) {
        return false;
    }
    if (!valid_first_record(first)) {
        log_warning("%s: input is not a valid queue file", name.c_str());
        return false;
    }
    return true;
}

}  // namespace

Status print_queue_file(const Options& options, int fd, const std::string& name) {
    struct stat info {};
    std::string memory;
    std::optional<RecordReader> records;
    bool memory_input = !(::fstat(fd, &info) == 0 && S_ISREG(info.st_mode));
    if (!memory_input) {
        auto opened = RecordReader::open(fd, name);
        if (!opened)
            return opened.error();
        records.emplace(std::move(*opened));
    } else {
        auto data = read_all(fd);
        if (!data)
            return data.error();
        memory = std::move(*data);
        records.emplace(RecordReader::from_memory(memory, name));
    }
    if (options.start) {
        if (*options.start >= records->size())
            return {};
        if (Status moved = records->seek(*options.start); !moved)
            return {};
    } else if (!looks_like_queue_file(fd, memory, memory_input, name)) {
        return {};
    }
    Printer printer(options, name, *records);
    return printer.run();
}

}  // namespace postern::postcat
