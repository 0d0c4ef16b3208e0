#!/usr/bin/env python3
"""System tests of lib/dns: tests/dns/dns-lookup (a thin command line over lib/dns) against
a real dnsmasq on loopback (lib/dnsmasq.py) that serves the records below, through
postern_dns_servers. Every case Postfix's smtp and smtpd tell apart: MX order and the
shuffling of equal preferences, A/AAAA and inet_protocols, PTR with forward confirmation,
TXT, NXDOMAIN and "no data" (permanent), SERVFAIL, REFUSED and timeouts (temporary), null
MX, MX pointing to this machine, DNSBL hits and misses, native lookups, many queries at
once on the event loop, and a check that
with postern_dns_servers set nothing is sent to the servers of /etc/resolv.conf.

Usage: dns_test.py DNS_LOOKUP [TEST_NAME...]
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))

from dnsmasq import Dnsmasq, SilentServer  # noqa: E402

DNS_LOOKUP = None
SERVER = None  # the shared dnsmasq

RECORDS = dict(
    mx=[("example.test", "mx1.example.test", 10), ("example.test", "mx2.example.test", 10),
        ("example.test", "mx3.example.test", 20),
        ("selfmx.test", "self.test", 10),
        ("backup.test", "mx1.example.test", 10), ("backup.test", "self.test", 20),
        ("noprimary.test", "nosuch-host.test", 10), ("noprimary.test", "self.test", 20),
        ("proxymx.test", "proxy.test", 10),
        ("deadmx.test", "nosuch-host.test", 10)],
    null_mx=["nullmx.test"],
    hosts=[("mx1.example.test", "127.0.0.2", "::2"), ("mx2.example.test", "127.0.0.3"),
           ("mx3.example.test", "127.0.0.4"), ("self.test", "127.0.0.1"),
           ("proxy.test", "127.0.0.77"), ("good.test", "127.0.0.10"),
           ("v6only.test", "::6"),
           # A real name with a fake answer: only this dnsmasq can give it.
           ("example.com", "127.0.0.42")],
    ptr=[("127.0.0.11", "liar.test"), ("127.0.0.12", "nxhost.test"),
         ("127.0.0.13", "x.fail.test"), ("127.0.0.15", "127.0.0.15")],
    a=[("liar.test", "127.0.0.99"), ("2.0.0.127.bl.test", "127.0.0.2"),
       ("3.0.0.127.bl.test", "127.0.0.3")],
    txt=[("txt.test", "first string", "second"), ("2.0.0.127.bl.test", "Listed for testing"),
         ("txtonly.test", "v=spf1 -all")],
    servfail=["fail.test", "14.0.0.127.in-addr.arpa"],
    refused=["refused.test"],
    # localhost is NXDOMAIN here; getaddrinfo() finds it in /etc/hosts.
    local=["localhost"],
)


class Failure(Exception):
    pass


def check(condition, what, detail=""):
    if not condition:
        raise Failure(f"{what}\n{detail}")


class Config:
    """A configuration directory with a main.cf for dns-lookup."""

    def __init__(self, extra="", servers=None):
        self.directory = tempfile.mkdtemp(prefix="postern-dns-test-")
        if servers is None:
            servers = SERVER.server
        with open(os.path.join(self.directory, "main.cf"), "w") as f:
            f.write(f"postern_dns_servers = {servers}\n"
                    "postern_dns_timeout = 2s\npostern_dns_attempts = 1\n"
                    "inet_interfaces = 127.0.0.1\n" + extra)

    def run(self, *arguments, timeout=30, wrapper=()):
        started = time.monotonic()
        result = subprocess.run(list(wrapper) + [DNS_LOOKUP, "-c", self.directory, *arguments],
                                capture_output=True, text=True, timeout=timeout)
        self.elapsed = time.monotonic() - started
        check(result.returncode == 0, f"dns-lookup {' '.join(arguments)} exited {result.returncode}",
              result.stdout + result.stderr)
        self.stderr = result.stderr
        return result.stdout.splitlines()

    def close(self):
        shutil.rmtree(self.directory, ignore_errors=True)


def lines_starting(lines, word):
    return [line.split(" ", 1)[1] for line in lines if line.startswith(word + " ")]


def status(lines):
    return lines_starting(lines, "status")[0]


def reason(lines):
    return lines_starting(lines, "reason")[0]


def servers(lines):
    return [tuple(line.split()) for line in lines_starting(lines, "server")]


# ---- the tests ----

def test_mx_order(config):
    out = config.run("mx", "example.test")
    check(status(out) == "ok", "MX lookup succeeds", out)
    mx = [line.split() for line in lines_starting(out, "mx")]
    check([m[0] for m in mx] == ["10", "10", "20"], "sorted by preference", out)
    check({m[1] for m in mx[:2]} == {"mx1.example.test", "mx2.example.test"}, "equal pair first", out)
    check(mx[2][1] == "mx3.example.test", "worst last", out)
    out = config.run("nexthop", "example.test")
    found = servers(out)
    check([s[3] for s in found] == ["10", "10", "10", "20"], "addresses in MX order", out)
    check({s[1] for s in found[:3]} == {"127.0.0.2", "::2", "127.0.0.3"}, "both MX 10 hosts", out)
    check(found[3] == ("mx3.example.test", "127.0.0.4", "25", "20"), "MX 20 last", out)


def test_equal_preference_is_randomized(config):
    firsts = set()
    for _ in range(24):
        out = config.run("mx", "example.test")
        firsts.add(lines_starting(out, "mx")[0].split()[1])
        check(lines_starting(out, "mx")[2] == "20 mx3.example.test", "MX 20 always last", out)
        if len(firsts) == 2:
            break
    check(firsts == {"mx1.example.test", "mx2.example.test"},
          "either MX 10 host comes first", firsts)


def test_address_records_and_inet_protocols(config):
    check(lines_starting(config.run("a", "mx1.example.test"), "address") == ["127.0.0.2"], "A")
    check(lines_starting(config.run("aaaa", "mx1.example.test"), "address") == ["::2"], "AAAA")
    both = config.run("addresses", "mx1.example.test")
    check(lines_starting(both, "address") == ["127.0.0.2", "::2"], "all: A then AAAA", both)
    v4 = Config("inet_protocols = ipv4\n")
    try:
        out = v4.run("addresses", "mx1.example.test")
        check(lines_starting(out, "address") == ["127.0.0.2"], "ipv4 only", out)
        out = v4.run("nexthop", "[mx1.example.test]:2525")
        check(servers(out) == [("mx1.example.test", "127.0.0.2", "2525", "0")], "ipv4 nexthop", out)
        out = v4.run("nexthop", "[v6only.test]")
        check(status(out) == "permanent 5.4.4", "no IPv4 address: bounce", out)
        check("name=v6only.test type=A:" in reason(out), "reason names the A lookup", out)
    finally:
        v4.close()
    v6 = Config("inet_protocols = ipv6\n")
    try:
        out = v6.run("addresses", "mx1.example.test")
        check(lines_starting(out, "address") == ["::2"], "ipv6 only", out)
    finally:
        v6.close()


def test_ptr_and_forward_confirmation(config):
    out = config.run("ptr", "127.0.0.10")
    check(lines_starting(out, "name") == ["good.test"], "PTR", out)
    cases = [
        ("127.0.0.10", "name good.test 2", "reverse_name good.test 2", None),
        ("127.0.0.11", "name unknown 5", "reverse_name liar.test 2",
         "warning: hostname liar.test does not resolve to address 127.0.0.11"),
        ("127.0.0.12", "name unknown 5", "reverse_name nxhost.test 2",
         "warning: hostname nxhost.test does not resolve to address 127.0.0.12: "
         "Name or service not known"),
        ("127.0.0.13", "name unknown 4", "reverse_name x.fail.test 2",
         "warning: hostname x.fail.test does not resolve to address 127.0.0.13: "
         "Temporary failure in name resolution"),
        ("127.0.0.14", "name unknown 4", "reverse_name unknown 4", None),
        ("127.0.0.15", "name unknown 5", "reverse_name unknown 5",
         "warning: numeric hostname: 127.0.0.15"),
        ("127.0.0.9", "name unknown 5", "reverse_name unknown 5", None),
    ]
    for address, name, reverse, warning in cases:
        out = config.run("client", address)
        check(out == [name, reverse], f"client name of {address}", out)
        if warning:
            check(warning in config.stderr, f"warning for {address}", config.stderr)


def test_txt(config):
    out = config.run("txt", "txt.test")
    check(out == ["status ok", "txt first stringsecond"], "TXT strings of one record", out)
    out = config.run("-A", "txt", "txt.test")
    check(out == ["status ok", "txt first stringsecond"], "TXT through the event loop", out)


def test_nxdomain_is_permanent(config):
    out = config.run("mx", "nosuch.test")
    check(status(out) == "not_found nxdomain", "NXDOMAIN", out)
    check(reason(out) == "Host or domain name not found. Name service error for "
          "name=nosuch.test type=MX: Host not found", "Postfix's reason", out)
    out = config.run("nexthop", "nosuch.test")
    check(status(out) == "permanent 5.4.4", "bounce", out)
    check(reason(out) == "Host or domain name not found. Name service error for "
          "name=nosuch.test type=AAAA: Host not found", "reason of the last lookup", out)


def test_no_data(config):
    out = config.run("mx", "mx1.example.test")
    check(status(out) == "not_found", "no MX record", out)
    check(reason(out).endswith("type=MX: Host found but no data record of requested type"),
          "no data reason", out)
    out = config.run("nexthop", "mx2.example.test:2525")
    check(servers(out) == [("mx2.example.test", "127.0.0.3", "2525", "0")],
          "no MX: the domain's own address", out)
    out = config.run("nexthop", "txtonly.test")
    check(status(out) == "permanent 5.4.4", "no MX, no address: bounce", out)
    out = config.run("nexthop", "deadmx.test")
    check(status(out) == "permanent 5.4.4", "MX host without address: bounce", out)
    check("no MX host for deadmx.test has a valid address record" in config.stderr,
          "warning", config.stderr)
    defer = Config("smtp_defer_if_no_mx_address_found = yes\n")
    try:
        out = defer.run("nexthop", "deadmx.test")
        check(status(out) == "temporary 4.4.4", "smtp_defer_if_no_mx_address_found", out)
    finally:
        defer.close()


def test_servfail_refused_and_timeout_are_temporary(config):
    for arguments in (("mx", "fail.test"), ("a", "x.fail.test"), ("a", "x.refused.test"),
                      ("-A", "mx", "fail.test")):
        out = config.run(*arguments)
        check(status(out) == "retry", f"{arguments}: temporary", out)
        check(reason(out).endswith(": Host not found, try again"), "try again", out)
    out = config.run("nexthop", "fail.test")
    check(status(out) == "temporary 4.4.3", "defer", out)
    out = config.run("nexthop", "[x.refused.test]")
    check(status(out) == "temporary 4.4.3", "defer", out)
    with SilentServer() as silent:
        quiet = Config("postern_dns_timeout = 1s\n", servers=silent.server)
        try:
            out = quiet.run("mx", "example.test")
            check(status(out) == "retry", "timeout is temporary", out)
            check(quiet.elapsed < 5, "one attempt of one second", quiet.elapsed)
            check(silent.queries >= 1, "the query was sent", silent.queries)
            out = quiet.run("-A", "a", "example.test")
            check(status(out) == "retry", "timeout through the event loop", out)
            out = quiet.run("nexthop", "example.test")
            check(status(out) == "temporary 4.4.3", "timeout defers", out)
        finally:
            quiet.close()
        patient = Config("postern_dns_timeout = 60s\n", servers=silent.server)
        try:
            out = patient.run("-t", "1", "mx", "example.test")
            check(status(out) == "retry", "deadline is temporary", out)
            check(patient.elapsed < 10, "the deadline ends the wait", patient.elapsed)
        finally:
            patient.close()


def test_null_mx(config):
    out = config.run("mx", "nullmx.test")
    check(status(out) == "null_mx", "null MX", out)
    out = config.run("nexthop", "nullmx.test")
    check(out == ["status permanent 5.1.0",
                  "reason Domain nullmx.test does not accept mail (nullMX)"], "bounce", out)


def test_mx_to_self(config):
    out = config.run("nexthop", "selfmx.test")
    check(out == ["status permanent 5.4.6", "reason mail for selfmx.test loops back to myself"],
          "best MX is this machine", out)
    out = config.run("nexthop", "[self.test]")
    check(out == ["status permanent 5.4.6", "reason mail for self.test loops back to myself"],
          "[host] is this machine", out)
    out = config.run("nexthop", "backup.test")
    check(status(out) == "ok" and "found_myself yes" in out, "backup MX", out)
    check({s[0] for s in servers(out)} == {"mx1.example.test"}, "only better MX hosts", out)
    out = config.run("nexthop", "noprimary.test")
    check(out[0] == "status temporary 4.4.4", "primary MX unknown: defer", out)
    check(out[1] == "reason unable to find primary relay for noprimary.test", "reason", out)
    out = config.run("nexthop", "proxymx.test")
    check(status(out) == "ok", "proxy address is not this machine yet", out)
    proxied = Config("proxy_interfaces = 127.0.0.77\n")
    try:
        out = proxied.run("nexthop", "proxymx.test")
        check(status(out) == "permanent 5.4.6", "proxy_interfaces address is this machine", out)
    finally:
        proxied.close()
    everywhere = Config("inet_interfaces = 127.0.0.5\n")
    try:
        out = everywhere.run("nexthop", "selfmx.test")
        check(status(out) == "ok", "127.0.0.1 is not ours when inet_interfaces says so", out)
    finally:
        everywhere.close()


def test_dnsbl(config):
    for mode in ((), ("-A",)):
        out = config.run(*mode, "dnsbl", "bl.test", "127.0.0.2")
        check(out == ["status ok", "listed yes", "answer 127.0.0.2",
                      "reason Listed for testing"], f"hit {mode}", out)
        out = config.run(*mode, "dnsbl", "bl.test", "127.0.0.4")
        check(out == ["status ok", "listed no"], f"miss {mode}", out)
    out = config.run("dnsbl", "bl.test=127.0.0.[3..5]", "127.0.0.2")
    check(out == ["status ok", "listed no"], "filtered out", out)
    out = config.run("dnsbl", "bl.test=127.0.0.[3..5]", "127.0.0.3")
    check(out == ["status ok", "listed yes", "answer 127.0.0.3"], "filtered in, no TXT", out)
    out = config.run("dnsbl", "fail.test", "127.0.0.2")
    check(status(out) == "retry", "an unreachable list is a temporary failure", out)


def test_host_lookup_native_and_disable_dns(config):
    # localhost is in /etc/hosts, so getaddrinfo() answers without any DNS query.
    out = config.run("nexthop", "[localhost]")
    check(status(out) == "permanent 5.4.4", "smtp_host_lookup = dns asks DNS only", out)
    native = Config("smtp_host_lookup = native\n")
    try:
        out = native.run("nexthop", "[localhost]")
        check(status(out) == "permanent 5.4.6", "native: /etc/hosts says it is this machine", out)
        # As in Postfix, only the SMTP port loops: another port of this machine is another
        # server (a content filter).
        out = native.run("nexthop", "[localhost]:2525")
        check(servers(out) == [("localhost", "127.0.0.1", "2525", "0")], "another port", out)
    finally:
        native.close()
    both = Config("smtp_host_lookup = dns, native\ninet_interfaces = 127.0.0.5\n")
    try:
        out = both.run("nexthop", "[localhost]:2525")
        check(servers(out) == [("localhost", "127.0.0.1", "2525", "0")], "dns, then native", out)
        out = both.run("nexthop", "[mx2.example.test]")
        check(servers(out) == [("mx2.example.test", "127.0.0.3", "25", "0")], "dns first", out)
    finally:
        both.close()
    before = SERVER.log().count("query[MX] localhost")
    disabled = Config("disable_dns_lookups = yes\ninet_interfaces = 127.0.0.5\n")
    try:
        out = disabled.run("nexthop", "localhost:2525")
        check(servers(out) == [("localhost", "127.0.0.1", "2525", "0")],
              "no MX lookup, native host lookup", out)
        check(SERVER.log().count("query[MX] localhost") == before, "nothing asked", SERVER.log())
    finally:
        disabled.close()
    level = Config("smtp_dns_support_level = disabled\ninet_interfaces = 127.0.0.5\n")
    try:
        out = level.run("nexthop", "localhost")
        check(status(out) == "ok", "smtp_dns_support_level = disabled", out)
    finally:
        level.close()


def test_only_postern_dns_servers_are_asked(config):
    """In a private mount namespace /etc/resolv.conf names a silent server on
    127.0.0.153:53: with postern_dns_servers set it must get nothing, and the fake answer
    for example.com must come from dnsmasq; with it empty, c-ares must use it."""
    silent = SilentServer("127.0.0.153", 53)
    scratch = tempfile.mkdtemp(prefix="postern-resolv-")
    try:
        resolv = os.path.join(scratch, "resolv.conf")
        with open(resolv, "w") as f:
            f.write("nameserver 127.0.0.153\noptions timeout:1 attempts:1\n")
        wrapper = ("unshare", "--mount", "--propagation", "private", "sh", "-c",
                   f'mount --bind {resolv} /etc/resolv.conf && exec "$@"', "sh")
        asked = SERVER.log().count("query[A] example.com")
        out = config.run("a", "example.com", wrapper=wrapper)
        check(out == ["status ok", "address 127.0.0.42"], "dnsmasq's fake answer", out)
        check(SERVER.log().count("query[A] example.com") == asked + 1, "dnsmasq was asked",
              SERVER.log()[-500:])
        out = config.run("nexthop", "example.test", wrapper=wrapper)
        check(status(out) == "ok", "a whole nexthop lookup", out)
        time.sleep(0.3)
        check(silent.queries == 0, "nothing reached /etc/resolv.conf's server", silent.queries)
        system = Config(servers="")
        try:
            out = system.run("a", "example.com", wrapper=wrapper)
            check(status(out) == "retry", "the silent system server times out", out)
            time.sleep(0.3)
            check(silent.queries >= 1, "empty postern_dns_servers uses /etc/resolv.conf",
                  silent.queries)
        finally:
            system.close()
    finally:
        silent.stop()
        shutil.rmtree(scratch, ignore_errors=True)


def test_many_queries_on_the_event_loop(config):
    expected = {"mx1.example.test": "ok 127.0.0.2", "mx2.example.test": "ok 127.0.0.3",
                "mx3.example.test": "ok 127.0.0.4", "good.test": "ok 127.0.0.10",
                "x.fail.test": "retry", "x.refused.test": "retry", "bad..name": "not_found nxdomain"}
    for i in range(8):
        expected[f"nosuch{i}.test"] = "not_found nxdomain"
    out = config.run("-A", "a", *expected)
    answers = {}
    current = None
    for line in out:
        word, _, rest = line.partition(" ")
        if word == "answer":
            current = rest
            answers[current] = []
        elif word in ("status", "address"):
            answers[current].append(rest)
    got = {name: " ".join(parts) for name, parts in answers.items()}
    check(got == expected, "every answer, each to its own query", out)


TESTS = [test_mx_order, test_equal_preference_is_randomized,
         test_address_records_and_inet_protocols, test_ptr_and_forward_confirmation, test_txt,
         test_nxdomain_is_permanent, test_no_data, test_servfail_refused_and_timeout_are_temporary,
         test_null_mx, test_mx_to_self, test_dnsbl, test_host_lookup_native_and_disable_dns,
         test_only_postern_dns_servers_are_asked, test_many_queries_on_the_event_loop]


def main():
    global DNS_LOOKUP, SERVER
    DNS_LOOKUP = os.path.abspath(sys.argv[1])
    wanted = set(sys.argv[2:])
    failures = 0
    SERVER = Dnsmasq(**RECORDS).start()
    try:
        for test in TESTS:
            if wanted and test.__name__ not in wanted:
                continue
            config = Config()
            started = time.monotonic()
            try:
                test(config)
                print(f"ok   {test.__name__} ({time.monotonic() - started:.1f}s)")
            except Exception:
                failures += 1
                print(f"FAIL {test.__name__}")
                traceback.print_exc()
            finally:
                config.close()
    finally:
        SERVER.stop()
    print(f"dns: {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
