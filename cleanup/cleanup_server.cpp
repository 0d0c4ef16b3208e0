// The cleanup protocol's server side (see cleanup_server.hpp).
#include "cleanup/cleanup_server.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "cleanup/refusal_bounce.hpp"
#include "ipc/trigger.hpp"
#include "queue/cleanup_protocol.hpp"
#include "util/log.hpp"

namespace postern::cleanup {
namespace {

// The daemon's working directory is queue_directory (chrooted or not): queue paths are
// relative to it, as Postfix's are.
constexpr const char* kQueueDirectory = ".";

AttrList reply(int64_t status, std::string_view reason) {
    AttrList list;
    list.add_int(std::string(cleanup_attr::status), status);
    if (!reason.empty())
        list.add_string(std::string(cleanup_attr::reason), std::string(reason));
    return list;
}

const std::string* string_attr(const AttrList& list, std::string_view name) {
    const Attr* attr = list.find(name);
    return attr && attr->type() == AttrType::string ? &std::get<std::string>(attr->value) : nullptr;
}

// A missing qmgr is not an error: it scans incoming/ on its own timer. Postfix logs it.
void wake_qmgr(const CleanupSettings& settings) {
    if (Status sent = send_trigger_to_service(settings.qmgr_trigger, "W"); !sent) {
        struct stat info {};
        if (::stat(settings.qmgr_trigger.c_str(), &info) != 0)
            log_warning("unable to look up %s: %s", settings.qmgr_trigger.c_str(),
                        std::strerror(errno));
        else
            log_warning("%s", sent.error().message().c_str());
    }
}

Status fsync_directory(const std::string& directory) {
    Fd fd(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd.valid() || ::fsync(fd.get()) != 0)
        return Error(ErrorKind::io, "fsync " + directory + ": " + std::strerror(errno));
    return {};
}

}  // namespace

Status commit_queue_file(QueueFileWriter& writer, bool hold, const CleanupSettings& settings) {
    if (!hold)
        return writer.commit();
    // Ready and on disk first, then renamed into hold/: qmgr never sees it in incoming/
    // once the rename is durable; a crash before that leaves it in incoming/, which is
    // what Postfix risks too.
    if (Status flushed = writer.flush_file(); !flushed)
        return flushed;
    std::string target =
        queue_file_path(kQueueDirectory, settings.hashing, "hold", writer.queue_id());
    if (::rename(writer.path().c_str(), target.c_str()) != 0) {
        Error error(ErrorKind::io,
                    "rename " + writer.path() + " to " + target + ": " + std::strerror(errno));
        ::unlink(writer.path().c_str());
        return error;
    }
    if (Status synced = fsync_directory(std::string(kQueueDirectory) + "/hold"); !synced) {
        ::unlink(target.c_str());
        return synced;
    }
    return fsync_directory(writer.directory());
}

CleanupServer::CleanupServer(const CleanupSettings& settings, CleanupTables& tables,
                             AddressMapper& mapper)
    : settings_(settings), context_{settings, tables, mapper, [] {
                                        return static_cast<int64_t>(std::time(nullptr));
                                    }} {}

Status CleanupServer::serve(AttrChannel& channel, std::chrono::milliseconds timeout) {
    // A message belongs to one connection: however serve() returns (the client died after
    // "open", a protocol error, a failed reply), an unfinished message leaves no file and
    // the next client starts afresh.
    struct ForgetMessage {
        std::optional<MessageCleanup>& message;
        ~ForgetMessage() { message.reset(); }
    } forget{message_};
    message_.reset();
    for (;;) {
        auto request = channel.receive(timeout);
        if (!request) {
            if (channel.peer_closed())
                return {};
            return request.error();
        }
        const std::string* verb = string_attr(*request, cleanup_attr::request);
        if (verb == nullptr)
            return Error(ErrorKind::protocol, "cleanup request without a request attribute");
        if (*verb == cleanup_request::records) {
            const Attr* records = request->find(cleanup_attr::records);
            if (!message_ || records == nullptr || records->type() != AttrType::data)
                return Error(ErrorKind::protocol, "unexpected records request");
            message_->add_records(std::get<AttrData>(records->value).bytes);
            continue;
        }
        AttrList answer;
        if (*verb == cleanup_request::open) {
            auto opened = open_message(*request);
            if (!opened)
                return opened.error();
            answer = std::move(*opened);
        } else if (*verb == cleanup_request::end) {
            if (!message_)
                return Error(ErrorKind::protocol, "end request without a message");
            answer = end_message();
        } else {
            return Error(ErrorKind::protocol, "unknown cleanup request: " + verb->substr(0, 50));
        }
        if (Status sent = channel.send(answer, timeout); !sent)
            return sent;
    }
}

Result<AttrList> CleanupServer::open_message(const AttrList& request) {
    if (message_)
        return Error(ErrorKind::protocol, "open request while a message is open");
    const Attr* flags = request.find(cleanup_attr::flags);
    if (flags == nullptr || flags->type() != AttrType::integer)
        return Error(ErrorKind::protocol, "open request without flags");
    QueueFileOptions options;
    options.id_form = settings_.id_form;
    options.hashing = settings_.hashing;
    options.line_length_limit = settings_.line_length_limit;
    auto writer = QueueFileWriter::create(kQueueDirectory, "incoming", options);
    if (!writer) {
        log_warning("%s", writer.error().message().c_str());
        return reply(cleanup_status::write, cleanup_status_reason(cleanup_status::write));
    }
    message_.emplace(context_, std::move(*writer), std::get<int64_t>(flags->value));
    AttrList answer = reply(cleanup_status::ok, {});
    answer.add_string(std::string(cleanup_attr::queue_id), message_->queue_id());
    return answer;
}

AttrList CleanupServer::end_message() {
    MessageOutcome outcome = settle(message_->finish());
    message_.reset();
    return reply(outcome.status, outcome.reason);
}

// Does what the verdict says with the file; the outcome the client hears.
MessageOutcome CleanupServer::settle(MessageOutcome outcome) {
    QueueFileWriter& writer = message_->writer();
    using Disposition = MessageOutcome::Disposition;
    switch (outcome.disposition) {
        case Disposition::discard:
            writer.abandon();
            return outcome;
        case Disposition::reject:
            return bounce_or_refuse(*message_, std::move(outcome), settings_);
        case Disposition::queue:
        case Disposition::hold:
            break;
    }
    bool hold = outcome.disposition == Disposition::hold;
    if (Status committed = commit_queue_file(writer, hold, settings_); !committed) {
        log_warning("%s: %s", message_->queue_id().c_str(), committed.error().message().c_str());
        writer.abandon();
        outcome.disposition = Disposition::reject;
        outcome.status = cleanup_status::write;
        outcome.reason = cleanup_status_reason(cleanup_status::write);
        return outcome;
    }
    if (!hold)
        wake_qmgr(settings_);
    return outcome;
}

}  // namespace postern::cleanup
