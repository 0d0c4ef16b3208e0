// Notice templates: the built-in ones, bounce(5) files, $name expansion; see
// bounce_template.hpp.
#include "bounce/bounce_template.hpp"

#include <cctype>
#include <map>
#include <optional>
#include <utility>

#include "config/main_cf.hpp"
#include "mail/header.hpp"
#include "util/strings.hpp"

namespace postern {

namespace {

// The built-in texts, in Postern's own words.
const char* const kFailureText[] = {
    "This is the mail system at host $myhostname.",
    "",
    "Your message could not be delivered to one or more of its recipients.",
    "The reasons are given below, and your message is attached.",
    "",
    "If you need help, write to the postmaster of this system and include",
    "this report; you may remove your own text from the attached message.",
    "",
    "                   The mail system",
};

const char* const kDelayText[] = {
    "This is the mail system at host $myhostname.",
    "",
    "*** This is a warning only. You do not need to send your message again. ***",
    "",
    "Your message has waited more than $delay_warning_time_hours hour(s) for delivery to",
    "the recipients below. Delivery will go on being tried until the message",
    "is $maximal_queue_lifetime_days day(s) old.",
    "",
    "If you need help, write to the postmaster of this system and include",
    "this report; you may remove your own text from the attached message.",
    "",
    "                   The mail system",
};

const char* const kSuccessText[] = {
    "This is the mail system at host $myhostname.",
    "",
    "As you asked, this report tells you that your message was delivered",
    "to the recipients below. Mail delivered to a mailbox gets no further",
    "report; mail passed on to another system may still bring reports of",
    "problems from there.",
    "",
    "                   The mail system",
};

const char* const kVerifyText[] = {
    "This is the mail system at host $myhostname.",
    "",
    "Here is the delivery report that you asked for.",
    "",
    "                   The mail system",
};

template <size_t N>
std::vector<std::string> lines_of(const char* const (&text)[N]) {
    return std::vector<std::string>(std::begin(text), std::end(text));
}

BounceTemplate builtin(NoticeKind kind, std::string from, std::string subject,
                       std::string postmaster_subject, std::vector<std::string> text) {
    BounceTemplate result;
    result.kind = kind;
    result.from = std::move(from);
    result.subject = std::move(subject);
    result.postmaster_subject = std::move(postmaster_subject);
    result.text = std::move(text);
    return result;
}

bool all_ascii(std::string_view text) {
    for (char c : text)
        if (static_cast<unsigned char>(c) >= 0x80)
            return false;
    return true;
}

bool all_space(std::string_view text) {
    return trim(text).empty();
}

// One header of a template's head; false (and a warning) when the template is unusable.
bool take_template_header(BounceTemplate& parsed, std::string_view label, std::string_view value,
                          std::vector<std::string>& warnings) {
    std::string where = parsed.origin + ": ";
    std::string what = " \"" + std::string(label) + "\" header";
    std::string tail =
        " in " + std::string(notice_kind_name(parsed.kind)) + " template -- ignoring this template";
    if (value.empty()) {
        warnings.push_back(where + "empty" + what + " value" + tail);
        return false;
    }
    if (!all_ascii(value)) {
        warnings.push_back(where + "non-ASCII" + what + " value" + tail);
        return false;
    }
    if (equals_ignore_case(label, "charset")) {
        parsed.charset = std::string(value);
    } else if (equals_ignore_case(label, "from")) {
        parsed.from = std::string(value);
    } else if (equals_ignore_case(label, "subject")) {
        parsed.subject = std::string(value);
    } else if (equals_ignore_case(label, "postmaster-subject") &&
               !parsed.postmaster_subject.empty()) {
        parsed.postmaster_subject = std::string(value);
    } else {
        bool inapplicable = equals_ignore_case(label, "postmaster-subject");
        warnings.push_back(where + (inapplicable ? "inapplicable" : "unknown") + " \"" +
                           std::string(label) + "\" header label" + tail);
        return false;
    }
    return true;
}

std::vector<std::string_view> split_lines(std::string_view text) {
    std::vector<std::string_view> lines;
    while (!text.empty()) {
        size_t newline = text.find('\n');
        lines.push_back(text.substr(0, newline));
        if (newline == std::string_view::npos)
            break;
        text.remove_prefix(newline + 1);
    }
    return lines;
}

// A template's value (headers, blank lines, text) over the built-in `base`; nullopt when
// it is unusable (the warnings say why).
std::optional<BounceTemplate> parse_template(std::string_view value, BounceTemplate base,
                                             std::vector<std::string>& warnings) {
    std::vector<std::string_view> lines = split_lines(value);
    size_t index = 0;
    for (; index < lines.size(); ++index) {
        size_t label_length = header_name_length(lines[index]);
        if (label_length == 0)
            break;
        std::string_view rest = lines[index].substr(label_length);
        size_t start = rest.find_first_not_of(": \t\r\n\f\v");
        std::string_view header_value =
            start == std::string_view::npos ? std::string_view() : trim_right(rest.substr(start));
        if (!take_template_header(base, lines[index].substr(0, label_length), header_value,
                                  warnings))
            return std::nullopt;
    }
    while (index < lines.size() && all_space(lines[index]))
        ++index;
    std::string tail = " in " + std::string(notice_kind_name(base.kind)) + " template";
    if (index == lines.size()) {
        warnings.push_back(base.origin + ": missing message text" + tail +
                           " -- ignoring this template");
        return std::nullopt;
    }
    base.text.assign(lines.begin() + static_cast<std::ptrdiff_t>(index), lines.end());
    base.eight_bit = false;
    for (const std::string& line : base.text)
        base.eight_bit = base.eight_bit || !all_ascii(line);
    if (base.eight_bit && equals_ignore_case(base.charset, "us-ascii")) {
        warnings.push_back(base.origin + ": 8-bit message text" + tail);
        warnings.push_back("please specify a charset value other than us-ascii");
        warnings.push_back("-- ignoring this template for now");
        return std::nullopt;
    }
    return base;
}

// Which template a name such as "failure_template" names.
std::optional<NoticeKind> template_kind(std::string_view name) {
    for (NoticeKind kind :
         {NoticeKind::failure, NoticeKind::delay, NoticeKind::success, NoticeKind::verify})
        if (name == std::string(notice_kind_name(kind)) + "_template")
            return kind;
    return std::nullopt;
}

// A "<<MARKER" value: the lines up to the marker, joined with newlines. `index` moves past
// the marker line.
Result<std::string> here_document(const std::vector<std::string_view>& lines, size_t& index,
                                  std::string_view marker, const std::string& where,
                                  std::vector<std::string>& warnings) {
    if (marker.empty())
        return Error(ErrorKind::config, where + ": missing end marker after <<");
    if (!std::isalnum(static_cast<unsigned char>(marker.front())))
        return Error(ErrorKind::config, where + ": malformed end marker after <<");
    std::string value;
    bool first = true;
    for (++index; index < lines.size(); ++index) {
        if (lines[index] == marker)
            return value;
        if (!first)
            value.push_back('\n');
        value.append(lines[index]);
        first = false;
    }
    warnings.push_back(where + ": missing \"" + std::string(marker) + "\" end marker");
    return value;
}

// Time parameters a template may show in a unit of its choice.
struct TimeUnit {
    std::string_view suffix;
    int64_t seconds;
};
constexpr TimeUnit kTimeUnits[] = {
    {"seconds", 1}, {"minutes", 60}, {"hours", 3600}, {"days", 86400}, {"weeks", 7 * 86400}};

// The parameters of template text: main.cf's, plus the time parameters with a unit.
class TemplateParameters final : public ParameterSource {
  public:
    TemplateParameters(const ParameterSource& parameters, const TemplateTimes& times,
                       const BounceTemplate& notice_template, std::vector<std::string>& warnings)
        : parameters_(parameters), times_(times), template_(notice_template), warnings_(warnings) {}

    std::optional<std::string_view> raw_value(std::string_view name) const override {
        for (auto [prefix, value] : {std::pair<std::string_view, int64_t>{
                                         "delay_warning_time_", times_.delay_warning_time},
                                     {"maximal_queue_lifetime_", times_.maximal_queue_lifetime}})
            if (name.starts_with(prefix))
                return scaled(name, name.substr(prefix.size()), value);
        return parameters_.raw_value(name);
    }

    const std::optional<std::string>& error() const { return error_; }

  private:
    std::optional<std::string_view> scaled(std::string_view name, std::string_view suffix,
                                           int64_t value) const;

    const ParameterSource& parameters_;
    const TemplateTimes& times_;
    const BounceTemplate& template_;
    std::vector<std::string>& warnings_;
    mutable std::map<std::string, std::string, std::less<>> computed_;
    mutable std::optional<std::string> error_;
};

std::optional<std::string_view> TemplateParameters::scaled(std::string_view name,
                                                           std::string_view suffix,
                                                           int64_t value) const {
    std::string where = template_.origin + ": ";
    std::string kind(notice_kind_name(template_.kind));
    for (const TimeUnit& unit : kTimeUnits) {
        if (suffix != unit.suffix)
            continue;
        int64_t result = value / unit.seconds;
        std::string advice = "in " + kind + " template";
        if (result > 999 && unit.seconds < 86400) {
            warnings_.push_back(where + "excessive result \"" + std::to_string(result) + "\" in " +
                                kind + " template conversion of parameter \"" + std::string(name) +
                                "\"");
            warnings_.push_back("please increase time unit \"" + std::string(suffix) + "\" of \"" +
                                std::string(name) + "\" " + advice);
        } else if (result == 0 && value != 0 && unit.seconds > 1) {
            warnings_.push_back(where + "zero result in " + kind +
                                " template conversion of parameter \"" + std::string(name) + "\"");
            warnings_.push_back("please reduce time unit \"" + std::string(suffix) + "\" of \"" +
                                std::string(name) + "\" " + advice);
        }
        auto [slot, added] = computed_.emplace(std::string(name), std::to_string(result));
        return std::string_view(slot->second);
    }
    error_ = where + "unrecognized suffix \"" + std::string(suffix) + "\" in parameter \"" +
             std::string(name) + "\"";
    return std::nullopt;
}

void note_undefined(std::string_view name, void* context) {
    auto* undefined = static_cast<std::optional<std::string>*>(context);
    if (!undefined->has_value())
        *undefined = std::string(name);
}

}  // namespace

std::string_view notice_kind_name(NoticeKind kind) {
    switch (kind) {
        case NoticeKind::failure:
            return "failure";
        case NoticeKind::delay:
            return "delay";
        case NoticeKind::success:
            return "success";
        case NoticeKind::verify:
            return "verify";
    }
    return "failure";
}

const BounceTemplate& BounceTemplates::get(NoticeKind kind) const {
    switch (kind) {
        case NoticeKind::failure:
            return failure;
        case NoticeKind::delay:
            return delay;
        case NoticeKind::success:
            return success;
        case NoticeKind::verify:
            return verify;
    }
    return failure;
}

BounceTemplate& BounceTemplates::get(NoticeKind kind) {
    return const_cast<BounceTemplate&>(std::as_const(*this).get(kind));
}

BounceTemplates builtin_bounce_templates(bool header_from_obsolete) {
    std::string from = header_from_obsolete ? "MAILER-DAEMON (Mail Delivery System)"
                                            : "Mail Delivery System <MAILER-DAEMON>";
    BounceTemplates templates;
    templates.failure = builtin(NoticeKind::failure, from, "Undelivered Mail Returned to Sender",
                                "Postmaster Copy: Undelivered Mail", lines_of(kFailureText));
    templates.delay = builtin(NoticeKind::delay, from, "Delayed Mail (still being retried)",
                              "Postmaster Warning: Delayed Mail", lines_of(kDelayText));
    templates.success = builtin(NoticeKind::success, from, "Successful Mail Delivery Report", "",
                                lines_of(kSuccessText));
    templates.verify =
        builtin(NoticeKind::verify, from, "Mail Delivery Status Report", "", lines_of(kVerifyText));
    return templates;
}

Status load_bounce_templates(std::string_view file_text, const std::string& origin,
                             BounceTemplates& templates, std::vector<std::string>& warnings) {
    std::vector<std::string_view> lines = split_lines(file_text);
    for (size_t index = 0; index < lines.size(); ++index) {
        std::string_view line = lines[index];
        if (trim(line).empty() || trim(line).front() == '#')
            continue;
        std::string where = origin + ", line " + std::to_string(index + 1);
        auto entry = parse_assignment(line);
        if (!entry)
            return Error(ErrorKind::config, where + ": " + entry.error().message());
        std::string value = entry->value;
        if (value.starts_with("<<")) {
            auto document = here_document(lines, index, trim(std::string_view(value).substr(2)),
                                          where, warnings);
            if (!document)
                return document.error();
            value = std::move(*document);
        }
        std::optional<NoticeKind> kind = template_kind(entry->name);
        if (!kind) {
            warnings.push_back(where + ": unknown template name: " + entry->name +
                               " -- ignoring this template");
            continue;
        }
        BounceTemplate base = templates.get(*kind);
        base.origin = origin;
        if (auto parsed = parse_template(value, std::move(base), warnings))
            templates.get(*kind) = std::move(*parsed);
    }
    return {};
}

Result<std::vector<std::string>> expand_template_text(const BounceTemplate& notice_template,
                                                      const ParameterSource& parameters,
                                                      const TemplateTimes& times,
                                                      std::vector<std::string>& warnings) {
    TemplateParameters source(parameters, times, notice_template, warnings);
    std::string kind(notice_kind_name(notice_template.kind));
    std::vector<std::string> expanded;
    for (const std::string& line : notice_template.text) {
        std::optional<std::string> undefined;
        ExpandOptions options;
        options.on_undefined = note_undefined;
        options.context = &undefined;
        auto value = expand_value(line, source, options);
        if (source.error())
            return Error(ErrorKind::config, *source.error());
        if (!value)
            return Error(ErrorKind::config, notice_template.origin + ": bad $name syntax in " +
                                                kind + " template: " + line);
        if (undefined)
            return Error(ErrorKind::config, notice_template.origin + ": undefined $name in " +
                                                kind + " template: " + line);
        // Control characters cannot break a notice line; 8-bit text is the template's
        // charset (Latin-1 or UTF-8), kept as it is.
        for (char& c : *value)
            if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
                c = '?';
        expanded.push_back(std::move(*value));
    }
    return expanded;
}

}  // namespace postern
