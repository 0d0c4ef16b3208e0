#!/usr/bin/env python3
"""System tests for qmgr, the queue manager, on whole instances (mail_instance.py): real
master, qmgr, error/retry, discard and bounce daemons where the build has them, and
test-agent (tests/qmgr/test_agent.cpp, a delivery agent over lib/queue/delivery_agent.hpp
that logs every connection, request and delivery) for what the real agents cannot show:
concurrency, connection reuse, deliveries counted once.

Messages are written straight into incoming/ (or active/, hold/) by qmgr-queue-writer
(lib/queue's writer, as cleanup writes them), so the tests do not depend on sendmail.

usage: qmgr_test.py TEST-AGENT QUEUE-WRITER [TEST-NAME...]
(QMGR_TEST_SHOW_LOG=1 prints the maillog of a plain delivery and of a missing transport.)
"""
import collections
import os
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from test_runner import check, run_tests  # noqa: E402
from mail_instance import MailInstance, process_alive, wait_until  # noqa: E402

TEST_AGENT, QUEUE_WRITER, *SELECTED = sys.argv[1:]

# Transports: test-agent services with different limits, and names with no service.
AGENT_SERVICES = """\
testagent unix - - n - 4 test-agent {log}
testflaky unix - - n - 2 test-agent {log} failfile={root}/agent.fail
testslow  unix - - n - 3 test-agent {log} sleep=400
testdead  unix - - n - 2 test-agent {log}
"""
TRANSPORTS = """\
agent.example      testagent:
flaky.example      testflaky:
slow1.example      testslow:
slow2.example      testslow:
deadhost.example   testdead:
bogus.example      nosuchtransport:
discard.example    discard:
error.example      error:5.1.1 no such place
retry.example      retry:
"""
MAIN_CF = """\
transport_maps = texthash:{root}/transport
mydestination = test.example, localhost
testslow_destination_concurrency_limit = 2
testslow_initial_destination_concurrency = 2
testdead_initial_destination_concurrency = 1
testdead_destination_concurrency_limit = 1
delay_logging_resolution_limit = 3
"""


class QmgrInstance(MailInstance):
    """A MailInstance with test-agent services and the transport table above."""

    def __init__(self, main_cf="", agent_services=AGENT_SERVICES):
        self.agent_log_path = None
        super().__init__(main_cf="", extra_master_cf="")
        self.agent_log_path = os.path.join(self.root, "agent.log")
        os.symlink(os.path.abspath(TEST_AGENT), os.path.join(self.daemon_directory, "test-agent"))
        with open(os.path.join(self.root, "transport"), "w") as table:
            table.write(TRANSPORTS)
        self.write_main_cf(f"command_directory = {self.command_directory}\n"
                           + MAIN_CF.format(root=self.root) + main_cf)
        with open(os.path.join(self.config_directory, "master.cf"), "a") as master_cf:
            master_cf.write(agent_services.format(log=self.agent_log_path, root=self.root))

    def has_daemon(self, name):
        return os.path.exists(os.path.join(self.daemon_directory, name))

    def write(self, recipients, sender="sender@test.example", count=1, queue="incoming",
              age=None, warning=None, notify=None):
        argv = [QUEUE_WRITER, "-c", self.config_directory, "-n", str(count), "-q", queue,
                "-f", sender]
        if age is not None:
            argv += ["-a", str(age)]
        if warning is not None:
            argv += ["-w", str(warning)]
        if notify is not None:
            argv += ["-N", notify]
        result = subprocess.run(argv + list(recipients), capture_output=True, text=True,
                                timeout=120)
        check(result.returncode == 0, f"queue writer: {result.stderr}")
        return result.stdout.split()

    def trigger(self, request=b"I"):
        """Writes a trigger to public/qmgr, as cleanup and postqueue do."""
        path = os.path.join(self.queue_directory, "public", "qmgr")
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.connect(path)
            client.sendall(request)

    def agent_log(self):
        try:
            with open(self.agent_log_path) as log:
                return [line.split() for line in log if line.strip()]
        except OSError:
            return []

    def deliveries(self):
        return collections.Counter((fields[2], fields[3]) for fields in self.agent_log()
                                   if fields[0] == "deliver")

    def qmgr_pid(self):
        for pid in self.children():
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                    argv0 = cmdline.read().split(b"\0")[0]
            except OSError:
                continue
            if os.path.basename(argv0) == b"qmgr":
                return pid
        return None

    def defer_log(self, queue_id):
        for directory, _, files in os.walk(os.path.join(self.queue_directory, "defer")):
            if queue_id in files:
                with open(os.path.join(directory, queue_id)) as log:
                    return log.read()
        return ""

    def wait_log(self, text, timeout=20.0, count=1):
        wait_until(lambda: self.log().count(text) >= count, timeout=timeout,
                   what=f"{count} x {text!r} in the log", log=self.log)

    def wait_gone(self, queue_id, timeout=20.0):
        wait_until(lambda: not any(queue_id in ids for ids in self.all_queued().values()),
                   timeout=timeout, what=f"{queue_id} to leave the queue", log=self.log)
        # qmgr logs "ID: removed" just after the unlink: give the line a moment to arrive, so
        # that the callers' checks of it do not race (they still fail when it never comes).
        deadline = time.monotonic() + 5
        while f"{queue_id}: removed" not in self.log() and time.monotonic() < deadline:
            time.sleep(0.05)

    def queue_of(self, queue_id):
        for queue, ids in self.all_queued(("incoming", "active", "deferred", "hold",
                                           "corrupt")).items():
            if queue_id in ids:
                return queue
        return None


def max_overlap(log, key=lambda fields: "all"):
    """The most requests in progress at once, per key, from start/end lines."""
    events = []
    for fields in log:
        if fields[0] in ("start", "end"):
            events.append((float(fields[1]), 0 if fields[0] == "end" else 1, key(fields)))
    events.sort()
    running = collections.Counter()
    highest = collections.Counter()
    for _, starting, name in events:
        running[name] += 1 if starting else -1
        highest[name] = max(highest[name], running[name])
    return highest


# ---- the tests ----

def test_delivered_and_removed():
    with QmgrInstance() as instance:
        instance.start()
        ids = instance.write(["one@agent.example", "two@agent.example"])
        instance.trigger(b"I")
        instance.wait_gone(ids[0])
        log = instance.log()
        check(f"{ids[0]}: from=<sender@test.example>, size=" in log and
              "nrcpt=2 (queue active)" in log, f"no queue active line\n{log}")
        check(f"{ids[0]}: removed" in log, f"no removed line\n{log}")
        deliveries = instance.deliveries()
        check(deliveries[(ids[0], "one@agent.example")] == 1 and
              deliveries[(ids[0], "two@agent.example")] == 1, f"deliveries: {deliveries}")
        check(f"{ids[0]}: to=<one@agent.example>, relay=test-agent" in log, log)
        if os.environ.get("QMGR_TEST_SHOW_LOG"):
            print(log)


def test_sendmail_to_agent():
    # The whole way in: sendmail -> postdrop -> pickup -> cleanup (which wakes qmgr).
    with QmgrInstance() as instance:
        for daemon in ("pickup", "cleanup"):
            check(instance.has_daemon(daemon), f"the {daemon} daemon is not built")
        instance.start()
        for i in range(5):
            instance.sendmail(["-f", "sender@test.example", f"user{i}@agent.example"],
                              f"Subject: {i}\n\nbody {i}\n".encode())
        wait_until(lambda: sum(1 for f in instance.agent_log() if f[0] == "deliver") >= 5,
                   timeout=30, what="5 deliveries", log=instance.log)
        instance.wait_for_queue_empty(timeout=20)
        recipients = sorted(rcpt for (_, rcpt), n in instance.deliveries().items() if n == 1)
        check(recipients == [f"user{i}@agent.example" for i in range(5)], recipients)


def test_discard_delivers_and_removes():
    with QmgrInstance() as instance:
        check(instance.has_daemon("discard"), "the discard daemon is not built")
        instance.start()
        ids = instance.write(["user@discard.example"])
        instance.trigger()
        instance.wait_gone(ids[0])
        log = instance.log()
        check(f"{ids[0]}: to=<user@discard.example>" in log and "status=sent" in log, log)
        check(f"{ids[0]}: removed" in log, log)


def test_error_bounces_through_bounce_log_and_flush():
    with QmgrInstance() as instance:
        for daemon in ("error", "bounce", "cleanup"):
            check(instance.has_daemon(daemon), f"the {daemon} daemon is not built")
        instance.start()
        ids = instance.write(["user@error.example"])
        instance.trigger()
        instance.wait_gone(ids[0], timeout=30)
        log = instance.log()
        check(f"{ids[0]}: to=<user@error.example>" in log and "status=bounced (no such place)"
              in log, log)
        check(f"{ids[0]}: sender non-delivery notification:" in log, log)
        check(f"{ids[0]}: removed" in log, log)


def test_failed_bounce_notice_keeps_the_message():
    # The bounce service is out of reach: the message whose recipient bounced must stay
    # (in deferred/, its bounce log kept) until the notice can be sent.
    with QmgrInstance(main_cf="bounce_service_name = nosuchbounce\n") as instance:
        instance.start()
        ids = instance.write(["bounce-me@agent.example"])
        instance.trigger()
        wait_until(lambda: instance.queue_of(ids[0]) == "deferred", timeout=20,
                   what="the message in deferred/", log=instance.log)
        log = instance.log()
        check("status=bounced (test bounce)" in log, log)
        check(f"{ids[0]}: flush request to private/nosuchbounce failed:" in log, log)
        check(f"{ids[0]}: removed" not in log, log)
        check(os.path.exists(os.path.join(instance.queue_directory, "bounce", ids[0])),
              "the bounce log is gone")
        # The next attempt finds every recipient done and asks again.
        instance.trigger(b"A")
        instance.wait_log(f"{ids[0]}: flush request to private/nosuchbounce failed:", count=2)
        check(instance.deliveries()[(ids[0], "bounce-me@agent.example")] == 0,
              instance.deliveries())
        check(instance.log().count("status=bounced (test bounce)") == 1, instance.log())


def test_agent_bounce_is_flushed_then_removed():
    with QmgrInstance() as instance:
        for daemon in ("bounce", "cleanup"):
            check(instance.has_daemon(daemon), f"the {daemon} daemon is not built")
        instance.start()
        ids = instance.write(["bounce-me@agent.example"])
        instance.trigger()
        instance.wait_gone(ids[0], timeout=30)
        log = instance.log()
        check(f"{ids[0]}: sender non-delivery notification:" in log, log)
        check(f"{ids[0]}: removed" in log, log)


def test_missing_transport_defers():
    with QmgrInstance() as instance:
        instance.start()
        ids = instance.write(["user@bogus.example"])
        instance.trigger()
        wait_until(lambda: instance.queue_of(ids[0]) == "deferred", timeout=20,
                   what="the message in deferred/", log=instance.log)
        log = instance.log()
        check("warning: connect to transport private/nosuchtransport: No such file or directory"
              in log, log)
        check(f"{ids[0]}: to=<user@bogus.example>" in log and
              "dsn=4.3.0, status=deferred (mail transport unavailable)" in log, log)
        check("reason=mail transport unavailable" in instance.defer_log(ids[0]),
              f"defer log: {instance.defer_log(ids[0])!r}")
        if os.environ.get("QMGR_TEST_SHOW_LOG"):
            print(log)


def test_temporary_failure_defers_and_postqueue_f_retries():
    with QmgrInstance() as instance:
        instance.start()
        fail_file = os.path.join(instance.root, "agent.fail")
        open(fail_file, "w").close()
        ids = instance.write(["user@flaky.example"])
        instance.trigger()
        wait_until(lambda: instance.queue_of(ids[0]) == "deferred", timeout=20,
                   what="the message in deferred/", log=instance.log)
        check("reason=test failure file present" in instance.defer_log(ids[0]),
              instance.defer_log(ids[0]))
        # The next attempt is minimal_backoff_time away: only a flush brings it back now.
        path = [os.path.join(d, ids[0]) for d, _, files in
                os.walk(os.path.join(instance.queue_directory, "deferred")) if ids[0] in files][0]
        check(os.stat(path).st_mtime >= time.time() + 250, "no backoff time on the file")
        check(os.path.exists(instance.command("postqueue")), "postqueue is not built")
        listing = instance.run("postqueue", "-p")
        text = listing.stdout.decode(errors="replace")
        check(ids[0] in text and "(test failure file present)" in text,
              f"postqueue -p: {listing.returncode} {text!r} {listing.stderr!r}")
        instance.trigger(b"D")  # a deferred scan respects the time: nothing happens
        time.sleep(1)
        check(instance.log().count(f"{ids[0]}: from=<") == 1, instance.log())
        os.unlink(fail_file)
        flushed = instance.run("postqueue", "-f")
        check(flushed.returncode == 0, f"postqueue -f: {flushed.stderr!r}")
        instance.wait_gone(ids[0])
        check(instance.log().count(f"{ids[0]}: from=<") == 2, instance.log())
        check(instance.deliveries()[(ids[0], "user@flaky.example")] == 1, instance.deliveries())
        check(f"{ids[0]}: removed" in instance.log(), instance.log())


def test_postfix_flush_retries_deferred_mail():
    """`postfix flush` (the seed's way after fixing a problem) runs postqueue -f."""
    with QmgrInstance() as instance:
        instance.start()
        fail_file = os.path.join(instance.root, "agent.fail")
        open(fail_file, "w").close()
        ids = instance.write(["user@flaky.example"])
        instance.trigger()
        wait_until(lambda: instance.queue_of(ids[0]) == "deferred", timeout=20,
                   what="the message in deferred/", log=instance.log)
        os.unlink(fail_file)
        flushed = instance.run("postfix", "flush")
        check(flushed.returncode == 0, f"postfix flush: {flushed.returncode} {flushed.stderr!r}")
        instance.wait_gone(ids[0])
        check(instance.deliveries()[(ids[0], "user@flaky.example")] == 1, instance.deliveries())


def test_retry_transport_defers():
    with QmgrInstance() as instance:
        check(instance.has_daemon("error"), "the error daemon (retry) is not built")
        instance.start()
        ids = instance.write(["user@retry.example"])
        instance.trigger()
        wait_until(lambda: instance.queue_of(ids[0]) == "deferred", timeout=20,
                   what="the message in deferred/", log=instance.log)
        check(f"{ids[0]}: to=<user@retry.example>" in instance.log(), instance.log())


def test_expired_message_is_returned():
    with QmgrInstance(main_cf="maximal_queue_lifetime = 1h\n") as instance:
        for daemon in ("bounce", "cleanup"):
            check(instance.has_daemon(daemon), f"the {daemon} daemon is not built")
        instance.start()
        ids = instance.write(["defer-old@agent.example"], age=7200)
        instance.trigger()
        instance.wait_log(f"{ids[0]}: from=<sender@test.example>, status=expired, "
                          "returned to sender")
        instance.wait_gone(ids[0], timeout=30)
        check(f"{ids[0]}: removed" in instance.log(), instance.log())


def returned_notice(instance, known, what):
    """The text of the one non-delivery notice queued besides `known` (it waits in deferred/:
    its recipient's domain has no transport)."""
    def notice():
        queued = {queue_id for ids in instance.all_queued().values() for queue_id in ids}
        new = queued - set(known)
        return new if new else None
    [notice_id] = wait_until(notice, timeout=30, what=what, log=instance.log)
    text = instance.run("postcat", "-q", notice_id).stdout.decode(errors="replace")
    return notice_id, text


def test_postsuper_forced_expiry_returns_mail():
    """postsuper -f on a deferred message, then postqueue -f: no new attempt, the sender gets
    the deferral reason back. A held message stays held with -e; -f returns it too."""
    with QmgrInstance() as instance:
        for daemon in ("bounce", "cleanup"):
            check(instance.has_daemon(daemon), f"the {daemon} daemon is not built")
        instance.start()
        open(os.path.join(instance.root, "agent.fail"), "w").close()
        sender = "sender@bogus.example"
        ids = instance.write(["user@flaky.example"], sender=sender)
        held = instance.write(["held@agent.example"], sender=sender, queue="hold")
        instance.trigger()
        wait_until(lambda: instance.queue_of(ids[0]) == "deferred", timeout=20,
                   what="the message in deferred/", log=instance.log)
        attempts = len([f for f in instance.agent_log() if ids[0] in f])
        result = instance.run("postsuper", "-f", ids[0])
        check(result.stderr.decode() == f"postsuper: {ids[0]}: expired\npostsuper: Force-expired: "
              "1 message\npostsuper: Released from hold: 0 messages\n", result)
        listing = instance.run("postqueue", "-j").stdout.decode()
        check('"forced_expire": true' in listing, listing)
        check(instance.run("postqueue", "-f").returncode == 0, "postqueue -f")
        instance.wait_log(f"{ids[0]}: from=<{sender}>, status=expired, returned to sender")
        instance.wait_gone(ids[0], timeout=30)
        check(len([f for f in instance.agent_log() if ids[0] in f]) == attempts,
              f"a delivery attempt after -f: {instance.agent_log()}")
        notice_id, text = returned_notice(instance, ids + held, "the non-delivery notice")
        check("user@flaky.example" in text and "test failure file present" in text, text)
        # -e: marked, but mail on hold is never scheduled.
        result = instance.run("postsuper", "-e", held[0])
        check(result.stderr.decode() == f"postsuper: {held[0]}: expired\n"
              "postsuper: Force-expired: 1 message\n", result)
        instance.run("postqueue", "-f")
        time.sleep(1)
        check(instance.queue_of(held[0]) == "hold", f"held message: {instance.all_queued()}")
        check(f"{held[0]}: from=" not in instance.log(), instance.log())
        # -f: released (still marked), returned with Postfix's reason.
        result = instance.run("postsuper", "-f", held[0])
        check(result.stderr.decode() == f"postsuper: {held[0]}: released from hold\n"
              "postsuper: Force-expired: 0 messages\npostsuper: Released from hold: 1 message\n",
              result)
        instance.run("postqueue", "-f")
        instance.wait_log(f"{held[0]}: from=<{sender}>, status=expired, returned to sender")
        instance.wait_gone(held[0], timeout=30)
        check("dsn=4.7.0, status=deferred (message is administratively expired)"
              in instance.log(), instance.log())
        check(not any(f[0] == "deliver" and f[2] == held[0] for f in instance.agent_log()),
              instance.agent_log())
        _, text = returned_notice(instance, ids + held + [notice_id], "the second notice")
        check("held@agent.example" in text and "message is administratively expired" in text,
              text)


def test_delay_warning_is_sent_once():
    with QmgrInstance() as instance:
        for daemon in ("bounce", "cleanup"):
            check(instance.has_daemon(daemon), f"the {daemon} daemon is not built")
        instance.start()
        ids = instance.write(["defer-slowly@agent.example"], warning=0)
        instance.trigger()
        instance.wait_log(f"{ids[0]}: sender delay notification:")
        wait_until(lambda: instance.queue_of(ids[0]) == "deferred", timeout=20,
                   what="the message in deferred/", log=instance.log)
        instance.trigger(b"A")
        instance.wait_log(f"{ids[0]}: from=<sender@test.example>", count=2)
        wait_until(lambda: instance.queue_of(ids[0]) == "deferred", timeout=20,
                   what="deferred again", log=instance.log)
        check(instance.log().count(f"{ids[0]}: sender delay notification:") == 1, instance.log())


def test_hold_is_never_scheduled():
    with QmgrInstance() as instance:
        instance.start()
        held = instance.write(["held@agent.example"], queue="hold")
        other = instance.write(["other@agent.example"])
        instance.trigger(b"FADI\0")
        instance.wait_gone(other[0])
        time.sleep(0.5)
        check(instance.queue_of(held[0]) == "hold", f"held message: {instance.all_queued()}")
        check(f"{held[0]}:" not in instance.log(), instance.log())


def test_corrupt_and_unfinished_files():
    import pwd
    postfix = pwd.getpwnam("postfix")
    with QmgrInstance() as instance:
        instance.start()
        incoming = os.path.join(instance.queue_directory, "incoming")

        def plant(name, data, mode):
            temporary = os.path.join(incoming, "123.456")
            with open(temporary, "wb") as out:
                out.write(data)
            os.chown(temporary, postfix.pw_uid, postfix.pw_gid)
            os.chmod(temporary, mode)
            os.rename(temporary, os.path.join(incoming, name))

        plant("ABCDE123456", b"C\x05garbage and more garbage", 0o700)  # complete but corrupt
        plant("BCDEF234567", b"C\x05still being written", 0o600)       # no owner-execute bit
        good = instance.write(["fine@agent.example"])
        instance.trigger(b"I")
        instance.wait_gone(good[0])
        wait_until(lambda: instance.queue_of("ABCDE123456") == "corrupt", timeout=10,
                   what="the corrupt file in corrupt/", log=instance.log)
        check('warning: saving corrupt file "ABCDE123456" from queue "active" to queue '
              '"corrupt"' in instance.log(), instance.log())
        check(instance.queue_of("BCDEF234567") == "incoming", instance.all_queued())
        check("BCDEF234567" not in instance.log(), instance.log())


def test_concurrency_and_process_limits():
    with QmgrInstance() as instance:
        instance.start()
        ids = []
        for domain in ("slow1.example", "slow2.example"):
            ids += instance.write([f"user@{domain}"], count=8)
        instance.trigger()
        for queue_id in ids:
            instance.wait_gone(queue_id, timeout=40)
        log = [fields for fields in instance.agent_log()]
        per_destination = max_overlap(log, key=lambda fields: fields[4])
        overall = max_overlap(log)
        # testslow: 3 processes; 2 at once per destination.
        check(overall["all"] <= 3, f"more than 3 requests at once: {overall}")
        check(overall["all"] == 3, f"the process limit was not used: {overall}")
        check(max(per_destination.values()) <= 2, f"per destination: {per_destination}")
        requests = sum(1 for fields in log if fields[0] == "start")
        connections = sum(1 for fields in log if fields[0] == "connect")
        check(requests == 16, f"{requests} requests")
        check(connections < requests, f"connections not reused: {connections} for {requests}")
        check(all(count == 1 for count in instance.deliveries().values()), instance.deliveries())


def test_dead_destination_suspends_its_mail():
    with QmgrInstance() as instance:
        instance.start()
        ids = instance.write(["dead-1@deadhost.example"], count=4)
        instance.trigger()
        for queue_id in ids:
            wait_until(lambda: instance.queue_of(queue_id) == "deferred", timeout=20,
                       what=f"{queue_id} deferred", log=instance.log)
        log = instance.log()
        requests = [fields for fields in instance.agent_log() if fields[0] == "start"]
        # Window 1, one failed cohort: the first failure kills it; the rest never go.
        check(len(requests) == 1, f"requests to the dead destination: {requests}")
        check(log.count("status=deferred (delivery temporarily suspended: test destination "
                        "is down)") == 3, log)
        suspended = [queue_id for queue_id in ids
                     if "delivery temporarily suspended" in instance.defer_log(queue_id)]
        check(len(suspended) == 3, f"defer logs: {[instance.defer_log(i) for i in ids]}")


def test_active_queue_recovered_at_start():
    with QmgrInstance() as instance:
        # Before the instance runs: as if a crash had left these in active/.
        os.makedirs(os.path.join(instance.queue_directory, "active"), exist_ok=True)
        instance.run_postfix("set-permissions")
        ids = instance.write(["recovered@agent.example"], queue="active")
        instance.start()
        instance.wait_gone(ids[0])
        check(instance.deliveries()[(ids[0], "recovered@agent.example")] == 1,
              instance.deliveries())


def test_sigkill_mid_delivery_loses_nothing_and_delivers_once():
    agents = "testslow unix - - n - 8 test-agent {log} sleep=3000\n"
    with QmgrInstance(agent_services=agents,
                      main_cf="testslow_initial_destination_concurrency = 8\n"
                              "testslow_destination_concurrency_limit = 8\n") as instance:
        instance.start()
        ids = instance.write(["a@slow1.example", "b@slow1.example"], count=6)
        instance.trigger()
        wait_until(lambda: sum(1 for f in instance.agent_log() if f[0] == "start") >= 3,
                   timeout=20, what="deliveries in progress", log=instance.log)
        qmgr = instance.qmgr_pid()
        check(qmgr is not None, "no qmgr process")
        os.kill(qmgr, signal.SIGKILL)
        wait_until(lambda: not process_alive(qmgr), timeout=10, what="qmgr gone")
        # A new qmgr (started by master on the next trigger) recovers active/ and skips
        # the messages the agents are still delivering.
        instance.trigger(b"I")
        wait_until(lambda: instance.qmgr_pid() not in (None, qmgr), timeout=20,
                   what="a new qmgr", log=instance.log)
        # Once the agents are done, a flush takes back what was skipped.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and any(instance.all_queued().values()):
            time.sleep(1)
            instance.trigger(b"A")
        instance.wait_for_queue_empty(timeout=10)
        check("skipped, still being delivered" in instance.log(),
              f"the new qmgr did not wait for the agents\n{instance.log()}")
        deliveries = instance.deliveries()
        for queue_id in ids:
            for rcpt in ("a@slow1.example", "b@slow1.example"):
                check(deliveries[(queue_id, rcpt)] == 1,
                      f"{queue_id} {rcpt}: {deliveries[(queue_id, rcpt)]} deliveries\n"
                      f"{instance.log()}")


def test_thousand_messages_all_delivered():
    with QmgrInstance() as instance:
        instance.start()
        ids = instance.write(["load@agent.example"], count=1000)
        started = time.monotonic()
        instance.trigger()
        instance.wait_for_queue_empty(timeout=90)
        elapsed = time.monotonic() - started
        deliveries = instance.deliveries()
        missing = [queue_id for queue_id in ids if deliveries[(queue_id, "load@agent.example")] != 1]
        check(not missing, f"{len(missing)} not delivered exactly once")
        check(instance.log().count(": removed") >= 1000, "not every message removed")
        qmgr = instance.qmgr_pid()
        cpu = ""
        if qmgr:
            with open(f"/proc/{qmgr}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            ticks = os.sysconf("SC_CLK_TCK")
            cpu = f", qmgr CPU {(int(fields[11]) + int(fields[12])) / ticks:.2f}s"
        print(f"     1000 messages in {elapsed:.1f}s{cpu}")


def main():
    return run_tests(globals(), SELECTED)


if __name__ == "__main__":
    sys.exit(main())
