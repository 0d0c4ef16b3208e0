#!/usr/bin/env python3
"""hash: and btree: files shared with real Postfix 3.7: each side reads what the other wrote.

Every program under test speaks postmap(1)'s command line: real Postfix's /usr/sbin/postmap
(the reference) and each Postern program given as an argument (tests/maps/db_tool until
tools/postmap exists, then both). For every table type, NUL convention (default, -N, -n)
and case mode (default folding, -f), a table is built by each writer and read by each
reader (and a Postern-built table is then changed by Postfix's postmap -i and -d); every reader's answers (postmap -q for hits, misses and other-case variants of
each key; postmap -s, compared sorted since a hash scans in hash order) must equal what
Postfix answers from a table Postfix built. Build warnings (duplicate entries, malformed
lines) must be Postfix's, and so must the messages about a missing table and a table older
than its source. Values postmap's input cannot hold (an empty value) are written with the
Postern program's -T option and must read back identically through Postfix.

Usage: maps_db_compat_test.py PROGRAM [PROGRAM...]
Exits 77 (meson: skipped) when real Postfix is not installed.
"""
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time

POSTFIX_POSTMAP = "/usr/sbin/postmap"
PROGRAM_PREFIX = re.compile(r"^\S*?(postmap|db_tool): ", re.MULTILINE)

SOURCE = """\
# smtp_sasl_password_maps, transport and access entries
[smtp.example.com]:587 user@example.com:secret
Key1 value one
KEY1 value upper
key2\tvalue  with   spaces\tand a tab
MixedCase@Example.COM OK
continued first
  second part
noval
utf8 välue ünïcode
@example.org\tREJECT go away
long """ + "x" * 5000 + "\n" + "".join(f"generated{i} value {i * 7}\n" for i in range(1500))

MISSES = ["nokey", "key", "key1 ", "[smtp.example.com]", "generated1500", "continued first"]
SINGLE_QUERIES = ["[smtp.example.com]:587", "Key1", "key1", "KEY1", "key2", "MixedCase@Example.COM",
                  "mixedcase@example.com", "continued", "utf8", "long", "noval", "nokey"]

failures = []


def check(condition, message):
    if not condition:
        failures.append(message)
        print("FAIL: " + message, file=sys.stderr)


class Postmap:
    """A program with postmap's command line, run in the test's work directory."""

    def __init__(self, name, path, config_dir):
        self.name = name
        self.path = path
        self.config_dir = config_dir

    def run(self, args, cwd, stdin=""):
        env = dict(os.environ, MAIL_CONFIG=self.config_dir)
        result = subprocess.run([self.path, "-c", self.config_dir] + args, cwd=cwd, env=env,
                                input=stdin.encode(), capture_output=True, timeout=120)
        stderr = PROGRAM_PREFIX.sub("postmap: ", result.stderr.decode("utf-8", "replace"))
        return result.returncode, result.stdout.decode("utf-8", "replace"), stderr


def query_keys():
    """Every key of SOURCE in its own case, lower and upper case, and some misses."""
    keys = []
    for line in SOURCE.splitlines():
        if line and not line[0].isspace() and not line.startswith("#"):
            key = re.split(r"[ \t]", line, maxsplit=1)[0]
            keys += [key, key.lower(), key.upper()]
    return sorted(set(keys)) + MISSES


def answers(reader, spec, read_flags, cwd):
    """What `reader` answers from the table: every key at once (postmap -q - reads keys
    from stdin), some keys one by one (output and exit status of -q), then the scan."""
    result = {"-q -": reader.run(read_flags + ["-q", "-", spec], cwd,
                                 stdin="".join(key + "\n" for key in query_keys()))}
    for key in SINGLE_QUERIES:
        result["-q " + key] = reader.run(read_flags + ["-q", key, spec], cwd)
    status, out, err = reader.run(read_flags + ["-s", spec], cwd)
    result["-s"] = (status, sorted(out.splitlines()), err)
    return result


def compare(reference, actual, label):
    for query, expected in reference.items():
        check(actual.get(query) == expected,
              f"{label}: {query}: expected {expected!r:.300}, got {actual.get(query)!r:.300}")


def build(writer, spec, build_flags, cwd, source=SOURCE, mode=0o644):
    name = spec.split(":", 1)[1]
    with open(os.path.join(cwd, name), "w") as f:
        f.write(source)
    os.chmod(os.path.join(cwd, name), mode)
    return writer.run(build_flags + [spec], cwd)


def check_tables(postfix, programs, work):
    """Every writer's table, read by every reader, answers as Postfix's own does."""
    writers = [postfix] + programs
    for table_type in ("hash", "btree"):
        for nul_flags in ([], ["-N"], ["-n"]):
            for fold_flags in ([], ["-f"]):
                build_flags = nul_flags + fold_flags
                label = f"{table_type} {' '.join(build_flags) or '(default)'}"
                spec = f"{table_type}:table"
                tables = {}
                for writer in writers:
                    cwd = os.path.join(work, f"{writer.name}-{table_type}{''.join(build_flags)}")
                    os.makedirs(cwd)
                    tables[writer.name] = (cwd, build(writer, spec, build_flags, cwd))
                reference_build = tables[postfix.name][1]
                check(reference_build[0] == 0, f"{label}: postfix build failed: {reference_build}")
                for writer in programs:
                    check(tables[writer.name][1] == reference_build,
                          f"{label}: {writer.name} build: expected {reference_build!r}, "
                          f"got {tables[writer.name][1]!r}")
                # Read trying both conventions (as daemons do), and each one alone: a table
                # must hold exactly the convention Postfix's would.
                for read_flags in ([], ["-N"], ["-n"]):
                    read_flags = read_flags + fold_flags
                    reference = answers(postfix, spec, read_flags, tables[postfix.name][0])
                    for writer in writers:
                        for reader in writers:
                            if writer is postfix and reader is postfix:
                                continue
                            actual = answers(reader, spec, read_flags, tables[writer.name][0])
                            compare(reference, actual,
                                    f"{label}, read {' '.join(read_flags) or '(default)'}: "
                                    f"{writer.name} wrote, {reader.name} read")


def check_empty_values(postfix, program, work):
    """Values postmap cannot express, written by Postern, as Postfix reads them."""
    for table_type in ("hash", "btree"):
        cwd = os.path.join(work, f"empty-{program.name}-{table_type}")
        os.makedirs(cwd)
        spec = f"{table_type}:literal"
        status, _, err = build(program, spec, ["-T"], cwd,
                               source="empty\t\nspaced\t  two  spaces  \nplain\tvalue\n")
        check(status == 0, f"{program.name} -T build failed: {err}")
        status, out, _ = postfix.run(["-s", spec], cwd)
        check(status == 0 and sorted(out.splitlines()) ==
              ["empty\t", "plain\tvalue", "spaced\t  two  spaces  "],
              f"{table_type}: postfix -s of {program.name}'s literal table: {out!r}")
        for key, expected in (("empty", ""), ("spaced", "  two  spaces  "), ("plain", "value")):
            for reader in (postfix, program):
                status, out, _ = reader.run(["-q", key, spec], cwd)
                check((status, out) == (0, expected + "\n"),
                      f"{table_type}: {reader.name} -q {key}: {(status, out)!r}")


def check_messages(postfix, program, work):
    """A missing table and a table older than its source: Postfix's words."""
    cwd = os.path.join(work, f"messages-{program.name}")
    os.makedirs(cwd)
    for spec in ("hash:missing", "btree:missing"):
        expected = postfix.run(["-q", "x", spec], cwd)
        actual = program.run(["-q", "x", spec], cwd)
        check(actual == expected, f"{program.name} -q x {spec}: expected {expected}, got {actual}")
    build(postfix, "hash:stale", [], cwd, source="a 1\n")
    now = time.time()
    os.utime(os.path.join(cwd, "stale.db"), (now - 1000, now - 1000))
    os.utime(os.path.join(cwd, "stale"), (now - 500, now - 500))
    expected = postfix.run(["-q", "a", "hash:stale"], cwd)
    check("older than source file" in expected[2], f"postfix did not warn: {expected}")
    actual = program.run(["-q", "a", "hash:stale"], cwd)
    check(actual == expected, f"{program.name} stale table: expected {expected}, got {actual}")


def check_updated_by_postfix(postfix, program, work):
    """A table Postern built, changed in place by Postfix's postmap -i and -d, still reads
    the same through both."""
    for table_type in ("hash", "btree"):
        cwd = os.path.join(work, f"updated-{program.name}-{table_type}")
        os.makedirs(cwd)
        spec = f"{table_type}:table"
        build(program, spec, [], cwd)
        status, _, err = postfix.run(["-i", spec], cwd, stdin="Added new value\nkey1 replaced\n")
        check(status == 0, f"postfix -i on {program.name}'s {table_type} table: {err}")
        status, _, err = postfix.run(["-d", "key2", spec], cwd)
        check(status == 0, f"postfix -d on {program.name}'s {table_type} table: {err}")
        for read_flags in ([], ["-N"], ["-n"]):
            reference = answers(postfix, spec, read_flags, cwd)
            compare(reference, answers(program, spec, read_flags, cwd),
                    f"{table_type} updated by postfix, read {' '.join(read_flags) or '(default)'}: "
                    f"{program.name} read")


def check_modes(postfix, program, work):
    """The new table's mode, from the source's, and an existing table's mode kept."""
    for source_mode in (0o600, 0o640, 0o644):
        modes = {}
        for writer in (postfix, program):
            cwd = os.path.join(work, f"mode-{program.name}-{writer.name}-{source_mode:o}")
            os.makedirs(cwd)
            build(writer, "hash:table", [], cwd, source="a 1\n", mode=source_mode)
            first = stat.S_IMODE(os.stat(os.path.join(cwd, "table.db")).st_mode)
            os.chmod(os.path.join(cwd, "table.db"), 0o600)
            build(writer, "hash:table", [], cwd, source="a 2\n", mode=0o644)
            kept = stat.S_IMODE(os.stat(os.path.join(cwd, "table.db")).st_mode)
            modes[writer.name] = (oct(first), oct(kept))
        check(modes[program.name] == modes[postfix.name],
              f"modes for a {source_mode:o} source: postfix {modes[postfix.name]}, "
              f"{program.name} {modes[program.name]}")


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    if not os.access(POSTFIX_POSTMAP, os.X_OK):
        print("real Postfix is not installed: skipped", file=sys.stderr)
        return 77
    with tempfile.TemporaryDirectory(prefix="postern-db-compat-") as work:
        config_dir = os.path.join(work, "config")
        os.makedirs(config_dir)
        open(os.path.join(config_dir, "main.cf"), "w").close()
        postfix = Postmap("postfix", POSTFIX_POSTMAP, config_dir)
        programs = [Postmap(f"{os.path.basename(path)}{index}", os.path.abspath(path), config_dir)
                    for index, path in enumerate(sys.argv[1:])]
        check_tables(postfix, programs, work)
        for program in programs:
            if os.path.basename(program.path) == "db_tool":
                check_empty_values(postfix, program, work)
            check_messages(postfix, program, work)
            check_updated_by_postfix(postfix, program, work)
            check_modes(postfix, program, work)
    if failures:
        print(f"{len(failures)} failures", file=sys.stderr)
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
