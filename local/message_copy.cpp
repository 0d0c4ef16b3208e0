// Copying a message to a local destination; see message_copy.hpp.
#include "local/message_copy.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "mail/address.hpp"
#include "queue/queue_file.hpp"
#include "util/file.hpp"
#include "util/strings.hpp"

namespace postern::local {

namespace {

// Accumulates output in one buffer that reaches the sink in kCopyChunk pieces, and
// counts every byte against the size limit before it is accepted.
class ChunkedWriter {
  public:
    ChunkedWriter(ContentSink& sink, const CopyOptions& options)
        : sink_(sink), limit_(options.size_limit), existing_(options.existing_size) {
        buffer_.reserve(kCopyChunk + 4096);
    }

    Status append(std::string_view bytes) {
        if (limit_ > 0 &&
            existing_ + written_ + static_cast<int64_t>(buffer_.size() + bytes.size()) > limit_)
            return mailbox_error("error writing message", EFBIG);
        buffer_.append(bytes);
        if (buffer_.size() >= kCopyChunk)
            return flush();
        return {};
    }
    Status flush() {
        if (buffer_.empty())
            return {};
        Status status = sink_.write(buffer_);
        written_ += static_cast<int64_t>(buffer_.size());
        buffer_.clear();
        return status;
    }
    int64_t total() const { return written_ + static_cast<int64_t>(buffer_.size()); }

  private:
    ContentSink& sink_;
    int64_t limit_;
    int64_t existing_;
    int64_t written_ = 0;
    std::string buffer_;
};

std::string from_line(const CopyOptions& options) {
    std::time_t now = options.now != 0 ? options.now : std::time(nullptr);
    std::tm local{};
    ::localtime_r(&now, &local);
    char date[64];
    // asctime()'s layout, "Thu Dec  3 09:15:20 2026", in the C locale.
    static const char* const kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char* const kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    std::snprintf(date, sizeof date, "%s %s %2d %02d:%02d:%02d %d", kDays[local.tm_wday % 7],
                  kMonths[local.tm_mon % 12], local.tm_mday, local.tm_hour, local.tm_min,
                  local.tm_sec, local.tm_year + 1900);
    std::string sender =
        options.sender.empty() ? std::string("MAILER-DAEMON") : externalize_address(options.sender);
    return "From " + sender + "  " + date + "\n";
}

}  // namespace

Status FdSink::write(std::string_view bytes) {
    while (!bytes.empty()) {
        ssize_t done = ::write(fd_, bytes.data(), bytes.size());
        if (done < 0 && errno == EINTR)
            continue;
        if (done < 0)
            return mailbox_error("error writing message", errno);
        bytes.remove_prefix(static_cast<size_t>(done));
    }
    return {};
}

std::string envelope_headers(const CopyOptions& options) {
    std::string out;
    if (options.from_line)
        out += from_line(options);
    // The null sender stays <>: quoting would turn it into <"">.
    if (options.return_path)
        out += "Return-Path: <" +
               (options.sender.empty() ? std::string() : externalize_address(options.sender)) +
               ">\n";
    if (!options.original.empty())
        out += "X-Original-To: " + externalize_address(options.original) + "\n";
    if (options.delivered_to)
        out += "Delivered-To: " + lowercase(externalize_address(options.delivered)) + "\n";
    return out;
}

Result<QueueFileReader> open_message(const std::string& queue_path) {
    auto reader = QueueFileReader::open(queue_path);
    if (!reader)
        return Error(ErrorKind::temporary, reader.error().message(), "4.3.0");
    return reader;
}

Result<QueueFileReader> MessageSource::take() {
    if (!reader_)
        return open_message(path_);
    QueueFileReader reader = std::move(*reader_);
    reader_.reset();
    return reader;
}

Result<int64_t> copy_message(MessageSource source, ContentSink& sink, const CopyOptions& options) {
    auto reader = source.take();
    if (!reader)
        return reader.error();
    ChunkedWriter out(sink, options);
    if (Status status = out.append(envelope_headers(options)); !status)
        return status.error();
    bool at_line_start = true;
    for (;;) {
        auto piece = reader->next_content();
        if (!piece)
            return Error(ErrorKind::corrupt, piece.error().message(), "4.3.0");
        if (!*piece)
            break;
        std::string_view data = (*piece)->data;
        if (options.quote_from && at_line_start && data.substr(0, 5) == "From ")
            if (Status status = out.append(">"); !status)
                return status.error();
        Status status = out.append(data);
        if (status && (*piece)->end_of_line)
            status = out.append("\n");
        if (!status)
            return status.error();
        at_line_start = (*piece)->end_of_line;
    }
    if (options.blank_line)
        if (Status status = out.append("\n"); !status)
            return status.error();
    if (Status status = out.flush(); !status)
        return status.error();
    return out.total();
}

const char* mailbox_status_for_errno(int error, const char* default_status) {
    switch (error) {
        case ENOSPC:
            return "4.3.0";
        case EAGAIN:
        case ESTALE:
            return "4.2.0";
        case EDQUOT:
        case EFBIG:
            return "5.2.2";
        default:
            return default_status;
    }
}

Error mailbox_error(std::string what, int error, const char* default_status) {
    const char* status = mailbox_status_for_errno(error, default_status);
    ErrorKind kind = status[0] == '4' ? ErrorKind::temporary : ErrorKind::permanent;
    return Error(kind, what + ": " + std::strerror(error), status);
}

}  // namespace postern::local
