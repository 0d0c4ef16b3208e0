#!/usr/bin/env python3
"""Captures the reference notices in refs/ from real Postfix 3.7's bounce daemon.

    capture.py QUEUE_TOOL BOUNCE_TOOL [REFS_DIRECTORY]

QUEUE_TOOL and BOUNCE_TOOL are the build's tests/queue/queue_tool and
tests/bounce/bounce_tool. Run as root on a machine with Debian's postfix package; it starts
a throwaway Postfix instance in a temporary folder (its own config, queue and data
directories, loopback only, no qmgr, so that notices stay in incoming/), and for each case
of cases.py:

  1. writes the queue file into hold/ with lib/queue's writer (queue_tool) and the log with
     lib/queue's bounce log writer (bounce_tool), as the postfix user;
  2. sends Postfix's own bounce request (its attribute protocol, BOUNCE_CMD_FLUSH, _WARN or
     _TRACE) to private/bounce, private/defer or private/trace;
  3. saves each notice the daemon queued (postcat -bh) as refs/CASE.N.eml and a summary
     (the daemon's log lines, each notice's envelope) as refs/CASE.txt.

The instance is stopped by its master's PID. The test (tests/system/bounce_test.py) only
reads refs/; rerun this when cases.py changes.
"""
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cases  # noqa: E402

POSTFIX = "/usr/sbin/postfix"
POSTCAT = "/usr/sbin/postcat"

MASTER_CF = """\
cleanup   unix  n       -       n       -       0       cleanup
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
postlog   unix-dgram n  -       n       -       1       postlogd
"""


def as_postfix(argv):
    return ["setpriv", "--reuid=postfix", "--regid=postfix", "--init-groups", *argv]


class RealPostfix:
    def __init__(self):
        self.root = tempfile.mkdtemp(prefix="postern-bounce-capture-")
        os.chmod(self.root, 0o755)
        self.etc = os.path.join(self.root, "etc")
        self.queue = os.path.join(self.root, "queue")
        self.data = os.path.join(self.root, "data")
        self.maillog = os.path.join(self.root, "maillog")
        for directory in (self.etc, self.queue, self.data):
            os.makedirs(directory)
        postfix = pwd.getpwnam("postfix")
        os.chown(self.data, postfix.pw_uid, postfix.pw_gid)
        self.template = os.path.join(self.etc, "bounce.cf")
        with open(self.template, "w") as out:
            out.write(cases.TEMPLATE_FILE)
        with open(os.path.join(self.etc, "master.cf"), "w") as out:
            out.write(MASTER_CF)
        self.write_main_cf({})

    def write_main_cf(self, settings):
        lines = [f"queue_directory = {self.queue}", f"data_directory = {self.data}",
                 "mail_owner = postfix", "setgid_group = postdrop",
                 "inet_interfaces = 127.0.0.1", "inet_protocols = ipv4",
                 f"maillog_file = {self.maillog}", f"maillog_file_prefixes = {self.root}",
                 "compatibility_level = 3.7", "mydestination =", "alias_maps =",
                 "alias_database =", cases.COMMON_MAIN_CF.strip()]
        lines += [f"{name} = {value.replace('TEMPLATE_PATH', self.template)}"
                  for name, value in settings.items()]
        with open(os.path.join(self.etc, "main.cf"), "w") as out:
            out.write("\n".join(lines) + "\n")

    def postfix(self, *words):
        subprocess.run([POSTFIX, "-c", self.etc, *words], check=True, capture_output=True)

    def start(self):
        self.postfix("start")
        deadline = time.monotonic() + 10
        while not os.path.exists(os.path.join(self.queue, "private", "bounce")):
            if time.monotonic() > deadline:
                raise SystemExit("postfix did not start:\n" + self.log())
            time.sleep(0.1)

    def stop(self):
        pid_file = os.path.join(self.queue, "pid", "master.pid")
        try:
            pid = int(open(pid_file).read().strip())
        except (OSError, ValueError):
            return
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)

    def log(self):
        try:
            return open(self.maillog, errors="replace").read()
        except OSError:
            return ""


def attr_frame(pairs):
    """Postfix's attr_print0 format: name NUL value NUL ..., NUL."""
    out = b""
    for name, value in pairs:
        text = value if isinstance(value, bytes) else str(value).encode()
        out += name.encode() + b"\0" + text + b"\0"
    return out + b"\0"


def read_frame(stream):
    data = b""
    while not (data.endswith(b"\0\0") or data == b"\0"):
        chunk = stream.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def postfix_request(queue, case, queue_id):
    """One bounce request in Postfix's protocol; returns the status the daemon answered."""
    with socket.socket(socket.AF_UNIX) as stream:
        stream.settimeout(60)
        stream.connect(os.path.join(queue, "private", case.log))
        read_frame(stream)  # the server's "protocol" announcement
        stream.sendall(attr_frame([
            ("nrequest", cases.REQUEST_NUMBER[case.request]), ("flags", 0),
            ("queue_name", "hold"), ("queue_id", queue_id), ("encoding", case.encoding),
            ("smtputf8", case.smtputf8), ("sender", case.sender.encode()),
            ("envelope_id", case.dsn_envid), ("ret_flags", case.dsn_ret)]))
        reply = read_frame(stream)
    match = re.match(rb"status\0(-?\d+)\0", reply)
    if not match:
        raise SystemExit(f"{case.name}: bad reply {reply!r}")
    return int(match.group(1))


def write_inputs(instance, tools, case, work):
    spec = os.path.join(work, f"{case.name}.spec")
    message = os.path.join(work, f"{case.name}.msg")
    with open(spec, "w") as out:
        out.write(cases.spec_text(case))
    with open(message, "wb") as out:
        out.write(case.message)
    written = subprocess.run(as_postfix([tools[0], "-c", instance.etc, "write", "-q", "hold",
                                         spec, message]),
                             check=True, capture_output=True, text=True).stdout.split()
    queue_id, path = written[0], written[1]
    if case.records is not None:
        log_file = os.path.join(work, f"{case.name}.log")
        with open(log_file, "w") as out:
            out.write(case.records)
        subprocess.run(as_postfix([tools[1], "-c", instance.etc, "log", case.log, "hold",
                                   queue_id, log_file]), check=True, capture_output=True)
    if not case.queue_file:
        os.unlink(path)
    return queue_id


def envelope(instance, path):
    text = subprocess.run([POSTCAT, "-c", instance.etc, "-e", path], check=True,
                          capture_output=True, text=True).stdout
    sender = re.search(r"^sender: (.*)$", text, flags=re.M).group(1)
    recipients = re.findall(r"^recipient: (.*)$", text, flags=re.M)
    return sender, recipients


def capture_case(instance, tools, case, work, refs):
    queue_id = write_inputs(instance, tools, case, work)
    status = postfix_request(instance.queue, case, queue_id)
    time.sleep(0.3)  # the log lines reach postlogd asynchronously
    lines = [line.split("]: ", 1)[1] for line in instance.log().splitlines()
             if "postfix/bounce[" in line and queue_id in line]
    notices = [line.rsplit(": ", 1)[1] for line in lines if "notification: " in line]
    summary = [f"status: {status}"]
    for line in lines:
        for index, notice_id in enumerate(notices):
            line = line.replace(notice_id, f"NEWID{index + 1}")
        summary.append("log: " + line.replace(queue_id, "ORIGID"))
    for index, notice_id in enumerate(notices):
        path = os.path.join(instance.queue, "incoming", notice_id)
        content = subprocess.run([POSTCAT, "-c", instance.etc, "-bh", path], check=True,
                                 capture_output=True).stdout
        sender, recipients = envelope(instance, path)
        summary.append(f"notice {index + 1}: id={notice_id} original={queue_id} "
                       f"sender=<{sender}> recipients={','.join(recipients)}")
        with open(os.path.join(refs, f"{case.name}.{index + 1}.eml"), "wb") as out:
            out.write(content)
    with open(os.path.join(refs, f"{case.name}.txt"), "w") as out:
        out.write("\n".join(summary) + "\n")
    print(f"{case.name}: status {status}, {len(notices)} notice(s)")


def main():
    if len(sys.argv) not in (3, 4):
        raise SystemExit(__doc__)
    tools = [os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])]
    here = os.path.dirname(os.path.abspath(__file__))
    refs = os.path.abspath(sys.argv[3]) if len(sys.argv) == 4 else os.path.join(here, "refs")
    os.makedirs(refs, exist_ok=True)
    instance = RealPostfix()
    work = os.path.join(instance.root, "work")
    os.makedirs(work)
    os.chmod(work, 0o755)
    try:
        instance.start()
        for group, settings in cases.SETTINGS.items():
            instance.write_main_cf(settings)
            instance.postfix("reload")
            time.sleep(1.5)  # running bounce processes finish with the old settings
            for case in cases.CASES:
                if case.settings == group:
                    capture_case(instance, tools, case, work, refs)
    finally:
        instance.stop()
        shutil.rmtree(instance.root, ignore_errors=True)


if __name__ == "__main__":
    main()
