#!/usr/bin/env python3
"""Compares Postern's cidr: and regexp: tables with real Postfix, key by key.

Usage: maps_pattern_compat_test.py POSTMAP

POSTMAP is Postern's postmap (tools/postmap), run as `-c DIR -q KEY type:name` and as
`-q -` with the keys on stdin. For every table below (files and inline specifications)
and every key, the answer (stdout), the exit status and the warnings (stderr without the
"program: " prefix) must be the same as /usr/sbin/postmap's. Skipped (exit 77) when
Postfix is not installed.
"""
import os
import subprocess
import sys
import tempfile

POSTFIX_POSTMAP = "/usr/sbin/postmap"

CIDR_TABLE = """\
# Rule order matters. Put more specific allowlist entries
# before more general denylist entries.
192.168.1.1             OK
192.168.0.0/16          REJECT
2001:db8::1             OK6
2001:db8::/32           REJECT6
[10.0.0.0]/8            bracketed
[::1]/128               loopback6
[fe80::/10]             linklocal
::ffff:0:0/96           mapped
if 172.16.0.0/12
172.16.1.0/24           private-one
!172.16.2.0/24          private-not-two
IF !172.16.3.0/24
172.16.0.0/12           private-not-three
endif
endif
!!198.51.100.7          double-negation
! 203.0.113.0/24        not-doc-net    with   spaces
1.2.3.4/24              hostbits
300.1.1.1               bad
1.2.3.4/33              toolong
[1.2.3.4                unclosed
[1.2.3.0]/24/8          mask-garbage
[/!![::1]/128           brackets-first
9.9.9.9
8.8.8.8 first
   continued
endif junk
if 5.0.0.0/8
"""

CIDR_KEYS = [
    "192.168.1.1", "192.168.1.2", "192.169.0.0", "2001:db8::1", "2001:DB8::1",
    "2001:0db8:0000::2", "2001:db9::1", "10.1.2.3", "::1", "[::1]", "::2", "fe80::1",
    "FE80::abcd", "::ffff:1.2.3.4", "172.16.1.1", "172.16.2.1", "172.16.3.1",
    "172.16.4.1", "198.51.100.7", "203.0.113.5", "1.2.3.4", "8.8.8.8", "9.9.9.9",
    "5.5.5.5", "010.1.1.1", "1.2.3", "foo", "", " 1.2.3.4", "1.2.3.4 ", "[1.2.3.4]",
    "fe80::1%eth0", "1.2.3.4/32",
]

REGEXP_TABLE = """\
# Disallow sender-specified routing. This is a must if you relay mail
# for other domains.
/[%!@].*[%!@]/       550 Sender-specified routing rejected
/^postmaster@/       OK
if !/^owner-/
/^(.*)-outgoing@(.*)$/  550 Use ${1}@${2} instead
endif
/^(a)(b)?(c)?$/ [$1][$2][$3] $(1) ${1}$$
/^case$/i  sensitive
/^(CaSe)2$/  insensitive $1
/a+b/x  basic-plus
/^line$/m multi-line
|^pipe\\|bar$| escaped-delimiter
.^dot\\.x$. escaped-dot
!!/^double$/ double-negation
IF /^nest/
if ! /x$/
/^nest(.*)$/ nested:$1
ENDIF
EndIf
/^(((((((((((g)))))))))))$/ $10 ${11}
/^tab$/	tab	separated
/^cont$/ first
  second
/(a)/ $2
/(/ paren
/abc
/abc/q flagq
abc def
/x/ ${1
/(x)/ $0
!/(a)/ $1
if /i/ trailing
endif
endif junk
/^(.*)@example\\.(com|net)$/ local:$1 tld:$2
/^(two)/!/pattern$/ two-patterns:$1
/^trail\\
/(x)/ $a $0 $b ${c
"""

REGEXP_KEYS = [
    "user%host@example.com", "postmaster@example.com", "PostMaster@Example.COM",
    "list-outgoing@example.com", "owner-list-outgoing@example.com", "a", "ab", "ac", "abc",
    "case", "CASE", "case2", "CASE2", "a+b", "aab", "line", "pipe|bar", "pipexbar",
    "dot.x", "dotxx", "double", "nestle", "nestx", "g", "tab", "cont", "joe@example.com",
    "Joe@Example.NET", "joe@example.org", "", "x", "nothing", "two", "twopattern",
    "trailing",
]

INLINE_TABLES = [
    ("cidr", "{ {1.2.3.4 one}, {1.2.3.0/24 net},{::1 six}, {1.2.3.4/24 bad} }",
     ["1.2.3.4", "1.2.3.5", "::1", "1.2.4.1"]),
    ("regexp", "{ {/(a)(b)/ x$2}, {/a/ y},{if /c/}, {/d/ z$$}, {endif}, {/(q)/ $2} }",
     ["ab", "a", "cd", "d", "q"]),
    ("regexp", "{ /a/ y}", ["a"]),
    ("cidr", "{ {1.2.3.4 x", ["1.2.3.4"]),
]

# postmap's generic complaints about empty results are not the table's business.
IGNORED_WARNINGS = ("empty string result is not allowed", "should return NO RESULT")


def messages(stderr):
    """stderr lines without the "program: " prefix."""
    lines = []
    for line in stderr.splitlines():
        if any(ignored in line for ignored in IGNORED_WARNINGS):
            continue
        lines.append(line.split(": ", 1)[1] if ": " in line else line)
    return lines


def run(tool, config, key, spec, stdin=None):
    result = subprocess.run([tool, "-c", config, "-q", key, spec], input=stdin,
                            capture_output=True, text=True, timeout=60)
    return result.stdout, result.returncode, messages(result.stderr)


def compare(tool, config, spec, keys, failures):
    for key in keys:
        expected = run(POSTFIX_POSTMAP, config, key, spec)
        actual = run(tool, config, key, spec)
        if expected != actual:
            failures.append(f"{spec} key {key!r}:\n  postfix: {expected}\n  postern: {actual}")
    stdin = "".join(key + "\n" for key in keys)
    expected = run(POSTFIX_POSTMAP, config, "-", spec, stdin)
    actual = run(tool, config, "-", spec, stdin)
    if expected != actual:
        failures.append(f"{spec} -q - :\n  postfix: {expected}\n  postern: {actual}")


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    if not os.access(POSTFIX_POSTMAP, os.X_OK):
        print(f"{POSTFIX_POSTMAP} not installed: skipped")
        sys.exit(77)
    tool = sys.argv[1]
    failures = []
    with tempfile.TemporaryDirectory(prefix="postern-pattern-") as config:
        with open(os.path.join(config, "main.cf"), "w") as main_cf:
            main_cf.write("compatibility_level = 3.6\n")
        tables = [("cidr", "client.cidr", CIDR_TABLE, CIDR_KEYS),
                  ("regexp", "access.re", REGEXP_TABLE, REGEXP_KEYS)]
        for table_type, file_name, text, keys in tables:
            path = os.path.join(config, file_name)
            with open(path, "w") as table:
                table.write(text)
            compare(tool, config, f"{table_type}:{path}", keys, failures)
        missing = os.path.join(config, "missing.cidr")
        compare(tool, config, f"cidr:{missing}", ["1.2.3.4"], failures)
        for table_type, name, keys in INLINE_TABLES:
            compare(tool, config, f"{table_type}:{name}", keys, failures)
    for failure in failures:
        print(failure)
    print(f"{len(failures)} differences")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
