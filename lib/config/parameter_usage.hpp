// Parameter usage: which main.cf and master.cf `-o` settings nothing uses, and which $names
// nothing defines. The source of postconf's "unused parameter" and "undefined parameter"
// warnings and of the same lines in `postfix check`.
//
// Where it sits: lib/config, over the parameter table, the main.cf and master.cf parsers and
// $name expansion. It only reads the parsed files (administrator input, trusted to be
// well meant but not well formed): a malformed $name reference is a warning, never an error.
//
// A name set in main.cf, or with `-o` in master.cf, is used when one of these holds:
//   - it is a known parameter (the parameter table, or a per-service parameter that a
//     master.cf service brings, such as relay_destination_concurrency_limit);
//   - it is referenced as $name, ${name} or $(name), in any form (${name?text},
//     ${name:text}, inside a relational ${{...}...}), from a main.cf value or a master.cf
//     `-o` value. A reference from a `-o` value is resolved in the same service's `-o`
//     names first, then in main.cf; a reference from main.cf in main.cf, then in any
//     service's `-o` names. Whether the referring parameter is itself used does not matter;
//   - it is a restriction class: an element of smtpd_restriction_classes (after expansion);
//   - it is a database client setting for a table named in some value: with `ldap:foo`,
//     `proxy:mysql:foo` and the like (a name that is not an absolute path), foo_ plus each
//     setting that table type reads (foo_server_host, foo_query, ...).
// A referenced or listed name that nothing defines is "undefined parameter: name".
// Postfix reports these in hash-table order, which changes from run to run; Postern keeps
// file order: master.cf undefined, main.cf undefined, main.cf unused, master.cf unused.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "config/master_cf.hpp"

namespace postern {

struct ParameterUsageWarning {
    enum class Kind {
        syntax,     // a malformed $name reference in a value
        undefined,  // a $name (or restriction class) that nothing defines
        unused,     // a setting that nothing uses
    };
    Kind kind = Kind::unused;
    std::string path;           // the main.cf or master.cf that holds the value
    bool in_master_cf = false;  // path is master.cf
    int line = 0;               // the logical line of the setting or of the reference
    std::string detail;         // "unused parameter: name=value", "undefined parameter: name"

    // As postconf prints it: "PATH: detail", a syntax error without the path.
    std::string text() const;
    // With the line, in the file's own error format: "PATH, line N: detail" for main.cf,
    // "file PATH: line N: detail" for master.cf.
    std::string located_text() const;
};

struct ParameterUsageOptions {
    bool report_main_cf_unused = true;  // postconf -M/-F/-P leave these out
    bool report_master_cf_unused = true;
};

// The warnings, in the order given above. `config` must already know the per-service
// parameters of `master_cf`'s services (Config::add_service_parameters).
std::vector<ParameterUsageWarning> check_parameter_usage(const Config& config,
                                                         const MasterCf& master_cf,
                                                         const ParameterUsageOptions& options = {});

// A master.cf service's `-o` values over main.cf: the settings that service runs with.
class ServiceScope final : public ParameterSource {
  public:
    ServiceScope(const MasterCfEntry& entry, const ParameterSource& outer)
        : entry_(entry), outer_(outer) {}
    std::optional<std::string_view> raw_value(std::string_view name) const override;

  private:
    const MasterCfEntry& entry_;
    const ParameterSource& outer_;
};

}  // namespace postern
