// sendmail's delivery mode; see enqueue.hpp.
#include "tools/sendmail/enqueue.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "mail/address.hpp"
#include "queue/cleanup_protocol.hpp"
#include "queue/maildrop.hpp"
#include "queue/queue_file.hpp"
#include "tools/sendmail/header_recipients.hpp"
#include "tools/sendmail/postdrop_process.hpp"
#include "util/log.hpp"

namespace postern::sendmail {
namespace {

// Postfix's trace_flags values (DEL_REQ_FLAG_RECORD): sendmail -v asks for a report.
constexpr int kTraceRecord = 1 << 10;

// Who is submitting, for the fatal lines: "SENDER(UID)".
struct Identity {
    std::string sender;
    long uid = 0;
};

[[noreturn]] void fatal(const Identity& who, const std::string& text) {
    log_fatal("%s(%ld): %s", who.sender.c_str(), who.uid, text.c_str());
}

std::string envelope_sender(const Options& options, const Submitter& submitter,
                            size_t token_limit) {
    if (!options.sender)
        return submitter.login;
    std::vector<ParsedAddress> addresses = parse_address_list(*options.sender, token_limit);
    if (addresses.size() > 1)
        log_warning("-f option specified malformed sender: %s", options.sender->c_str());
    return addresses.empty() ? std::string() : std::move(addresses.front().internal);
}

std::optional<std::string> verp_delimiters(const Options& options,
                                           const EnqueueSettings& settings) {
    if (!options.verp)
        return std::nullopt;
    if (options.verp->empty())
        return settings.default_verp_delimiters;
    const std::string& given = *options.verp;
    if (given.size() != 2 || settings.verp_delimiter_filter.find(given[0]) == std::string::npos ||
        settings.verp_delimiter_filter.find(given[1]) == std::string::npos)
        log_fatal("-V requires two characters from %s", settings.verp_delimiter_filter.c_str());
    return given;
}

// Each argument is an address list; one that holds no address at all is the empty
// recipient, as Postfix's sendmail writes it (cleanup then deals with it).
std::vector<std::string> command_line_recipients(const Options& options, size_t token_limit) {
    std::vector<std::string> recipients;
    for (const std::string& argument : options.recipients) {
        std::vector<ParsedAddress> addresses = parse_address_list(argument, token_limit);
        if (addresses.empty())
            recipients.emplace_back();
        for (ParsedAddress& address : addresses)
            recipients.push_back(std::move(address.internal));
    }
    return recipients;
}

std::vector<std::string> child_environment(const EnqueueSettings& settings) {
    std::vector<std::string> environment;
    for (const std::string& name : settings.export_environment) {
        if (name == "MAIL_CONFIG")
            continue;
        if (const char* value = std::getenv(name.c_str()))
            environment.push_back(name + "=" + value);
    }
    environment.push_back("MAIL_CONFIG=" + settings.config_directory);
    return environment;
}

PostdropProcess start_postdrop(const EnqueueSettings& settings, const Options& options,
                               const Identity& who) {
    std::vector<std::string> arguments{settings.postdrop_path, "-r"};
    if (options.verbose > 1)
        arguments.push_back("-v");
    const std::string command = settings.postdrop_path + " -r";
    auto process =
        PostdropProcess::start(settings.postdrop_path, arguments, child_environment(settings));
    if (!process)
        fatal(who, "unable to execute " + command + ": " + process.error().message());
    auto reply = process->read_reply();
    const std::string* protocol =
        reply ? find_plain_attribute(*reply, postdrop_attr::protocol) : nullptr;
    if (protocol == nullptr || *protocol != kPostdropProtocolName ||
        find_plain_attribute(*reply, postdrop_attr::queue_id) == nullptr) {
        std::string how;
        process->close_input();
        if (process->wait(&how) != 0)
            log_warning("command \"%s\" %s", command.c_str(), how.c_str());
        fatal(who, "unable to execute " + command + ": Application error");
    }
    return std::move(*process);
}

void write_recipient(PostdropProcess& postdrop, const Options& options, std::string_view address) {
    if (options.dsn_notify != 0)
        postdrop.record(rec_type::attribute, std::string(queue_attr::notify_flags) + "=" +
                                                 std::to_string(options.dsn_notify));
    postdrop.record(rec_type::recipient, address);
}

// The envelope records, in the order Postfix's sendmail writes them.
void write_envelope(PostdropProcess& postdrop, const Options& options,
                    const EnqueueSettings& settings, const Submitter& submitter,
                    const std::string& sender) {
    if (!options.envelope_id.empty())
        postdrop.record(rec_type::attribute,
                        std::string(queue_attr::envelope_id) + "=" + options.envelope_id);
    if (options.dsn_ret != 0)
        postdrop.record(rec_type::attribute,
                        std::string(queue_attr::ret_flags) + "=" + std::to_string(options.dsn_ret));
    postdrop.record(rec_type::attribute, std::string(queue_attr::rewrite_context) + "=" +
                                             (options.gateway ? "remote" : "local"));
    std::optional<std::string> full_name =
        options.full_name ? options.full_name : submitter.full_name;
    if (full_name)
        postdrop.record(rec_type::full_name, *full_name);
    postdrop.record(rec_type::sender, sender);
    if (!options.encoding.empty())
        postdrop.record(rec_type::attribute,
                        std::string(queue_attr::encoding) + "=" + options.encoding);
    if (options.verbose == 1)
        postdrop.record(rec_type::attribute, "trace_flags=" + std::to_string(kTraceRecord));
    if (std::optional<std::string> verp = verp_delimiters(options, settings))
        postdrop.record(rec_type::verp, *verp);
}

// M, the content, X. With -t, the header recipients come back.
std::vector<std::string> copy_content(PostdropProcess& postdrop, const Options& options,
                                      const EnqueueSettings& settings, const Identity& who) {
    postdrop.record(rec_type::message, "");
    MessageInput input(STDIN_FILENO, settings.line_length_limit, options.dot_ends_input,
                       settings.line_endings);
    // With -t the content goes through the header reader, which passes it on.
    std::optional<HeaderRecipients> headers;
    if (options.extract_recipients)
        headers.emplace(settings.header_size_limit, settings.header_address_token_limit,
                        settings.line_length_limit,
                        [&](char type, std::string_view data) { postdrop.record(type, data); });
    for (;;) {
        auto record = input.next();
        if (!record)
            fatal(who, record.error().message());
        if (!record->has_value())
            break;
        if (headers)
            headers->add((*record)->type, (*record)->data);
        else
            postdrop.record((*record)->type, (*record)->data);
    }
    std::vector<std::string> recipients = headers ? headers->finish() : std::vector<std::string>();
    postdrop.record(rec_type::extracted, "");
    return recipients;
}

// Postdrop's verdict; returns when the message is safely in maildrop/.
void finish(PostdropProcess& postdrop, const Identity& who) {
    if (Status flushed = postdrop.flush(); !flushed)
        fatal(who, "error writing queue file: " + flushed.error().message());
    auto verdict = postdrop.read_reply();
    const int exit_status = postdrop.wait();
    const std::string* status =
        verdict ? find_plain_attribute(*verdict, postdrop_attr::status) : nullptr;
    // No verdict: postdrop failed after the handshake. As Postfix's sendmail, that is a
    // queue file write error, with a warning about the failed postdrop first.
    if (status == nullptr) {
        if (exit_status != 0)
            log_warning("mail_stream_cleanup: close error");
        fatal(who, std::string(cleanup_status_text(cleanup_status::write)));
    }
    int64_t code = std::strtoll(status->c_str(), nullptr, 10);
    if (code == 0)
        return;
    const std::string* reason = find_plain_attribute(*verdict, postdrop_attr::reason);
    fatal(who,
          reason != nullptr && !reason->empty() ? *reason : std::string(cleanup_status_text(code)));
}

}  // namespace

std::string full_name_from_gecos(std::string_view gecos, std::string_view login) {
    std::string name;
    for (char c : gecos) {
        if (c == ',' || c == ';' || c == '%')
            break;
        if (c != '&') {
            name.push_back(c);
        } else if (!login.empty()) {
            name.push_back(static_cast<char>(
                login[0] >= 'a' && login[0] <= 'z' ? login[0] - 'a' + 'A' : login[0]));
            name.append(login.substr(1));
        }
    }
    return name;
}

int enqueue(const Options& options, const EnqueueSettings& settings, const Submitter& submitter) {
    const std::string sender =
        envelope_sender(options, submitter, settings.header_address_token_limit);
    const Identity who{sender, static_cast<long>(submitter.uid)};
    if (options.verp && sender.empty())
        fatal(who, "-V option requires non-null sender address");
    std::vector<std::string> recipients =
        command_line_recipients(options, settings.header_address_token_limit);

    PostdropProcess postdrop = start_postdrop(settings, options, who);
    write_envelope(postdrop, options, settings, submitter, sender);
    for (const std::string& recipient : recipients)
        write_recipient(postdrop, options, recipient);
    for (const std::string& recipient : copy_content(postdrop, options, settings, who)) {
        write_recipient(postdrop, options, recipient);
        recipients.push_back(recipient);
    }
    if (recipients.empty()) {
        // Without the E record postdrop takes the closed input as a cancellation.
        postdrop.close_input();
        postdrop.wait();
        fatal(who, options.extract_recipients
                       ? "No recipient addresses found in message header"
                       : "Recipient addresses must be specified on the command line or via "
                         "the -t option");
    }
    postdrop.record(rec_type::end, "");
    finish(postdrop, who);
    if (options.verbose == 1)
        std::printf("Mail Delivery Status Report will be mailed to <%s>.\n", sender.c_str());
    return 0;
}

}  // namespace postern::sendmail
