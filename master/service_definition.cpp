#include "master/service_definition.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>

#include <cstring>

#include "server/master_protocol.hpp"
#include "util/strings.hpp"

namespace postern::master {

namespace {

Error entry_error(const MasterCf& master_cf, const MasterCfEntry& entry, const std::string& text) {
    return Error(ErrorKind::config,
                 master_cf.path + ": line " + std::to_string(entry.first_line) + ": " + text);
}

bool wants_family(const AddressFamilies& families, int family) {
    return (family == AF_INET && families.ipv4) || (family == AF_INET6 && families.ipv6);
}

std::string address_text(const sockaddr* address, int port) {
    char host[INET6_ADDRSTRLEN] = "?";
    if (address->sa_family == AF_INET) {
        inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(address)->sin_addr, host,
                  sizeof host);
        return std::string(host) + ":" + std::to_string(port);
    }
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(address)->sin6_addr, host,
              sizeof host);
    return "[" + std::string(host) + "]:" + std::to_string(port);
}

Result<int> resolve_port(std::string_view port_text) {
    if (Result<int64_t> number = parse_integer(port_text); number) {
        if (*number <= 0 || *number > 65535)
            return Error(ErrorKind::config, "bad port number: " + std::string(port_text));
        return static_cast<int>(*number);
    }
    // A service name from /etc/services ("smtp", "submission"), never DNS.
    std::string name(port_text);
    const servent* service = getservbyname(name.c_str(), "tcp");
    if (service == nullptr)
        return Error(ErrorKind::config, "unknown service: " + name + "/tcp");
    return static_cast<int>(ntohs(static_cast<uint16_t>(service->s_port)));
}

// Addresses for one host word: numeric, or a name from the hosts file ("localhost").
Status add_host_addresses(std::string_view host, int port, const MasterSettings& settings,
                          std::vector<InetAddress>& out) {
    std::string name(host);
    if (name.size() >= 2 && name.front() == '[' && name.back() == ']')
        name = name.substr(1, name.size() - 2);
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    addrinfo* found = nullptr;
    std::string port_text = std::to_string(port);
    int status =
        getaddrinfo(name.empty() ? nullptr : name.c_str(), port_text.c_str(), &hints, &found);
    if (status != 0)
        return Error(ErrorKind::config, "host/service " + name + "/" + port_text +
                                            " not found: " + gai_strerror(status));
    for (addrinfo* each = found; each != nullptr; each = each->ai_next) {
        if (!wants_family(settings.address_families, each->ai_family))
            continue;
        InetAddress address;
        std::memcpy(&address.address, each->ai_addr, each->ai_addrlen);
        address.length = each->ai_addrlen;
        address.text = address_text(each->ai_addr, port);
        bool duplicate = false;
        for (const InetAddress& known : out)
            duplicate = duplicate || known.text == address.text;
        if (!duplicate)
            out.push_back(address);
    }
    freeaddrinfo(found);
    return {};
}

// The interface words of inet_interfaces as host words for add_host_addresses.
std::vector<std::string> interface_hosts(const MasterSettings& settings) {
    std::vector<std::string> hosts;
    for (const std::string& word : settings.inet_interfaces) {
        std::string lower = lowercase(word);
        if (lower == "all") {
            hosts.push_back("0.0.0.0");
            hosts.push_back("::");
        } else if (lower == "loopback-only") {
            hosts.push_back("127.0.0.1");
            hosts.push_back("::1");
        } else {
            hosts.push_back(word);
        }
    }
    return hosts;
}

// "host:port", "[v6]:port" or "port".
Result<std::vector<InetAddress>> resolve_inet_service(const std::string& service,
                                                      const MasterSettings& settings) {
    std::string host;
    std::string port = service;
    size_t colon = service.rfind(':');
    if (colon != std::string::npos && (service.front() != '[' || service[colon - 1] == ']')) {
        host = service.substr(0, colon);
        port = service.substr(colon + 1);
    }
    Result<int> port_number = resolve_port(port);
    if (!port_number)
        return port_number.error();
    std::vector<InetAddress> addresses;
    std::vector<std::string> hosts =
        host.empty() ? interface_hosts(settings) : std::vector<std::string>{host};
    for (const std::string& each : hosts) {
        Status added = add_host_addresses(each, *port_number, settings, addresses);
        // "all" includes IPv6 even on a machine that has none; that alone is no error.
        if (!added && !(host.empty() && each == "::"))
            return added.error();
    }
    if (addresses.empty())
        return Error(ErrorKind::config, "no address to listen on for service " + service +
                                            " (inet_interfaces and inet_protocols)");
    return addresses;
}

std::string base_name(const std::string& path) {
    size_t slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

// The argument vector in Postfix's order (see master_protocol.hpp).
std::vector<std::string> build_arguments(const MasterCfEntry& entry,
                                         const ServiceDefinition& service,
                                         const MasterSettings& settings) {
    std::vector<std::string> exec = entry.exec_arguments();
    std::vector<std::string> arguments{exec.front()};
    if (service.process_limit == 1)
        arguments.push_back("-l");
    if (service.process_limit == 0)
        arguments.push_back("-z");
    if (base_name(exec.front()) != service.name) {
        arguments.push_back("-n");
        arguments.push_back(service.name);
    }
    arguments.push_back("-t");
    arguments.push_back(entry.type_field);
    if (settings.debug)
        arguments.push_back("-d");
    for (int level = 0; level < settings.verbose; ++level)
        arguments.push_back("-v");
    if (service.unprivileged)
        arguments.push_back("-u");
    if (service.chrooted)
        arguments.push_back("-c");
    if (service.listen_count() > 1) {
        arguments.push_back("-s");
        arguments.push_back(std::to_string(service.listen_count()));
    }
    arguments.insert(arguments.end(), exec.begin() + 1, exec.end());
    return arguments;
}

Result<ServiceDefinition> resolve_service(const MasterCf& master_cf, const MasterCfEntry& entry,
                                          const MasterSettings& settings) {
    ServiceDefinition service;
    service.name = entry.service;
    service.type = entry.type();
    service.key = entry.key();
    service.line = entry.first_line;
    service.unprivileged = entry.is_unprivileged();
    service.chrooted = entry.is_chrooted();
    Result<int> wakeup = entry.wakeup_seconds();
    if (!wakeup)
        return entry_error(master_cf, entry, wakeup.error().message());
    service.wakeup_seconds = *wakeup;
    service.wakeup_only_if_used = entry.wakeup_only_if_used();
    Result<int> limit = entry.process_limit(settings.default_process_limit);
    if (!limit)
        return entry_error(master_cf, entry, limit.error().message());
    service.process_limit = *limit;
    std::string program = entry.exec_arguments().front();
    service.program_path = program.find('/') != std::string::npos
                               ? program
                               : settings.daemon_directory + "/" + program;
    if (service.type == ServiceType::inet) {
        Result<std::vector<InetAddress>> addresses = resolve_inet_service(service.name, settings);
        if (!addresses)
            return entry_error(master_cf, entry, addresses.error().message());
        service.inet_addresses = std::move(*addresses);
    } else {
        if (service.name.find('/') != std::string::npos)
            return entry_error(master_cf, entry, "bad service name: " + service.name);
        service.socket_path = settings.queue_directory + "/" +
                              (entry.is_private() ? "private/" : "public/") + service.name;
    }
    service.arguments = build_arguments(entry, service, settings);
    return service;
}

}  // namespace

size_t ServiceDefinition::listen_count() const {
    return type == ServiceType::inet ? inet_addresses.size() : 1;
}

std::string ServiceDefinition::endpoint_signature() const {
    std::string signature = key + " " + socket_path;
    for (const InetAddress& address : inet_addresses)
        signature += " " + address.text;
    return signature;
}

Result<MasterSettings> read_master_settings(const Config& config) {
    MasterSettings settings;
    struct Text {
        const char* name;
        std::string* target;
    };
    for (const Text& text : {Text{"config_directory", &settings.config_directory},
                             Text{"queue_directory", &settings.queue_directory},
                             Text{"daemon_directory", &settings.daemon_directory},
                             Text{"data_directory", &settings.data_directory}}) {
        Result<std::string> value = config.get(text.name);
        if (!value)
            return value.error();
        *text.target = *value;
    }
    Result<std::vector<std::string>> interfaces = config.get_list("inet_interfaces");
    Result<AddressFamilies> families = read_address_families(config);
    Result<int64_t> limit = config.get_integer("default_process_limit");
    Result<int64_t> throttle = config.get_time_seconds("service_throttle_time");
    if (!interfaces)
        return interfaces.error();
    if (!families)
        return families.error();
    if (!limit)
        return limit.error();
    if (!throttle)
        return throttle.error();
    settings.inet_interfaces = *interfaces;
    settings.address_families = *families;
    settings.default_process_limit = static_cast<int>(*limit);
    settings.service_throttle_time = static_cast<int>(*throttle);
    return settings;
}

Result<std::vector<ServiceDefinition>> resolve_services(const MasterCf& master_cf,
                                                        const MasterSettings& settings) {
    if (Status unique = check_unique_services(master_cf); !unique)
        return unique.error();
    std::vector<ServiceDefinition> services;
    for (const MasterCfEntry& entry : master_cf.entries) {
        Result<ServiceDefinition> service = resolve_service(master_cf, entry, settings);
        if (!service)
            return service.error();
        services.push_back(std::move(*service));
    }
    return services;
}

}  // namespace postern::master
