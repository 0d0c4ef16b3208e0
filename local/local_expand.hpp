// $name expansion of forward_path, luser_relay, mailbox_command and
// command_execution_directory with one recipient's attributes, as local(8) does it.
//
// Where it sits: local/, over lib/config's expander (the same $name, ${name},
// ${name?value}, ${name:value}, ${name?{a}:{b}} syntax as main.cf). The values come from
// the recipient address, which the network chose: every character of an expanded value
// that is not in the parameter's filter (forward_expansion_filter,
// command_expansion_filter, execution_directory_expansion_filter) becomes '_', so no
// value can carry a '/', a space or a shell character that the filter does not allow.
// The pattern itself (the administrator's) is not filtered.
#pragma once

#include <string>
#include <string_view>

#include "util/result.hpp"

namespace postern::local {

// The names a pattern may use. A name whose value is empty counts as undefined for
// ${name?...} and ${name:...}.
struct RecipientAttributes {
    std::string user;                 // $user: the local part without extension
    std::string home;                 // $home
    std::string shell;                // $shell
    std::string recipient;            // $recipient: the whole address
    std::string extension;            // $extension: after the delimiter
    std::string domain;               // $domain
    std::string local;                // $local: the whole local part
    std::string recipient_delimiter;  // $recipient_delimiter: the one found in the address
};

Result<std::string> expand_for_recipient(std::string_view pattern,
                                         const RecipientAttributes& attributes,
                                         std::string_view filter);

}  // namespace postern::local
