#!/usr/bin/env python3
"""System tests for local submission: sendmail (and its mailq and newaliases names), the
set-gid postdrop, and the pickup daemon, on whole instances (mail_instance.py), compared
with real Postfix 3.7 (Debian's /usr/sbin/sendmail and postdrop, and a throwaway real
Postfix instance for its pickup and cleanup).

Most checks are differential: the same command line and input go to Postfix's program
(with a real-Postfix main.cf whose queue is a folder of the test) and to Postern's, and
the exit status, stdout, stderr and the records of the maildrop file they leave must be
the same (the arrival time aside). Known, documented differences (docs/submission.md) are
checked separately with their own expectations.

A user other than root (TEST_USER, created here) runs the set-gid postdrop with a
non-default configuration directory, which both Postfix and Postern accept only when the
default main.cf authorizes it. The default configuration directory must not be touched,
so those commands run in a private mount namespace where a copy of it, listing the test's
directories in alternate_config_directories, is bind-mounted over it (unshare(1)).

Tests that need the cleanup daemon (pickup's end-to-end tests) fail when it is not built.

usage: submission_test.py [TEST-NAME...]
"""
import grp
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from test_runner import check, run_tests  # noqa: E402
from mail_instance import MailInstance, wait_until  # noqa: E402
from instance import wait_for  # noqa: E402

SELECTED = sys.argv[1:]

REAL_SBIN = "/usr/sbin"
REAL_DAEMONS = "/usr/lib/postfix/sbin"
REAL_DEFAULT_CONFIG = "/etc/postfix"
TEST_USER = "postern-submit"
TEST_USER_GECOS = "Submit &er,room 9"

PICKUP = "pickup    unix  n       -       n       60      1       pickup"
CLEANUP = "cleanup   unix  n       -       n       -       0       cleanup"
REWRITE = "rewrite   unix  -       -       n       -       -       trivial-rewrite"


def ensure_user():
    try:
        pwd.getpwnam(TEST_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent",
                        "--shell", "/usr/sbin/nologin", "--comment", TEST_USER_GECOS, TEST_USER],
                       check=True)
    return pwd.getpwnam(TEST_USER)


# ---- records ----

def record(record_type, data):
    data = data.encode() if isinstance(data, str) else data
    length = len(data)
    out = bytes([ord(record_type)])
    while True:
        byte = length & 0x7F
        length >>= 7
        if length:
            out += bytes([byte | 0x80])
        else:
            return out + bytes([byte]) + data


def parse_records(data):
    records, at = [], 0
    while at < len(data):
        record_type = chr(data[at])
        at += 1
        length, shift = 0, 0
        while True:
            byte = data[at]
            at += 1
            length |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
        check(at + length <= len(data), f"truncated record in {data[:80]!r}")
        records.append((record_type, data[at:at + length]))
        at += length
    return records


GOOD_TAIL = record("M", "") + record("N", "hi") + record("X", "") + record("E", "")


# ---- the two worlds: Postern's instance and a real Postfix maildrop beside it ----

class World:
    """A Postern instance (with the services given; none by default, so maildrop files
    stay where postdrop put them) and a real-Postfix configuration whose queue is a
    folder of the test, with the same extra main.cf settings."""

    def __init__(self, services=(), main_cf=""):
        self.user = ensure_user()
        self.instance = MailInstance(main_cf=main_cf, services=list(services))
        self.root = self.instance.root
        result = self.instance.run_postfix("set-permissions")
        check(result.returncode == 0, f"set-permissions: {result.stdout}{result.stderr}")
        self.real_config = os.path.join(self.root, "real-etc")
        self.real_queue = os.path.join(self.root, "real-queue")
        self._make_real_maildrop(main_cf)
        self.mounts = self._make_default_config_copies()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.instance.stop()
        return False

    def _make_real_maildrop(self, main_cf):
        os.makedirs(self.real_config)
        for name, mode in (("maildrop", 0o730), ("public", 0o710)):
            path = os.path.join(self.real_queue, name)
            os.makedirs(path)
            shutil.chown(path, "postfix", "postdrop")
            os.chmod(path, mode)
        with open(os.path.join(self.real_config, "main.cf"), "w") as out:
            out.write(f"""queue_directory = {self.real_queue}
data_directory = {os.path.join(self.root, "real-data")}
command_directory = {REAL_SBIN}
daemon_directory = {REAL_DAEMONS}
mail_owner = postfix
setgid_group = postdrop
myhostname = test.example
compatibility_level = 3.7
{main_cf}""")

    def postern_default_config(self):
        env = {key: value for key, value in os.environ.items() if key != "MAIL_CONFIG"}
        result = subprocess.run([self.instance.command("postconf"), "-dh", "config_directory"],
                                capture_output=True, text=True, env=env, check=True)
        return result.stdout.strip()

    def _make_default_config_copies(self, extra_directories=(), test_directories=True):
        """(copy, target) pairs: each default configuration directory, copied with a main.cf
        that authorizes the test's directories (unless test_directories is false) and
        extra_directories, for the namespace's bind mounts."""
        targets = sorted({REAL_DEFAULT_CONFIG, self.postern_default_config()})
        own = [self.instance.config_directory, self.real_config] if test_directories else []
        listed = " ".join([*own, *extra_directories])
        mounts = []
        for index, target in enumerate(targets):
            check(os.path.isdir(target), f"default configuration directory {target} is missing")
            copy = os.path.join(self.root, f"default-config-{index}")
            shutil.copytree(target, copy, symlinks=True)
            main_cf = os.path.join(copy, "main.cf")
            text = open(main_cf).read() if os.path.exists(main_cf) else ""
            with open(main_cf, "w") as out:
                out.write(text + f"\nalternate_config_directories = {listed}\n")
            os.chmod(copy, 0o755)
            mounts.append((copy, target))
        return mounts

    def authorize(self, *directories, test_directories=True):
        for copy, _ in self.mounts:
            shutil.rmtree(copy)
        self.mounts = self._make_default_config_copies(directories, test_directories)

    # ---- running programs ----

    def argv_as(self, user, argv):
        """argv run as `user` (root: as it is) in a namespace with the copies mounted."""
        if user is None:
            return argv
        mounts = " && ".join(f'mount --bind "{copy}" "{target}"' for copy, target in self.mounts)
        script = f'{mounts} && exec setpriv --reuid={user} --regid={user} --init-groups "$@"'
        return ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", *argv]

    def program(self, side, name):
        return os.path.join(REAL_SBIN, name) if side == "real" else self.instance.command(name)

    def config(self, side):
        return self.real_config if side == "real" else self.instance.config_directory

    def queue(self, side):
        return self.real_queue if side == "real" else self.instance.queue_directory

    def environment(self, side, extra=None, config=None):
        env = dict(os.environ)
        env.pop("NAME", None)
        env["MAIL_CONFIG"] = config or self.config(side)
        env.update(extra or {})
        return env

    def run(self, side, name, arguments, message=b"", user=None, extra_env=None, config=None):
        argv = self.argv_as(user, [self.program(side, name), *arguments])
        return subprocess.run(argv, input=message, capture_output=True, timeout=60,
                              env=self.environment(side, extra_env, config))

    def popen(self, side, name, arguments, user=None):
        argv = self.argv_as(user, [self.program(side, name), *arguments])
        return subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=self.environment(side))

    # ---- maildrop ----

    def maildrop(self, side):
        return os.path.join(self.queue(side), "maildrop")

    def clear_maildrop(self, side):
        for name in os.listdir(self.maildrop(side)):
            os.unlink(os.path.join(self.maildrop(side), name))

    def maildrop_files(self, side):
        """(name, stat, records) of each file in maildrop/, by name."""
        found = []
        for name in sorted(os.listdir(self.maildrop(side))):
            path = os.path.join(self.maildrop(side), name)
            with open(path, "rb") as file:
                found.append((name, os.stat(path), parse_records(file.read())))
        return found

    def normalized(self, side, text):
        text = text.decode(errors="replace")
        for path in (self.config(side), self.queue(side)):
            text = text.replace(path, "DIR")
        sbin = REAL_SBIN if side == "real" else self.instance.command_directory
        text = text.replace(sbin + "/", "SBIN/")
        return text

    def outcome(self, side, name, arguments, message=b"", user=None, extra_env=None):
        """What one run shows: status, stdout, stderr, and each maildrop file's mode, group
        and records (without the arrival time, which differs)."""
        self.clear_maildrop(side)
        result = self.run(side, name, arguments, message, user, extra_env)
        files = [(oct(info.st_mode), info.st_uid, info.st_gid,
                  [(t, d) for t, d in records if t != "T"])
                 for _, info, records in self.maildrop_files(side)]
        stdout = re.sub(rb"queue_id\x00[^\x00]*\x00", b"queue_id\x00ID\x00", result.stdout)
        return (result.returncode, stdout, self.normalized(side, result.stderr), files)

    def compare(self, name, arguments, message=b"", user=None, extra_env=None,
                refused=False):
        """None when both sides behave alike. `refused`: a refused submission, where
        Postfix leaves an unfinished file behind and Postern does not, and Postfix's postdrop
        may exit 0 where Postern's exits 1 (docs/submission.md): Postern must leave no file,
        and the output (and sendmail's status) are compared."""
        real = self.outcome("real", name, arguments, message, user, extra_env)
        postern = self.outcome("postern", name, arguments, message, user, extra_env)
        if refused:
            if postern[3]:
                return f"{name} {arguments}: Postern left {postern[3]!r}"
            first = 0 if name == "sendmail" else 1
            real, postern = real[first:3], postern[first:3]
        if real == postern:
            return None
        return f"{name} {arguments} {message[:60]!r} user={user}:\n  real:    {real!r:.1500}" \
               f"\n  postern: {postern!r:.1500}"


def report_differences(differences):
    differences = [text for text in differences if text]
    check(not differences, f"{len(differences)} differences from Postfix:\n" +
          "\n".join(differences))


# ---- sendmail, differential ----

MESSAGE = (b"From: Me <me@x>\nTo: a@b, \"Joe\" <joe@c>\nCc: cc@d\nBcc: bcc@e\nSubject: hi\n\n"
           b"body\r\n..dot\n.\nafter\n")

CONTENT_CASES = [
    b"From sender Mon Jan 1\nSubject: x\n\nFrom here\nb\x00c\xe9\n",
    b"a\r\nb\nc\r\r\n", b"a\nb\r\n", b"", b"noeol", b"x\r", b"a\rb\n", b"\r\n\r\n.\r\nz\n",
    b"x" * 5000 + b"\n" + b"y" * 4096 + b"\n" + b"z" * 2048 + b"\n.\n",
    b"x" * 2048 + b".\n.\nz\n", b"x" * 2047 + b"\r\n.\n", b"a\n..\nb\n", b"a\n.\r\nb\n",
]

OPTION_CASES = [
    ["-f", "s@x", "r1@y"], ["-t"], ["-t", "extra@z"],
    ["-i", "-f", "<>", "-F", "Full Name", "-N", "success,delay", "-R", "hdrs", "-V", "envid1",
     "-B", "8BITMIME", "r@y"],
    ["-oi", "-r", "x@y", "r@y", "r2@y, r3@y"], [], ["-f", "a@b, c@d", "r@y"], ["-f", "", "r@y"],
    ["-f", "<>", "r@y"], ["-f", "\"a b\"@c", "r@y"], ["-f", "Joe <j@x> (c)", "r@y"],
    ["-f", "a\nb@c", "r@y"], ["-f", "-x", "r@y"], ["r@y", "-f", "x@y"], ["--", "-r@y"],
    ["-N", "bogus", "r@y"], ["-N", "never", "r@y"], ["-N", "never,success", "r@y"],
    ["-N", "", "r@y"], ["-N", "success;delay", "r@y"], ["-R", "HDRS", "-N", "SUCCESS, Delay", "r@y"],
    ["-R", "bogus", "r@y"], ["-R", "full", "r@y"], ["-B", "7BIT", "r@y"], ["-B", "bogus", "r@y"],
    ["-B", "r@y"], ["-V", "", "r@y"], ["-V", "a b", "r@y"], ["-V", "x" * 200, "r@y"],
    ["-V", "a\x01b", "r@y"], ["-V", "r@y"], ["-XV", "-f", "o@x", "r@y"], ["-XV-=", "-f", "o@x", "r@y"],
    ["-XVxy", "-f", "o@x", "r@y"], ["-XV", "r@y"], ["-f", "", "-XV", "r@y"], ["-F", "", "r@y"],
    ["-G", "r@y"], ["-oQ/tmp", "-ox", "-O", "x=y", "-om", "-oe", "-o7", "r@y"], ["-x", "r@y"],
    ["-c", "-e", "x", "-p", "proto", "-U", "-Am", "-h", "5", "-L", "lab", "-m", "r@y"],
    ["-X", "/tmp/log", "r@y"], ["-Xz", "r@y"], ["-n", "r@y"], ["-b", "r@y"], ["-bz"], ["-bD"],
    ["-bt"], ["-bp", "x"], ["-bi", "x"], ["-bs", "x"], ["-bd", "x"], ["-bp", "-t"],
    ["-qRsite", "-bp"], ["-qIid", "-bp"], ["-qSsite"], ["-qX"], ["-qR"], ["-qI"], ["-q", "r@y"],
    ["-q", "30m"], ["-oA"],
    ["r@y", "<rr@yy>", "Joe <j@x>, k@l (comm)", "\"q r\"@s", "@a,@b:c@d", "grp: m@n, o@p;", ""],
    ["()"], [" "], [","], ["<>"], ["-f", "()", "r@y"], ["-v", "-B", "8BITMIME", "r@y"],
]

HEADER_CASES = [
    b"To: a@b\nResent-To: r1@x\nCc: c@d\nResent-Cc: r2@x, \n  r3@x\nResent-Bcc: r4@x\nBcc: e@f\n\nb\n",
    b"Resent-From: z@z\nTo: a@b\n\nbody\n",
    b"to: a@b\nTO: b@c\nApparently-To: ap@x\nX-To: q@q\nto : sp@x\n\nTo: body@x\n",
    b"To: undisclosed-recipients:;\nCc: list: a@b, \"x y\" <c@d>;, e@f (Comment) , <g@h>\nBcc:\n\n",
    b"To: a@b\n folded@x,\n\tmore@y\nSubject: s\n", b"To: a@b\r\nCc: c@d\r\n\r\nbody\r\n",
    b"Subject: x\nno colon line\nTo: late@x\n\n", b"To: a@b\nX-Long: " + b"y" * 3000 + b"\nCc: c@d\n\n",
    b"From x\nTo: a@b\n\n", b"To: a@b\n.\nCc: c@d\n\n", b"To: \xe9l\xe8ve@x\n\n", b"To: a@b, a@b\n\n",
    b"To: <@route:a@b>, \"@\"@x, a\\@b@c\n\n", b"To: <>\n\n", b"To: ()\n\n", b"To:\n\n",
    b"To  :  a@b\nX-Foo : v\nX-Bar\t:\tw\nSubject:no space\n\nbody\n", b"To: a@b\nbody no blank\n",
    b"To: a@b\n\tcont\nX: y\n \n\nbody\n", b"To: a@b", b"\nTo: a@b\n", b" leading\nTo: a@b\n\n",
    b"To: a@b\n\nbody no eol", b"body only\n",
]


def test_sendmail_matches_postfix_as_root():
    with World() as world:
        differences = [world.compare("sendmail", ["r@y"], message) for message in CONTENT_CASES]
        differences += [world.compare("sendmail", arguments, MESSAGE) for arguments in OPTION_CASES]
        differences += [world.compare("sendmail", ["-t"], message) for message in HEADER_CASES]
        differences += [world.compare("sendmail", ["-t", "-i", "r@y"], message)
                        for message in HEADER_CASES[:6]]
        report_differences(differences)


def test_sendmail_matches_postfix_as_user():
    with World() as world:
        user = TEST_USER
        cases = [(["r@y"], MESSAGE), (["-t"], MESSAGE), (["-f", "o@x", "-XV", "r1@y", "r2@y"], MESSAGE),
                 (["-F", "Given Name", "-N", "failure", "r@y"], CONTENT_CASES[0]),
                 (["-v", "r@y"], MESSAGE), (["-i", "r@y"], CONTENT_CASES[8])]
        differences = [world.compare("sendmail", arguments, message, user=user)
                       for arguments, message in cases]
        differences.append(world.compare("sendmail", ["r@y"], MESSAGE, user=user,
                                         extra_env={"NAME": "From Environment"}))
        report_differences(differences)
        # The sender is the login name, the full name the GECOS field, the file the user's.
        world.clear_maildrop("postern")
        result = world.run("postern", "sendmail", ["r@y"], MESSAGE, user=user)
        check(result.returncode == 0, f"sendmail as user: {result.stderr!r}")
        [(name, info, records)] = world.maildrop_files("postern")
        check(("S", TEST_USER.encode()) in records, f"sender: {records}")
        check(("F", b"Submit Postern-submiter") in records, f"full name: {records}")
        check(info.st_uid == world.user.pw_uid and info.st_gid == grp_gid("postdrop"),
              f"owner {info.st_uid}:{info.st_gid}")
        check(oct(info.st_mode & 0o7777) == "0o744", f"mode {oct(info.st_mode)}")


def grp_gid(name):
    return grp.getgrnam(name).gr_gid


# ---- postdrop, differential ----

POSTDROP_CASES = [
    ("empty", b""), ("garbage", b"hello world\n"), ("truncated", record("S", "a@x")[:3]),
    ("no end record", record("S", "a@x") + record("R", "b@y") + record("M", "") + record("N", "hi")),
    ("time from the user", record("T", "1 2") + record("S", "a@x") + record("R", "b@y") + GOOD_TAIL),
    ("two senders", record("S", "a@x") + record("S", "c@x") + record("R", "b@y") + GOOD_TAIL),
    ("line at the limit", record("S", "a@x") + record("R", "b@y") + record("M", "")
     + record("N", "x" * 2048) + record("X", "") + record("E", "")),
    ("line over the limit", record("S", "a@x") + record("R", "b@y") + record("M", "")
     + record("N", "x" * 2049) + record("X", "") + record("E", "")),
    ("long sender", record("S", "a" * 3000) + record("R", "b@y") + GOOD_TAIL),
    ("attributes", record("A", "encoding=8bit") + record("A", "encoding=9bit")
     + record("A", " envelope_id = abc ") + record("A", "notify_flags=6")
     + record("A", "rewrite_context=remote") + record("A", "rewrite_context=x")
     + record("A", "trace_flags=1") + record("A", "ret_flags=1") + record("A", "log_ident=x")
     + record("A", "dsn_orig_rcpt=rfc822;a@b") + record("A", "create_time=1") + record("A", "foobar")
     + record("S", "a@x") + record("R", "b@y") + GOOD_TAIL),
    ("data after the end", record("S", "a@x") + record("R", "b@y") + GOOD_TAIL + b"junk"),
    ("length bits", b"S\xff\xff\xff\xff\xff\x01"),
    ("content in the envelope", record("N", "x") + GOOD_TAIL),
    ("sender in the content", record("S", "a@x") + record("R", "b@y") + record("M", "")
     + record("S", "x") + record("X", "") + record("E", "")),
    ("8-bit content", record("F", "Full") + record("S", "a@x") + record("V", "+=")
     + record("R", "b@y") + record("M", "") + record("N", "hi\x00\xe9") + record("L", "x" * 2048)
     + record("N", "") + record("X", "") + record("R", "ex@y") + record("E", "")),
]


def test_postdrop_matches_postfix():
    with World() as world:
        differences = []
        for user in (None, TEST_USER):
            for title, data in POSTDROP_CASES:
                difference = world.compare("postdrop", ["-r"], data, user=user)
                differences.append(difference and f"[{title}] {difference}")
            differences.append(world.compare("postdrop", ["-x"], b"", user=user))
            differences.append(world.compare("postdrop", ["extra", "words"], b"", user=user))
        report_differences(differences)


def test_postdrop_refuses_missing_sender_or_recipient():
    # Postfix answers status 1 and leaves a half-made file (mode 0644) behind; Postern
    # answers the same and removes it.
    with World() as world:
        for data in (record("R", "b@y") + GOOD_TAIL, record("S", "a@x") + GOOD_TAIL):
            real = world.outcome("real", "postdrop", ["-r"], data)
            postern = world.outcome("postern", "postdrop", ["-r"], data)
            check(real[:3] == postern[:3], f"real {real[:3]} postern {postern[:3]}")
            check(b"status\x001\x00reason\x00\x00" in postern[1], f"status: {postern[1]!r}")
            check(postern[3] == [], f"file left behind: {postern[3]}")
            check(all(mode == "0o100644" for mode, *_ in real[3]), f"real left {real[3]}")


def test_postdrop_signal_removes_partial_file():
    with World() as world:
        for signal_number in (signal.SIGHUP, signal.SIGINT, signal.SIGQUIT, signal.SIGTERM):
            for side in ("real", "postern"):
                world.clear_maildrop(side)
                process = world.popen(side, "postdrop", ["-r"], user=TEST_USER)
                process.stdin.write(record("S", "a@x") + record("R", "b@y"))
                process.stdin.flush()
                wait_until(lambda: world.maildrop_files(side), timeout=20,
                           what=f"{side} postdrop's file")
                # exec chain: the pid of unshare is postdrop's
                os.kill(process.pid, signal_number)
                _, stderr = process.communicate(timeout=20)
                check(process.returncode == int(signal_number),
                      f"{side} postdrop after signal {signal_number}: status {process.returncode}"
                      f" {stderr!r}")
                check(world.maildrop_files(side) == [], f"{side}: file left after a signal")


def test_refusals_match_postfix():
    settings = (f"authorized_submit_users = !{TEST_USER}, static:all\n"
                "local_login_sender_maps = inline:{ {root = *}, "
                f"{{{TEST_USER} = a@x, @dom.example, <>}} }}\n")
    with World(main_cf=settings) as world:
        user = TEST_USER
        differences = [world.compare("sendmail", ["r@y"], MESSAGE, user=user),
                       world.compare("sendmail", ["-bs"], b"", user=user),
                       world.compare("postdrop", ["-r"], record("S", "a") + record("R", "b")
                                     + GOOD_TAIL, user=user),
                       world.compare("sendmail", ["-f", "zz", "r@y"], MESSAGE)]
        report_differences(differences)
    with World(main_cf=f"local_login_sender_maps = inline:{{ {{{TEST_USER} = a@x, "
                       f"@dom.example, <>}} }}\n") as world:
        user = TEST_USER
        senders = ["a@x", "b@x", "a+ext@x", "z@dom.example", "z@sub.dom.example", "", "A@X"]
        refused = {"b@x", "a+ext@x", "z@sub.dom.example"}
        differences = [world.compare("sendmail", ["-f", sender, "r@y"], MESSAGE, user=user,
                                     refused=sender in refused)
                       for sender in senders]
        differences.append(world.compare("sendmail", ["r@y"], MESSAGE, user=user, refused=True))
        differences.append(world.compare("postdrop", ["-r"], record("S", "a@x") + record("S", "b@x")
                                         + record("R", "b") + GOOD_TAIL, user=user, refused=True))
        report_differences(differences)
        result = world.run("postern", "sendmail", ["-f", "b@x", "r@y"], MESSAGE, user=user)
        check(b"fatal: b@x(%d): not authorized to use sender='b@x'" % world.user.pw_uid
              in result.stderr and result.returncode == 75, f"refusal: {result}")


def test_unauthorized_configuration_directory():
    with World() as world:
        world.authorize(test_directories=False)  # neither test directory is listed any more
        differences = [world.compare("sendmail", ["r@y"], MESSAGE, user=TEST_USER),
                       world.compare("postdrop", ["-r"], b"", user=TEST_USER)]
        report_differences(differences)
        result = world.run("postern", "postdrop", ["-r"], b"", user=TEST_USER)
        check(result.returncode == 1 and b"error: unauthorized configuration directory name: "
              in result.stderr and b'fatal: specify "alternate_config_directories = '
              in result.stderr, f"postdrop: {result}")
        # sendmail -C from a user is checked by sendmail itself, as Postfix's does.
        for side in ("real", "postern"):
            result = world.run(side, "sendmail", ["-C", world.config(side), "r@y"], MESSAGE,
                               user=TEST_USER)
            check(result.returncode == 75 and b"sendmail: error: unauthorized configuration "
                  b"directory name" in result.stderr, f"{side} sendmail -C: {result}")
        # root may name any directory
        world.clear_maildrop("postern")
        result = world.run("postern", "sendmail", ["-C", world.instance.config_directory + "/main.cf",
                                                   "r@y"], MESSAGE)
        check(result.returncode == 0 and len(world.maildrop_files("postern")) == 1,
              f"root -C: {result}")


def test_maildrop_file_reads_with_postfix_postcat():
    with World() as world:
        world.clear_maildrop("postern")
        result = world.run("postern", "sendmail", ["-f", "a@x", "-N", "success", "b@y"],
                           b"Subject: postcat\n\nline one\n" + b"w" * 3000 + b"\n", user=TEST_USER)
        check(result.returncode == 0, f"sendmail: {result}")
        [(name, _, _)] = world.maildrop_files("postern")
        postcat = subprocess.run([os.path.join(REAL_SBIN, "postcat"), "-c", world.real_config,
                                  os.path.join(world.maildrop("postern"), name)],
                                 capture_output=True, text=True)
        check(postcat.returncode == 0, f"postcat: {postcat.stderr}")
        for expected in ("sender: a@x", "recipient: b@y", "named_attribute: notify_flags=2",
                         "named_attribute: rewrite_context=local", "Subject: postcat",
                         "line one", "w" * 3000, "*** MESSAGE FILE END"):
            check(expected in postcat.stdout, f"{expected!r} not in postcat output:\n{postcat.stdout}")


# ---- the other modes ----

def test_mailq_newaliases_and_flush_names():
    with World(main_cf="alias_database = hash:$config_directory/aliases\n") as world:
        instance = world.instance
        run = lambda *args, **kw: world.run("postern", *args, **kw)  # noqa: E731
        postqueue = run("postqueue", ["-p"])
        for name, arguments in (("sendmail", ["-bp"]), ("mailq", [])):
            shown = run(name, arguments)
            check((shown.returncode, shown.stdout) == (postqueue.returncode, postqueue.stdout),
                  f"{name} {arguments}: {shown} differs from postqueue -p: {postqueue}")
        flushed, direct = run("sendmail", ["-q"]), run("postqueue", ["-f"])
        check((flushed.returncode, flushed.stdout, flushed.stderr.replace(b"sendmail", b""))
              == (direct.returncode, direct.stdout, direct.stderr.replace(b"sendmail", b"")),
              f"sendmail -q {flushed} differs from postqueue -f {direct}")
        aliases = os.path.join(instance.config_directory, "aliases")
        newaliases = os.path.join(world.root, "bin", "newaliases")
        os.makedirs(os.path.dirname(newaliases))
        os.symlink(instance.command("sendmail"), newaliases)
        for index, argv in enumerate([[instance.command("sendmail"), "-bi"],
                                      [instance.command("sendmail"), "-I"], [newaliases]]):
            with open(aliases, "w") as table:
                table.write(f"alias{index}: target{index}\n")
            result = subprocess.run(argv, capture_output=True, env=world.environment("postern"))
            check(result.returncode == 0, f"{argv}: {result}")
            query = run("postalias", ["-q", f"alias{index}", f"hash:{aliases}"])
            check(query.stdout.strip() == f"target{index}".encode(), f"{argv}: alias not built "
                  f"({query})")
        other = os.path.join(world.root, "other-aliases")
        with open(other, "w") as table:
            table.write("other: elsewhere\n")
        result = run("sendmail", ["-bi", f"-oAhash:{other}"])
        query = run("postalias", ["-q", "other", f"hash:{other}"])
        check(result.returncode == 0 and query.stdout.strip() == b"elsewhere", f"-oA: {query}")
        verify = run("sendmail", ["-bv", "a@b"])
        check(verify.returncode == 75 and b"not supported yet" in verify.stderr, f"-bv: {verify}")
        smtp = run("sendmail", ["-bs"], b"QUIT\r\n")
        if os.path.exists(os.path.join(instance.daemon_directory, "smtpd")):
            # sendmail runs smtpd -S as Postfix's does; smtpd's stand-alone mode is not
            # written yet and says so (issue 9).
            check(smtp.returncode != 0 and b"stand-alone mode (-S, as used by sendmail -bs) "
                  b"is not implemented yet" in smtp.stderr, f"-bs runs smtpd -S: {smtp}")
        else:
            check(smtp.returncode == 75 and b"-bs: stand-alone SMTP mode needs" in smtp.stderr,
                  f"-bs without smtpd: {smtp}")


# ---- pickup ----

def wait_incoming(instance, count, timeout=30):
    wait_until(lambda: len(instance.queue_files("incoming")) >= count
               and not instance.queue_files("maildrop"), timeout=timeout,
               what=f"{count} message(s) in incoming/", log=instance.log)
    return instance.queue_files("incoming")


def queue_file_records(instance, queue_id):
    with open(os.path.join(instance.queue_directory, "incoming", queue_id), "rb") as file:
        return parse_records(file.read())


def require_cleanup(instance):
    check(os.path.exists(os.path.join(instance.daemon_directory, "cleanup")),
          "the cleanup daemon is not built: pickup cannot be tested end to end")


def content_lines(records):
    lines, start = [], False
    for record_type, data in records:
        if record_type == "M":
            start = True
        elif record_type == "X":
            break
        elif start and record_type in "NL":
            lines.append(data)
    return lines


def test_pickup_queues_submissions():
    with World(services=[PICKUP, CLEANUP, REWRITE]) as world:
        instance = world.instance
        require_cleanup(instance)
        instance.start()
        result = instance.sendmail(["-f", "a@x", "-N", "success,delay", "-V", "env1", "-R", "hdrs",
                                    "b@y"], b"Subject: one\n\n\xe9t\xe9\nline\r\n.\nnot sent\n")
        check(result.returncode == 0, f"sendmail: {result}")
        [queue_id] = wait_incoming(instance, 1)
        records = queue_file_records(instance, queue_id)
        check(("S", b"a@x") in records and ("R", b"b@y") in records, f"envelope: {records}")
        check(("A", b"notify_flags=10") in records and ("A", b"envelope_id=env1") in records
              and ("A", b"ret_flags=2") in records, f"DSN records: {records}")
        lines = content_lines(records)
        check(lines[0] == b"Received: by test.example (Postfix, from userid 0)"
              and lines[1].startswith(f"\tid {queue_id}; ".encode()), f"Received: {lines[:2]}")
        check(b"Subject: one" in lines and b"\xe9t\xe9" in lines and b"line" in lines
              and b"not sent" not in lines, f"content: {lines}")
        wait_until(lambda: f"{queue_id}: uid=0 from=<a@x>" in instance.log(), timeout=10,
                   what="pickup's log line", log=instance.log)
        # As the unprivileged user, with -t.
        result = world.run("postern", "sendmail", ["-t"], b"To: t1@y, T Two <t2@y>\nSubject: t\n\nb\n",
                           user=TEST_USER)
        check(result.returncode == 0, f"sendmail -t as user: {result}")
        queued = wait_incoming(instance, 2)
        [second] = [name for name in queued if name != queue_id]
        records = queue_file_records(instance, second)
        check(("S", TEST_USER.encode()) in records or any(t == "S" and d.startswith(
            TEST_USER.encode() + b"@") for t, d in records), f"sender: {records}")
        recipients = [d for t, d in records if t == "R"]
        check(any(r.startswith(b"t1@y") for r in recipients)
              and any(r.startswith(b"t2@y") for r in recipients), f"recipients: {recipients}")
        uid = world.user.pw_uid
        wait_until(lambda: f"{second}: uid={uid} from=<" in instance.log(), timeout=10,
                   what="pickup's log line for the user", log=instance.log)
        postcat = subprocess.run([os.path.join(REAL_SBIN, "postcat"), "-c", world.real_config,
                                  os.path.join(instance.queue_directory, "incoming", second)],
                                 capture_output=True, text=True)
        check(postcat.returncode == 0 and "Subject: t" in postcat.stdout,
              f"postcat of pickup's message: {postcat.stdout}{postcat.stderr}")


def write_maildrop_file(instance, name, data, uid, mode=0o744, link=None):
    """Plants a file in maildrop/ of a running instance: written beside it and renamed in,
    so that pickup never sees it half made (and, with `link`, with its second link)."""
    path = os.path.join(instance.queue_directory, "maildrop", name)
    temporary = os.path.join(instance.queue_directory, f"planting-{name}")
    with open(temporary, "wb") as file:
        file.write(data)
    os.chown(temporary, uid, grp_gid("postdrop"))
    os.chmod(temporary, mode)
    if link is not None:
        os.link(temporary, link)
    os.rename(temporary, path)
    return path


def wake_pickup(instance):
    with socket.socket(socket.AF_UNIX) as trigger:
        trigger.connect(os.path.join(instance.queue_directory, "public", "pickup"))
        trigger.send(b"W")


def test_pickup_handles_bad_files():
    with World(services=[PICKUP, CLEANUP, REWRITE]) as world:
        instance = world.instance
        require_cleanup(instance)
        uid = world.user.pw_uid
        envelope = record("T", "1796288000 0") + record("A", "rewrite_context=local") \
            + record("S", "s@x") + record("R", "r@y")
        good = record("M", "") + record("N", "Subject: t") + record("N", "") + record("N", "b") \
            + record("X", "") + record("E", "")
        removed = {
            "AAAAA000001": (b"garbage here\n", "maildrop/AAAAA000001: unexpected EOF in data, "
                            "record type 103 length 97"),
            "AAAAA000002": (record("T", "1 0") + record("R", "r@y") + good, "uid=%d: no envelope "
                            "sender" % uid),
            "AAAAA000003": (envelope + record("M", "") + record("S", "x@y") + record("X", "")
                            + record("E", ""), "uid=%d: unexpected or malformed record type 83" % uid),
            "AAAAA000005": (envelope + record("M", "") + record("N", "x"),
                            "uid=%d: unexpected or malformed record type -1" % uid),
            "AAAAA000009": (envelope + b"N\x90\x27" + b"y" * 5008 + good,
                            "maildrop/AAAAA000009: illegal length 5008, record type 78"),
            "AAAAA00000C": (record("C", "x") + envelope + good,
                            "uid=%d: unexpected or malformed record type 67" % uid),
        }
        kept = {"AAAAA.0000": 0o744, "AAAAA0000FD": 0o644}
        # Planted once the instance runs: `postfix start` runs postsuper, which would rename
        # these files to match their inodes (and remove the directory and the link).
        instance.start()
        for name, (data, _) in removed.items():
            write_maildrop_file(instance, name, data, uid)
        for name, mode in kept.items():
            write_maildrop_file(instance, name, envelope + good, uid, mode)
        write_maildrop_file(instance, "AAAAA000007", envelope + record("A", "foo=bar") + good, uid)
        write_maildrop_file(instance, "AAAAA0000FC", envelope + good, uid,
                            link=os.path.join(instance.queue_directory, "saved-link"))
        os.mkdir(os.path.join(instance.queue_directory, "maildrop", "AAAAA0000FE"))
        os.symlink("/etc/passwd", os.path.join(instance.queue_directory, "maildrop", "AAAAA0000FF"))
        wake_pickup(instance)
        gone = lambda name: not os.path.lexists(  # noqa: E731
            os.path.join(instance.queue_directory, "maildrop", name))
        wait_until(lambda: all(gone(name) for name in [*removed, "AAAAA000007", "AAAAA0000FC"]),
                   timeout=30, what="pickup to remove the bad files", log=instance.log)
        log = instance.log()
        for name, (_, line) in removed.items():
            check(line in log, f"{name}: {line!r} not logged:\n{log}")
        check(f"open input file maildrop/AAAAA0000FC: file has 2 hard links" in log, log)
        check(f"uid={uid}: ignoring attribute record: foo=bar" in log, log)
        for name in [*kept, "AAAAA0000FE", "AAAAA0000FF"]:
            check(not gone(name), f"{name} should have been left alone")
        check("maildrop/AAAAA0000FE: uid 0: not a regular file" in log, log)
        # Only the file with the dropped attribute was queued.
        [queued] = instance.queue_files("incoming")
        records = queue_file_records(instance, queued)
        check(("A", b"foo=bar") not in records and ("S", b"s@x") in records, f"{records}")


def test_pickup_keeps_files_while_cleanup_is_away():
    with World(services=[PICKUP]) as world:
        instance = world.instance
        instance.start()
        result = instance.sendmail(["-f", "a@x", "b@y"], b"Subject: wait\n\nb\n")
        check(result.returncode == 0, f"sendmail: {result}")
        wait_until(lambda: "connect to public/cleanup" in instance.log(), timeout=20,
                   what="pickup's warning", log=instance.log)
        check(len(instance.queue_files("maildrop")) == 1, "the message left maildrop/")


# ---- with real Postfix ----

def _complete(path):
    try:
        return bool(os.stat(path).st_mode & 0o100)
    except OSError:
        return False


class RealPostfix:
    """A throwaway real Postfix 3.7 instance: pickup, cleanup, trivial-rewrite, postlogd;
    no qmgr, so mail stays in incoming/. Stopped by its master's PID."""

    def __init__(self, root):
        self.root = os.path.join(root, "real-instance")
        self.config = os.path.join(self.root, "etc")
        self.queue = os.path.join(self.root, "queue")
        data = os.path.join(self.root, "data")
        for path in (self.config, self.queue, data):
            os.makedirs(path)
        shutil.chown(data, "postfix")
        self.maillog = os.path.join(self.root, "maillog")
        with open(os.path.join(self.config, "main.cf"), "w") as out:
            out.write(f"""queue_directory = {self.queue}
data_directory = {data}
command_directory = {REAL_SBIN}
daemon_directory = {REAL_DAEMONS}
mail_owner = postfix
setgid_group = postdrop
myhostname = real.example
mydomain = example
mydestination =
inet_interfaces = loopback-only
inet_protocols = ipv4
compatibility_level = 3.7
maillog_file = {self.maillog}
maillog_file_prefixes = {self.root}
""")
        with open(os.path.join(self.config, "master.cf"), "w") as out:
            out.write(f"{PICKUP}\n{CLEANUP}\n{REWRITE}\n"
                      "postlog   unix-dgram n  -       n       -       1       postlogd\n")
        result = subprocess.run([os.path.join(REAL_SBIN, "postfix"), "-c", self.config, "start"],
                                capture_output=True, text=True)
        check(result.returncode == 0, f"real postfix start: {result}")
        wait_until(self.master_pid, timeout=20, what="real Postfix master")

    def master_pid(self):
        try:
            with open(os.path.join(self.queue, "pid", "master.pid")) as pid_file:
                return int(pid_file.read().strip())
        except (OSError, ValueError):
            return None

    def log(self):
        try:
            return open(self.maillog, errors="replace").read()
        except OSError:
            return ""

    def incoming(self, complete=False):
        directory = os.path.join(self.queue, "incoming")
        names = sorted(os.listdir(directory))
        if complete:
            names = [name for name in names if _complete(os.path.join(directory, name))]
        return names

    def stop(self):
        pid = self.master_pid()
        if pid:
            os.kill(pid, signal.SIGTERM)
            wait_for(lambda: not os.path.exists(f"/proc/{pid}"), timeout=20)


def test_postfix_pickup_takes_postern_maildrop_files():
    with World() as world:
        real = RealPostfix(world.root)
        try:
            # A Postern configuration whose queue is the real instance's.
            config = os.path.join(world.root, "to-real-etc")
            os.makedirs(config)
            with open(os.path.join(world.instance.config_directory, "main.cf")) as source:
                text = source.read()
            with open(os.path.join(config, "main.cf"), "w") as out:
                out.write(text + f"\nqueue_directory = {real.queue}\n")
            world.authorize(config)
            for user, sender in ((None, "root-sender@x"), (TEST_USER, TEST_USER)):
                before = real.incoming()
                arguments = ["-f", sender, "r@y"] if user is None else ["r@y"]
                result = world.run("postern", "sendmail", arguments,
                                   b"Subject: to real postfix\n\n\xe9\n", user=user, config=config)
                check(result.returncode == 0, f"sendmail into real Postfix: {result}")
                # cleanup creates the file first and marks it complete (0700) last
                wait_until(lambda: len(real.incoming(complete=True)) > len(before), timeout=30,
                           what="real pickup and cleanup", log=real.log)
                [new] = [name for name in real.incoming() if name not in before]
                postcat = subprocess.run([os.path.join(REAL_SBIN, "postcat"), "-c", real.config,
                                          "-q", new], capture_output=True, text=True,
                                         errors="replace")
                check(f"sender: {sender}" in postcat.stdout and "Subject: to real postfix"
                      in postcat.stdout and "recipient: r@y" in postcat.stdout,
                      f"postcat -q {new}:\n{postcat.stdout}{postcat.stderr}")
                uid = 0 if user is None else world.user.pw_uid
                check(f"{new}: uid={uid} from=<{sender}>" in real.log(), real.log())
        finally:
            real.stop()


def test_postern_pickup_takes_postfix_maildrop_files():
    with World(services=[PICKUP, CLEANUP, REWRITE]) as world:
        instance = world.instance
        require_cleanup(instance)
        instance.start()
        # Postfix's sendmail and postdrop, writing into the Postern instance's maildrop/.
        config = os.path.join(world.root, "real-into-postern")
        os.makedirs(config)
        with open(os.path.join(world.real_config, "main.cf")) as source:
            text = source.read()
        with open(os.path.join(config, "main.cf"), "w") as out:
            out.write(text + f"\nqueue_directory = {instance.queue_directory}\n")
        world.authorize(config)
        result = world.run("real", "sendmail", ["-f", "p@x", "-N", "never", "q@y"],
                           b"Subject: from postfix\n\nbody\n", user=TEST_USER, config=config)
        check(result.returncode == 0, f"real sendmail: {result}")
        [queue_id] = wait_incoming(instance, 1)
        records = queue_file_records(instance, queue_id)
        check(("S", b"p@x") in records and ("A", b"notify_flags=1") in records
              and ("R", b"q@y") in records and b"Subject: from postfix" in content_lines(records),
              f"{records}")
        check(f"{queue_id}: uid={world.user.pw_uid} from=<p@x>" in instance.log(), instance.log())


def main():
    return run_tests(globals(), SELECTED)


if __name__ == "__main__":
    sys.exit(main())
