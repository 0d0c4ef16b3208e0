#!/usr/bin/env python3
"""lib/tls and lib/net/smtp_stream against real TLS peers, through tests/tls/tls-probe.

Peers: `openssl s_server` (Debian's openssl package) for the client side in wrapper mode,
`openssl s_client -starttls smtp` and Python's ssl module for the server side, and
tls-probe against itself for STARTTLS levels. Everything on 127.0.0.1, on ports the test
picks; every process it starts is stopped by PID. Certificates come from the openssl
command: a CA, a leaf for mail.example.com, a leaf for sni.example.net (served by SNI), and
a self-signed stranger claiming mail.example.com.

Checks: verify/secure/encrypt/may outcomes and their log lines ("Verified/Trusted/Untrusted
TLS connection established to ...", "Anonymous TLS connection established from ..."),
the defer reasons ("Server certificate not verified", "Server certificate not trusted",
"TLS is required, but was not offered"), SNI, protocol floors on both sides, the
Received: header comments, and plaintext pipelined after STARTTLS (discarded, never
answered: CVE-2011-0411 class).

Usage: tls_test.py TLS_PROBE
"""
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import traceback

OPENSSL = "openssl"
passes = 0
failures = []


def note(text):
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def check(condition, what, detail=""):
    global passes
    if condition:
        passes += 1
    else:
        failures.append(what)
        note("FAIL: %s\n%s" % (what, detail))


def run(command, cwd):
    subprocess.run(command, cwd=cwd, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, shell=isinstance(command, str))


def make_certificates(directory):
    run("openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt "
        "-subj '/CN=Postern Test CA' -days 2 -addext basicConstraints=critical,CA:TRUE", directory)
    for name, dns in (("leaf", "mail.example.com"), ("sni", "sni.example.net")):
        run("openssl req -newkey rsa:2048 -nodes -keyout %s.key -out %s.csr -subj '/CN=%s'"
            % (name, name, dns), directory)
        with open(os.path.join(directory, name + ".ext"), "w") as ext:
            ext.write("subjectAltName=DNS:%s\n" % dns)
        run("openssl x509 -req -in %s.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out %s.crt "
            "-days 2 -extfile %s.ext" % (name, name, name), directory)
    run("openssl req -x509 -newkey rsa:2048 -nodes -keyout stranger.key -out stranger.crt "
        "-subj '/CN=mail.example.com' -days 2", directory)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_port(port, timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def stop(process):
    if process.poll() is None:
        process.kill()
    process.wait(timeout=10)


class SServer:
    """openssl s_server on a fresh port, one connection."""

    def __init__(self, directory, *arguments):
        self.port = free_port()
        self.process = subprocess.Popen(
            [OPENSSL, "s_server", "-accept", "127.0.0.1:%d" % self.port, "-naccept", "1",
             "-quiet"] + list(arguments),
            cwd=directory, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT)
        # s_server accepts only one connection here: wait for the port without using it.
        deadline = time.time() + 10
        while time.time() < deadline and not self._listening():
            time.sleep(0.05)

    def _listening(self):
        with open("/proc/net/tcp") as table:
            return any((":%04X" % self.port) in line.split()[1] and line.split()[3] == "0A"
                       for line in table.readlines()[1:])

    def finish(self):
        try:
            out, _ = self.process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            stop(self.process)
            out = b""
        return out.decode(errors="replace")


class ProbeServer:
    """tls-probe in server mode, serving `count` clients."""

    def __init__(self, probe, directory, count, *arguments):
        self.port_file = os.path.join(directory, "port.%d" % time.monotonic_ns())
        self.process = subprocess.Popen(
            [probe, "server", self.port_file, str(count)] + list(arguments), cwd=directory,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.time() + 10
        while time.time() < deadline and not os.path.exists(self.port_file):
            time.sleep(0.05)
        time.sleep(0.05)
        with open(self.port_file) as port:
            self.port = int(port.read())

    def finish(self):
        try:
            out, err = self.process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            stop(self.process)
            out, err = self.process.communicate()
        return out.decode(errors="replace"), err.decode(errors="replace")


def probe_client(probe, directory, port, hostname, *arguments):
    result = subprocess.run(
        [probe, "client", "127.0.0.1", str(port), hostname, "example.com",
         "-o", "smtp_tls_CAfile=ca.crt", "-o", "smtp_tls_loglevel=1"] + list(arguments),
        cwd=directory, capture_output=True, timeout=30)
    return result.returncode, result.stdout.decode(errors="replace"), result.stderr.decode(
        errors="replace")


SERVER_CERT = ["-o", "smtpd_tls_cert_file=leaf.crt", "-o", "smtpd_tls_key_file=leaf.key",
               "-o", "smtpd_tls_loglevel=1", "-o", "smtpd_tls_security_level=may"]


def test_verify_against_s_server(probe, directory):
    server = SServer(directory, "-cert", "leaf.crt", "-key", "leaf.key")
    status, out, err = probe_client(probe, directory, server.port, "mail.example.com", "-w",
                                    "-o", "smtp_tls_security_level=verify")
    received = server.finish()
    check(status == 0, "verify: success", out + err)
    check("trust: Verified" in out, "verify: Verified", out)
    check("Verified TLS connection established to mail.example.com[127.0.0.1]:%d: TLSv1.3 with "
          "cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519 server-signature "
          "RSA-PSS (2048 bits) server-digest SHA256" % server.port in err,
          "verify: the established log line", err)
    check("QUIT" in received, "verify: s_server got the QUIT over TLS", received)


def test_verify_wrong_name_defers(probe, directory):
    server = SServer(directory, "-cert", "leaf.crt", "-key", "leaf.key")
    status, out, err = probe_client(probe, directory, server.port, "other.example.org", "-w",
                                    "-o", "smtp_tls_security_level=verify")
    server.finish()
    check(status == 2 and "defer: Server certificate not verified" in out,
          "verify with another name defers", out + err)
    check("Trusted TLS connection established to other.example.org" in err,
          "verify with another name: logged Trusted", err)


def test_untrusted_certificate(probe, directory):
    for level, want_status, want in (("encrypt", 0, "trust: Untrusted"),
                                     ("may", 0, "trust: Untrusted"),
                                     ("secure", 2, "defer: Server certificate not trusted")):
        server = SServer(directory, "-cert", "stranger.crt", "-key", "stranger.key")
        status, out, err = probe_client(probe, directory, server.port, "mail.example.com", "-w",
                                        "-o", "smtp_tls_security_level=" + level)
        server.finish()
        check(status == want_status and want in out, "self-signed server at level " + level,
              out + err)
        if level == "encrypt":
            check("Untrusted TLS connection established to" in err,
                  "encrypt: logged Untrusted", err)


def test_secure_matches_nexthop(probe, directory):
    # secure: smtp_tls_secure_cert_match = nexthop, dot-nexthop: the MX host name alone is
    # not enough, a name under the nexthop domain is.
    server = SServer(directory, "-cert", "leaf.crt", "-key", "leaf.key")
    status, out, err = probe_client(probe, directory, server.port, "mx.elsewhere.net", "-w",
                                    "-o", "smtp_tls_security_level=secure")
    server.finish()
    check(status == 0 and "trust: Verified" in out, "secure: mail.example.com under nexthop",
          out + err)


def test_sni(probe, directory):
    arguments = ["-cert", "leaf.crt", "-key", "leaf.key", "-servername", "sni.example.net",
                 "-cert2", "sni.crt", "-key2", "sni.key"]
    server = SServer(directory, *arguments)
    status, out, err = probe_client(probe, directory, server.port, "sni.example.net", "-w",
                                    "-o", "smtp_tls_security_level=verify",
                                    "-o", "smtp_tls_servername=hostname")
    server.finish()
    check(status == 0 and "trust: Verified" in out, "SNI selects the server's second cert",
          out + err)
    server = SServer(directory, *arguments)
    status, out, err = probe_client(probe, directory, server.port, "sni.example.net", "-w",
                                    "-o", "smtp_tls_security_level=verify")
    server.finish()
    check(status == 2 and "not verified" in out, "no SNI by default: the default cert",
          out + err)


def test_protocol_floor(probe, directory):
    server = SServer(directory, "-cert", "leaf.crt", "-key", "leaf.key", "-tls1_2")
    status, out, err = probe_client(probe, directory, server.port, "mail.example.com", "-w",
                                    "-o", "smtp_tls_security_level=encrypt",
                                    "-o", "smtp_tls_mandatory_protocols=>=TLSv1.3")
    server.finish()
    check(status == 1 and "TLS handshake failed" in out, "mandatory >=TLSv1.3 vs TLS 1.2 server",
          out + err)
    server = SServer(directory, "-cert", "leaf.crt", "-key", "leaf.key", "-tls1_2")
    status, out, err = probe_client(probe, directory, server.port, "mail.example.com", "-w",
                                    "-o", "smtp_tls_security_level=encrypt",
                                    "-o", "smtp_tls_mandatory_protocols=!SSLv2, !SSLv3",
                                    "-o", "smtp_tls_mandatory_ciphers=high")
    server.finish()
    check(status == 0 and "tls: TLSv1.2 with cipher ECDHE-RSA-AES256-GCM-SHA384 (256/256 bits) "
          "key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256" in out,
          "TLS 1.2 summary", out + err)


def test_s_client_starttls(probe, directory):
    server = ProbeServer(probe, directory, 1, *SERVER_CERT)
    client = subprocess.run(
        [OPENSSL, "s_client", "-starttls", "smtp", "-connect", "127.0.0.1:%d" % server.port,
         "-CAfile", "ca.crt", "-verify_hostname", "mail.example.com", "-verify_return_error",
         "-brief"],
        cwd=directory, input=b"MAIL FROM:<a@example.com>\r\nQUIT\r\n", capture_output=True,
        timeout=30)
    out, err = server.finish()
    said = client.stdout.decode(errors="replace") + client.stderr.decode(errors="replace")
    check("Verification: OK" in said, "s_client verified the probe server", said)
    check("Anonymous TLS connection established from unknown[127.0.0.1]: TLSv1.3 with cipher "
          "TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519 server-signature RSA-PSS "
          "(2048 bits) server-digest SHA256" in err, "server: Anonymous established line", err)
    check("received: \t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)\n"
          "received: \t key-exchange X25519 server-signature RSA-PSS (2048 bits) "
          "server-digest SHA256)\nreceived: \t(No client certificate requested)" in out,
          "server: Received: header lines", out)
    check("command: MAIL FROM:<a@example.com>" in out, "server read the command over TLS", out)


def test_s_client_below_server_floor(probe, directory):
    server = ProbeServer(probe, directory, 1, *SERVER_CERT, "-o", "smtpd_tls_security_level=encrypt",
                         "-o", "smtpd_tls_mandatory_protocols=>=TLSv1.3")
    client = subprocess.run(
        [OPENSSL, "s_client", "-starttls", "smtp", "-connect", "127.0.0.1:%d" % server.port,
         "-tls1_2", "-brief"], cwd=directory, input=b"QUIT\r\n", capture_output=True, timeout=30)
    out, err = server.finish()
    check(client.returncode != 0, "s_client -tls1_2 refused", client.stdout.decode())
    check("handshake: TLS handshake failed" in out, "server reports the failed handshake",
          out + err)


def test_pipelined_plaintext_is_discarded(probe, directory):
    server = ProbeServer(probe, directory, 1, *SERVER_CERT)
    context = ssl.create_default_context(cafile=os.path.join(directory, "ca.crt"))
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:
        reader = raw.makefile("rb")
        banner = reader.readline()
        raw.sendall(b"EHLO attacker\r\n")
        while True:
            line = reader.readline()
            if line[3:4] != b"-":
                break
        # The injection: a command after STARTTLS in the same write.
        raw.sendall(b"STARTTLS\r\nMAIL FROM:<injected@example.com>\r\n")
        ready = reader.readline()
        tls = context.wrap_socket(raw, server_hostname="mail.example.com")
        tls.sendall(b"NOOP after\r\n")
        first = tls.recv(1000)
        tls.sendall(b"QUIT\r\n")
        tls.recv(1000)
        tls.close()
    out, err = server.finish()
    check(banner.startswith(b"220") and ready.startswith(b"220 2.0.0"), "STARTTLS accepted",
          repr((banner, ready)))
    check("pipelined: 34" in out, "server saw 34 pipelined plaintext bytes", out)
    check("injected" not in out and "command: NOOP after" in out,
          "the injected command was never executed", out)
    check(first.startswith(b"250 2.0.0 Ok"), "first TLS reply answers NOOP", repr(first))


def test_starttls_levels_probe_to_probe(probe, directory):
    server = ProbeServer(probe, directory, 2, *SERVER_CERT)
    status, out, err = probe_client(probe, directory, server.port, "mail.example.com",
                                    "-o", "smtp_tls_security_level=verify")
    check(status == 0 and "trust: Verified" in out and "reply: 221" in out,
          "STARTTLS at verify", out + err)
    status, out, err = probe_client(probe, directory, server.port, "mail.example.com",
                                    "-o", "smtp_use_tls=yes")
    check(status == 0 and "trust: Trusted" in out, "legacy smtp_use_tls = may", out + err)
    server.finish()

    plain = ProbeServer(probe, directory, 2, "-n")
    status, out, err = probe_client(probe, directory, plain.port, "mail.example.com",
                                    "-o", "smtp_tls_security_level=encrypt")
    check(status == 2 and "defer: TLS is required, but was not offered by host "
          "mail.example.com[127.0.0.1]:%d" % plain.port in out,
          "encrypt without STARTTLS defers", out + err)
    status, out, err = probe_client(probe, directory, plain.port, "mail.example.com",
                                    "-o", "smtp_tls_security_level=may")
    check(status == 0 and "plaintext" in out, "may without STARTTLS goes on in plaintext",
          out + err)
    plain.finish()


def test_bad_configuration(probe, directory):
    status, out, err = probe_client(probe, directory, 1, "mail.example.com",
                                    "-o", "smtp_tls_security_level=sometimes")
    check(status == 1 and "unknown TLS security level \"sometimes\"" in out,
          "unknown level is a configuration error", out + err)
    result = subprocess.run([probe, "server", os.path.join(directory, "unused"), "1",
                             "-o", "smtpd_tls_cert_file=missing.crt"], cwd=directory,
                            capture_output=True, timeout=30)
    out = result.stdout.decode(errors="replace")
    check(result.returncode == 1 and "cannot load certificate file missing.crt" in out,
          "missing certificate file is named", out)


CASES = [test_verify_against_s_server, test_verify_wrong_name_defers, test_untrusted_certificate,
         test_secure_matches_nexthop, test_sni, test_protocol_floor, test_s_client_starttls,
         test_s_client_below_server_floor, test_pipelined_plaintext_is_discarded,
         test_starttls_levels_probe_to_probe, test_bad_configuration]


def main(argv):
    if len(argv) != 2:
        note("usage: tls_test.py TLS_PROBE")
        return 2
    probe = os.path.abspath(argv[1])
    if shutil.which(OPENSSL) is None:
        note("FAIL: the openssl command is missing (Debian package openssl)")
        return 1
    directory = tempfile.mkdtemp(prefix="postern-tls-")
    try:
        make_certificates(directory)
        for case in CASES:
            try:
                case(probe, directory)
            except Exception:
                failures.append(case.__name__)
                note("FAIL: %s raised\n%s" % (case.__name__, traceback.format_exc()))
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    note("tls: %d checks passed, %d failed" % (passes, len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
