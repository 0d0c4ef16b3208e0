// postfix check: the configuration. master.cf must parse and define each service once
// (fatal: master would refuse to start); its commands must exist in daemon_directory; every
// main.cf and `-o` setting must be used and every $name defined (the warnings postconf
// prints, from lib/config/parameter_usage); and each hash:, btree: or lmdb: table must have
// a database file at least as new as its source, or the daemons use stale data.
//
// Each message names the file and line it is about, in that file's own error format.
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <set>

#include "config/master_cf.hpp"
#include "config/parameter_usage.hpp"
#include "tools/postfix/postfix.hpp"
#include "util/strings.hpp"

namespace postern::postfix {
namespace {

std::string master_cf_path(const Instance& instance) {
    return instance.config_directory + "/master.cf";
}

std::string master_cf_place(const MasterCf& master_cf, const MasterCfEntry& entry) {
    return "file " + master_cf.path + ": line " + std::to_string(entry.first_line);
}

// ---- daemon programs ----

void check_daemon_programs(const Instance& instance, const MasterCf& master_cf,
                           CheckReport& report) {
    for (const MasterCfEntry& entry : master_cf.entries) {
        const std::string& program = entry.program();
        std::string path =
            program.starts_with("/") ? program : instance.daemon_directory + "/" + program;
        struct stat info {};
        std::string problem;
        if (::stat(path.c_str(), &info) != 0)
            problem = std::strerror(errno);
        else if (!S_ISREG(info.st_mode) || (info.st_mode & 0111) == 0)
            problem = "not an executable file";
        if (!problem.empty())
            report.warn(master_cf_place(master_cf, entry) + ": service " + entry.key() +
                        ": unknown daemon command \"" + program + "\": " + path + ": " + problem);
    }
}

// ---- lookup tables ----

struct TableFile {
    std::string type;    // hash, btree or lmdb
    std::string source;  // the text file postmap reads
    std::string place;   // where the table is named, "" for a default
};

std::string database_path(const TableFile& table) {
    return table.source + (table.type == "lmdb" ? ".lmdb" : ".db");
}

// The indexed tables named in a value, after expansion: hash:/path, proxy:btree:/path...
// Tables with a relative name depend on the reader's directory and are left out.
void collect_tables(std::string_view value, const ParameterSource& scope, const std::string& place,
                    std::vector<TableFile>& out) {
    Result<std::string> expanded = expand_value(value, scope);
    if (!expanded)
        return;  // the parameter usage check reports the syntax error
    for (std::string_view token : split_list(*expanded, ", \t\r\n{}()")) {
        for (std::string_view type : {"hash", "btree", "lmdb"}) {
            std::string prefix = std::string(type) + ":";
            size_t at = token.find(prefix);
            if (at == std::string_view::npos || (at > 0 && token[at - 1] != ':'))
                continue;
            std::string_view source = token.substr(at + prefix.size());
            if (source.starts_with("/"))
                out.push_back({std::string(type), std::string(source), place});
        }
    }
}

bool newer(const struct timespec& a, const struct timespec& b) {
    return a.tv_sec != b.tv_sec ? a.tv_sec > b.tv_sec : a.tv_nsec > b.tv_nsec;
}

void check_table(const TableFile& table, CheckReport& report) {
    std::string database = database_path(table);
    std::string prefix = table.place.empty() ? "" : table.place + ": ";
    struct stat source {};
    if (::stat(table.source.c_str(), &source) != 0)
        return;  // built elsewhere, or not used: nothing to compare
    struct stat indexed {};
    if (::stat(database.c_str(), &indexed) != 0)
        report.warn(prefix + "open database " + database + ": " + std::strerror(errno));
    else if (newer(source.st_mtim, indexed.st_mtim))
        report.warn(prefix + "database " + database + " is older than source file " + table.source);
}

// The main.cf entries in force: the last one for each name.
std::vector<const MainCfEntry*> effective_entries(const MainCf& main_cf) {
    std::vector<const MainCfEntry*> kept;
    std::set<std::string_view> seen;
    for (auto it = main_cf.entries.rbegin(); it != main_cf.entries.rend(); ++it)
        if (seen.insert(it->name).second)
            kept.insert(kept.begin(), &*it);
    return kept;
}

void check_tables(const Config& config, const MasterCf& master_cf, CheckReport& report) {
    std::vector<TableFile> tables;
    for (const MainCfEntry* entry : effective_entries(config.main_cf()))
        collect_tables(entry->value, config,
                       config.main_cf_path() + ", line " + std::to_string(entry->line), tables);
    for (const MasterCfEntry& entry : master_cf.entries)
        for (const MasterCfParameter& parameter : entry.parameters)
            collect_tables(parameter.value, ServiceScope(entry, config),
                           master_cf_place(master_cf, entry), tables);
    if (!config.explicit_value("alias_database"))
        collect_tables(config.raw_value("alias_database").value_or(""), config, "", tables);
    std::set<std::string> checked;
    for (const TableFile& table : tables)
        if (checked.insert(database_path(table)).second)
            check_table(table, report);
}

Result<MasterCf> read_instance_master_cf(const Instance& instance) {
    return read_master_cf(master_cf_path(instance));
}

}  // namespace

void check_master_cf_fatal(const Instance& instance, CheckReport& report) {
    std::string path = master_cf_path(instance);
    struct stat info {};
    if (::stat(path.c_str(), &info) != 0 || !S_ISREG(info.st_mode)) {
        report.fatal("no " + path + " file found");
        return;
    }
    Result<MasterCf> master_cf = read_instance_master_cf(instance);
    if (!master_cf) {
        report.fatal(master_cf.error().message());
        return;
    }
    if (Status unique = check_unique_services(*master_cf); !unique)
        report.fatal(unique.error().message());
}

void check_configuration_warn(const Instance& instance, CheckReport& report) {
    Result<MasterCf> master_cf = read_instance_master_cf(instance);
    if (!master_cf)
        return;  // check_master_cf_fatal said why
    for (const std::string& warning : master_cf->warnings)
        report.warn(warning);
    Config config = instance.config;
    for (const MasterCfEntry& entry : master_cf->entries)
        config.add_service_parameters(service_parameters(entry.service, entry.program()));
    check_daemon_programs(instance, *master_cf, report);
    for (const ParameterUsageWarning& warning : check_parameter_usage(config, *master_cf))
        report.warn(warning.located_text());
    check_tables(config, *master_cf, report);
}

}  // namespace postern::postfix
