#!/usr/bin/env python3
"""The postfix command on throwaway instances: check, status, start/stop/reload, set-permissions.

Each case builds a fresh instance in a temporary directory: main.cf and master.cf in etc/,
the queue in spool/, data_directory in data/, and a daemon_directory holding one fake
executable per master.cf command plus a fake master (a Python script that behaves as
`master -w` / `-s` do: it locks queue_directory/pid/master.pid, records its arguments, and
stops on SIGTERM). The real daemons are not needed.

Runs as root (the postfix command is reserved for the superuser); creates the postfix user
and the postdrop group when they are missing. Exits 77 (skipped) when not root.

Usage: postfix_check_test.py POSTFIX
"""
import grp
import os
import pwd
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import textwrap
import time
import traceback

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from instance import ensure_accounts  # noqa: E402

POSTFIX = None

FAKE_MASTER = r'''#!/usr/bin/env python3
# A stand-in for master: -w detaches and reports once it holds the pid-file lock; -s runs
# in the foreground and exits at once. Records its arguments and MAIL_CONFIG in record.
import fcntl, os, signal, sys
QUEUE = %(queue)r
RECORD = %(record)r
with open(RECORD, "a") as f:
    f.write("args=%%s MAIL_CONFIG=%%s pid=%%d\n" %% (" ".join(sys.argv[1:]),
                                                  os.environ.get("MAIL_CONFIG"), os.getpid()))
if "-s" in sys.argv:
    sys.exit(7)
if "-w" not in sys.argv:
    sys.exit(2)
r, w = os.pipe()
if os.fork():
    os.close(w)
    sys.exit(0 if os.read(r, 1) == b"1" else 1)
os.close(r)
os.setsid()
fd = os.open(QUEUE + "/pid/master.pid", os.O_RDWR | os.O_CREAT, 0o644)
fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
os.ftruncate(fd, 0)
os.write(fd, b"%%16d\n" %% os.getpid())
def reload(signum, frame):
    with open(RECORD, "a") as f:
        f.write("SIGHUP\n")
signal.signal(signal.SIGHUP, reload)
if os.path.exists(QUEUE + "/../ignore-sigterm"):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
null = os.open("/dev/null", os.O_RDWR)
for n in (0, 1, 2):
    os.dup2(null, n)
os.write(w, b"1")
os.close(w)
while True:
    signal.pause()
'''

MASTER_CF = """\
# A small master.cf: one service per daemon kind.
127.0.0.1:10025 inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
bounce    unix  -       -       n       -       0       bounce
relay     unix  -       -       n       -       -       smtp
  -o smtp_helo_timeout=5 -o smtp_connect_timeout=5
"""


class Instance:
    """A throwaway instance under a temporary directory."""

    def __init__(self):
        self.base = tempfile.mkdtemp(prefix="postern-postfix-test-")
        os.chmod(self.base, 0o755)
        self.etc = self.dir("etc")
        self.libexec = self.dir("libexec")
        self.sbin = self.dir("sbin")
        self.spool = self.dir("spool")
        self.data = os.path.join(self.base, "data")
        self.maillog = os.path.join(self.base, "maillog")
        self.record = os.path.join(self.base, "master.record")
        self.main_cf = os.path.join(self.etc, "main.cf")
        self.master_cf = os.path.join(self.etc, "master.cf")
        self.write(self.main_cf, textwrap.dedent(f"""\
            queue_directory = {self.spool}
            data_directory = {self.data}
            daemon_directory = {self.libexec}
            command_directory = {self.sbin}
            maillog_file = {self.maillog}
            mail_owner = postfix
            setgid_group = postdrop
            alias_database = hash:{self.etc}/aliases
            alias_maps = $alias_database
            """))
        self.write(self.master_cf, MASTER_CF)
        for command in ("smtpd", "pickup", "cleanup", "qmgr", "bounce", "smtp"):
            self.executable(os.path.join(self.libexec, command), "#!/bin/sh\nexit 0\n")
        self.executable(os.path.join(self.libexec, "master"),
                        FAKE_MASTER % {"queue": self.spool, "record": self.record})
        self.write(os.path.join(self.etc, "aliases"), "postmaster: root\n")
        self.write(os.path.join(self.etc, "aliases.db"), "not really a database\n")
        older(os.path.join(self.etc, "aliases"))
        result = self.postfix("set-permissions")
        assert result.returncode == 0, f"set-permissions failed: {result.stderr}"

    def dir(self, name):
        path = os.path.join(self.base, name)
        os.mkdir(path, 0o755)
        return path

    def write(self, path, text):
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, 0o644)

    def append(self, path, text):
        """Appends lines; returns the number of the first line appended."""
        with open(path) as f:
            first = len(f.read().splitlines()) + 1
        with open(path, "a") as f:
            f.write(text)
        return first

    def executable(self, path, text):
        self.write(path, text)
        os.chmod(path, 0o755)

    def postfix(self, *args, user=None):
        env = dict(os.environ)
        env.pop("MAIL_CONFIG", None)
        kwargs = {}
        if user is not None:
            account = pwd.getpwnam(user)
            kwargs = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
        return subprocess.run([POSTFIX, "-c", self.etc] + list(args), env=env,
                              capture_output=True, text=True, timeout=60, **kwargs)

    def master_pid(self):
        try:
            with open(os.path.join(self.spool, "pid", "master.pid")) as f:
                return int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def log(self):
        try:
            with open(self.maillog) as f:
                return f.read()
        except OSError:
            return ""

    def cleanup(self):
        pid = self.master_pid()
        if pid and process_alive(pid) and self.postfix("status").returncode == 0:
            os.kill(pid, signal.SIGKILL)
        shutil.rmtree(self.base, ignore_errors=True)


def older(path, seconds=100):
    stamp = time.time() - seconds
    os.utime(path, (stamp, stamp))


def process_alive(pid):
    """True while the process exists and is not a zombie waiting for init to reap it."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def process_gone(pid, seconds=2.0):
    deadline = time.time() + seconds
    while process_alive(pid):
        if time.time() > deadline:
            return False
        time.sleep(0.02)
    return True


def expect(condition, message):
    if not condition:
        raise AssertionError(message)


def expect_in(needle, haystack, what="stderr"):
    expect(needle in haystack, f"expected {needle!r} in {what}:\n{haystack}")


def expect_problem(result, needle):
    """`postfix check` found a problem: exit 1 and a message with `needle`."""
    expect(result.returncode == 1, f"exit status {result.returncode}, wanted 1:\n{result.stderr}")
    expect_in(needle, result.stderr)


# ---- cases ----

def test_healthy_instance_is_silent(instance):
    result = instance.postfix("check")
    expect(result.returncode == 0, f"exit status {result.returncode}:\n{result.stderr}")
    expect(result.stderr == "" and result.stdout == "",
           f"unexpected output:\n{result.stdout}{result.stderr}")


def test_master_cf_bad_field_count(instance):
    line = instance.append(instance.master_cf, "broken unix - - n\n")
    result = instance.postfix("check")
    expect_problem(result, f"postfix/postfix-script: error: file {instance.master_cf}: "
                           f"line {line}: bad field count")
    started = instance.postfix("start")
    expect(started.returncode == 1, "start went ahead with a broken master.cf")
    expect_in("postfix/postfix-script: fatal: Postfix integrity check failed!", started.stderr)
    expect(not os.path.exists(instance.record), "master was run")


def test_duplicate_service(instance):
    line = instance.append(instance.master_cf, "pickup unix n - n 60 1 pickup\n")
    expect_problem(instance.postfix("check"),
                   f"file {instance.master_cf}: line {line}: duplicate service \"pickup/unix\"")


def test_unknown_daemon_command(instance):
    line = instance.append(instance.master_cf, "frob unix - - n - - nosuchdaemon\n")
    missing = os.path.join(instance.libexec, "nosuchdaemon")
    expect_problem(instance.postfix("check"),
                   f"warning: file {instance.master_cf}: line {line}: service frob/unix: "
                   f"unknown daemon command \"nosuchdaemon\": {missing}: No such file or directory")


def test_absolute_daemon_command(instance):
    line = instance.append(instance.master_cf, "frob unix - - n - - /nonexistent/frobd\n")
    expect_problem(instance.postfix("check"),
                   f"file {instance.master_cf}: line {line}: service frob/unix: "
                   f"unknown daemon command \"/nonexistent/frobd\": /nonexistent/frobd")


def test_missing_queue_directory(instance):
    os.rmdir(os.path.join(instance.spool, "hold"))
    expect_problem(instance.postfix("check"),
                   f"warning: missing directory: {instance.spool}/hold")


def test_queue_directory_wrong_owner(instance):
    os.chown(os.path.join(instance.spool, "active"), pwd.getpwnam("nobody").pw_uid, -1)
    expect_problem(instance.postfix("check"),
                   f"warning: not owned by postfix: {instance.spool}/active")


def test_queue_directory_wrong_mode_and_group(instance):
    os.chmod(os.path.join(instance.spool, "incoming"), 0o777)
    os.chown(os.path.join(instance.spool, "public"), -1, 0)
    result = instance.postfix("check")
    expect_problem(result, f"wrong mode 0777 (expected 0700): {instance.spool}/incoming")
    expect_in(f"not owned by group postdrop: {instance.spool}/public", result.stderr)


def test_unused_parameter(instance):
    line = instance.append(instance.main_cf, "frobnicate_level = 3\n")
    expect_problem(instance.postfix("check"),
                   f"warning: {instance.main_cf}, line {line}: unused parameter: "
                   "frobnicate_level=3")


def test_unused_master_cf_parameter(instance):
    line = instance.append(instance.master_cf,
                           "extra unix - - n - - smtp -o frobnicate_master=1\n")
    expect_problem(instance.postfix("check"),
                   f"warning: file {instance.master_cf}: line {line}: unused parameter: "
                   "frobnicate_master=1")


def test_table_source_newer_than_db(instance):
    source = os.path.join(instance.etc, "virtual")
    instance.write(source + ".db", "indexed\n")
    instance.write(source, "a@example.com b@example.com\n")
    older(source + ".db")
    line = instance.append(instance.main_cf, "virtual_alias_maps = hash:$config_directory/virtual\n")
    expect_problem(instance.postfix("check"),
                   f"warning: {instance.main_cf}, line {line}: database {source}.db is older "
                   f"than source file {source}")


def test_alias_database_newer_source(instance):
    aliases = os.path.join(instance.etc, "aliases")
    older(aliases + ".db", 1000)
    expect_problem(instance.postfix("check"),
                   f"database {aliases}.db is older than source file {aliases}")


def test_status_not_running(instance):
    result = instance.postfix("status")
    expect(result.returncode == 1, f"exit status {result.returncode}")
    expect(result.stderr == "postfix/postfix-script: the Postfix mail system is not running\n",
           f"stderr: {result.stderr!r}")
    expect_in("postfix/postfix-script[", instance.log(), "maillog")
    expect_in("]: the Postfix mail system is not running", instance.log(), "maillog")
    for verb in ("stop", "abort", "reload"):
        result = instance.postfix(verb)
        expect(result.returncode == 1, f"{verb}: exit status {result.returncode}")
        expect_in("postfix/postfix-script: fatal: the Postfix mail system is not running",
                  result.stderr)


def test_non_root_refused(instance):
    result = instance.postfix("status", user="nobody")
    expect(result.returncode == 1, f"exit status {result.returncode}")
    expect(result.stderr == "postfix: error: to submit mail, use the Postfix sendmail command\n"
                            "postfix: fatal: the postfix command is reserved for the superuser\n",
           f"stderr: {result.stderr!r}")


def test_start_status_reload_stop(instance):
    os.rmdir(os.path.join(instance.spool, "deferred"))  # start creates it
    result = instance.postfix("start")
    expect(result.returncode == 0, f"start: {result.returncode}\n{result.stderr}")
    expect(result.stderr == "postfix/postfix-script: starting the Postfix mail system\n",
           f"start stderr: {result.stderr!r}")
    expect(os.path.isdir(os.path.join(instance.spool, "deferred")), "deferred not created")
    with open(instance.record) as f:
        expect_in(f"args=-w -c {instance.etc} MAIL_CONFIG={instance.etc}", f.read(), "record")
    pid = instance.master_pid()
    result = instance.postfix("status")
    expect(result.returncode == 0, f"status: {result.returncode}")
    expect_in(f"the Postfix mail system is running: PID: {pid}", result.stderr)
    result = instance.postfix("start")
    expect(result.returncode == 1, "a second start succeeded")
    expect_in("postfix/postfix-script: fatal: the Postfix mail system is already running",
              result.stderr)
    result = instance.postfix("reload")
    expect(result.returncode == 0, f"reload: {result.returncode}\n{result.stderr}")
    expect_in("refreshing the Postfix mail system", result.stderr)
    deadline = time.time() + 5
    while time.time() < deadline and "SIGHUP" not in open(instance.record).read():
        time.sleep(0.05)
    expect_in("SIGHUP", open(instance.record).read(), "record")
    result = instance.postfix("stop")
    expect(result.returncode == 0, f"stop: {result.returncode}\n{result.stderr}")
    expect_in("postfix/postfix-script: stopping the Postfix mail system", result.stderr)
    expect(instance.postfix("status").returncode == 1, "still running after stop")
    expect(process_gone(pid), "master process still exists")


def test_stop_with_force(instance):
    open(os.path.join(instance.base, "ignore-sigterm"), "w").close()
    expect(instance.postfix("start").returncode == 0, "start failed")
    pid = instance.master_pid()
    result = instance.postfix("stop")
    expect(result.returncode == 0, f"stop: {result.returncode}")
    expect_in("waiting for the Postfix mail system to terminate", result.stderr)
    expect_in("postfix/postfix-script: warning: stopping the Postfix mail system with force",
              result.stderr)
    expect(process_gone(pid), "master survived SIGKILL")


def test_start_fg_execs_master_in_foreground(instance):
    process = subprocess.Popen([POSTFIX, "-c", instance.etc, "start-fg"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, stderr = process.communicate(timeout=60)
    expect(process.returncode == 7, f"start-fg returned {process.returncode}, not master's 7")
    expect_in("starting the Postfix mail system", stderr)
    with open(instance.record) as f:
        # exec: master keeps the command's pid (systemd's NotifyAccess=main relies on it)
        expect_in(f"args=-s -c {instance.etc} MAIL_CONFIG={instance.etc} pid={process.pid}",
                  f.read(), "record")


def test_set_permissions_repairs(instance):
    nobody = pwd.getpwnam("nobody").pw_uid
    os.chown(os.path.join(instance.spool, "active"), nobody, -1)
    os.chmod(os.path.join(instance.spool, "pid"), 0o777)
    os.rmdir(os.path.join(instance.spool, "saved"))
    postdrop = os.path.join(instance.sbin, "postdrop")
    instance.executable(postdrop, "#!/bin/sh\n")
    expect(instance.postfix("check").returncode == 1, "check missed the damage")
    result = instance.postfix("set-permissions")
    expect(result.returncode == 0, f"set-permissions: {result.stderr}")
    info = os.stat(postdrop)
    expect(info.st_gid == grp.getgrnam("postdrop").gr_gid, "postdrop group not set")
    expect(stat.S_IMODE(info.st_mode) == 0o2755, f"postdrop mode {oct(info.st_mode)}")
    test_healthy_instance_is_silent(instance)


def test_flush_without_postqueue(instance):
    result = instance.postfix("flush")
    expect(result.returncode == 1, f"exit status {result.returncode}")
    expect_in(f"fatal: cannot flush the queue: no Postfix postqueue program "
              f"{instance.sbin}/postqueue", result.stderr)


def test_unknown_command(instance):
    result = instance.postfix("frobnicate")
    expect(result.returncode == 1, f"exit status {result.returncode}")
    expect_in("postfix/postfix-script: fatal: unknown command: 'frobnicate'. Usage: postfix start",
              result.stderr)


def test_damaged_message(instance):
    damaged = os.path.join(instance.spool, "corrupt", "4XyZ123")
    with open(damaged, "w") as f:
        f.write("junk")
    os.chown(damaged, pwd.getpwnam("postfix").pw_uid, -1)
    expect_problem(instance.postfix("check"), "warning: damaged message: corrupt/4XyZ123")


def test_main_cf_syntax_error(instance):
    line = instance.append(instance.main_cf, "this line has no equals sign\n")
    result = instance.postfix("check")
    expect(result.returncode == 1, f"exit status {result.returncode}")
    expect_in(f"postfix: fatal: {instance.main_cf}, line {line}: ", result.stderr)


# ---- driver ----

def main():
    global POSTFIX
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    POSTFIX = os.path.abspath(sys.argv[1])
    if os.geteuid() != 0:
        print("skipped: needs root", file=sys.stderr)
        return 77
    ensure_accounts()
    cases = [(name, case) for name, case in globals().items() if name.startswith("test_")]
    failed = 0
    for name, case in cases:
        instance = None
        try:
            instance = Instance()
            case(instance)
            print(f"ok   {name}")
        except Exception:  # a failed expectation or a broken case: both are failures
            failed += 1
            print(f"FAIL {name}")
            traceback.print_exc(file=sys.stdout)
        finally:
            if instance is not None:
                instance.cleanup()
    print(f"{len(cases) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
