// Destination lists; see destinations.hpp.
#include "local/destinations.hpp"

#include "mail/address.hpp"
#include "util/strings.hpp"

namespace postern::local {

namespace {

constexpr std::string_view kInclude = ":include:";

Destination classify(std::string text) {
    Destination destination;
    if (!text.empty() && text.front() == '|') {
        destination.kind = DestinationKind::command;
        destination.text = text.substr(1);
    } else if (text.size() >= kInclude.size() &&
               equals_ignore_case(std::string_view(text).substr(0, kInclude.size()), kInclude)) {
        destination.kind = DestinationKind::include;
        destination.text = std::string(trim(std::string_view(text).substr(kInclude.size())));
    } else if (!text.empty() && (text.front() == '/' || text.rfind("~/", 0) == 0)) {
        destination.kind = DestinationKind::file;
        destination.text = std::move(text);
    } else {
        destination.text = std::move(text);
    }
    return destination;
}

bool starts_with_include(std::string_view element) {
    element = trim(element);
    return element.size() >= kInclude.size() &&
           equals_ignore_case(element.substr(0, kInclude.size()), kInclude);
}

// The list cut at its top-level commas (not inside "quotes", (comments) or [literals]).
std::vector<std::string_view> top_level_elements(std::string_view list) {
    std::vector<std::string_view> elements;
    bool quoted = false;
    int comment = 0, literal = 0;
    size_t start = 0;
    for (size_t i = 0; i < list.size(); ++i) {
        char c = list[i];
        if (c == '\\') {
            ++i;
        } else if (quoted) {
            quoted = c != '"';
        } else if (c == '"' && comment == 0) {
            quoted = true;
        } else if (c == '(') {
            ++comment;
        } else if (c == ')' && comment > 0) {
            --comment;
        } else if (c == '[' && comment == 0) {
            literal = 1;
        } else if (c == ']') {
            literal = 0;
        } else if (c == ',' && comment == 0 && literal == 0) {
            elements.push_back(list.substr(start, i - start));
            start = i + 1;
        }
    }
    elements.push_back(list.substr(start));
    return elements;
}

// The tokenizer reads ":include:/path" as a group whose name is empty; an element that
// starts with ":include:" is therefore taken whole, up to the next top-level comma, before
// the rest goes to the address parser (Postfix's tokenizer keeps it as one address too).
std::vector<std::string> split_includes(std::string_view list) {
    std::vector<std::string> pieces;
    std::string rest;
    for (std::string_view element : top_level_elements(list)) {
        if (starts_with_include(element)) {
            if (!rest.empty())
                pieces.push_back(std::move(rest));
            rest.clear();
            pieces.emplace_back(trim(element));
        } else {
            if (!rest.empty())
                rest += ",";
            rest += element;
        }
    }
    if (!rest.empty())
        pieces.push_back(std::move(rest));
    return pieces;
}

}  // namespace

std::vector<Destination> parse_destinations(std::string_view list) {
    std::vector<Destination> destinations;
    for (std::string& piece : split_includes(list)) {
        if (starts_with_include(piece)) {
            destinations.push_back(classify(std::move(piece)));
            continue;
        }
        for (ParsedAddress& address : parse_address_list(piece))
            if (!address.internal.empty())
                destinations.push_back(classify(std::move(address.internal)));
    }
    return destinations;
}

std::vector<std::string> destination_lines(std::string_view text, size_t line_limit) {
    std::vector<std::string> lines;
    if (line_limit == 0)
        line_limit = 2048;
    while (!text.empty()) {
        size_t end = text.find('\n');
        std::string_view line = text.substr(0, end);
        text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
        if (!line.empty() && line.back() == '\r')
            line.remove_suffix(1);
        if (trim(line).empty() || trim(line).front() == '#')
            continue;
        for (size_t at = 0; at < line.size(); at += line_limit)
            lines.emplace_back(line.substr(at, line_limit));
    }
    return lines;
}

}  // namespace postern::local
