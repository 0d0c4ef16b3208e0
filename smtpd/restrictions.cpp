#include "smtpd/restrictions.hpp"

#include <cctype>

#include "config/expand.hpp"
#include "dns/client_name.hpp"
#include "dns/dnsbl.hpp"
#include "mail/host_syntax.hpp"
#include "maps/cidr_map.hpp"
#include "maps/search.hpp"
#include "smtpd/smtp_command.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace postern::smtpd {

std::string SmtpReplyText::line() const {
    return std::to_string(code) + " " + enhanced + " " + text;
}

namespace {

// Beyond this depth a restriction class that names itself is a configuration error.
constexpr int kMaxNesting = 100;

enum class Outcome { dunno, permit, reject };

struct Codes {
    int reject = 554;
    int defer = 450;
    int access_reject = 554;
    int access_defer = 450;
    int relay_reject = 554;
    int non_fqdn = 504;
    int invalid_hostname = 501;
    int unknown_local = 550;
    int unknown_client = 450;
    int unknown_address = 450;
    int unknown_hostname = 450;
    int rbl = 554;
};

// The names a DNSBL reply template (default_rbl_reply, rbl_reply_maps) may use. Values
// come from the network (the TXT reason, names): they are substituted once, never
// expanded again.
class RblTemplateSource : public ParameterSource {
  public:
    std::map<std::string, std::string, std::less<>> values;
    std::optional<std::string_view> raw_value(std::string_view name) const override {
        auto found = values.find(name);
        if (found == values.end() || found->second.empty())
            return std::nullopt;
        return std::string_view(found->second);
    }
};

// The three-digit code at the start of `text` and the enhanced code after it, if any;
// `text` keeps the rest.
SmtpReplyText split_reply(std::string_view text, int fallback_code) {
    SmtpReplyText reply;
    reply.code = fallback_code;
    if (text.size() >= 3 && (text[0] == '4' || text[0] == '5') &&
        std::isdigit(static_cast<unsigned char>(text[1])) &&
        std::isdigit(static_cast<unsigned char>(text[2])) && (text.size() == 3 || text[3] == ' ')) {
        reply.code = std::stoi(std::string(text.substr(0, 3)));
        text = trim(text.substr(3));
    }
    char klass = static_cast<char>('0' + reply.code / 100);
    reply.enhanced = std::string(1, klass) + ".7.1";
    size_t space = text.find(' ');
    std::string_view first = text.substr(0, space);
    if (first.size() >= 5 && first[0] == klass && first[1] == '.' &&
        first.find_first_not_of("0123456789.") == std::string_view::npos) {
        reply.enhanced = std::string(first);
        text = space == std::string_view::npos ? std::string_view{} : trim(text.substr(space));
    }
    reply.text = std::string(text);
    return reply;
}

const char* stage_parameter(RestrictionStage stage) {
    switch (stage) {
        case RestrictionStage::client:
            return "smtpd_client_restrictions";
        case RestrictionStage::helo:
            return "smtpd_helo_restrictions";
        case RestrictionStage::sender:
            return "smtpd_sender_restrictions";
        case RestrictionStage::relay:
            return "smtpd_relay_restrictions";
        case RestrictionStage::recipient:
            return "smtpd_recipient_restrictions";
        case RestrictionStage::data:
            return "smtpd_data_restrictions";
        case RestrictionStage::end_of_data:
            return "smtpd_end_of_data_restrictions";
    }
    return "";
}

// Splits a restriction list into words, keeping "type:{...}" tables whole.
std::vector<std::string> restriction_words(std::string_view text) {
    std::vector<std::string> words;
    std::string word;
    int braces = 0;
    for (char c : text) {
        if (c == '{')
            ++braces;
        else if (c == '}' && braces > 0)
            --braces;
        if (braces == 0 && kListSeparators.find(c) != std::string_view::npos) {
            if (!word.empty())
                words.push_back(std::move(word));
            word.clear();
        } else {
            word.push_back(c);
        }
    }
    if (!word.empty())
        words.push_back(std::move(word));
    return words;
}

bool takes_table(std::string_view name) {
    return name == "check_client_access" || name == "check_helo_access" ||
           name == "check_sender_access" || name == "check_recipient_access" ||
           name == "check_reverse_client_hostname_access";
}

// "a" of "a@b" (the whole address without "@").
std::string_view local_part_of(std::string_view address) {
    return address.substr(0, address.rfind('@'));
}

bool takes_dns_site(std::string_view name) {
    return name == "reject_rbl_client" || name == "permit_dnswl_client" ||
           name == "reject_rhsbl_client" || name == "reject_rhsbl_reverse_client" ||
           name == "reject_rhsbl_helo" || name == "reject_rhsbl_sender" ||
           name == "reject_rhsbl_recipient" || name == "permit_rhswl_client";
}

}  // namespace

struct Restrictions::Impl {
    std::map<RestrictionStage, std::vector<std::string>> lists;
    std::map<std::string, std::vector<std::string>, std::less<>> classes;
    std::map<std::string, std::unique_ptr<MapList>, std::less<>> tables;
    std::unique_ptr<Map> mynetworks_cidr;
    std::unique_ptr<MapList> mynetworks_tables;
    DomainClassifier classify;
    LocalRecipientCheck local_recipients;
    Codes codes;
    std::string null_access_key = "<>";
    std::string myhostname;
    bool reject_unlisted_recipient = true;
    ParentStyle access_parent_style = ParentStyle::dot_prefix;
    DnsResolver* dns = nullptr;
    std::string default_rbl_reply;
    std::unique_ptr<MapList> rbl_reply_maps;

    // The evaluation of one request.
    struct Request {
        RestrictionStage stage;
        const RestrictionFacts& facts;
        RestrictionVerdict verdict;
        bool warn_only = false;  // warn_if_reject before the current restriction
    };

    Status open_tables(const std::vector<std::string>& words, const MapListOptions& options);
    Status open_mynetworks(std::string_view value, const MapListOptions& options);

    Outcome run(const std::vector<std::string>& words, Request& request, int depth);
    Outcome run_one(const std::vector<std::string>& words, size_t& index, Request& request,
                    int depth);
    Outcome reject(Request& request, int code, std::string enhanced, std::string text);
    Outcome generic(Request& request, int code, char klass, std::string_view what);
    Outcome check_access(std::string_view restriction, std::string_view table, Request& request,
                         int depth);
    Outcome access_action(const std::string& value, std::string_view key, Request& request,
                          int depth);
    Outcome unauth_destination(Request& request, bool defer);
    Outcome unlisted_recipient(Request& request);
    Outcome unknown_client(Request& request, int status, std::string_view what);
    Outcome unknown_address(Request& request, const std::string& address, bool sender);
    Outcome unknown_helo(Request& request);
    // MX, then A/AAAA: ok, or the failure of the last lookup.
    std::optional<DnsFailure> domain_failure(const std::string& domain, bool want_mx);
    Outcome dns_list(std::string_view restriction, std::string_view site_text, Request& request);
    Outcome rbl_reject(Request& request, const std::string& domain, std::string_view rbl_class,
                       const std::string& what, const std::string& reason);
    Result<bool> in_mynetworks(std::string_view address);

    static std::string reply_name(const Request& request);
    static std::string reply_class(const Request& request);
};

Status Restrictions::Impl::open_tables(const std::vector<std::string>& words,
                                       const MapListOptions& options) {
    for (size_t i = 0; i + 1 < words.size(); ++i) {
        if (!takes_table(words[i]) || tables.count(words[i + 1]))
            continue;
        auto opened = MapList::open(words[i], words[i + 1], options);
        if (!opened)
            return opened.error();
        tables.emplace(words[i + 1], std::make_unique<MapList>(std::move(*opened)));
    }
    return {};
}

// mynetworks: network blocks ("10.0.0.0/8", "[::1]/128", "!192.0.2.1") become one cidr
// table; type:table entries are looked up with the client address.
Status Restrictions::Impl::open_mynetworks(std::string_view value, const MapListOptions& options) {
    std::string cidr_text;
    std::string table_specs;
    for (std::string_view entry : split_list(value)) {
        bool is_table =
            entry.find(':') != std::string_view::npos && entry[0] != '[' && entry[0] != '!';
        if (is_table)
            table_specs += std::string(entry) + " ";
        else if (entry[0] != '/')
            cidr_text += std::string(entry) + " OK\n";
        else
            log_warning("mynetworks: file names are not supported here: %.*s",
                        static_cast<int>(entry.size()), entry.data());
    }
    PatternTableBuild build = build_cidr_map("mynetworks", cidr_text);
    for (const std::string& warning : build.warnings)
        log_warning("%s", warning.c_str());
    mynetworks_cidr = std::move(build.map);
    if (!table_specs.empty()) {
        auto opened = MapList::open("mynetworks", table_specs, options);
        if (!opened)
            return opened.error();
        mynetworks_tables = std::make_unique<MapList>(std::move(*opened));
    }
    return {};
}

Result<bool> Restrictions::Impl::in_mynetworks(std::string_view address) {
    if (mynetworks_cidr) {
        auto found = mynetworks_cidr->lookup(address);
        if (!found)
            return found.error();
        if (*found)
            return true;
    }
    if (mynetworks_tables) {
        auto found = find_network_address(*mynetworks_tables, address);
        if (!found)
            return found.error();
        return found->has_value();
    }
    return false;
}

std::string Restrictions::Impl::reply_name(const Request& request) {
    const RestrictionFacts& facts = request.facts;
    switch (request.stage) {
        case RestrictionStage::client:
            return facts.client_name + "[" + facts.client_address + "]";
        case RestrictionStage::helo:
            return facts.helo;
        case RestrictionStage::sender:
            return facts.sender.value_or("");
        case RestrictionStage::relay:
        case RestrictionStage::recipient:
            return facts.recipient;
        case RestrictionStage::data:
            return "DATA";
        case RestrictionStage::end_of_data:
            return "END-OF-MESSAGE";
    }
    return {};
}

std::string Restrictions::Impl::reply_class(const Request& request) {
    switch (request.stage) {
        case RestrictionStage::client:
            return "Client host";
        case RestrictionStage::helo:
            return "Helo command";
        case RestrictionStage::sender:
            return "Sender address";
        case RestrictionStage::relay:
        case RestrictionStage::recipient:
            return "Recipient address";
        case RestrictionStage::data:
            return "Data command";
        case RestrictionStage::end_of_data:
            return "End-of-data";
    }
    return {};
}

Outcome Restrictions::Impl::reject(Request& request, int code, std::string enhanced,
                                   std::string text) {
    SmtpReplyText reply{code, std::move(enhanced), std::move(text)};
    if (request.warn_only) {
        log_info("reject_warning: %s", reply.line().c_str());
        request.warn_only = false;
        return Outcome::dunno;
    }
    request.verdict.rejected = true;
    request.verdict.reply = std::move(reply);
    return Outcome::reject;
}

// "<name>: Class rejected: what", with the class digit of the code in the status.
Outcome Restrictions::Impl::generic(Request& request, int code, char klass, std::string_view what) {
    std::string enhanced = std::string(1, static_cast<char>('0' + code / 100)) + ".7.1";
    (void)klass;
    return reject(request, code, enhanced,
                  "<" + reply_name(request) + ">: " + reply_class(request) +
                      " rejected: " + std::string(what));
}

Outcome Restrictions::Impl::run(const std::vector<std::string>& words, Request& request,
                                int depth) {
    if (depth > kMaxNesting) {
        log_warning("restriction class nesting too deep");
        return reject(request, 451, "4.3.5", "Server configuration error");
    }
    for (size_t index = 0; index < words.size(); ++index) {
        Outcome outcome = run_one(words, index, request, depth);
        if (outcome != Outcome::dunno)
            return outcome;
    }
    return Outcome::dunno;
}

Outcome Restrictions::Impl::run_one(const std::vector<std::string>& words, size_t& index,
                                    Request& request, int depth) {
    const std::string name = lowercase(words[index]);
    const RestrictionFacts& facts = request.facts;
    if (name == "warn_if_reject") {
        request.warn_only = true;
        return Outcome::dunno;
    }
    bool warn_next = request.warn_only;
    Outcome outcome = Outcome::dunno;
    if (name == "permit") {
        outcome = Outcome::permit;
    } else if (name == "reject") {
        outcome = generic(request, codes.reject, '5', "Access denied");
    } else if (name == "defer") {
        outcome = generic(request, codes.defer, '4', "Access denied");
    } else if (name == "permit_mynetworks") {
        auto listed = in_mynetworks(facts.client_address);
        if (!listed)
            outcome = reject(request, 451, "4.3.0",
                             "<" + reply_name(request) + ">: Temporary lookup failure");
        else if (*listed)
            outcome = Outcome::permit;
    } else if (name == "permit_sasl_authenticated") {
        if (!facts.sasl_username.empty())
            outcome = Outcome::permit;
    } else if (name == "reject_unauth_destination" || name == "defer_unauth_destination") {
        if (request.stage == RestrictionStage::relay ||
            request.stage == RestrictionStage::recipient)
            outcome = unauth_destination(request, name[0] == 'd');
    } else if (name == "reject_unlisted_recipient") {
        if (request.stage == RestrictionStage::relay ||
            request.stage == RestrictionStage::recipient)
            outcome = unlisted_recipient(request);
    } else if (name == "reject_non_fqdn_helo_hostname" || name == "reject_non_fqdn_hostname") {
        if (!facts.helo.empty() && facts.helo.find('.') == std::string::npos) {
            Request helo{RestrictionStage::helo, facts, {}, request.warn_only};
            outcome = reject(
                helo, codes.non_fqdn, "5.5.2",
                "<" + facts.helo + ">: Helo command rejected: need fully-qualified hostname");
            request.verdict = helo.verdict;
        }
    } else if (name == "reject_invalid_helo_hostname" || name == "reject_invalid_hostname") {
        std::string_view helo = facts.helo;
        bool literal = helo.size() > 2 && helo.front() == '[' && helo.back() == ']';
        if (!helo.empty() && !(literal ? valid_mailhost_literal(helo) : valid_hostname(helo))) {
            Request invalid{RestrictionStage::helo, facts, {}, request.warn_only};
            outcome = reject(invalid, codes.invalid_hostname, "5.5.2",
                             "<" + facts.helo + ">: Helo command rejected: Invalid name");
            request.verdict = invalid.verdict;
        }
    } else if (name == "reject_non_fqdn_sender") {
        if (facts.sender && !facts.sender->empty() &&
            address_domain(*facts.sender).find('.') == std::string_view::npos) {
            outcome = reject(
                request, codes.non_fqdn, "5.5.2",
                "<" + *facts.sender + ">: Sender address rejected: need fully-qualified address");
        }
    } else if (name == "reject_non_fqdn_recipient") {
        if (!facts.recipient.empty() &&
            address_domain(facts.recipient).find('.') == std::string_view::npos) {
            outcome = reject(request, codes.non_fqdn, "5.5.2",
                             "<" + facts.recipient +
                                 ">: Recipient address rejected: need fully-qualified address");
        }
    } else if (name == "reject_unknown_client_hostname" || name == "reject_unknown_client") {
        outcome = unknown_client(request, facts.client_name_status, "hostname");
    } else if (name == "reject_unknown_reverse_client_hostname") {
        outcome = unknown_client(request, facts.reverse_client_name_status, "reverse hostname");
    } else if (name == "reject_unknown_sender_domain") {
        if (facts.sender)
            outcome = unknown_address(request, *facts.sender, true);
    } else if (name == "reject_unknown_recipient_domain") {
        if (!facts.recipient.empty())
            outcome = unknown_address(request, facts.recipient, false);
    } else if (name == "reject_unknown_helo_hostname" || name == "reject_unknown_hostname") {
        outcome = unknown_helo(request);
    } else if (takes_dns_site(name)) {
        if (index + 1 >= words.size()) {
            log_warning("restriction %s requires a domain name argument", name.c_str());
            return reject(request, 451, "4.3.5", "Server configuration error");
        }
        outcome = dns_list(name, words[++index], request);
    } else if (takes_table(name)) {
        if (index + 1 >= words.size()) {
            log_warning("restriction %s requires a table argument", name.c_str());
            return reject(request, 451, "4.3.5", "Server configuration error");
        }
        outcome = check_access(name, words[++index], request, depth);
    } else if (auto found = classes.find(name); found != classes.end()) {
        outcome = run(found->second, request, depth + 1);
    } else {
        log_warning("unknown smtpd restriction: \"%s\"", name.c_str());
        return reject(request, 451, "4.3.5", "Server configuration error");
    }
    if (warn_next && outcome != Outcome::reject)
        request.warn_only = false;
    return outcome;
}

Outcome Restrictions::Impl::unauth_destination(Request& request, bool defer) {
    std::string domain = lowercase(address_domain(request.facts.recipient));
    if (!domain.empty() && domain.back() == '.')
        domain.pop_back();
    if (domain.empty())
        return Outcome::dunno;  // completed with $myhostname by cleanup: local
    auto address_class = classify ? classify(domain) : Result<AddressClass>(AddressClass::other);
    if (!address_class)
        return reject(request, 451, "4.3.0",
                      "<" + request.facts.recipient + ">: Temporary lookup failure");
    if (*address_class != AddressClass::other)
        return Outcome::dunno;
    if (defer)
        return reject(request, codes.defer, "4.7.1",
                      "<" + request.facts.recipient + ">: Relay access denied");
    return reject(request, codes.relay_reject, "5.7.1",
                  "<" + request.facts.recipient + ">: Relay access denied");
}

Outcome Restrictions::Impl::unlisted_recipient(Request& request) {
    if (!local_recipients)
        return Outcome::dunno;
    std::string domain = lowercase(address_domain(request.facts.recipient));
    if (!domain.empty()) {
        auto address_class =
            classify ? classify(domain) : Result<AddressClass>(AddressClass::other);
        if (!address_class || *address_class != AddressClass::local)
            return Outcome::dunno;
    }
    auto known = local_recipients(request.facts.recipient);
    if (!known)
        return reject(request, 451, "4.3.0",
                      "<" + request.facts.recipient + ">: Temporary lookup failure");
    if (!*known || **known)
        return Outcome::dunno;
    return reject(request, codes.unknown_local, "5.1.1",
                  "<" + request.facts.recipient +
                      ">: Recipient address rejected: User unknown in local recipient table");
}

// reject_unknown_client_hostname and reject_unknown_reverse_client_hostname: a permanent
// failure gets unknown_client_reject_code, a temporary one 450, as in Postfix.
Outcome Restrictions::Impl::unknown_client(Request& request, int status, std::string_view what) {
    if (status == 2)
        return Outcome::dunno;
    int code = status == 4 ? 450 : codes.unknown_client;
    std::string enhanced = std::string(1, static_cast<char>('0' + code / 100)) + ".7.25";
    return reject(request, code, enhanced,
                  "Client host rejected: cannot find your " + std::string(what) + ", [" +
                      request.facts.client_address + "]");
}

std::optional<DnsFailure> Restrictions::Impl::domain_failure(const std::string& domain,
                                                             bool want_mx) {
    if (want_mx) {
        auto mx = dns->lookup_mx(domain);
        if (mx || mx.status() != DnsStatus::not_found)
            return mx ? std::nullopt : std::optional<DnsFailure>(mx.failure());
    }
    auto addresses = dns->lookup_addresses(domain, AddressFamilies{});
    if (addresses)
        return std::nullopt;
    return addresses.failure();
}

// reject_unknown_sender_domain / reject_unknown_recipient_domain: a domain with neither
// MX nor address records. Domains this server delivers to itself (local and virtual
// classes) are not looked up, as in Postfix; neither are the null sender, addresses
// without a domain and address literals.
Outcome Restrictions::Impl::unknown_address(Request& request, const std::string& address,
                                            bool sender) {
    std::string domain = lowercase(address_domain(address));
    if (!domain.empty() && domain.back() == '.')
        domain.pop_back();
    if (domain.empty() || domain.front() == '[')
        return Outcome::dunno;
    if (classify) {
        auto address_class = classify(domain);
        if (address_class && (*address_class == AddressClass::local ||
                              *address_class == AddressClass::virtual_alias ||
                              *address_class == AddressClass::virtual_mailbox))
            return Outcome::dunno;
    }
    if (!dns) {
        log_warning("reject_unknown_%s_domain: no DNS resolver", sender ? "sender" : "recipient");
        return reject(request, 451, "4.3.5", "Server configuration error");
    }
    const std::string prefix =
        "<" + address + ">: " + (sender ? "Sender" : "Recipient") + " address rejected: ";
    auto failure = domain_failure(domain, true);
    if (!failure)
        return Outcome::dunno;
    if (failure->status == DnsStatus::null_mx)
        return sender ? reject(request, 550, "5.7.27",
                               prefix + "Domain " + domain + " does not accept mail (nullMX)")
                      : reject(request, 556, "5.1.10",
                               prefix + "Domain " + domain + " does not accept mail (nullMX)");
    int code = failure->temporary() ? 450 : codes.unknown_address;
    std::string enhanced =
        std::string(1, static_cast<char>('0' + code / 100)) + (sender ? ".1.8" : ".1.2");
    return reject(request, code, enhanced, prefix + "Domain not found");
}

// reject_unknown_helo_hostname: a HELO name with neither address nor MX records.
Outcome Restrictions::Impl::unknown_helo(Request& request) {
    const std::string& helo = request.facts.helo;
    if (helo.empty() || helo.front() == '[' || valid_host_address(helo))
        return Outcome::dunno;
    if (!dns) {
        log_warning("reject_unknown_helo_hostname: no DNS resolver");
        return reject(request, 451, "4.3.5", "Server configuration error");
    }
    auto addresses = dns->lookup_addresses(lowercase(helo), AddressFamilies{});
    if (addresses)
        return Outcome::dunno;
    auto failure = domain_failure(lowercase(helo), true);
    if (!failure)
        return Outcome::dunno;
    int code = failure->temporary() ? 450 : codes.unknown_hostname;
    std::string enhanced = std::string(1, static_cast<char>('0' + code / 100)) + ".7.1";
    Request helo_request{RestrictionStage::helo, request.facts, {}, request.warn_only};
    Outcome outcome = reject(helo_request, code, enhanced,
                             "<" + helo + ">: Helo command rejected: Host not found");
    request.verdict = helo_request.verdict;
    request.warn_only = helo_request.warn_only;
    return outcome;
}

// The reply for a listed client: rbl_reply_maps' template for the list's domain, or
// default_rbl_reply, with $rbl_code, $rbl_class, $rbl_what, $rbl_domain, $rbl_reason.
Outcome Restrictions::Impl::rbl_reject(Request& request, const std::string& domain,
                                       std::string_view rbl_class, const std::string& what,
                                       const std::string& reason) {
    std::string reply_template = default_rbl_reply;
    if (rbl_reply_maps) {
        auto found = rbl_reply_maps->find(domain);
        if (!found)
            return reject(request, 451, "4.3.0",
                          "<" + reply_name(request) + ">: Temporary lookup failure");
        if (*found)
            reply_template = **found;
    }
    const RestrictionFacts& facts = request.facts;
    RblTemplateSource source;
    source.values = {
        {"rbl_code", std::to_string(codes.rbl)},
        {"rbl_domain", domain},
        {"rbl_reason", reason},
        {"rbl_txt", reason},
        {"rbl_class", std::string(rbl_class)},
        {"rbl_what", what},
        {"client_address", facts.client_address},
        {"client_name", facts.client_name},
        {"reverse_client_name", facts.reverse_client_name},
        {"helo_name", facts.helo},
        {"sender", facts.sender.value_or("")},
        {"sender_name", std::string(local_part_of(facts.sender.value_or("")))},
        {"sender_domain", std::string(address_domain(facts.sender.value_or("")))},
        {"recipient", facts.recipient},
        {"recipient_name", std::string(local_part_of(facts.recipient))},
        {"recipient_domain", std::string(address_domain(facts.recipient))},
    };
    ExpandOptions options;
    options.recursive = false;
    auto text = expand_value(reply_template, source, options);
    if (!text) {
        log_warning("rbl reply template for %s: %s", domain.c_str(),
                    text.error().message().c_str());
        return reject(request, 451, "4.3.5", "Server configuration error");
    }
    SmtpReplyText reply = split_reply(*text, codes.rbl);
    return reject(request, reply.code, reply.enhanced, reply.text);
}

// reject_rbl_client / permit_dnswl_client look up the client address, the reject_rhsbl_*
// restrictions a name, under the list's zone. A lookup that fails is skipped with a
// warning, as Postfix's smtpd does.
Outcome Restrictions::Impl::dns_list(std::string_view restriction, std::string_view site_text,
                                     Request& request) {
    auto site = parse_dnsbl_site(site_text);
    if (!site || !dns) {
        log_warning("%s %.*s: %s", std::string(restriction).c_str(),
                    static_cast<int>(site_text.size()), site_text.data(),
                    site ? "no DNS resolver" : site.error().message().c_str());
        return reject(request, 451, "4.3.5", "Server configuration error");
    }
    const RestrictionFacts& facts = request.facts;
    bool by_address = restriction == "reject_rbl_client" || restriction == "permit_dnswl_client";
    bool permits = restriction.substr(0, 7) == "permit_";
    std::string what;
    std::string rbl_class;
    if (by_address) {
        what = facts.client_address;
        rbl_class = "Client host";
    } else if (restriction == "reject_rhsbl_client" || restriction == "permit_rhswl_client") {
        what = facts.client_name == kUnknownClientName ? "" : facts.client_name;
        rbl_class = "Client host";
    } else if (restriction == "reject_rhsbl_reverse_client") {
        what = facts.reverse_client_name == kUnknownClientName ? "" : facts.reverse_client_name;
        rbl_class = "Unverified Client host";
    } else if (restriction == "reject_rhsbl_helo") {
        what = facts.helo;
        if (what.size() > 2 && what.front() == '[')
            what.clear();  // an address literal has no domain to look up
        rbl_class = "Helo command";
    } else if (restriction == "reject_rhsbl_sender") {
        what = facts.sender.value_or("");
        rbl_class = "Sender address";
    } else {
        what = facts.recipient;
        rbl_class = "Recipient address";
    }
    // The reply names what was checked ("Sender address [a@b.example]"), the query its
    // domain.
    std::string lookup =
        what.find('@') == std::string::npos ? what : std::string(address_domain(what));
    if (lookup.empty())
        return Outcome::dunno;
    bool listed = false;
    std::string reason;
    if (by_address) {
        auto client = parse_host_address(what);
        if (!client)
            return Outcome::dunno;
        auto found = dnsbl_lookup(*dns, *site, *client, !permits);
        if (!found) {
            log_warning("%s: RBL lookup error: %s", site->zone.c_str(),
                        found.failure().reason.c_str());
            return Outcome::dunno;
        }
        listed = found->listed;
        reason = found->reason;
    } else {
        if (!valid_hostname(lookup))
            return Outcome::dunno;
        std::string name = lowercase(lookup) + "." + site->zone;
        auto found = dns->lookup(name, DnsType::a);
        if (!found) {
            if (found.failure().temporary())
                log_warning("%s: RHSBL lookup error: %s", site->zone.c_str(),
                            found.failure().reason.c_str());
            return Outcome::dunno;
        }
        for (const HostAddress& answer : found->addresses)
            listed = listed || dnsbl_filter_matches(*site, answer);
        if (listed && !permits) {
            auto texts = dns->lookup_txt(name);
            if (texts && !texts->empty() && !texts->front().strings.empty())
                reason = texts->front().strings.front();
        }
    }
    if (!listed)
        return Outcome::dunno;
    if (permits)
        return Outcome::permit;
    return rbl_reject(request, site->zone, rbl_class, what, reason);
}

Outcome Restrictions::Impl::check_access(std::string_view restriction, std::string_view table,
                                         Request& request, int depth) {
    auto found_table = tables.find(table);
    if (found_table == tables.end())
        return reject(request, 451, "4.3.5", "Server configuration error");
    MapList& maps = *found_table->second;
    const RestrictionFacts& facts = request.facts;
    Result<std::optional<SearchMatch>> match = std::optional<SearchMatch>{};
    std::string key;
    if (restriction == "check_client_access") {
        key = facts.client_name;
        if (facts.client_name != "unknown")
            match = find_domain(maps, facts.client_name, access_parent_style);
        if (match && !*match) {
            key = facts.client_address;
            match = find_network_address(maps, facts.client_address);
        }
    } else if (restriction == "check_helo_access") {
        key = facts.helo;
        if (!facts.helo.empty())
            match = find_domain(maps, facts.helo, access_parent_style);
    } else if (restriction == "check_sender_access") {
        if (!facts.sender)
            return Outcome::dunno;
        key = facts.sender->empty() ? null_access_key : *facts.sender;
        match = find_access_address(maps, key, ExtensionRules{}, access_parent_style);
    } else if (restriction == "check_recipient_access") {
        key = facts.recipient;
        if (!key.empty())
            match = find_access_address(maps, key, ExtensionRules{}, access_parent_style);
    }
    if (!match)
        return reject(request, 451, "4.3.0",
                      "<" + reply_name(request) + ">: " + reply_class(request) +
                          " rejected: Temporary lookup failure");
    if (!*match)
        return Outcome::dunno;
    return access_action((*match)->value, key, request, depth);
}

// An access table's value: an action word with optional text, a numeric reply, or a
// restriction list.
Outcome Restrictions::Impl::access_action(const std::string& value, std::string_view key,
                                          Request& request, int depth) {
    std::string_view text = trim(value);
    size_t space = text.find_first_of(" \t");
    std::string action = lowercase(text.substr(0, space));
    std::string rest = space == std::string_view::npos ? "" : std::string(trim(text.substr(space)));
    const std::string prefix =
        "<" + std::string(key) + ">: " + reply_class(request) + " rejected: ";
    if (action == "ok" || action == "permit")
        return Outcome::permit;
    if (action == "dunno")
        return Outcome::dunno;
    if (action == "reject")
        return reject(request, codes.access_reject, "5.7.1",
                      prefix + (rest.empty() ? "Access denied" : rest));
    if (action == "defer")
        return reject(request, codes.access_defer, "4.7.1",
                      prefix + (rest.empty() ? "Access denied" : rest));
    if (action == "hold") {
        request.verdict.hold = true;
        return Outcome::dunno;
    }
    if (action == "discard") {
        request.verdict.discard = true;
        return Outcome::permit;
    }
    if (action == "warn") {
        log_info("warn: %s", rest.c_str());
        return Outcome::dunno;
    }
    bool numeric = action.size() == 3 && (action[0] == '4' || action[0] == '5') &&
                   std::isdigit(static_cast<unsigned char>(action[1])) &&
                   std::isdigit(static_cast<unsigned char>(action[2]));
    if (numeric) {
        std::string enhanced = std::string(1, action[0]) + ".7.1";
        std::string_view body = rest;
        size_t code_end = body.find(' ');
        std::string_view first = body.substr(0, code_end);
        if (first.size() >= 5 && first[0] == action[0] && first[1] == '.') {
            enhanced = std::string(first);
            body = code_end == std::string_view::npos ? std::string_view{}
                                                      : trim(body.substr(code_end));
        }
        return reject(request, std::stoi(action), enhanced,
                      prefix + (body.empty() ? "Access denied" : std::string(body)));
    }
    if (action == "prepend" || action == "redirect" || action == "filter" || action == "bcc") {
        log_warning("access table action %s is not supported yet; ignored", action.c_str());
        return Outcome::dunno;
    }
    return run(restriction_words(value), request, depth + 1);
}

Restrictions::Restrictions(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Restrictions::~Restrictions() = default;

Result<std::unique_ptr<Restrictions>> Restrictions::open(const Config& config,
                                                         DomainClassifier classify,
                                                         LocalRecipientCheck local_recipients,
                                                         DnsResolver* dns) {
    auto impl = std::make_unique<Impl>();
    impl->dns = dns;
    impl->classify = std::move(classify);
    impl->local_recipients = std::move(local_recipients);
    MapListOptions options;
    options.surrogate_on_open_error = true;
    for (RestrictionStage stage :
         {RestrictionStage::client, RestrictionStage::helo, RestrictionStage::sender,
          RestrictionStage::relay, RestrictionStage::recipient, RestrictionStage::data,
          RestrictionStage::end_of_data}) {
        auto value = config.get(stage_parameter(stage));
        if (!value)
            return value.error();
        impl->lists[stage] = restriction_words(*value);
        if (auto opened = impl->open_tables(impl->lists[stage], options); !opened)
            return opened.error();
    }
    if (impl->lists[RestrictionStage::relay].empty() &&
        impl->lists[RestrictionStage::recipient].empty())
        return Error(ErrorKind::config,
                     "in parameters smtpd_relay_restrictions and smtpd_recipient_restrictions, "
                     "specify at least one working instance of: reject_unauth_destination, "
                     "defer_unauth_destination, reject, defer, defer_if_permit or "
                     "check_relay_domains");
    auto classes = config.get("smtpd_restriction_classes");
    if (!classes)
        return classes.error();
    for (std::string_view name : split_list(*classes)) {
        auto value = config.get(name);
        if (!value)
            return value.error();
        auto words = restriction_words(*value);
        if (auto opened = impl->open_tables(words, options); !opened)
            return opened.error();
        impl->classes.emplace(lowercase(name), std::move(words));
    }
    auto mynetworks = config.get("mynetworks");
    if (!mynetworks)
        return mynetworks.error();
    if (auto opened = impl->open_mynetworks(*mynetworks, options); !opened)
        return opened.error();
    const std::pair<const char*, int*> codes[] = {
        {"reject_code", &impl->codes.reject},
        {"defer_code", &impl->codes.defer},
        {"access_map_reject_code", &impl->codes.access_reject},
        {"access_map_defer_code", &impl->codes.access_defer},
        {"relay_domains_reject_code", &impl->codes.relay_reject},
        {"non_fqdn_reject_code", &impl->codes.non_fqdn},
        {"invalid_hostname_reject_code", &impl->codes.invalid_hostname},
        {"unknown_local_recipient_reject_code", &impl->codes.unknown_local},
        {"unknown_client_reject_code", &impl->codes.unknown_client},
        {"maps_rbl_reject_code", &impl->codes.rbl},
        {"unknown_address_reject_code", &impl->codes.unknown_address},
        {"unknown_hostname_reject_code", &impl->codes.unknown_hostname},
    };
    for (const auto& [name, code] : codes) {
        auto value = config.get_integer(name);
        if (!value)
            return value.error();
        *code = static_cast<int>(*value);
    }
    // The template is expanded per reply, with the rbl_* names: read unexpanded.
    impl->default_rbl_reply = std::string(config.raw_value("default_rbl_reply").value_or(""));
    auto rbl_maps = config.get("rbl_reply_maps");
    if (!rbl_maps)
        return rbl_maps.error();
    if (!trim(*rbl_maps).empty()) {
        auto opened = MapList::open("rbl_reply_maps", *rbl_maps, options);
        if (!opened)
            return opened.error();
        impl->rbl_reply_maps = std::make_unique<MapList>(std::move(*opened));
    }
    auto unlisted = config.get_boolean("smtpd_reject_unlisted_recipient");
    if (!unlisted)
        return unlisted.error();
    impl->reject_unlisted_recipient = *unlisted;
    if (auto key = config.get("smtpd_null_access_lookup_key"))
        impl->null_access_key = *key;
    if (auto parents = config.get("parent_domain_matches_subdomains"))
        impl->access_parent_style = parent_style_for("smtpd_access_maps", *parents);
    return std::unique_ptr<Restrictions>(new Restrictions(std::move(impl)));
}

RestrictionVerdict Restrictions::evaluate(RestrictionStage stage, const RestrictionFacts& facts) {
    Impl::Request request{stage, facts, {}, false};
    Outcome outcome = impl_->run(impl_->lists[stage], request, 0);
    // smtpd_reject_unlisted_recipient: after the recipient restrictions, unless they
    // rejected already (Postfix applies it last).
    if (stage == RestrictionStage::recipient && outcome != Outcome::reject &&
        impl_->reject_unlisted_recipient) {
        request.warn_only = false;
        impl_->unlisted_recipient(request);
    }
    return request.verdict;
}

bool Restrictions::stage_is_empty(RestrictionStage stage) const {
    auto found = impl_->lists.find(stage);
    return found == impl_->lists.end() || found->second.empty();
}

}  // namespace postern::smtpd
