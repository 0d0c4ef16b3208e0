// Config: the settings one program runs with: main.cf, then master.cf `-o` overrides and
// command-line settings on top, with the parameter table's defaults underneath.
//
// Where it sits: lib/config. Daemons read typed values from here, never raw strings.
// Values are expanded at use time, as in Postfix, so `$myhostname` inside another value
// follows a later override of myhostname.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/expand.hpp"
#include "config/main_cf.hpp"
#include "config/parameter_table.hpp"
#include "util/result.hpp"

namespace postern {

class Config final : public ParameterSource {
  public:
    // The directory named by MAIL_CONFIG, else the compiled-in default.
    static std::string default_config_directory();
    // Reads `config_directory`/main.cf. A missing file is an error, as in Postfix.
    static Result<Config> load(const std::string& config_directory);
    // A configuration with no main.cf at all: only defaults (postconf -d, unit tests).
    static Config defaults_only();

    const MainCf& main_cf() const { return main_cf_; }
    std::string main_cf_path() const;

    // A setting that overrides main.cf (`-o name=value`, `postconf -c`).
    void set_override(std::string name, std::string value);
    // Registers the per-service parameters (smtp_destination_concurrency_limit...) that
    // master.cf's services bring with them.
    void add_service_parameters(const std::vector<ServiceParameter>& parameters);

    // The unexpanded value in force, or nullopt when the name is not defined anywhere.
    std::optional<std::string_view> raw_value(std::string_view name) const override;
    // Set by main.cf or an override.
    std::optional<std::string_view> explicit_value(std::string_view name) const;
    // The default from the table (computed ones included) or a service parameter.
    std::optional<std::string_view> default_value(std::string_view name) const;
    // In the parameter table or registered by a service.
    bool is_known(std::string_view name) const;
    // Every known name, sorted.
    std::vector<std::string> known_names() const;

    // Typed reads. Errors name the parameter and its value.
    Result<std::string> get(std::string_view name) const;
    Result<bool> get_boolean(std::string_view name) const;
    Result<int64_t> get_integer(std::string_view name) const;
    Result<int64_t> get_time_seconds(std::string_view name) const;
    Result<std::vector<std::string>> get_list(std::string_view name) const;

  private:
    Config() = default;
    Result<int64_t> checked_number(std::string_view name, int64_t value) const;

    MainCf main_cf_;
    std::map<std::string, std::string, std::less<>> main_cf_values_;
    std::map<std::string, std::string, std::less<>> overrides_;
    std::map<std::string, ServiceParameter, std::less<>> service_parameters_;
    // Computed defaults, filled on first use: they cost a system call or two.
    mutable std::map<std::string, std::string, std::less<>> computed_defaults_;
};

}  // namespace postern
