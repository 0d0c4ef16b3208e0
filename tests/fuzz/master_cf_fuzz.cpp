// libFuzzer target: master.cf parsing and every typed accessor master will use.
// Input is an arbitrary master.cf; nothing it contains may crash, hang or leak.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "config/master_cf.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    auto parsed = postern::parse_master_cf(text, "fuzz/master.cf");
    if (!parsed)
        return 0;
    for (const auto& entry : parsed->entries) {
        (void)entry.type();
        (void)entry.is_private();
        (void)entry.is_unprivileged();
        (void)entry.is_chrooted();
        (void)entry.wakeup_seconds();
        (void)entry.wakeup_only_if_used();
        (void)entry.process_limit(100);
        (void)entry.process_name();
        (void)entry.command_line();
        (void)entry.exec_arguments();
        (void)entry.parameter("syslog_name");
    }
    return 0;
}
