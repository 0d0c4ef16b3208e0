// The message a notice is about, best effort; see original_message.hpp.
#include "bounce/original_message.hpp"

#include <fcntl.h>

#include <cerrno>

#include "mail/header.hpp"
#include "util/strings.hpp"

namespace postern {

namespace {

// The first two fields of a size record: content size and content offset.
void take_size_record(std::string_view data, OriginalEnvelope& envelope) {
    std::vector<std::string_view> fields = split_list(data, " ");
    if (fields.size() < 2)
        return;
    auto size = parse_integer(fields[0]);
    auto offset = parse_integer(fields[1]);
    if (size && *size > 0)
        envelope.content_size = *size;
    if (offset && *offset > 0)
        envelope.content_offset = *offset;
}

void take_arrival_time(std::string_view data, OriginalEnvelope& envelope) {
    if (envelope.arrival_time != 0)
        return;
    std::vector<std::string_view> fields = split_list(data, " ");
    if (fields.empty())
        return;
    auto seconds = parse_integer(fields[0]);
    if (seconds && *seconds > 0)
        envelope.arrival_time = *seconds;
}

// The content records, following pointer records within a bound, as QueueFileReader does.
class ContentWalk {
  public:
    ContentWalk(RecordReader& records) : records_(records) {}

    // The next content piece, nullopt at the end of the content.
    Result<std::optional<ContentPiece>> next() {
        const int64_t max_jumps = 10000 + records_.size() / 8;
        for (;;) {
            auto record = records_.next();
            if (!record)
                return record.error();
            if (!*record)
                return std::optional<ContentPiece>();
            char type = (*record)->type;
            if (type == rec_type::normal || type == rec_type::continued)
                return std::optional<ContentPiece>(
                    ContentPiece{(*record)->data, type == rec_type::normal});
            if (type == rec_type::padding)
                continue;
            if (type != rec_type::pointer || ++jumps_ > max_jumps)
                return std::optional<ContentPiece>();
            if (Status moved = follow((*record)->data); !moved)
                return moved.error();
        }
    }

  private:
    Status follow(std::string_view data) {
        auto target = parse_integer(trim(data));
        if (!target || *target < 0 || *target > records_.size())
            return records_.corrupt("bad pointer record: " + std::string(data));
        if (*target == 0)  // a placeholder: go on with the next record
            return {};
        return records_.seek(*target);
    }

    RecordReader& records_;
    int64_t jumps_ = 0;
};

bool is_header_line(std::string_view line) {
    return (!line.empty() && (line.front() == ' ' || line.front() == '\t')) ||
           header_name_length(line) > 0;
}

// The value of a Message-ID header line, when it is one of the "<...>" form.
std::optional<std::string> message_id_value(std::string_view line) {
    size_t label = header_name_length(line);
    if (label == 0 || !equals_ignore_case(line.substr(0, label), "message-id"))
        return std::nullopt;
    std::string_view value = trim(line.substr(line.find(':') + 1));
    if (value.size() < 2 || value.front() != '<' || value.back() != '>')
        return std::string();
    return std::string(value);
}

}  // namespace

OriginalMessage OriginalMessage::open(const std::string& path, bool want_message_id,
                                      std::string& warning) {
    OriginalMessage message;
    message.path_ = path;
    int flags = O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK;
    message.fd_.reset(::open(path.c_str(), O_RDWR | flags));
    message.writable_ = message.fd_.valid();
    if (!message.fd_.valid() && errno != ENOENT)
        message.fd_.reset(::open(path.c_str(), O_RDONLY | flags));
    if (!message.fd_.valid()) {
        if (errno != ENOENT)
            warning = system_error("open " + path, errno).message();
        return message;
    }
    message.envelope_.found = true;
    if (Status read = message.read_envelope(); !read)
        warning = read.error().message();
    if (want_message_id)
        message.find_message_id();
    return message;
}

Status OriginalMessage::read_envelope() {
    auto records = RecordReader::open(fd_.get(), path_);
    if (!records)
        return records.error();
    for (;;) {
        auto record = records->next();
        if (!record)
            return record.error();
        if (!*record)
            return {};
        switch ((*record)->type) {
            case rec_type::size:
                take_size_record((*record)->data, envelope_);
                break;
            case rec_type::time:
                take_arrival_time((*record)->data, envelope_);
                break;
            case rec_type::sender:
                envelope_.sender = std::string((*record)->data);
                break;
            case rec_type::message:
                if (envelope_.content_offset == 0)
                    envelope_.content_offset = records->offset();
                return {};
            default:
                break;
        }
    }
}

void OriginalMessage::find_message_id() {
    bool line_start = true;
    Status ignored = read_content([&](const ContentPiece& piece) {
        bool at_start = line_start;
        line_start = piece.end_of_line;
        if (!at_start)
            return true;
        if (!is_header_line(piece.data))
            return false;
        if (auto id = message_id_value(piece.data); id && envelope_.message_id.empty()) {
            envelope_.message_id = *id;
            return false;
        }
        return true;
    });
    (void)ignored;
}

Status OriginalMessage::read_content(const ContentVisitor& visit) const {
    if (envelope_.content_offset == 0)
        return Error(ErrorKind::not_found, path_ + ": message content unavailable");
    auto records = RecordReader::open(fd_.get(), path_);
    if (!records)
        return records.error();
    if (Status moved = records->seek(envelope_.content_offset); !moved)
        return moved.error();
    ContentWalk walk(*records);
    for (;;) {
        auto piece = walk.next();
        if (!piece)
            return piece.error();
        if (!*piece || !visit(**piece))
            return {};
    }
}

}  // namespace postern
