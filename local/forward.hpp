// Forwarding: addresses that an alias, a .forward or an :include: file lists and that
// local(8) does not deliver itself go out as a new message through cleanup, so that each
// of them gets its own delivery status in the new queue file (Postfix's local forwards the
// same way, for the same reason).
//
// Where it sits: local/, after a recipient's expansion. What goes in: the addresses,
// collected per (Delivered-To, envelope sender) while the recipient is expanded (an
// owner- alias changes the sender, so a list's members and a plain alias's targets may
// travel in two messages). What goes out: one message per group, submitted with
// lib/queue's CleanupClient to public/cleanup: the original arrival time (so that
// maximal_queue_lifetime still counts from the first arrival), rewrite_context=local, the
// DSN envelope id and RET, the sender, the recipients with their original address and
// DSN attributes, then "Delivered-To: rcpt" (prepend_delivered_header = forward) and the
// original content, byte for byte. The report for the recipient is "forwarded as NEWID",
// or a deferral when cleanup cannot be reached or refuses.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "queue/queue_file.hpp"
#include "util/result.hpp"

namespace postern::local {

struct ForwardRecipient {
    std::string address;  // internal form, canonical
    std::string original;
    std::string dsn_orcpt;
    int dsn_notify = 0;
};

struct ForwardMessage {
    std::string delivered;  // Delivered-To of the new message
    std::string sender;     // envelope sender: the original, or the owner- alias
    std::string dsn_envid;
    int dsn_ret = 0;
    std::vector<ForwardRecipient> recipients;
};

struct ForwardContext {
    std::string queue_path;  // the original message
    QueueTime arrival;       // its arrival time
    std::string cleanup_socket = "public/cleanup";
    std::chrono::milliseconds timeout{3600 * 1000};
    bool delivered_to_header = true;  // prepend_delivered_header has "forward"
    bool smtputf8 = false;
};

// The addresses to forward for one top-level recipient, grouped.
class ForwardBatch {
  public:
    void add(const std::string& delivered, const std::string& sender, const std::string& dsn_envid,
             int dsn_ret, ForwardRecipient recipient);
    bool empty() const { return messages_.empty(); }
    const std::vector<ForwardMessage>& messages() const { return messages_; }
    void clear() { messages_.clear(); }

  private:
    std::vector<ForwardMessage> messages_;
};

// Submits one message; returns the new queue ID. Errors are ErrorKind::temporary with a
// text for the deferral.
Result<std::string> submit_forward(const ForwardMessage& message, const ForwardContext& context);

}  // namespace postern::local
