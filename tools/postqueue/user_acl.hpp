// authorized_mailq_users and authorized_flush_users: which local users may list or flush
// the queue, as Postfix's check_user_acl_byuid() decides it.
//
// Where it sits: tools/postqueue. The list is the administrator's (main.cf): user names,
// "!name" to exclude, "/file/name" with more of the same, and "type:table" lookups of the
// user name ("static:anyone", the default, admits everybody). The first element that
// matches decides; a name no element matches is refused. root and mail_owner are always
// allowed, as in Postfix.
#pragma once

#include <string>
#include <string_view>

#include "util/result.hpp"

namespace postern::postqueue {

// Whether `user` is admitted by `list`. A table that cannot be opened or answer, or a
// file that cannot be read, is an error (the caller's fatal).
Result<bool> user_list_allows(std::string_view list, std::string_view user);

}  // namespace postern::postqueue
