#!/usr/bin/env python3
"""postconf -e/-X/-# and the unused/undefined parameter warnings, against Postfix 3.7.

Each case is a directory under postconf_edit/:
  args               the arguments after `postconf -c .`, in shell syntax (one line)
  main.cf, master.cf the files the case starts with (either may be absent)
  expected/main.cf   main.cf afterwards (absent: there must be no main.cf)
  expected/stderr    what postconf writes to stderr
  expected/status    its exit status
  NOTE               present when expected/ deliberately differs from what Postfix does,
                     saying why; --capture leaves such a case alone
The expected files were captured from real Postfix 3.7.11 with --capture; the test itself
needs no Postfix. stderr is compared after two normalisations: the program name (Postfix
prints argv[0]) becomes "postconf", and within a run of consecutive warnings of one kind
for one file ("./main.cf: unused parameter: ...") lines are sorted, since Postfix prints
those in hash-table order, which changes from run to run.

Usage: postconf_edit_test.py POSTCONF [CASES_DIR]
       postconf_edit_test.py --capture POSTCONF [CASES_DIR]
"""
import itertools
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_CASES = os.path.join(HERE, "postconf_edit")
PROGRAM = re.compile(r"^\S*postconf: ")


def run_case(postconf, case_dir):
    """Runs postconf on a copy of the case; returns (main.cf or None, stderr, status)."""
    with tempfile.TemporaryDirectory() as work:
        for name in ("main.cf", "master.cf"):
            source = os.path.join(case_dir, name)
            if os.path.exists(source):
                shutil.copyfile(source, os.path.join(work, name))
        with open(os.path.join(case_dir, "args")) as f:
            args = shlex.split(f.read())
        env = dict(os.environ)
        env.pop("MAIL_CONFIG", None)
        result = subprocess.run([os.path.abspath(postconf), "-c", "."] + args, cwd=work,
                                env=env, capture_output=True, timeout=60)
        main_cf = os.path.join(work, "main.cf")
        text = None
        if os.path.exists(main_cf):
            with open(main_cf, "rb") as f:
                text = f.read()
        return text, result.stderr.decode("utf-8", "replace"), result.returncode


def warning_kind(line):
    """'./main.cf: unused parameter' for a per-parameter warning, else the line itself."""
    match = re.match(r"^postconf: warning: (\S+: (?:unused|undefined) parameter): ", line)
    return match.group(1) if match else line


def normalised(stderr):
    lines = [PROGRAM.sub("postconf: ", line) for line in stderr.splitlines()]
    result = []
    for _, group in itertools.groupby(lines, key=warning_kind):
        result.extend(sorted(group))
    return result


def read(path, mode="r"):
    with open(path, mode) as f:
        return f.read()


def check_case(postconf, case_dir):
    """Returns a list of differences (empty when the case passes)."""
    text, stderr, status = run_case(postconf, case_dir)
    expected = os.path.join(case_dir, "expected")
    problems = []
    want_status = int(read(os.path.join(expected, "status")).strip())
    if status != want_status:
        problems.append("exit status %d, expected %d" % (status, want_status))
    want_stderr = normalised(read(os.path.join(expected, "stderr")))
    got_stderr = normalised(stderr)
    if got_stderr != want_stderr:
        problems.append("stderr:\n  expected: %r\n  got:      %r" % (want_stderr, got_stderr))
    main_cf = os.path.join(expected, "main.cf")
    want_text = read(main_cf, "rb") if os.path.exists(main_cf) else None
    if text != want_text:
        problems.append("main.cf:\n  expected: %r\n  got:      %r" % (want_text, text))
    return problems


def cases(cases_dir):
    for name in sorted(os.listdir(cases_dir)):
        path = os.path.join(cases_dir, name)
        if os.path.isfile(os.path.join(path, "args")):
            yield name, path


def capture(postconf, cases_dir):
    for name, path in cases(cases_dir):
        if os.path.exists(os.path.join(path, "NOTE")):
            print("kept %s (has a NOTE)" % name)
            continue
        text, stderr, status = run_case(postconf, path)
        expected = os.path.join(path, "expected")
        os.makedirs(expected, exist_ok=True)
        if os.path.exists(os.path.join(expected, "main.cf")):
            os.remove(os.path.join(expected, "main.cf"))
        if text is not None:
            with open(os.path.join(expected, "main.cf"), "wb") as f:
                f.write(text)
        with open(os.path.join(expected, "stderr"), "w") as f:
            f.write("".join(line + "\n" for line in normalised(stderr)))
        with open(os.path.join(expected, "status"), "w") as f:
            f.write("%d\n" % status)
        print("captured %s" % name)


def main(argv):
    if len(argv) >= 2 and argv[1] == "--capture":
        capture(argv[2], argv[3] if len(argv) > 3 else DEFAULT_CASES)
        return 0
    if len(argv) < 2:
        print(__doc__)
        return 2
    postconf = argv[1]
    cases_dir = argv[2] if len(argv) > 2 else DEFAULT_CASES
    passed = failed = 0
    for name, path in cases(cases_dir):
        problems = check_case(postconf, path)
        if problems:
            failed += 1
            print("FAIL %s (postconf -c . %s)" % (name, read(os.path.join(path, "args")).strip()))
            for problem in problems:
                print("  " + problem)
        else:
            passed += 1
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
