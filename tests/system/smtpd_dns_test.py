#!/usr/bin/env python3
"""smtpd's DNS-based checks on a whole instance, every lookup answered by a dnsmasq the
test starts (postern_dns_servers), never the machine's resolver:

  - the client name at connect (forward-confirmed PTR): "connect from name[addr]" and the
    Received: header's "(name [addr])"; "unknown" for no PTR, for a PTR name without a
    matching address, and for a SERVFAIL;
  - reject_unknown_client_hostname and reject_unknown_reverse_client_hostname: 450 or
    unknown_client_reject_code, x.7.25, 450 on a temporary failure. The permanent case is
    compared with real Postfix 3.7 run with smtpd_peername_lookup = no (which gives the
    same "unknown" status without a DNS query);
  - reject_rbl_client, permit_dnswl_client, reject_rhsbl_{client,sender,helo} against
    2.0.0.127-style A and TXT records, with default_rbl_reply and rbl_reply_maps. Real
    Postfix cannot be pointed at a test DNS server (it asks the system resolver), so these
    replies are compared with the text Postfix's default_rbl_reply template gives.

usage: smtpd_dns_test.py [TEST-NAME...]
"""
import os
import smtplib
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from dnsmasq import Dnsmasq  # noqa: E402
from instance import wait_for  # noqa: E402
from test_runner import run_tests  # noqa: E402
from smtpd_test import (COMMON_MAIN_CF, USER, RealPostfix, check, postern,  # noqa: E402
                        queued_file_bytes, run_script, start)

SELECTED = sys.argv[1:]
KEEP = "local_transport = retry:4.3.0 kept for the test\n"


def send_one(instance, helo="client.example"):
    """One message to a local user; returns its queue ID."""
    with smtplib.SMTP("127.0.0.1", instance.port, timeout=30) as client:
        client.ehlo(helo)
        check(client.docmd("MAIL FROM:<sender@remote.test>")[0] == 250, "mail")
        check(client.docmd(f"RCPT TO:<{USER}@test.example>")[0] == 250, "rcpt")
        code, reply = client.data(b"Subject: dns\r\n\r\nhello\r\n")
        check(code == 250, reply)
        return reply.decode().rsplit(" ", 1)[1]


def queued_content(instance, queue_id):
    content = wait_for(lambda: queue_id in instance.queue_files("deferred") and
                       queued_file_bytes(instance, queue_id), timeout=30)
    check(content, f"{queue_id} not deferred\n{instance.log()}")
    return content


def test_verified_client_name():
    with Dnsmasq(hosts=[("client.test", "127.0.0.1")]) as dns, \
            postern(KEEP, dns=dns) as instance:
        start(instance)
        queue_id = send_one(instance)
        log = instance.log()
        check("connect from client.test[127.0.0.1]" in log, f"no named connect line:\n{log}")
        check(f"{queue_id}: client=client.test[127.0.0.1]" in log, log)
        content = queued_content(instance, queue_id)
        check(b"Received: from client.example (client.test [127.0.0.1])" in content, content)
        check(b"reverse_client_name=client.test" in content, content)
        check("1.0.0.127.in-addr.arpa" in dns.log(), "no PTR query reached dnsmasq")


def test_unverified_and_failed_names():
    # A PTR whose name has no address: the name is not trusted, the reverse name is.
    with Dnsmasq(ptr=[("127.0.0.1", "forged.test")]) as dns, \
            postern(KEEP, dns=dns) as instance:
        start(instance)
        queue_id = send_one(instance)
        log = instance.log()
        check("connect from unknown[127.0.0.1]" in log, log)
        check("hostname forged.test does not resolve to address 127.0.0.1" in log, log)
        content = queued_content(instance, queue_id)
        check(b"(unknown [127.0.0.1])" in content, content)
        check(b"reverse_client_name=forged.test" in content, content)
    with Dnsmasq(servfail=["0.0.127.in-addr.arpa"]) as dns, postern(dns=dns) as instance:
        start(instance)
        client = smtplib.SMTP("127.0.0.1", instance.port, timeout=30)
        client.quit()
        check(wait_for(lambda: "connect from unknown[127.0.0.1]" in instance.log(), 10),
              instance.log())


UNKNOWN_CLIENT_CF = """\
smtpd_client_restrictions = reject_unknown_client_hostname
unknown_client_reject_code = 550
"""
UNKNOWN_SCRIPT = [("EHLO a.example\r\nMAIL FROM:<a@remote.test>\r\n", 2),
                  ("RCPT TO:<x@test.example>\r\n", 1), ("QUIT\r\n", 1)]


def rcpt_reply(instance, script=UNKNOWN_SCRIPT):
    return run_script(instance.port, script)[3]


def test_unknown_client_equals_real_postfix():
    with RealPostfix(COMMON_MAIN_CF + UNKNOWN_CLIENT_CF + "smtpd_peername_lookup = no\n") \
            as reference, postern(UNKNOWN_CLIENT_CF) as instance:
        start(instance)
        expected = run_script(reference.port, UNKNOWN_SCRIPT)
        got = run_script(instance.port, UNKNOWN_SCRIPT)
        check(expected == got, f"postfix: {expected}\npostern: {got}")
        check(got[3] == "550 5.7.25 Client host rejected: cannot find your hostname, "
              "[127.0.0.1]", got)


def test_unknown_client_variants():
    reverse = "smtpd_client_restrictions = reject_unknown_reverse_client_hostname\n"
    # Default code 450; the reverse check passes on an unverified PTR name.
    with Dnsmasq(ptr=[("127.0.0.1", "forged.test")]) as dns:
        with postern("smtpd_client_restrictions = reject_unknown_client_hostname\n",
                     dns=dns) as instance:
            start(instance)
            reply = rcpt_reply(instance)
            check(reply == "450 4.7.25 Client host rejected: cannot find your hostname, "
                  "[127.0.0.1]", reply)
        with postern(reverse, dns=dns) as instance:
            start(instance)
            reply = rcpt_reply(instance)
            check(reply.startswith("250 2.1.5"), reply)
    with Dnsmasq() as dns, postern(reverse + "unknown_client_reject_code = 550\n",
                                   dns=dns) as instance:
        start(instance)
        reply = rcpt_reply(instance)
        check(reply == "550 5.7.25 Client host rejected: cannot find your reverse hostname, "
              "[127.0.0.1]", reply)
    # A temporary failure defers, whatever unknown_client_reject_code says.
    with Dnsmasq(servfail=["0.0.127.in-addr.arpa"]) as dns, \
            postern(UNKNOWN_CLIENT_CF, dns=dns) as instance:
        start(instance)
        reply = rcpt_reply(instance)
        check(reply == "450 4.7.25 Client host rejected: cannot find your hostname, "
              "[127.0.0.1]", reply)


RBL_RECORDS = dict(
    a=[("1.0.0.127.zen.test", "127.0.0.2"), ("1.0.0.127.bare.test", "127.0.0.4"),
       ("1.0.0.127.wl.test", "127.0.0.2"), ("spammer.test.rhs.test", "127.0.0.2"),
       ("bad.example.rhs.test", "127.0.0.2")],
    txt=[("1.0.0.127.zen.test", "listed for testing"), ("spammer.test.rhs.test", "bad domain")],
)


def rbl_reply(dns, restrictions, script=UNKNOWN_SCRIPT, extra=""):
    with postern(f"smtpd_recipient_restrictions = {restrictions}, permit\n" + extra,
                 dns=dns) as instance:
        start(instance)
        return run_script(instance.port, script)[3]


def test_rbl_client():
    with Dnsmasq(**RBL_RECORDS) as dns:
        cases = [
            ("reject_rbl_client zen.test",
             "554 5.7.1 Service unavailable; Client host [127.0.0.1] blocked using zen.test; "
             "listed for testing"),
            # No TXT record: no "; reason".
            ("reject_rbl_client bare.test",
             "554 5.7.1 Service unavailable; Client host [127.0.0.1] blocked using bare.test"),
            # The filter decides: 127.0.0.2 is not in 127.0.0.[3..5].
            ("reject_rbl_client zen.test=127.0.0.[3..5]", "250 2.1.5 Ok"),
            ("reject_rbl_client bare.test=127.0.0.[3..5]",
             "554 5.7.1 Service unavailable; Client host [127.0.0.1] blocked using bare.test"),
            ("reject_rbl_client notlisted.test", "250 2.1.5 Ok"),
            ("permit_dnswl_client wl.test, reject_rbl_client zen.test", "250 2.1.5 Ok"),
        ]
        for restrictions, want in cases:
            got = rbl_reply(dns, restrictions)
            check(got == want, f"{restrictions}: {got!r}, want {want!r}")
        got = rbl_reply(dns, "reject_rbl_client zen.test",
                        extra="maps_rbl_reject_code = 550\n")
        check(got.startswith("550 5.7.1 Service unavailable; Client host [127.0.0.1]"), got)
        # main.cf expands rbl_reply_maps itself (as Postfix): "$$" keeps a "$" for the
        # template (a hash: file would need none).
        got = rbl_reply(dns, "reject_rbl_client zen.test", extra=(
            "rbl_reply_maps = inline:{ {zen.test = 451 4.7.1 Try later: $$rbl_what in "
            "$$rbl_domain$${rbl_reason?, $$rbl_reason}} }\n"))
        check(got == "451 4.7.1 Try later: 127.0.0.1 in zen.test, listed for testing", got)


def test_rhsbl():
    sender_script = [("EHLO a.example\r\nMAIL FROM:<x@spammer.test>\r\n", 2),
                     ("RCPT TO:<x@test.example>\r\n", 1), ("QUIT\r\n", 1)]
    helo_script = [("EHLO bad.example\r\nMAIL FROM:<a@remote.test>\r\n", 2),
                   ("RCPT TO:<x@test.example>\r\n", 1), ("QUIT\r\n", 1)]
    with Dnsmasq(**RBL_RECORDS) as dns:
        got = rbl_reply(dns, "reject_rhsbl_sender rhs.test", sender_script)
        want = ("554 5.7.1 Service unavailable; Sender address [x@spammer.test] blocked using "
                "rhs.test; bad domain")
        check(got == want, f"{got!r}, want {want!r}")
        got = rbl_reply(dns, "reject_rhsbl_helo rhs.test", helo_script)
        want = ("554 5.7.1 Service unavailable; Helo command [bad.example] blocked using "
                "rhs.test")
        check(got == want, f"{got!r}, want {want!r}")
        got = rbl_reply(dns, "reject_rhsbl_sender rhs.test")
        check(got == "250 2.1.5 Ok", got)
        # An unknown client name is never looked up.
        got = rbl_reply(dns, "reject_rhsbl_client rhs.test")
        check(got == "250 2.1.5 Ok", got)


def test_unknown_domains_and_helo():
    records = dict(mx=[("known.test", "mx.known.test", 10)], hosts=[("mx.known.test", "127.0.0.9")],
                   a=[("nomx.test", "127.0.0.8"), ("helo.test", "127.0.0.7")],
                   null_mx=["nullmx.test"], servfail=["broken.test"])

    def script(helo, sender, recipient):
        return [(f"EHLO {helo}\r\nMAIL FROM:<{sender}>\r\n", 2),
                (f"RCPT TO:<{recipient}>\r\n", 1), ("QUIT\r\n", 1)]

    cf = ("smtpd_relay_restrictions = permit\n"
          "smtpd_sender_restrictions = reject_unknown_sender_domain\n"
          "smtpd_recipient_restrictions = reject_unknown_recipient_domain, permit\n")
    cases = [
        (script("a.example", "a@known.test", "x@nomx.test"), "250 2.1.5 Ok"),
        (script("a.example", "a@missing.test", "x@known.test"),
         "450 4.1.8 <a@missing.test>: Sender address rejected: Domain not found"),
        (script("a.example", "a@nullmx.test", "x@known.test"),
         "550 5.7.27 <a@nullmx.test>: Sender address rejected: Domain nullmx.test does not "
         "accept mail (nullMX)"),
        (script("a.example", "a@known.test", "x@missing.test"),
         "450 4.1.2 <x@missing.test>: Recipient address rejected: Domain not found"),
        (script("a.example", "a@known.test", "x@nullmx.test"),
         "556 5.1.10 <x@nullmx.test>: Recipient address rejected: Domain nullmx.test does not "
         "accept mail (nullMX)"),
        (script("a.example", "a@broken.test", "x@known.test"),
         "450 4.1.8 <a@broken.test>: Sender address rejected: Domain not found"),
        # Local domains and the null sender are not looked up.
        (script("a.example", "", "x@test.example"), "250 2.1.5 Ok"),
    ]
    with Dnsmasq(**records) as dns:
        with postern(cf, dns=dns) as instance:
            start(instance)
            for steps, want in cases:
                got = run_script(instance.port, steps)[3]
                check(got == want, f"{steps[0][0]!r}: {got!r}, want {want!r}")
        with postern(cf + "unknown_address_reject_code = 550\n", dns=dns) as instance:
            start(instance)
            got = run_script(instance.port, script("a.example", "a@missing.test", "x@known.test"))[3]
            want = "550 5.1.8 <a@missing.test>: Sender address rejected: Domain not found"
            check(got == want, f"{got!r}, want {want!r}")
        with postern("smtpd_helo_restrictions = reject_unknown_helo_hostname\n"
                     "unknown_hostname_reject_code = 550\n", dns=dns) as instance:
            start(instance)
            for helo, want in (("helo.test", "250 2.1.5 Ok"), ("known.test", "250 2.1.5 Ok"),
                               ("[127.0.0.1]", "250 2.1.5 Ok"),
                               ("missing.test", "550 5.7.1 <missing.test>: Helo command "
                                "rejected: Host not found")):
                got = run_script(instance.port, script(helo, "a@b.example", "x@test.example"))[3]
                check(got == want, f"HELO {helo}: {got!r}, want {want!r}")


if __name__ == "__main__":
    sys.exit(run_tests(globals(), SELECTED))
