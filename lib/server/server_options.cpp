#include "server/server_options.hpp"

#include <string_view>

#include "util/strings.hpp"

namespace postern {

namespace {

constexpr std::string_view kFlagLetters = "cdlSuvz";
constexpr std::string_view kValueLetters = "nost";

Error option_error(std::string text) {
    return Error(ErrorKind::config, std::move(text));
}

void set_flag(ServerOptions& options, char letter) {
    switch (letter) {
        case 'c':
            options.chroot = true;
            break;
        case 'd':
            options.debug = true;
            break;
        case 'l':
            options.solitary = true;
            break;
        case 'S':
            options.stand_alone = true;
            break;
        case 'u':
            options.unprivileged = true;
            break;
        case 'v':
            ++options.verbose;
            break;
        case 'z':
            options.unlimited = true;
            break;
        default:
            break;
    }
}

// `-o` takes "name=value", "name = value" or either inside braces.
Status add_override(ServerOptions& options, const std::string& value) {
    std::string text = value;
    if (!text.empty() && text.front() == '{') {
        std::string problem;
        text = strip_braces(value, &problem);
        if (!problem.empty())
            return option_error("invalid \"-o " + value + "\" option value: " + problem);
    }
    auto parameter = split_parameter(text);
    if (!parameter)
        return option_error("invalid \"-o " + value +
                            "\" option value: " + parameter.error().message());
    options.overrides.push_back(std::move(*parameter));
    return {};
}

Status set_listen_count(ServerOptions& options, const std::string& value) {
    auto count = parse_integer(value);
    if (!count || *count <= 0 || *count > kMaxListenCount)
        return option_error("invalid socket_count: " + value);
    options.listen_count = static_cast<int>(*count);
    return {};
}

Status set_transport(ServerOptions& options, const std::string& value) {
    auto type = parse_service_type(value);
    if (!type)
        return option_error("unsupported transport type: " + value);
    options.transport = *type;
    return {};
}

Status set_value(ServerOptions& options, char letter, const std::string& value) {
    switch (letter) {
        case 'n':
            if (value.empty())
                return option_error("invalid service name: \"\"");
            options.service_name = value;
            return {};
        case 'o':
            return add_override(options, value);
        case 's':
            return set_listen_count(options, value);
        case 't':
            return set_transport(options, value);
        default:
            return option_error(std::string("invalid option: -") + letter);
    }
}

// One word of options ("-uc", "-s2", "-o" with its value in the next word). `next` is
// advanced past a value taken from the following word.
Status parse_option_word(ServerOptions& options, const std::vector<std::string>& words,
                         size_t& next) {
    const std::string& word = words[next];
    for (size_t i = 1; i < word.size(); ++i) {
        char letter = word[i];
        if (kFlagLetters.find(letter) != std::string_view::npos) {
            set_flag(options, letter);
            continue;
        }
        if (kValueLetters.find(letter) == std::string_view::npos)
            return option_error(std::string("invalid option: -") + letter);
        if (i + 1 < word.size())
            return set_value(options, letter, word.substr(i + 1));
        if (next + 1 >= words.size())
            return option_error(std::string("option requires an argument: -") + letter);
        return set_value(options, letter, words[++next]);
    }
    return {};
}

}  // namespace

std::string program_base_name(const std::string& path) {
    size_t slash = path.find_last_of('/');
    std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
    return name.empty() ? std::string("postern") : name;
}

Result<ServerOptions> parse_server_options(const std::vector<std::string>& words) {
    ServerOptions options;
    options.program = program_base_name(words.empty() ? std::string() : words.front());
    size_t next = 1;
    for (; next < words.size(); ++next) {
        const std::string& word = words[next];
        if (word == "--") {
            ++next;
            break;
        }
        if (word.size() < 2 || word.front() != '-')
            break;
        if (Status parsed = parse_option_word(options, words, next); !parsed)
            return parsed.error();
    }
    options.arguments.assign(words.begin() + static_cast<std::ptrdiff_t>(next), words.end());
    if (options.service_name.empty())
        options.service_name = options.program;
    return options;
}

Result<ServerOptions> parse_server_options(int argc, char** argv) {
    std::vector<std::string> words;
    for (int i = 0; i < argc; ++i)
        words.emplace_back(argv[i] != nullptr ? argv[i] : "");
    return parse_server_options(words);
}

}  // namespace postern
