#!/usr/bin/env python3
"""Address rewriting and resolution, Postern against real Postfix 3.7, answer by answer.

For each configuration below, a throwaway real Postfix instance runs with that main.cf and
only the rewrite service in master.cf (tests/system/lib/postfix_rewrite.py), and Postern's
postresolve -b (the library in-process) reads the same configuration directory. Every
address of the case is sent to both as a "rewrite" request (rules local and remote) and a
"resolve" request (for each of the case's senders, and as "verify" where the case asks),
and the answers must be identical byte for byte: flags, transport, next hop, recipient,
rewritten address. The log lines both write (warnings, compatibility notices) must be the
same lines, the same number of times.

Addresses are the hand-written ones below (local, remote, unqualified, quoted local parts,
source routes, bang paths, percent hacks, numeric domains, empty, hostile bytes) plus, per
case, random strings over an alphabet of the characters and words that matter, from a fixed
seed.

Usage: resolve_compat_test.py POSTRESOLVE [CASE...]
Exits 77 (meson: skipped) when real Postfix is not installed.
"""
import collections
import os
import random
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from postfix_rewrite import PostfixRewrite, PosternResolve, postfix_installed  # noqa: E402

SEED_MAIN_CF = """myhostname = mail.example.com
mydomain = example.com
myorigin = $mydomain
mydestination = $myhostname, localhost.$mydomain, localhost
relayhost = [smtp.example.com]:587
"""

COMMON_ADDRESSES = [
    "", " ", "@", '""', '""@', '""@mail.example.com', "user", "MAILER-DAEMON", "postmaster",
    "user@example.com", "user@mail.example.com", "user@MAIL.Example.COM", "user@localhost",
    "user@localhost.example.com", "user@mail.example.com.", "user@other.org",
    "user@other.org.", "user@other..org", "user@.", "user@", "user@host", "user@host.",
    "user+ext@example.net", "user+ext@mail.example.com", "user-ext@example.net",
    "owner-list@example.net", "list-request@example.net",
    "@a,@b:user@c", "@a:user", "@a:user@other.org", "@a:", "@:x", "@a:@b", "@@", "@@x",
    "x@@y", "host!user", "a!b!user", "other.org!user@mail.example.com", "!user", "a!",
    "user%host", "user%host%other", "user%host@x", "user%other.org@mail.example.com",
    "user@other.org@mail.example.com", "user@other.org@other.net",
    "user%other.org@other.net", "other.org!user@other.net",
    "user@localhost@localhost", "a@b@mail.example.com", '"a@b"@mail.example.com',
    '"user@other.org"@mail.example.com', '"user%other.org"@localhost',
    '"other.org!user"@localhost', '"a b"', '"a b"@host', '"a b"@other.org', "a b@other.org",
    '"a@b"', "a\\@b", "a b", "a(comment)b", "a (comment) @ host", "(comment)user@other.org",
    "<user@host>", "Joe <joe@x>", "a,b", "a;b", "a:b", "a<b", "a.<b", "a.b@c.d", "a . b@c . d",
    ". @x", "\\@x", "a\\", "a\\\\b", "a|b", "a | b", "\"unterminated", "(unterminated",
    "[1.2", "user@[1.2.3.4]", "user@[1.2.3.4].", "user@[127.0.0.1]", "user@[127.0.0.2]",
    "user@127.0.0.1", "user@1.2.3.4", "user@[01.2.3.4]", "user@[1.2.3.256]", "user@[1.2.3]",
    "user@[IPv6:::1]", "user@[IPv6:2001:db8::1]", "user@[ipv6:1::2]", "user@[1::2]",
    "user@[IPv6:1::2::3]", "user@[IPv6:fe80::1%eth0]", "user@[]", "user@[127.0.0.1]x",
    "user@[192.0.2.1]", "user@192.0.2.1", "user@-bad", "user@bad-.org", "user@a_b.org",
    "user@123", "user@a.123", "user@" + "a" * 63 + ".org", "user@" + "a" * 64 + ".org",
    "user@ex\xe4mple.com", "\xe9l\xe8ve@example.net", "-user@mail.example.com",
    "-user@other.org", "user\x01@other.org", "a\tb", "a\r\nb", '"a\tb"', "(c\td)x",
    "user@example.net", "user@sub.example.net", "user@deep.sub.example.net",
    "user@example.org", "user@x.example.org", "user@y.example.org", "user@valias.example",
    "user@vmail.example", "user@both.example", "user@retry.example", "user@err.example",
    "user@local.example", "user@relay.example", "user@moved.example", "moved@example.net",
    "user@proxy.example", "user@[192.0.2.10]",
]

RANDOM_ALPHABET = [
    "a", "b", "x", "@", ".", "!", "%", '"', "\\", "(", ")", "[", "]", "<", ">", ",", ":",
    ";", " ", "\t", "+", "-", "|", "\x01", "\xe9", "localhost", "mail.example.com",
    "example.com", "example.net", "sub.example.net", "other.org", "127.0.0.1", "valias.example",
    "vmail.example", "user",
]

SENDERS = ["", "sender@example.net", "sender+tag@example.net", "other@example.org",
           "someone@mail.example.com", "someone", '"a b"@example.net', "<>"]

TRANSPORT_TABLE = """user@example.net        smtp:[user-host.example]:2525
user+special@example.net :[special.example]
example.net             relay:[relay.example.net]
.sub.example.net        error:5.7.1 subdomains refused
example.org             :
x.example.org           smtp
y.example.org           :[y-host.example]
retry.example           retry
err.example             error
local.example           local:
relay.example           relay
moved@example.net       smtp:moved.example
"""

CASES = {}


def merged_main_cf(extra):
    """The seed main.cf with the case's settings replacing the seed's own (main.cf
    without duplicate names, so that neither side warns about overriding entries)."""
    settings = {}
    for text in (SEED_MAIN_CF, extra):
        for line in text.splitlines():
            if line.strip():
                name, _, value = line.partition("=")
                settings[name.strip()] = value.strip()
    return "".join(f"{name} = {value}\n" for name, value in settings.items())


def case(name, main_cf="", files=None, postmap=(), senders=("",), verify=False,
         randoms=300, extra_addresses=()):
    CASES[name] = dict(main_cf=merged_main_cf(main_cf), files=files or {}, postmap=postmap,
                       senders=senders, verify=verify, randoms=randoms,
                       extra=list(extra_addresses))


# The seed configuration as the issue gives it (compatibility_level 0: .mydomain appended,
# with Postfix's notice each time).
case("seed", randoms=2000)
case("compatibility-3.6", "compatibility_level = 3.6\n", randoms=1000)
case("append-dot-explicit", "append_dot_mydomain = yes\ncompatibility_level = 3.6\n")
case("relay-domains",
     "compatibility_level = 3.6\nrelay_domains = example.net, .example.org, "
     "hash:@DIR@/relay, !blocked.example\nrelay_transport = relay\n",
     files={"relay": "relay.example OK\nblocked.example OK\n"}, postmap=("relay",),
     extra_addresses=["u@blocked.example", "u@a.relay.example", "u@x.blocked.example"])
case("relay-domains-dot-style",
     "compatibility_level = 3.6\nrelay_domains = example.net, .example.org, hash:@DIR@/relay\n"
     "parent_domain_matches_subdomains = \n",
     files={"relay": "relay.example OK\n"}, postmap=("relay",),
     extra_addresses=["u@a.relay.example"])
case("transport-maps-hash",
     "compatibility_level = 3.6\ntransport_maps = hash:@DIR@/transport\n"
     "recipient_delimiter = +\nrelay_domains = example.net\n",
     files={"transport": TRANSPORT_TABLE + "*  smtp:[wildcard.example]\n"},
     postmap=("transport",))
case("transport-maps-no-wildcard",
     "compatibility_level = 3.6\ntransport_maps = texthash:@DIR@/transport\n"
     "recipient_delimiter = +-\nrelayhost =\n",
     files={"transport": TRANSPORT_TABLE})
case("transport-maps-parent-style",
     "compatibility_level = 3.6\ntransport_maps = texthash:@DIR@/transport\n"
     "parent_domain_matches_subdomains = transport_maps\n",
     files={"transport": "example.net smtp:[parent.example]\n.example.org :[dot.example]\n"})
case("transport-maps-regexp",
     "compatibility_level = 3.6\ntransport_maps = regexp:@DIR@/transport.re, "
     "inline:{ {*=error:4.3.2 wild card} }\n",
     files={"transport.re": "/^user@example\\.net$/ smtp:[re-user.example]\n"
                            "/example\\.org$/ relay:[re-org.example]\n"
                            "/^example\\.com$/ smtp:[bare-domain]\n"
                            "/^(.*)@sub\\.example\\.net$/ smtp:[$1.example]\n"})
case("transport-local-nexthop",
     "compatibility_level = 3.6\nlocal_transport = local\ndefault_transport = smtp:[out.example]\n"
     "relayhost =\nvirtual_transport = lmtp:unix:private/dovecot-lmtp\n"
     "virtual_mailbox_domains = vmail.example, both.example\n")
case("virtual-domains",
     "compatibility_level = 3.6\nvirtual_alias_domains = valias.example, both.example, "
     "hash:@DIR@/valias\nvirtual_mailbox_domains = vmail.example, both.example\n"
     "relay_domains = both.example, vmail.example\nmydestination = $myhostname, localhost, "
     "vmail.example\n",
     files={"valias": "table-alias.example whatever\n"}, postmap=("valias",),
     extra_addresses=["u@table-alias.example"])
case("virtual-alias-no-table-name",
     "compatibility_level = 3.6\nvirtual_alias_domains = valias.example\n"
     "show_user_unknown_table_name = no\ntransport_maps = inline:{valias.example=smtp}\n")
case("sender-dependent",
     "compatibility_level = 3.6\nsender_dependent_relayhost_maps = texthash:@DIR@/relayhosts\n"
     "sender_dependent_default_transport_maps = texthash:@DIR@/transports\n"
     "relay_domains = example.net\nrecipient_delimiter = +\n",
     files={"relayhosts": "sender@example.net [sender-relay.example]:25\n"
                          "@example.org [org-relay.example]\n<> [bounce-relay.example]\n"
                          "someone DUNNO\n",
            "transports": "sender@example.net smtp-sender:\n@example.org DUNNO\n"
                          "<> bounce-smtp\n\"a b\"@example.net quoted-smtp\n"},
     senders=SENDERS)
case("sender-dependent-empty-keys",
     "compatibility_level = 3.6\nsender_dependent_relayhost_maps = inline:{{nobody=[x]}}\n"
     "empty_address_relayhost_maps_lookup_key = nobody\nrelayhost =\n",
     senders=("", "nobody", "a@b.example"))
case("relocated",
     "compatibility_level = 3.6\nrelocated_maps = texthash:@DIR@/relocated\n"
     "recipient_delimiter = +\n",
     files={"relocated": "moved@example.net new@example.org\n@moved.example the new place\n"
                         "user@mail.example.com user@new.example\nlocalonly somewhere\n"},
     extra_addresses=["moved+x@example.net", "localonly", "localonly@localhost",
                      "localonly@example.net"])
case("numeric-null-domain",
     "compatibility_level = 3.6\nresolve_numeric_domain = yes\nresolve_null_domain = yes\n"
     "proxy_interfaces = 192.0.2.10\n",
     extra_addresses=["u@192.0.2.10", "u@127.0.0.1", "u@1.2.3.4@localhost", "u@@"])
case("no-dequote-no-routing",
     "compatibility_level = 3.6\nresolve_dequoted_address = no\nswap_bangpath = no\n"
     "allow_percent_hack = no\nappend_at_myorigin = no\n")
case("empty-address-recipient",
     "compatibility_level = 3.6\nempty_address_recipient = postmaster@other.org\n"
     "allow_min_user = yes\n")
case("mydestination-sources",
     "compatibility_level = 3.6\nmydestination = /@DIR@/destinations, hash:@DIR@/mydest, "
     "!no.example, $myhostname\ninet_interfaces = 127.0.0.1\n",
     files={"destinations": "# local names\nfile.example, file2.example\n  other.file.example\n",
            "mydest": "table.example x\nno.example x\n"},
     postmap=("mydest",),
     extra_addresses=["u@file.example", "u@other.file.example", "u@table.example",
                      "u@no.example", "u@sub.table.example"])
case("remote-header-domain",
     "compatibility_level = 3.6\nremote_header_rewrite_domain = domain.invalid\n"
     "append_dot_mydomain = yes\n")
case("null-transports",
     "compatibility_level = 3.6\ndefault_transport = :\nrelay_domains = example.net\n"
     "relay_transport = :[relay-only-nexthop]\nlocal_transport = :\nvirtual_transport = :x\n"
     "virtual_mailbox_domains = vmail.example\n")
case("table-failures",
     "compatibility_level = 3.6\ntransport_maps = fail:transport\nrelay_domains = example.net, "
     "fail:relay\nsender_dependent_relayhost_maps = fail:relayhosts\n"
     "virtual_mailbox_domains = vmail.example\n",
     senders=("", "s@example.net"))
case("table-failures-local",
     "compatibility_level = 3.6\nmydestination = $myhostname, fail:mydest\n"
     "virtual_alias_domains = fail:valias\n")
case("verify",
     "compatibility_level = 3.6\naddress_verify_relayhost = [verify-relay.example]\n"
     "address_verify_transport_maps = inline:{example.org=verify-smtp}\n"
     "address_verify_local_transport = verify-local\n"
     "address_verify_default_transport = verify-default\n"
     "transport_maps = inline:{example.org=smtp:[normal.example]}\n",
     verify=True)
case("utf8", "compatibility_level = 3.6\nsmtputf8_enable = yes\n",
     extra_addresses=["u@\xc3\xa9xample.com", "\xc3\xa9@example.net"])


def random_addresses(name, count):
    rnd = random.Random("postern-" + name)
    return ["".join(rnd.choice(RANDOM_ALPHABET) for _ in range(rnd.randint(1, 10)))
            for _ in range(count)]


# lib/maps names a hash:/btree: table "hash:/path/file" in its non-UTF-8 key warning where
# Postfix says "hash:/path/file.db"; that wording belongs to lib/maps, not to this module,
# and is made equal here so that the comparison still counts every such line.
MAPS_NAMING = re.compile(r"\b((?:hash|btree):\S+?)\.db: non-UTF-8 key")


def normalized(line):
    return MAPS_NAMING.sub(r"\1: non-UTF-8 key", line)


def log_messages(text, program):
    pattern = re.compile(r"^.*? " + re.escape(program) + r"\[\d+\]: ")
    return [normalized(pattern.sub("", line)) for line in text.splitlines()
            if pattern.match(line)]


def run_case(postresolve, name, spec):
    failures = []
    with PostfixRewrite(spec["main_cf"], spec["files"]) as postfix:
        postfix.build_tables(*spec["postmap"])
        postfix.start()
        postern = PosternResolve(postresolve, postfix.config_directory)
        addresses = COMMON_ADDRESSES + spec["extra"] + random_addresses(name, spec["randoms"])
        requests = ["resolve", "verify"] if spec["verify"] else ["resolve"]
        count = 0
        try:
            for address in addresses:
                for rule in ("local", "remote"):
                    if not address.strip(" \t\r\n"):
                        continue  # Postfix's rewrite request panics on an empty token list
                    count += 1
                    expected = postfix.rewrite(rule, address)
                    got = postern.rewrite(rule, address)
                    if expected != got:
                        failures.append(f"{name}: rewrite {rule} {address!r}: Postfix "
                                        f"{expected!r}, Postern {got!r}")
                for request in requests:
                    for sender in spec["senders"]:
                        count += 1
                        expected = postfix.resolve(sender, address, request)
                        got = postern.resolve(sender, address, request)
                        if expected != got:
                            failures.append(f"{name}: {request} sender={sender!r} {address!r}:"
                                            f" Postfix {expected}, Postern {got}")
        finally:
            stderr = postern.close()
        expected_log = collections.Counter(log_messages(postfix.log(), "postfix/trivial-rewrite"))
        got_log = collections.Counter(normalized(line[len("postresolve: "):])
                                      for line in stderr.splitlines()
                                      if line.startswith("postresolve: "))
        for line, n in (expected_log - got_log).items():
            failures.append(f"{name}: log line only from Postfix ({n}x): {line!r}")
        for line, n in (got_log - expected_log).items():
            failures.append(f"{name}: log line only from Postern ({n}x): {line!r}")
    print(f"{name}: {count} requests, {len(failures)} differences", flush=True)
    return failures


def main():
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    if not postfix_installed():
        print("real Postfix is not installed: skipped", file=sys.stderr)
        return 77
    postresolve = os.path.abspath(sys.argv[1])
    names = sys.argv[2:] or list(CASES)
    failures = []
    for name in names:
        failures += run_case(postresolve, name, CASES[name])
    for failure in failures[:200]:
        print("FAIL:", failure)
    if failures:
        print(f"{len(failures)} differences")
        return 1
    print("all answers identical")
    return 0


if __name__ == "__main__":
    sys.exit(main())
