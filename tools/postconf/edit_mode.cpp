// postconf -e, -X and -#: set, remove or comment out main.cf parameters, keeping every
// other byte of the file. The new file replaces the old one atomically and keeps its
// owner and mode. Runs with the caller's privileges (normally root, on /etc/postfix).
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "config/main_cf_edit.hpp"
#include "tools/postconf/postconf.hpp"
#include "util/file.hpp"

namespace postern::postconf {
namespace {

struct Flag {
    char letter;
    bool set;
};

// Postfix names conflicting options in this order: a A d e f F h H m M n o p P x X #.
void check_options(const PostconfOptions& options) {
    std::vector<Flag> flags = {{'d', options.show_defaults},
                               {'e', options.edit},
                               {'f', options.fold},
                               {'h', options.hide_names},
                               {'H', options.hide_values},
                               {'n', options.show_non_default},
                               {'o', !options.overrides.empty()},
                               {'x', options.expand},
                               {'X', options.exclude},
                               {'#', options.comment_out}};
    int count = 0;
    std::string names;
    for (const Flag& flag : flags) {
        if (!flag.set)
            continue;
        ++count;
        names += std::string(names.empty() ? "-" : " -") + flag.letter;
    }
    if (count > 1)
        fatal("specify one of " + names);
}

MainCfEditAction action_of(const PostconfOptions& options) {
    if (options.exclude)
        return MainCfEditAction::remove;
    if (options.comment_out)
        return MainCfEditAction::comment_out;
    return MainCfEditAction::set;
}

std::vector<MainCfEdit> assignments(const std::vector<std::string>& arguments) {
    if (arguments.empty())
        fatal("-e requires name=value argument");
    std::vector<MainCfEdit> edits;
    std::map<std::string, std::string> given;
    for (const std::string& argument : arguments) {
        auto edit = parse_edit_assignment(argument);
        if (!edit)
            fatal(edit.error().message());
        if (auto earlier = given.find(edit->name); earlier != given.end())
            warn("ignoring earlier request: '" +
                 format_main_cf_line(earlier->first, earlier->second) + "'");
        given[edit->name] = edit->value;
        edits.push_back(std::move(*edit));
    }
    return edits;
}

std::vector<MainCfEdit> names(const PostconfOptions& options) {
    const std::vector<std::string>& arguments = options.arguments;
    if (arguments.empty())
        fatal("missing service argument");
    // Postfix takes a first argument with `=` as a request for -e.
    if (arguments.front().find('=') != std::string::npos)
        fatal(std::string("specify one of -e -") + (options.exclude ? 'X' : '#'));
    std::vector<MainCfEdit> edits;
    for (const std::string& argument : arguments) {
        if (argument.find('=') != std::string::npos)
            fatal("-X or -# requires parameter names without value");
        edits.push_back({argument, {}});
    }
    return edits;
}

std::string read_main_cf_text(const std::string& path) {
    // Postfix opens the temporary file first, so a missing directory is reported so.
    struct stat info;
    std::string directory = directory_of(path);
    if (::stat(directory.c_str(), &info) != 0)
        fatal("open " + path + ".tmp: " + std::strerror(errno));
    auto text = read_file(path);
    if (!text) {
        std::string message = text.error().message();
        std::string prefix = "open " + path;
        if (message.rfind(prefix, 0) == 0)
            message.insert(prefix.size(), " for reading");
        fatal(message);
    }
    return std::move(*text);
}

}  // namespace

int run_edit_mode(const PostconfOptions& options) {
    check_options(options);
    if (options.master_entries || options.master_fields || options.master_parameters)
        fatal("editing master.cf is not implemented yet");
    for (const std::string& argument : options.arguments)
        if (argument.find('\n') != std::string::npos)
            fatal("-e, -X, or -# accepts no multi-line input");
    MainCfEditAction action = action_of(options);
    std::vector<MainCfEdit> edits =
        action == MainCfEditAction::set ? assignments(options.arguments) : names(options);
    std::string path = options.config_directory + "/main.cf";
    MainCfEditResult result = edit_main_cf(read_main_cf_text(path), action, edits);
    for (const std::string& name : result.multiple_entries)
        warn(path + ": multiple entries for \"" + name + "\"");
    if (Status written = replace_file_atomically(path, result.text); !written)
        fatal(written.error().message());
    return 0;
}

}  // namespace postern::postconf
