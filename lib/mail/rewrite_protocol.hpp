// The trivial-rewrite service's requests and replies, over Postern's attribute protocol
// (lib/ipc/attr.hpp), and a client for programs that prefer the service to the library.
//
// Where it sits: lib/mail, between the trivial-rewrite daemon (trivial-rewrite/, socket
// queue_directory/private/rewrite, master.cf "rewrite unix - - n - - trivial-rewrite") and
// its clients (postresolve -S; any daemon that would rather not open the tables itself).
// qmgr and cleanup call the library (resolve.hpp, rewrite.hpp) in their own process
// instead: one request less per recipient. The messages mirror Postfix's trivial-rewrite
// protocol, attribute for attribute, but travel in Postern's frames (this is not Postfix's
// wire format):
//
//   rewrite:  {request = "rewrite", rule = "local" | "remote", address}
//             -> {server_flags, address}
//             the address in external (quoted) form both ways, as Postfix's
//   resolve:  {request = "resolve" | "verify", sender, address}
//             -> {server_flags, transport, nexthop, recipient, flags}
//             sender and addresses in internal form; flags are resolve_flag bits
//
// server_flags is 0, or kServerFlagReconnect when the service is about to exit (a table it
// reads has changed): the client closes the connection after that reply and opens a new
// one for its next request, so that it talks to a process with the new table.
// Both sides check every message against this schema (AttrReader): an unexpected or missing
// attribute is a protocol error. Requests are small: their strings are limited to
// kMaxRewriteAddressLength bytes.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "ipc/attr.hpp"
#include "ipc/attr_channel.hpp"
#include "mail/resolve.hpp"
#include "mail/rewrite.hpp"
#include "util/result.hpp"

namespace postern {

inline constexpr int64_t kServerFlagReconnect = 1;
// Longer than any address Postfix accepts anywhere (its line and header limits).
inline constexpr size_t kMaxRewriteAddressLength = 100 * 1024;

// One request, as the server reads it.
struct RewriteServiceRequest {
    enum class Kind { rewrite, resolve };
    Kind kind = Kind::rewrite;
    RewriteContext rule = RewriteContext::local;       // rewrite
    ResolveRequest resolve = ResolveRequest::regular;  // resolve, verify
    std::string sender;                                // resolve, verify
    std::string address;
};

AttrList make_rewrite_request(RewriteContext rule, std::string_view external_address);
AttrList make_resolve_request(ResolveRequest request, std::string_view sender,
                              std::string_view recipient);
Result<RewriteServiceRequest> parse_rewrite_service_request(AttrList message);

AttrList make_rewrite_reply(int64_t server_flags, std::string_view external_address);
AttrList make_resolve_reply(int64_t server_flags, const ResolveReply& reply);

// The client side. Connects on first use and keeps the connection for the next request;
// a connection the server closed between requests, or asked to drop (server_flags), is
// opened again once. Errors: the service cannot be reached or broke the protocol (the
// caller defers: Postfix's clients retry the same way).
class RewriteServiceClient {
  public:
    // `socket_path`: queue_directory/private/rewrite.
    RewriteServiceClient(std::string socket_path, std::chrono::milliseconds timeout)
        : socket_path_(std::move(socket_path)), timeout_(timeout) {}

    // External form in and out (Postfix's rewrite_clnt()).
    Result<std::string> rewrite_external(RewriteContext rule, std::string_view external_address);
    // Internal form in and out (Postfix's rewrite_clnt_internal()).
    Result<std::string> rewrite(RewriteContext rule, std::string_view internal_address);
    Result<ResolveReply> resolve(std::string_view sender, std::string_view recipient,
                                 ResolveRequest request = ResolveRequest::regular);

  private:
    Result<AttrList> exchange(const AttrList& request);

    std::string socket_path_;
    std::chrono::milliseconds timeout_;
    std::optional<AttrChannel> channel_;
};

}  // namespace postern
