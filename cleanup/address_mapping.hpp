// Address mapping in cleanup: canonical_maps, sender_canonical_maps and
// recipient_canonical_maps (one address becomes one address), virtual_alias_maps (one
// address becomes many, recursively), and the automatic BCC tables, as Postfix's
// cleanup_map11, cleanup_map1n and mail_addr_map do them.
//
// Where it sits: cleanup/, called by the envelope and header processing of
// message_cleanup.cpp, over lib/maps (tables and search orders) and lib/mail/rewrite (the
// canonical form of results). Addresses come from the network or a local user; table
// values are the administrator's. Work is bounded: canonical mapping stops after 10
// levels, virtual expansion after virtual_alias_recursion_limit levels and
// virtual_alias_expansion_limit addresses, and results longer than
// virtual_alias_address_length_limit are refused. A table that cannot answer defers the
// message (Postfix's "map lookup problem ... try again later").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cleanup/cleanup_settings.hpp"
#include "mail/rewrite.hpp"

namespace postern::cleanup {

// Why mapping could not finish: the cleanup_status bits and reason to give the client.
// Set once; the first problem wins.
struct MappingTrouble {
    int64_t status = 0;
    std::string reason;
    void set(int64_t bits, std::string text = {});
};

class AddressMapper {
  public:
    AddressMapper(const CleanupSettings& settings, CleanupTables& tables,
                  const AddressRewriter& rewriter)
        : settings_(settings), tables_(tables), rewriter_(rewriter) {}

    // One-to-one mapping through `maps` (a canonical table): the address is replaced by the
    // first address of the table's answer, and again while the answer changes, up to 10
    // times. Returns whether the address changed. `propagate`: put an unmatched address
    // extension back into the result.
    bool map_canonical(MapList& maps, std::string& address, bool propagate,
                       std::string_view queue_id, MappingTrouble& trouble);

    // virtual_alias_maps expansion: the addresses `address` stands for (itself when the
    // table does not know it).
    std::vector<std::string> expand_virtual(std::string_view address, std::string_view queue_id,
                                            MappingTrouble& trouble);

    // The BCC address a sender_bcc_maps or recipient_bcc_maps lookup gives for `address`.
    std::optional<std::string> find_bcc(MapList& maps, std::string_view address,
                                        std::string_view queue_id, MappingTrouble& trouble);

    // The envelope address in canonical form in the local context (trivial-rewrite).
    std::string rewrite_local(std::string_view address) const {
        return rewriter_.rewrite(RewriteContext::local, address);
    }
    const AddressRewriter& rewriter() const { return rewriter_; }

  private:
    // Postfix's mail_addr_map(): the table's answer for `address`, as internal addresses in
    // canonical form, with the extension propagated and "@domain" answers expanded;
    // nullopt when no table knows the address; an Error when a table failed.
    Result<std::optional<std::vector<std::string>>> lookup(MapList& maps, std::string_view address,
                                                           bool propagate);
    Result<bool> is_local_domain(std::string_view domain);

    const CleanupSettings& settings_;
    CleanupTables& tables_;
    const AddressRewriter& rewriter_;
};

}  // namespace postern::cleanup
