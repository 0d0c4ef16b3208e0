#!/usr/bin/env python3
"""The bounce daemon in a whole Postern instance: master, cleanup and the bounce, defer and
trace services (no qmgr, so that the notices stay in incoming/ to be read).

    bounce_test.py QUEUE_TOOL BOUNCE_TOOL     (through meson: env mail_instance_env)

For each case of bounce_golden/cases.py the test writes a queue file into hold/ with
lib/queue's writer (queue_tool) and its bounce/defer/trace log with lib/queue's bounce log
writer (bounce_tool), sends the bounce request to the daemon (bounce_tool request), reads
each notice cleanup queued (real Postfix's postcat when installed, else queue_tool), and
checks it two ways:
  - against the notice real Postfix 3.7.11's bounce daemon made for the same queue file and
    log (bounce_golden/refs/, captured once by bounce_golden/capture.py): the whole text,
    after the queue IDs, times and the built-in template text are normalized away; the
    envelope; the daemon's log lines;
  - parsed with Python's email package: multipart/report with report-type=delivery-status,
    the three parts and their types, each delivery-status field, the original message or
    its headers.
Then the log must be gone (flush, trace) or kept (warn). Two cases outside the golden set:
cleanup unreachable (the reply says "try again", the log stays, nothing is queued) and
hostile text in a log (no injected header, no line over 998 characters).
"""
import email
import email.policy
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))
sys.path.insert(0, os.path.join(HERE, "bounce_golden"))

import cases  # noqa: E402
from mail_instance import MailInstance, wait_until  # noqa: E402

REFS = os.path.join(HERE, "bounce_golden", "refs")
POSTCAT = "/usr/sbin/postcat"

# Where Postern deliberately differs from Postfix 3.7.11 (docs/bounce.md): the reference
# line, and Postern's. Postfix quotes a non-ASCII local part in X-Postfix-Sender with a
# backslash before every 8-bit byte (which breaks the UTF-8) and then calls it rfc822;
# Postern writes the address as RFC 6533 does.
KNOWN_DIFFERENCES = {
    "smtputf8": [(b'X-Postfix-Sender: rfc822; "j\\\xc3\\\xb6rg"@ex\xc3\xa4mple.org',
                  "X-Postfix-Sender: utf-8; j\u00f6rg@ex\u00e4mple.org".encode()),
                 (b'Return-Path: <"j\\\xc3\\\xb6rg"@ex\xc3\xa4mple.org>',
                  "Return-Path: <j\u00f6rg@ex\u00e4mple.org>".encode())],
}

# Postfix ends a notice whose queue file is gone right after the placeholder, without the
# closing boundary (a broken MIME structure); Postern closes the multipart.
UNCLOSED = (rb"(\t--- Undelivered message unavailable ---\n)\Z", rb"\1\n--BOUNDARY--\n")
KNOWN_DIFFERENCES["no-queue-file"] = [UNCLOSED]

SERVICE_OF_SETTINGS = {"default": None, "small": "bounce-small", "ascii": "bounce-ascii",
                       "template": "bounce-template", "quiet": "bounce-quiet",
                       "obsolete": "bounce-obsolete", "threaded": "bounce-threaded"}


def master_cf_extra(template_path):
    lines = []
    for group, service in SERVICE_OF_SETTINGS.items():
        if service is None:
            continue
        overrides = " ".join(f"-o {name}={value.replace('TEMPLATE_PATH', template_path)}"
                             for name, value in cases.SETTINGS[group].items())
        lines.append(f"{service} unix - - n - 0 bounce {overrides}")
    return "\n".join(lines) + "\n"


SERVICES = [
    "cleanup   unix  n       -       n       -       0       cleanup",
    "rewrite   unix  -       -       n       -       -       trivial-rewrite",
    "bounce    unix  -       -       n       -       0       bounce",
    "defer     unix  -       -       n       -       0       bounce",
    "trace     unix  -       -       n       -       0       bounce",
]


class BounceTest:
    def __init__(self, queue_tool, bounce_tool):
        self.queue_tool = os.path.abspath(queue_tool)
        self.bounce_tool = os.path.abspath(bounce_tool)
        self.failures = []

    def check(self, condition, what):
        if not condition:
            self.failures.append(what)
            print(f"FAIL: {what}")

    # ---- running the tools as mail_owner, as the daemons and agents would ----

    def as_postfix(self, argv, **kwargs):
        return subprocess.run(["setpriv", "--reuid=postfix", "--regid=postfix", "--init-groups",
                               *argv], capture_output=True, check=True, **kwargs)

    def write_case(self, case):
        spec = os.path.join(self.work, f"{case.name}.spec")
        message = os.path.join(self.work, f"{case.name}.msg")
        with open(spec, "w") as out:
            out.write(cases.spec_text(case))
        with open(message, "wb") as out:
            out.write(case.message)
        written = self.as_postfix([self.queue_tool, "-c", self.instance.config_directory,
                                   "write", "-q", "hold", spec, message], text=True)
        queue_id, path = written.stdout.split()[:2]
        if case.records is not None:
            self.write_log(case.log, queue_id, case.records)
        if not case.queue_file:
            os.unlink(path)
        return queue_id

    def write_log(self, log, queue_id, records):
        log_file = os.path.join(self.work, f"{queue_id}.{log}")
        with open(log_file, "w") as out:
            out.write(records)
        self.as_postfix([self.bounce_tool, "-c", self.instance.config_directory, "log", log,
                         "hold", queue_id, log_file])

    def request(self, service, case, queue_id):
        result = subprocess.run(
            [self.bounce_tool, "-c", self.instance.config_directory, "request", service,
             f"request={case.request}", "queue_name=hold", f"queue_id={queue_id}",
             f"log={case.log}", f"sender={case.sender}", f"encoding={case.encoding}",
             f"smtputf8={case.smtputf8}", f"dsn_envid={case.dsn_envid}",
             f"dsn_ret={case.dsn_ret}"], capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise AssertionError(f"bounce_tool request: {result.stderr}\n{self.instance.log()}")
        return int(re.match(r"status=(-?\d+)", result.stdout).group(1))

    # ---- reading what the daemon did ----

    def bounce_lines(self, queue_id):
        return [line.split("]: ", 1)[1] for line in self.instance.log().splitlines()
                if "/bounce[" in line and queue_id in line and "]: " in line]

    def notice_ids(self, queue_id):
        return [line.rsplit(": ", 1)[1] for line in self.bounce_lines(queue_id)
                if "notification: " in line]

    def read_notice(self, notice_id):
        """(content bytes, sender, recipients) of incoming/NOTICE_ID."""
        path = os.path.join(self.instance.queue_directory, "incoming", notice_id)
        if os.path.exists(POSTCAT):
            config = ["-c", self.instance.config_directory]
            content = subprocess.run([POSTCAT, *config, "-bh", path], check=True,
                                     capture_output=True).stdout
            envelope = subprocess.run([POSTCAT, *config, "-e", path], check=True,
                                      capture_output=True).stdout.decode(errors="replace")
            sender = re.search(r"^sender: (.*)$", envelope, flags=re.M).group(1)
            return content, sender, re.findall(r"^recipient: (.*)$", envelope, flags=re.M)
        dump = subprocess.run([self.queue_tool, "dump", path], check=True,
                              capture_output=True).stdout
        lines, sender, recipients = [], "", []
        for line in dump.split(b"\n"):
            if line.startswith(b"line: "):
                lines.append(unescape(line[6:]))
            elif line.startswith(b"sender: "):
                sender = unescape(line[8:]).decode(errors="replace")
            elif line.startswith(b"recipient: "):
                recipients.append(unescape(line[11:].split(b" offset=")[0]).decode())
        return b"".join(line + b"\n" for line in lines), sender, recipients

    def log_exists(self, log, queue_id):
        top = os.path.join(self.instance.queue_directory, log)
        return any(queue_id in files for _, _, files in os.walk(top))

    # ---- the cases ----

    def run_case(self, case):
        queue_id = self.write_case(case)
        service = SERVICE_OF_SETTINGS[case.settings] or case.log
        status = self.request(service, case, queue_id)
        summary = open(os.path.join(REFS, f"{case.name}.txt")).read().splitlines()
        self.check(summary[0] == f"status: {status}", f"{case.name}: status {status}")
        notices = self.notice_ids(queue_id)
        expected_log = [line[5:] for line in summary if line.startswith("log: ")]
        got_log = [normalize_ids(line, queue_id, notices) for line in self.bounce_lines(queue_id)]
        self.check(got_log == expected_log, f"{case.name}: log lines {got_log} != {expected_log}")
        references = [parse_summary(line) for line in summary if line.startswith("notice ")]
        self.check(len(notices) == len(references),
                   f"{case.name}: {len(notices)} notices, Postfix made {len(references)}")
        for index, (notice_id, ref) in enumerate(zip(notices, references)):
            self.compare_notice(case, index + 1, queue_id, notice_id, ref)
        kept = self.log_exists(case.log, queue_id)
        should_keep = case.request == "warn" and case.records is not None
        self.check(kept == should_keep, f"{case.name}: log kept={kept}")

    def compare_notice(self, case, number, queue_id, notice_id, ref):
        content, sender, recipients = self.read_notice(notice_id)
        name = f"{case.name}.{number}"
        self.check(sender == ref["sender"], f"{name}: sender <{sender}> != <{ref['sender']}>")
        self.check([cases.qualified(r) for r in recipients] == ref["recipients"],
                   f"{name}: recipients {recipients} != {ref['recipients']}")
        reference = open(os.path.join(REFS, f"{name}.eml"), "rb").read()
        boundary = re.search(rb'boundary="([^"]+)"', reference).group(1)
        for theirs, ours in KNOWN_DIFFERENCES.get(case.name, []):
            if theirs is UNCLOSED[0]:
                reference = re.sub(theirs, ours.replace(b"BOUNDARY", boundary), reference)
            else:
                reference = reference.replace(theirs, ours)
        expected = cases.normalized(reference.decode(errors="surrogateescape"), ref["original"],
                                    ref["id"])
        got = cases.normalized(content.decode(errors="surrogateescape"), queue_id, notice_id)
        if got != expected:
            self.check(False, f"{name}: notice differs from Postfix's:\n" + diff(expected, got))
        self.check_structure(case, name, content, queue_id)

    def check_structure(self, case, name, content, queue_id):
        """The notice as a mail reader sees it (Python's email package)."""
        notice = email.message_from_bytes(content, policy=email.policy.compat32)
        self.check(notice.get_content_type() == "multipart/report", f"{name}: top type")
        self.check(notice.get_param("report-type") == "delivery-status", f"{name}: report-type")
        self.check(notice["Auto-Submitted"] in ("auto-replied", "auto-generated"),
                   f"{name}: Auto-Submitted")
        for header in ("From", "To", "Subject", "Date", "Message-Id", "MIME-Version"):
            self.check(notice[header] is not None, f"{name}: {header} missing")
        parts = notice.get_payload()
        self.check(isinstance(parts, list) and len(parts) == 3, f"{name}: three parts")
        if not isinstance(parts, list) or len(parts) != 3:
            return
        utf8 = case.smtputf8 & 1
        self.check(parts[0].get_content_type() == "text/plain", f"{name}: part 1 type")
        status_type = "message/global-delivery-status" if utf8 else "message/delivery-status"
        self.check(parts[1].get_content_type() == status_type, f"{name}: part 2 type")
        self.check_status_fields(case, name, parts[1], queue_id)
        self.check(parts[2].get_content_type() in (
            "message/rfc822", "text/rfc822-headers", "message/global", "message/global-headers"),
            f"{name}: part 3 type")
        if case.queue_file and parts[2].get_content_type() in ("message/rfc822",
                                                                "message/global"):
            text = parts[2].as_bytes() if utf8 else str(parts[2]).encode()
            self.check(case.message.split(b"\n\n", 1)[1] in text, f"{name}: original body")

    def check_status_fields(self, case, name, part, queue_id):
        raw = part.get_payload(decode=True) if case.smtputf8 else None
        if raw is None:
            payload = part.get_payload()
            blocks = [str(block) for block in payload] if isinstance(payload, list) else \
                [payload]
            text = "\n".join(blocks)
        else:
            text = raw.decode(errors="replace")
        fields = dict(re.findall(r"^([A-Za-z-]+): (.*)$", text, flags=re.M))
        self.check(fields.get("Reporting-MTA") == "dns; test.example", f"{name}: Reporting-MTA")
        self.check(fields.get("X-Postfix-Queue-ID") == queue_id, f"{name}: X-Postfix-Queue-ID")
        if case.dsn_envid:
            self.check(fields.get("Original-Envelope-Id") == case.dsn_envid, f"{name}: ENVID")
        if case.records is not None:
            self.check(re.match(r"[245]\.\d{1,3}\.\d{1,3}$", fields.get("Status", "")) is not None,
                       f"{name}: Status {fields.get('Status')}")
            action = {"flush": "failed", "warn": "delayed", "trace": "relayed"}[case.request]
            self.check(fields.get("Action") == action, f"{name}: Action")
            self.check("Final-Recipient" in fields and "Diagnostic-Code" in fields,
                       f"{name}: per-recipient fields")
        if case.request == "warn":
            self.check(fields.get("Will-Retry-Until") ==
                       "Sun, 19 Nov 2023 22:13:20 +0000 (UTC)", f"{name}: Will-Retry-Until")

    # ---- outside the golden set ----

    def cleanup_unreachable(self):
        case = cases.Case("no-cleanup", "flush", "bounce", "alice@example.org",
                          cases.records(cases.CAROL_FAILED))
        queue_id = self.write_case(case)
        socket_path = os.path.join(self.instance.queue_directory, "public", "cleanup")
        moved = socket_path + ".away"
        os.rename(socket_path, moved)
        try:
            status = self.request("bounce", case, queue_id)
        finally:
            os.rename(moved, socket_path)
        self.check(status == 1, f"no cleanup: status {status}, want 1 (try again)")
        self.check(self.log_exists("bounce", queue_id), "no cleanup: the log must stay")
        self.check(not self.notice_ids(queue_id), "no cleanup: nothing queued")
        # Once cleanup is back, the retry goes through.
        self.check(self.request("bounce", case, queue_id) == 0, "no cleanup: retry")
        self.check(len(self.notice_ids(queue_id)) == 2, "no cleanup: retry sent the notices")

    def hostile_log(self):
        reason = ("550 no\r--BOUNDARY\rBcc: victim@example.com " + "x" * 3000 +
                  " (in reply to RCPT TO command)")
        records = (f"recipient=carol@remote.example\nstatus=5.1.1\naction=failed\n"
                   f"diag_type=smtp\ndiag_text={reason}\nreason={reason}\n\n")
        case = cases.Case("hostile", "flush", "bounce", "alice@example.org", records)
        queue_id = self.write_case(case)
        self.check(self.request("bounce", case, queue_id) == 0, "hostile: status")
        for notice_id in self.notice_ids(queue_id):
            content, _, _ = self.read_notice(notice_id)
            lines = content.split(b"\n")
            self.check(max(len(line) for line in lines) <= 998, "hostile: a line over 998")
            self.check(not any(line.startswith(b"Bcc:") for line in lines), "hostile: Bcc")
            self.check(b"\r" not in content, "hostile: a CR got through")
            notice = email.message_from_bytes(content)
            self.check(notice["Bcc"] is None and len(notice.get_payload()) == 3,
                       "hostile: structure")

    def run(self):
        with MailInstance(main_cf=cases.COMMON_MAIN_CF, services=SERVICES) as instance:
            self.instance = instance
            self.work = os.path.join(instance.root, "work")
            os.makedirs(self.work)
            os.chmod(self.work, 0o755)
            template = os.path.join(instance.config_directory, "bounce.cf")
            with open(template, "w") as out:
                out.write(cases.TEMPLATE_FILE)
            instance.write_master_cf("\n".join(
                line for line in SERVICES
                if os.path.exists(os.path.join(instance.daemon_directory, line.split()[7])))
                + "\n" + master_cf_extra(template))
            instance.start()
            for case in cases.CASES:
                self.run_case(case)
            self.cleanup_unreachable()
            self.hostile_log()
            if self.failures:
                print(instance.log()[-6000:])
        if self.failures:
            raise SystemExit(f"{len(self.failures)} failure(s)")
        print(f"ok: {len(cases.CASES)} golden cases and 2 more")


def parse_summary(line):
    fields = dict(re.findall(r"(\w+)=(<[^>]*>|\S+)", line))
    return {"id": fields["id"], "original": fields["original"],
            "sender": fields["sender"].strip("<>"), "recipients": fields["recipients"].split(",")}


def normalize_ids(line, queue_id, notices):
    for index, notice_id in enumerate(notices):
        line = line.replace(notice_id, f"NEWID{index + 1}")
    return line.replace(queue_id, "ORIGID")


def unescape(text):
    return re.sub(rb"\\x([0-9a-f]{2})|\\\\", lambda m: bytes([int(m.group(1), 16)])
                  if m.group(1) else b"\\", text)


def diff(expected, got):
    import difflib
    return "".join(difflib.unified_diff(expected.splitlines(True), got.splitlines(True),
                                        "postfix", "postern"))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    if shutil.which("setpriv") is None:
        raise SystemExit("setpriv is needed")
    BounceTest(sys.argv[1], sys.argv[2]).run()
