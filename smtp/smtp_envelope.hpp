// The envelope commands of one SMTP transaction (MAIL FROM, RCPT TO, DATA) with their
// ESMTP parameters, and how they are grouped into writes.
//
// Where it sits: smtp/, used by the session for each server. The parameters follow what
// the server announced: SIZE (RFC 1870), BODY=8BITMIME/7BIT (RFC 6152), SMTPUTF8 (RFC
// 6531), RET/ENVID/NOTIFY/ORCPT (RFC 3461, xtext-encoded). With PIPELINING (RFC 2920) the
// whole envelope and DATA go in one write, as Postfix does, so one round trip serves the
// transaction; without it each command waits for its reply. Addresses come from the queue
// file (ultimately from the network): they are quoted as RFC 5321 asks, and a CR or LF in
// one (which cleanup never lets through) is replaced so a command stays one line.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "queue/delivery_request.hpp"
#include "smtp/smtp_reply.hpp"

namespace postern::smtp {

enum class CommandKind { mail, rcpt, data };

struct EnvelopeCommand {
    CommandKind kind = CommandKind::mail;
    size_t recipient = 0;  // rcpt: index into the request's recipients
    std::string line;      // without CRLF
};

// RFC 3461 section 4 xtext: '+', '=' and bytes outside 33..126 as "+XX".
std::string xtext_encode(std::string_view text);

// "MAIL FROM:<sender> [SIZE=n] [BODY=..] [SMTPUTF8] [RET=..] [ENVID=..]".
std::string mail_from_command(const DeliveryRequest& request, const EhloFeatures& features);
// "RCPT TO:<address> [NOTIFY=..] [ORCPT=..]".
std::string rcpt_to_command(const DeliveryRecipient& recipient, const EhloFeatures& features);

// MAIL FROM, one RCPT TO for each of `recipients` (indexes into request.recipients), DATA.
std::vector<EnvelopeCommand> envelope_commands(const DeliveryRequest& request,
                                               const std::vector<size_t>& recipients,
                                               const EhloFeatures& features);

// The bytes of each write, commands CRLF-terminated: all commands in one write with
// pipelining, else one write per command.
std::vector<std::string> batch_writes(const std::vector<EnvelopeCommand>& commands,
                                      bool pipelining);

}  // namespace postern::smtp
