#!/usr/bin/env python3
"""smtpd on a whole instance (mail_instance.py) with an inet smtpd service on a loopback
port the test picks, side by side with a private real Postfix 3.7 instance configured the
same way: every reply of the scripted sessions must be equal, byte for byte, except the
queue ID. Then: mail accepted over SMTP (python smtplib and swaks) reaches cleanup and the
queue (read back from deferred/, where local_transport = retry keeps it), relay control from inside and outside mynetworks,
a client that disconnects mid-DATA leaves nothing in the queue, the "disconnect from" log
line with the command counts, a run of hostile clients after which a normal client is
still served, STARTTLS (with smtpd_tls_received_header), AUTH through Dovecot, and ETRN.
Every instance has its own dnsmasq as postern_dns_servers (smtpd looks up the client name
at connect), so no test asks the machine's resolver; smtpd_dns_test.py has the DNS checks.

usage: smtpd_test.py [TEST-NAME...]
"""
import os
import re
import shutil
import smtplib
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from test_runner import check, run_tests  # noqa: E402
from instance import free_port, process_alive, wait_for  # noqa: E402
from mail_instance import MailInstance  # noqa: E402
from dnsmasq import Dnsmasq  # noqa: E402

SELECTED = sys.argv[1:]
USER = "postern-smtpd1"

# What both servers run with. 127.0.0.1 is outside mynetworks unless a test says so, so
# relay control is visible from the loopback client.
COMMON_MAIN_CF = """\
myhostname = mx.test.example
mydestination = $myhostname, localhost, test.example
mynetworks = 10.9.9.0/24
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
local_recipient_maps =
smtpd_error_sleep_time = 0
smtpd_soft_error_limit = 100
smtpd_hard_error_limit = 100
home_mailbox = Maildir/
alias_maps =
alias_database =
"""


class RealPostfix:
    """A private real Postfix instance (its own config, queue and data directories, started
    with `postfix -c DIR start`, stopped by its master's PID) with smtpd on `port`."""

    SERVICES = """\
{port}      inet  n       -       n       -       -       smtpd
cleanup   unix  n       -       n       -       0       cleanup
rewrite   unix  -       -       n       -       -       trivial-rewrite
qmgr      unix  n       -       n       300     1       qmgr
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
proxymap  unix  -       -       n       -       -       proxymap
anvil     unix  -       -       n       -       1       anvil
postlog   unix-dgram n  -       n       -       1       postlogd
"""

    def __init__(self, main_cf):
        self.root = tempfile.mkdtemp(prefix="postern-smtpd-ref-")
        os.chmod(self.root, 0o755)
        self.config_directory = os.path.join(self.root, "etc")
        self.queue_directory = os.path.join(self.root, "queue")
        data_directory = os.path.join(self.root, "data")
        for directory in (self.config_directory, self.queue_directory, data_directory):
            os.makedirs(directory)
        shutil.chown(data_directory, "postfix")
        self.port = free_port()
        self.maillog = os.path.join(self.root, "maillog")
        with open(os.path.join(self.config_directory, "main.cf"), "w") as out:
            out.write(f"""compatibility_level = 3.7
queue_directory = {self.queue_directory}
data_directory = {data_directory}
maillog_file = {self.maillog}
maillog_file_prefixes = {self.root}
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
{main_cf}""")
        with open(os.path.join(self.config_directory, "master.cf"), "w") as out:
            out.write(self.SERVICES.format(port=f"127.0.0.1:{self.port}"))

    def __enter__(self):
        result = subprocess.run(["/usr/sbin/postfix", "-c", self.config_directory, "start"],
                                capture_output=True, text=True, timeout=60)
        check(result.returncode == 0, f"real postfix start: {result.stdout}{result.stderr}")
        check(wait_for(self.listening, timeout=10), "real postfix smtpd is not listening")
        return self

    def listening(self):
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            return True
        except OSError:
            return False

    def __exit__(self, *exc):
        try:
            with open(os.path.join(self.queue_directory, "pid", "master.pid")) as pid_file:
                pid = int(pid_file.read().strip())
        except (OSError, ValueError):
            pid = None
        if pid and process_alive(pid):
            subprocess.run(["/usr/sbin/postfix", "-c", self.config_directory, "stop"],
                           capture_output=True, timeout=60)
            if process_alive(pid):
                os.kill(pid, 9)
        shutil.rmtree(self.root, ignore_errors=True)
        return False


def crash_lines(log):
    """master's warnings about a daemon that died (an ASan abort exits 1, a signal...)."""
    return [line for line in log.splitlines() if "panic:" in line or
            "killed by signal" in line or ("exit status" in line and "exit status 0" not in line)]


class SmtpdInstance(MailInstance):
    """A MailInstance whose end checks that no daemon died while the test ran. Its DNS
    server (postern_dns_servers) is a dnsmasq the test started, never the machine's
    resolver; `own_dns` is stopped with the instance."""

    own_dns = None

    def __exit__(self, exc_type, *exc):
        crashes = [] if exc_type else crash_lines(self.log())
        self.stop()
        if self.own_dns is not None:
            self.own_dns.stop()
        check(not crashes, "a daemon died:\n" + "\n".join(crashes[:20]))
        return False


def postern(main_cf="", port=None, dns=None):
    """An instance whose smtpd listens on `port`; its DNS is `dns` (a started Dnsmasq), or
    an empty dnsmasq of its own (every client is "unknown": no PTR records)."""
    port = port or free_port()
    own_dns = None
    if dns is None:
        dns = own_dns = Dnsmasq().start()
    try:
        instance = SmtpdInstance(main_cf=COMMON_MAIN_CF + f"postern_dns_servers = {dns.server}\n" +
                                 main_cf,
                                 extra_master_cf=f"127.0.0.1:{port} inet n - n - - smtpd\n")
    except BaseException:
        if own_dns is not None:
            own_dns.stop()
        raise
    instance.own_dns = own_dns
    instance.port = port
    return instance


def start(instance):
    instance.start()
    check(wait_for(lambda: listening(instance.port), timeout=10),
          f"smtpd is not listening\nlog:\n{instance.log()}")


def listening(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


class Client:
    """A raw SMTP client: send() a chunk, replies() reads the complete replies to the
    commands it contained (a multi-line reply is one string)."""

    def __init__(self, port):
        self.connection = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buffer = b""
        self.greeting = self.reply()

    def reply(self):
        lines = []
        while True:
            while b"\n" not in self.buffer:
                data = self.connection.recv(65536)
                if not data:
                    return "\n".join(lines) if lines else None
                self.buffer += data
            line, self.buffer = self.buffer.split(b"\n", 1)
            line = line.rstrip(b"\r").decode("utf-8", "replace")
            lines.append(line)
            if len(line) < 4 or line[3] != "-":
                return "\n".join(lines)

    def send(self, data, replies=1):
        self.connection.sendall(data if isinstance(data, bytes) else data.encode())
        return [self.reply() for _ in range(replies)]

    def close(self):
        self.connection.close()


# Each script: (bytes to send, number of replies expected). The same script runs against
# both servers.
SCRIPTS = {
    "commands": [
        ("EHLO client.example\r\n", 1), ("HELO\r\n", 1), ("EHLO\r\n", 1),
        ("MAIL FROM:<a@b>\r\n", 1), ("MAIL FROM:<a@b>\r\n", 1), ("RSET\r\n", 1),
        ("MAIL FROM:<a b>\r\n", 1), ("MAIL FROM:\r\n", 1), ("MAIL\r\n", 1),
        ("MAIL FROM:<a@b> FOO=1\r\n", 1), ("MAIL FROM:<a@b> SIZE=x\r\n", 1),
        ("MAIL FROM:<a@b> BODY=foo\r\n", 1), ("MAIL FROM:<a@b> RET=FOO\r\n", 1),
        ("MAIL FROM:<a@b> ENVID=\r\n", 1), ("RCPT TO:<x@test.example>\r\n", 1),
        ("DATA\r\n", 1), ("MAIL FROM:<a@b> BODY=8BITMIME RET=HDRS ENVID=abc\r\n", 1),
        ("DATA\r\n", 1), ("RCPT TO:<x@remote.test>\r\n", 1), ("RCPT TO:<x>\r\n", 1),
        ("RCPT TO:<x@test.example> NOTIFY=FOO\r\n", 1),
        ("RCPT TO:<x@test.example> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;x@y\r\n", 1),
        ("RCPT\r\n", 1), ("RCPT TO:<>\r\n", 1), ("RCPT TO:<x@test.example> FOO=bar\r\n", 1),
        ("RCPT TO:<x@test.example> ORCPT=bad\r\n", 1), ("DATA x\r\n", 1),
        ("VRFY\r\n", 1), ("VRFY x\r\n", 1), ("VRFY x@remote.test\r\n", 1),
        ("NOOP x\r\n", 1), ("RSET x\r\n", 1), ("FOO\r\n", 1), ("\r\n", 1),
        ("ETRN\r\n", 1), ("AUTH PLAIN\r\n", 1), ("STARTTLS\r\n", 1),
        ("NOOP " + "x" * 3000 + "\r\n", 1), ("QUIT\r\n", 1),
    ],
    "pipelined": [
        ("EHLO a\r\nMAIL FROM:<a@b>\r\nRCPT TO:<x@test.example>\r\n"
         "RCPT TO:<y@remote.test>\r\nDATA\r\n", 5),
        ("Subject: t\r\n\r\nbody\r\n.\r\n", 1),
        ("MAIL FROM:<a@b>\r\nDATA\r\n", 2),
        ("RSET\r\nMAIL FROM:<a@b>\r\nRCPT TO:<y@remote.test>\r\nDATA\r\n", 4),
        ("MAIL FROM:<a@b> SIZE=99999999\r\n", 1),
        ("BDAT 10\r\nRSET\r\nDATA\r\n", 2),
        ("QUIT\r\n", 1),
    ],
    "bdat": [
        ("EHLO a\r\nMAIL FROM:<a@b>\r\nRCPT TO:<x@test.example>\r\n", 3),
        ("BDAT 12\r\nSubject: x\r\n", 1), ("BDAT 6 LAST\r\nbody\r\n", 1),
        ("BDAT x\r\n", 1),
    ],
}


def normalize(reply):
    """The reply without its queue ID, which differs from run to run."""
    return re.sub(r"queued as [0-9A-Za-z]+$", "queued as ID", reply) if reply else reply


def run_script(port, script):
    client = Client(port)
    replies = [client.greeting]
    for data, count in script:
        replies.extend(normalize(reply) for reply in client.send(data, count))
    client.close()
    return replies


def test_replies_equal_real_postfix():
    with RealPostfix(COMMON_MAIN_CF) as reference, postern() as instance:
        start(instance)
        for name, script in SCRIPTS.items():
            expected = run_script(reference.port, script)
            got = run_script(instance.port, script)
            differences = [f"  postfix: {want!r}\n  postern: {have!r}"
                           for want, have in zip(expected, got) if want != have]
            check(len(expected) == len(got) and not differences,
                  f"script {name}: replies differ:\n" + "\n".join(differences) +
                  f"\nlog:\n{instance.log()[-3000:]}")


def queued_file_bytes(instance, queue_id):
    for directory, _, files in os.walk(instance.queue_directory):
        if queue_id in files:
            with open(os.path.join(directory, queue_id), "rb") as queue_file:
                return queue_file.read()
    return None


def test_message_accepted_and_queued():
    # local_transport = retry keeps each message in deferred/, where the test reads it:
    # what smtpd handed to cleanup, with the Received: header, is in the queue file.
    with postern("local_transport = retry:4.3.0 kept for the test\n") as instance:
        start(instance)
        with smtplib.SMTP("127.0.0.1", instance.port, timeout=30) as client:
            client.ehlo("client.example")
            code, reply = client.docmd("MAIL FROM:<sender@remote.test>")
            check(code == 250, reply)
            check(client.docmd(f"RCPT TO:<{USER}@test.example>")[0] == 250, "rcpt")
            code, reply = client.data(b"Subject: over smtp\r\n\r\nhello\r\n")
            check(code == 250 and reply.startswith(b"2.0.0 Ok: queued as "), reply)
            queue_id = reply.decode().rsplit(" ", 1)[1]
        counts = "disconnect from unknown[127.0.0.1] ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5"
        check(wait_for(lambda: counts in instance.log(), 10),
              f"no disconnect line with counts:\n{instance.log()}")
        log = instance.log()
        check("connect from unknown[127.0.0.1]" in log, f"no connect line:\n{log}")
        check(f"{queue_id}: client=unknown[127.0.0.1]" in log, f"no client= line:\n{log}")
        content = wait_for(lambda: queue_id in instance.queue_files("deferred") and
                           queued_file_bytes(instance, queue_id), timeout=30)
        check(content, f"{queue_id} not deferred: {instance.all_queued()}\n{instance.log()}")
        for text in (b"Received: from client.example (unknown [127.0.0.1])",
                     b"\tby mx.test.example (Postfix) with ESMTP id " + queue_id.encode(),
                     f"\tfor <{USER}@test.example>; ".encode(), b"Subject: over smtp",
                     b"hello", b"sender@remote.test", b"log_helo_name=client.example",
                     b"rewrite_context=remote"):
            check(text in content, f"{text!r} not in the queue file: {content!r}")

        result = subprocess.run(
            ["swaks", "--server", "127.0.0.1", "--port", str(instance.port),
             "--from", "s@remote.test", "--to", f"{USER}@test.example", "--helo", "swaks.example",
             "--body", "from swaks"], capture_output=True, text=True, timeout=60)
        check(result.returncode == 0 and "250 2.0.0 Ok: queued as" in result.stdout,
              f"swaks: {result.returncode}\n{result.stdout}{result.stderr}")
        check(wait_for(lambda: len(instance.queue_files("deferred")) == 2, timeout=30),
              f"swaks message not queued: {instance.all_queued()}\n{instance.log()}")


def test_relay_control():
    with postern() as outside:
        start(outside)
        result = subprocess.run(
            ["swaks", "--server", "127.0.0.1", "--port", str(outside.port),
             "--from", "s@remote.test", "--to", "x@elsewhere.test", "--quit-after", "RCPT"],
            capture_output=True, text=True, timeout=60)
        check("554 5.7.1 <x@elsewhere.test>: Relay access denied" in result.stdout,
              result.stdout)
        check("NOQUEUE: reject: RCPT from unknown[127.0.0.1]: 554 5.7.1 <x@elsewhere.test>: "
              "Relay access denied; from=<s@remote.test> to=<x@elsewhere.test> proto=ESMTP"
              in outside.log(), outside.log())
    with postern("mynetworks = 127.0.0.0/8\n") as inside:
        start(inside)
        with smtplib.SMTP("127.0.0.1", inside.port, timeout=30) as client:
            client.ehlo("client.example")
            client.mail("s@remote.test")
            code, text = client.rcpt("x@elsewhere.test")
            check(code == 250, f"relay from mynetworks refused: {code} {text}")
    access = "smtpd_client_restrictions = check_client_access inline:{ {127.0.0.1=REJECT no} }\n"
    with postern(access) as refused:
        start(refused)
        with smtplib.SMTP("127.0.0.1", refused.port, timeout=30) as client:
            client.ehlo("client.example")
            client.mail("s@remote.test")
            code, text = client.rcpt(f"{USER}@test.example")
            check((code, text) == (554, b"5.7.1 <127.0.0.1>: Client host rejected: no"),
                  f"access map: {code} {text}")


def test_disconnect_mid_data_leaves_nothing():
    with postern() as instance:
        start(instance)
        client = Client(instance.port)
        client.send("EHLO a\r\nMAIL FROM:<a@b>\r\nRCPT TO:<x@test.example>\r\nDATA\r\n", 4)
        client.connection.sendall(b"Subject: half\r\n\r\npart of a body\r\n")
        client.close()
        check(wait_for(lambda: "lost connection after DATA from unknown[127.0.0.1]"
                       in instance.log(), 10), instance.log())
        time.sleep(0.5)
        queued = instance.all_queued()
        check(not any(queued.values()), f"something was queued: {queued}\n{instance.log()}")


def test_hostile_clients_then_normal_client():
    with postern("smtpd_timeout = 2s\n") as instance:
        start(instance)
        garbage = [b"\x00\xff\xfe" * 500 + b"\r\n", b"A" * 70000 + b"\r\n",
                   b"MAIL FROM:<" + b"a" * 5000 + b"@b>\r\n", b"\n" * 300,
                   b"EHLO x\r\nBDAT 99999999999999999999\r\n", b"DATA\r\n.\r\n" * 50,
                   b"EHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<x@test.example>\r\nBDAT 5\r\n"]
        for round_number in range(1000):
            payload = garbage[round_number % len(garbage)]
            try:
                with socket.create_connection(("127.0.0.1", instance.port), timeout=5) as s:
                    s.sendall(payload)
                    s.shutdown(socket.SHUT_WR)
                    while s.recv(65536):
                        pass
            except OSError:
                pass
        with smtplib.SMTP("127.0.0.1", instance.port, timeout=30) as client:
            code, _ = client.ehlo("after.example")
            check(code == 250, f"normal client after hostile ones: {code}")
        # An smtpd that crashed (ASan aborts, signals) shows as master's warning about it.
        crashes = crash_lines(instance.log())
        check(not crashes, "\n".join(crashes[:20]))


def test_unlisted_local_recipient_equals_real_postfix():
    extra = "local_recipient_maps = inline:{alice=yes}\n"
    script = [("EHLO a\r\nMAIL FROM:<s@remote.test>\r\n", 2),
              ("RCPT TO:<alice@test.example>\r\n", 1), ("RCPT TO:<bob@test.example>\r\n", 1),
              ("RCPT TO:<bob@mx.test.example>\r\n", 1), ("VRFY bob@test.example\r\n", 1),
              ("QUIT\r\n", 1)]
    with RealPostfix(COMMON_MAIN_CF + extra) as reference, postern(extra) as instance:
        start(instance)
        expected = run_script(reference.port, script)
        got = run_script(instance.port, script)
        check(expected == got, f"postfix: {expected}\npostern: {got}\n{instance.log()[-2000:]}")
        check("550 5.1.1 <bob@test.example>: Recipient address rejected: User unknown in local "
              "recipient table" in got, got)


RESTRICTIONS_MAIN_CF = """\
smtpd_helo_restrictions = reject_invalid_helo_hostname, reject_non_fqdn_helo_hostname
smtpd_sender_restrictions = reject_non_fqdn_sender,
    check_sender_access inline:{ {deny@remote.test=550 5.7.0 not you} }
smtpd_recipient_restrictions = reject_non_fqdn_recipient,
    check_recipient_access inline:{ {x@test.example=REJECT go away} {y@test.example=DEFER} }
"""

RESTRICTION_SCRIPTS = {
    "invalid_helo": [("EHLO bad_name!\r\nMAIL FROM:<a@remote.test>\r\n", 2),
                     ("RCPT TO:<alice@test.example>\r\n", 1), ("QUIT\r\n", 1)],
    "non_fqdn_helo": [("EHLO localname\r\nMAIL FROM:<a@remote.test>\r\n", 2),
                      ("RCPT TO:<alice@test.example>\r\n", 1), ("QUIT\r\n", 1)],
    "sender": [("EHLO ok.example\r\nMAIL FROM:<a@nodot>\r\n", 2),
               ("RCPT TO:<alice@test.example>\r\n", 1), ("RSET\r\n", 1),
               ("MAIL FROM:<deny@remote.test>\r\n", 1), ("RCPT TO:<alice@test.example>\r\n", 1),
               ("QUIT\r\n", 1)],
    "recipient": [("EHLO ok.example\r\nMAIL FROM:<a@remote.test>\r\n", 2),
                  ("RCPT TO:<alice@nodot>\r\n", 1), ("RCPT TO:<x@test.example>\r\n", 1),
                  ("RCPT TO:<y@test.example>\r\n", 1), ("RCPT TO:<z@test.example>\r\n", 1),
                  ("QUIT\r\n", 1)],
}


def test_restrictions_equal_real_postfix():
    with RealPostfix(COMMON_MAIN_CF + RESTRICTIONS_MAIN_CF) as reference, \
            postern(RESTRICTIONS_MAIN_CF) as instance:
        start(instance)
        for name, script in RESTRICTION_SCRIPTS.items():
            expected = run_script(reference.port, script)
            got = run_script(instance.port, script)
            check(expected == got, f"script {name}:\npostfix: {expected}\npostern: {got}\n"
                  f"{instance.log()[-2000:]}")


class Dovecot:
    """A real Dovecot (dovecot-core) that only authenticates: passwd-file users, its auth
    socket at `socket_path`, run in the foreground (-F) and stopped by PID."""

    def __init__(self, socket_path, users):
        self.root = tempfile.mkdtemp(prefix="postern-dovecot-")
        os.chmod(self.root, 0o755)
        users_file = os.path.join(self.root, "users")
        with open(users_file, "w") as out:
            out.writelines(f"{name}:{{PLAIN}}{password}\n" for name, password in users.items())
        for sub in ("run", "state"):
            os.makedirs(os.path.join(self.root, sub))
        os.makedirs(os.path.dirname(socket_path), exist_ok=True)
        self.socket_path = socket_path
        self.config = os.path.join(self.root, "dovecot.conf")
        with open(self.config, "w") as out:
            out.write(f"""base_dir = {self.root}/run
state_dir = {self.root}/state
log_path = {self.root}/dovecot.log
protocols =
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {users_file}
}}
service auth {{
  unix_listener {socket_path} {{
    mode = 0666
  }}
}}
""")
        self.process = None

    def __enter__(self):
        self.process = subprocess.Popen(["dovecot", "-F", "-c", self.config],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        check(wait_for(lambda: os.path.exists(self.socket_path), timeout=10),
              "dovecot did not create its auth socket")
        return self

    def __exit__(self, *exc):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        shutil.rmtree(self.root, ignore_errors=True)
        return False


SASL_MAIN_CF = """\
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = dovecot
smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination
"""

AUTH_SCRIPTS = {
    "auth": [
        ("EHLO x\r\n", 1), ("AUTH\r\n", 1), ("AUTH FOO\r\n", 1),
        ("AUTH PLAIN AGFsaWNlAHdyb25n\r\n", 1), ("AUTH PLAIN\r\n", 1), ("*\r\n", 1),
        ("AUTH LOGIN\r\n", 1), ("YWxpY2U=\r\n", 1), ("d3Jvbmc=\r\n", 1),
        ("MAIL FROM:<a@b>\r\n", 1), ("RCPT TO:<x@remote.test>\r\n", 1),
        ("AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n", 1), ("RSET\r\n", 1),
        ("AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n", 1), ("AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n", 1),
        ("EHLO y\r\n", 1), ("MAIL FROM:<a@b>\r\n", 1), ("RCPT TO:<x@remote.test>\r\n", 1),
        ("QUIT\r\n", 1),
    ],
    "login": [("EHLO x\r\n", 1), ("AUTH LOGIN YWxpY2U=\r\n", 1), ("c2VjcmV0\r\n", 1),
              ("MAIL FROM:<a@b>\r\n", 1), ("RCPT TO:<x@remote.test>\r\n", 1),
              ("QUIT\r\n", 1)],
}


def test_auth_through_dovecot_equals_real_postfix():
    with postern(SASL_MAIN_CF + "smtpd_sasl_path = private/auth\n") as instance:
        socket_path = os.path.join(instance.queue_directory, "private", "auth")
        with Dovecot(socket_path, {"alice": "secret"}), \
                RealPostfix(COMMON_MAIN_CF + SASL_MAIN_CF +
                            f"smtpd_sasl_path = {socket_path}\n") as reference:
            start(instance)
            for name, script in AUTH_SCRIPTS.items():
                expected = run_script(reference.port, script)
                got = run_script(instance.port, script)
                differences = [f"  postfix: {want!r}\n  postern: {have!r}"
                               for want, have in zip(expected, got) if want != have]
                check(len(expected) == len(got) and not differences,
                      f"script {name}: replies differ:\n" + "\n".join(differences) +
                      f"\nlog:\n{instance.log()[-3000:]}")
            for mechanism in ("PLAIN", "LOGIN"):
                result = subprocess.run(
                    ["swaks", "--server", "127.0.0.1", "--port", str(instance.port),
                     "--auth", mechanism, "--auth-user", "alice", "--auth-password", "secret",
                     "--from", "alice@test.example", "--to", "x@elsewhere.test"],
                    capture_output=True, text=True, timeout=60)
                check(result.returncode == 0 and "235 2.7.0 Authentication successful"
                      in result.stdout and "250 2.0.0 Ok: queued as" in result.stdout,
                      f"swaks {mechanism}: {result.stdout}{result.stderr}\n{instance.log()}")
            result = subprocess.run(
                ["swaks", "--server", "127.0.0.1", "--port", str(instance.port),
                 "--auth", "PLAIN", "--auth-user", "alice", "--auth-password", "bad",
                 "--from", "alice@test.example", "--to", "x@elsewhere.test"],
                capture_output=True, text=True, timeout=60)
            check("535 5.7.8 Error: authentication failed:" in result.stdout, result.stdout)
            check(", sasl_method=PLAIN, sasl_username=alice" in instance.log(), instance.log())


def make_certificate(directory):
    key = os.path.join(directory, "key.pem")
    cert = os.path.join(directory, "cert.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=mx.test.example", "-keyout", key, "-out", cert],
                   check=True, capture_output=True, timeout=60)
    return cert, key


def test_starttls():
    import ssl
    keys = tempfile.mkdtemp(prefix="postern-smtpd-tls-")
    try:
        cert, key = make_certificate(keys)
        tls = (f"smtpd_tls_cert_file = {cert}\nsmtpd_tls_key_file = {key}\n"
               "smtpd_tls_security_level = {level}\n")
        may, encrypt = tls.format(level="may"), tls.format(level="encrypt")
        script = [("EHLO a\r\n", 1), ("MAIL FROM:<a@b>\r\n", 1), ("STARTTLS x\r\n", 1),
                  ("QUIT\r\n", 1)]
        for settings in (may, encrypt):
            with RealPostfix(COMMON_MAIN_CF + settings) as reference, \
                    postern(settings) as instance:
                start(instance)
                expected = run_script(reference.port, script)
                got = run_script(instance.port, script)
                check(expected == got, f"postfix: {expected}\npostern: {got}\n"
                      f"{instance.log()[-2000:]}")
        with postern(encrypt + "local_transport = retry:4.3.0 kept for the test\n") as instance:
            start(instance)
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            with smtplib.SMTP("127.0.0.1", instance.port, timeout=30) as client:
                client.ehlo("client.example")
                code, reply = client.starttls(context=context)
                check(code == 220 and reply == b"2.0.0 Ready to start TLS", reply)
                code, features = client.ehlo("client.example")
                check(code == 250 and b"STARTTLS" not in features, features)
                refused = client.sendmail("s@remote.test", [f"{USER}@test.example"],
                                          b"Subject: tls\r\n\r\nover tls\r\n")
                check(refused == {}, refused)
            # Commands pipelined after STARTTLS in plaintext never reach the TLS session.
            raw = socket.create_connection(("127.0.0.1", instance.port), timeout=10)
            reader = raw.makefile("rb")
            reader.readline()
            raw.sendall(b"EHLO a\r\n")
            while not reader.readline().startswith(b"250 "):
                pass
            raw.sendall(b"STARTTLS\r\nRSET\r\n")
            check(reader.readline().startswith(b"220 2.0.0"), "no 220 to STARTTLS")
            wrapped = context.wrap_socket(raw, server_hostname="mx.test.example")
            wrapped.sendall(b"NOOP\r\n")
            first = wrapped.recv(4096)
            check(first == b"250 2.0.0 Ok\r\n", f"first reply after TLS: {first!r}")
            wrapped.close()
            check(wait_for(lambda: "with ESMTPS id" in open_queue_texts(instance), 10),
                  f"no Received: ... with ESMTPS in the queue\n{instance.log()[-2000:]}")
            check("(using TLS" not in open_queue_texts(instance),
                  "TLS details in Received: without smtpd_tls_received_header")
            check(wait_for(lambda: "improper command pipelining after STARTTLS" in instance.log(),
                           10), instance.log()[-2000:])
        # smtps (port 465): TLS from the first byte, no STARTTLS offered.
        # smtpd_tls_received_header: Postfix's comment lines between "from" and "by".
        wrapper = (tls.format(level="may") + "smtpd_tls_wrappermode = yes\n"
                   "smtpd_tls_received_header = yes\n")
        with postern(wrapper + "local_transport = retry:4.3.0 kept for the test\n") as instance:
            start(instance)
            with smtplib.SMTP_SSL("127.0.0.1", instance.port, timeout=30,
                                  context=context) as client:
                code, features = client.ehlo("client.example")
                check(code == 250 and b"STARTTLS" not in features, features)
                refused = client.sendmail("s@remote.test", [f"{USER}@test.example"],
                                          b"Subject: smtps\r\n\r\nimplicit tls\r\n")
                check(refused == {}, refused)
            check(wait_for(lambda: "with ESMTPS id" in open_queue_texts(instance), 10),
                  f"no ESMTPS message queued\n{instance.log()[-2000:]}")
            texts = open_queue_texts(instance)
            check(re.search(r"Received: from client\.example \(unknown \[127\.0\.0\.1\]\)\n?.*"
                            r"\t\(using TLSv1\.[23] with cipher \S+ \(\d+/\d+ bits\)", texts,
                            re.S) and "\t(No client certificate requested)" in texts,
                  f"no TLS lines in Received:\n{texts!r}")
    finally:
        shutil.rmtree(keys, ignore_errors=True)


def open_queue_texts(instance):
    texts = []
    for directory, _, files in os.walk(instance.queue_directory):
        for name in files:
            try:
                with open(os.path.join(directory, name), "rb") as queue_file:
                    texts.append(queue_file.read().decode("latin-1"))
            except OSError:
                pass
    return "".join(texts)


ETRN_MAIN_CF = "relay_domains = flush.test\n"
ETRN_SCRIPT = [("ETRN x.test\r\n", 1), ("EHLO client.example\r\n", 1), ("ETRN\r\n", 1),
               ("ETRN bad_name!\r\n", 1), ("ETRN #\r\n", 1), ("ETRN remote.test\r\n", 1),
               ("ETRN @remote.test\r\n", 1), ("ETRN [127.0.0.1]\r\n", 1),
               ("MAIL FROM:<a@b.example>\r\n", 1), ("ETRN remote.test\r\n", 1),
               ("RSET\r\n", 1), ("QUIT\r\n", 1)]


def test_etrn_equals_real_postfix():
    """ETRN's syntax and refusal replies (fast_flush_domains = $relay_domains: remote.test
    is not eligible, so neither server asks a flush service)."""
    with RealPostfix(COMMON_MAIN_CF + ETRN_MAIN_CF) as reference, \
            postern(ETRN_MAIN_CF) as instance:
        start(instance)
        expected = run_script(reference.port, ETRN_SCRIPT)
        got = run_script(instance.port, ETRN_SCRIPT)
        differences = [f"  postfix: {want!r}\n  postern: {have!r}"
                       for want, have in zip(expected, got) if want != have]
        check(len(expected) == len(got) and not differences,
              "ETRN replies differ:\n" + "\n".join(differences))


def test_etrn_through_flush_service():
    """An eligible site goes to the instance's flush service (flush/), which answers ok."""
    with postern(ETRN_MAIN_CF + "ipc_timeout = 30s\n") as instance:
        start(instance)
        got = run_script(instance.port, [("EHLO client.example\r\n", 1),
                                         ("ETRN flush.test\r\n", 1), ("QUIT\r\n", 1)])
        check(got[2] == "250 Queuing started", f"{got}\n{instance.log()[-2000:]}")


if __name__ == "__main__":
    sys.exit(run_tests(globals(), SELECTED))
