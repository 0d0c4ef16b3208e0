// What a DNS reply means: c-ares statuses as Postfix's failure classes, the answers of each
// record type checked and ordered (see dns.hpp). No I/O here: the unit tests feed it
// packets they built.
#include <ares.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

#include "dns/dns.hpp"
#include "mail/host_syntax.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace postern {
namespace {

// Postfix's dns_strerror() texts for the resolver's h_errno values.
constexpr const char* kHostNotFound = "Host not found";
constexpr const char* kTryAgain = "Host not found, try again";
constexpr const char* kNoRecovery = "Non-recoverable error";
constexpr const char* kNoData = "Host found but no data record of requested type";

// Answers past this many are dropped, as Postfix's dns_rr_list_limit (100) does.
constexpr int kRecordLimit = 100;

std::string name_service_reason(std::string_view name, DnsType type, const char* text) {
    std::string reason = "Host or domain name not found. Name service error for name=";
    reason.append(name);
    reason += " type=";
    reason += dns_type_name(type);
    reason += ": ";
    reason += text;
    return reason;
}

DnsFailure failure(DnsStatus status, std::string reason, bool nxdomain = false) {
    DnsFailure result;
    result.status = status;
    result.reason = std::move(reason);
    result.nxdomain = nxdomain;
    return result;
}

DnsFailure malformed_reply(std::string_view name, DnsType type) {
    std::string reason = "Name service error for name=";
    reason.append(name);
    reason += " type=";
    reason += dns_type_name(type);
    reason += ": Malformed or unexpected name server reply";
    return failure(DnsStatus::retry, std::move(reason));
}

// A name in an answer, as Postfix's valid_rr_name(): numeric names pass with a warning,
// malformed ones are dropped with a warning.
bool acceptable_answer_name(std::string_view answer, std::string_view query, DnsType type) {
    if (valid_host_address(answer)) {
        log_warning("numeric domain name in resource data of %s record for %.*s: %.100s",
                    dns_type_name(type), static_cast<int>(query.size()), query.data(),
                    std::string(answer).c_str());
        return true;
    }
    if (!valid_hostname(answer)) {
        log_warning("malformed domain name in resource data of %s record for %.*s: %.100s",
                    dns_type_name(type), static_cast<int>(query.size()), query.data(),
                    std::string(answer).c_str());
        return false;
    }
    return true;
}

std::string without_trailing_dot(const char* name) {
    std::string text = name ? name : "";
    if (!text.empty() && text.back() == '.')
        text.pop_back();
    return text;
}

// A parse status other than success: no record of the type is "no data"; anything else
// means the reply could not be read.
DnsFailure parse_failure(int status, std::string_view name, DnsType type) {
    if (status == ARES_ENODATA)
        return failure(DnsStatus::not_found, name_service_reason(name, type, kNoData));
    return malformed_reply(name, type);
}

DnsResult<DnsAnswer> parse_mx(DnsAnswer answer, const unsigned char* reply, int length,
                              std::mt19937& random) {
    ares_mx_reply* records = nullptr;
    int status = ares_parse_mx_reply(reply, length, &records);
    if (status != ARES_SUCCESS)
        return parse_failure(status, answer.name, DnsType::mx);
    bool null_mx = false;
    bool dropped = false;
    for (ares_mx_reply* each = records; each; each = each->next) {
        std::string host = without_trailing_dot(each->host);
        if (host.empty()) {
            null_mx = true;
            break;
        }
        if (!acceptable_answer_name(host, answer.name, DnsType::mx)) {
            dropped = true;
            continue;
        }
        if (answer.mx.size() < static_cast<size_t>(kRecordLimit))
            answer.mx.push_back({each->priority, std::move(host)});
    }
    ares_free_data(records);
    // RFC 7505 section 4.3: a null MX means no mail, whatever else is listed with it.
    if (null_mx)
        return failure(DnsStatus::null_mx,
                       "Domain " + answer.name + " does not accept mail (nullMX)");
    if (answer.mx.empty() && dropped) {
        DnsFailure invalid = malformed_reply(answer.name, DnsType::mx);
        invalid.status = DnsStatus::invalid;
        return invalid;
    }
    if (answer.mx.empty())
        return failure(DnsStatus::not_found,
                       name_service_reason(answer.name, DnsType::mx, kNoData));
    sort_mx_records(answer.mx, random);
    return answer;
}

DnsResult<DnsAnswer> parse_a(DnsAnswer answer, const unsigned char* reply, int length) {
    ares_addrttl records[kRecordLimit];
    int count = kRecordLimit;
    int status = ares_parse_a_reply(reply, length, nullptr, records, &count);
    if (status != ARES_SUCCESS)
        return parse_failure(status, answer.name, DnsType::a);
    for (int i = 0; i < count; ++i) {
        HostAddress address;
        address.family = AF_INET;
        std::memcpy(address.bytes.data(), &records[i].ipaddr, 4);
        answer.addresses.push_back(address);
    }
    if (answer.addresses.empty())
        return failure(DnsStatus::not_found, name_service_reason(answer.name, DnsType::a, kNoData));
    return answer;
}

DnsResult<DnsAnswer> parse_aaaa(DnsAnswer answer, const unsigned char* reply, int length) {
    ares_addr6ttl records[kRecordLimit];
    int count = kRecordLimit;
    int status = ares_parse_aaaa_reply(reply, length, nullptr, records, &count);
    if (status != ARES_SUCCESS)
        return parse_failure(status, answer.name, DnsType::aaaa);
    for (int i = 0; i < count; ++i) {
        HostAddress address;
        address.family = AF_INET6;
        std::memcpy(address.bytes.data(), &records[i].ip6addr, 16);
        answer.addresses.push_back(address);
    }
    if (answer.addresses.empty())
        return failure(DnsStatus::not_found,
                       name_service_reason(answer.name, DnsType::aaaa, kNoData));
    return answer;
}

DnsResult<DnsAnswer> parse_ptr(DnsAnswer answer, const unsigned char* reply, int length,
                               const HostAddress* queried) {
    HostAddress placeholder;
    placeholder.family = AF_INET;
    const HostAddress& address = queried ? *queried : placeholder;
    int size = address.family == AF_INET ? 4 : 16;
    hostent* host = nullptr;
    int status =
        ares_parse_ptr_reply(reply, length, address.bytes.data(), size, address.family, &host);
    if (status != ARES_SUCCESS)
        return parse_failure(status, answer.name, DnsType::ptr);
    std::vector<std::string> found;
    if (host->h_name)
        found.push_back(without_trailing_dot(host->h_name));
    for (char** alias = host->h_aliases; alias && *alias; ++alias)
        found.push_back(without_trailing_dot(*alias));
    ares_free_hostent(host);
    // Numeric and malformed PTR names are left to the caller (client_name.cpp warns as
    // Postfix's getnameinfo wrapper does); only empty ones are dropped here.
    for (std::string& name : found)
        if (!name.empty() && answer.names.size() < static_cast<size_t>(kRecordLimit) &&
            std::find(answer.names.begin(), answer.names.end(), name) == answer.names.end())
            answer.names.push_back(std::move(name));
    if (answer.names.empty())
        return failure(DnsStatus::not_found,
                       name_service_reason(answer.name, DnsType::ptr, kNoData));
    return answer;
}

DnsResult<DnsAnswer> parse_txt(DnsAnswer answer, const unsigned char* reply, int length) {
    ares_txt_ext* records = nullptr;
    int status = ares_parse_txt_reply_ext(reply, length, &records);
    if (status != ARES_SUCCESS)
        return parse_failure(status, answer.name, DnsType::txt);
    for (ares_txt_ext* each = records; each; each = each->next) {
        if (each->record_start || answer.texts.empty()) {
            if (answer.texts.size() >= static_cast<size_t>(kRecordLimit))
                break;
            answer.texts.emplace_back();
        }
        answer.texts.back().strings.emplace_back(reinterpret_cast<const char*>(each->txt),
                                                 each->length);
    }
    ares_free_data(records);
    if (answer.texts.empty())
        return failure(DnsStatus::not_found,
                       name_service_reason(answer.name, DnsType::txt, kNoData));
    return answer;
}

}  // namespace

const char* dns_type_name(DnsType type) {
    switch (type) {
        case DnsType::a:
            return "A";
        case DnsType::aaaa:
            return "AAAA";
        case DnsType::mx:
            return "MX";
        case DnsType::ptr:
            return "PTR";
        case DnsType::txt:
            return "TXT";
    }
    return "?";
}

const char* dns_status_name(DnsStatus status) {
    switch (status) {
        case DnsStatus::ok:
            return "ok";
        case DnsStatus::not_found:
            return "not_found";
        case DnsStatus::null_mx:
            return "null_mx";
        case DnsStatus::invalid:
            return "invalid";
        case DnsStatus::failed:
            return "failed";
        case DnsStatus::retry:
            return "retry";
    }
    return "?";
}

std::string TxtRecord::joined() const {
    std::string text;
    for (const std::string& each : strings)
        text += each;
    return text;
}

std::string format_host_address(const HostAddress& address) {
    char text[INET6_ADDRSTRLEN] = "";
    if (::inet_ntop(address.family == AF_INET ? AF_INET : AF_INET6, address.bytes.data(), text,
                    sizeof text) == nullptr)
        return "?";
    return text;
}

void sort_mx_records(std::vector<MxRecord>& records, std::mt19937& random) {
    // Shuffle first, then a stable sort: equal preferences keep the shuffled order
    // (RFC 5321 section 5.1: "randomize them to spread the load").
    std::shuffle(records.begin(), records.end(), random);
    std::stable_sort(records.begin(), records.end(), [](const MxRecord& a, const MxRecord& b) {
        return a.preference < b.preference;
    });
}

std::string reverse_query_name(const HostAddress& address, std::string_view zone) {
    std::string name;
    if (address.family == AF_INET) {
        for (int i = 3; i >= 0; --i) {
            name += std::to_string(address.bytes[i]);
            name += '.';
        }
        name.append(zone.empty() ? std::string_view("in-addr.arpa") : zone);
        return name;
    }
    static const char kHex[] = "0123456789abcdef";
    for (int i = 15; i >= 0; --i) {
        name += kHex[address.bytes[i] & 0xf];
        name += '.';
        name += kHex[address.bytes[i] >> 4];
        name += '.';
    }
    name.append(zone.empty() ? std::string_view("ip6.arpa") : zone);
    return name;
}

DnsFailure classify_ares_status(int ares_status, std::string_view name, DnsType type) {
    switch (ares_status) {
        case ARES_ENOTFOUND:
            return failure(DnsStatus::not_found, name_service_reason(name, type, kHostNotFound),
                           true);
        case ARES_ENODATA:
            return failure(DnsStatus::not_found, name_service_reason(name, type, kNoData));
        case ARES_EFORMERR:
            // The server answered and will answer the same again (NO_RECOVERY).
            return failure(DnsStatus::failed, name_service_reason(name, type, kNoRecovery));
        case ARES_EBADRESP:
            return malformed_reply(name, type);
        case ARES_EBADNAME:
            return failure(
                DnsStatus::not_found,
                "Name service error for " + std::string(name) + ": invalid host or domain name",
                true);
        default:
            // SERVFAIL, REFUSED, NOTIMP (the system resolver tries the next server on
            // these and ends with TRY_AGAIN), timeout, connection refused, cancelled, out
            // of memory: the answer may differ next time.
            return failure(DnsStatus::retry, name_service_reason(name, type, kTryAgain));
    }
}

std::optional<DnsFailure> check_query_name(std::string_view name, DnsType /*type*/) {
    // As Postfix's dns_lookup(): an address is not a name (some servers invent an A
    // record for it), and a malformed name is never sent.
    if (valid_host_address(name) || !valid_hostname(name))
        return failure(
            DnsStatus::not_found,
            "Name service error for " + std::string(name) + ": invalid host or domain name", true);
    return std::nullopt;
}

DnsResult<DnsAnswer> parse_dns_reply(DnsType type, std::string_view name,
                                     const unsigned char* reply, int length, std::mt19937& random,
                                     const HostAddress* queried) {
    DnsAnswer answer;
    answer.type = type;
    answer.name = std::string(name);
    if (reply == nullptr || length <= 0)
        return malformed_reply(name, type);
    switch (type) {
        case DnsType::mx:
            return parse_mx(std::move(answer), reply, length, random);
        case DnsType::a:
            return parse_a(std::move(answer), reply, length);
        case DnsType::aaaa:
            return parse_aaaa(std::move(answer), reply, length);
        case DnsType::ptr:
            return parse_ptr(std::move(answer), reply, length, queried);
        case DnsType::txt:
            return parse_txt(std::move(answer), reply, length);
    }
    return malformed_reply(name, type);
}

}  // namespace postern
