// lib/dns: the parts that need no network. Replies are DNS packets built here; the
// resolver itself is tested against dnsmasq in tests/system/dns_test.py.
#include <ares.h>
#include <sys/socket.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <set>

#include "config/config.hpp"
#include "dns/dns.hpp"
#include "dns/dnsbl.hpp"
#include "dns/nexthop.hpp"

using namespace postern;

namespace {

// A reply to one question, answers in order; names are written uncompressed.
class Packet {
  public:
    Packet(std::string_view name, uint16_t type) : name_(name), type_(type) {}

    Packet& answer(uint16_t type, std::vector<uint8_t> data) {
        answers_.push_back({type, std::move(data)});
        return *this;
    }
    Packet& mx(uint16_t preference, std::string_view host) {
        std::vector<uint8_t> data{static_cast<uint8_t>(preference >> 8),
                                  static_cast<uint8_t>(preference & 0xff)};
        append_name(data, host);
        return answer(15, data);
    }
    Packet& a(uint8_t a1, uint8_t a2, uint8_t a3, uint8_t a4) {
        return answer(1, {a1, a2, a3, a4});
    }
    Packet& txt(std::vector<std::string> strings) {
        std::vector<uint8_t> data;
        for (const std::string& each : strings) {
            data.push_back(static_cast<uint8_t>(each.size()));
            data.insert(data.end(), each.begin(), each.end());
        }
        return answer(16, data);
    }
    Packet& ptr(std::string_view host) {
        std::vector<uint8_t> data;
        append_name(data, host);
        return answer(12, data);
    }

    std::vector<uint8_t> bytes() const {
        std::vector<uint8_t> out{
            0x12, 0x34, 0x81, 0x80, 0, 1, 0, static_cast<uint8_t>(answers_.size()), 0, 0, 0, 0};
        append_name(out, name_);
        push16(out, type_);
        push16(out, 1);
        for (const auto& [type, data] : answers_) {
            append_name(out, name_);
            push16(out, type);
            push16(out, 1);
            out.insert(out.end(), {0, 0, 0x0e, 0x10});
            push16(out, static_cast<uint16_t>(data.size()));
            out.insert(out.end(), data.begin(), data.end());
        }
        return out;
    }

  private:
    static void push16(std::vector<uint8_t>& out, uint16_t value) {
        out.push_back(static_cast<uint8_t>(value >> 8));
        out.push_back(static_cast<uint8_t>(value & 0xff));
    }
    static void append_name(std::vector<uint8_t>& out, std::string_view name) {
        size_t start = 0;
        while (start < name.size()) {
            size_t dot = name.find('.', start);
            if (dot == std::string_view::npos)
                dot = name.size();
            out.push_back(static_cast<uint8_t>(dot - start));
            out.insert(out.end(), name.begin() + static_cast<long>(start),
                       name.begin() + static_cast<long>(dot));
            start = dot + 1;
        }
        out.push_back(0);
    }

    std::string name_;
    uint16_t type_;
    std::vector<std::pair<uint16_t, std::vector<uint8_t>>> answers_;
};

DnsResult<DnsAnswer> parse(DnsType type, std::string_view name, const Packet& packet) {
    static std::mt19937 random(1);
    std::vector<uint8_t> bytes = packet.bytes();
    return parse_dns_reply(type, name, bytes.data(), static_cast<int>(bytes.size()), random);
}

HostAddress address(std::string_view text) {
    std::optional<HostAddress> parsed = parse_host_address(text);
    REQUIRE(parsed);
    return *parsed;
}

ServerAddress server(std::string_view host, std::string_view text, unsigned preference) {
    return {std::string(host), address(text), 25, preference};
}

}  // namespace

TEST_CASE("MX records are sorted by preference, equal preferences shuffled") {
    std::vector<MxRecord> records{{20, "c"}, {10, "a"}, {10, "b"}, {5, "z"}};
    std::set<std::string> firsts_at_ten;
    for (unsigned seed = 0; seed < 64; ++seed) {
        std::mt19937 random(seed);
        std::vector<MxRecord> sorted = records;
        sort_mx_records(sorted, random);
        REQUIRE(sorted.size() == 4);
        CHECK(sorted[0].host == "z");
        CHECK(sorted[1].preference == 10);
        CHECK(sorted[2].preference == 10);
        CHECK(sorted[3].host == "c");
        firsts_at_ten.insert(sorted[1].host);
    }
    // Both equal-preference hosts come first for some seeds.
    CHECK(firsts_at_ten == std::set<std::string>{"a", "b"});
}

TEST_CASE("reverse query names for PTR and DNSBL lookups") {
    CHECK(reverse_query_name(address("192.0.2.1")) == "1.2.0.192.in-addr.arpa");
    CHECK(reverse_query_name(address("192.0.2.1"), "zen.example") == "1.2.0.192.zen.example");
    CHECK(reverse_query_name(address("2001:db8::1")) ==
          "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
}

TEST_CASE("c-ares statuses map to Postfix's failure classes") {
    struct Row {
        int ares_status;
        DnsStatus status;
        bool nxdomain;
        const char* text;
    };
    auto row = GENERATE(
        Row{ARES_ENOTFOUND, DnsStatus::not_found, true, ": Host not found"},
        Row{ARES_ENODATA, DnsStatus::not_found, false,
            ": Host found but no data record of requested type"},
        Row{ARES_ESERVFAIL, DnsStatus::retry, false, ": Host not found, try again"},
        Row{ARES_ETIMEOUT, DnsStatus::retry, false, ": Host not found, try again"},
        Row{ARES_ECONNREFUSED, DnsStatus::retry, false, ": Host not found, try again"},
        Row{ARES_EREFUSED, DnsStatus::retry, false, ": Host not found, try again"},
        Row{ARES_ECANCELLED, DnsStatus::retry, false, ": Host not found, try again"},
        Row{ARES_EFORMERR, DnsStatus::failed, false, ": Non-recoverable error"},
        Row{ARES_EBADRESP, DnsStatus::retry, false, ": Malformed or unexpected name server reply"});
    DnsFailure failure = classify_ares_status(row.ares_status, "example.test", DnsType::mx);
    INFO(failure.reason);
    CHECK(failure.status == row.status);
    CHECK(failure.nxdomain == row.nxdomain);
    CHECK(failure.reason.find("name=example.test type=MX") != std::string::npos);
    CHECK(failure.reason.size() > std::strlen(row.text));
    CHECK(failure.reason.substr(failure.reason.size() - std::strlen(row.text)) == row.text);
    CHECK(failure.temporary() == (row.status == DnsStatus::retry));
}

TEST_CASE("the exact reason for a name that does not exist") {
    CHECK(classify_ares_status(ARES_ENOTFOUND, "nosuch.test", DnsType::a).reason ==
          "Host or domain name not found. Name service error for name=nosuch.test type=A: "
          "Host not found");
}

TEST_CASE("addresses and malformed names are never queried") {
    CHECK(check_query_name("192.0.2.1", DnsType::mx)->status == DnsStatus::not_found);
    CHECK(check_query_name("bad..name", DnsType::a)->reason ==
          "Name service error for bad..name: invalid host or domain name");
    CHECK(check_query_name("", DnsType::a));
    CHECK_FALSE(check_query_name("mx.example.test", DnsType::mx));
    CHECK_FALSE(check_query_name("1.2.0.192.in-addr.arpa", DnsType::ptr));
}

TEST_CASE("MX replies are parsed and sorted") {
    auto answer =
        parse(DnsType::mx, "example.test",
              Packet("example.test", 15).mx(20, "b.example.test").mx(10, "a.example.test"));
    REQUIRE(answer.ok());
    REQUIRE(answer->mx.size() == 2);
    CHECK(answer->mx[0] == MxRecord{10, "a.example.test"});
    CHECK(answer->mx[1] == MxRecord{20, "b.example.test"});
}

TEST_CASE("a null MX means the domain takes no mail, whatever else is listed") {
    auto alone = parse(DnsType::mx, "nullmx.test", Packet("nullmx.test", 15).mx(0, ""));
    REQUIRE_FALSE(alone.ok());
    CHECK(alone.failure().status == DnsStatus::null_mx);
    CHECK(alone.failure().reason == "Domain nullmx.test does not accept mail (nullMX)");
    CHECK_FALSE(alone.failure().temporary());
    auto mixed = parse(DnsType::mx, "nullmx.test",
                       Packet("nullmx.test", 15).mx(10, "mx.nullmx.test").mx(0, ""));
    CHECK(mixed.status() == DnsStatus::null_mx);
}

TEST_CASE("malformed MX host names are dropped; none left is invalid") {
    auto some = parse(DnsType::mx, "example.test",
                      Packet("example.test", 15).mx(10, "bad_-.-x").mx(20, "good.example.test"));
    REQUIRE(some.ok());
    REQUIRE(some->mx.size() == 1);
    CHECK(some->mx[0].host == "good.example.test");
    auto none = parse(DnsType::mx, "example.test", Packet("example.test", 15).mx(10, "-bad-"));
    CHECK(none.status() == DnsStatus::invalid);
}

TEST_CASE("A, TXT and PTR replies") {
    auto a = parse(DnsType::a, "h.test", Packet("h.test", 1).a(192, 0, 2, 1).a(192, 0, 2, 2));
    REQUIRE(a.ok());
    REQUIRE(a->addresses.size() == 2);
    CHECK(format_host_address(a->addresses[0]) == "192.0.2.1");
    CHECK(a->addresses[1] == address("192.0.2.2"));

    auto txt = parse(DnsType::txt, "t.test", Packet("t.test", 16).txt({"listed", " here"}));
    REQUIRE(txt.ok());
    REQUIRE(txt->texts.size() == 1);
    CHECK(txt->texts[0].strings == std::vector<std::string>{"listed", " here"});
    CHECK(txt->texts[0].joined() == "listed here");

    auto ptr = parse(DnsType::ptr, "1.2.0.192.in-addr.arpa",
                     Packet("1.2.0.192.in-addr.arpa", 12).ptr("host.test").ptr("host.test"));
    REQUIRE(ptr.ok());
    CHECK(ptr->names == std::vector<std::string>{"host.test"});
}

TEST_CASE("a reply with no record of the type is no data; garbage is temporary") {
    auto empty = parse(DnsType::a, "h.test", Packet("h.test", 1).txt({"x"}));
    CHECK(empty.status() == DnsStatus::not_found);
    CHECK_FALSE(empty.failure().nxdomain);
    std::mt19937 random(1);
    const unsigned char garbage[] = {0x12, 0x34, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0, 9, 'x'};
    auto broken = parse_dns_reply(DnsType::mx, "x.test", garbage, sizeof garbage, random);
    CHECK(broken.status() == DnsStatus::retry);
}

TEST_CASE("nexthop syntax: brackets turn MX lookups off") {
    struct Row {
        const char* text;
        const char* host;
        uint16_t port;
        bool mx_lookup;
    };
    auto row = GENERATE(Row{"example.com", "example.com", 25, true},
                        Row{"mx.example.com:2525", "mx.example.com", 2525, true},
                        Row{"[smtp.example.com]:587", "smtp.example.com", 587, false},
                        Row{"[smtp.example.com]", "smtp.example.com", 25, false},
                        Row{"[192.0.2.1]:submission", "192.0.2.1", 587, false},
                        Row{"[IPv6:2001:db8::1]:25", "2001:db8::1", 25, false},
                        Row{"[2001:db8::1]", "2001:db8::1", 25, false},
                        Row{"inet:lmtp.example.com:24", "lmtp.example.com", 24, true});
    INFO(row.text);
    Result<Nexthop> nexthop = parse_nexthop(row.text);
    REQUIRE(nexthop.ok());
    CHECK(nexthop->host == row.host);
    CHECK(nexthop->port == row.port);
    CHECK(nexthop->mx_lookup == row.mx_lookup);
}

TEST_CASE("bad nexthops and services are errors") {
    for (const char* text : {"", "[host", "[host]x", "host:", "[]:25"}) {
        INFO(text);
        CHECK_FALSE(parse_nexthop(text).ok());
    }
    CHECK_FALSE(parse_nexthop("host:99999").ok());
    CHECK(parse_nexthop("host:no-such-service-here").error().kind() == ErrorKind::config);
    CHECK(*service_port("smtp") == 25);
    CHECK(*service_port("2525") == 2525);
}

TEST_CASE("server addresses: preference order, family preference, balance and limit") {
    ServerLookupPolicy policy;
    policy.randomize_addresses = false;
    policy.address_limit = 0;
    std::mt19937 random(1);
    std::vector<ServerAddress> servers{server("b", "192.0.2.2", 20), server("a", "2001:db8::1", 10),
                                       server("a", "192.0.2.1", 10)};
    policy.preference = AddressPreference::ipv4;
    order_server_addresses(servers, policy, random);
    CHECK(format_host_address(servers[0].address) == "192.0.2.1");
    CHECK(format_host_address(servers[1].address) == "2001:db8::1");
    CHECK(servers[2].host == "b");

    // Five IPv6 addresses ahead of one IPv4: with a limit of 3, the IPv4 one stays.
    std::vector<ServerAddress> crowded;
    for (int i = 1; i <= 5; ++i)
        crowded.push_back(server("v6", "2001:db8::" + std::to_string(i), 10));
    crowded.push_back(server("v4", "192.0.2.9", 20));
    policy.preference = AddressPreference::any;
    policy.address_limit = 3;
    order_server_addresses(crowded, policy, random);
    REQUIRE(crowded.size() == 3);
    CHECK(crowded[0].address.family == AF_INET6);
    CHECK(crowded[1].address.family == AF_INET6);
    CHECK(crowded[2].host == "v4");

    policy.balance_families = false;
    std::vector<ServerAddress> cut = {server("x", "192.0.2.1", 0), server("y", "192.0.2.2", 0),
                                      server("z", "192.0.2.3", 0)};
    policy.address_limit = 2;
    order_server_addresses(cut, policy, random);
    CHECK(cut.size() == 2);
}

TEST_CASE("this machine as a [host] nexthop loops only on the SMTP port") {
    // Numeric nexthops are never queried: the server below is never contacted.
    DnsResolverSettings settings;
    settings.servers = {"127.0.0.1:1"};
    std::unique_ptr<DnsResolver> resolver = DnsResolver::create(settings).value();
    ServerLookupPolicy policy;
    policy.own_addresses = {address("127.0.0.1")};

    // A content filter or another MTA on this machine, as Postfix allows.
    Result<ServerList> filter =
        resolve_nexthop(*resolver, parse_nexthop("[127.0.0.1]:10025").value(), policy);
    REQUIRE(filter.ok());
    REQUIRE(filter->servers.size() == 1);
    CHECK(filter->servers[0].port == 10025);
    CHECK(resolve_nexthop(*resolver, parse_nexthop("127.0.0.1:2525").value(), policy).ok());

    // Port 25 of this machine is this MTA itself.
    Result<ServerList> self =
        resolve_nexthop(*resolver, parse_nexthop("[127.0.0.1]").value(), policy);
    REQUIRE_FALSE(self.ok());
    CHECK(self.error().kind() == ErrorKind::permanent);
    CHECK(self.error().enhanced_status() == "5.4.6");
    CHECK(self.error().message() == "mail for 127.0.0.1 loops back to myself");

    // lmtp never checks; other addresses are not this machine.
    policy.detect_loops = false;
    CHECK(resolve_nexthop(*resolver, parse_nexthop("[127.0.0.1]").value(), policy).ok());
    policy.detect_loops = true;
    CHECK(resolve_nexthop(*resolver, parse_nexthop("[127.0.0.2]:25").value(), policy).ok());
}

TEST_CASE("the SMTP client's lookup settings") {
    Config config = Config::defaults_only();
    ServerLookupPolicy policy = read_server_lookup_policy(config).value();
    CHECK(policy.dns_enabled);
    CHECK(policy.host_lookup_dns);
    CHECK_FALSE(policy.host_lookup_native);
    CHECK(policy.address_limit == 5);
    CHECK(policy.detect_loops);

    config.set_override("smtp_host_lookup", "dns, native");
    policy = read_server_lookup_policy(config).value();
    CHECK(policy.host_lookup_dns);
    CHECK(policy.host_lookup_native);

    config.set_override("disable_dns_lookups", "yes");
    policy = read_server_lookup_policy(config).value();
    CHECK_FALSE(policy.dns_enabled);
    CHECK(policy.host_lookup_native);
    CHECK_FALSE(policy.host_lookup_dns);

    // An explicit level wins over disable_dns_lookups.
    config.set_override("smtp_dns_support_level", "enabled");
    CHECK(read_server_lookup_policy(config)->dns_enabled);

    config.set_override("smtp_dns_support_level", "sometimes");
    Result<ServerLookupPolicy> bad = read_server_lookup_policy(config);
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().message() == "invalid smtp_dns_support_level: \"sometimes\"");

    config.set_override("smtp_dns_support_level", "");
    config.set_override("smtp_host_lookup", "dns, yp");
    CHECK_FALSE(read_server_lookup_policy(config).ok());
    CHECK_FALSE(read_server_lookup_policy(Config::defaults_only(), "lmtp")->detect_loops);
}

TEST_CASE("postern_dns_servers and inet_protocols") {
    Config config = Config::defaults_only();
    DnsResolverSettings settings = read_dns_resolver_settings(config).value();
    CHECK(settings.servers.empty());
    CHECK(settings.timeout == std::chrono::seconds(5));
    CHECK(settings.attempts == 2);

    config.set_override("postern_dns_servers", "127.0.0.1:5353, [::1]:5353 127.0.0.2 ::1");
    config.set_override("postern_dns_timeout", "2s");
    settings = read_dns_resolver_settings(config).value();
    CHECK(settings.servers ==
          std::vector<std::string>{"127.0.0.1:5353", "[::1]:5353", "127.0.0.2", "::1"});
    CHECK(settings.timeout == std::chrono::seconds(2));
    for (const char* bad : {"dns.example", "127.0.0.1:0", "[::1", "127.0.0.1:53:53", "1.2.3:53"}) {
        INFO(bad);
        config.set_override("postern_dns_servers", bad);
        CHECK(read_dns_resolver_settings(config).error().kind() == ErrorKind::config);
    }

    config.set_override("inet_protocols", "ipv4");
    AddressFamilies families = read_address_families(config).value();
    CHECK(families.ipv4);
    CHECK_FALSE(families.ipv6);
    config.set_override("inet_protocols", "ipv5");
    CHECK_FALSE(read_address_families(config).ok());
}

TEST_CASE("DNSBL sites and their answer filters") {
    DnsblSite plain = parse_dnsbl_site("zen.example").value();
    CHECK(plain.zone == "zen.example");
    CHECK(dnsbl_filter_matches(plain, address("127.0.0.200")));

    DnsblSite ranged = parse_dnsbl_site("zen.example=127.0.[0..1].[2..11;20]").value();
    CHECK(ranged.zone == "zen.example");
    CHECK(dnsbl_filter_matches(ranged, address("127.0.0.2")));
    CHECK(dnsbl_filter_matches(ranged, address("127.0.1.11")));
    CHECK(dnsbl_filter_matches(ranged, address("127.0.0.20")));
    CHECK_FALSE(dnsbl_filter_matches(ranged, address("127.0.0.12")));
    CHECK_FALSE(dnsbl_filter_matches(ranged, address("127.0.2.2")));
    CHECK_FALSE(dnsbl_filter_matches(ranged, address("2001:db8::1")));

    for (const char* bad : {"", "=127.0.0.2", "zen.example=127.0.0", "zen.example=127.0.0.256",
                            "zen.example=127.0.0.[5..2]", "zen.example=127.0.0.[]"}) {
        INFO(bad);
        CHECK_FALSE(parse_dnsbl_site(bad).ok());
    }
}
