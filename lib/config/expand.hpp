// $name expansion in main.cf values, as Postfix's macro syntax defines it.
//
// Where it sits: lib/config, used whenever a daemon or postconf -x asks for a value.
// Input is administrator-written but may be broken: every syntax error, an unterminated
// ${, an empty name, or recursion that never ends, becomes an Error, never a crash.
//
// Supported forms: $name ${name} $(name) $$ ${name?text} ${name:text}
// ${name?{text}:{text}} and the relational ${{text} op {text}?{t}:{f}} with
// op one of == != < <= > >= and the compatibility-level forms <level <=level >level >=level.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "util/result.hpp"

namespace postern {

// Where expansion looks up names: the unexpanded value, or nullopt when undefined.
class ParameterSource {
  public:
    virtual ~ParameterSource() = default;
    virtual std::optional<std::string_view> raw_value(std::string_view name) const = 0;
};

struct ExpandOptions {
    // Expand the values that names refer to, again (Postfix expands at use time).
    bool recursive = true;
    // Called for each name that is used but not defined (postconf warns about them).
    void (*on_undefined)(std::string_view name, void* context) = nullptr;
    void* context = nullptr;
};

inline constexpr int kMaxExpansionDepth = 100;

Result<std::string> expand_value(std::string_view text, const ParameterSource& source,
                                 const ExpandOptions& options = {});

// Compares two compatibility levels such as "3.6" and "2" component by component.
int compare_compatibility_levels(std::string_view a, std::string_view b);

}  // namespace postern
