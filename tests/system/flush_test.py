#!/usr/bin/env python3
"""System tests for the fast-flush service (flush/, Postfix's flush(8)) on a whole instance
(mail_instance.py): mail for a fast_flush_domains site is deferred because its relay, a
loopback port the test picked, has nobody listening; the flush daemon's per-site log
flush/example_test lists its queue ID; then Postfix's smtp-sink (Debian's postfix
package) starts on that port and `postqueue -s example.test` delivers the mail at once,
although queue_run_delay and the backoff times are an hour. Ineligible and hostile site
names are refused as Postfix refuses them, and nothing is written outside flush/.

Every process is started by the test and stopped by PID.

usage: flush_test.py [TEST-NAME...]
"""
import os
import re
import socket
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from test_runner import check, run_tests  # noqa: E402
from mail_instance import MailInstance, wait_until  # noqa: E402
from instance import free_port  # noqa: E402
from smtp_sink import Sink  # noqa: E402

SELECTED = sys.argv[1:]

MESSAGE = b"From: a@origin.example\nTo: b@example.test\nSubject: flushed\n\nbody\n"


def flush_main_cf(port):
    return f"""\
mydestination = localhost
relay_domains = example.test
relayhost = [127.0.0.1]:{port}
queue_run_delay = 1h
minimal_backoff_time = 1h
maximal_backoff_time = 2h
"""


def flush_instance(port):
    return MailInstance(main_cf=flush_main_cf(port))


def deferred_message(instance):
    instance.sendmail(["-f", "a@origin.example", "b@example.test"], MESSAGE)
    wait_until(lambda: instance.queue_files("deferred"), timeout=30,
               what="a deferred message", log=instance.log)
    return instance.queue_files("deferred")[0]


def flush_log(instance, name="example_test"):
    path = os.path.join(instance.queue_directory, "flush", name)
    if not os.path.exists(path):
        return None
    with open(path) as log:
        return log.read()


def attr_frame(**attributes):
    """One request in Postern's attribute protocol (lib/ipc/attr.hpp): string values."""
    payload = b""
    for name, value in attributes.items():
        data = value.encode()
        payload += bytes([2, len(name)]) + name.encode() + struct.pack(">I", len(data)) + data
    return bytes([1]) + struct.pack(">I", len(payload)) + payload


def flush_request(instance, **attributes):
    """The status the flush service answers to a request sent straight to its socket."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.settimeout(30)
        client.connect(os.path.join(instance.queue_directory, "public", "flush"))
        client.sendall(attr_frame(**attributes))
        reply = b""
        while True:
            chunk = client.recv(4096)
            if not chunk:
                break
            reply += chunk
    check(reply[:1] == b"\x01" and b"status" in reply, f"bad flush reply {reply!r}")
    return struct.unpack(">q", reply[-8:])[0]


def test_send_site_delivers_deferred_mail_now():
    port = free_port()
    with flush_instance(port) as instance:
        instance.start()
        queue_id = deferred_message(instance)
        wait_until(lambda: queue_id in (flush_log(instance) or ""), timeout=30,
                   what="the queue ID in flush/example_test", log=instance.log)
        sink = Sink(instance.root, port=port)
        try:
            result = instance.run("postqueue", "-s", "example.test")
            check(result.returncode == 0, f"postqueue -s: {result.returncode} {result.stderr!r}")
            wait_until(lambda: sink.messages(), timeout=60, what="delivery to smtp-sink",
                       log=instance.log)
            instance.wait_for_queue_empty(timeout=30)
            check(b"Subject: flushed" in sink.messages()[0], "the flushed message arrived")
            check(flush_log(instance) == "", "the log is empty after the flush")
            check(re.search(rf"{queue_id}: to=<b@example.test>.*status=sent", instance.log()),
                  "sent status line")
        finally:
            sink.stop()


def test_sendmail_qR_uses_the_flush_service():
    port = free_port()
    with flush_instance(port) as instance:
        instance.start()
        queue_id = deferred_message(instance)
        wait_until(lambda: queue_id in (flush_log(instance) or ""), timeout=30,
                   what="the queue ID in flush/example_test", log=instance.log)
        sink = Sink(instance.root, port=port)
        try:
            result = instance.run("sendmail", "-qRexample.test")
            check(result.returncode == 0, f"sendmail -qR: {result.returncode} {result.stderr!r}")
            wait_until(lambda: sink.messages(), timeout=60, what="delivery to smtp-sink",
                       log=instance.log)
        finally:
            sink.stop()


def test_postqueue_i_delivers_one_message_now():
    port = free_port()
    with flush_instance(port) as instance:
        instance.start()
        queue_id = deferred_message(instance)
        sink = Sink(instance.root, port=port)
        try:
            result = instance.run("postqueue", "-i", queue_id)
            check(result.returncode == 0, f"postqueue -i: {result.returncode} {result.stderr!r}")
            wait_until(lambda: sink.messages(), timeout=60, what="delivery to smtp-sink",
                       log=instance.log)
            result = instance.run("postqueue", "-i", "../x")
            check(b'Cannot flush queue ID - invalid name: "../x"' in result.stderr,
                  f"invalid ID: {result.stderr!r}")
        finally:
            sink.stop()


def test_stopped_mail_system_is_reported_down():
    with flush_instance(free_port()) as instance:
        result = instance.run("postqueue", "-s", "example.test")
        check(result.returncode == 69, f"exit {result.returncode}")
        check(b"postqueue: warning: connect to public/flush:" in result.stderr
              and b"postqueue: fatal: Cannot flush mail queue - mail system is down"
              in result.stderr, f"down: {result.stderr!r}")


def test_ineligible_and_hostile_sites_are_refused():
    port = free_port()
    with flush_instance(port) as instance:
        instance.start()
        before = sorted(os.listdir(instance.queue_directory))
        result = instance.run("postqueue", "-s", "other.test")
        check(result.returncode == 69, f"exit {result.returncode}")
        check(b'postqueue: fatal: Flush service is not configured for destination "other.test"'
              in result.stderr, f"refusal: {result.stderr!r}")
        result = instance.run("postqueue", "-s", "../x")
        check(b'Cannot flush mail queue - invalid destination: "../x"' in result.stderr,
              f"invalid: {result.stderr!r}")
        long_name = "a" * 300
        result = instance.run("postqueue", "-s", long_name)
        check(f'invalid destination: "{"a" * 100}..."'.encode() in result.stderr,
              f"long: {result.stderr!r}")
        # Straight to the service, past postqueue's checks: bad (3) and deny (4).
        check(flush_request(instance, request="send_site", site="../../x") == 3, "../../x")
        check(flush_request(instance, request="send_site", site="x" * 300) == 3, "long site")
        check(flush_request(instance, request="add", site="example.test",
                            queue_id="../../etc/passwd") == 3, "bad queue ID")
        check(flush_request(instance, request="add", site="../example.test",
                            queue_id="ABCDEF") == 3, "site with a slash")
        check(flush_request(instance, request="add", site="other.test",
                            queue_id="ABCDEF") == 4, "ineligible add")
        check(flush_request(instance, request="add", site="Sub.Example.TEST",
                            queue_id="ABCDEF") == 0, "eligible subdomain")
        check(flush_request(instance, request="nonsense") == 2, "unknown request")
        names = os.listdir(os.path.join(instance.queue_directory, "flush"))
        check(names == ["sub_example_test"], f"flush/ holds {names}")
        check(sorted(os.listdir(instance.queue_directory)) == before, "nothing else created")


sys.exit(run_tests(globals(), SELECTED))
