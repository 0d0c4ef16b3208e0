// The restriction language: smtpd_{client,helo,sender,relay,recipient,data,
// end_of_data}_restrictions and smtpd_restriction_classes, evaluated as Postfix's
// smtpd_check.c evaluates them: each list in order, the first restriction that decides
// (permit or reject) ends that list; "dunno" goes on; the end of a list permits.
//
// Where it sits: smtpd/, asked by the session (smtpd_session.hpp) at each stage; with
// smtpd_delay_reject the session asks the client, helo and sender stages again at RCPT
// time. What it looks at comes from the network (client address, HELO name, addresses);
// the lists and tables are the administrator's, opened before smtpd chroots.
// Supported: permit, reject, defer, warn_if_reject, permit_mynetworks,
// permit_sasl_authenticated, reject_unauth_destination, defer_unauth_destination,
// reject_non_fqdn_{helo_hostname,sender,recipient}, reject_invalid_helo_hostname,
// reject_unlisted_recipient, reject_unknown_{sender,recipient}_domain,
// reject_unknown_helo_hostname, reject_unknown_client_hostname,
// reject_unknown_reverse_client_hostname, reject_rbl_client, permit_dnswl_client,
// reject_rhsbl_{client,reverse_client,helo,sender,recipient} (with default_rbl_reply and
// rbl_reply_maps), check_{client,helo,sender,recipient}_access with the
// actions OK, REJECT, DEFER, DUNNO, HOLD, DISCARD, 4xx/5xx text and nested restriction
// lists, and restriction class names. Anything else is a configuration error that
// defers the request with "451 4.3.5 Server configuration error", as Postfix does.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "mail/resolve.hpp"
#include "maps/map_list.hpp"
#include "util/result.hpp"

namespace postern {
class DnsResolver;
}

namespace postern::smtpd {

enum class RestrictionStage { client, helo, sender, relay, recipient, data, end_of_data };

// What the restrictions may look at. Addresses in external form, as the client sent them.
struct RestrictionFacts {
    std::string client_name = "unknown";
    int client_name_status = 5;  // 2 found, 4 temporary failure, 5 not found
    std::string reverse_client_name = "unknown";
    int reverse_client_name_status = 5;
    std::string client_address;
    std::string helo;  // empty: no HELO/EHLO yet
    std::optional<std::string> sender;
    std::string recipient;
    std::string sasl_username;  // empty: not authenticated
};

struct SmtpReplyText {
    int code = 0;
    std::string enhanced;  // "5.7.1"
    std::string text;
    // "554 5.7.1 text"
    std::string line() const;
};

struct RestrictionVerdict {
    bool rejected = false;
    SmtpReplyText reply;   // when rejected
    bool hold = false;     // an access table said HOLD
    bool discard = false;  // an access table said DISCARD
};

// How a recipient's domain is classified (AddressResolver::classify_domain); injected so
// unit tests need no resolver.
using DomainClassifier = std::function<Result<AddressClass>(std::string_view domain)>;
// Whether a local recipient exists (local_recipient_maps); nullopt: no check (empty maps).
using LocalRecipientCheck = std::function<Result<std::optional<bool>>(std::string_view address)>;

class Restrictions {
  public:
    // Reads the restriction parameters and opens every table they name. `dns` answers
    // the DNS block and allow lists (reject_rbl_client...); without it they are a
    // configuration error. It must outlive the restrictions.
    static Result<std::unique_ptr<Restrictions>> open(const Config& config,
                                                      DomainClassifier classify,
                                                      LocalRecipientCheck local_recipients = {},
                                                      DnsResolver* dns = nullptr);
    ~Restrictions();

    RestrictionVerdict evaluate(RestrictionStage stage, const RestrictionFacts& facts);
    bool stage_is_empty(RestrictionStage stage) const;

    struct Impl;

  private:
    explicit Restrictions(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace postern::smtpd
