// The one parameter table: every main.cf parameter Postern knows, with Postfix 3.7's
// default expression, its type and a one-line description.
//
// Where it sits: lib/config. postconf -d/-n, the "unused parameter" warnings, the
// parameter docs and every daemon's typed reads come from here; nothing else declares a
// parameter. Defaults are kept unexpanded, exactly as Postfix prints them with postconf -d,
// and expanded at use time. Machine-dependent defaults (myhostname, mynetworks...) are
// computed by a function instead.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace postern {

class ParameterSource;

enum class ParamType : uint8_t {
    string,   // free text, possibly a list; expanded at use time
    boolean,  // yes or no
    integer,  // a decimal number
    time,     // a number with an optional unit s, m, h, d or w
    size,     // a number of bytes
};

// Computes a machine-dependent default; may consult other settings (mynetworks reads
// mynetworks_style).
using ComputedDefault = std::string (*)(const ParameterSource& settings);

struct ParameterInfo {
    std::string_view name;
    std::string_view default_value;  // unexpanded, as `postconf -d` prints it
    ParamType type = ParamType::string;
    char time_unit = 0;     // the unit of a bare number, for time parameters
    int64_t min_value = 0;  // for integer, time and size parameters;
    int64_t max_value = 0;  // 0/0 means no limit beyond the type's
    ComputedDefault computed = nullptr;
    std::string_view description;
    // Postfix never expands the value at configuration time: it holds $names that are
    // filled in later, per message or per client (smtpd_reject_footer, luser_relay...).
    bool raw = false;
};

// Every static parameter, sorted by name.
const std::vector<ParameterInfo>& parameter_table();
const ParameterInfo* find_parameter(std::string_view name);

// Parameters that exist once per master.cf service, such as
// smtp_destination_concurrency_limit: their names, derived from a master.cf service.
// `command` is the service's program (smtp, local, pipe...); the result is empty for
// services that get none.
struct ServiceParameter {
    std::string name;
    std::string default_value;
    ParamType type;
    char time_unit;
};
std::vector<ServiceParameter> service_parameters(std::string_view service_name,
                                                 std::string_view command);

}  // namespace postern
