// cleanup's parameters and tables (see cleanup_settings.hpp).
#include "cleanup/cleanup_settings.hpp"

#include <utility>

#include "util/strings.hpp"

namespace postern::cleanup {
namespace {

Error bad_value(std::string_view name, std::string_view value, std::string_view why) {
    return Error(ErrorKind::config, "bad " + std::string(name) + " value: \"" + std::string(value) +
                                        "\": " + std::string(why));
}

// A parameter that must be a number of at least `minimum`.
Result<int64_t> number_at_least(const Config& config, std::string_view name, int64_t minimum) {
    auto value = config.get_integer(name);
    if (!value)
        return value.error();
    if (*value < minimum)
        return bad_value(name, std::to_string(*value),
                         "must be at least " + std::to_string(minimum));
    return *value;
}

Result<unsigned> read_classes(const Config& config, std::string_view name) {
    auto words = config.get_list(name);
    if (!words)
        return words.error();
    unsigned classes = 0;
    for (const std::string& word : *words) {
        if (equals_ignore_case(word, "envelope_sender"))
            classes |= canonical_class::envelope_sender;
        else if (equals_ignore_case(word, "envelope_recipient"))
            classes |= canonical_class::envelope_recipient;
        else if (equals_ignore_case(word, "header_sender"))
            classes |= canonical_class::header_sender;
        else if (equals_ignore_case(word, "header_recipient"))
            classes |= canonical_class::header_recipient;
        else
            return bad_value(name, word, "unknown address class");
    }
    return classes;
}

Status read_propagation(const Config& config, CleanupSettings& settings) {
    auto words = config.get_list("propagate_unmatched_extensions");
    if (!words)
        return words.error();
    settings.propagate_canonical = settings.propagate_virtual = false;
    for (const std::string& word : *words) {
        if (equals_ignore_case(word, "canonical"))
            settings.propagate_canonical = true;
        else if (equals_ignore_case(word, "virtual"))
            settings.propagate_virtual = true;
        else if (!equals_ignore_case(word, "alias") && !equals_ignore_case(word, "forward") &&
                 !equals_ignore_case(word, "include") && !equals_ignore_case(word, "generic"))
            return bad_value("propagate_unmatched_extensions", word, "unknown table class");
    }
    return {};
}

// The limits: numbers with Postfix's minimums.
Status read_limits(const Config& config, CleanupSettings& s) {
    struct Limit {
        const char* name;
        int64_t minimum;
        int64_t* target;
    };
    int64_t line = 0, header = 0, tokens = 0, duplicates = 0, nesting = 0, boundary = 0,
            address_length = 0;
    const Limit limits[] = {
        {"line_length_limit", 1, &line},
        {"header_size_limit", 1, &header},
        {"message_size_limit", 0, &s.message_size_limit},
        {"hopcount_limit", 1, &s.hopcount_limit},
        {"header_address_token_limit", 1, &tokens},
        {"duplicate_filter_limit", 0, &duplicates},
        {"body_checks_size_limit", 0, &s.body_checks_size_limit},
        {"mime_nesting_limit", 1, &nesting},
        {"mime_boundary_length_limit", 1, &boundary},
        {"virtual_alias_recursion_limit", 1, &s.virtual_alias_recursion_limit},
        {"virtual_alias_expansion_limit", 1, &s.virtual_alias_expansion_limit},
        {"virtual_alias_address_length_limit", 1, &address_length},
    };
    for (const Limit& limit : limits) {
        auto value = number_at_least(config, limit.name, limit.minimum);
        if (!value)
            return value.error();
        *limit.target = *value;
    }
    s.line_length_limit = static_cast<size_t>(line);
    s.header_size_limit = static_cast<size_t>(header);
    s.token_limit = static_cast<size_t>(tokens);
    s.duplicate_filter_limit = static_cast<size_t>(duplicates);
    s.mime_nesting_limit = static_cast<int>(std::min<int64_t>(nesting, 1 << 20));
    s.mime_boundary_length_limit = static_cast<size_t>(boundary);
    s.virtual_alias_address_length_limit = static_cast<size_t>(address_length);
    return {};
}

Status read_booleans(const Config& config, CleanupSettings& s) {
    struct Flag {
        const char* name;
        bool* target;
    };
    bool long_ids = false, owner_request_special = true;
    const Flag flags[] = {
        {"enable_long_queue_ids", &long_ids},
        {"enable_original_recipient", &s.enable_original_recipient},
        {"always_add_missing_headers", &s.always_add_missing_headers},
        {"disable_mime_input_processing", &s.disable_mime_input_processing},
        {"owner_request_special", &owner_request_special},
    };
    for (const Flag& flag : flags) {
        auto value = config.get_boolean(flag.name);
        if (!value)
            return value.error();
        *flag.target = *value;
    }
    s.id_form = long_ids ? QueueIdForm::long_form : QueueIdForm::short_form;
    s.extension_rules.owner_request_special = owner_request_special;
    return {};
}

Status read_strings(const Config& config, CleanupSettings& s) {
    struct Text {
        const char* name;
        std::string* target;
    };
    std::string from_format, reject, strip, remote_domain, qmgr, bounce;
    const Text texts[] = {
        {"myhostname", &s.myhostname},
        {"myorigin", &s.myorigin},
        {"undisclosed_recipients_header", &s.undisclosed_recipients_header},
        {"always_bcc", &s.always_bcc},
        {"header_from_format", &from_format},
        {"message_reject_characters", &reject},
        {"message_strip_characters", &strip},
        {"recipient_delimiter", &s.extension_rules.delimiters},
        {"double_bounce_sender", &s.extension_rules.double_bounce_sender},
        {"remote_header_rewrite_domain", &remote_domain},
        {"queue_service_name", &qmgr},
        {"bounce_service_name", &bounce},
    };
    for (const Text& text : texts) {
        auto value = config.get(text.name);
        if (!value)
            return value.error();
        *text.target = std::string(trim(*value));
    }
    if (equals_ignore_case(from_format, "standard"))
        s.from_format = FromFormat::standard;
    else if (equals_ignore_case(from_format, "obsolete"))
        s.from_format = FromFormat::obsolete;
    else
        return bad_value("header_from_format", from_format, "need standard or obsolete");
    s.message_reject_characters = unescape_characters(reject);
    s.message_strip_characters = unescape_characters(strip);
    s.remote_header_rewrite = !remote_domain.empty();
    s.qmgr_trigger = "public/" + qmgr;
    s.bounce_service = "private/" + bounce;
    return {};
}

Status read_checks_presence(const Config& config, CleanupSettings& s) {
    for (const char* name : {"header_checks", "mime_header_checks", "nested_header_checks"}) {
        auto value = config.get(name);
        if (!value)
            return value.error();
        if (!trim(*value).empty())
            s.checks_configured = true;
    }
    return {};
}

Result<std::optional<MapList>> open_list(const Config& config, const char* name,
                                         const MapListOptions& options) {
    auto value = config.get(name);
    if (!value)
        return value.error();
    if (trim(*value).empty())
        return std::optional<MapList>();
    auto list = MapList::open(name, *value, options);
    if (!list)
        return list.error();
    return std::optional<MapList>(std::move(*list));
}

int hex_digit(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

}  // namespace

Result<CleanupSettings> CleanupSettings::from_config(const Config& config) {
    CleanupSettings s;
    for (auto step :
         {read_limits, read_booleans, read_strings, read_checks_presence, read_propagation}) {
        if (Status status = step(config, s); !status)
            return status.error();
    }
    auto hashing = QueueHashing::from_config(config);
    if (!hashing)
        return hashing.error();
    s.hashing = std::move(*hashing);
    auto delay = config.get_time_seconds("delay_warning_time");
    if (!delay)
        return delay.error();
    s.delay_warning_time = *delay;
    for (auto [name, target] :
         {std::pair{"canonical_classes", &s.canonical_classes},
          std::pair{"sender_canonical_classes", &s.sender_canonical_classes},
          std::pair{"recipient_canonical_classes", &s.recipient_canonical_classes}}) {
        auto classes = read_classes(config, name);
        if (!classes)
            return classes.error();
        *target = *classes;
    }
    return s;
}

Result<CleanupTables> CleanupTables::open(const Config& config) {
    MapListOptions options;
    options.surrogate_on_open_error = true;
    auto utf8 = config.get_boolean("smtputf8_enable");
    if (utf8 && *utf8)
        options.open.flags = options.open.flags | MapFlag::utf8_keys;
    CleanupTables tables;
    struct Entry {
        const char* name;
        std::optional<MapList>* target;
    };
    const Entry entries[] = {
        {"header_checks", &tables.header_checks},
        {"mime_header_checks", &tables.mime_header_checks},
        {"nested_header_checks", &tables.nested_header_checks},
        {"body_checks", &tables.body_checks},
        {"canonical_maps", &tables.canonical_maps},
        {"sender_canonical_maps", &tables.sender_canonical_maps},
        {"recipient_canonical_maps", &tables.recipient_canonical_maps},
        {"virtual_alias_maps", &tables.virtual_alias_maps},
        {"sender_bcc_maps", &tables.sender_bcc_maps},
        {"recipient_bcc_maps", &tables.recipient_bcc_maps},
    };
    for (const Entry& entry : entries) {
        auto list = open_list(config, entry.name, options);
        if (!list)
            return list.error();
        *entry.target = std::move(*list);
    }
    auto local = LocalDomains::open(config, options);
    if (!local)
        return local.error();
    tables.local_domains = std::move(*local);
    return tables;
}

std::string unescape_characters(std::string_view text) {
    std::string out;
    for (size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '\\' || i + 1 >= text.size()) {
            out.push_back(text[i]);
            continue;
        }
        char c = text[++i];
        switch (c) {
            case 'a':
                out.push_back('\a');
                break;
            case 'b':
                out.push_back('\b');
                break;
            case 'f':
                out.push_back('\f');
                break;
            case 'n':
                out.push_back('\n');
                break;
            case 'r':
                out.push_back('\r');
                break;
            case 't':
                out.push_back('\t');
                break;
            case 'v':
                out.push_back('\v');
                break;
            case 'x': {
                int value = 0, digits = 0;
                while (digits < 2 && i + 1 < text.size() && hex_digit(text[i + 1]) >= 0) {
                    value = value * 16 + hex_digit(text[++i]);
                    ++digits;
                }
                out.push_back(digits ? static_cast<char>(value) : 'x');
                break;
            }
            default:
                if (c >= '0' && c <= '7') {
                    int value = c - '0', digits = 1;
                    while (digits < 3 && i + 1 < text.size() && text[i + 1] >= '0' &&
                           text[i + 1] <= '7') {
                        value = value * 8 + (text[++i] - '0');
                        ++digits;
                    }
                    out.push_back(static_cast<char>(value));
                } else {
                    out.push_back(c);
                }
        }
    }
    return out;
}

}  // namespace postern::cleanup
