// The bounce daemon's parameters; see bounce_settings.hpp.
#include "bounce/bounce_settings.hpp"

#include "util/strings.hpp"

namespace postern {

namespace {

// Every class Postfix's notify_classes accepts (mail_error.c), so that a valid setting for
// another daemon is not refused here.
constexpr std::string_view kKnownClasses[] = {"bounce", "2bounce",  "data",     "delay",
                                              "policy", "protocol", "resource", "software"};

bool known_class(std::string_view name) {
    for (std::string_view known : kKnownClasses)
        if (equals_ignore_case(name, known))
            return true;
    return false;
}

// Reads the parameters that are plain strings.
Status read_strings(const Config& config, BounceSettings& settings) {
    struct Item {
        std::string_view name;
        std::string* target;
    };
    const Item items[] = {
        {"myhostname", &settings.myhostname},
        {"mail_name", &settings.mail_name},
        {"bounce_notice_recipient", &settings.bounce_notice_recipient},
        {"2bounce_notice_recipient", &settings.double_bounce_notice_recipient},
        {"delay_notice_recipient", &settings.delay_notice_recipient},
        {"double_bounce_sender", &settings.double_bounce_sender},
        {"bounce_template_file", &settings.template_file},
    };
    for (const Item& item : items) {
        auto value = config.get(item.name);
        if (!value)
            return value.error();
        *item.target = std::string(trim(*value));
    }
    return {};
}

Status read_numbers(const Config& config, BounceSettings& settings) {
    auto size_limit = config.get_integer("bounce_size_limit");
    auto line_limit = config.get_integer("line_length_limit");
    auto warning = config.get_time_seconds("delay_warning_time");
    auto lifetime = config.get_time_seconds("maximal_queue_lifetime");
    auto ipc = config.get_time_seconds("ipc_timeout");
    for (const auto* value : {&size_limit, &line_limit, &warning, &lifetime, &ipc})
        if (!*value)
            return value->error();
    settings.bounce_size_limit = *size_limit;
    settings.line_length_limit = *line_limit > 0 ? static_cast<size_t>(*line_limit) : 2048;
    settings.delay_warning_time = *warning;
    settings.maximal_queue_lifetime = *lifetime;
    settings.ipc_timeout = std::chrono::seconds(*ipc > 0 ? *ipc : 3600);
    return {};
}

Status read_switches(const Config& config, BounceSettings& settings) {
    auto utf8 = config.get_boolean("smtputf8_enable");
    auto threaded = config.get_boolean("enable_threaded_bounces");
    auto from_format = config.get("header_from_format");
    auto classes = config.get("notify_classes");
    if (!utf8)
        return utf8.error();
    if (!threaded)
        return threaded.error();
    if (!from_format)
        return from_format.error();
    if (!classes)
        return classes.error();
    std::string_view format = trim(*from_format);
    if (!equals_ignore_case(format, "standard") && !equals_ignore_case(format, "obsolete"))
        return Error(ErrorKind::config,
                     "invalid header_from_format value: \"" + std::string(format) + "\"");
    auto notify = parse_notify_classes(*classes);
    if (!notify)
        return notify.error();
    settings.smtputf8_enable = *utf8;
    settings.threaded_bounces = *threaded;
    settings.header_from_obsolete = equals_ignore_case(format, "obsolete");
    settings.notify = *notify;
    return {};
}

}  // namespace

Result<NotifyClasses> parse_notify_classes(std::string_view value) {
    NotifyClasses classes;
    for (std::string_view name : split_list(value)) {
        if (!known_class(name))
            return Error(ErrorKind::config, "unknown notify_classes value \"" + std::string(name) +
                                                "\" in \"" + std::string(value) + "\"");
        if (equals_ignore_case(name, "bounce"))
            classes.bounce = true;
        else if (equals_ignore_case(name, "2bounce"))
            classes.double_bounce = true;
        else if (equals_ignore_case(name, "delay"))
            classes.delay = true;
    }
    return classes;
}

std::string BounceSettings::double_bounce_address() const {
    return double_bounce_sender + "@" + myhostname;
}

std::string BounceSettings::mailer_daemon_address() const {
    return "MAILER-DAEMON@" + myhostname;
}

Result<BounceSettings> read_bounce_settings(const Config& config) {
    BounceSettings settings;
    for (auto* step : {&read_strings, &read_numbers, &read_switches})
        if (Status read = step(config, settings); !read)
            return read.error();
    auto hashing = QueueHashing::from_config(config);
    if (!hashing)
        return hashing.error();
    settings.hashing = std::move(*hashing);
    return settings;
}

}  // namespace postern
