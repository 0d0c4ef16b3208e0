// postfix: `postfix check` and the checks `postfix start` runs first, as postfix-script's
// check-fatal and check-warn: the fatal class stops a start, the warning class does not.
//
// Fatal: queue directories that cannot be created, a missing or malformed master.cf, a
// service defined twice, no master program, a failing postsuper queue check.
// Warnings: everything else (owners and modes, unused parameters, missing daemon programs,
// stale lookup tables...); see config_checks.cpp and file_checks.cpp.
//
// Unlike Postfix, `postfix check` does not create missing queue directories (it reports
// them), and exits 1 when it found any problem, warnings included.
#include "tools/postfix/postfix.hpp"
#include "util/log.hpp"

namespace postern::postfix {
namespace {

void create_missing_queue_directories(const Instance& instance, CheckReport& report) {
    QueueLayout layout = queue_layout_of(instance);
    Result<std::vector<std::string>> created = create_missing_directories(layout);
    if (!created) {
        report.fatal(created.error().message());
        report.fatal("unable to create missing queue directories");
        return;
    }
    for (const std::string& path : *created)
        log_debug(1, "created missing directory %s", path.c_str());
}

// Postfix runs postsuper with no arguments: it checks (and repairs) the names of the
// queue files. Skipped, as Postfix's script does, when command_directory has none.
void check_queue_files(const Instance& instance, CheckReport& report) {
    std::string postsuper = instance.command_directory + "/postsuper";
    if (!is_executable_file(postsuper))
        return;
    Result<int> status = run_program(postsuper, {});
    if (!status)
        report.fatal(status.error().message());
    else if (*status != 0)
        report.fatal(postsuper + " failed with exit status " + std::to_string(*status));
}

}  // namespace

void CheckReport::fatal(const std::string& text) {
    log_error("%s", text.c_str());
    ++fatal_count_;
}

void CheckReport::warn(const std::string& text) {
    log_warning("%s", text.c_str());
    ++warning_count_;
}

void check_fatal(const Instance& instance, bool create_missing, CheckReport& report) {
    if (create_missing)
        create_missing_queue_directories(instance, report);
    std::string master = instance.daemon_directory + "/master";
    if (!is_executable_file(master))
        report.fatal("no Postfix master program " + master + "!");
    check_master_cf_fatal(instance, report);
    if (!report.has_fatal())
        check_queue_files(instance, report);
}

void check_warn(const Instance& instance, CheckReport& report) {
    check_configuration_warn(instance, report);
    check_files_warn(instance, report);
}

int run_check(const Instance& instance) {
    CheckReport report;
    check_fatal(instance, false, report);
    check_warn(instance, report);
    return report.count() > 0 || instance.main_cf_warnings > 0 ? 1 : 0;
}

}  // namespace postern::postfix
