// Refused messages from clients that cannot refuse (cleanup_flag::bounce: pickup, for
// mail a local user submitted): instead of an error the user would never see, the
// sender gets a non-delivery notice, as Postfix's cleanup_bounce() does. The refused
// queue file is left complete but not ready (mode 0600, so qmgr leaves it alone), each
// recipient gets a record in bounce/ID saying why, the bounce service is asked to flush
// that log from the file in incoming/, and the file is removed.
//
// Where it sits: cleanup/, called by the serve loop with the outcome of a refused message.
// Other clients (smtpd) hear the refusal itself. When the bounce service cannot be asked,
// the client hears a temporary error and submits again later (pickup keeps the file).
#pragma once

#include "cleanup/cleanup_settings.hpp"
#include "cleanup/message_cleanup.hpp"

namespace postern::cleanup {

// The outcome the client hears: success when the notice was handed to the bounce service,
// the refusal when the message is not to be bounced, a temporary error when bouncing
// failed. The queue file is gone in every case.
MessageOutcome bounce_or_refuse(MessageCleanup& message, MessageOutcome outcome,
                                const CleanupSettings& settings);

}  // namespace postern::cleanup
