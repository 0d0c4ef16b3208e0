// The rewrite rules applied to a token list in place: shared by rewrite.cpp (the rewrite
// request) and resolve.cpp, which runs the same rules in its loop after it strips a local
// domain, as Postfix's resolver calls rewrite_tree(). Not for other callers: they use
// AddressRewriter (rewrite.hpp).
#pragma once

#include "mail/rewrite.hpp"
#include "mail/rewrite_tokens.hpp"

namespace postern {

void apply_rewrite_rules(const AddressRewriter& rewriter, RewriteContext context,
                         RewriteTokens& tokens);

}  // namespace postern
