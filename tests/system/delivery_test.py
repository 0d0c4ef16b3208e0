#!/usr/bin/env python3
"""End-to-end delivery through the real daemons: sendmail → postdrop → pickup → cleanup →
qmgr → trivial-rewrite → local (Maildir, mbox, aliases, .forward, |command, /file) and
bounce/defer, on whole instances (mail_instance.py) with the default master.cf services.

What each test checks is what issue 7's "Done means" lists: the headers local adds
(Return-Path, X-Original-To, Delivered-To) and cleanup's Received: line, bodies byte for
byte (7-bit, 8-bit, long lines, 20 MB), mbox delivery in mail_spool_directory, aliases with
:include:, |command, /file, owner- and user+ext, ~/.forward, a DSN for an unknown user
(parsed with python's email module), a command that fails temporarily (deferred/, the reason
in `postqueue -p`, delivered after `postqueue -f`), expiry after maximal_queue_lifetime, and
a qmgr killed with SIGKILL in the middle of deliveries; and notify_classes (postmaster
copies of bounces, double bounces to 2bounce_notice_recipient, none by default) and
mailbox_delivery_lock (an mbox held with fcntl or a dot-lock defers, then delivers).

The test users (postern-dlv1..3, homes under /home) are created when missing and their
mail is removed before and after each test, so the test can run again on the same machine.

usage: delivery_test.py [TEST-NAME...]
"""
import email
import email.policy
import mailbox
import os
import pwd
import re
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from test_runner import check, run_tests  # noqa: E402
from mail_instance import (MailInstance, process_alive, remove_delivered_mail,  # noqa: E402
                           wait_until)

SELECTED = sys.argv[1:]
USERS = ("postern-dlv1", "postern-dlv2", "postern-dlv3")

MAIN_CF = """\
mydestination = test.example, localhost
home_mailbox = Maildir/
alias_maps = hash:{root}/etc/aliases
alias_database = hash:{root}/etc/aliases
recipient_delimiter = +
mail_spool_directory = {root}/mail
"""


class DeliveryInstance(MailInstance):
    """A MailInstance with local users, aliases and an out/ folder anyone may write
    (for |command and /file deliveries, which run as default_privs or the user)."""

    def __init__(self, main_cf="", aliases=""):
        for name in USERS:
            remove_delivered_mail(name)
        super().__init__(main_cf="")
        self.out = os.path.join(self.root, "out")
        os.makedirs(self.out)
        os.chmod(self.out, 0o1777)
        self.write_main_cf(f"command_directory = {self.command_directory}\n"
                           + MAIN_CF.format(root=self.root) + main_cf)
        self.write_aliases(aliases)

    def stop(self):
        super().stop()
        for name in USERS:
            remove_delivered_mail(name)

    def write_aliases(self, text):
        path = os.path.join(self.config_directory, "aliases")
        with open(path, "w") as aliases:
            aliases.write("postmaster: root\n" + text.format(root=self.root, out=self.out))
        result = self.run("newaliases")
        check(result.returncode == 0, f"newaliases: {result.stderr!r}")

    def script(self, name, text):
        """An executable shell script in out/."""
        path = os.path.join(self.out, name)
        with open(path, "w") as script:
            script.write("#!/bin/sh\n" + text.format(out=self.out))
        os.chmod(path, 0o755)
        return path

    def mail_of(self, user):
        return self.maildir_messages(self.maildir(user))

    def wait_mail(self, user, count=1, timeout=30.0):
        wait_until(lambda: len(self.mail_of(user)) >= count, timeout=timeout,
                   what=f"{count} message(s) in {user}'s Maildir", log=self.log)
        return self.mail_of(user)

    def postqueue(self, *arguments):
        result = self.run("postqueue", *arguments)
        check(result.returncode == 0, f"postqueue {arguments}: {result.stderr!r}")
        return result.stdout.decode(errors="replace")


def message(subject, body, sender="postern-dlv3@test.example", extra=b""):
    return (b"From: " + sender.encode() + b"\nTo: somebody@test.example\nSubject: "
            + subject.encode() + b"\n" + extra + b"\n" + body)


def split_message(delivered):
    """(header lines as text, body bytes) of a delivered message."""
    head, _, body = delivered.partition(b"\n\n")
    return head.decode("utf-8", errors="replace").split("\n"), body


def header_values(lines, name):
    prefix = name.lower() + ":"
    return [line[len(prefix):].strip() for line in lines if line.lower().startswith(prefix)]


def by_subject(messages):
    found = {}
    for delivered in messages:
        lines, body = split_message(delivered)
        for subject in header_values(lines, "Subject"):
            found.setdefault(subject, []).append((lines, body))
    return found


# ---- the tests ----

def test_maildir_headers_and_body_bytes():
    seven_bit = b"".join(b"line %d of a plain message\n" % n for n in range(50))
    eight_bit = bytes(range(0x80, 0x100)) + b"\n\tcaf\xc3\xa9 \xff\xfe\n" + b"From here\n"
    long_lines = b"x" * 5000 + b"\n" + b"y" * 100001 + b"\n.leading dot\nshort\n"
    twenty_mb = b"".join(b"%07d " % n + b"z" * 91 + b"\n" for n in range(20 * 1024 * 1024 // 100))
    bodies = {"seven bit": seven_bit, "eight bit": eight_bit, "long lines": long_lines,
              "twenty mb": twenty_mb}
    with DeliveryInstance(main_cf="message_size_limit = 30000000\n") as instance:
        instance.start()
        for subject, body in bodies.items():
            extra = (b"MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
                     b"Content-Transfer-Encoding: 8bit\n") if subject == "eight bit" else b""
            argv = ["-f", "postern-dlv3@test.example", "postern-dlv1@test.example"]
            if subject == "eight bit":
                argv = ["-B8BITMIME"] + argv
            instance.sendmail(argv, message(subject, body, extra=extra))
        delivered = instance.wait_mail("postern-dlv1", count=len(bodies), timeout=120)
        instance.wait_for_queue_empty(timeout=60)
        found = by_subject(delivered)
        for subject, body in bodies.items():
            check(len(found.get(subject, [])) == 1,
                  f"{subject}: {len(found.get(subject, []))} copies\n{instance.log()}")
            lines, got = found[subject][0]
            check(got == body, f"{subject}: body differs ({len(got)} bytes, sent {len(body)}); "
                               f"first difference at "
                               f"{next((i for i, (a, b) in enumerate(zip(got, body)) if a != b), min(len(got), len(body)))}")
            check(lines[0] == "Return-Path: <postern-dlv3@test.example>", f"{subject}: {lines[:4]}")
            check(lines[1] == "X-Original-To: postern-dlv1@test.example", f"{subject}: {lines[:4]}")
            check(lines[2] == "Delivered-To: postern-dlv1@test.example", f"{subject}: {lines[:4]}")
            check(lines[3].startswith("Received: by test.example (Postfix, from userid 0)"),
                  f"{subject}: Received: {lines[3:5]}")
            check(re.match(r"^\tid [0-9A-Za-z]+; \w\w\w, [ 0-9]?\d \w\w\w \d{4} "
                           r"\d\d:\d\d:\d\d [+-]\d{4}", lines[4]), f"{subject}: {lines[4]!r}")
            check(header_values(lines, "From") == ["postern-dlv3@test.example"], f"{lines}")
            check(len(header_values(lines, "Message-Id")) == 1, f"{subject}: no Message-Id")
            check(len(header_values(lines, "Date")) == 1, f"{subject}: no Date")
        # Maildir names: new/ files, no tmp/ left over, owned by the recipient.
        maildir = instance.maildir("postern-dlv1")
        check(not os.listdir(os.path.join(maildir, "tmp")), "files left in Maildir/tmp")
        user = pwd.getpwnam("postern-dlv1")
        for name in os.listdir(os.path.join(maildir, "new")):
            info = os.stat(os.path.join(maildir, "new", name))
            check(info.st_uid == user.pw_uid, f"{name} owned by {info.st_uid}")
        check(instance.log().count("status=sent (delivered to maildir)") == len(bodies),
              f"status lines\n{instance.log()}")


def test_mbox_in_mail_spool_directory():
    with DeliveryInstance(main_cf="home_mailbox =\n") as instance:
        instance.start()
        for n in range(2):
            instance.sendmail(["-f", "postern-dlv3@test.example", "postern-dlv2@test.example"],
                              message(f"mbox {n}", b"first line\nFrom the start\n>From quoted\n"))
        path = os.path.join(instance.mail_root, "postern-dlv2")
        wait_until(lambda: os.path.exists(path) and open(path, "rb").read().count(b"\nSubject: mbox") == 2,
                   timeout=30, what="two messages in the mbox", log=instance.log)
        instance.wait_for_queue_empty()
        with open(path, "rb") as mbox_file:
            content = mbox_file.read()
        check(content.startswith(b"From postern-dlv3@test.example  "), content[:80])
        check(re.match(rb"From postern-dlv3@test\.example  \w\w\w \w\w\w [ \d]\d \d\d:\d\d:\d\d \d{4}\n"
                       rb"Return-Path: <postern-dlv3@test\.example>\n"
                       rb"X-Original-To: postern-dlv2@test\.example\n"
                       rb"Delivered-To: postern-dlv2@test\.example\n", content),
              content[:200])
        check(content.count(b"\n>From the start\n") == 2, "From_ in the body not quoted")
        # Postfix quotes "From " only (mboxo, not mboxrd): ">From" stays as it was.
        check(content.count(b"\n>From quoted\n") == 2, ">From in the body changed")
        check(content.endswith(b"\n\n"), "no blank line after the last message")
        info = os.stat(path)
        check(info.st_uid == pwd.getpwnam("postern-dlv2").pw_uid, f"mbox owner {info.st_uid}")
        messages = list(mailbox.mbox(path))
        check([m["Subject"] for m in messages] == ["mbox 0", "mbox 1"],
              [m["Subject"] for m in messages])
        check(not os.path.exists(instance.maildir("postern-dlv2")), "a Maildir was made")


ALIASES = """\
team: postern-dlv1, postern-dlv2
listed: :include:{root}/etc/members
owner-listed: postern-dlv1
piped: "|cat > {out}/piped.out"
filed: {out}/filed.mbox
nested: team, filed
"""


def test_aliases_include_command_file_owner_and_extensions():
    with DeliveryInstance(aliases=ALIASES) as instance:
        with open(os.path.join(instance.config_directory, "members"), "w") as members:
            members.write("# the list\npostern-dlv2\nnosuchmember\n")
        instance.start()
        sender = ["-f", "postern-dlv3@test.example"]
        instance.sendmail(sender + ["team@test.example"], message("to team", b"team body\n"))
        instance.sendmail(sender + ["listed@test.example"], message("to listed", b"list body\n"))
        instance.sendmail(sender + ["piped@test.example"], message("to piped", b"pipe body\n"))
        instance.sendmail(sender + ["filed@test.example"], message("to filed", b"file body\n"))
        instance.sendmail(sender + ["postern-dlv2+folder@test.example"],
                          message("to extension", b"extension body\n"))
        instance.sendmail(sender + ["team+x@test.example"], message("to team+x", b"x\n"))
        instance.sendmail(sender + ["nested@test.example"], message("to nested", b"nested\n"))
        instance.wait_mail("postern-dlv2", count=5)
        instance.wait_mail("postern-dlv1", count=4)  # team, team+x, nested, the list's bounce
        instance.wait_for_queue_empty()
        log = instance.log()
        one = by_subject(instance.mail_of("postern-dlv1"))
        two = by_subject(instance.mail_of("postern-dlv2"))
        three = instance.mail_of("postern-dlv3")
        check(not three, f"the sender got {len(three)} messages\n{log}")

        # team: both members, Delivered-To the alias (frozen_delivered_to).
        for copies in (one, two):
            lines, body = copies["to team"][0]
            check(len(copies["to team"]) == 1 and body == b"team body\n", f"{copies['to team']}")
            check("Delivered-To: team@test.example" in lines, lines[:4])
            check("X-Original-To: team@test.example" in lines, lines[:4])
            lines, _ = copies["to team+x"][0]
            check("Delivered-To: team+x@test.example" in lines, lines[:4])
            check(len(copies["to nested"]) == 1, f"nested: {len(copies['to nested'])} copies")

        # listed: the :include: member got it with the owner- alias as envelope sender; the
        # unknown member bounced to owner-listed (postern-dlv1), not to the sender.
        lines, body = two["to listed"][0]
        check(body == b"list body\n", body)
        check(lines[0] == "Return-Path: <owner-listed@test.example>", lines[:4])
        check("to listed" not in one, "postern-dlv1 got the list's message itself")
        bounces = [m for m in instance.mail_of("postern-dlv1")
                   if b"nosuchmember" in m and b"multipart/report" in m]
        check(len(bounces) == 1, f"{len(bounces)} bounces to the list owner\n{log}")

        # team+x found the alias "team": its addresses get the extension only when
        # propagate_unmatched_extensions lists "alias" (not by default, as in Postfix).
        for name in ("postern-dlv1", "postern-dlv2"):
            check(f"to=<{name}@test.example>, orig_to=<team+x@test.example>" in log, log)

        # user+ext: the user's Maildir, Delivered-To with the extension.
        lines, body = two["to extension"][0]
        check("Delivered-To: postern-dlv2+folder@test.example" in lines, lines[:4])
        check(body == b"extension body\n", body)

        # |command and /file.
        with open(os.path.join(instance.out, "piped.out"), "rb") as piped:
            piped_text = piped.read()
        check(piped_text.startswith(b"From postern-dlv3@test.example  "), piped_text[:100])
        check(b"\nDelivered-To: piped@test.example\n" in piped_text, piped_text[:300])
        check(piped_text.endswith(b"\n\npipe body\n"), piped_text[-50:])
        filed = list(mailbox.mbox(os.path.join(instance.out, "filed.mbox")))
        check(sorted(m["Subject"] for m in filed) == ["to filed", "to nested"],
              [m["Subject"] for m in filed])
        check(os.stat(os.path.join(instance.out, "filed.mbox")).st_uid
              == pwd.getpwnam("nobody").pw_uid, "the /file delivery did not run as default_privs")
        check("status=sent (delivered to command: cat > " in log, log)
        check(f"status=sent (delivered to file: {instance.out}/filed.mbox)" in log, log)


def test_unmatched_extensions_propagate_when_asked():
    propagate = "propagate_unmatched_extensions = canonical, virtual, alias, forward\n"
    with DeliveryInstance(main_cf=propagate, aliases=ALIASES) as instance:
        user = pwd.getpwnam("postern-dlv2")
        forward = os.path.join(user.pw_dir, ".forward")
        with open(forward, "w") as out:
            out.write("postern-dlv3\n")
        os.chown(forward, user.pw_uid, user.pw_gid)
        instance.start()
        instance.sendmail(["-f", "postern-dlv1@test.example", "team+y@test.example"],
                          message("propagated", b"body\n"))
        instance.wait_mail("postern-dlv1")
        instance.wait_mail("postern-dlv3")
        instance.wait_for_queue_empty()
        log = instance.log()
        # alias: team+y → postern-dlv1+y, postern-dlv2+y; .forward of postern-dlv2 (found
        # for the bare user) → postern-dlv3+y.
        check("to=<postern-dlv1+y@test.example>, orig_to=<team+y@test.example>" in log, log)
        check("to=<postern-dlv3+y@test.example>, orig_to=<team+y@test.example>" in log, log)
        check(not instance.mail_of("postern-dlv2"), "postern-dlv2's .forward was not used")


def test_forward_file():
    with DeliveryInstance() as instance:
        user = pwd.getpwnam("postern-dlv1")
        forward = os.path.join(user.pw_dir, ".forward")
        with open(forward, "w") as out:
            out.write(f'postern-dlv2\n\\postern-dlv1\n"|cat > {instance.out}/forward.out"\n')
        os.chown(forward, user.pw_uid, user.pw_gid)
        instance.start()
        instance.sendmail(["-f", "postern-dlv3@test.example", "postern-dlv1@test.example"],
                          message("forwarded", b"forward body\n"))
        instance.wait_mail("postern-dlv1")
        instance.wait_mail("postern-dlv2")
        instance.wait_for_queue_empty()
        for name in ("postern-dlv1", "postern-dlv2"):
            copies = by_subject(instance.mail_of(name))["forwarded"]
            check(len(copies) == 1 and copies[0][1] == b"forward body\n", f"{name}: {copies}")
            check("Delivered-To: postern-dlv1@test.example" in copies[0][0], copies[0][0][:4])
        output = os.path.join(instance.out, "forward.out")
        check(os.path.exists(output), f"the .forward command did not run\n{instance.log()}")
        check(os.stat(output).st_uid == user.pw_uid, "the .forward command did not run as the user")
        with open(output, "rb") as piped:
            check(piped.read().endswith(b"\n\nforward body\n"), "command output")


def test_unknown_user_bounces_with_dsn():
    with DeliveryInstance() as instance:
        instance.start()
        instance.sendmail(["-f", "postern-dlv3@test.example", "nosuchuser@test.example"],
                          message("lost", b"this is lost\n"))
        instance.sendmail(["-R", "hdrs", "-f", "postern-dlv3@test.example",
                           "nosuchuser2@test.example"], message("headers only", b"not back\n"))
        delivered = instance.wait_mail("postern-dlv3", count=2)
        instance.wait_for_queue_empty()
        check(len(delivered) == 2, f"{len(delivered)} messages")
        reports = {}
        for notice in delivered:
            lines, _ = split_message(notice)
            check(lines[0] == "Return-Path: <>", lines[:3])
            check("X-Original-To: postern-dlv3@test.example" in lines, lines[:3])
            report = email.message_from_bytes(notice, policy=email.policy.compat32)
            reports[report.get_payload()[1].get_payload()[1]["Final-Recipient"]] = report
        check(sorted(reports) == ["rfc822; nosuchuser2@test.example",
                                  "rfc822; nosuchuser@test.example"], sorted(reports))
        for address, report in reports.items():
            address = address.split()[1]
            check(report.get_content_type() == "multipart/report", report.get_content_type())
            check(report.get_param("report-type") == "delivery-status", report["Content-Type"])
            check(report["From"] == "Mail Delivery System <MAILER-DAEMON@test.example>",
                  report["From"])
            check(report["To"] == "postern-dlv3@test.example", report["To"])
            check("Undelivered Mail Returned to Sender" in report["Subject"], report["Subject"])
            check(report["Auto-Submitted"] == "auto-replied", report["Auto-Submitted"])
            parts = report.get_payload()
            check(parts[0].get_content_type() == "text/plain", parts[0].get_content_type())
            check(parts[1].get_content_type() == "message/delivery-status",
                  parts[1].get_content_type())
            text = parts[0].get_payload()
            check(f"<{address}>: unknown user:" in text, text)
            status_blocks = parts[1].get_payload()
            check(status_blocks[0]["Reporting-MTA"] == "dns; test.example", str(status_blocks[0]))
            check(status_blocks[0]["X-Postfix-Queue-ID"], str(status_blocks[0]))
            check(status_blocks[0]["X-Postfix-Sender"] == "rfc822; postern-dlv3@test.example",
                  str(status_blocks[0]))
            check(status_blocks[0]["Arrival-Date"], str(status_blocks[0]))
            recipient = status_blocks[1]
            check(recipient["Original-Recipient"] == f"rfc822;{address}", str(recipient))
            check(recipient["Action"] == "failed", str(recipient))
            check(recipient["Status"] == "5.1.1", str(recipient))
            check(recipient["Diagnostic-Code"] == "X-Postfix; unknown user: \"%s\""
                  % address.split("@")[0], str(recipient))
            check(f'status=bounced (unknown user: "{address.split("@")[0]}")' in instance.log(),
                  instance.log())
        # RET unset: the whole message comes back; RET=HDRS: only its headers.
        full = reports["rfc822; nosuchuser@test.example"].get_payload()[2]
        check(full.get_content_type() == "message/rfc822", full.get_content_type())
        returned = full.get_payload()[0]
        check(returned["Subject"] == "lost" and returned.get_payload() == "this is lost\n",
              str(returned))
        headers = reports["rfc822; nosuchuser2@test.example"].get_payload()[2]
        check(headers.get_content_type() == "text/rfc822-headers", headers.get_content_type())
        check("Subject: headers only" in headers.get_payload()
              and "not back" not in headers.get_payload(), headers.get_payload())


FLAKY = """\
if [ -e {out}/failing ]; then echo "mailbox is busy, try later"; exit 75; fi
cat > {out}/flaky.out
"""


def test_temporary_failure_defers_then_postqueue_f_delivers():
    with DeliveryInstance(aliases='flaky: "|{out}/flaky.sh"\n') as instance:
        instance.script("flaky.sh", FLAKY)
        open(os.path.join(instance.out, "failing"), "w").close()
        instance.start()
        instance.sendmail(["-f", "postern-dlv3@test.example", "flaky@test.example"],
                          message("flaky", b"deferred body\n"))
        wait_until(lambda: instance.queue_files("deferred"), timeout=30,
                   what="a file in deferred/", log=instance.log)
        queue_id = instance.queue_files("deferred")[0]
        listing = instance.postqueue("-p")
        check(queue_id in listing, listing)
        check("mailbox is busy, try later" in listing, f"no reason in postqueue -p:\n{listing}")
        check("flaky@test.example" in listing, listing)
        check("status=deferred" in instance.log(), instance.log())
        os.unlink(os.path.join(instance.out, "failing"))
        instance.postqueue("-f")
        output = os.path.join(instance.out, "flaky.out")
        wait_until(lambda: os.path.exists(output) and os.path.getsize(output) > 0, timeout=30,
                   what="delivery after postqueue -f", log=instance.log)
        instance.wait_for_queue_empty()
        with open(output, "rb") as delivered:
            check(delivered.read().endswith(b"\n\ndeferred body\n"), "delivered body")
        check("Mail queue is empty" in instance.postqueue("-p"), "queue not empty")
        check(not instance.mail_of("postern-dlv3"), "the sender got a notice")


def test_mail_older_than_maximal_queue_lifetime_bounces():
    lifetimes = ("maximal_queue_lifetime = 3s\nminimal_backoff_time = 1s\n"
                 "maximal_backoff_time = 2s\nqueue_run_delay = 1s\n")
    with DeliveryInstance(main_cf=lifetimes, aliases='flaky: "|{out}/flaky.sh"\n') as instance:
        instance.script("flaky.sh", FLAKY)
        open(os.path.join(instance.out, "failing"), "w").close()
        instance.start()
        instance.sendmail(["-f", "postern-dlv3@test.example", "flaky@test.example"],
                          message("expiring", b"never delivered\n"))
        delivered = instance.wait_mail("postern-dlv3", timeout=40)
        instance.wait_for_queue_empty()
        report = email.message_from_bytes(delivered[0], policy=email.policy.compat32)
        check(report.get_content_type() == "multipart/report", report.get_content_type())
        recipient = report.get_payload()[1].get_payload()[1]
        check(recipient["Final-Recipient"] == "rfc822; flaky@test.example", str(recipient))
        check(recipient["Action"] == "failed", str(recipient))
        check(recipient["Status"].startswith("4."), str(recipient))
        check("mailbox is busy" in recipient["Diagnostic-Code"], str(recipient))
        log = instance.log()
        check(log.count("status=deferred") >= 1, log)
        check("status=expired, returned to sender" in log, log)
        check(not os.path.exists(os.path.join(instance.out, "flaky.out")), "delivered anyway")


NOTICES = """\
notify_classes = bounce, 2bounce
bounce_notice_recipient = postern-dlv1@test.example
2bounce_notice_recipient = postern-dlv2@test.example
"""


def test_notify_classes_send_postmaster_copies_and_double_bounces():
    with DeliveryInstance(main_cf=NOTICES) as instance:
        instance.start()
        # A bounce to a real sender: the sender gets the report, bounce_notice_recipient a
        # copy with the headers only.
        instance.sendmail(["-f", "postern-dlv3@test.example", "nosuchuser@test.example"],
                          message("copied", b"secret body\n"))
        sender_notice = instance.wait_mail("postern-dlv3")
        copy = instance.wait_mail("postern-dlv1")
        # A bounce that cannot be returned (its sender is unknown too): the double bounce
        # goes to 2bounce_notice_recipient, and nothing loops.
        instance.sendmail(["-f", "ghost@test.example", "nosuchuser2@test.example"],
                          message("twice", b"double body\n", sender="ghost@test.example"))
        double = instance.wait_mail("postern-dlv2")
        instance.wait_for_queue_empty()
        check(len(sender_notice) == 1 and len(copy) == 1 and len(double) == 1,
              f"{len(sender_notice)} sender notices, {len(copy)} copies, {len(double)} doubles")
        report = email.message_from_bytes(copy[0], policy=email.policy.compat32)
        check(report["Subject"] == "Postmaster Copy: Undelivered Mail", report["Subject"])
        check(report.get_content_type() == "multipart/report", report.get_content_type())
        parts = report.get_payload()
        check(parts[2].get_content_type() == "text/rfc822-headers", parts[2].get_content_type())
        check("Subject: copied" in parts[2].get_payload()
              and "secret body" not in parts[2].get_payload(), parts[2].get_payload())
        check(parts[1].get_payload()[1]["Final-Recipient"] == "rfc822; nosuchuser@test.example",
              str(parts[1].get_payload()[1]))
        lines, _ = split_message(copy[0])
        check("Return-Path: <double-bounce@test.example>" in lines, lines[:4])

        report = email.message_from_bytes(double[0], policy=email.policy.compat32)
        check(report.get_content_type() == "multipart/report", report.get_content_type())
        check(report["To"] == "postern-dlv2@test.example", report["To"])
        status = report.get_payload()[1].get_payload()[1]
        check(status["Final-Recipient"] == "rfc822; ghost@test.example", str(status))
        check(status["Action"] == "failed", str(status))
        check(not instance.mail_of("postern-dlv3")[1:], "the first sender got more notices")


def test_default_notify_classes_send_no_copies():
    recipients = ("bounce_notice_recipient = postern-dlv1@test.example\n"
                  "2bounce_notice_recipient = postern-dlv1@test.example\n")
    with DeliveryInstance(main_cf=recipients) as instance:
        instance.start()
        instance.sendmail(["-f", "postern-dlv3@test.example", "nosuchuser@test.example"],
                          message("not copied", b"body\n"))
        instance.sendmail(["-f", "ghost@test.example", "nosuchuser2@test.example"],
                          message("dropped", b"body\n", sender="ghost@test.example"))
        instance.wait_mail("postern-dlv3")
        wait_until(lambda: instance.log().count("status=bounced") == 3, timeout=30,
                   what="both messages and the bounce to ghost bounced", log=instance.log)
        instance.wait_for_queue_empty()
        # Without "bounce" or "2bounce" in notify_classes (the default is resource,
        # software), the postmaster gets neither a copy nor the double bounce.
        check(not instance.mail_of("postern-dlv1"), "a postmaster notice was sent")


LOCKED = """\
home_mailbox =
mailbox_delivery_lock = fcntl, dotlock
deliver_lock_attempts = 2
deliver_lock_delay = 1s
minimal_backoff_time = 1h
maximal_backoff_time = 1h
queue_run_delay = 1h
"""


def locked_mailbox_defers_then_delivers(instance, hold, release, reason):
    """Delivery to a mailbox somebody else holds locked waits deliver_lock_attempts times
    deliver_lock_delay, then defers with the reason; once the lock is gone, postqueue -f
    delivers, and the holder's content is intact."""
    path = os.path.join(instance.mail_root, "postern-dlv2")
    with open(path, "wb") as mbox_file:
        mbox_file.write(b"From someone  Thu Dec  3 10:00:00 2026\nSubject: before\n\nold\n\n")
    os.chown(path, pwd.getpwnam("postern-dlv2").pw_uid, -1)
    holder = hold(path)
    try:
        instance.sendmail(["-f", "postern-dlv3@test.example", "postern-dlv2@test.example"],
                          message("locked out", b"waited\n"))
        wait_until(lambda: instance.queue_files("deferred"), timeout=30,
                   what="the message deferred", log=instance.log)
        listing = instance.postqueue("-p")
        check(reason.format(path=path) in listing, listing)
        with open(path, "rb") as mbox_file:
            check(b"locked out" not in mbox_file.read(), "delivered under somebody's lock")
    finally:
        release(holder)
    instance.postqueue("-f")
    wait_until(lambda: b"Subject: locked out" in open(path, "rb").read(), timeout=30,
               what="delivery after the lock went away", log=instance.log)
    instance.wait_for_queue_empty()
    messages = list(mailbox.mbox(path))
    check([m["Subject"] for m in messages] == ["before", "locked out"],
          [m["Subject"] for m in messages])


def test_mailbox_delivery_lock_fcntl():
    import fcntl

    def hold(path):
        holder = open(path, "r+b")
        fcntl.lockf(holder, fcntl.LOCK_EX)
        return holder

    with DeliveryInstance(main_cf=LOCKED) as instance:
        instance.start()
        locked_mailbox_defers_then_delivers(instance, hold, lambda holder: holder.close(),
                                            "unable to lock for exclusive access")


def test_mailbox_delivery_lock_dotlock():
    def hold(path):
        open(path + ".lock", "w").close()
        return path + ".lock"

    with DeliveryInstance(main_cf=LOCKED) as instance:
        instance.start()
        locked_mailbox_defers_then_delivers(
            instance, hold, os.unlink, "unable to create lock file {path}.lock: File exists")


SLOW = """\
touch {out}/started.$$
sleep 1
cat > {out}/slow.$$.$1
"""


def test_qmgr_sigkill_mid_delivery_loses_nothing():
    count = 8
    with DeliveryInstance(aliases='slow: "|{out}/slow.sh slow"\n') as instance:
        instance.script("slow.sh", SLOW)
        instance.start()
        for n in range(count):
            instance.sendmail(["-f", "postern-dlv3@test.example", "slow@test.example",
                               "postern-dlv1@test.example", "postern-dlv2@test.example"],
                              message(f"crash {n}", b"crash body %d\n" % n))
        wait_until(lambda: any(name.startswith("started.") for name in os.listdir(instance.out)),
                   timeout=30, what="a slow delivery in progress", log=instance.log)
        qmgr = instance.child_pid("qmgr")
        check(qmgr is not None, "no qmgr process")
        os.kill(qmgr, signal.SIGKILL)
        finished = [name for name in os.listdir(instance.out) if name.endswith(".slow")]
        check(len(finished) < count, "every slow delivery was over before the kill")
        wait_until(lambda: not process_alive(qmgr), timeout=10, what="qmgr gone")
        # master starts a new qmgr at its next wake-up; postqueue -f asks for one now.
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and any(instance.all_queued().values()):
            instance.run("postqueue", "-f")
            time.sleep(1)
        instance.wait_for_queue_empty(timeout=5)
        check(instance.child_pid("qmgr") not in (None, qmgr), "no new qmgr")
        for name in ("postern-dlv1", "postern-dlv2"):
            found = by_subject(instance.mail_of(name))
            for n in range(count):
                copies = len(found.get(f"crash {n}", []))
                check(copies == 1, f"{name}: crash {n} delivered {copies} times\n{instance.log()}")
        slow = {}
        for entry in os.listdir(instance.out):
            if entry.startswith("slow.") and entry.endswith(".slow"):
                with open(os.path.join(instance.out, entry), "rb") as delivered:
                    subject = re.search(rb"\nSubject: (crash \d+)\n", delivered.read()).group(1)
                slow[subject] = slow.get(subject, 0) + 1
        for n in range(count):
            copies = slow.get(b"crash %d" % n, 0)
            check(copies == 1, f"slow: crash {n} delivered {copies} times\n{instance.log()}")


def main():
    return run_tests(globals(), SELECTED)


if __name__ == "__main__":
    sys.exit(main())
