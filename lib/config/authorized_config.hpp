// Which configuration directory a set-gid program may be pointed at. postdrop (and
// postqueue) run set-gid setgid_group on behalf of any local user, who chooses their
// command line and environment: a main.cf of the user's own would let them bypass
// authorized_submit_users or write where the group may. So a directory other than the
// compiled-in default is accepted from such a caller only when the default main.cf lists it
// in alternate_config_directories or multi_instance_directories, as in Postfix 3.2 and later;
// sendmail makes the same check for -C from a user other than root.
//
// Where it sits: lib/config, called by the command-line tools before they read main.cf.
#pragma once

#include <string>

#include "util/result.hpp"

namespace postern {

// True when this process has privileges its real user lacks (set-uid or set-gid) and is
// not root: then a configuration directory named by the caller must be authorized.
bool running_with_borrowed_privileges();

// Success when `directory` is `default_directory` or is listed (exactly) by
// alternate_config_directories or multi_instance_directories in default_directory/main.cf.
// Otherwise an ErrorKind::config error whose message is Postfix's advice: specify
// "alternate_config_directories = DIR" or "multi_instance_directories = DIR" in MAIN_CF.
Status check_config_directory_authorized(const std::string& directory,
                                         const std::string& default_directory);

// For the tools: when `directory` is not authorized, logs Postfix's two lines
// ("error: unauthorized configuration directory name: DIR", then the advice as fatal) and
// exits with the fatal exit status.
void require_authorized_config_directory(const std::string& directory,
                                         const std::string& default_directory);

}  // namespace postern
