// Authorizing a configuration directory; see authorized_config.hpp.
#include "config/authorized_config.hpp"

#include <unistd.h>

#include "config/config.hpp"
#include "util/log.hpp"

namespace postern {

bool running_with_borrowed_privileges() {
    return ::geteuid() != 0 && (::geteuid() != ::getuid() || ::getegid() != ::getgid());
}

Status check_config_directory_authorized(const std::string& directory,
                                         const std::string& default_directory) {
    if (directory == default_directory)
        return {};
    Result<Config> standard = Config::load(default_directory);
    if (!standard)
        return standard.error();
    for (const char* name : {"alternate_config_directories", "multi_instance_directories"}) {
        Result<std::vector<std::string>> listed = standard->get_list(name);
        if (!listed)
            return listed.error();
        for (const std::string& entry : *listed)
            if (entry == directory)
                return {};
    }
    return Error(ErrorKind::config, "specify \"alternate_config_directories = " + directory +
                                        "\" or \"multi_instance_directories = " + directory +
                                        "\" in " + standard->main_cf_path());
}

void require_authorized_config_directory(const std::string& directory,
                                         const std::string& default_directory) {
    Status authorized = check_config_directory_authorized(directory, default_directory);
    if (authorized)
        return;
    if (authorized.error().message().starts_with("specify "))
        log_error("unauthorized configuration directory name: %s", directory.c_str());
    log_fatal(authorized.error());
}

}  // namespace postern
