// One message through cleanup: the record stream, the envelope and the recipients (see
// message_cleanup.hpp; headers and body are in message_content.cpp).
#include "cleanup/message_cleanup.hpp"

#include <utility>

#include "mail/address.hpp"
#include "queue/cleanup_protocol.hpp"
#include "queue/maildrop.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace postern::cleanup {
namespace {

// What each segment of the client's stream admits (Postfix's cleanup accepts the
// envelope records of a queue file, less the size record, so that a requeued queue file
// can be passed on record for record). The first type of each set ends the segment.
constexpr std::string_view kEnvelopeTypes = "MTFILSRDO/WVA>K<ion";
constexpr std::string_view kContentTypes = "XLN";
constexpr std::string_view kExtractedTypes = "EARDO/>L<ion";

// Attributes cleanup writes itself or turns into something else; not copied as they are.
bool consumed_attribute(std::string_view name) {
    return name == queue_attr::create_time || name == queue_attr::notify_flags ||
           name == queue_attr::dsn_orig_rcpt || name == queue_attr::encoding;
}

// Attribute names are plain words, as Postfix's are; anything else is a broken client.
bool valid_attribute_name(std::string_view name) {
    if (name.empty() || name.size() > 100)
        return false;
    for (char c : name) {
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.'))
            return false;
    }
    return true;
}

std::optional<int64_t> small_number(std::string_view text, int64_t maximum) {
    auto value = parse_integer(trim(text));
    if (!value || *value < 0 || *value > maximum)
        return std::nullopt;
    return *value;
}

// "rfc822;addr": an ORCPT with its address type, as DSN keeps it.
bool valid_orcpt(std::string_view text) {
    size_t semicolon = text.find(';');
    return semicolon != std::string_view::npos && semicolon > 0;
}

}  // namespace

MessageCleanup::MessageCleanup(CleanupContext& context, QueueFileWriter writer, int64_t flags)
    : context_(context),
      settings_(context.settings),
      writer_(std::move(writer)),
      queue_id_(writer_.queue_id()),
      flags_(flags),
      splitter_(
          ContentSplitterOptions{
              .header_size_limit = settings_.header_size_limit,
              .mime_nesting_limit = settings_.mime_nesting_limit,
              .mime_boundary_length_limit = settings_.mime_boundary_length_limit,
              .disable_mime = settings_.disable_mime_input_processing,
              .report_nesting = (flags & cleanup_flag::filter) != 0 && settings_.checks_configured,
          },
          ContentSplitterEvents{
              .header = [this](HeaderClass c, const HeaderInfo* info,
                               std::string& header) { on_header(c, info, header); },
              .primary_headers_end = [this]() { on_primary_headers_end(); },
              .body = [this](std::string_view text, bool end_of_line,
                             int64_t offset) { on_body(text, end_of_line, offset); },
              .error = [this](unsigned error,
                              std::string_view text) { on_mime_error(error, text); },
          }) {}

// ---- The record stream ----

void MessageCleanup::add_records(std::string_view bytes) {
    if ((errors_ & cleanup_status::bad) != 0)
        return;
    RecordReader reader = RecordReader::from_memory(bytes, queue_id_);
    for (;;) {
        auto next = reader.next();
        if (!next) {
            bad(next.error().message());
            return;
        }
        if (!next->has_value())
            return;
        add_record((*next)->type, (*next)->data);
        if ((errors_ & cleanup_status::bad) != 0)
            return;
    }
}

void MessageCleanup::add_record(char type, std::string_view data) {
    std::string_view allowed = segment_ == Segment::envelope    ? kEnvelopeTypes
                               : segment_ == Segment::content   ? kContentTypes
                               : segment_ == Segment::extracted ? kExtractedTypes
                                                                : std::string_view();
    if (allowed.find(type) == std::string_view::npos) {
        bad("unexpected record type " + std::to_string(static_cast<unsigned char>(type)) +
            (segment_ == Segment::envelope    ? " in envelope"
             : segment_ == Segment::content   ? " in message content"
             : segment_ == Segment::extracted ? " in extracted segment"
                                              : " after the end record"));
        return;
    }
    switch (segment_) {
        case Segment::envelope:
            envelope_record(type, data);
            break;
        case Segment::content:
            content_record(type, data);
            break;
        case Segment::extracted:
            extracted_record(type, data);
            break;
        case Segment::done:
            break;
    }
}

void MessageCleanup::bad(const std::string& why) {
    if ((errors_ & cleanup_status::bad) == 0)
        log_warning("%s: message rejected: %s", queue_id_.c_str(), why.c_str());
    errors_ |= cleanup_status::bad;
}

// ---- Envelope ----

void MessageCleanup::envelope_record(char type, std::string_view data) {
    switch (type) {
        case rec_type::time:
            time_record(data);
            break;
        case rec_type::attribute:
            attribute_record(data, false);
            break;
        case rec_type::full_name:
            full_name_ = std::string(data);
            writer_.full_name(data);
            break;
        case rec_type::sender:
            sender_record(data);
            break;
        case rec_type::original:
            pending_original_ = std::string(data);
            break;
        case rec_type::recipient:
            recipient_record(data);
            break;
        case rec_type::done:      // delivered before a requeue: not again
        case rec_type::canceled:  // canceled by a milter
            pending_original_.reset();
            pending_orcpt_.clear();
            pending_notify_ = 0;
            break;
        case rec_type::filter:
            filter_ = std::string(data);
            break;
        case rec_type::redirect:
            redirect_ = std::string(data);
            break;
        case rec_type::verp:
            if (data.size() != 2)
                bad("bad VERP delimiters");
            else
                writer_.other_record(rec_type::verp, data);
            break;
        case rec_type::message:
            start_content();
            break;
        case rec_type::dsn_ret:
        case rec_type::dsn_envid:
        case rec_type::dsn_orcpt:
        case rec_type::dsn_notify:
            legacy_dsn_record(type, data);
            break;
        default:  // I (inspector), K (killed), W (warning time): cleanup decides these itself
            break;
    }
}

void MessageCleanup::time_record(std::string_view data) {
    if (time_seen_)
        return;  // the first one counts, as in Postfix
    std::string_view text = trim(data);
    std::string_view seconds = text.substr(0, text.find(' '));
    std::string_view micros =
        seconds.size() < text.size() ? trim(text.substr(seconds.size())) : std::string_view("0");
    auto sec = parse_integer(seconds);
    auto usec = parse_integer(micros);
    if (!sec || !usec || *sec < 0 || *usec < 0 || *usec > 999999) {
        bad("bad time record: " + std::string(text.substr(0, 100)));
        return;
    }
    time_seen_ = true;
    arrival_ = QueueTime{*sec, static_cast<int32_t>(*usec)};
    writer_.arrival_time(arrival_);
    writer_.attribute(queue_attr::create_time, std::to_string(context_.now()));
    if (settings_.delay_warning_time > 0)
        writer_.warning_time(arrival_.seconds + settings_.delay_warning_time);
}

void MessageCleanup::attribute_record(std::string_view data, bool extracted) {
    auto attribute = split_attribute(data);
    if (!attribute || !valid_attribute_name(attribute->name)) {
        bad("malformed attribute: " + std::string(data.substr(0, 100)));
        return;
    }
    std::string_view name = attribute->name;
    std::string_view value = attribute->value;
    if (name == queue_attr::notify_flags) {
        auto flags = small_number(value, 15);
        if (!flags)
            return bad("bad notify_flags attribute: " + std::string(value.substr(0, 100)));
        pending_notify_ = static_cast<int>(*flags);
    } else if (name == queue_attr::dsn_orig_rcpt) {
        if (!valid_orcpt(value))
            return bad("bad dsn_orig_rcpt attribute: " + std::string(value.substr(0, 100)));
        pending_orcpt_ = std::string(value);
    } else if (name == queue_attr::encoding) {
        encoding_ = std::string(value);
    } else if (name == queue_attr::rewrite_context && !extracted) {
        if (value == "remote")
            header_rewrite_ =
                settings_.remote_header_rewrite ? HeaderRewrite::remote : HeaderRewrite::none;
        else if (value == "local")
            header_rewrite_ = HeaderRewrite::local;
        else
            return bad("bad rewrite_context attribute: " + std::string(value.substr(0, 100)));
    } else if (name == "log_message_origin") {
        origin_ = std::string(value);
    } else if (name == "log_protocol_name") {
        protocol_name_ = std::string(value);
    } else if (name == "log_helo_name") {
        helo_name_ = std::string(value);
    }
    if (!consumed_attribute(name) && !extracted)
        writer_.attribute(name, value);
}

// Records of Postfix before 2.3 that stand for DSN attributes.
void MessageCleanup::legacy_dsn_record(char type, std::string_view data) {
    switch (type) {
        case rec_type::dsn_ret:
            writer_.attribute(queue_attr::ret_flags, data);
            break;
        case rec_type::dsn_envid:
            writer_.attribute(queue_attr::envelope_id, data);
            break;
        case rec_type::dsn_orcpt:
            if (valid_orcpt(data))
                pending_orcpt_ = std::string(data);
            break;
        case rec_type::dsn_notify:
            if (auto flags = small_number(data, 15))
                pending_notify_ = static_cast<int>(*flags);
            break;
        default:
            break;
    }
}

void MessageCleanup::sender_record(std::string_view data) {
    if (sender_seen_) {
        bad("multiple sender records");
        return;
    }
    sender_seen_ = true;
    std::string address = context_.mapper.rewrite_local(data);
    // The bounce address of this system, written out, is the null sender.
    std::string daemon = context_.mapper.rewrite_local("MAILER-DAEMON");
    if (!address.empty() && equals_ignore_case(address, daemon))
        address.clear();
    map_envelope(address, true);
    sender_ = address;
    writer_.sender(sender_);
    if ((flags_ & cleanup_flag::bcc_ok) && !sender_.empty() && context_.tables.sender_bcc_maps) {
        if (auto bcc = context_.mapper.find_bcc(*context_.tables.sender_bcc_maps, sender_,
                                                queue_id_, trouble_))
            add_bcc(*bcc);
        note_mapping_trouble();
    }
}

void MessageCleanup::start_content() {
    if (!sender_seen_ || !time_seen_) {
        bad(!sender_seen_ ? "missing sender envelope record" : "missing time envelope record");
        return;
    }
    if (!filter_.empty())
        writer_.other_record(rec_type::filter, filter_);
    filter_.clear();
    writer_.begin_content();
    segment_ = Segment::content;
}

// ---- Recipients ----

// Canonical mapping of an envelope address (map_ok), per canonical_classes and the
// sender/recipient classes.
void MessageCleanup::map_envelope(std::string& address, bool sender) {
    if ((flags_ & cleanup_flag::map_ok) == 0 || address.empty())
        return;
    CleanupTables& tables = context_.tables;
    unsigned own = sender ? canonical_class::envelope_sender : canonical_class::envelope_recipient;
    std::optional<MapList>& specific =
        sender ? tables.sender_canonical_maps : tables.recipient_canonical_maps;
    unsigned specific_classes =
        sender ? settings_.sender_canonical_classes : settings_.recipient_canonical_classes;
    if (specific && (specific_classes & own))
        context_.mapper.map_canonical(*specific, address, settings_.propagate_canonical, queue_id_,
                                      trouble_);
    if (tables.canonical_maps && (settings_.canonical_classes & own))
        context_.mapper.map_canonical(*tables.canonical_maps, address,
                                      settings_.propagate_canonical, queue_id_, trouble_);
    note_mapping_trouble();
}

void MessageCleanup::note_mapping_trouble() {
    if (trouble_.status == 0 || (errors_ & trouble_.status) != 0)
        return;
    errors_ |= trouble_.status;
    if (reason_.empty() && !trouble_.reason.empty())
        reason_ = trouble_.reason;
}

void MessageCleanup::recipient_record(std::string_view data) {
    std::string original = pending_original_ ? *pending_original_ : std::string(data);
    std::string address = context_.mapper.rewrite_local(data);
    map_envelope(address, false);
    // Without an ORCPT from the client, the DSN original recipient is the address as it
    // was before virtual expansion (Postfix 3.7 records it that way; BCC copies get none).
    std::string orcpt = pending_orcpt_.empty() ? "rfc822;" + address : std::move(pending_orcpt_);
    add_recipient(std::move(orcpt), pending_notify_, std::move(original), address);
    pending_original_.reset();
    pending_orcpt_.clear();
    pending_notify_ = 0;
    last_recipient_ = address;
    if ((flags_ & cleanup_flag::bcc_ok) && !address.empty() && context_.tables.recipient_bcc_maps) {
        if (auto bcc = context_.mapper.find_bcc(*context_.tables.recipient_bcc_maps, address,
                                                queue_id_, trouble_))
            add_bcc(*bcc);
        note_mapping_trouble();
    }
}

// Virtual alias expansion and duplicate elimination, then the records.
void MessageCleanup::add_recipient(std::string dsn_orcpt, int dsn_notify, std::string original,
                                   std::string address) {
    if (!settings_.enable_original_recipient)
        original.clear();
    std::vector<std::string> targets{address};
    if ((flags_ & cleanup_flag::map_ok) && context_.tables.virtual_alias_maps) {
        targets = context_.mapper.expand_virtual(address, queue_id_, trouble_);
        note_mapping_trouble();
    }
    if (!redirect_.empty())
        targets = {redirect_};
    for (const std::string& target : targets)
        write_recipient(dsn_orcpt, dsn_notify, original, target);
}

void MessageCleanup::write_recipient(const std::string& dsn_orcpt, int dsn_notify,
                                     const std::string& original, const std::string& address) {
    // Postfix's duplicate filter: the same address with the same DSN details and original
    // recipient, all without regard to case; it stops remembering at duplicate_filter_limit.
    std::string key =
        lowercase(dsn_orcpt + '\n' + std::to_string(dsn_notify) + '\n' + original + '\n' + address);
    if (duplicates_.count(key))
        return;
    if (settings_.duplicate_filter_limit == 0 ||
        duplicates_.size() < settings_.duplicate_filter_limit)
        duplicates_.insert(std::move(key));
    QueueRecipient recipient;
    recipient.address = address;
    recipient.original = original;
    recipient.dsn_orcpt = dsn_orcpt;
    recipient.dsn_notify = dsn_notify;
    writer_.recipient(recipient);
    ++recipient_count_;
}

// A copy for an automatic BCC address (always_bcc, sender_bcc_maps, recipient_bcc_maps,
// the BCC action): local context, canonical recipient mapping, no DSN notices.
void MessageCleanup::add_bcc(std::string_view bcc) {
    std::string address = context_.mapper.rewrite_local(bcc);
    map_envelope(address, false);
    add_recipient({}, dsn::notify_never, address, address);
}

// ---- Extracted information ----

void MessageCleanup::extracted_record(char type, std::string_view data) {
    switch (type) {
        case rec_type::attribute:
            attribute_record(data, true);
            break;
        case rec_type::original:
            pending_original_ = std::string(data);
            break;
        case rec_type::recipient:
            recipient_record(data);
            break;
        case rec_type::done:
        case rec_type::canceled:
            pending_original_.reset();
            pending_orcpt_.clear();
            pending_notify_ = 0;
            break;
        case rec_type::redirect:
            redirect_ = std::string(data);
            break;
        case rec_type::filter:
            filter_ = std::string(data);
            break;
        case rec_type::end:
            end_extracted();
            break;
        default:
            legacy_dsn_record(type, data);
    }
}

void MessageCleanup::end_extracted() {
    if ((flags_ & cleanup_flag::bcc_ok) && !settings_.always_bcc.empty())
        add_bcc(settings_.always_bcc);
    for (const std::string& bcc : header_bcc_)
        add_bcc(bcc);
    if (!filter_.empty())
        writer_.other_record(rec_type::filter, filter_);
    if (!redirect_.empty())
        writer_.other_record(rec_type::redirect, redirect_);
    segment_ = Segment::done;
    end_seen_ = true;
}

// ---- The end ----

MessageOutcome MessageCleanup::finish() {
    MessageOutcome outcome;
    if (!end_seen_ && (errors_ & cleanup_status::bad) == 0)
        bad("unexpected end of message (no end record)");
    if ((flags_ & cleanup_flag::discard) != 0 && (errors_ & cleanup_status::bad) == 0) {
        outcome.disposition = MessageOutcome::Disposition::discard;
        return outcome;
    }
    if (errors_ == 0 && recipient_count_ == 0)
        errors_ |= cleanup_status::rcpt;
    if (errors_ == 0 && !writer_.status())
        errors_ |= cleanup_status::write;
    if (errors_ != 0) {
        outcome.status = errors_;
        outcome.reason = reason_.empty() ? cleanup_status_reason(errors_) : reason_;
        return outcome;
    }
    outcome.disposition = (flags_ & cleanup_flag::hold) ? MessageOutcome::Disposition::hold
                                                        : MessageOutcome::Disposition::queue;
    return outcome;
}

}  // namespace postern::cleanup
