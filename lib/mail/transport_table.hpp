// transport_maps: per-recipient overrides of the transport and next hop, with transport(5)'s
// search order and result syntax.
//
// Where it sits: lib/mail, called by the resolver (resolve.hpp) after it chose the address
// class's transport and next hop. The recipient and its domain come from the network; the
// table is the administrator's.
//
// Search order (transport(5) TABLE SEARCH ORDER), first answer wins:
//   user+extension@domain   the whole recipient (every table, regexp and cidr included)
//   user@domain             without the extension (recipient_delimiter)
//   domain                  the recipient domain
//   .parent.domain ...      each parent, written ".parent.domain", or "parent.domain"
//                           when transport_maps is listed in parent_domain_matches_subdomains
//   *                       the wildcard, looked up once and remembered
// Only the first key goes to pattern tables ("applied to the entire address"). The two
// address keys are asked in external (quoted) form first, then in internal form when that
// differs ("\"a b\"@example.com", then "a b@example.com"), as Postfix 3.5 and later.
//
// Result syntax, "transport:nexthop" split at the first ':':
//   transport:nexthop   both replaced;
//   transport           (or "transport:") the transport replaced, the next hop reset to the
//                       recipient domain, or for the error and retry transports to
//                       "Address is undeliverable";
//   :nexthop            the transport kept, the next hop replaced;
//   :                   (or empty) nothing changed;
//   error:5.1.1 text    the error transport, the text being the next hop (the reason).
// A lookup failure stops the search and is an Error (ErrorKind::temporary): the mail is
// deferred, never routed as if the table had no entry.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "maps/map_list.hpp"
#include "maps/search.hpp"
#include "util/result.hpp"

namespace postern {

// What the resolver had chosen, changed in place by a table entry.
struct TransportChoice {
    std::string transport;
    std::string nexthop;
};

class TransportTable {
  public:
    // `title` is the parameter ("transport_maps" or "address_verify_transport_maps"),
    // `value` its expanded value; `parent_style` per parent_domain_matches_subdomains.
    static Result<TransportTable> open(std::string title, std::string_view value,
                                       ParentStyle parent_style, ExtensionRules extension,
                                       const MapListOptions& options = {});
    TransportTable() = default;
    // A table over the same tables as `other` (the verify request's, when its parameter
    // names the same tables): the tables are opened once, the wildcard is looked up anew.
    static TransportTable sharing(std::string title, const TransportTable& other);

    bool empty() const { return !maps_ || maps_->empty(); }
    const std::string& title() const { return title_; }

    // Looks up `recipient` (internal form, user@domain) and updates `choice`; true when an
    // entry applied.
    Result<bool> apply(std::string_view recipient, std::string_view recipient_domain,
                       TransportChoice& choice);

    std::optional<std::string> changed_table() const;

  private:
    Result<std::optional<std::string>> find(std::string_view key, KeyForm form);
    Result<std::optional<std::string>> wildcard();

    std::string title_;
    std::shared_ptr<MapList> maps_;
    ParentStyle parent_style_ = ParentStyle::dot_prefix;
    ExtensionRules extension_;
    bool wildcard_known_ = false;
    std::optional<std::string> wildcard_;
};

// Applies one table result ("smtp:[host]:25", ":", "error:text") to `choice`, as Postfix's
// update_entry does; `recipient_domain` is the default next hop.
void apply_transport_result(std::string_view result, std::string_view recipient_domain,
                            TransportChoice& choice);

}  // namespace postern
