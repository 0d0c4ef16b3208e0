// cidr: tables. See cidr_map.hpp for the syntax and what is trusted; the messages are
// Postfix 3.7's, checked against /usr/sbin/postmap.
#include "maps/cidr_map.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "maps/map_openers.hpp"
#include "maps/table_source.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace postern {

namespace {

// An address as two 64-bit halves, most significant first; IPv4 lives in `low`.
struct IpAddress {
    uint64_t high = 0;
    uint64_t low = 0;
    uint8_t family = 0;  // 4 or 6
};

constexpr size_t kMaxAddressText = 64;  // longer than any address inet_pton accepts

uint64_t load_big_endian(const unsigned char* bytes, size_t count) {
    uint64_t value = 0;
    for (size_t i = 0; i < count; ++i)
        value = (value << 8) | bytes[i];
    return value;
}

// The family is IPv6 when the text has a ':', as Postfix decides; then inet_pton(3) says
// whether it is an address (no leading zeros in IPv4 octets, no zone index, no brackets).
std::optional<IpAddress> parse_address(std::string_view text) {
    if (text.size() >= kMaxAddressText || text.find('\0') != std::string_view::npos)
        return std::nullopt;
    char buffer[kMaxAddressText];
    std::memcpy(buffer, text.data(), text.size());
    buffer[text.size()] = '\0';
    unsigned char bytes[16];
    IpAddress address;
    if (text.find(':') != std::string_view::npos) {
        if (::inet_pton(AF_INET6, buffer, bytes) != 1)
            return std::nullopt;
        address.high = load_big_endian(bytes, 8);
        address.low = load_big_endian(bytes + 8, 8);
        address.family = 6;
    } else {
        if (::inet_pton(AF_INET, buffer, bytes) != 1)
            return std::nullopt;
        address.low = load_big_endian(bytes, 4);
        address.family = 4;
    }
    return address;
}

std::string format_address(const IpAddress& address) {
    unsigned char bytes[16];
    for (int i = 0; i < 8; ++i) {
        bytes[i] = static_cast<unsigned char>(address.high >> (56 - 8 * i));
        bytes[8 + i] = static_cast<unsigned char>(address.low >> (56 - 8 * i));
    }
    char text[INET6_ADDRSTRLEN];
    if (address.family == 4)
        ::inet_ntop(AF_INET, bytes + 12, text, sizeof text);
    else
        ::inet_ntop(AF_INET6, bytes, text, sizeof text);
    return text;
}

// The mask of `prefix` leading one bits within a `total_bits`-bit number stored in 64 bits.
uint64_t leading_ones(unsigned prefix, unsigned total_bits) {
    if (prefix == 0)
        return 0;
    uint64_t all = total_bits == 64 ? ~uint64_t{0} : (uint64_t{1} << total_bits) - 1;
    return all & (all << (total_bits - prefix));
}

// One rule, kept small and flat so that a lookup is a scan over contiguous memory.
struct CidrRule {
    uint64_t high = 0;  // the network, host bits zero
    uint64_t low = 0;
    uint64_t high_mask = 0;
    uint64_t low_mask = 0;
    // A rule: the index of its result. An if-block: the first rule after its endif.
    uint32_t next = 0;
    uint8_t family = 0;
    bool negate = false;
    bool is_block = false;

    // Postfix never matches across families, negated or not.
    bool matches(const IpAddress& key) const {
        if (key.family != family)
            return false;
        bool inside = (((key.high ^ high) & high_mask) | ((key.low ^ low) & low_mask)) == 0;
        return inside != negate;
    }
};

struct Network {
    IpAddress address;
    uint64_t high_mask = 0;
    uint64_t low_mask = 0;
    std::string notice;  // a warning that does not reject the rule
};

Network network_of(const IpAddress& address, unsigned prefix) {
    Network network{address, 0, 0, {}};
    if (address.family == 4) {
        network.low_mask = leading_ones(prefix, 32);
    } else {
        network.high_mask = leading_ones(prefix > 64 ? 64 : prefix, 64);
        network.low_mask = leading_ones(prefix > 64 ? prefix - 64 : 0, 64);
    }
    return network;
}

// Postfix reads a prefix length with atoi() into an unsigned char: the number saturates
// as strtol(3) does, then only its low 8 bits count, so "/280" is "/24". Kept, so that a
// table means what it meant to Postfix; Postern says so (see check_prefix).
unsigned postfix_prefix_length(std::string_view digits) {
    constexpr uint64_t kLongMax = 0x7fffffffffffffff;
    uint64_t value = 0;
    for (char digit : digits)
        value = value > (kLongMax - 9) / 10 ? kLongMax
                                            : value * 10 + static_cast<uint64_t>(digit - '0');
    return static_cast<unsigned>(value & 0xff);
}

std::string_view without_leading_zeros(std::string_view digits) {
    size_t first = digits.find_first_not_of('0');
    return first == std::string_view::npos ? std::string_view("0") : digits.substr(first);
}

// An address with a prefix length. `shown` is how messages quote the pattern.
Result<Network> parse_prefix(std::string_view address_text, std::string_view mask_text,
                             const std::string& shown) {
    std::string quoted = "\"" + shown + "\"";
    if (mask_text.empty() || mask_text.find_first_not_of("0123456789") != std::string_view::npos)
        return Error(ErrorKind::config, "bad mask value in " + quoted);
    unsigned total_bits = address_text.find(':') != std::string_view::npos ? 128 : 32;
    unsigned prefix = postfix_prefix_length(mask_text);
    if (prefix > total_bits)
        return Error(ErrorKind::config, "bad mask length in " + quoted);
    auto address = parse_address(address_text);
    if (!address)
        return Error(ErrorKind::config, "bad network value in " + quoted);
    Network network = network_of(*address, prefix);
    IpAddress base = *address;
    base.high &= network.high_mask;
    base.low &= network.low_mask;
    if (base.high != address->high || base.low != address->low)
        return Error(ErrorKind::config, "non-null host address bits in " + quoted +
                                            ", perhaps you should use \"" + format_address(base) +
                                            "/" + std::to_string(prefix) + "\" instead");
    if (without_leading_zeros(mask_text) != std::to_string(prefix))
        network.notice = "prefix length in " + quoted + " is taken as " + std::to_string(prefix) +
                         " (its value modulo 256), as Postfix does";
    return network;
}

// "address" or "address/prefix", split at the first '/'.
Result<Network> parse_network(std::string_view text) {
    size_t slash = text.find('/');
    if (slash != std::string_view::npos)
        return parse_prefix(text.substr(0, slash), text.substr(slash + 1), std::string(text));
    auto address = parse_address(text);
    if (!address)
        return Error(ErrorKind::config, "bad address pattern: \"" + std::string(text) + "\"");
    return network_of(*address, address->family == 4 ? 32 : 128);
}

// A pattern as written: "[address]/prefix", "[address/prefix]" or without brackets. With
// "[...]/prefix" everything inside the brackets is the address, as in Postfix.
Result<Network> parse_pattern(std::string_view pattern) {
    if (pattern.empty() || pattern.front() != '[')
        return parse_network(pattern);
    size_t close = pattern.find(']');
    if (close == std::string_view::npos)
        return Error(ErrorKind::config,
                     "missing ']' character after \"" + std::string(pattern) + "\"");
    std::string_view inside = pattern.substr(1, close - 1);
    std::string_view after = pattern.substr(close + 1);
    if (after.empty())
        return parse_network(inside);
    if (after.front() != '/')
        return Error(ErrorKind::config,
                     "garbage after \"" + std::string(pattern.substr(0, close + 1)) + "\"");
    return parse_prefix(inside, after.substr(1), std::string(inside) + std::string(after));
}

// Leading '!'s, each toggling negation, white space allowed after each.
bool strip_negation(std::string_view& text) {
    bool negate = false;
    while (!text.empty() && text.front() == '!') {
        negate = !negate;
        text = trim_left(text.substr(1));
    }
    return negate;
}

class CidrMap final : public Map {
  public:
    CidrMap(std::string name, MapFlag flags, std::vector<CidrRule> rules,
            std::vector<std::string> results)
        : Map("cidr", std::move(name), flags, MapKeyKind::pattern),
          rules_(std::move(rules)),
          results_(std::move(results)) {}

    void set_file(std::string path, FileIdentity identity) {
        path_ = std::move(path);
        identity_ = identity;
    }

    bool changed_on_disk() const override { return identity_ && identity_->changed(path_); }

  protected:
    Result<std::optional<std::string>> do_lookup(std::string_view key) override {
        auto address = parse_address(key);
        if (!address)
            return std::optional<std::string>();
        size_t i = 0;
        while (i < rules_.size()) {
            const CidrRule& rule = rules_[i];
            bool matched = rule.matches(*address);
            if (rule.is_block)
                i = matched ? i + 1 : rule.next;
            else if (matched)
                return std::optional<std::string>(results_[rule.next]);
            else
                ++i;
        }
        return std::optional<std::string>();
    }

  private:
    std::vector<CidrRule> rules_;
    std::vector<std::string> results_;
    std::string path_;
    std::optional<FileIdentity> identity_;
};

// Reads the logical lines of one table into rules, collecting Postfix's warnings.
class CidrParser {
  public:
    explicit CidrParser(std::string_view name) : name_(name) {}

    // One logical line, trailing white space removed. An empty one (a line that began
    // with a NUL byte) is a rule without a pattern, as Postfix sees it.
    void parse(int number, std::string_view text) {
        LeadingWord word = leading_word(text);
        if (equals_ignore_case(word.word, "endif"))
            parse_endif(number, word.rest);
        else if (equals_ignore_case(word.word, "if"))
            parse_if(number, word.rest);
        else
            parse_rule(number, text);
    }

    // Closes the blocks left open, innermost first, as Postfix reports them.
    void finish() {
        while (!open_blocks_.empty()) {
            warn(open_blocks_.back().first, "IF has no matching ENDIF");
            close_block();
        }
    }

    std::vector<std::string>& warnings() { return warnings_; }
    std::vector<CidrRule>& rules() { return rules_; }
    std::vector<std::string>& results() { return results_; }

  private:
    void warn(int number, const std::string& text) {
        warnings_.push_back("cidr map " + name_ + ", line " + std::to_string(number) + ": " + text);
    }
    void skip(int number, const std::string& text) { warn(number, text + ": skipping this rule"); }

    void close_block() {
        rules_[open_blocks_.back().second].next = static_cast<uint32_t>(rules_.size());
        open_blocks_.pop_back();
    }

    // Parses "[!...]pattern" into a rule; false (after a warning) when it is not one.
    bool make_rule(int number, std::string_view pattern, bool negate, CidrRule& rule) {
        if (pattern.empty()) {
            skip(number, "no address pattern");
            return false;
        }
        auto network = parse_pattern(pattern);
        if (!network) {
            skip(number, network.error().message());
            return false;
        }
        if (!network->notice.empty())
            warn(number, network->notice);
        rule.high = network->address.high;
        rule.low = network->address.low;
        rule.high_mask = network->high_mask;
        rule.low_mask = network->low_mask;
        rule.family = network->address.family;
        rule.negate = negate;
        return true;
    }

    void parse_endif(int number, std::string_view rest) {
        if (!trim(rest).empty())
            return skip(number, "garbage after ENDIF");
        if (open_blocks_.empty())
            return skip(number, "ENDIF without IF");
        close_block();
    }

    void parse_if(int number, std::string_view rest) {
        std::string_view pattern = trim(rest);
        bool negate = strip_negation(pattern);
        CidrRule rule;
        if (!make_rule(number, pattern, negate, rule))
            return;
        rule.is_block = true;
        open_blocks_.emplace_back(number, rules_.size());
        rules_.push_back(rule);
    }

    void parse_rule(int number, std::string_view text) {
        bool negate = strip_negation(text);
        size_t end = text.find_first_of(kWhiteSpace);
        std::string_view pattern = text.substr(0, end);
        std::string_view result =
            end == std::string_view::npos ? std::string_view() : trim(text.substr(end));
        CidrRule rule;
        if (!make_rule(number, pattern, negate, rule))
            return;
        if (result.empty())
            return skip(number, "no lookup result");
        rule.next = static_cast<uint32_t>(results_.size());
        results_.emplace_back(result);
        rules_.push_back(rule);
    }

    std::string name_;
    std::vector<CidrRule> rules_;
    std::vector<std::string> results_;
    std::vector<std::string> warnings_;
    std::vector<std::pair<int, size_t>> open_blocks_;  // line number, rule index
};

}  // namespace

PatternTableBuild build_cidr_map(std::string_view name, std::string_view text, MapFlag flags) {
    CidrParser parser(name);
    auto warn = [&parser](const std::string& warning) { parser.warnings().push_back(warning); };
    for (const SourceLine& line : table_logical_lines(text, name, warn))
        parser.parse(line.line, trim_right(line.text));
    parser.finish();
    PatternTableBuild build;
    build.map = std::make_unique<CidrMap>(std::string(name), flags, std::move(parser.rules()),
                                          std::move(parser.results()));
    build.warnings = std::move(parser.warnings());
    return build;
}

MapOpenResult open_cidr_map(std::string_view name, const MapOpenOptions& options) {
    if (options.access != MapAccess::read_only)
        return Error(ErrorKind::config,
                     "cidr:" + std::string(name) + " map requires O_RDONLY access mode");
    auto source = load_pattern_table("cidr", name);
    if (!source)
        return source.error();
    PatternTableBuild build = build_cidr_map(name, source->text, options.flags);
    for (const std::string& warning : build.warnings)
        log_warning("%s", warning.c_str());
    if (source->identity)
        static_cast<CidrMap&>(*build.map).set_file(std::string(name), *source->identity);
    return std::move(build.map);
}

}  // namespace postern
