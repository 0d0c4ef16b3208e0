// Defaults that depend on the machine or the build: host and domain names, local networks,
// the process, and the compiled-in directories and program paths. Each is a ComputedDefault
// for the parameter table; `postconf -d` prints what these return.
//
// Where it sits: lib/config, below every daemon. Nothing here reads untrusted input: the
// sources are gethostname(), getifaddrs(), getpid() and build_config.hpp, plus other
// settings (mydomain reads myhostname, mynetworks reads mynetworks_style and
// inet_protocols), which are expanded through the ParameterSource.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/expand.hpp"

namespace postern {

// Directories and paths fixed at build time (meson options and install prefix).
std::string compute_config_directory(const ParameterSource& settings);
std::string compute_queue_directory(const ParameterSource& settings);
std::string compute_data_directory(const ParameterSource& settings);
std::string compute_command_directory(const ParameterSource& settings);
std::string compute_daemon_directory(const ParameterSource& settings);
std::string compute_meta_directory(const ParameterSource& settings);
std::string compute_shlib_directory(const ParameterSource& settings);
std::string compute_sample_directory(const ParameterSource& settings);
std::string compute_manpage_directory(const ParameterSource& settings);
std::string compute_html_directory(const ParameterSource& settings);
std::string compute_readme_directory(const ParameterSource& settings);
std::string compute_sendmail_path(const ParameterSource& settings);
std::string compute_newaliases_path(const ParameterSource& settings);
std::string compute_mailq_path(const ParameterSource& settings);
std::string compute_mail_version(const ParameterSource& settings);

// The running process.
std::string compute_process_id(const ParameterSource& settings);
std::string compute_process_name(const ParameterSource& settings);

// Names and networks of this host.
std::string compute_myhostname(const ParameterSource& settings);
std::string compute_mydomain(const ParameterSource& settings);
std::string compute_mynetworks(const ParameterSource& settings);

// One address of a local interface, for mynetworks. `address` and `netmask` are in
// network byte order: 4 bytes for IPv4, 16 for IPv6.
struct InterfaceAddress {
    int family = 0;  // AF_INET or AF_INET6
    std::vector<unsigned char> address;
    std::vector<unsigned char> netmask;
};

// The addresses of the interfaces that are up (getifaddrs), for mynetworks and for the
// resolver's inet_interfaces = all (lib/mail/local_domains).
std::vector<InterfaceAddress> local_interface_addresses();

// mynetworks for the given interface addresses, style ("host", "subnet" or "class") and
// address families; formatted as Postfix does ("127.0.0.0/8 [::1]/128"). Split out of
// compute_mynetworks() so that tests need no particular machine.
std::string format_mynetworks(const std::vector<InterfaceAddress>& interfaces,
                              std::string_view style, bool want_ipv4, bool want_ipv6);

}  // namespace postern
