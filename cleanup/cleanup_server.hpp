// The server side of the cleanup protocol (lib/queue/cleanup_protocol.hpp): one client
// connection (smtpd, pickup, bounce...), carrying any number of messages, each opened,
// streamed as records and ended; the answer to "end" comes only after the queue file and
// its directory entry are on disk.
//
// Where it sits: cleanup/, called by the single-client skeleton for each connection; it
// decodes the client's frames, hands the records to MessageCleanup and does what the
// verdict says: commit to incoming/ (then wake qmgr), commit and move to hold/, remove the
// file (discard, refusal), or have the refusal bounced to the sender (clients that set
// cleanup_flag::bounce: pickup). Everything the client sends is untrusted; frames are
// bounded by the attribute protocol's limits, and a client that breaks the protocol loses
// its connection and any message it had open (its file is removed).
#pragma once

#include "cleanup/address_mapping.hpp"
#include "cleanup/cleanup_settings.hpp"
#include "cleanup/message_cleanup.hpp"
#include "ipc/attr_channel.hpp"
#include "server/single_server.hpp"

namespace postern::cleanup {

class CleanupServer {
  public:
    CleanupServer(const CleanupSettings& settings, CleanupTables& tables, AddressMapper& mapper);

    // Serves one connection until the client closes it.
    Status serve(AttrChannel& channel, std::chrono::milliseconds timeout);

  private:
    Result<AttrList> open_message(const AttrList& request);
    AttrList end_message();
    MessageOutcome settle(MessageOutcome outcome);

    const CleanupSettings& settings_;
    CleanupContext context_;
    std::optional<MessageCleanup> message_;
};

// The durable commit of a finished queue file: written, fsynced, made ready, directory
// entry fsynced (QueueFileWriter::commit), and for a held message moved to hold/ with both
// directories synced. This is the seam where a group commit goes later: messages of
// several connections flushed together, each directory synced once.
Status commit_queue_file(QueueFileWriter& writer, bool hold, const CleanupSettings& settings);

}  // namespace postern::cleanup
