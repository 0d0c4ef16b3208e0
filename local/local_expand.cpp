// Per-recipient $name expansion; see local_expand.hpp.
#include "local/local_expand.hpp"

#include <map>
#include <optional>

#include "config/expand.hpp"

namespace postern::local {

namespace {

std::string filtered(std::string_view value, std::string_view filter) {
    std::string out(value);
    for (char& c : out)
        if (filter.find(c) == std::string_view::npos)
            c = '_';
    return out;
}

// The recipient's attributes as the expander's parameter source, filtered once.
class AttributeSource final : public ParameterSource {
  public:
    AttributeSource(const RecipientAttributes& a, std::string_view filter) {
        const std::pair<const char*, const std::string*> names[] = {
            {"user", &a.user},           {"home", &a.home},
            {"shell", &a.shell},         {"recipient", &a.recipient},
            {"extension", &a.extension}, {"domain", &a.domain},
            {"local", &a.local},         {"recipient_delimiter", &a.recipient_delimiter},
        };
        for (const auto& [name, value] : names)
            values_[name] = filtered(*value, filter);
    }
    std::optional<std::string_view> raw_value(std::string_view name) const override {
        auto found = values_.find(name);
        if (found == values_.end())
            return std::nullopt;
        return std::string_view(found->second);
    }

  private:
    std::map<std::string, std::string, std::less<>> values_;
};

}  // namespace

Result<std::string> expand_for_recipient(std::string_view pattern,
                                         const RecipientAttributes& attributes,
                                         std::string_view filter) {
    AttributeSource source(attributes, filter);
    ExpandOptions options;
    options.recursive = false;  // a value is never expanded again: it came from the network
    return expand_value(pattern, source, options);
}

}  // namespace postern::local
