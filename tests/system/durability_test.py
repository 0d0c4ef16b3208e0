#!/usr/bin/env python3
"""The durability promise of DESIGN.md ("The queue"), shown with kill -9: a stream of
sendmail submissions runs while the test SIGKILLs processes of the instance at random
moments (postdrop, and master and its children: pickup, cleanup, trivial-rewrite), and
restarts master whenever it was killed. A message counts as acknowledged when sendmail
exited 0. Afterwards every acknowledged message must be in the queue (maildrop/ or
incoming/: the instance has no qmgr, so mail stays there), complete, readable by postcat,
with its body intact. Duplicates are allowed (a crash between cleanup's commit and pickup's
unlink queues a message twice); a loss is not.

Only processes of this instance are killed: its master (by its pid file), that master's
children (by their parent PID in /proc), and the instance's own copy of postdrop (by the
path of its executable). Children left behind by a killed master are stopped by PID at
the end, after checking that the PID still names the same process.

A test that a corrupt queue file goes to corrupt/ with a log line is in qmgr_test.py
(test_corrupt_and_unfinished_files): that is where qmgr meets queue files.

usage: durability_test.py [TEST-NAME...]
"""
import os
import random
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from test_runner import check, run_tests  # noqa: E402
from mail_instance import MailInstance, process_alive, wait_until  # noqa: E402

SELECTED = sys.argv[1:]

SERVICES = [
    "pickup    unix  n       -       n       1       1       pickup",
    "cleanup   unix  n       -       n       -       0       cleanup",
    "rewrite   unix  -       -       n       -       -       trivial-rewrite",
]
MESSAGES = int(os.environ.get("DURABILITY_MESSAGES", "120"))
SEED = int(os.environ.get("DURABILITY_SEED", str(int(time.time()))))


# ---- messages that carry their own checksum ----

def body_lines(token):
    generator = random.Random(token)
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 "
    return [f"{token} line {number}: " + "".join(generator.choice(alphabet)
                                                  for _ in range(generator.randint(0, 300)))
            for number in range(generator.randint(1, 200))]


def message_bytes(token):
    head = f"Subject: durability {token}\nX-Token: {token}\n\n"
    return (head + "\n".join(body_lines(token)) + "\n").encode()


# ---- queue files, parsed here so that a broken file cannot hide behind a tool ----

def parse_records(data):
    records, at = [], 0
    while at < len(data):
        record_type = chr(data[at])
        at += 1
        length, shift = 0, 0
        while True:
            check(at < len(data), "truncated length")
            byte = data[at]
            at += 1
            length |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
        check(at + length <= len(data), "truncated record")
        records.append((record_type, data[at:at + length]))
        at += length
    return records


def content_lines(records):
    """The message lines between M and X, long lines joined."""
    lines, piece, inside = [], b"", False
    for record_type, data in records:
        if record_type == "M":
            inside = True
        elif record_type == "X":
            break
        elif inside and record_type == "L":
            piece += data
        elif inside and record_type == "N":
            lines.append((piece + data).decode(errors="replace"))
            piece = b""
    return lines


def intact_token(path):
    """The token of a complete queue or maildrop file whose body is intact, else None."""
    with open(path, "rb") as file:
        records = parse_records(file.read())
    check(records and records[-1][0] == "E", f"{path}: no end record")
    lines = content_lines(records)
    tokens = [line.split(": ", 1)[1] for line in lines if line.startswith("X-Token: ")]
    check(len(tokens) == 1, f"{path}: X-Token lines {tokens}")
    token = tokens[0]
    body = lines[lines.index("") + 1:]
    check(body == body_lines(token), f"{path}: the body of {token} is not intact")
    return token


# ---- the processes of this instance ----

def proc_stat(pid):
    """(parent PID, start time) from /proc/PID/stat, or None."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return int(fields[1]), int(fields[19])
    except (OSError, IndexError, ValueError):
        return None


def all_pids():
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


class Killer:
    """SIGKILLs a random process of the instance every few tens of milliseconds."""

    def __init__(self, instance, generator):
        self.instance = instance
        self.generator = generator
        self.postdrop = os.path.realpath(instance.command("postdrop"))
        self.stopping = threading.Event()
        self.kills = {"postdrop": 0, "master": 0, "child": 0}
        self.children_seen = {}  # pid -> start time: children of masters we killed
        self.error = None

    def candidates(self):
        master = self.instance.master_pid()
        master = master if master and process_alive(master) else None
        found = []
        for pid in all_pids():
            stat = proc_stat(pid)
            if stat is None:
                continue
            if master and stat[0] == master:
                found.append(("child", pid, stat[1]))
                continue
            try:
                if os.readlink(f"/proc/{pid}/exe") == self.postdrop:
                    found.append(("postdrop", pid, stat[1]))
            except OSError:
                pass
        return master, found

    def kill_once(self):
        master, found = self.candidates()
        for kind, pid, started in found:
            if kind == "child":
                self.children_seen[pid] = started
        choice = self.generator.random()
        if master and choice < 0.12:
            os.kill(master, signal.SIGKILL)
            self.kills["master"] += 1
            wait_until(lambda: not process_alive(master), timeout=10, what="master's death")
            self.restart()
            return
        if found:
            kind, pid, _ = self.generator.choice(found)
            try:
                os.kill(pid, signal.SIGKILL)
                self.kills[kind] += 1
            except ProcessLookupError:
                pass

    def restart(self):
        result = self.instance.run_postfix("start")
        if result.returncode != 0 and not self.instance.master_pid():
            raise AssertionError(f"restart failed: {result.stdout}{result.stderr}")
        wait_until(lambda: self.instance.master_pid() and process_alive(self.instance.master_pid()),
                   timeout=10, what="master after restart")

    def run(self):
        try:
            while not self.stopping.is_set():
                time.sleep(self.generator.uniform(0.02, 0.25))
                self.kill_once()
        except Exception as error:  # noqa: BLE001 - reported by the test thread
            self.error = error

    def leftovers(self):
        """Children of killed masters that still run (same PID, same start time)."""
        return [pid for pid, started in self.children_seen.items()
                if (stat := proc_stat(pid)) is not None and stat[1] == started
                and stat[0] != self.instance.master_pid()]


def queued_files(instance):
    """Complete files of maildrop/ and the message queues."""
    found = []
    for queue in ("maildrop", "incoming", "active", "deferred", "hold"):
        for directory, _, names in os.walk(os.path.join(instance.queue_directory, queue)):
            for name in names:
                path = os.path.join(directory, name)
                try:
                    if os.stat(path).st_mode & 0o100:
                        found.append(path)
                except OSError:
                    pass
    return found


def test_acknowledged_messages_survive_sigkill():
    generator = random.Random(SEED)
    # A daemon killed at start-up gets master to throttle its service; a short throttle
    # keeps pickup draining maildrop/ during the test.
    with MailInstance(main_cf="service_throttle_time = 1s\n", services=SERVICES) as instance:
        instance.start()
        killer = Killer(instance, generator)
        thread = threading.Thread(target=killer.run)
        thread.start()
        acknowledged, refused = [], 0
        try:
            for number in range(MESSAGES):
                token = f"T{SEED}x{number}"
                result = instance.run("sendmail", "-f", "a@x", "b@y", input=message_bytes(token))
                if result.returncode == 0:
                    acknowledged.append(token)
                else:
                    refused += 1
        finally:
            killer.stopping.set()
            thread.join(timeout=60)
        check(killer.error is None, f"killer: {killer.error!r}\nlog:\n{instance.log()}")
        print(f"seed {SEED}: {len(acknowledged)} acknowledged, {refused} refused, kills "
              f"{killer.kills}", flush=True)
        check(killer.kills["postdrop"] + killer.kills["child"] > 0 and killer.kills["master"] > 0,
              f"too few kills to show anything: {killer.kills}")
        check(len(acknowledged) >= MESSAGES // 3, f"only {len(acknowledged)} acknowledged")
        for pid in killer.leftovers():
            os.kill(pid, signal.SIGKILL)
        if not (instance.master_pid() and process_alive(instance.master_pid())):
            killer.restart()
        # pickup moves what waits in maildrop/ into incoming/; what is still there after a
        # while counts too (the promise is "in the queue or in maildrop/").
        # (A postdrop killed while writing leaves an unfinished 0644 file, which pickup
        # leaves alone: only complete ones are waited for.)
        maildrop = os.path.join(instance.queue_directory, "maildrop")
        wait_until(lambda: not [path for path in queued_files(instance)
                                if path.startswith(maildrop + "/")], timeout=30,
                   what="maildrop drained after the restart",
                   log=lambda: f"{instance.all_queued()}\n{instance.log()[-5000:]}")
        found = {}
        for path in queued_files(instance):
            found.setdefault(intact_token(path), []).append(path)
        lost = [token for token in acknowledged if token not in found]
        check(not lost, f"seed {SEED}: {len(lost)} acknowledged messages lost: {lost[:10]}"
              f"\nlog:\n{instance.log()[-6000:]}")
        # The tools read them too: postcat on each file of incoming/.
        for paths in found.values():
            for path in paths:
                result = instance.run("postcat", path)
                check(result.returncode == 0 and b"X-Token: " in result.stdout,
                      f"postcat {path}: {result}")


def main():
    return run_tests(globals(), SELECTED)


if __name__ == "__main__":
    sys.exit(main())
