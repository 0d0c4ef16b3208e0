#!/usr/bin/env python3
"""postmap, postalias and newaliases side by side with real Postfix 3.7.

Every case runs the same command line, in the same relative file layout, once with
Postfix's program (/usr/sbin/postmap, /usr/sbin/postalias, /usr/bin/newaliases) and once
with Postern's, each in its own directory with the same minimal main.cf, and compares what
an administrator sees: standard output, standard error, the exit status, and the stored
tables (db5.3_dump -p: every key and value byte for byte, trailing NULs included). Tables
built by one implementation are read by the other. The seed's sasl_passwd sequence is run
as written; a rebuild loop checks that a reader never sees a half-built table.

Real Postfix is required: without it the test fails (it does not skip). Privilege cases
(the source file's owner, -o) need root and are skipped with a note otherwise.

Usage: maps_tools_test.py POSTMAP POSTALIAS NEWALIASES
"""
import os
import pwd
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
import time
import traceback

REAL = {
    "postmap": "/usr/sbin/postmap",
    "postalias": "/usr/sbin/postalias",
    "newaliases": "/usr/bin/newaliases",
}
DB_DUMP = "db5.3_dump"
MAIN_CF = "compatibility_level = 3.6\nmyhostname = mail.example.com\n"

# The seed's file, as the administrator's guide shows it.
SASL_PASSWD = """\
# Format of /etc/postfix/sasl_passwd (one line per relay):
# [hostname]:port username:password
[smtp.office365.com]:587 user@example.com:AppPassword123
[smtp.gmail.com]:587 user@gmail.com:app-specific-password
"""

ALIASES = b"""\
# /etc/aliases: continuation lines, quoted names, :include:, duplicates, bad lines
postmaster: root
MAILER-DAEMON: postmaster
Root:   Admin@Example.COM ,  other
"a b": x
"c:d" : y
list: one,
   two,
\tthree
staff: :include:/etc/postfix/staff.list
pipe: "|/usr/bin/procmail -a $EXTENSION", /var/mail/archive
dup: first
DUP: second
noval:
   # a comment inside the continuation
 cont
nocolon value
remote@example.com: x
"unterminated: z
trail:   spaced value   \r
\xc3\x89t\xc3\xa9: accent
bad-utf8: a\x80b
"@": user-at-sign
"""

CIDR_TABLE = """\
# client access by address
192.168.0.0/16 OK
10.0.0.1 REJECT blocked host
!10.0.0.0/8 DUNNO
[2001:db8::]/32 OK v6
1.2.3.4/8 bad host bits
"""

REGEXP_TABLE = """\
/^(.*)@example\\.com$/ OK $1
/^admin/i REJECT admin
if /^x/
/y$/ xy-rule
endif
/(/ broken
"""

failures = []
passes = 0


def note(text):
    print(text, flush=True)


def difference(real, postern):
    """What differs between two results, briefly: list items on one side only, or the
    differing fields of (status, stdout, stderr)."""
    if isinstance(real, list) and isinstance(postern, list):
        only_real = [item for item in real if item not in postern]
        only_postern = [item for item in postern if item not in real]
        return "  only real:    %r\n  only postern: %r" % (only_real[:20], only_postern[:20])
    if isinstance(real, tuple) and isinstance(postern, tuple) and len(real) == len(postern):
        return "\n".join("  [%d] real:    %r\n  [%d] postern: %r" % (i, a[:1500] if isinstance(a, bytes) else a, i, b[:1500] if isinstance(b, bytes) else b)
                         for i, (a, b) in enumerate(zip(real, postern)) if a != b)
    return "  real:    %r\n  postern: %r" % (real, postern)


def check(name, condition, detail=""):
    global passes
    if condition:
        passes += 1
    else:
        failures.append(name)
        note("FAIL: %s%s" % (name, ("\n" + detail) if detail else ""))


class Side:
    """One implementation's directory: etc/main.cf and the tables of the cases."""

    def __init__(self, label, programs, parent):
        self.label = label
        self.programs = programs
        self.root = os.path.join(parent, label)
        self.config = os.path.join(self.root, "etc")
        os.makedirs(self.config)
        os.chmod(self.root, 0o755)
        self.write("etc/main.cf", MAIN_CF)

    def path(self, name):
        return os.path.join(self.root, name)

    def write(self, name, content, mode=None):
        data = content.encode() if isinstance(content, str) else content
        with open(self.path(name), "wb") as f:
            f.write(data)
        if mode is not None:
            os.chmod(self.path(name), mode)

    def run(self, program, args, stdin=b"", env=None, config=True):
        command = [self.programs[program]] + (["-c", self.config] if config else []) + args
        environment = dict(os.environ)
        environment.pop("MAIL_CONFIG", None)
        environment.update(env or {})
        result = subprocess.run(command, cwd=self.root, input=stdin, capture_output=True,
                                env=environment, timeout=300)
        return (result.returncode, result.stdout, self.normalised(result.stderr))

    def normalised(self, text):
        return text.replace(self.root.encode(), b"ROOT")


class Pair:
    """Postfix and Postern, each in its own directory, given the same files."""

    def __init__(self, postern, parent):
        self.real = Side("real", REAL, parent)
        self.postern = Side("postern", postern, parent)
        self.sides = (self.real, self.postern)

    def write(self, name, content, mode=None):
        for side in self.sides:
            side.write(name, content, mode)

    def run(self, program, args, stdin=b"", env=None, config=True):
        return [side.run(program, args, stdin, env, config) for side in self.sides]

    def same(self, name, program, args, stdin=b"", normalise=None, env=None, config=True):
        """Runs both; checks that status, stdout and stderr agree. Returns Postern's."""
        real, postern = self.run(program, args, stdin, env, config)
        if normalise:
            real, postern = normalise(real), normalise(postern)
        check(name, real == postern, "  args: %r\n%s" % (args, difference(real, postern)))
        return postern


def unescape_dump(text):
    """db5.3_dump -p escapes non-printable bytes as \\hh and a backslash as \\\\."""
    out = bytearray()
    i = 0
    while i < len(text):
        if text[i:i + 1] == b"\\":
            if text[i + 1:i + 2] == b"\\":
                out += b"\\"
                i += 2
            else:
                out.append(int(text[i + 1:i + 3], 16))
                i += 3
        else:
            out += text[i:i + 1]
            i += 1
    return bytes(out)


def dump(path):
    """The stored (key, value) pairs of a Berkeley DB file, sorted, bytes as stored."""
    result = subprocess.run([DB_DUMP, "-p", path], capture_output=True, check=True)
    lines = result.stdout.split(b"\n")
    start = lines.index(b"HEADER=END") + 1
    end = lines.index(b"DATA=END")
    data = [unescape_dump(line[1:]) for line in lines[start:end]]
    return sorted(zip(data[0::2], data[1::2]))


def without_timestamp(pairs):
    return [(k, b"<time>" if k.rstrip(b"\0") == b"YP_LAST_MODIFIED" else v) for k, v in pairs]


def hide_yp_time(result):
    status, out, err = result
    return status, re.sub(rb"(YP_LAST_MODIFIED:?\t)\d+", rb"\1<time>", out), err


def sorted_lines(result):
    status, out, err = result
    return status, b"\n".join(sorted(out.split(b"\n"))), err


def same_tables(name, pair, db_name, normalise=without_timestamp):
    real, postern = (normalise(dump(side.path(db_name))) for side in pair.sides)
    check(name, real == postern, difference(real, postern))


def swap_tables(pair, db_name):
    """Gives each side the table the other side built."""
    real, postern = (side.path(db_name) for side in pair.sides)
    scratch = real + ".swap"
    shutil.copy2(real, scratch)
    shutil.copy2(postern, real)
    shutil.copy2(scratch, postern)
    os.unlink(scratch)


# ---- cases ----------------------------------------------------------------------------

SASL_KEYS = ["[smtp.office365.com]:587", "[smtp.gmail.com]:587", "[SMTP.Gmail.COM]:587",
             "[smtp.gmail.com]", "smtp.gmail.com:587", "[smtp.office365.com]:25", "#",
             "[hostname]:port", "", "user@example.com:AppPassword123"]


def case_seed_sasl_passwd(postern, parent):
    """The seed's sequence: create sasl_passwd, postmap it, chmod 600 both, query."""
    pair = Pair(postern, parent)
    pair.write("sasl_passwd", SASL_PASSWD)
    pair.same("seed: postmap sasl_passwd", "postmap", ["sasl_passwd"])
    same_tables("seed: sasl_passwd.db contents", pair, "sasl_passwd.db")
    for side in pair.sides:
        os.chmod(side.path("sasl_passwd"), 0o600)
        os.chmod(side.path("sasl_passwd.db"), 0o600)
    for key in SASL_KEYS:
        pair.same("seed: postmap -q %r" % key, "postmap", ["-q", key, "hash:sasl_passwd"])
    pair.same("seed: postmap -s", "postmap", ["-s", "hash:sasl_passwd"], normalise=sorted_lines)
    pair.same("seed: postmap -q - (stdin keys)", "postmap", ["-q", "-", "sasl_passwd"],
              stdin="\n".join(SASL_KEYS).encode() + b"\n")
    # The administrator edits the file and runs postmap again: the mode stays 600.
    for side in pair.sides:
        with open(side.path("sasl_passwd"), "a") as f:
            f.write("[relay.example.net]:587 relay:secret\n")
    pair.same("seed: postmap after edit", "postmap", ["sasl_passwd"])
    for side in pair.sides:
        mode = stat.S_IMODE(os.stat(side.path("sasl_passwd.db")).st_mode)
        check("seed: %s keeps sasl_passwd.db mode 600" % side.label, mode == 0o600, oct(mode))
    same_tables("seed: sasl_passwd.db after edit", pair, "sasl_passwd.db")
    pair.same("seed: new entry found", "postmap", ["-q", "[relay.example.net]:587",
                                                   "sasl_passwd"])
    swap_tables(pair, "sasl_passwd.db")
    for key in SASL_KEYS[:4]:
        pair.same("seed: swapped tables -q %r" % key, "postmap", ["-q", key, "sasl_passwd"])


def case_hash_and_btree_both_ways(postern, parent):
    pair = Pair(postern, parent)
    lines = ["Key%d value number %d" % (i, i) for i in range(300)]
    lines += ["dup first", "DUP second", "k\tTAB", "ca\xe9 latin1", "\xc3\x89t\xe9 accent",
              "# comment", "cont first", "  second", "last line"]
    pair.write("table", "\n".join(lines))
    for kind in ("hash", "btree"):
        pair.same("%s: build" % kind, "postmap", ["%s:table" % kind])
        same_tables("%s: contents" % kind, pair, "table.db")
        keys = ["key1", "KEY299", "key300", "dup", "k", "cont", "last", "\xc3\xa9t\xc3\xa9",
                "\xc3\x89T\xc3\x89", "ca\xc3\xa9"]
        for key in keys:
            pair.same("%s: -q %r" % (kind, key), "postmap", ["-q", key, "%s:table" % kind])
        pair.same("%s: -fq KEY1" % kind, "postmap", ["-fq", "KEY1", "%s:table" % kind])
        swap_tables(pair, "table.db")
        pair.same("%s: -s of the other's table" % kind, "postmap", ["-s", "%s:table" % kind],
                  normalise=sorted_lines)
        for key in keys[:4]:
            pair.same("%s: other's table -q %r" % (kind, key), "postmap",
                      ["-q", key, "%s:table" % kind])
    for flag in ("-N", "-n", "-f", "-r", "-w", "-u", "-nf"):
        pair.same("build %s" % flag, "postmap", [flag, "table"])
        same_tables("contents after %s" % flag, pair, "table.db")
        pair.same("-q after %s" % flag, "postmap", [flag, "-q", "dup", "table"])
    pair.same("two tables on one command line", "postmap", ["table", "btree:table2"],
              stdin=b"")


def case_source_format(postern, parent):
    """postmap's input format at its edges: quoted keys, lines without a value, a key
    with a colon, a line that starts with white space."""
    pair = Pair(postern, parent)
    pair.write("edges", "  leading space\n\"quoted key\" q\n\"x\\\"y\" z\n\"unbalanced v\n"
               "novalue\ncolon: value\n[smtp.example.com]:587 user:pass\nbad \x80 utf8\n")
    pair.same("source format: build", "postmap", ["edges"])
    same_tables("source format: contents", pair, "edges.db")
    for key in ["\"quoted key\"", "quoted key", "colon:", "colon", "[smtp.example.com]:587"]:
        pair.same("source format: -q %r" % key, "postmap", ["-q", key, "edges"])
    pair.same("source format: -i", "postmap", ["-i", "edges"], stdin=b"novalue\nok 1\n")


def case_aliases(postern, parent):
    pair = Pair(postern, parent)
    pair.write("aliases", ALIASES)
    pair.same("postalias: build", "postalias", ["aliases"])
    same_tables("postalias: stored entries (keys, values, NULs, @ and YP_*)", pair,
                "aliases.db")
    keys = ["root", "ROOT", "Root", "postmaster", "mailer-daemon", "a b", "\"a b\"", "c:d",
            "list", "staff", "pipe", "dup", "noval", "nocolon", "trail", "@", "nosuch",
            "remote@example.com", "\xc3\xa9t\xc3\xa9", "\xc3\x89T\xc3\x89", "YP_MASTER_NAME",
            "bad-utf8", ""]
    for key in keys:
        pair.same("postalias -q %r" % key, "postalias", ["-q", key, "aliases"])
    pair.same("postalias -q - (stdin keys)", "postalias", ["-q", "-", "aliases"],
              stdin="\n".join(keys).encode() + b"\n", normalise=hide_yp_time)
    pair.same("postalias -s", "postalias", ["-s", "aliases"],
              normalise=lambda r: sorted_lines(hide_yp_time(r)))
    pair.same("postmap -s of an alias db", "postmap", ["-s", "aliases"],
              normalise=lambda r: sorted_lines(hide_yp_time(r)))
    swap_tables(pair, "aliases.db")
    pair.same("postalias -s of the other's alias db", "postalias", ["-s", "hash:aliases"],
              normalise=lambda r: sorted_lines(hide_yp_time(r)))
    for key in ["root", "@", "list", "a b", "nosuch"]:
        pair.same("other's alias db -q %r" % key, "postalias", ["-q", key, "aliases"])
    for flags in (["-N"], ["-n"], ["-f"], ["-r"], ["-w"], ["-u"], ["-p"]):
        pair.same("postalias %s" % flags, "postalias", flags + ["btree:aliases"])
        same_tables("postalias %s: stored entries" % flags, pair, "aliases.db")
    pair.same("postalias: rebuild as hash", "postalias", ["aliases"])
    pair.same("postalias -i", "postalias", ["-i", "aliases"],
              stdin=b"new: one, two\nROOT: replaced?\n\"@\": x\nbroken line\n")
    same_tables("postalias -i: stored entries", pair, "aliases.db")
    pair.same("postalias -d", "postalias", ["-d", "NEW", "aliases"])
    pair.same("postalias -d again", "postalias", ["-d", "new", "aliases"])
    same_tables("postalias -d: stored entries", pair, "aliases.db")


def case_newaliases(postern, parent):
    pair = Pair(postern, parent)
    for side in pair.sides:
        side.write("etc/main.cf", MAIN_CF + "alias_database = hash:%s/aliases, btree:%s/more\n"
                   % (side.root, side.root))
    pair.write("aliases", ALIASES)
    pair.write("more", "x: y\nbroken\n")
    environment = lambda side: {"MAIL_CONFIG": side.config}
    results = [side.run("newaliases", [], env=environment(side), config=False)
               for side in pair.sides]
    check("newaliases: output and status", results[0] == results[1],
          difference(*results))
    same_tables("newaliases: hash table", pair, "aliases.db")
    same_tables("newaliases: btree table", pair, "more.db")
    results = [side.run("newaliases", ["-oAbtree:%s/more" % side.root, "-C", side.config],
                        config=False) for side in pair.sides]
    check("newaliases -oA -C", results[0] == results[1],
          difference(*results))
    same_tables("newaliases -oA: btree table", pair, "more.db")
    os.unlink(pair.postern.path("more"))
    os.unlink(pair.real.path("more"))
    results = [side.run("newaliases", [], env=environment(side), config=False)
               for side in pair.sides]
    check("newaliases: missing source", results[0] == results[1],
          difference(*results))
    results = [side.run("newaliases", ["someone"], env=environment(side), config=False)
               for side in pair.sides]
    check("newaliases: arguments refused", results[0] == results[1],
          difference(*results))


def case_pattern_tables(postern, parent):
    pair = Pair(postern, parent)
    pair.write("access.cidr", CIDR_TABLE)
    pair.write("checks.regexp", REGEXP_TABLE)
    for key in ["192.168.1.1", "10.0.0.1", "10.9.9.9", "11.0.0.1", "2001:db8::1", "::1",
                "1.2.3.4", "not-an-address", "192.168.001.1"]:
        pair.same("cidr -q %s" % key, "postmap", ["-q", key, "cidr:access.cidr"])
    for key in ["joe@example.com", "JOE@EXAMPLE.COM", "Admin", "xy", "XY", "xz", "nothing"]:
        pair.same("regexp -q %r" % key, "postmap", ["-q", key, "regexp:checks.regexp"])
        pair.same("regexp -fq %r" % key, "postmap", ["-fq", key, "regexp:checks.regexp"])
    pair.same("cidr -q -", "postmap", ["-q", "-", "cidr:access.cidr"],
              stdin=b"192.168.3.4\n10.0.0.1\n8.8.8.8\n")
    pair.same("cidr -s", "postmap", ["-s", "cidr:access.cidr"])
    pair.same("cidr build", "postmap", ["cidr:access.cidr"])
    pair.same("regexp build", "postmap", ["regexp:checks.regexp"])
    pair.same("cidr -i", "postmap", ["-i", "cidr:access.cidr"])
    pair.same("unknown type build", "postmap", ["frob:access.cidr"])
    pair.same("unknown type query", "postmap", ["-q", "x", "frob:access.cidr"])
    pair.same("static -q", "postmap", ["-q", "x", "static:answer"])
    pair.same("inline -q", "postmap", ["-q", "A", "inline:{a=b, c=d}"])
    pair.same("inline -s", "postmap", ["-s", "inline:{a=b, c=d}"], normalise=sorted_lines)
    pair.same("texthash -q", "postmap", ["-q", "key2", "texthash:access.cidr"])


def case_incremental_and_delete(postern, parent):
    pair = Pair(postern, parent)
    pair.write("table", "a 1\nb 2\nc 3\n")
    pair.same("build", "postmap", ["table"])
    pair.same("-i", "postmap", ["-i", "table"], stdin=b"d 4\nB 22\nbad\nE 5\n")
    same_tables("-i: contents", pair, "table.db")
    pair.same("-i -r", "postmap", ["-r", "-i", "table"], stdin=b"b 222\n")
    pair.same("-i -w", "postmap", ["-w", "-i", "table"], stdin=b"b 2222\n")
    same_tables("-i -r -w: contents", pair, "table.db")
    pair.same("-i creates a table", "postmap", ["-i", "new"], stdin=b"x y\n")
    same_tables("-i created: contents", pair, "new.db")
    pair.same("-d found", "postmap", ["-d", "A", "table"])
    pair.same("-d not found", "postmap", ["-d", "a", "table"])
    pair.same("-d - ", "postmap", ["-d", "-", "table", "new"], stdin=b"b\nnothing\nx\n")
    pair.same("-d - none found", "postmap", ["-d", "-", "table"], stdin=b"nothing\n")
    same_tables("-d: contents", pair, "table.db")
    same_tables("-d: contents of the second table", pair, "new.db")
    pair.same("-d missing table", "postmap", ["-d", "x", "table", "missing"])
    pair.same("-q first table answers", "postmap", ["-q", "c", "table", "missing"])
    pair.same("-q missing table first", "postmap", ["-q", "c", "missing", "table"])
    pair.same("-s lists the first table only", "postmap", ["-s", "table", "new"],
              normalise=sorted_lines)


def case_command_line(postern, parent):
    pair = Pair(postern, parent)
    pair.write("table", "a 1\n")
    pair.same("build", "postmap", ["table"])
    for args in (["-q", "a", "-s", "table"], ["-s", "-q", "a", "table"],
                 ["-d", "a", "-q", "a", "table"], ["-q", "a", "-q", "b", "table"],
                 ["-s", "-d", "x", "table"], ["-d", "x", "-s", "table"], ["-Z", "table"],
                 ["-q"], [], ["-b", "table"], ["-h", "-q", "a", "table"], ["-m", "table"],
                 ["-m", "-q", "-", "table"], ["table", "-q", "a"], ["-q", "a", "missing"],
                 ["missing"], ["-q", "a", "hash:"], ["-q", "a", ":x"], ["-s", "static:x"],
                 ["-d", "x", "static:x"], ["-q", "a", "--", "table"]):
        for program in ("postmap", "postalias"):
            pair.same("%s %r" % (program, args), program, args)
    real, postern_result = pair.run("postmap", ["-q", "a", "table"], config=False,
                                    env={"MAIL_CONFIG": "/nonexistent"})
    check("missing main.cf", real == postern_result, "%r\n%r" % (real, postern_result))


def case_header_body_and_base64(postern, parent):
    pair = Pair(postern, parent)
    pair.write("header_checks", "/^Subject: (.*)/ REJECT subject $1\n/^X-Multi:/ WARN multi\n"
               "/^$/ EMPTY\n/^(.*)$/ ANY $1\n")
    message = (b"From: a@example.com\r\nSubject : hello\nX-Multi: one\n two\n"
               b"Bad header line\nSubject: in body\n\nbody line\n\tindented\n")
    for flags in (["-h"], ["-b"], ["-hb"], ["-hbU"]):
        pair.same("message keys %s" % flags, "postmap",
                  flags + ["-q", "-", "regexp:header_checks"], stdin=message)
    pair.write("cert1", "-----BEGIN-----\nabc\n")
    pair.write("cert2", "second")
    pair.write("sni", "mail.example.com cert1, cert2\nother cert2\nbroken missing-file\n")
    pair.same("-F build", "postmap", ["-F", "sni"])
    same_tables("-F contents", pair, "sni.db")
    pair.same("-F -q", "postmap", ["-F", "-q", "mail.example.com", "sni"])
    pair.same("-F -s", "postmap", ["-F", "-s", "sni"], normalise=sorted_lines)
    pair.write("plain", "k1 !!!!\nk2 aGk=\n")
    pair.same("build plain", "postmap", ["plain"])
    pair.same("-F -q malformed", "postmap", ["-F", "-q", "k1", "plain"])
    pair.same("-F -s malformed", "postmap", ["-F", "-s", "plain"], normalise=sorted_lines)


def case_privileges(postern, parent):
    if os.geteuid() != 0:
        note("note: not root, source-owner cases skipped")
        return
    pair = Pair(postern, parent)
    nobody = pwd.getpwnam("nobody")
    for side in pair.sides:
        os.makedirs(side.path("shared"))
        os.chmod(side.path("shared"), 0o1777)
    cases = [("owned", 0o644, nobody.pw_uid, nobody.pw_gid, []),
             ("owned-o", 0o644, nobody.pw_uid, nobody.pw_gid, ["-o"]),
             ("mode640", 0o640, 0, 0, []), ("mode604", 0o604, 0, 0, []),
             ("mode755", 0o755, 0, 0, []), ("mode400", 0o400, 0, 0, []),
             ("mode640p", 0o640, 0, 0, ["-p"]), ("group", 0o640, 0, nobody.pw_gid, [])]
    for name, mode, uid, gid, flags in cases:
        for side in pair.sides:
            side.write("shared/" + name, "k v\n")
            os.chown(side.path("shared/" + name), uid, gid)
            os.chmod(side.path("shared/" + name), mode)
        pair.same("privileges %s: build" % name, "postmap", flags + ["shared/" + name])
        owners = []
        for side in pair.sides:
            st = os.stat(side.path("shared/%s.db" % name))
            owners.append((st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)))
        check("privileges %s: owner, group and mode of the .db" % name, owners[0] == owners[1],
              "  real: %r\n  postern: %r" % tuple(owners))
    # -i from a file: its owner and mode, as for a build.
    for side in pair.sides:
        side.write("shared/input", "k v\n")
        os.chown(side.path("shared/input"), nobody.pw_uid, nobody.pw_gid)
        os.chmod(side.path("shared/input"), 0o600)
    results = []
    for side in pair.sides:
        with open(side.path("shared/input"), "rb") as f:
            subprocess.run([side.programs["postmap"], "-c", side.config, "-i", "shared/fromfile"],
                           cwd=side.root, stdin=f, check=True)
        st = os.stat(side.path("shared/fromfile.db"))
        results.append((st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)))
    check("privileges: -i from a file", results[0] == results[1], repr(results))


def case_atomic_rebuild(postern, parent):
    """A reader never sees a half-built table while Postern rebuilds a big one."""
    work = os.path.join(parent, "atomic")
    os.makedirs(work)
    config = os.path.join(work, "etc")
    os.makedirs(config)
    with open(os.path.join(config, "main.cf"), "w") as f:
        f.write(MAIN_CF)
    entries = 100000
    source = os.path.join(work, "big")

    def write_version(version):
        with open(source + ".new", "w") as f:
            f.write("always-there stable-value\n")
            for i in range(entries):
                f.write("key%d v%d-%d\n" % (i, version, i))
        os.rename(source + ".new", source)

    write_version(0)
    subprocess.run([postern["postmap"], "-c", config, source], check=True)
    stop = threading.Event()
    problems = []
    queries = [0]

    def reader(program):
        while not stop.is_set():
            result = subprocess.run([program, "-c", config, "-q", "always-there", source],
                                    capture_output=True)
            queries[0] += 1
            if result.returncode != 0 or result.stdout != b"stable-value\n":
                problems.append((program, result.returncode, result.stdout, result.stderr))

    readers = [threading.Thread(target=reader, args=(program,))
               for program in (postern["postmap"], REAL["postmap"])]
    for thread in readers:
        thread.start()
    rebuilds = 0
    deadline = time.monotonic() + 60
    try:
        while rebuilds < 6 and time.monotonic() < deadline:
            write_version(rebuilds + 1)
            result = subprocess.run([postern["postmap"], "-c", config, source],
                                    capture_output=True)
            check("atomic: rebuild %d" % rebuilds, result.returncode == 0, repr(result))
            rebuilds += 1
    finally:
        stop.set()
        for thread in readers:
            thread.join()
    check("atomic: rebuilt at least 3 times", rebuilds >= 3, str(rebuilds))
    check("atomic: readers ran during the rebuilds", queries[0] >= 10, str(queries[0]))
    check("atomic: every query found the key", not problems, repr(problems[:3]))
    leftovers = [name for name in os.listdir(work) if ".tmp" in name]
    check("atomic: no temporary files left", not leftovers, repr(leftovers))
    final = subprocess.run([REAL["postmap"], "-c", config, "-q", "key99999", source],
                           capture_output=True)
    check("atomic: the last version is complete", final.stdout == b"v%d-99999\n" % rebuilds,
          repr(final))
    note("atomic: %d rebuilds of %d entries, %d queries" % (rebuilds, entries, queries[0]))


CASES = [case_seed_sasl_passwd, case_hash_and_btree_both_ways, case_source_format,
         case_aliases, case_newaliases,
         case_pattern_tables, case_incremental_and_delete, case_command_line,
         case_header_body_and_base64, case_privileges, case_atomic_rebuild]


def main(argv):
    if len(argv) != 4:
        note(__doc__)
        return 2
    postern = {"postmap": os.path.abspath(argv[1]), "postalias": os.path.abspath(argv[2]),
               "newaliases": os.path.abspath(argv[3])}
    missing = [path for path in REAL.values() if not os.access(path, os.X_OK)]
    if missing or shutil.which(DB_DUMP) is None:
        note("FAIL: real Postfix (postfix package: %s) and %s are required" %
             (", ".join(missing) or "present", DB_DUMP))
        return 1
    parent = tempfile.mkdtemp(prefix="postern-maps-tools-")
    os.chmod(parent, 0o755)
    try:
        for case in CASES:
            directory = os.path.join(parent, case.__name__)
            os.makedirs(directory)
            try:
                case(postern, directory)
            except Exception:
                failures.append(case.__name__)
                note("FAIL: %s raised\n%s" % (case.__name__, traceback.format_exc()))
    finally:
        shutil.rmtree(parent, ignore_errors=True)
    note("maps tools: %d checks passed, %d failed" % (passes, len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
