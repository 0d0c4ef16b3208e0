// Submitting notices through cleanup; see notice_submitter.hpp.
#include "bounce/notice_submitter.hpp"

#include "queue/cleanup_protocol.hpp"

namespace postern {

namespace {

// The notice's lines as queue-file content records, straight into cleanup's stream.
class CleanupSink final : public NoticeSink {
  public:
    explicit CleanupSink(CleanupClient& client) : client_(client) {}
    void line(std::string_view text) override { client_.content_line(text); }
    void piece(std::string_view text) override { client_.content_continued(text); }

  private:
    CleanupClient& client_;
};

}  // namespace

Result<std::string> CleanupSubmitter::submit(const NoticeEnvelope& envelope,
                                             const Compose& compose) {
    auto client = CleanupClient::connect(socket_path_, timeout_);
    if (!client)
        return Error(ErrorKind::temporary, "cleanup: " + client.error().message());
    client->set_line_length_limit(line_length_limit_);
    int64_t flags = cleanup_flag::mask_internal | (envelope.smtputf8 ? cleanup_flag::smtputf8 : 0);
    auto notice_id = client->open(flags);
    if (!notice_id)
        return notice_id.error();
    client->arrival_time(QueueTime{envelope.now, 0});
    client->sender(envelope.sender);
    QueueRecipient recipient;
    recipient.address = envelope.recipient;
    client->recipient(recipient);
    CleanupSink sink(*client);
    compose(*notice_id, sink);
    auto result = client->finish();
    if (!result)
        return result.error();
    if (!result->ok())
        return Error(
            ErrorKind::temporary,
            "cleanup: " + (result->reason.empty() ? std::string(cleanup_status_text(result->status))
                                                  : result->reason));
    return *notice_id;
}

}  // namespace postern
