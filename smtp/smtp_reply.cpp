#include "smtp/smtp_reply.hpp"

#include <algorithm>
#include <cctype>

#include "mail/dsn.hpp"
#include "util/strings.hpp"

namespace postern::smtp {

namespace {

bool digit(char c) {
    return c >= '0' && c <= '9';
}

// The text of a reply line after "250-" or "250 " (empty for a bare "250").
std::string_view line_text(std::string_view line) {
    return line.size() > 4 ? line.substr(4) : std::string_view();
}

bool listed(const std::vector<std::string>& words, std::string_view word) {
    return std::any_of(words.begin(), words.end(),
                       [&](const std::string& entry) { return equals_ignore_case(entry, word); });
}

}  // namespace

std::string SmtpReply::text() const {
    std::string joined;
    for (const auto& line : lines) {
        if (!joined.empty())
            joined.push_back(' ');
        joined += line;
    }
    return joined;
}

std::vector<std::string> SmtpReply::messages() const {
    std::vector<std::string> texts;
    for (const auto& line : lines)
        texts.emplace_back(line_text(line));
    return texts;
}

std::string reply_enhanced_code(int code, std::string_view text) {
    auto found = leading_enhanced_status_code(text);
    if (found.empty() || found.front() != static_cast<char>('0' + code / 100))
        return {};
    return std::string(found);
}

Status SmtpReplyParser::add_line(std::string_view line) {
    if (complete_)
        reply_ = SmtpReply{};
    complete_ = false;
    if (line.size() < 3 || !digit(line[0]) || !digit(line[1]) || !digit(line[2]) ||
        (line.size() > 3 && line[3] != ' ' && line[3] != '-') || line[0] < '2' || line[0] > '5')
        return Error(ErrorKind::protocol, "malformed reply line");
    int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    if (reply_.lines.empty())
        reply_.code = code;
    else if (code != reply_.code)
        return Error(ErrorKind::protocol, "reply code changed within a multi-line reply");
    if (reply_.lines.size() >= kMaxLines)
        return Error(ErrorKind::protocol, "too many lines in one reply");
    reply_.lines.emplace_back(line);
    complete_ = line.size() == 3 || line[3] == ' ';
    if (complete_) {
        reply_.dsn = reply_enhanced_code(reply_.code, line_text(reply_.lines.front()));
        if (reply_.dsn.empty())
            reply_.dsn = std::string(1, reply_.reply_class()) + ".0.0";
    }
    return {};
}

SmtpReply SmtpReplyParser::take() {
    SmtpReply taken = std::move(reply_);
    reply_ = SmtpReply{};
    complete_ = false;
    return taken;
}

EhloFeatures parse_ehlo_features(const SmtpReply& reply,
                                 const std::vector<std::string>& discarded) {
    EhloFeatures features;
    auto texts = reply.messages();
    for (size_t i = 1; i < texts.size(); ++i) {
        auto words = split_list(texts[i], " \t");
        if (words.empty())
            continue;
        std::string keyword = lowercase(words.front());
        // "AUTH=LOGIN PLAIN": the pre-RFC form some clients need; same meaning.
        bool auth_equals = keyword.rfind("auth=", 0) == 0;
        if (listed(discarded, auth_equals ? "auth" : keyword))
            continue;
        if (keyword == "pipelining") {
            features.pipelining = true;
        } else if (keyword == "starttls") {
            features.starttls = true;
        } else if (keyword == "8bitmime") {
            features.eight_bit_mime = true;
        } else if (keyword == "smtputf8") {
            features.smtputf8 = true;
        } else if (keyword == "dsn") {
            features.dsn = true;
        } else if (keyword == "size") {
            features.size = true;
            if (words.size() > 1)
                if (auto limit = parse_integer(words[1]); limit && *limit > 0)
                    features.size_limit = *limit;
        } else if (keyword == "auth" || auth_equals) {
            if (auth_equals && keyword.size() > 5)
                words.front() = words.front().substr(5);
            else
                words.erase(words.begin());
            for (auto word : words)
                if (!listed(features.auth_mechanisms, word))
                    features.auth_mechanisms.emplace_back(word);
        }
    }
    return features;
}

}  // namespace postern::smtp
