#include "smtpd/restrictions.hpp"

#include <cctype>

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
};

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
                                                         LocalRecipientCheck local_recipients) {
    auto impl = std::make_unique<Impl>();
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
    };
    for (const auto& [name, code] : codes) {
        auto value = config.get_integer(name);
        if (!value)
            return value.error();
        *code = static_cast<int>(*value);
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
