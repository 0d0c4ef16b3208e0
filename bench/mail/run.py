#!/usr/bin/env python3
"""The mail path, Postern and real Postfix 3.7 side by side in one run (issue 13).

Each scenario drives an MTA with Postfix's smtp-source on loopback (one message per
session, one recipient) and counts what arrives: at Postfix's smtp-sink for the relay
scenarios (relayhost = [127.0.0.1]:SINK), in a local user's Maildir for the local one. Both
MTAs run with their defaults and durability on (a queue file is fsynced, file and directory
entry, before the 250), log to a maillog_file, and see the same load; runs alternate
Postern, Postfix, Postern, ... so that machine noise hits both alike.

Per run it measures:
  msgs/s         messages / (first connection .. last message counted and queue empty)
  CPU s/1000     user+system CPU of the MTA's process tree (master, its children, and the
                 children they reaped), per 1000 messages
  peak PSS       the largest sum of Pss over the MTA's processes, sampled every 0.2 s
and checks that exactly the number of messages sent arrived (no loss, no duplicate).

Postern runs from a build directory (an optimized one: build-release); Postfix from
Debian's package (/usr/sbin, /usr/lib/postfix/sbin). No DNS: nexthops are numeric and
bracketed, and Postern's resolver is a dnsmasq on loopback that answers the client's PTR
(localhost, as /etc/hosts tells Postfix).

usage: bench/mail/run.py BUILD_DIR [--messages N] [--repeat R] [--scenario NAME ...]
prints a Markdown table (median, min-max over the repetitions) and the ratios.
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

SOURCE_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(SOURCE_ROOT, "tests", "system", "lib"))
from dnsmasq import Dnsmasq  # noqa: E402
from instance import Instance, free_port, wait_for  # noqa: E402
from mail_instance import MailInstance  # noqa: E402
from smtp_sink import port_open  # noqa: E402

SMTP_SOURCE = "/usr/sbin/smtp-source"
SMTP_SINK = "/usr/sbin/smtp-sink"
REAL_POSTFIX = "/usr/sbin/postfix"
REAL_DAEMONS = "/usr/lib/postfix/sbin"
LOCAL_USER = "postern-bench"

# name: (delivery, message size in bytes, parallel sessions)
SCENARIOS = {
    "relay-1k-1": ("relay", 1024, 1),
    "relay-1k-20": ("relay", 1024, 20),
    "relay-1k-100": ("relay", 1024, 100),
    "relay-64k-20": ("relay", 65536, 20),
    "local-1k-20": ("local", 1024, 20),
}

COMMON_MAIN_CF = """\
mynetworks = 127.0.0.0/8
mydestination = bench.example, localhost
alias_maps =
alias_database =
home_mailbox = Maildir/
relayhost = [127.0.0.1]:{sink_port}
smtp_dns_support_level = disabled
"""


def ensure_local_user():
    if subprocess.run(["id", LOCAL_USER], capture_output=True).returncode != 0:
        subprocess.run(["useradd", "--create-home", "--home-dir", f"/home/{LOCAL_USER}",
                        "--shell", "/bin/sh", LOCAL_USER], check=True)
    maildir = f"/home/{LOCAL_USER}/Maildir"
    shutil.rmtree(maildir, ignore_errors=True)
    return os.path.join(maildir, "new")


def master_cf_with_smtpd(text, port):
    """Debian's master.cf with its `smtp inet` service on 127.0.0.1:PORT instead, and no
    chroot (Postern's instance runs without one too: the comparison is of the mail path)."""
    lines = []
    for line in text.splitlines():
        fields = line.split()
        if fields[:2] == ["smtp", "inet"]:
            line = f"127.0.0.1:{port} inet  n       -       n       -       -       smtpd"
        elif len(fields) >= 8 and not line[0].isspace() and not line.startswith("#") \
                and fields[4] == "y":
            fields[4] = "n"
            line = " ".join(fields)
        lines.append(line)
    return "\n".join(lines) + "\n"


class Mta:
    """One MTA instance (Postern from the build, or Debian's Postfix) on a private folder."""

    def __init__(self, kind, build_dir, sink_port, dns_port):
        self.kind = kind
        self.smtpd_port = free_port()
        main_cf = COMMON_MAIN_CF.format(sink_port=sink_port)
        if kind == "postern":
            os.environ.update(postern_environment(build_dir))
            main_cf += f"postern_dns_servers = 127.0.0.1:{dns_port}\n"
            smtpd = f"127.0.0.1:{self.smtpd_port} inet n - n - - smtpd\n"
            self.instance = MailInstance(main_cf=main_cf, extra_master_cf=smtpd)
        else:
            self.instance = Instance(REAL_POSTFIX, [])
            # Debian's daemons, as installed; its maillog_file must be allowed.
            self.instance.daemon_directory = REAL_DAEMONS
            self.instance.write_main_cf(main_cf +
                                        f"maillog_file_prefixes = {self.instance.root}\n")
            with open("/usr/share/postfix/master.cf.dist") as shipped:
                self.instance.write_master_cf(master_cf_with_smtpd(shipped.read(),
                                                                   self.smtpd_port))

    def start(self):
        if self.kind == "postern":
            self.instance.start()
        else:
            result = self.instance.run_postfix("start")
            if result.returncode != 0:
                raise SystemExit(f"postfix start: {result.stdout}{result.stderr}"
                                 f"\n{self.instance.log()[-2000:]}")
        if not wait_for(lambda: port_open(self.smtpd_port), timeout=20):
            raise SystemExit(f"{self.kind}: smtpd port {self.smtpd_port} not open\n"
                             f"{self.instance.log()[-2000:]}")

    def processes(self):
        master = self.instance.master_pid()
        if master is None:
            return []
        tree = [master]
        parents = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat") as stat:
                        parents[int(entry)] = int(stat.read().rsplit(")", 1)[1].split()[1])
                except OSError:
                    pass
        frontier = [master]
        while frontier:
            parent = frontier.pop()
            for pid, ppid in parents.items():
                if ppid == parent:
                    tree.append(pid)
                    frontier.append(pid)
        return tree

    def cpu_seconds(self):
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0
        for pid in self.processes():
            try:
                with open(f"/proc/{pid}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            # utime stime cutime cstime: fields 14-17 of stat(5), 12-15 after the name
            total += sum(int(value) for value in fields[11:15])
        return total / ticks

    def pss_kib(self):
        total = 0
        for pid in self.processes():
            try:
                with open(f"/proc/{pid}/smaps_rollup") as rollup:
                    for line in rollup:
                        if line.startswith("Pss:"):
                            total += int(line.split()[1])
                            break
            except OSError:
                continue
        return total

    def queue_empty(self):
        for queue in ("maildrop", "incoming", "active", "deferred", "hold"):
            for _, _, files in os.walk(os.path.join(self.instance.queue_directory, queue)):
                if files:
                    return False
        return True

    def sent_count(self):
        return self.instance.log().count("status=sent")

    def stop(self):
        self.instance.stop()


def postern_environment(build_dir):
    with open(os.path.join(build_dir, "meson-info", "intro-tests.json")) as tests:
        for test in json.load(tests):
            if test["name"] == "delivery":
                return test["env"]
    raise SystemExit(f"{build_dir}: no delivery test to take the program list from")


class Sink:
    def __init__(self, root):
        self.port = free_port()
        self.output = open(os.path.join(root, "sink.out"), "w+b")
        self.process = subprocess.Popen([SMTP_SINK, "-c", "-u", "postfix",
                                         f"127.0.0.1:{self.port}", "256"],
                                        stdout=self.output, stderr=subprocess.STDOUT)
        if not wait_for(lambda: port_open(self.port), timeout=10):
            raise SystemExit("smtp-sink did not start")

    def messages(self):
        """The sink's count of messages received (the mesg= of its -c counters)."""
        self.output.flush()
        with open(self.output.name, "rb") as counters:
            text = counters.read()
        found = re.findall(rb"mesg=(\d+)", text)
        return int(found[-1]) if found else 0

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)
        self.output.close()


def run_once(mta, scenario, messages, sink, maildir_new):
    delivery, size, sessions = SCENARIOS[scenario]
    recipient = f"{LOCAL_USER}@bench.example" if delivery == "local" else "bob@remote.example"
    before_sink = sink.messages()
    before_sent = mta.sent_count()
    before_maildir = len(os.listdir(maildir_new)) if os.path.isdir(maildir_new) else 0
    cpu_before = mta.cpu_seconds()
    peak = [0]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], mta.pss_kib())
            done.wait(0.2)

    sampler = threading.Thread(target=sample)
    sampler.start()
    started = time.monotonic()
    source = subprocess.run([SMTP_SOURCE, "-s", str(sessions), "-m", str(messages),
                             "-l", str(size), "-f", "alice@bench.example", "-t", recipient,
                             f"127.0.0.1:{mta.smtpd_port}"], capture_output=True, timeout=600)
    if source.returncode != 0:
        done.set()
        sampler.join()
        raise SystemExit(f"{mta.kind}: smtp-source failed: {source.stderr!r}")

    def arrived():
        if delivery == "local":
            return len(os.listdir(maildir_new)) - before_maildir if os.path.isdir(maildir_new) else 0
        return sink.messages() - before_sink

    wait_for(lambda: arrived() >= messages and mta.queue_empty(), timeout=600, interval=0.02)
    elapsed = time.monotonic() - started
    done.set()
    sampler.join()
    # Late duplicates would show up here: give stragglers a moment, then count again.
    time.sleep(0.5)
    count = arrived()
    sent = mta.sent_count() - before_sent
    cpu = mta.cpu_seconds() - cpu_before
    return {"rate": messages / elapsed, "cpu": cpu * 1000 / messages, "pss": peak[0] / 1024,
            "arrived": count, "sent_lines": sent}


def summary(values):
    return statistics.median(values), min(values), max(values)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("build_dir")
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--scenario", action="append", choices=sorted(SCENARIOS))
    options = parser.parse_args()
    scenarios = options.scenario or list(SCENARIOS)
    root = tempfile.mkdtemp(prefix="postern-bench-")
    os.chmod(root, 0o755)
    maildir_new = ensure_local_user()
    sink = Sink(root)
    dns = Dnsmasq(hosts=[("localhost", "127.0.0.1")], local=["localhost"])
    dns.start()
    mtas = {}
    problems = []
    results = {(kind, name): [] for kind in ("postern", "postfix") for name in scenarios}
    try:
        for kind in ("postern", "postfix"):
            mtas[kind] = Mta(kind, os.path.abspath(options.build_dir), sink.port, dns.port)
            mtas[kind].start()
        for name in scenarios:
            for repetition in range(options.repeat):
                for kind in ("postern", "postfix"):
                    result = run_once(mtas[kind], name, options.messages, sink, maildir_new)
                    results[(kind, name)].append(result)
                    counted = (result["arrived"], result["sent_lines"])
                    status = "ok" if counted == (options.messages,) * 2 else "COUNT MISMATCH"
                    if status != "ok":
                        problems.append(f"{kind} {name} run {repetition + 1}: "
                                        f"{result['arrived']} arrived and {result['sent_lines']} "
                                        f"status=sent lines for {options.messages} sent")
                    print(f"{name:14} {kind:8} run {repetition + 1}: {result['rate']:7.0f} msgs/s "
                          f"{result['cpu']:5.2f} CPU-s/1000 {result['pss']:6.1f} MB peak PSS "
                          f"({result['arrived']} arrived, {status})", flush=True)
    finally:
        for mta in mtas.values():
            mta.stop()
        sink.stop()
        dns.stop()
        shutil.rmtree(root, ignore_errors=True)

    print()
    print(f"{options.messages} messages per run, {options.repeat} runs each, median (min-max)")
    print()
    print("| scenario | Postern msgs/s | Postfix msgs/s | ratio | Postern CPU-s/1000 | "
          "Postfix CPU-s/1000 | ratio | Postern peak PSS | Postfix peak PSS | ratio |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name in scenarios:
        cells = [name]
        for metric, unit, digits in (("rate", "", 0), ("cpu", "", 2), ("pss", " MB", 0)):
            ours = summary([run[metric] for run in results[("postern", name)]])
            theirs = summary([run[metric] for run in results[("postfix", name)]])
            for value in (ours, theirs):
                cells.append(f"{value[0]:.{digits}f}{unit} ({value[1]:.{digits}f}-"
                             f"{value[2]:.{digits}f})")
            cells.append(f"{ours[0] / theirs[0]:.2f}x" if theirs[0] else "-")
        print("| " + " | ".join(cells) + " |")
    if problems:
        print("\nlost or duplicated messages:\n  " + "\n  ".join(problems))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
