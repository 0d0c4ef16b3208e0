#!/usr/bin/env python3
"""System tests for the smtp delivery agent on whole instances (mail_instance.py): mail
submitted with sendmail goes through pickup, cleanup and qmgr to smtp, which relays it to
`relayhost = [127.0.0.1]:PORT`, where a real peer listens on a loopback port the test
picked:

  - Postfix's smtp-sink (Debian's postfix package), dumping what it receives (-d), or
    rejecting commands with hard (-f) or soft (-r) errors, or hanging up (-q);
  - a real Postfix 3.7 instance configured as the seed's submission service (STARTTLS
    required, SASL through a real Dovecot auth server), with no qmgr so that what it
    accepted stays in its incoming/ queue, where the test finds it.

Every process is started by the test and stopped by PID.

usage: smtp_test.py [TEST-NAME...]
"""
import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from test_runner import check, run_tests  # noqa: E402
from mail_instance import MailInstance, wait_until  # noqa: E402
from instance import free_port, process_alive, wait_for  # noqa: E402
from dnsmasq import Dnsmasq  # noqa: E402
from smtp_sink import Sink, port_open  # noqa: E402

SELECTED = sys.argv[1:]

REAL_SBIN = "/usr/sbin"
REAL_DAEMONS = "/usr/lib/postfix/sbin"
DOVECOT = "/usr/sbin/dovecot"

MESSAGE = (b"From: Alice <alice@origin.example>\n"
           b"To: Bob <bob@remote.example>\n"
           b"Subject: relayed\n"
           b"\n"
           b"first line\n"
           b".a line that starts with a dot\n"
           b"..two dots\n"
           b"last line\n")


def relay_main_cf(port, extra=""):
    return f"""\
mydestination = test.example, localhost
relayhost = [127.0.0.1]:{port}
{extra}"""


def relay_instance(port, extra=""):
    return MailInstance(main_cf=relay_main_cf(port, extra))


@contextlib.contextmanager
def relayed_to_sink(*sink_options, extra=""):
    """A started instance whose relayhost is a fresh smtp-sink with `sink_options`."""
    with MailInstance() as instance:
        sink = Sink(instance.root, *sink_options)
        try:
            instance.write_main_cf(f"command_directory = {instance.command_directory}\n"
                                   + relay_main_cf(sink.port, extra))
            instance.start()
            yield instance, sink
        finally:
            sink.stop()


def queue_listing(instance):
    listing = instance.run("postqueue", "-p")
    return listing.stdout.decode(errors="replace")


def wait_deferred(instance, reason_part, timeout=30):
    wait_until(lambda: instance.queue_files("deferred"), timeout=timeout,
               what="a deferred message", log=instance.log)
    wait_until(lambda: reason_part in instance.log(), timeout=timeout,
               what=f"log line with {reason_part!r}", log=instance.log)


# ---- smtp-sink ----

def test_relay_delivers_to_smtp_sink():
    with relayed_to_sink() as (instance, sink):
        instance.sendmail(["-f", "alice@origin.example", "bob@remote.example",
                           "carol@remote.example"], MESSAGE)
        instance.wait_for_queue_empty(timeout=30)
        wait_until(sink.messages, timeout=10, what="the message at the sink", log=instance.log)
        dumped = sink.messages()
        check(len(dumped) == 1, f"one transaction for both recipients: {dumped!r}")
        text = dumped[0]
        check(b"X-Mail-Args: <alice@origin.example>" in text, text)
        check(b"X-Rcpt-Args: <bob@remote.example>" in text and
              b"X-Rcpt-Args: <carol@remote.example>" in text, text)
        check(b"Subject: relayed\r\n" in text or b"Subject: relayed\n" in text, text)
        # smtp-sink undoes the dot-stuffing: the lines arrive as they were written.
        body = text.replace(b"\r\n", b"\n")
        check(b"\n.a line that starts with a dot\n..two dots\nlast line\n" in body, body)
        log = instance.log()
        for recipient in ("bob@remote.example", "carol@remote.example"):
            check(re.search(rf"postfix/smtp\[\d+\]: \w+: to=<{recipient}>, "
                            rf"relay=127\.0\.0\.1\[127\.0\.0\.1\]:{sink.port}, delay=[\d.]+, "
                            rf"delays=[\d.]+/[\d.]+/[\d.]+/[\d.]+, dsn=2\.0\.0, "
                            rf"status=sent \(250 2\.0\.0 Ok\)", log), log)


def test_hard_rcpt_reject_bounces_with_the_server_reply():
    with relayed_to_sink("-f", "RCPT") as (instance, sink):
        instance.sendmail(["-f", "alice@origin.example", "bob@remote.example"], MESSAGE)
        wait_until(lambda: "status=bounced" in instance.log(), timeout=30,
                   what="the bounce", log=instance.log)
        log = instance.log()
        line = [entry for entry in log.splitlines()
                if "to=<bob@remote.example>" in entry and "status=bounced" in entry][0]
        check(f"relay=127.0.0.1[127.0.0.1]:{sink.port}," in line, line)
        check(re.search(r"dsn=5\.\d\.\d+, status=bounced \(host 127\.0\.0\.1\[127\.0\.0\.1\] "
                        r"said: 5\d\d .* \(in reply to RCPT TO command\)\)$", line), line)
        check(not sink.messages(), "nothing may arrive")


def test_soft_rcpt_reject_defers_with_the_server_reply():
    with relayed_to_sink("-r", "RCPT") as (instance, sink):
        instance.sendmail(["-f", "alice@origin.example", "bob@remote.example"], MESSAGE)
        wait_deferred(instance, "status=deferred")
        line = [entry for entry in instance.log().splitlines()
                if "to=<bob@remote.example>" in entry and "status=deferred" in entry][0]
        check(re.search(r"dsn=4\.\d\.\d+, status=deferred \(host 127\.0\.0\.1\[127\.0\.0\.1\] "
                        r"said: 4\d\d .* \(in reply to RCPT TO command\)\)$", line), line)
        listing = queue_listing(instance)
        check("(in reply to RCPT TO command)" in listing, listing)


def test_connection_refused_defers():
    port = free_port()
    with relay_instance(port) as instance:
        instance.start()
        instance.sendmail(["-f", "alice@origin.example", "bob@remote.example"], MESSAGE)
        wait_deferred(instance, "status=deferred")
        log = instance.log()
        check(re.search(rf"to=<bob@remote\.example>, relay=none, .*dsn=4\.4\.1, "
                        rf"status=deferred \(connect to 127\.0\.0\.1\[127\.0\.0\.1\]:{port}: "
                        rf"Connection refused\)", log), log)
        listing = queue_listing(instance)
        check(f"connect to 127.0.0.1[127.0.0.1]:{port}: Connection refused" in listing, listing)


def test_lost_connection_defers():
    with relayed_to_sink("-q", "MAIL") as (instance, sink):
        instance.sendmail(["-f", "alice@origin.example", "bob@remote.example"], MESSAGE)
        wait_deferred(instance, "status=deferred")
        log = instance.log()
        check(re.search(r"dsn=4\.4\.2, status=deferred \(lost connection with "
                        r"127\.0\.0\.1\[127\.0\.0\.1\] while sending MAIL FROM\)", log), log)


def test_tls_encrypt_without_starttls_defers():
    with relayed_to_sink(extra="smtp_tls_security_level = encrypt\n") as (instance, sink):
        instance.sendmail(["-f", "alice@origin.example", "bob@remote.example"], MESSAGE)
        wait_deferred(instance, "status=deferred")
        log = instance.log()
        check(re.search(rf"relay=127\.0\.0\.1\[127\.0\.0\.1\]:{sink.port}, .*dsn=4\.7\.4, "
                        r"status=deferred \(TLS is required, but was not offered by host "
                        r"127\.0\.0\.1\[127\.0\.0\.1\]\)", log), log)
        check(not sink.messages(), "nothing may arrive in plaintext")


# ---- MX delivery through lib/dns, against a dnsmasq on loopback ----

def test_mx_delivery_and_dns_failures():
    records = dict(
        mx=[("two.test", "mx1.two.test", 10), ("two.test", "mx2.two.test", 20)],
        null_mx=["nullmx.test"],
        hosts=[("mx1.two.test", "127.0.0.2"), ("mx2.two.test", "127.0.0.3")],
        servfail=["fail.test"])
    with Dnsmasq(**records) as dns, MailInstance() as instance:
        # The first MX host (127.0.0.2) has nothing on the port: the second one gets it.
        sink = Sink(instance.root, address="127.0.0.3")
        try:
            instance.write_main_cf(f"""command_directory = {instance.command_directory}
mydestination = test.example, localhost
postern_dns_servers = {dns.server}
smtp_tcp_port = {sink.port}
""")
            instance.start()
            for recipient in ("bob@two.test", "nobody@nullmx.test", "x@nosuchdomain.test",
                              "y@fail.test"):
                instance.sendmail(["-f", "alice@test.example", recipient], MESSAGE)
            def settled():
                log = instance.log()
                return all(f"to=<{r}>" in log for r in
                           ("bob@two.test", "nobody@nullmx.test", "x@nosuchdomain.test",
                            "y@fail.test"))
            wait_until(settled, timeout=40, what="a result for every recipient", log=instance.log)
            log = instance.log()
            check(re.search(rf"to=<bob@two\.test>, relay=mx2\.two\.test\[127\.0\.0\.3\]:"
                            rf"{sink.port}, .*status=sent \(250 2\.0\.0 Ok\)", log), log)
            check(re.search(r"to=<nobody@nullmx\.test>, relay=none, .*dsn=5\.1\.0, "
                            r"status=bounced \(Domain nullmx\.test does not accept mail "
                            r"\(nullMX\)\)", log), log)
            check(re.search(r"to=<x@nosuchdomain\.test>, relay=none, .*dsn=5\.\d\.\d+, "
                            r"status=bounced \(Host or domain name not found", log), log)
            check(re.search(r"to=<y@fail\.test>, relay=none, .*dsn=4\.\d\.\d+, "
                            r"status=deferred", log), log)
            check(len(sink.messages()) == 1, f"one message at mx2: {sink.messages()!r}")
        finally:
            sink.stop()


# ---- a real Postfix submission service with Dovecot SASL ----

SUBMISSION_USER = "user@example.com"
SUBMISSION_PASSWORD = "AppPassword123"


class SubmissionServer:
    """Real Postfix 3.7 configured as the seed's submission service on 127.0.0.1:PORT
    (smtpd_tls_security_level=encrypt, Dovecot SASL on private/auth, relay only for
    authenticated clients), with a real Dovecot auth server. No qmgr: what smtpd accepted
    stays in incoming/. Both masters are stopped by PID."""

    def __init__(self, root):
        self.root = os.path.join(root, "submission")
        self.config = os.path.join(self.root, "etc")
        self.queue = os.path.join(self.root, "queue")
        data = os.path.join(self.root, "data")
        for path in (self.config, self.queue, data):
            os.makedirs(path)
        shutil.chown(data, "postfix")
        self.port = free_port()
        self.maillog = os.path.join(self.root, "maillog")
        self.certificate = os.path.join(self.config, "cert.pem")
        key = os.path.join(self.config, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                        "-keyout", key, "-out", self.certificate, "-days", "2",
                        "-subj", "/CN=smtp.example.com",
                        "-addext", "subjectAltName=DNS:smtp.example.com"],
                       check=True, capture_output=True)
        with open(os.path.join(self.config, "main.cf"), "w") as out:
            out.write(f"""queue_directory = {self.queue}
data_directory = {data}
command_directory = {REAL_SBIN}
daemon_directory = {REAL_DAEMONS}
mail_owner = postfix
setgid_group = postdrop
myhostname = smtp.example.com
mydomain = example.com
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
compatibility_level = 3.7
maillog_file = {self.maillog}
maillog_file_prefixes = {self.root}
smtpd_tls_cert_file = {self.certificate}
smtpd_tls_key_file = {key}
local_recipient_maps =
alias_maps =
""")
        with open(os.path.join(self.config, "master.cf"), "w") as out:
            out.write(f"""127.0.0.1:{self.port} inet n - n - - smtpd
  -o syslog_name=postfix/submission
  -o smtpd_tls_security_level=encrypt
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_sasl_type=dovecot
  -o smtpd_sasl_path=private/auth
  -o smtpd_client_restrictions=permit_sasl_authenticated,reject
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
  -o smtpd_tls_auth_only=yes
  -o milter_macro_daemon_name=ORIGINATING
cleanup   unix  n       -       n       -       0       cleanup
rewrite   unix  -       -       n       -       -       trivial-rewrite
anvil     unix  -       -       n       -       1       anvil
proxymap  unix  -       -       n       -       -       proxymap
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
postlog   unix-dgram n  -       n       -       1       postlogd
""")
        started = subprocess.run([os.path.join(REAL_SBIN, "postfix"), "-c", self.config, "start"],
                                 capture_output=True, text=True)
        check(started.returncode == 0, f"real postfix start: {started}")
        wait_until(self.master_pid, timeout=20, what="real Postfix master")
        self.dovecot_pid = None
        self._start_dovecot()
        check(wait_for(lambda: port_open(self.port), timeout=10), "submission port not open")

    def _start_dovecot(self):
        run = os.path.join(self.root, "dovecot-run")
        os.makedirs(run)
        users = os.path.join(self.root, "dovecot-users")
        with open(users, "w") as out:
            out.write(f"{SUBMISSION_USER}:{{PLAIN}}{SUBMISSION_PASSWORD}\n")
        conf = os.path.join(self.root, "dovecot.conf")
        with open(conf, "w") as out:
            out.write(f"""protocols =
base_dir = {run}
state_dir = {run}
log_path = {self.root}/dovecot.log
ssl = no
auth_mechanisms = plain login
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {users}
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home=/nonexistent
}}
service auth {{
  unix_listener {self.queue}/private/auth {{
    mode = 0660
    user = postfix
    group = postfix
  }}
}}
service anvil {{
  chroot =
}}
""")
        # dovecot daemonizes: its output must not be a pipe the test waits on.
        subprocess.run([DOVECOT, "-c", conf], check=True, stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)
        pid_file = os.path.join(run, "master.pid")
        wait_until(lambda: os.path.exists(pid_file) and
                   os.path.exists(os.path.join(self.queue, "private", "auth")),
                   timeout=10, what="dovecot auth socket")
        with open(pid_file) as pid:
            self.dovecot_pid = int(pid.read().strip())

    def master_pid(self):
        try:
            with open(os.path.join(self.queue, "pid", "master.pid")) as pid_file:
                return int(pid_file.read().strip())
        except (OSError, ValueError):
            return None

    def log(self):
        try:
            with open(self.maillog, errors="replace") as log:
                return log.read()
        except OSError:
            return ""

    def accepted(self):
        found = []
        for directory, _, files in os.walk(os.path.join(self.queue, "incoming")):
            found.extend(os.path.join(directory, name) for name in files)
        return found

    def stop(self):
        for pid in (self.dovecot_pid, self.master_pid()):
            if pid and process_alive(pid):
                os.kill(pid, signal.SIGTERM)
                wait_for(lambda: not process_alive(pid), timeout=20)


@contextlib.contextmanager
def relayed_to_submission(extra="", password=SUBMISSION_PASSWORD):
    """A started instance relaying to a SubmissionServer with the seed's settings:
    smtp_tls_security_level = encrypt and SASL from a hash: sasl_passwd built by postmap."""
    with MailInstance() as instance:
        server = SubmissionServer(instance.root)
        try:
            passwords = os.path.join(instance.config_directory, "sasl_passwd")
            write_passwords(instance, passwords, server.port, password)
            instance.write_main_cf(
                f"command_directory = {instance.command_directory}\n"
                + relay_main_cf(server.port, f"""smtp_tls_security_level = encrypt
smtp_sasl_auth_enable = yes
smtp_sasl_password_maps = hash:{passwords}
smtp_sasl_security_options = noanonymous
{extra}"""))
            instance.start()
            yield instance, server, passwords
        except Exception:
            print(f"submission server log:\n{server.log()}", flush=True)
            raise
        finally:
            server.stop()


def write_passwords(instance, path, port, password):
    with open(path, "w") as out:
        out.write(f"[127.0.0.1]:{port} {SUBMISSION_USER}:{password}\n")
    os.chmod(path, 0o600)
    built = instance.run("postmap", path)
    check(built.returncode == 0, f"postmap: {built.stderr!r}")


def test_submission_with_sasl_and_starttls_delivers():
    with relayed_to_submission() as (instance, server, _):
        instance.sendmail(["-f", "alice@origin.example", "bob@remote.example"], MESSAGE)
        instance.wait_for_queue_empty(timeout=40)
        wait_until(server.accepted, timeout=10, what="the message at the submission server",
                   log=server.log)
        log = instance.log()
        check(re.search(rf"to=<bob@remote\.example>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:"
                        rf"{server.port}, .*dsn=2\.0\.0, status=sent \(250 2\.0\.0 Ok: queued as "
                        r"\w+\)", log), log)
        real_log = server.log()
        check(f"sasl_method=PLAIN, sasl_username={SUBMISSION_USER}" in real_log, real_log)
        # The session went EHLO, STARTTLS, EHLO again, AUTH, one transaction.
        check("ehlo=2 starttls=1 auth=1 mail=1 rcpt=1 data=1 quit=1" in real_log, real_log)


def test_wrong_sasl_password_defers_then_postmap_and_flush_deliver():
    with relayed_to_submission(password="wrong-password") as (instance, server, passwords):
        instance.sendmail(["-f", "alice@origin.example", "bob@remote.example"], MESSAGE)
        wait_deferred(instance, "SASL authentication failed", timeout=40)
        listing = queue_listing(instance)
        check(re.search(r"SASL authentication failed; server 127\.0\.0\.1\[127\.0\.0\.1\] "
                        r"said: 535 5\.7\.8 Error: authentication failed", listing), listing)
        check(not server.accepted(), "nothing may arrive without authentication")
        line = [entry for entry in instance.log().splitlines()
                if "SASL authentication failed" in entry][0]
        check("dsn=4.7.8, status=deferred" in line, line)
        write_passwords(instance, passwords, server.port, SUBMISSION_PASSWORD)
        # The agent reads the rebuilt table once it restarts, which it does when qmgr has
        # let go of its connection (it keeps one open across requests for a few seconds).
        wait_until(lambda: "sasl_passwd has changed -- restarting" in instance.log(),
                   timeout=40, what="smtp to notice the new sasl_passwd", log=instance.log)
        flushed = instance.run("postqueue", "-f")
        check(flushed.returncode == 0, f"postqueue -f: {flushed.stderr!r}")
        instance.wait_for_queue_empty(timeout=40)
        wait_until(server.accepted, timeout=10, what="the message after the flush",
                   log=server.log)
        check("status=sent (250 2.0.0 Ok: queued as" in instance.log(), instance.log())


def test_tls_verify_checks_the_server_name():
    with MailInstance() as instance:
        server = SubmissionServer(instance.root)
        try:
            passwords = os.path.join(instance.config_directory, "sasl_passwd")
            write_passwords(instance, passwords, server.port, SUBMISSION_PASSWORD)
            policy = os.path.join(instance.config_directory, "tls_policy")
            with open(policy, "w") as out:
                out.write(f"[127.0.0.1]:{server.port} verify match=smtp.example.com\n")
            instance.write_main_cf(
                f"command_directory = {instance.command_directory}\n"
                + relay_main_cf(server.port, f"""smtp_tls_security_level = verify
smtp_tls_CAfile = {server.certificate}
smtp_sasl_auth_enable = yes
smtp_sasl_password_maps = hash:{passwords}
smtp_sasl_security_options = noanonymous
"""))
            instance.start()
            # The certificate names smtp.example.com, the nexthop is 127.0.0.1: defer.
            instance.sendmail(["-f", "alice@origin.example", "bob@remote.example"], MESSAGE)
            wait_deferred(instance, "Server certificate not verified", timeout=40)
            check(not server.accepted(), "nothing may arrive over an unverified session")
            # A policy entry that names the certificate's name lets it through.
            with open(os.path.join(instance.config_directory, "main.cf"), "a") as out:
                out.write(f"smtp_tls_policy_maps = texthash:{policy}\n")
            reloaded = instance.run_postfix("reload")
            check(reloaded.returncode == 0, f"reload: {reloaded.stderr}")
            time.sleep(1)
            instance.run("postqueue", "-f")
            instance.wait_for_queue_empty(timeout=40)
            wait_until(server.accepted, timeout=10, what="the message after the policy",
                       log=server.log)
        finally:
            server.stop()


def main():
    return run_tests(globals(), SELECTED)


if __name__ == "__main__":
    sys.exit(main())
