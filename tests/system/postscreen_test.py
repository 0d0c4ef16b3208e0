#!/usr/bin/env python3
"""postscreen on a whole instance: `PORT inet n - n - 1 postscreen` on a loopback port the
test picks, `smtpd pass - - n - - smtpd` behind it, and a dnsmasq on loopback serving the
test DNSBL zone (postern_dns_servers), never the machine's resolver. Clients come from
different loopback source addresses so that each meets one test:

  127.0.0.4  talks before its turn (greet action drop): 521 5.5.1 Protocol error
  127.0.0.2  listed in zen.test with weight 2 (DNSBL action enforce): the engine's
             550 5.7.1 after RCPT, "DNSBL rank 2" in the log
  127.0.0.5  listed in zen.test (+2) and in the allow list wl.test (-3): passes
  127.0.0.3  rejected by the cidr: access list (deny list action enforce): 550 5.3.2
  127.0.0.1  clean and patient: PASS NEW, smtpd's banner through the pass service, mail
             delivered to a Maildir; its next connection logs PASS OLD and reaches smtpd
             at once (the pass cache, btree:$data_directory/postscreen_cache)

usage: postscreen_test.py [TEST-NAME...]
"""
import os
import re
import smtplib
import socket
import sys
import time
import traceback

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from dnsmasq import Dnsmasq  # noqa: E402
from instance import free_port, wait_for  # noqa: E402
from mail_instance import MailInstance, ensure_local_user  # noqa: E402

SELECTED = sys.argv[1:]
FAILURES = []
USER = "postern-ps1"
GREET_WAIT = 2

MAIN_CF = """\
myhostname = mx.test.example
mydestination = $myhostname, localhost, test.example
mynetworks = 10.9.9.0/24
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
local_recipient_maps =
home_mailbox = Maildir/
alias_maps =
alias_database =
postscreen_greet_wait = {greet_wait}s
postscreen_greet_action = drop
postscreen_dnsbl_sites = zen.test=127.0.0.[2..11]*2, other.test, wl.test*-3
postscreen_dnsbl_threshold = 2
postscreen_dnsbl_action = enforce
postscreen_denylist_action = enforce
postscreen_access_list = cidr:{cidr}
postern_dns_servers = {dns}
"""


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def connect(port, source):
    client = socket.socket()
    client.bind((source, 0))
    client.settimeout(15)
    client.connect(("127.0.0.1", port))
    return client


def read_line(client, buffer=b""):
    """One line (the teaser is a line of its own: postscreen's "220-" and the "220 " that
    follows belong to one reply); returns ([line] or [], leftover bytes)."""
    while b"\r\n" not in buffer:
        data = client.recv(4096)
        if not data:
            return [], buffer
        buffer += data
    line, buffer = buffer.split(b"\r\n", 1)
    return [line.decode()], buffer


def read_reply(client, buffer=b""):
    """One complete (possibly multi-line) reply; returns (reply lines, leftover bytes)."""
    lines = []
    while True:
        while b"\r\n" not in buffer:
            data = client.recv(4096)
            if not data:
                return lines, buffer
            buffer += data
        line, buffer = buffer.split(b"\r\n", 1)
        lines.append(line.decode())
        if len(line) < 4 or line[3:4] != b"-":
            return lines, buffer


class Setup:
    def __init__(self):
        ensure_local_user(USER)
        self.dns = Dnsmasq(a=[("2.0.0.127.zen.test", "127.0.0.2"),
                                ("5.0.0.127.zen.test", "127.0.0.2"),
                                ("5.0.0.127.wl.test", "127.0.0.2")]).start()
        self.port = free_port()
        self.instance = None
        try:
            self.instance = MailInstance(main_cf="", extra_master_cf=(
                f"127.0.0.1:{self.port} inet n - n - 1 postscreen\n"
                "smtpd pass - - n - - smtpd\n"))
            cidr = os.path.join(self.instance.config_directory, "postscreen_access.cidr")
            with open(cidr, "w") as table:
                table.write("127.0.0.3/32 reject\n127.0.0.0/8 dunno\n")
            with open(os.path.join(self.instance.config_directory, "main.cf"), "a") as main_cf:
                main_cf.write(MAIN_CF.format(greet_wait=GREET_WAIT, cidr=cidr,
                                             dns=self.dns.server))
            self.instance.start()
            check(wait_for(self.listening, timeout=10),
                  f"postscreen is not listening\nlog:\n{self.instance.log()}")
        except BaseException:
            self.stop()
            raise

    def listening(self):
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            return True
        except OSError:
            return False

    def stop(self):
        if self.instance is not None:
            self.instance.stop()
        self.dns.stop()

    def log(self):
        return self.instance.log()


def test_pregreet_drop(setup):
    client = connect(setup.port, "127.0.0.4")
    client.sendall(b"EHLO early.example\r\n")
    teaser, rest = read_line(client)
    check(teaser and teaser[0].startswith("220-"), f"teaser: {teaser}")
    reply, _ = read_reply(client, rest)
    check(reply == ["521 5.5.1 Protocol error"], f"{reply}\nlog:\n{setup.log()}")
    check(client.recv(100) == b"", "still connected after 521")
    client.close()
    check(wait_for(lambda: re.search(r"PREGREET 20 after [0-9.]+ from \[127\.0\.0\.4\]:\d+: "
                                     r"EHLO early\.example\\r\\n", setup.log()), 5),
          f"no PREGREET line\nlog:\n{setup.log()}")
    check(wait_for(lambda: re.search(r"DISCONNECT \[127\.0\.0\.4\]:\d+", setup.log()), 5),
          "no DISCONNECT after the drop")


def engine_rcpt_reply(setup, source, end_with_data=False):
    client = connect(setup.port, source)
    teaser, rest = read_line(client)
    check(teaser and teaser[0].startswith("220-"), f"teaser: {teaser}")
    banner, rest = read_reply(client, rest)
    check(banner and banner[0].startswith("220 "), f"banner: {banner}\nlog:\n{setup.log()}")
    client.sendall(b"EHLO patient.example\r\n")
    ehlo, rest = read_reply(client, rest)
    check(ehlo and ehlo[-1].startswith("250 "), f"ehlo: {ehlo}")
    client.sendall(b"MAIL FROM:<a@remote.test>\r\n")
    mail, rest = read_reply(client, rest)
    check(mail == ["250 2.1.0 Ok"], f"mail: {mail}")
    client.sendall(f"RCPT TO:<{USER}@test.example>\r\n".encode())
    rcpt, rest = read_reply(client, rest)
    if end_with_data:
        # As real Postfix 3.7's engine: DATA without a recipient ends the session.
        client.sendall(b"DATA\r\n")
        data, rest = read_reply(client, rest)
        check(data == ["554 5.5.1 Error: no valid recipients"], f"data: {data}")
        check(read_reply(client, rest)[0] == [], "still connected after DATA")
    else:
        client.sendall(b"QUIT\r\n")
        quit_reply, _ = read_reply(client, rest)
        check(quit_reply == ["221 2.0.0 Bye"], f"quit: {quit_reply}")
    client.close()
    return rcpt


def test_dnsbl_enforce(setup):
    rcpt = engine_rcpt_reply(setup, "127.0.0.2")
    want = ["550 5.7.1 Service unavailable; client [127.0.0.2] blocked using zen.test"]
    check(rcpt == want, f"rcpt: {rcpt}, want {want}\nlog:\n{setup.log()}")
    log = setup.log()
    check(re.search(r"DNSBL rank 2 for \[127\.0\.0\.2\]:\d+", log), f"no DNSBL rank\n{log}")
    check(re.search(r"NOQUEUE: reject: RCPT from \[127\.0\.0\.2\]:\d+: 550 5\.7\.1 Service "
                    rf"unavailable; client \[127\.0\.0\.2\] blocked using zen\.test; "
                    rf"from=<a@remote\.test>, to=<{USER}@test\.example>, proto=ESMTP, "
                    r"helo=<patient\.example>", log), f"no NOQUEUE line\n{log}")
    check(wait_for(lambda: re.search(r"DISCONNECT \[127\.0\.0\.2\]:\d+", setup.log()), 5),
          "no DISCONNECT line")


def test_denylist_enforce(setup):
    rcpt = engine_rcpt_reply(setup, "127.0.0.3", end_with_data=True)
    check(rcpt == ["550 5.3.2 Service currently unavailable"],
          f"rcpt: {rcpt}\nlog:\n{setup.log()}")
    check(re.search(r"DENYLISTED \[127\.0\.0\.3\]:\d+", setup.log()), "no DENYLISTED line")
    check(wait_for(lambda: re.search(r"DATA without valid RCPT from \[127\.0\.0\.3\]:\d+\n"
                                     r".*DISCONNECT \[127\.0\.0\.3\]:\d+", setup.log()), 5),
          f"no DATA without valid RCPT / DISCONNECT lines\n{setup.log()}")


def deliver(setup, subject, source="127.0.0.1"):
    started = time.monotonic()
    with smtplib.SMTP(timeout=30) as client:
        client.source_address = (source, 0)
        code, banner = client.connect("127.0.0.1", setup.port)
        check(code == 220 and b"mx.test.example" in banner, f"banner {code} {banner!r}")
        client.ehlo("clean.example")
        check(client.docmd("MAIL FROM:<sender@remote.test>")[0] == 250, "mail")
        check(client.docmd(f"RCPT TO:<{USER}@test.example>")[0] == 250,
              f"rcpt\nlog:\n{setup.log()}")
        code, reply = client.data(f"Subject: {subject}\r\n\r\nhello\r\n".encode())
        check(code == 250, reply)
    return time.monotonic() - started


def test_clean_client_delivers_then_passes_old(setup):
    maildir = setup.instance.maildir(USER)
    before = setup.instance.maildir_count(maildir) if os.path.isdir(maildir) else 0
    took = deliver(setup, "postscreen new")
    check(took >= GREET_WAIT - 0.5, f"passed after {took:.1f}s, before the greet wait")
    log = setup.log()
    check(re.search(r"CONNECT from \[127\.0\.0\.1\]:\d+ to \[127\.0\.0\.1\]:" + str(setup.port),
                    log), f"no CONNECT line\n{log}")
    check(re.search(r"PASS NEW \[127\.0\.0\.1\]:\d+", log), f"no PASS NEW\n{log}")
    check(wait_for(lambda: setup.instance.maildir_count(maildir) == before + 1, 30),
          f"not delivered\nlog:\n{setup.log()}")
    took = deliver(setup, "postscreen old")
    check(took < GREET_WAIT, f"the cached client waited {took:.1f}s")
    check(re.search(r"PASS OLD \[127\.0\.0\.1\]:\d+", setup.log()), f"no PASS OLD\n{setup.log()}")
    check(wait_for(lambda: setup.instance.maildir_count(maildir) == before + 2, 30),
          f"second message not delivered\nlog:\n{setup.log()}")


def test_allowlisted_by_dnswl(setup):
    # Listed in zen.test (+2) and in the allow list wl.test (-3): -1 is under the threshold.
    deliver(setup, "postscreen dnswl", source="127.0.0.5")
    log = setup.log()
    check(re.search(r"PASS NEW \[127\.0\.0\.5\]:\d+", log), f"no PASS NEW\n{log}")
    check(not re.search(r"DNSBL rank \S+ for \[127\.0\.0\.5\]", log), f"ranked\n{log}")
    queries = setup.dns.log()
    check("5.0.0.127.zen.test" in queries and "5.0.0.127.wl.test" in queries,
          f"the lists were not asked:\n{queries}")


TESTS = [test_pregreet_drop, test_dnsbl_enforce, test_denylist_enforce, test_allowlisted_by_dnswl,
         test_clean_client_delivers_then_passes_old]


def main():
    setup = Setup()
    try:
        for test in TESTS:
            if SELECTED and test.__name__ not in SELECTED:
                continue
            started = time.monotonic()
            try:
                test(setup)
                print(f"ok {test.__name__} ({time.monotonic() - started:.1f}s)")
            except Exception:
                FAILURES.append(test.__name__)
                print(f"FAIL {test.__name__}\n{traceback.format_exc()}")
        crashes = [line for line in setup.log().splitlines()
                   if "fatal:" in line or "panic:" in line or "ERROR: AddressSanitizer" in line]
        if crashes:
            FAILURES.append("crashes")
            print("daemon errors:\n" + "\n".join(crashes[:20]))
        if FAILURES:
            print("log:\n" + setup.log()[-6000:])
    finally:
        setup.stop()
    if FAILURES:
        print("failed: " + ", ".join(FAILURES))
        sys.exit(1)


if __name__ == "__main__":
    main()
