// cleanup's configuration: the main.cf parameters it obeys, read once at start-up as typed
// values, and the lookup tables it consults, opened as root before the privilege drop.
//
// Where it sits: cleanup/, between lib/config and the per-message work
// (message_cleanup.hpp). main.cf is the administrator's: a bad value is a `fatal:` line at
// start-up. A table that cannot be opened is not fatal: it becomes a stand-in that fails
// every lookup (Postfix's dict_surrogate), so the mail that needs it is deferred.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "config/config.hpp"
#include "mail/local_domains.hpp"
#include "mail/rewrite.hpp"
#include "maps/map_list.hpp"
#include "maps/search.hpp"
#include "queue/queue_id.hpp"
#include "util/result.hpp"

namespace postern::cleanup {

// Which addresses a canonical table rewrites (canonical_classes and friends; Postfix's
// CLEANUP_CANON_FLAG_*).
namespace canonical_class {
inline constexpr unsigned envelope_sender = 1 << 0;
inline constexpr unsigned envelope_recipient = 1 << 1;
inline constexpr unsigned header_sender = 1 << 2;
inline constexpr unsigned header_recipient = 1 << 3;
}  // namespace canonical_class

enum class FromFormat { standard, obsolete };  // header_from_format

struct CleanupSettings {
    std::string myhostname;
    QueueIdForm id_form = QueueIdForm::short_form;  // enable_long_queue_ids
    QueueHashing hashing;
    size_t line_length_limit = 2048;
    size_t header_size_limit = 102400;
    int64_t message_size_limit = 10240000;  // 0: no limit
    int64_t hopcount_limit = 50;
    size_t token_limit = 10240;            // header_address_token_limit
    size_t duplicate_filter_limit = 1000;  // 0: no limit
    bool enable_original_recipient = true;
    bool always_add_missing_headers = false;
    std::string undisclosed_recipients_header;
    std::string always_bcc;
    FromFormat from_format = FromFormat::standard;
    int64_t body_checks_size_limit = 51200;
    int mime_nesting_limit = 100;
    size_t mime_boundary_length_limit = 2048;
    bool disable_mime_input_processing = false;
    std::string message_reject_characters;  // after C-style escapes are resolved
    std::string message_strip_characters;
    int64_t delay_warning_time = 0;  // seconds; 0: no warning record
    unsigned canonical_classes = 0;
    unsigned sender_canonical_classes = 0;
    unsigned recipient_canonical_classes = 0;
    bool propagate_canonical = true;  // propagate_unmatched_extensions lists "canonical"
    bool propagate_virtual = true;    // ... "virtual"
    ExtensionRules extension_rules;   // recipient_delimiter, owner_request_special
    int64_t virtual_alias_recursion_limit = 1000;
    int64_t virtual_alias_expansion_limit = 1000;
    size_t virtual_alias_address_length_limit = 1000;
    bool remote_header_rewrite = false;  // remote_header_rewrite_domain is not empty
    std::string myorigin;                // for the local-domain test of table lookups
    std::string qmgr_trigger;            // "public/qmgr"
    std::string bounce_service;          // "private/bounce"
    bool checks_configured = false;      // any header/mime/nested checks (MIME nesting errors)

    static Result<CleanupSettings> from_config(const Config& config);
};

// Every table cleanup reads. An empty parameter leaves its list empty (`has` false).
struct CleanupTables {
    std::optional<MapList> header_checks;
    std::optional<MapList> mime_header_checks;
    std::optional<MapList> nested_header_checks;
    std::optional<MapList> body_checks;
    std::optional<MapList> canonical_maps;
    std::optional<MapList> sender_canonical_maps;
    std::optional<MapList> recipient_canonical_maps;
    std::optional<MapList> virtual_alias_maps;
    std::optional<MapList> sender_bcc_maps;
    std::optional<MapList> recipient_bcc_maps;
    LocalDomains local_domains;

    static Result<CleanupTables> open(const Config& config);
};

// Turns "\t", "\n", "\\", "\ooo" and "\xhh" into the characters they name, as Postfix
// reads message_reject_characters and message_strip_characters.
std::string unescape_characters(std::string_view text);

}  // namespace postern::cleanup
