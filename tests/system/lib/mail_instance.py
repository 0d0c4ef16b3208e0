"""A whole Postern instance for the mail-path system tests: every daemon and command of the
build, a master.cf with the services whose daemon exists, a queue made by the real
`postfix set-permissions` (so postdrop and postqueue are set-gid postdrop, as installed),
and helpers to submit mail, wait for the queue and read Maildirs.

The build tells the programs through the environment (tests/meson.build sets it for tests
that take `env: mail_instance_env`):
  POSTERN_DAEMONS   colon-separated paths of the daemons (master, cleanup, pickup, ...)
  POSTERN_COMMANDS  colon-separated paths of the commands (postfix, postconf, sendmail, ...)
  POSTERN_SOURCE_ROOT  the source tree (for conf/master.cf)

Usage:
    with MailInstance(main_cf="...extra main.cf lines...") as instance:
        instance.start()
        instance.sendmail(["-f", "a@example.com", "b@example.com"], message_bytes)
        instance.wait_for_queue_empty()

Every process is stopped by PID (master's pid file) in stop(); nothing is found by name.
"""
import os
import pwd
import shutil
import subprocess
import time

from instance import Instance, ensure_accounts, process_alive, wait_for

# Commands that must be real files in command_directory (set-gid postdrop after
# `postfix set-permissions`); the others are symbolic links into the build.
SETGID_COMMANDS = ("postdrop", "postqueue")

# The services of Postfix 3.7's default master.cf that the mail path uses, in its syntax.
# A service whose daemon is not built is left out (the list grows as daemons land).
DEFAULT_SERVICES = [
    "pickup    unix  n       -       n       60      1       pickup",
    "cleanup   unix  n       -       n       -       0       cleanup",
    "qmgr      unix  n       -       n       300     1       qmgr",
    "rewrite   unix  -       -       n       -       -       trivial-rewrite",
    "bounce    unix  -       -       n       -       0       bounce",
    "defer     unix  -       -       n       -       0       bounce",
    "trace     unix  -       -       n       -       0       bounce",
    "verify    unix  -       -       n       -       1       verify",
    "flush     unix  n       -       n       1000?   0       flush",
    "smtp      unix  -       -       n       -       -       smtp",
    "relay     unix  -       -       n       -       -       smtp",
    "showq     unix  n       -       n       -       -       showq",
    "error     unix  -       -       n       -       -       error",
    "retry     unix  -       -       n       -       -       error",
    "discard   unix  -       -       n       -       -       discard",
    "local     unix  -       n       n       -       -       local",
    "virtual   unix  -       n       n       -       -       virtual",
    "lmtp      unix  -       -       n       -       -       lmtp",
    "anvil     unix  -       -       n       -       1       anvil",
    "scache    unix  -       -       n       -       1       scache",
    "postlog   unix-dgram n  -       n       -       1       postlogd",
]


def _paths(variable):
    value = os.environ.get(variable, "")
    if not value:
        raise SystemExit(f"{variable} is not set: run this test through meson test")
    return [path for path in value.split(":") if path]


class MailInstance(Instance):
    def __init__(self, main_cf="", services=None, extra_master_cf=""):
        ensure_accounts()
        daemons = _paths("POSTERN_DAEMONS")
        commands = _paths("POSTERN_COMMANDS")
        self.programs = {os.path.basename(path): os.path.abspath(path)
                         for path in daemons + commands}
        postfix = self.programs["postfix"]
        super().__init__(postfix, daemons, extra_main_cf="")
        self.command_directory = os.path.join(self.root, "sbin")
        os.makedirs(self.command_directory)
        for path in commands:
            name = os.path.basename(path)
            target = os.path.join(self.command_directory, name)
            if name in SETGID_COMMANDS:
                shutil.copy2(path, target)
            else:
                os.symlink(os.path.abspath(path), target)
        self.postfix = os.path.join(self.command_directory, "postfix")
        self.mail_root = os.path.join(self.root, "mail")
        os.makedirs(self.mail_root)
        self.main_cf_extra = main_cf
        # A later line wins in main.cf: command_directory is this instance's sbin/.
        self.write_main_cf(f"command_directory = {self.command_directory}\n{main_cf}")
        chosen = DEFAULT_SERVICES if services is None else services
        available = [line for line in chosen
                     if os.path.exists(os.path.join(self.daemon_directory, line.split()[7]))]
        self.write_master_cf("\n".join(available) + "\n" + extra_master_cf)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    # ---- running the instance ----

    def command(self, name):
        return os.path.join(self.command_directory, name)

    def run(self, name, *arguments, input=None, user=None, check=False, timeout=60, env=None):
        """Runs one of the instance's commands with MAIL_CONFIG set; returns the
        CompletedProcess (bytes). `user` runs it as that account (setpriv)."""
        environment = dict(os.environ if env is None else env)
        environment["MAIL_CONFIG"] = self.config_directory
        argv = [self.command(name), *arguments]
        if user is not None:
            argv = ["setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups", *argv]
        return subprocess.run(argv, input=input, capture_output=True, timeout=timeout,
                              env=environment, check=check)

    def start(self):
        for step in ("set-permissions", "start"):
            result = self.run_postfix(step)
            if result.returncode != 0:
                raise AssertionError(f"postfix {step} failed: {result.stdout}{result.stderr}"
                                     f"\nlog:\n{self.log()}")
        if not wait_for(self.master_pid, timeout=10):
            raise AssertionError(f"master did not start\nlog:\n{self.log()}")

    def sendmail(self, arguments, message, user=None, check=True):
        result = self.run("sendmail", *arguments, input=message, user=user)
        if check and result.returncode != 0:
            raise AssertionError(f"sendmail {arguments} exited {result.returncode}: "
                                 f"{result.stderr!r}\nlog:\n{self.log()}")
        return result

    # ---- the queue ----

    def queue_files(self, queue):
        """Queue IDs of the files under queue_directory/QUEUE (hashed subdirectories too)."""
        found = []
        top = os.path.join(self.queue_directory, queue)
        for directory, _, files in os.walk(top):
            found.extend(name for name in files if "." not in name)
        return sorted(found)

    def all_queued(self, queues=("maildrop", "incoming", "active", "deferred", "hold")):
        return {queue: self.queue_files(queue) for queue in queues}

    def wait_for_queue_empty(self, timeout=30.0,
                             queues=("maildrop", "incoming", "active", "deferred")):
        empty = wait_for(lambda: not any(self.all_queued(queues).values()), timeout=timeout)
        if not empty:
            raise AssertionError(f"queue not empty after {timeout}s: {self.all_queued()}"
                                 f"\nlog:\n{self.log()}")

    # ---- local processes and Maildirs ----

    def child_pid(self, program):
        """The PID of master's child running PROGRAM (qmgr, pickup...), or None."""
        for pid in self.children():
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                    argv0 = cmdline.read().split(b"\0")[0]
            except OSError:
                continue
            if os.path.basename(argv0) == program.encode():
                return pid
        return None

    def maildir(self, user):
        """USER's Maildir under home_mailbox = Maildir/."""
        return os.path.join(pwd.getpwnam(user).pw_dir, "Maildir")

    def maildir_count(self, maildir):
        """How many messages MAILDIR/new and MAILDIR/cur hold, without reading them."""
        return sum(len(os.listdir(os.path.join(maildir, sub))) for sub in ("new", "cur")
                   if os.path.isdir(os.path.join(maildir, sub)))

    def maildir_messages(self, maildir):
        """The bytes of every message in MAILDIR/new and MAILDIR/cur, sorted by name."""
        messages = []
        for sub in ("new", "cur"):
            directory = os.path.join(maildir, sub)
            if not os.path.isdir(directory):
                continue
            for name in sorted(os.listdir(directory)):
                with open(os.path.join(directory, name), "rb") as message:
                    messages.append(message.read())
        return messages


def ensure_local_user(name):
    """The local account NAME (home /home/NAME, shell /bin/sh) for delivery tests, created
    when missing: the same name is reused by every run on the machine."""
    try:
        return pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--create-home", "--home-dir", f"/home/{name}",
                        "--shell", "/bin/sh", name], check=True)
        return pwd.getpwnam(name)


def remove_delivered_mail(name):
    """Removes what an earlier run delivered to NAME's home (Maildir/, .forward)."""
    home = ensure_local_user(name).pw_dir
    for entry in ("Maildir", ".forward"):
        path = os.path.join(home, entry)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        elif os.path.lexists(path):
            os.unlink(path)


def wait_until(predicate, timeout=30.0, what="condition", log=None):
    value = wait_for(predicate, timeout=timeout)
    if not value:
        raise AssertionError(f"timed out after {timeout}s waiting for {what}"
                             + (f"\nlog:\n{log()}" if log else ""))
    return value


__all__ = ["MailInstance", "wait_until", "process_alive", "time", "ensure_local_user",
           "remove_delivered_mail"]
