// local_login_sender_maps (Postfix 3.6): which envelope senders a local user may give to
// sendmail -f. postdrop enforces it, because postdrop is the program a user cannot bypass.
//
// The tables are searched by the user's login name ("uid:N" when the uid has no passwd
// entry) and return patterns separated by white space or commas:
//   *          any sender
//   <>         the null sender (which is looked up as
//              empty_address_local_login_sender_maps_lookup_key, "<>" by default)
//   @domain    any sender in exactly that domain
//   address    that sender, compared without its address extension (recipient_delimiter)
// Comparisons ignore case. The default, static:*, lets everyone use any sender.
// The sender comes from the user (untrusted); the tables are the administrator's.
#pragma once

#include <string>
#include <string_view>

#include "config/config.hpp"
#include "maps/map_list.hpp"
#include "maps/search.hpp"
#include "util/result.hpp"

namespace postern::postdrop {

// Whether `patterns` (a table's answer) admit `sender_key`: the sender as given, or the
// null-sender key for the null sender; `stripped` is the sender without its extension.
bool sender_patterns_allow(std::string_view patterns, std::string_view sender_key,
                           std::string_view stripped);

class LoginSenderPolicy {
  public:
    static Result<LoginSenderPolicy> open(const Config& config, std::string login_name);

    // True when the login may use `sender` (internal form; empty is the null sender). A
    // table that cannot answer is an error.
    Result<bool> allows(std::string_view sender);

  private:
    LoginSenderPolicy(MapList maps, std::string login_name, std::string null_sender_key,
                      ExtensionRules rules)
        : maps_(std::move(maps)),
          login_name_(std::move(login_name)),
          null_sender_key_(std::move(null_sender_key)),
          rules_(std::move(rules)) {}

    MapList maps_;
    std::string login_name_;
    std::string null_sender_key_;
    ExtensionRules rules_;
};

}  // namespace postern::postdrop
