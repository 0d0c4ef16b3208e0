#!/usr/bin/env python3
"""Golden tests for postconf: Postern's output against output captured from real Postfix.

Layout: cases/<case>/main.cf and cases/<case>/master.cf are the inputs;
cases/<case>/commands lists one postconf invocation per line (the arguments after
`postconf -c .`); cases/<case>/expected/<n>.out holds what real Postfix 3.7 printed on
stdout for line n, and <n>.status its exit status. Lines of the form `name = value` whose
name is listed in machine_dependent.txt are dropped from both sides before comparing.

Usage: run.py POSTCONF CASES_DIR        compare (exit 1 on any difference)
       run.py --capture POSTCONF CASES_DIR   write expected/ from the given (real) postconf
"""
import difflib
import os
import shlex
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def machine_dependent_names():
    path = os.path.join(HERE, "machine_dependent.txt")
    with open(path) as f:
        return {line.strip() for line in f if line.strip() and not line.startswith("#")}


def filtered(text, names):
    kept = []
    for line in text.splitlines():
        name = line.split(" = ", 1)[0] if " = " in line else line.rstrip(" =")
        # Postern's own parameters (postern_dns_servers...) have no Postfix counterpart.
        if name in names or name.startswith("postern_"):
            continue
        kept.append(line)
    return kept


def run(postconf, case_dir, args):
    env = dict(os.environ)
    env.pop("MAIL_CONFIG", None)
    result = subprocess.run([postconf, "-c", "."] + args, cwd=case_dir, env=env,
                            capture_output=True, text=True, timeout=60)
    return result.stdout, result.returncode, result.stderr


def cases(cases_dir):
    for name in sorted(os.listdir(cases_dir)):
        path = os.path.join(cases_dir, name)
        if os.path.isfile(os.path.join(path, "commands")):
            yield name, path


def commands(case_dir):
    with open(os.path.join(case_dir, "commands")) as f:
        for number, line in enumerate(f, 1):
            if line.strip() and not line.startswith("#"):
                yield number, shlex.split(line)


def capture(postconf, cases_dir):
    for name, path in cases(cases_dir):
        expected = os.path.join(path, "expected")
        os.makedirs(expected, exist_ok=True)
        for number, args in commands(path):
            out, status, _ = run(postconf, path, args)
            with open(os.path.join(expected, f"{number}.out"), "w") as f:
                f.write(out)
            with open(os.path.join(expected, f"{number}.status"), "w") as f:
                f.write(f"{status}\n")
    return 0


def compare(postconf, cases_dir):
    names = machine_dependent_names()
    passed = failed = 0
    for name, path in cases(cases_dir):
        for number, args in commands(path):
            label = f"{name}: postconf -c . {' '.join(args)}"
            with open(os.path.join(path, "expected", f"{number}.out")) as f:
                want = f.read()
            with open(os.path.join(path, "expected", f"{number}.status")) as f:
                want_status = int(f.read())
            got, status, err = run(postconf, path, args)
            diff = list(difflib.unified_diff(filtered(want, names), filtered(got, names),
                                             "postfix", "postern", lineterm="", n=1))
            if diff or status != want_status:
                failed += 1
                print(f"FAIL {label} (status {status}, Postfix {want_status})")
                for line in diff[:40]:
                    print("    " + line)
                if err:
                    print("    stderr: " + err.strip()[:500])
            else:
                passed += 1
    print(f"postconf golden: {passed} passed, {failed} failed")
    return 1 if failed or not passed else 0


def main(argv):
    argv = [os.path.abspath(a) if i in (len(argv) - 2,) else a for i, a in enumerate(argv)]
    if len(argv) == 4 and argv[1] == "--capture":
        return capture(argv[2], argv[3])
    if len(argv) == 3:
        return compare(argv[1], argv[2])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
