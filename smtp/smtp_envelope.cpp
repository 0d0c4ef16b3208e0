#include "smtp/smtp_envelope.hpp"

#include "mail/address.hpp"
#include "queue/queue_file.hpp"

namespace postern::smtp {

namespace {

// A command must stay one line whatever the queue file holds.
std::string one_line(std::string text) {
    for (char& c : text)
        if (c == '\r' || c == '\n')
            c = ' ';
    return text;
}

std::string quoted_path(std::string_view address) {
    if (address.empty())
        return "<>";
    return "<" + one_line(externalize_address(address)) + ">";
}

std::string notify_keywords(int notify) {
    if (notify & dsn::notify_never)
        return "NEVER";
    std::string words;
    auto add = [&](int bit, std::string_view word) {
        if (!(notify & bit))
            return;
        if (!words.empty())
            words.push_back(',');
        words += word;
    };
    add(dsn::notify_success, "SUCCESS");
    add(dsn::notify_failure, "FAILURE");
    add(dsn::notify_delay, "DELAY");
    return words;
}

// "rfc822;user@example.com" with the address part xtext-encoded; the original recipient
// stands in when the sender gave no ORCPT, as Postfix sends it.
std::string orcpt_parameter(const DeliveryRecipient& recipient) {
    std::string_view type = "rfc822";
    std::string_view address = recipient.original;
    if (!recipient.dsn_orcpt.empty()) {
        std::string_view orcpt = recipient.dsn_orcpt;
        auto semicolon = orcpt.find(';');
        if (semicolon == std::string_view::npos)
            return {};
        type = orcpt.substr(0, semicolon);
        address = orcpt.substr(semicolon + 1);
    }
    if (address.empty())
        return {};
    return std::string(type) + ";" + xtext_encode(address);
}

}  // namespace

std::string xtext_encode(std::string_view text) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string encoded;
    for (unsigned char c : text) {
        if (c < 33 || c > 126 || c == '+' || c == '=') {
            encoded.push_back('+');
            encoded.push_back(kHex[c >> 4]);
            encoded.push_back(kHex[c & 15]);
        } else {
            encoded.push_back(static_cast<char>(c));
        }
    }
    return encoded;
}

std::string mail_from_command(const DeliveryRequest& request, const EhloFeatures& features) {
    std::string command = "MAIL FROM:" + quoted_path(request.sender);
    if (features.size && request.data_size > 0)
        command += " SIZE=" + std::to_string(request.data_size);
    if (features.eight_bit_mime) {
        if (request.encoding == "8bit")
            command += " BODY=8BITMIME";
        else if (request.encoding == "7bit")
            command += " BODY=7BIT";
    }
    if (features.smtputf8 && (request.flags & delivery_flag::smtputf8))
        command += " SMTPUTF8";
    if (features.dsn) {
        if (request.dsn_ret & dsn::ret_full)
            command += " RET=FULL";
        else if (request.dsn_ret & dsn::ret_hdrs)
            command += " RET=HDRS";
        if (!request.dsn_envid.empty())
            command += " ENVID=" + xtext_encode(request.dsn_envid);
    }
    return command;
}

std::string rcpt_to_command(const DeliveryRecipient& recipient, const EhloFeatures& features) {
    std::string command = "RCPT TO:" + quoted_path(recipient.address);
    if (features.dsn) {
        if (recipient.dsn_notify != 0)
            command += " NOTIFY=" + notify_keywords(recipient.dsn_notify);
        if (auto orcpt = orcpt_parameter(recipient); !orcpt.empty())
            command += " ORCPT=" + orcpt;
    }
    return command;
}

std::vector<EnvelopeCommand> envelope_commands(const DeliveryRequest& request,
                                               const std::vector<size_t>& recipients,
                                               const EhloFeatures& features) {
    std::vector<EnvelopeCommand> commands;
    commands.push_back({CommandKind::mail, 0, mail_from_command(request, features)});
    for (size_t index : recipients)
        commands.push_back(
            {CommandKind::rcpt, index, rcpt_to_command(request.recipients.at(index), features)});
    commands.push_back({CommandKind::data, 0, "DATA"});
    return commands;
}

std::vector<std::string> batch_writes(const std::vector<EnvelopeCommand>& commands,
                                      bool pipelining) {
    std::vector<std::string> writes;
    for (const auto& command : commands) {
        if (!pipelining || writes.empty())
            writes.emplace_back();
        writes.back() += command.line;
        writes.back() += "\r\n";
    }
    return writes;
}

}  // namespace postern::smtp
