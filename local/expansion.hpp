// Delivering one local recipient: the recursion through aliases, .forward files and
// :include: files down to mailboxes, commands, files and forwarded addresses, in the order
// local(8) documents ("DELIVERY METHOD CONTROLS"): aliases, .forward files, mailbox
// delivery (mailbox_command, home_mailbox, mail_spool_directory), luser_relay, and an
// unknown user bounced with "5.1.1 unknown user: "name"".
//
// Where it sits: local/, called by local_agent.cpp for each recipient of a delivery
// request. Untrusted: the recipient address (the network's), .forward and :include: files
// (users'), the message's Delivered-To: headers. Bounded: recursion stops at 100 levels
// ("alias database loop for NAME"), the duplicate filter remembers at most
// duplicate_filter_limit entries, files are read up to kMaxForwardFileBytes.
//
// The rules kept from Postfix (local(8), aliases(5)):
//   - an address already in a Delivered-To: header is a loop: "5.4.6 mail forwarding loop
//     for ADDRESS"; Delivered-To: of what local writes is the recipient of the request
//     (frozen_delivered_to);
//   - the alias of the whole local part is looked up first, then that of the user without
//     its extension; an alias whose expansion names the alias itself delivers to the user;
//   - "owner-NAME" makes NAME's expansion travel with envelope sender owner-NAME (errors
//     go to the owner), as a new message; :include: members always travel as a new
//     message; other local addresses reached by an alias are delivered at once;
//   - "|command" and "/file" are allowed per allow_mail_to_commands / allow_mail_to_files
//     for the kind of expansion that listed them, and run with the rights of the alias
//     table's owner, the .forward's user or the :include: file's owner, default_privs
//     instead of root;
//   - a .forward (forward_path) must be a regular file owned by its user or root; an empty
//     one means "deliver to the mailbox";
//   - every destination is delivered at most once per request (the duplicate filter), so
//     "a: b, b" or a user listed in their own .forward gets one copy.
#pragma once

#include <optional>
#include <set>
#include <string>

#include "local/alias_tables.hpp"
#include "local/delivered_to.hpp"
#include "local/forward.hpp"
#include "local/identity.hpp"
#include "local/local_expand.hpp"
#include "local/local_settings.hpp"
#include "mail/resolve.hpp"
#include "queue/delivery_agent.hpp"

namespace postern::local {

inline constexpr int kMaxExpansionLevel = 100;
inline constexpr size_t kMaxForwardFileBytes = 1024 * 1024;

// Postfix's been_here(): remembers keys (case folded) up to a limit, then lets everything
// through (a duplicate delivery rather than unbounded memory).
class DuplicateFilter {
  public:
    explicit DuplicateFilter(size_t limit) : limit_(limit) {}
    // True the first time `key` is seen.
    bool first_time(const std::string& key);

  private:
    size_t limit_;
    std::set<std::string, std::less<>> seen_;
};

// What stays the same for every recipient of one request.
struct RequestContext {
    DeliverySession& session;
    const LocalSettings& settings;
    AliasTables& aliases;
    AddressResolver& resolver;
    const DeliveredToHeaders& delivered_headers;
    const UserRights& default_privs;
    DuplicateFilter& filter;
    std::string queue_path;
};

// One recipient of the request being delivered.
struct RecipientRun {
    RequestContext& request;
    size_t index;
    ForwardBatch forwards;
};

// The attributes that change as expansion goes deeper (Postfix's LOCAL_STATE): passed by
// value, so that a level's changes stay below it.
struct ExpansionState {
    int level = 0;
    std::string address;    // the address being delivered: internal form, user@domain
    std::string delivered;  // what Delivered-To: will say
    std::string sender;     // envelope sender (owner-NAME below an alias with an owner)
    std::string owner;      // the owner- address in force, empty when none
    ExpansionKind expansion = ExpansionKind::none;
    std::string expanded_from;         // the alias being expanded
    std::optional<UserRights> rights;  // for |command and /file; none: default_privs
    // DSN attributes of the recipient, and the original address.
    std::string original;
    std::string dsn_orcpt;
    int dsn_notify = 0;
    std::string dsn_envid;
    int dsn_ret = 0;
    // Set by deliver_recipient from the address.
    std::string local;  // the whole local part, lower case
    std::string domain;
    std::string user;       // the local part without its extension
    std::string extension;  // without the delimiter
    std::string delimiter;  // the delimiter character found, or empty
    // The extension an alias, .forward or :include: of the bare user did not match, with
    // its delimiter ("+ext"): added to the addresses of that expansion
    // (propagate_unmatched_extensions), as Postfix does. Empty: none.
    std::string unmatched;
};

// The state for a request recipient, at the top.
ExpansionState initial_state(const DeliveryRequest& request, const DeliveryRecipient& recipient,
                             const LocalSettings& settings);

// Delivers `state.address` and every destination it leads to; each outcome is reported on
// the session (several reports per recipient). Forwarded addresses collect in
// run.forwards for the caller to submit.
void deliver_recipient(RecipientRun& run, ExpansionState state);

// The $name values of forward_path, luser_relay and mailbox_command for the address being
// delivered; home and shell from `user` when given.
RecipientAttributes attributes_of(const ExpansionState& state, const UserRights* user);

// Reports on the request recipient, showing the address being delivered.
void report(RecipientRun& run, const ExpansionState& state, ReportKind kind,
            std::string_view status, const std::string& reason);

}  // namespace postern::local
