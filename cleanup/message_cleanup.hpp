// One message through cleanup: the records a client sends (envelope, content, extracted
// information) are checked, edited and written to the queue file as they arrive, the way
// Postfix's cleanup(8) does it:
//
//   envelope   the sender and each recipient are put in canonical form (trivial-rewrite
//              rules), mapped through the canonical tables, recipients expanded through
//              virtual_alias_maps and filtered for duplicates; automatic BCC recipients
//              are added; DSN attributes are kept with their recipient;
//   headers    header_checks (mime_header_checks for MIME headers, nested_header_checks in
//              attached messages) act on each logical header; addresses in sender and
//              recipient headers are rewritten (local context, or remote with
//              remote_header_rewrite_domain); Bcc:, Resent-Bcc:, Return-Path: and
//              Content-Length: are removed; Received: headers are counted (hopcount_limit);
//              missing Message-Id:, Date:, From: (and undisclosed_recipients_header) are
//              added at the end of the headers, for local mail or always_add_missing_headers;
//   body       body_checks on each line, up to body_checks_size_limit bytes of each part;
//   size       message_size_limit on the content.
//
// Where it sits: cleanup/, between the serve loop (cleanup_server.cpp), which decodes the
// client's frames, and lib/queue's QueueFileWriter, which buffers and writes the file.
// Every record is untrusted: it must be of a type its segment admits, attributes must be
// well-formed, and nothing the client sends can make the work or the memory grow beyond
// the configured limits (records are written as they arrive; only the header being read,
// the duplicate filter and the recipient being expanded are held in memory).
// RFCs: 5322 (headers), 2045-2046 (MIME), 3461 (DSN ORCPT and NOTIFY).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "cleanup/address_mapping.hpp"
#include "cleanup/cleanup_settings.hpp"
#include "mail/header.hpp"
#include "queue/queue_file.hpp"

namespace postern::cleanup {

// What a message needs from the daemon: configuration, tables, the address machinery and
// a clock (create_time, Message-Id), all outliving the message.
struct CleanupContext {
    const CleanupSettings& settings;
    CleanupTables& tables;
    AddressMapper& mapper;
    std::function<int64_t()> now;  // seconds since the epoch
};

// How a message ended.
struct MessageOutcome {
    enum class Disposition {
        queue,    // commit to incoming/ and wake qmgr
        hold,     // commit, then move to hold/
        discard,  // accepted, thrown away (DISCARD): the file is removed
        reject,   // refused (status, reason): the file is removed
    };
    Disposition disposition = Disposition::reject;
    int64_t status = 0;  // cleanup_status bits
    std::string reason;  // "5.7.1 text", for the client
};

class MessageCleanup {
  public:
    MessageCleanup(CleanupContext& context, QueueFileWriter writer, int64_t flags);
    MessageCleanup(const MessageCleanup&) = delete;
    MessageCleanup& operator=(const MessageCleanup&) = delete;

    // One "records" frame: whole records, in order. A malformed stream marks the message
    // bad; later frames are read and ignored.
    void add_records(std::string_view bytes);
    // The client said "end": the last checks. The file is complete but not yet durable.
    MessageOutcome finish();

    const std::string& queue_id() const { return queue_id_; }
    QueueFileWriter& writer() { return writer_; }
    int64_t recipient_count() const { return recipient_count_; }
    // The cleanup_flag bits as the message's actions left them.
    int64_t flags() const { return flags_; }
    // The rewritten envelope sender (internal form; empty for <>).
    const std::string& sender() const { return sender_; }

  private:
    enum class Segment { envelope, content, extracted, done };
    enum class HeaderRewrite { none, local, remote };
    enum class CheckResult { keep, drop, replaced };

    // ---- records ----
    void add_record(char type, std::string_view data);
    void envelope_record(char type, std::string_view data);
    void extracted_record(char type, std::string_view data);
    void attribute_record(std::string_view data, bool extracted);
    void time_record(std::string_view data);
    void sender_record(std::string_view data);
    void legacy_dsn_record(char type, std::string_view data);
    void start_content();
    void content_record(char type, std::string_view data);
    void end_content();
    void end_extracted();
    void bad(const std::string& why);

    // ---- addresses ----
    void recipient_record(std::string_view address);
    void add_recipient(std::string dsn_orcpt, int dsn_notify, std::string original,
                       std::string address);
    void write_recipient(const std::string& dsn_orcpt, int dsn_notify, const std::string& original,
                         const std::string& address);
    void add_bcc(std::string_view address);
    void map_envelope(std::string& address, bool sender);
    void note_mapping_trouble();

    // ---- content ----
    void on_header(HeaderClass header_class, const HeaderInfo* info, std::string& header);
    void on_primary_headers_end();
    void on_body(std::string_view text, bool end_of_line, int64_t offset);
    void on_mime_error(unsigned error, std::string_view context);
    CheckResult apply_checks(MapList* table, const char* context_word, std::string& text,
                             bool header);
    CheckResult act(const char* context_word, std::string& text, std::string_view value,
                    const std::string& title, bool header);
    void known_header(const HeaderInfo& info, std::string& header);
    void rewrite_address_header(const HeaderInfo& info, const std::string& header, bool sender);
    void write_header(std::string_view header);
    void add_missing_headers();
    std::string generated_from() const;
    void log_action(const char* action, const char* context_word, std::string_view text,
                    std::string_view detail) const;
    bool out_ok() const;

    CleanupContext& context_;
    const CleanupSettings& settings_;
    QueueFileWriter writer_;
    std::string queue_id_;
    int64_t flags_;
    int64_t errors_ = 0;
    std::string reason_;
    Segment segment_ = Segment::envelope;
    bool end_seen_ = false;

    // Envelope.
    bool time_seen_ = false;
    QueueTime arrival_;
    bool sender_seen_ = false;
    std::string sender_;  // rewritten, internal form
    std::string full_name_;
    HeaderRewrite header_rewrite_ = HeaderRewrite::local;
    std::string origin_ = "local";  // log_message_origin, for log lines
    std::string protocol_name_;     // log_protocol_name
    std::string helo_name_;         // log_helo_name
    std::string encoding_;          // encoding=
    std::optional<std::string> pending_original_;
    std::string pending_orcpt_;
    int pending_notify_ = 0;
    std::string last_recipient_;  // for log lines
    int64_t recipient_count_ = 0;
    std::unordered_set<std::string> duplicates_;
    std::string filter_;                   // FILTER action
    std::string redirect_;                 // REDIRECT action
    std::vector<std::string> header_bcc_;  // BCC action
    MappingTrouble trouble_;

    // Content.
    ContentSplitter splitter_;
    int64_t content_bytes_ = 0;
    uint64_t headers_seen_ = 0;  // bit per HeaderType
    bool resent_ = false;
    int64_t hop_count_ = 0;
    std::string body_line_;  // the body line body_checks see
};

// "5.7.1 message content rejected": the enhanced status code and text for the most
// important bit of `status` (Postfix's cleanup_stat_detail()).
std::string cleanup_status_reason(int64_t status);

}  // namespace postern::cleanup
