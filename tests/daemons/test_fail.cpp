// test-fail: a daemon that exits with status 1 as soon as it starts, before it reports to
// master, as a daemon with a broken configuration would. master's throttling test
// (service_throttle_time) runs it; it reads nothing and needs no privileges.
#include <cstdio>

int main() {
    std::fputs("test-fail: fatal: exiting at start-up, as designed\n", stderr);
    return 1;
}
