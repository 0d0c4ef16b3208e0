// local(8)'s delivery function: what it opens at start-up, and what it does with each
// delivery request qmgr sends.
//
// Where it sits: local/, between main.cpp (the single-client skeleton and
// lib/queue/delivery_agent's serve_delivery_requests) and the expansion code. At start-up,
// as root and before any request: the settings, alias_maps, the address resolver's tables
// (lib/mail/resolve: which addresses are this service's to deliver), and the default_privs
// account. Per request: the message's Delivered-To: headers (read once), then each
// recipient expanded and delivered (expansion.hpp), then the addresses to forward
// submitted as new messages ("forwarded as NEWID").
#pragma once

#include <memory>

#include "local/alias_tables.hpp"
#include "local/identity.hpp"
#include "local/local_settings.hpp"
#include "mail/resolve.hpp"
#include "queue/delivery_agent.hpp"
#include "server/server_context.hpp"

namespace postern::local {

class LocalAgent {
  public:
    // Errors are configuration errors for a `fatal:` line.
    static Result<std::unique_ptr<LocalAgent>> open(const ServerContext& context);

    Status deliver(DeliverySession& session, ServerContext& context);

    const LocalSettings& settings() const { return settings_; }

  private:
    LocalAgent(LocalSettings settings, AliasTables aliases,
               std::unique_ptr<AddressResolver> resolver, UserRights default_privs)
        : settings_(std::move(settings)),
          aliases_(std::move(aliases)),
          resolver_(std::move(resolver)),
          default_privs_(std::move(default_privs)) {}

    LocalSettings settings_;
    AliasTables aliases_;
    std::unique_ptr<AddressResolver> resolver_;
    UserRights default_privs_;
};

// The account default_privs names: it must exist and must not be root, as Postfix checks.
Result<UserRights> default_privs_account(const std::string& config_directory,
                                         const std::string& name);

}  // namespace postern::local
