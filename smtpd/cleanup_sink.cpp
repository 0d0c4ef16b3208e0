#include "smtpd/cleanup_sink.hpp"

namespace postern::smtpd {

namespace {

class CleanupSink final : public MessageSink {
  public:
    CleanupSink(const std::string& socket_path, std::chrono::milliseconds timeout,
                size_t line_length_limit)
        : socket_path_(socket_path), timeout_(timeout), line_length_limit_(line_length_limit) {}

    Result<std::string> open(int64_t flags) override {
        auto connected = CleanupClient::connect(socket_path_, timeout_);
        if (!connected)
            return connected.error();
        client_.emplace(std::move(*connected));
        client_->set_line_length_limit(line_length_limit_);
        return client_->open(flags);
    }
    void record(char type, std::string_view data) override {
        if (client_)
            client_->record(type, data);
    }
    void attribute(std::string_view name, std::string_view value) override {
        if (client_)
            client_->attribute(name, value);
    }
    void recipient(const QueueRecipient& recipient) override {
        if (client_)
            client_->recipient(recipient);
    }
    void content_line(std::string_view line) override {
        if (client_)
            client_->content_line(line);
    }
    void content_continued(std::string_view piece) override {
        if (client_)
            client_->content_continued(piece);
    }
    void end_content() override {
        if (client_)
            client_->end_content();
    }
    Result<CleanupResult> finish() override {
        if (!client_)
            return Error(ErrorKind::temporary, "cleanup connection is not open");
        auto result = client_->finish();
        client_.reset();
        return result;
    }
    void abandon() override { client_.reset(); }

  private:
    std::string socket_path_;
    std::chrono::milliseconds timeout_;
    size_t line_length_limit_;
    std::optional<CleanupClient> client_;
};

}  // namespace

std::unique_ptr<MessageSink> CleanupSinkFactory::create() {
    return std::make_unique<CleanupSink>(socket_path_, timeout_, line_length_limit_);
}

}  // namespace postern::smtpd
