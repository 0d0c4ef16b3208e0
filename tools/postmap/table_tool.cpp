// postmap and postalias: settings, and the modes that read tables (-q, -d, -s). The build
// mode is in table_build.cpp.
#include "tools/postmap/table_tool.hpp"

#include <iostream>
#include <map>
#include <memory>
#include <optional>

#include "config/log_settings.hpp"
#include "tools/postmap/base64.hpp"
#include "tools/postmap/query_keys.hpp"
#include "tools/postmap/table_build.hpp"
#include "util/log.hpp"

namespace postern::table_tool {
namespace {

std::string required_setting(const Config& config, const char* name) {
    Result<std::string> value = config.get(name);
    if (!value)
        log_fatal(value.error());
    return *value;
}

// The tables of one run, opened when first needed and kept open: postmap opens them in
// order and stops at the first that answers, so a later table that does not exist is not
// an error when an earlier one has the key.
class OpenTables {
  public:
    OpenTables(const Options& options, const Settings& settings, MapAccess access)
        : options_(options), settings_(settings), access_(access) {}

    size_t size() const { return options_.tables.size(); }
    Result<Map*> at(size_t index) {
        auto found = open_.find(index);
        if (found != open_.end())
            return found->second.get();
        MapOpenOptions open;
        open.access = access_;
        open.flags = lookup_flags(options_, settings_);
        Result<std::unique_ptr<Map>> map =
            open_map(table_spec(options_.tables[index], settings_), open);
        if (!map)
            return map.error();
        return open_.emplace(index, std::move(*map)).first->second.get();
    }
    Status commit_all() {
        for (auto& [index, map] : open_)
            if (Status committed = map->commit(); !committed)
                return committed;
        return {};
    }

  private:
    const Options& options_;
    const Settings& settings_;
    MapAccess access_;
    std::map<size_t, std::unique_ptr<Map>> open_;
};

// Postfix names a hash: or btree: table by its file in these messages.
std::string base64_table_name(const Map& map) {
    const MapTypeInfo* info = find_map_type(map.type());
    return map.spec() + (info != nullptr && info->file_suffix_db ? ".db" : "");
}

// The value as printed: -F decodes it. nullopt (after the warning) when it is malformed.
std::optional<std::string> printable_value(const Options& options, const Map& map,
                                           std::string_view key, std::string value) {
    if (!options.base64)
        return value;
    std::optional<std::string> decoded = base64_decode(value);
    if (!decoded)
        log_warning("table %s: key %s: malformed BASE64 value: %s", base64_table_name(map).c_str(),
                    std::string(key).c_str(), value.c_str());
    return decoded;
}

// The first table's answer for `key`, nullopt when none has it.
Result<std::optional<std::string>> query_one(const Options& options, OpenTables& tables,
                                             const std::string& key) {
    for (size_t i = 0; i < tables.size(); ++i) {
        Result<Map*> map = tables.at(i);
        if (!map)
            return map.error();
        Result<std::optional<std::string>> found = (*map)->lookup(key);
        if (!found || !found->has_value())
            return found;
        std::optional<std::string> value = printable_value(options, **map, key, std::move(**found));
        if (!value)
            return Error(ErrorKind::corrupt, "table " + base64_table_name(**map) + ": query error");
        return value;
    }
    return std::optional<std::string>();
}

QueryKeys keys_from_stdin(const Options& options) {
    if (options.header_keys || options.body_keys)
        return QueryKeys(std::cin, QueryKeys::Kind::message, options.header_keys,
                         options.body_keys);
    return QueryKeys(std::cin, QueryKeys::Kind::lines);
}

Result<int> run_query(const Personality& personality, const Options& options,
                      const Settings& settings) {
    OpenTables tables(options, settings, MapAccess::read_only);
    if (options.key != "-") {
        Result<std::optional<std::string>> value = query_one(options, tables, options.key);
        if (!value)
            return value.error();
        if (value->has_value())
            std::cout << **value << '\n';
        return value->has_value() ? 0 : 1;
    }
    bool found_any = false;
    QueryKeys keys = keys_from_stdin(options);
    std::string key;
    while (keys.next(key)) {
        Result<std::optional<std::string>> value = query_one(options, tables, key);
        if (!value)
            return value.error();
        if (!value->has_value())
            continue;
        std::cout << key << personality.key_separator << **value << '\n';
        found_any = true;
    }
    return found_any ? 0 : 1;
}

// Removes `key` from every table (one entry per table); true when any had it.
Result<bool> remove_one(OpenTables& tables, const std::string& key) {
    bool found = false;
    for (size_t i = 0; i < tables.size(); ++i) {
        Result<Map*> map = tables.at(i);
        if (!map)
            return map.error();
        Result<bool> removed = (*map)->remove(key);
        if (!removed)
            return removed.error();
        found = found || *removed;
    }
    return found;
}

Result<int> run_remove(const Options& options, const Settings& settings) {
    OpenTables tables(options, settings, MapAccess::read_write);
    bool found = false;
    auto remove = [&](const std::string& key) -> Status {
        Result<bool> removed = remove_one(tables, key);
        if (!removed)
            return removed.error();
        found = found || *removed;
        return {};
    };
    if (options.key != "-") {
        if (Status status = remove(options.key); !status)
            return status.error();
    } else {
        QueryKeys keys(std::cin, QueryKeys::Kind::lines);
        std::string key;
        while (keys.next(key))
            if (Status status = remove(key); !status)
                return status.error();
    }
    if (Status committed = tables.commit_all(); !committed)
        return committed.error();
    return found ? 0 : 1;
}

// Postfix lists the first table only.
Result<int> run_sequence(const Personality& personality, const Options& options,
                         const Settings& settings) {
    OpenTables tables(options, settings, MapAccess::read_only);
    Result<Map*> map = tables.at(0);
    if (!map)
        return map.error();
    Status listed = (*map)->for_each([&](std::string_view key, std::string_view value) -> Status {
        std::optional<std::string> shown = printable_value(options, **map, key, std::string(value));
        if (shown)
            std::cout << key << personality.key_separator << *shown << '\n';
        return {};
    });
    if (!listed)
        return listed.error();
    return 0;
}

// -q, -d or -s; the tables are closed before a fatal error is reported.
Result<int> run_reading_mode(const Personality& personality, const Options& options,
                             const Settings& settings) {
    switch (options.mode) {
        case Mode::query:
            return run_query(personality, options, settings);
        case Mode::remove:
            return run_remove(options, settings);
        case Mode::sequence:
            return run_sequence(personality, options, settings);
        case Mode::build:
            break;
    }
    return Error(ErrorKind::config, "not a reading mode");
}

}  // namespace

void usage(const Personality& personality) {
    log_fatal("usage: %s", personality.usage);
}

Settings load_settings(const Personality& personality, const Options& options) {
    LogSettings early;
    early.program = personality.program;
    early.also_stderr = true;
    early.verbose = options.verbose;
    (void)log_init(early);  // until main.cf names the syslog settings
    Result<Config> loaded = Config::load(options.config_directory);
    if (!loaded)
        log_fatal(loaded.error());
    Config& config = *loaded;
    config.set_override("config_directory", options.config_directory);
    LogSettings logging = log_settings_from_config(config, personality.program);
    logging.also_stderr = true;
    logging.verbose = options.verbose;
    if (Status started = log_init(logging); !started)
        log_fatal(started.error());
    for (const std::string& warning : config.main_cf().warnings)
        log_warning("%s", warning.c_str());
    Settings settings;
    settings.default_database_type = required_setting(config, "default_database_type");
    Result<bool> smtputf8 = config.get_boolean("smtputf8_enable");
    if (!smtputf8)
        log_fatal(smtputf8.error());
    settings.smtputf8 = *smtputf8;
    settings.myhostname = required_setting(config, "myhostname");
    settings.alias_database = required_setting(config, "alias_database");
    return settings;
}

int run(const Personality& personality, const Options& options, const Settings& settings) {
    if (options.mode != Mode::build) {
        Result<int> status = run_reading_mode(personality, options, settings);
        if (!status)
            log_fatal(status.error());
        return *status;
    }
    for (const std::string& table : options.tables)
        build_table(personality, options, settings, table);
    return 0;
}

}  // namespace postern::table_tool
