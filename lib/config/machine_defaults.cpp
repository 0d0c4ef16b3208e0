#include "config/machine_defaults.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "build_config.hpp"
#include "util/strings.hpp"

namespace postern {

namespace {

// The expanded value of another setting, or "" when it is unset or does not expand.
std::string expanded_setting(const ParameterSource& settings, std::string_view name) {
    auto raw = settings.raw_value(name);
    if (!raw)
        return {};
    auto expanded = expand_value(*raw, settings);
    return expanded ? *expanded : std::string();
}

// "/usr/local/sbin" -> "/usr/local": the install prefix, derived from the command
// directory, for the paths Postfix keeps beside it (bin/, share/man).
std::string install_prefix() {
    std::string_view commands = POSTERN_COMMAND_DIRECTORY;
    size_t slash = commands.rfind('/');
    if (slash == std::string_view::npos || slash == 0)
        return "/usr";
    return std::string(commands.substr(0, slash));
}

int prefix_length(const std::vector<unsigned char>& netmask) {
    int bits = 0;
    for (unsigned char byte : netmask) {
        for (int bit = 7; bit >= 0; --bit) {
            if ((byte & (1U << bit)) == 0)
                return bits;
            ++bits;
        }
    }
    return bits;
}

// Clears every bit of `address` after the first `bits`.
std::vector<unsigned char> network_of(std::vector<unsigned char> address, int bits) {
    for (size_t i = 0; i < address.size(); ++i) {
        int keep = bits - static_cast<int>(i) * 8;
        if (keep >= 8)
            continue;
        address[i] = keep <= 0 ? 0 : static_cast<unsigned char>(address[i] & (0xFF << (8 - keep)));
    }
    return address;
}

std::string address_text(int family, const std::vector<unsigned char>& address) {
    char text[INET6_ADDRSTRLEN] = {};
    if (::inet_ntop(family, address.data(), text, sizeof text) == nullptr)
        return {};
    return text;
}

// The network of an IPv4 address under the old class A/B/C rules.
int class_prefix_length(const std::vector<unsigned char>& address) {
    unsigned char first = address.empty() ? 0 : address[0];
    if (first < 128)
        return 8;
    if (first < 192)
        return 16;
    if (first < 224)
        return 24;
    return 32;
}

}  // namespace

std::vector<InterfaceAddress> local_interface_addresses() {
    std::vector<InterfaceAddress> result;
    struct ifaddrs* list = nullptr;
    if (::getifaddrs(&list) != 0)
        return result;
    for (const struct ifaddrs* entry = list; entry != nullptr; entry = entry->ifa_next) {
        if (entry->ifa_addr == nullptr || (entry->ifa_flags & IFF_UP) == 0)
            continue;
        InterfaceAddress item;
        item.family = entry->ifa_addr->sa_family;
        if (item.family == AF_INET) {
            const auto* address = reinterpret_cast<const sockaddr_in*>(entry->ifa_addr);
            const auto* bytes = reinterpret_cast<const unsigned char*>(&address->sin_addr);
            item.address.assign(bytes, bytes + 4);
            item.netmask.assign(4, 0xFF);
            if (entry->ifa_netmask != nullptr) {
                const auto* mask = reinterpret_cast<const sockaddr_in*>(entry->ifa_netmask);
                const auto* mask_bytes = reinterpret_cast<const unsigned char*>(&mask->sin_addr);
                item.netmask.assign(mask_bytes, mask_bytes + 4);
            }
        } else if (item.family == AF_INET6) {
            const auto* address = reinterpret_cast<const sockaddr_in6*>(entry->ifa_addr);
            const auto* bytes = reinterpret_cast<const unsigned char*>(&address->sin6_addr);
            item.address.assign(bytes, bytes + 16);
            item.netmask.assign(16, 0xFF);
            if (entry->ifa_netmask != nullptr) {
                const auto* mask = reinterpret_cast<const sockaddr_in6*>(entry->ifa_netmask);
                const auto* mask_bytes = reinterpret_cast<const unsigned char*>(&mask->sin6_addr);
                item.netmask.assign(mask_bytes, mask_bytes + 16);
            }
        } else {
            continue;
        }
        result.push_back(std::move(item));
    }
    ::freeifaddrs(list);
    return result;
}

std::string compute_config_directory(const ParameterSource&) {
    return POSTERN_CONFIG_DIRECTORY;
}

std::string compute_queue_directory(const ParameterSource&) {
    return POSTERN_QUEUE_DIRECTORY;
}

std::string compute_data_directory(const ParameterSource&) {
    return POSTERN_DATA_DIRECTORY;
}

std::string compute_command_directory(const ParameterSource&) {
    return POSTERN_COMMAND_DIRECTORY;
}

std::string compute_daemon_directory(const ParameterSource&) {
    return POSTERN_DAEMON_DIRECTORY;
}

// Postfix keeps its read-only metadata (postfix-files) beside main.cf unless told otherwise.
std::string compute_meta_directory(const ParameterSource&) {
    return POSTERN_CONFIG_DIRECTORY;
}

// Postern links its library statically; Postfix says "no" in that case.
std::string compute_shlib_directory(const ParameterSource&) {
    return "no";
}

std::string compute_sample_directory(const ParameterSource&) {
    return POSTERN_CONFIG_DIRECTORY;
}

std::string compute_manpage_directory(const ParameterSource&) {
    return install_prefix() + "/share/man";
}

// No HTML or README files are installed: "no", as an unconfigured Postfix build says.
std::string compute_html_directory(const ParameterSource&) {
    return "no";
}

std::string compute_readme_directory(const ParameterSource&) {
    return "no";
}

std::string compute_sendmail_path(const ParameterSource&) {
    return std::string(POSTERN_COMMAND_DIRECTORY) + "/sendmail";
}

// Postfix puts the user commands in bin/ next to the sbin/ of sendmail.
std::string compute_newaliases_path(const ParameterSource&) {
    return install_prefix() + "/bin/newaliases";
}

std::string compute_mailq_path(const ParameterSource&) {
    return install_prefix() + "/bin/mailq";
}

std::string compute_mail_version(const ParameterSource&) {
    return POSTERN_MAIL_VERSION;
}

std::string compute_process_id(const ParameterSource&) {
    return std::to_string(::getpid());
}

std::string compute_process_name(const ParameterSource&) {
    const char* name = program_invocation_short_name;
    return name != nullptr && *name != '\0' ? name : "postern";
}

// Postfix: the host name from gethostname(); a name without a dot gets ".localdomain".
std::string compute_myhostname(const ParameterSource&) {
    char name[256] = {};
    if (::gethostname(name, sizeof name - 1) != 0 || name[0] == '\0')
        return "localhost.localdomain";
    std::string host(name);
    if (host.find('.') == std::string::npos)
        host += ".localdomain";
    return host;
}

// Postfix: $myhostname without its first label, or "localdomain" when that leaves nothing.
std::string compute_mydomain(const ParameterSource& settings) {
    std::string host = expanded_setting(settings, "myhostname");
    size_t dot = host.find('.');
    if (dot == std::string::npos || dot + 1 >= host.size())
        return "localdomain";
    return host.substr(dot + 1);
}

std::string format_mynetworks(const std::vector<InterfaceAddress>& interfaces,
                              std::string_view style, bool want_ipv4, bool want_ipv6) {
    std::vector<std::string> networks;
    // IPv4 networks first, then IPv6, each in interface order, as Postfix lists them.
    for (int family : {AF_INET, AF_INET6}) {
        if ((family == AF_INET && !want_ipv4) || (family == AF_INET6 && !want_ipv6))
            continue;
        size_t width = family == AF_INET ? 4 : 16;
        for (const InterfaceAddress& item : interfaces) {
            if (item.family != family || item.address.size() != width)
                continue;
            int bits = static_cast<int>(width) * 8;
            if (style == "subnet")
                bits = prefix_length(item.netmask);
            else if (style == "class")
                bits = family == AF_INET ? class_prefix_length(item.address)
                                         : prefix_length(item.netmask);
            std::string text = address_text(family, network_of(item.address, bits));
            if (text.empty())
                continue;
            if (family == AF_INET6)
                text = "[" + text + "]";
            networks.push_back(text + "/" + std::to_string(bits));
        }
    }
    return join(networks, " ");
}

// Postfix: the networks of this host's interfaces, per mynetworks_style (host: each
// address alone; subnet: the interface's subnet; class: the IPv4 class A/B/C network),
// restricted to the families in inet_protocols. An unknown style counts as "host", the
// narrowest choice.
std::string compute_mynetworks(const ParameterSource& settings) {
    std::string style = lowercase(trim(expanded_setting(settings, "mynetworks_style")));
    if (style != "subnet" && style != "class")
        style = "host";
    bool want_ipv4 = false;
    bool want_ipv6 = false;
    std::string protocols = lowercase(expanded_setting(settings, "inet_protocols"));
    for (std::string_view protocol : split_list(protocols)) {
        if (protocol == "all") {
            want_ipv4 = true;
            want_ipv6 = true;
        } else if (protocol == "ipv4") {
            want_ipv4 = true;
        } else if (protocol == "ipv6") {
            want_ipv6 = true;
        }
    }
    return format_mynetworks(local_interface_addresses(), style, want_ipv4, want_ipv6);
}

}  // namespace postern
