#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "config/machine_defaults.hpp"
#include "config/parameter_table.hpp"

using namespace postern;

namespace {

// A ParameterSource over a fixed map; names not in it fall back to the table's static
// default, as a configuration without main.cf would.
class FakeSettings : public ParameterSource {
  public:
    FakeSettings() = default;
    FakeSettings(std::initializer_list<std::pair<const std::string, std::string>> values)
        : values_(values) {}

    std::optional<std::string_view> raw_value(std::string_view name) const override {
        if (auto it = values_.find(name); it != values_.end())
            return it->second;
        const ParameterInfo* info = find_parameter(name);
        if (info == nullptr)
            return std::nullopt;
        if (info->computed != nullptr) {
            auto [it, inserted] = computed_.emplace(std::string(name), info->computed(*this));
            return it->second;
        }
        return info->default_value;
    }

  private:
    std::map<std::string, std::string, std::less<>> values_;
    mutable std::map<std::string, std::string, std::less<>> computed_;
};

InterfaceAddress ipv4(unsigned char a, unsigned char b, unsigned char c, unsigned char d,
                      int prefix) {
    InterfaceAddress item;
    item.family = AF_INET;
    item.address = {a, b, c, d};
    item.netmask.assign(4, 0);
    for (int bit = 0; bit < prefix; ++bit)
        item.netmask[bit / 8] |= static_cast<unsigned char>(0x80 >> (bit % 8));
    return item;
}

InterfaceAddress ipv6(std::vector<unsigned char> address, int prefix) {
    InterfaceAddress item;
    item.family = AF_INET6;
    item.address = std::move(address);
    item.address.resize(16, 0);
    item.netmask.assign(16, 0);
    for (int bit = 0; bit < prefix; ++bit)
        item.netmask[bit / 8] |= static_cast<unsigned char>(0x80 >> (bit % 8));
    return item;
}

// The interfaces of a typical host: lo, one IPv4 LAN address, a ULA and a link-local.
std::vector<InterfaceAddress> sample_interfaces() {
    std::vector<unsigned char> loopback6(16, 0);
    loopback6[15] = 1;
    std::vector<unsigned char> ula(16, 0);
    ula[0] = 0xfd;
    ula[15] = 2;
    std::vector<unsigned char> link_local(16, 0);
    link_local[0] = 0xfe;
    link_local[1] = 0x80;
    link_local[9] = 0x02;
    link_local[15] = 0x01;
    return {ipv4(127, 0, 0, 1, 8), ipv6(loopback6, 128), ipv4(192, 0, 2, 2, 24),
            ipv6(ula, 64),         ipv6(link_local, 64), ipv4(172, 20, 1, 9, 28)};
}

}  // namespace

TEST_CASE("the parameter table is sorted, unique and described") {
    const auto& table = parameter_table();
    REQUIRE_FALSE(table.empty());
    for (size_t i = 1; i < table.size(); ++i) {
        INFO(table[i].name);
        CHECK(table[i - 1].name < table[i].name);
    }
    for (const ParameterInfo& info : table) {
        INFO(info.name);
        CHECK_FALSE(info.description.empty());
        if (info.type == ParamType::time)
            CHECK(info.time_unit != 0);
        else
            CHECK(info.time_unit == 0);
    }
}

TEST_CASE("the parameter table covers every static Postfix 3.7 parameter") {
    // `postconf -d` of Postfix 3.7 with an empty main.cf and master.cf prints 831 lines;
    // Postern's own parameters (postern_*) come on top.
    size_t postfix_parameters = 0;
    for (const ParameterInfo& info : parameter_table())
        postfix_parameters += info.name.substr(0, 8) != "postern_";
    CHECK(postfix_parameters == 831);
    for (std::string_view name :
         {"2bounce_notice_recipient", "alias_maps", "smtpd_recipient_restrictions",
          "tls_wildcard_matches_multiple_labels", "virtual_uid_maps", "lmtp_tls_CAfile"})
        CHECK(find_parameter(name) != nullptr);
}

TEST_CASE("find_parameter finds known names and only those") {
    REQUIRE(find_parameter("myorigin") != nullptr);
    CHECK(find_parameter("myorigin")->default_value == "$myhostname");
    CHECK(find_parameter("no_such_parameter") == nullptr);
    CHECK(find_parameter("") == nullptr);
    // Service parameters are not static.
    CHECK(find_parameter("smtp_destination_concurrency_limit") == nullptr);
}

TEST_CASE("static defaults are Postfix's, unexpanded") {
    struct Row {
        std::string_view name;
        std::string_view default_value;
    };
    const Row rows[] = {
        {"mydestination", "$myhostname, localhost.$mydomain, localhost"},
        {"message_size_limit", "10240000"},
        {"smtpd_banner", "$myhostname ESMTP $mail_name"},
        {"relay_domains", "${{$compatibility_level} <level {2} ? {$mydestination} : {}}"},
        {"smtpd_timeout", "${stress?{10}:{300}}s"},
        {"compatibility_level", "0"},
        {"smtpd_expansion_filter",
         "\\t\\40!\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\\\]^_`"
         "abcdefghijklmnopqrstuvwxyz{|}~"},
        {"relayhost", ""},
        {"local_destination_concurrency_limit", "2"},
        {"mail_release_date", "20240304"},
    };
    for (const Row& row : rows) {
        INFO(row.name);
        const ParameterInfo* info = find_parameter(row.name);
        REQUIRE(info != nullptr);
        CHECK(info->default_value == row.default_value);
        CHECK(info->computed == nullptr);
    }
}

TEST_CASE("parameters have the right types and time units") {
    struct Row {
        std::string_view name;
        ParamType type;
        char time_unit;
    };
    const Row rows[] = {
        {"biff", ParamType::boolean, 0},
        {"append_dot_mydomain", ParamType::boolean, 0},
        {"smtpd_per_request_deadline", ParamType::boolean, 0},
        {"postscreen_helo_required", ParamType::boolean, 0},
        {"hopcount_limit", ParamType::integer, 0},
        {"smtpd_hard_error_limit", ParamType::integer, 0},
        {"default_process_limit", ParamType::integer, 0},
        {"message_size_limit", ParamType::size, 0},
        {"mailbox_size_limit", ParamType::size, 0},
        {"virtual_mailbox_limit", ParamType::size, 0},
        {"header_size_limit", ParamType::size, 0},
        {"bounce_queue_lifetime", ParamType::time, 'd'},
        {"maximal_queue_lifetime", ParamType::time, 'd'},
        {"delay_warning_time", ParamType::time, 'h'},
        {"smtpd_timeout", ParamType::time, 's'},
        {"postscreen_dnsbl_max_ttl", ParamType::time, 'h'},
        {"ipc_timeout", ParamType::time, 's'},
        {"smtp_sasl_auth_cache_time", ParamType::time, 'd'},
        {"myorigin", ParamType::string, 0},
        {"compatibility_level", ParamType::string, 0},
        {"smtp_tcp_port", ParamType::string, 0},
        {"lmtp_tcp_port", ParamType::string, 0},
    };
    for (const Row& row : rows) {
        INFO(row.name);
        const ParameterInfo* info = find_parameter(row.name);
        REQUIRE(info != nullptr);
        CHECK(info->type == row.type);
        CHECK(info->time_unit == row.time_unit);
    }
}

TEST_CASE("machine-dependent parameters are computed") {
    for (std::string_view name :
         {"myhostname",       "mydomain",          "mynetworks",        "process_id",
          "process_name",     "mail_version",      "config_directory",  "queue_directory",
          "data_directory",   "command_directory", "daemon_directory",  "meta_directory",
          "shlib_directory",  "html_directory",    "manpage_directory", "readme_directory",
          "sample_directory", "sendmail_path",     "newaliases_path",   "mailq_path"}) {
        INFO(name);
        const ParameterInfo* info = find_parameter(name);
        REQUIRE(info != nullptr);
        CHECK(info->computed != nullptr);
        CHECK(info->default_value.empty());
    }
}

TEST_CASE("computed defaults give plausible values") {
    FakeSettings settings;
    CHECK(compute_mail_version(settings) == "3.7.11");
    CHECK(compute_process_id(settings) == std::to_string(::getpid()));
    CHECK_FALSE(compute_process_name(settings).empty());
    CHECK(compute_config_directory(settings).front() == '/');
    CHECK(compute_sendmail_path(settings) == compute_command_directory(settings) + "/sendmail");
    CHECK(compute_myhostname(settings).find('.') != std::string::npos);

    FakeSettings named{{"myhostname", "mx1.mail.example.org"}};
    CHECK(compute_mydomain(named) == "mail.example.org");
    FakeSettings bare{{"myhostname", "localhost"}};
    CHECK(compute_mydomain(bare) == "localdomain");
    FakeSettings indirect{{"myhostname", "mx.$x"}, {"x", "example.net"}};
    CHECK(compute_mydomain(indirect) == "example.net");

    // The real machine: whatever its interfaces, loopback is in mynetworks (subnet style
    // at compatibility level 0) and IPv6 networks are bracketed.
    std::string networks = compute_mynetworks(settings);
    CHECK(networks.find("127.0.0.0/8") != std::string::npos);
    FakeSettings host_only{{"mynetworks_style", "host"}, {"inet_protocols", "ipv4"}};
    CHECK(compute_mynetworks(host_only).find("127.0.0.1/32") != std::string::npos);
    CHECK(compute_mynetworks(host_only).find('[') == std::string::npos);
}

TEST_CASE("mynetworks is formatted as Postfix does for each style") {
    auto interfaces = sample_interfaces();
    CHECK(format_mynetworks(interfaces, "subnet", true, true) ==
          "127.0.0.0/8 192.0.2.0/24 172.20.1.0/28 [::1]/128 [fd00::]/64 [fe80::]/64");
    CHECK(format_mynetworks(interfaces, "host", true, true) ==
          "127.0.0.1/32 192.0.2.2/32 172.20.1.9/32 [::1]/128 [fd00::2]/128 "
          "[fe80::2:0:0:1]/128");
    CHECK(format_mynetworks(interfaces, "class", true, true) ==
          "127.0.0.0/8 192.0.2.0/24 172.20.0.0/16 [::1]/128 [fd00::]/64 [fe80::]/64");
    CHECK(format_mynetworks(interfaces, "subnet", true, false) ==
          "127.0.0.0/8 192.0.2.0/24 172.20.1.0/28");
    CHECK(format_mynetworks(interfaces, "subnet", false, true) ==
          "[::1]/128 [fd00::]/64 [fe80::]/64");
    CHECK(format_mynetworks({}, "subnet", true, true).empty());
}

TEST_CASE("mynetworks follows mynetworks_style through compatibility_level") {
    // At level 2 and later the default style is "host": every address alone.
    FakeSettings modern{{"compatibility_level", "3.6"}, {"inet_protocols", "ipv4"}};
    std::string networks = compute_mynetworks(modern);
    CHECK(networks.find("127.0.0.1/32") != std::string::npos);
    CHECK(networks.find("127.0.0.0/8") == std::string::npos);
}

TEST_CASE("delivery agents get per-service scheduler parameters") {
    auto parameters = service_parameters("relay", "smtp");
    REQUIRE(parameters.size() == 16);
    std::map<std::string, ServiceParameter> by_name;
    for (const ServiceParameter& parameter : parameters)
        by_name.emplace(parameter.name, parameter);
    REQUIRE(by_name.count("relay_destination_concurrency_limit") == 1);
    CHECK(by_name.at("relay_destination_concurrency_limit").default_value ==
          "$default_destination_concurrency_limit");
    CHECK(by_name.at("relay_destination_concurrency_limit").type == ParamType::integer);
    CHECK(by_name.at("relay_initial_destination_concurrency").default_value ==
          "$initial_destination_concurrency");
    CHECK(by_name.at("relay_destination_rate_delay").type == ParamType::time);
    CHECK(by_name.at("relay_destination_rate_delay").time_unit == 's');
    CHECK(by_name.at("relay_recipient_refill_delay").type == ParamType::time);
    CHECK(by_name.at("relay_transport_rate_delay").default_value ==
          "$default_transport_rate_delay");
    CHECK(by_name.count("relay_time_limit") == 0);
    for (const ServiceParameter& parameter : parameters) {
        INFO(parameter.name);
        CHECK(parameter.name.rfind("relay_", 0) == 0);
        CHECK(find_parameter(parameter.name) == nullptr);
        CHECK((parameter.type == ParamType::time) == (parameter.time_unit != 0));
    }

    for (std::string_view agent : {"lmtp", "local", "virtual", "error"})
        CHECK(service_parameters("other", agent).size() == 16);
    // Arguments after the program name do not matter; a path before it does.
    CHECK(service_parameters("other", "smtp -o smtp_helo_timeout=5").size() == 16);
    CHECK(service_parameters("other", "/usr/libexec/postfix/smtp").empty());
    // The service name is used as written, even an inet host:port.
    CHECK(service_parameters("127.0.0.1:2525", "smtp").front().name ==
          "127.0.0.1:2525_delivery_slot_cost");
}

TEST_CASE("pipe and spawn services get a time limit") {
    auto parameters = service_parameters("uucp", "pipe");
    CHECK(parameters.size() == 17);
    auto limit = std::find_if(parameters.begin(), parameters.end(), [](const ServiceParameter& p) {
        return p.name == "uucp_time_limit";
    });
    REQUIRE(limit != parameters.end());
    CHECK(limit->default_value == "$command_time_limit");
    CHECK(limit->type == ParamType::time);
    CHECK(limit->time_unit == 's');

    auto spawned = service_parameters("policy", "spawn");
    REQUIRE(spawned.size() == 1);
    CHECK(spawned[0].name == "policy_time_limit");
}

TEST_CASE("other services get no service parameters") {
    for (std::string_view command :
         {"discard", "smtpd", "cleanup", "qmgr", "bounce", "showq", "postscreen", "tlsproxy"}) {
        INFO(command);
        CHECK(service_parameters("name", command).empty());
    }
    CHECK(service_parameters("", "smtp").empty());
}

TEST_CASE("static parameters win over service parameters") {
    // The "local" service: local_destination_concurrency_limit and
    // local_destination_recipient_limit are static (2 and 1) and are not returned.
    auto parameters = service_parameters("local", "local");
    CHECK(parameters.size() == 14);
    for (const ServiceParameter& parameter : parameters) {
        INFO(parameter.name);
        CHECK(find_parameter(parameter.name) == nullptr);
    }
    // command_time_limit is static: a pipe service named "command" gets no time limit.
    CHECK(service_parameters("command", "pipe").size() == 16);
    // A service named "default" would shadow the defaults themselves; only two names remain.
    auto defaults = service_parameters("default", "pipe");
    REQUIRE(defaults.size() == 2);
    CHECK(defaults[0].name == "default_initial_destination_concurrency");
    CHECK(defaults[1].name == "default_time_limit");
}
