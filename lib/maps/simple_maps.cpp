// The table types whose whole content is their name: static:, inline: and fail:.
//
// Where they sit: lib/maps, behind the Map interface. Administrators write them straight
// into main.cf and master.cf (`check_recipient_access inline:{example.com=OK}`,
// `transport_maps = static:smtp:[relay]`, `fail:` to make a lookup defer on purpose).
// The name is configuration, not network input, but may be malformed: every problem is an
// ErrorKind::config Error in Postfix 3.7's words (observed with /usr/sbin/postmap).
//
//   static:TEXT      every key finds TEXT; static:{ TEXT } finds TEXT with the white space
//                    inside the braces trimmed, so TEXT may hold spaces and commas.
//   inline:{ k=v, { k2 = v with spaces } }
//                    a fixed table of the listed entries, keys folded per the flags; a later
//                    entry for the same key replaces an earlier one, as in Postfix.
//   fail:NAME        every lookup, update, delete and listing is a temporary error.
#include <algorithm>
#include <map>
#include <utility>
#include <vector>

#include "maps/map_openers.hpp"
#include "util/strings.hpp"

namespace postern {

namespace {

// ---- braces, shared by static: and inline: ----

// The position just after the '}' that closes the '{' at text[0], or npos.
size_t closing_brace_end(std::string_view text) {
    int depth = 0;
    for (size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '{') {
            ++depth;
        } else if (text[i] == '}' && --depth == 0) {
            return i + 1;
        }
    }
    return std::string_view::npos;
}

// ---- static: ----

class StaticMap final : public Map {
  public:
    StaticMap(std::string_view name, MapFlag flags, std::string value)
        : Map("static", std::string(name), flags, MapKeyKind::fixed), value_(std::move(value)) {}

  protected:
    Result<std::optional<std::string>> do_lookup(std::string_view) override {
        return std::optional<std::string>(value_);
    }

  private:
    std::string value_;
};

Result<std::string> static_value(std::string_view name) {
    if (name.empty() || name.front() != '{')
        return std::string(name);
    auto error = [&](std::string_view what) {
        return Error(ErrorKind::config, "bad static:name syntax: " + std::string(what) + " in \"" +
                                            std::string(name) + "\"");
    };
    size_t end = closing_brace_end(name);
    if (end == std::string_view::npos)
        return error("missing '}'");
    if (end != name.size())
        return error("syntax error after '}'");
    return std::string(trim(name.substr(1, end - 2)));
}

// ---- inline: ----

constexpr std::string_view kInlineSeparators = ", \t\r\n";

struct InlineEntry {
    std::string key;
    std::string value;
};

// An inline: problem, worded as Postfix words it: DETAIL: "inline:NAME"; need "...".
Error inline_error(std::string_view name, std::string_view detail) {
    return Error(ErrorKind::config, std::string(detail) + ": \"inline:" + std::string(name) +
                                        "\"; need \"inline:{name=value...}\"");
}

bool is_separator(char c) {
    return kInlineSeparators.find(c) != std::string_view::npos;
}

bool is_space(char c) {
    return kWhiteSpace.find(c) != std::string_view::npos;
}

// The end of the element that starts at list[start]: the next separator outside braces.
size_t element_end(std::string_view list, size_t start) {
    int depth = 0;
    size_t i = start;
    for (; i < list.size(); ++i) {
        char c = list[i];
        if (c == '{')
            ++depth;
        else if (c == '}' && depth > 0)
            --depth;
        else if (depth == 0 && is_separator(c))
            break;
    }
    return i;
}

// "name = value": the name is a run of characters up to white space or '=', in which a
// double-quoted part may hold either (quotes are kept); white space may surround the '='.
Result<InlineEntry> split_name_value(std::string_view name, std::string_view text) {
    text = trim(text);
    size_t pos = 0;
    while (pos < text.size() && !is_space(text[pos]) && text[pos] != '=') {
        if (text[pos] == '"') {
            size_t close = text.find('"', pos + 1);
            if (close == std::string_view::npos)
                return inline_error(name, "unbalanced '\"'");
            pos = close;
        }
        ++pos;
    }
    std::string_view key = text.substr(0, pos);
    std::string_view rest = trim_left(text.substr(pos));
    if (rest.empty() || rest.front() != '=')
        return inline_error(name, "missing '=' after attribute name");
    return InlineEntry{std::string(key), std::string(trim(rest.substr(1)))};
}

// One element of the list: "k=v", or "{ k = v }" whose inside may hold white space.
Result<InlineEntry> parse_element(std::string_view name, std::string_view element) {
    if (element.front() != '{')
        return split_name_value(name, element);
    size_t end = closing_brace_end(element);
    if (end == std::string_view::npos)
        return inline_error(name, "bad syntax");
    if (end != element.size())
        return inline_error(name, "syntax error after '}' in \"" + std::string(element) + "\"");
    std::string_view inside = trim(element.substr(1, end - 2));
    if (inside.empty())
        return inline_error(name, "no key found; expected format: key = value");
    return split_name_value(name, inside);
}

Result<std::vector<InlineEntry>> parse_inline(std::string_view name) {
    Error bad_syntax(ErrorKind::config, "bad syntax: \"inline:" + std::string(name) +
                                            "\"; need \"inline:{name=value...}\"");
    // "{}" is bad syntax, "{ }" an empty table, as Postfix words them.
    if (name.size() < 3 || name.front() != '{' || closing_brace_end(name) != name.size())
        return bad_syntax;
    std::string_view list = name.substr(1, name.size() - 2);
    std::vector<InlineEntry> entries;
    for (size_t pos = 0;;) {
        while (pos < list.size() && is_separator(list[pos]))
            ++pos;
        if (pos == list.size())
            break;
        size_t end = element_end(list, pos);
        auto entry = parse_element(name, list.substr(pos, end - pos));
        if (!entry)
            return entry.error();
        entries.push_back(std::move(*entry));
        pos = end;
    }
    if (entries.empty())
        return inline_error(name, "empty table");
    return entries;
}

class InlineMap final : public Map {
  public:
    InlineMap(std::string_view name, MapFlag flags)
        : Map("inline", std::string(name), flags, MapKeyKind::fixed) {}

    // Keys folded as lookups fold them; a repeated key keeps its first place, last value.
    void add(const InlineEntry& entry) {
        std::string key = folded_key(entry.key);
        auto [it, inserted] = index_.try_emplace(key, entries_.size());
        if (inserted)
            entries_.emplace_back(std::move(key), entry.value);
        else
            entries_[it->second].second = entry.value;
    }

  protected:
    Result<std::optional<std::string>> do_lookup(std::string_view key) override {
        auto it = index_.find(key);
        if (it == index_.end())
            return std::optional<std::string>();
        return std::optional<std::string>(entries_[it->second].second);
    }

    Status do_for_each(
        const std::function<Status(std::string_view, std::string_view)>& visit) override {
        for (const auto& [key, value] : entries_)
            if (Status status = visit(key, value); !status.ok())
                return status;
        return {};
    }

  private:
    std::vector<std::pair<std::string, std::string>> entries_;  // listing order
    std::map<std::string, size_t, std::less<>> index_;
};

// ---- fail: ----

// Postfix's fail: table reports errno-less failures as "Application error".
class FailMap final : public Map {
  public:
    FailMap(std::string_view name, MapFlag flags)
        : Map("fail", std::string(name), flags, MapKeyKind::fixed) {}

  protected:
    Result<std::optional<std::string>> do_lookup(std::string_view) override {
        return failure("query");
    }
    Status do_update(std::string_view, std::string_view) override { return failure("write"); }
    Result<bool> do_remove(std::string_view) override { return failure("delete"); }
    Status do_for_each(const std::function<Status(std::string_view, std::string_view)>&) override {
        return failure("sequence");
    }

  private:
    Error failure(std::string_view operation) const {
        return Error(ErrorKind::temporary, "table " + spec() + ": " + std::string(operation) +
                                               " error: Application error");
    }
};

Error requires_read_only(std::string_view type, std::string_view name) {
    return Error(ErrorKind::config, std::string(type) + ":" + std::string(name) +
                                        " map requires O_RDONLY access mode");
}

}  // namespace

MapOpenResult open_static_map(std::string_view name, const MapOpenOptions& options) {
    auto value = static_value(name);
    if (!value)
        return value.error();
    return std::unique_ptr<Map>(new StaticMap(name, options.flags, std::move(*value)));
}

MapOpenResult open_inline_map(std::string_view name, const MapOpenOptions& options) {
    if (options.access != MapAccess::read_only)
        return requires_read_only("inline", name);
    auto entries = parse_inline(name);
    if (!entries)
        return entries.error();
    auto map = std::make_unique<InlineMap>(name, options.flags);
    for (const InlineEntry& entry : *entries)
        map->add(entry);
    return std::unique_ptr<Map>(std::move(map));
}

MapOpenResult open_fail_map(std::string_view name, const MapOpenOptions& options) {
    return std::unique_ptr<Map>(new FailMap(name, options.flags));
}

}  // namespace postern
