// The ends of local(8)'s expansion: a user's mailbox (mailbox_command, a Maildir or an
// mbox file), a /file destination and a |command, each reported on the session.
//
// Where it sits: local/, under expansion.cpp. Each function switches to the identity the
// delivery must run as (identity.hpp) around the file work and back, and words its report
// as Postfix does: "delivered to mailbox", "delivered to maildir", "delivered to file:
// PATH", "delivered to command: CMD"; "cannot update mailbox PATH for user USER. REASON",
// "maildir delivery failed: REASON", "cannot append message to file PATH: REASON".
#pragma once

#include <string>

#include "local/expansion.hpp"

namespace postern::local {

// Mailbox delivery for state.user. False when there is no such user (the caller goes on
// to luser_relay or bounces); true when it was handled, delivered or not.
bool deliver_mailbox(RecipientRun& run, ExpansionState state);

// "/file" (a Maildir when it ends in "/"), with the rights in state or default_privs.
void deliver_file(RecipientRun& run, const ExpansionState& state, const std::string& path);

// "|command", with the rights in state or default_privs; `mailbox_command` when it is the
// user's mailbox_command (the user's rights, HOME and SHELL).
void deliver_command(RecipientRun& run, const ExpansionState& state, const std::string& command);

// The rights |command and /file run with: the state's, default_privs instead of none or
// of root.
const UserRights& delivery_rights(const RecipientRun& run, const ExpansionState& state);

}  // namespace postern::local
