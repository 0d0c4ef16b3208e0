"""What every system test script shares: check() and the loop that runs its test_ functions.

A script defines test_* functions and ends with sys.exit(run_tests(globals(), SELECTED)),
SELECTED being the test names from its command line (all of them when empty). Every test
runs even after one fails; each failure is printed with its traceback, and the exit
status is 1 when any failed.
"""
import time
import traceback


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def run_tests(namespace, selected=()):
    tests = [value for name, value in sorted(namespace.items())
             if name.startswith("test_") and callable(value)]
    if selected:
        tests = [test for test in tests if test.__name__ in selected]
    failures = []
    for test in tests:
        started = time.monotonic()
        try:
            test()
            print(f"ok   {test.__name__} ({time.monotonic() - started:.1f}s)", flush=True)
        except Exception:  # noqa: BLE001 - every failure is reported, then the next runs
            failures.append(test.__name__)
            print(f"FAIL {test.__name__}\n{traceback.format_exc()}", flush=True)
    print(f"{len(tests) - len(failures)} passed, {len(failures)} failed")
    return 1 if failures else 0
