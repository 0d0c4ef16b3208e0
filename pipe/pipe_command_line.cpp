// The attributes and argv expansion of a pipe(8) service; see pipe_command_line.hpp.
#include "pipe/pipe_command_line.hpp"

#include <algorithm>
#include <cctype>
#include <map>

#include "mail/address.hpp"
#include "util/strings.hpp"

namespace postern::pipe {

namespace {

constexpr std::string_view kPerRecipientMacros[] = {
    "recipient", "original_recipient", "user", "extension", "mailbox", "domain",
};

bool is_per_recipient(std::string_view name) {
    return std::find(std::begin(kPerRecipientMacros), std::end(kPerRecipientMacros), name) !=
           std::end(kPerRecipientMacros);
}

std::string unescape(std::string_view text) {
    std::string out;
    for (size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '\\' && i + 1 < text.size()) {
            char next = text[++i];
            out.push_back(next == 'n' ? '\n' : next == 'r' ? '\r' : next == 't' ? '\t' : next);
        } else {
            out.push_back(text[i]);
        }
    }
    return out;
}

// The macro names a word uses ("${name}" and "$name").
std::vector<std::string> macros_in(std::string_view word) {
    std::vector<std::string> names;
    for (size_t at = word.find('$'); at != std::string_view::npos; at = word.find('$', at + 1)) {
        if (at + 1 < word.size() && word[at + 1] == '{') {
            size_t end = word.find('}', at);
            if (end != std::string_view::npos)
                names.emplace_back(word.substr(at + 2, end - at - 2));
        } else {
            size_t end = at + 1;
            while (end < word.size() &&
                   (std::isalnum(static_cast<unsigned char>(word[end])) || word[end] == '_'))
                ++end;
            names.emplace_back(word.substr(at + 1, end - at - 1));
        }
    }
    return names;
}

std::string substitute(std::string_view word, const std::map<std::string, std::string>& values) {
    std::string out;
    for (size_t i = 0; i < word.size(); ++i) {
        if (word[i] != '$') {
            out.push_back(word[i]);
            continue;
        }
        std::string name;
        if (i + 1 < word.size() && word[i + 1] == '{') {
            size_t end = word.find('}', i);
            if (end == std::string_view::npos) {
                out.append(word.substr(i));
                break;
            }
            name = std::string(word.substr(i + 2, end - i - 2));
            i = end;
        } else {
            size_t end = i + 1;
            while (end < word.size() &&
                   (std::isalnum(static_cast<unsigned char>(word[end])) || word[end] == '_'))
                ++end;
            name = std::string(word.substr(i + 1, end - i - 1));
            i = end - 1;
        }
        if (auto found = values.find(name); found != values.end())
            out += found->second;
    }
    return out;
}

std::string shown(const PipeAttributes& attributes, const std::string& address) {
    return attributes.has('q') ? externalize_address(address) : address;
}

}  // namespace

Result<PipeAttributes> parse_pipe_attributes(const std::vector<std::string>& arguments) {
    PipeAttributes attributes;
    bool have_argv = false;
    for (size_t i = 0; i < arguments.size(); ++i) {
        const std::string& word = arguments[i];
        auto value = [&](std::string_view prefix) { return word.substr(prefix.size()); };
        if (word.starts_with("argv=")) {
            if (!value("argv=").empty())
                attributes.argv.push_back(value("argv="));
            attributes.argv.insert(attributes.argv.end(), arguments.begin() + i + 1,
                                   arguments.end());
            have_argv = true;
            break;
        }
        if (word.starts_with("flags=")) {
            attributes.flags = value("flags=");
        } else if (word.starts_with("user=")) {
            std::string user = value("user=");
            if (size_t colon = user.find(':'); colon != std::string::npos) {
                attributes.group = user.substr(colon + 1);
                user.resize(colon);
            }
            attributes.user = user;
        } else if (word.starts_with("directory=")) {
            attributes.directory = value("directory=");
        } else if (word.starts_with("eol=")) {
            attributes.eol = unescape(value("eol="));
        } else if (word.starts_with("null_sender=")) {
            attributes.null_sender = value("null_sender=");
        } else if (word.starts_with("size=")) {
            auto number = parse_integer(value("size="));
            if (!number || *number < 0)
                return Error(ErrorKind::config, "bad size= value: " + word);
            attributes.size_limit = *number;
        } else {
            return Error(ErrorKind::config, "unknown attribute name: " + word);
        }
    }
    if (!have_argv || attributes.argv.empty())
        return Error(ErrorKind::config, "missing argv= command-line attribute");
    if (attributes.user.empty())
        return Error(ErrorKind::config, "missing user= command-line attribute");
    return attributes;
}

std::vector<std::string> expand_argv(const PipeAttributes& attributes,
                                     const DeliveryRequest& request,
                                     const std::vector<size_t>& recipients,
                                     const std::string& recipient_delimiter) {
    std::map<std::string, std::string> common = {
        {"client_address", request.client.address},
        {"client_helo", request.client.helo},
        {"client_hostname", request.client.name},
        {"client_port", request.client.port},
        {"client_protocol", request.client.protocol},
        {"nexthop", attributes.has('h') ? lowercase(request.nexthop) : request.nexthop},
        {"queue_id", request.queue_id},
        {"sasl_method", request.client.sasl_method},
        {"sasl_sender", request.client.sasl_sender},
        {"sasl_username", request.client.sasl_username},
        {"sender",
         request.sender.empty() ? attributes.null_sender : shown(attributes, request.sender)},
        {"size", std::to_string(request.data_size)},
    };
    auto per_recipient = [&](const DeliveryRecipient& recipient) {
        std::map<std::string, std::string> values = common;
        const std::string& address = recipient.address;
        size_t at = address.rfind('@');
        std::string mailbox = at == std::string::npos ? address : address.substr(0, at);
        std::string domain = at == std::string::npos ? std::string() : address.substr(at + 1);
        if (attributes.has('u'))
            mailbox = lowercase(mailbox);
        if (attributes.has('h'))
            domain = lowercase(domain);
        std::string user = mailbox, extension;
        if (!recipient_delimiter.empty())
            if (size_t cut = mailbox.find_first_of(recipient_delimiter); cut != std::string::npos) {
                user = mailbox.substr(0, cut);
                extension = mailbox.substr(cut + 1);
            }
        std::string full = at == std::string::npos ? mailbox : mailbox + "@" + domain;
        values["recipient"] = shown(attributes, full);
        values["original_recipient"] =
            shown(attributes, recipient.original.empty() ? address : recipient.original);
        values["mailbox"] = mailbox;
        values["user"] = user;
        values["extension"] = extension;
        values["domain"] = domain;
        return values;
    };
    std::vector<std::string> words;
    for (const std::string& word : attributes.argv) {
        auto names = macros_in(word);
        bool repeated = std::any_of(names.begin(), names.end(), is_per_recipient);
        if (!repeated) {
            words.push_back(substitute(word, common));
            continue;
        }
        for (size_t index : recipients)
            words.push_back(substitute(word, per_recipient(request.recipients.at(index))));
    }
    return words;
}

}  // namespace postern::pipe
