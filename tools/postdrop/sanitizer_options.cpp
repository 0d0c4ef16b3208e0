// Sanitizer builds only (meson -Dsanitize=true): LeakSanitizer cannot run in a set-gid
// process (the kernel makes it non-dumpable, so the leak checker cannot inspect it) and
// would fail every run of the installed, set-gid postdrop with a fatal error at exit. Leak
// checking stays on when postdrop runs without borrowed privileges (root, the unit tests).
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
extern "C" const char* __asan_default_options() {
    if (::getegid() != ::getgid() || ::geteuid() != ::getuid())
        return "detect_leaks=0";
    return "";
}
#endif
