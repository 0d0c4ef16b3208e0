#include "master/environment.hpp"

#include <cstdlib>
#include <map>
#include <string>

#include "util/log.hpp"

namespace postern::master {

void clean_environment(const Config& config) {
    Result<std::vector<std::string>> names = config.get_list("import_environment");
    if (!names)
        log_fatal("%s", names.error().message().c_str());
    std::map<std::string, std::string> kept;
    for (const std::string& word : *names) {
        size_t equals = word.find('=');
        if (equals != std::string::npos) {
            kept[word.substr(0, equals)] = word.substr(equals + 1);
        } else if (const char* value = std::getenv(word.c_str()); value != nullptr) {
            kept[word] = value;
        }
    }
    // systemd's notification socket is master's alone: kept here, never given to daemons.
    if (const char* notify = std::getenv(kNotifySocketVariable); notify != nullptr)
        kept[kNotifySocketVariable] = notify;
    ::clearenv();
    for (const auto& [name, value] : kept)
        ::setenv(name.c_str(), value.c_str(), 1);
}

}  // namespace postern::master
