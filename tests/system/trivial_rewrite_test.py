#!/usr/bin/env python3
"""The trivial-rewrite daemon in a whole Postern instance (master, the rewrite service from
master.cf, its socket queue_directory/private/rewrite), asked through `postresolve -S`.

Checks:
  - the service's answers equal the library's (postresolve -b in-process) for the same
    configuration and every address of the compatibility test, and a few answers are
    checked by value (they are Postfix's, see resolve_compat_test.py);
  - the same client connection carries many requests;
  - a client that sends garbage loses its connection, and the service goes on serving;
  - after a table it reads changes, the service logs "table ... has changed -- restarting",
    tells its clients to reconnect, and the next answers come from the new table.
Run through meson (it needs the build's programs: env mail_instance_env).
"""
import os
import socket
import struct
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))
sys.path.insert(0, HERE)
from mail_instance import MailInstance, wait_until  # noqa: E402
from postfix_rewrite import PosternResolve  # noqa: E402
import resolve_compat_test as compat  # noqa: E402

MAIN_CF = """myhostname = mail.example.com
mydomain = example.com
myorigin = $mydomain
mydestination = $myhostname, localhost.$mydomain, localhost
relayhost = [smtp.example.com]:587
recipient_delimiter = +
relay_domains = example.net
transport_maps = texthash:{config}/transport
"""

SERVICES = ["rewrite   unix  -       -       n       -       -       trivial-rewrite"]

failures = []


def check(condition, text):
    if not condition:
        failures.append(text)
        print("FAIL:", text, flush=True)


def write_transport(instance, text):
    path = os.path.join(instance.config_directory, "transport")
    with open(path + ".tmp", "w") as out:
        out.write(text)
    os.rename(path + ".tmp", path)


def compare_with_library(instance, postresolve):
    service = PosternResolve(postresolve, instance.config_directory, service=True)
    library = PosternResolve(postresolve, instance.config_directory)
    addresses = compat.COMMON_ADDRESSES + compat.random_addresses("daemon", 300)
    for address in addresses:
        for rule in ("local", "remote"):
            if address.strip(" \t\r\n"):
                got, expected = service.rewrite(rule, address), library.rewrite(rule, address)
                check(got == expected, f"rewrite {rule} {address!r}: service {got!r}, "
                                       f"library {expected!r}")
        for request in ("resolve", "verify"):
            got = service.resolve("sender@example.org", address, request)
            expected = library.resolve("sender@example.org", address, request)
            check(got == expected, f"{request} {address!r}: service {got}, library {expected}")
    known = {
        "user@example.com": (4096, b"smtp", b"[smtp.example.com]:587", b"user@example.com"),
        "user": (256, b"local", b"mail.example.com", b"user@mail.example.com"),
        "user+x@example.net": (2048, b"special", b"[special.example]", b"user+x@example.net"),
        "user@remote.org@localhost": (4096, b"smtp", b"[smtp.example.com]:587",
                                      b"user@remote.org"),
        "user@127.0.0.1": (4100, b"CHANNEL NOT UPDATED", b"NEXTHOP NOT UPDATED",
                           b"user@127.0.0.1"),
    }
    for address, expected in known.items():
        got = service.resolve("", address)
        check(got == expected, f"resolve {address!r}: {got}, expected {expected}")
    service.close()
    library.close()
    print(f"service and library: {len(addresses)} addresses compared", flush=True)


def garbage_client(instance, postresolve):
    path = os.path.join(instance.queue_directory, "private", "rewrite")
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(10)
        sock.connect(path)
        # A frame that says it is version 9 and 4 GiB long.
        sock.sendall(struct.pack(">BI", 9, 0xFFFFFFFF) + b"junk")
        closed = sock.recv(100) == b""
    check(closed, "a garbage frame did not end the connection")
    service = PosternResolve(postresolve, instance.config_directory, service=True)
    got = service.resolve("", "user")
    service.close()
    check(got[1] == b"local", f"after a garbage client, resolve user gave {got}")
    check("trivial-rewrite client:" in instance.log(),
          "the garbage client was not logged")


def table_change(instance, postresolve):
    service = PosternResolve(postresolve, instance.config_directory, service=True)
    before = service.resolve("", "user+x@example.net")
    check(before[1] == b"special", f"before the change: {before}")
    time.sleep(1.1)  # a new modification time, whatever the file system's resolution
    write_transport(instance, "user@example.net  changed:[new.example]\n")
    wait_until(lambda: "has changed -- restarting" in instance.log(), timeout=30,
               what="the table change notice", log=instance.log)
    # The service that noticed answers once more, with the reconnect flag; the client then
    # opens a new connection to a fresh process.
    answers = [service.resolve("", "user+x@example.net") for _ in range(3)]
    service.close()
    check(answers[-1] == (2048, b"changed", b"[new.example]", b"user+x@example.net"),
          f"after the change: {answers}")


def main():
    if len(sys.argv) < 2:
        raise SystemExit("usage: trivial_rewrite_test.py POSTRESOLVE")
    postresolve = os.path.abspath(sys.argv[1])
    with MailInstance(services=SERVICES) as instance:
        instance.write_main_cf(
            f"command_directory = {instance.command_directory}\n" +
            MAIN_CF.format(config=instance.config_directory))
        write_transport(instance, "user@example.net  special:[special.example]\n")
        instance.start()
        compare_with_library(instance, postresolve)
        garbage_client(instance, postresolve)
        table_change(instance, postresolve)
    if failures:
        print(f"{len(failures)} failures")
        return 1
    print("trivial-rewrite service: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
