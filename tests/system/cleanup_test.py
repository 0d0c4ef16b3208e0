#!/usr/bin/env python3
"""System tests of the cleanup daemon: a whole Postern instance (master and cleanup, no
qmgr, so queue files stay where cleanup puts them), messages sent with cleanup-submit
(tests/queue/cleanup_submit.cpp, the CleanupClient that smtpd and pickup use), and the
queue files read with real Postfix 3.7's postcat and compared with what real Postfix's
cleanup wrote for the same input (cleanup_golden/, see capture.py there).

Usage: cleanup_test.py CLEANUP_SUBMIT [TEST_NAME...]
Run through `meson test cleanup` (it sets the instance's environment).
"""
import glob
import json
import os
import re
import stat
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))
sys.path.insert(0, os.path.join(HERE, "cleanup_golden"))

from mail_instance import MailInstance, wait_until  # noqa: E402
from normalize import normalize  # noqa: E402

POSTCAT = "/usr/sbin/postcat"
SUBMIT = None
CLEANUP_SERVICE = "cleanup   unix  n       -       n       -       0       cleanup"
BOUNCE_SERVICE = "bounce    unix  -       -       n       -       0       bounce"
# What pickup asks for: bounce refused mail, plus external mail's processing.
PICKUP_FLAGS = 1 | 2 | 16 | 32 | 64
BASE_MAIN_CF = """myhostname = host.example.com
mydomain = example.com
myorigin = $myhostname
mydestination =
"""

# Real postcat needs a main.cf to read; an empty one will do.
POSTCAT_CONFIG = tempfile.mkdtemp(prefix="postern-postcat-")
open(os.path.join(POSTCAT_CONFIG, "main.cf"), "w").close()


class Instance(MailInstance):
    def __init__(self, main_cf="", services=(CLEANUP_SERVICE,)):
        super().__init__(main_cf=BASE_MAIN_CF + main_cf, services=list(services))

    def submit(self, message, sender="s", recipients=("r",), extracted=(), fullname="",
               attributes=("rewrite_context=local",), flags=None, raw=(), count=1,
               no_time=False):
        """Sends one message (count times) on one connection; returns [(queue_id, status,
        reason)]."""
        argv = [SUBMIT, "-s", sender]
        if fullname:
            argv += ["-F", fullname]
        if flags is not None:
            argv += ["-f", str(flags)]
        for attribute in attributes:
            argv += ["-a", attribute]
        for recipient in recipients:
            argv += ["-r", recipient]
        for recipient in extracted:
            argv += ["-x", recipient]
        for record in raw:
            argv += ["-e", record]
        if no_time:
            argv.append("-T")
        argv += ["-n", str(count), os.path.join(self.queue_directory, "public", "cleanup")]
        if isinstance(message, str):
            message = message.encode()
        result = subprocess.run(argv, input=message, capture_output=True, timeout=60)
        answers = []
        for line in result.stdout.decode("latin-1").splitlines():
            found = re.match(r"queue_id=(\S+) status=(\d+) reason=(.*)$", line)
            if not found:
                raise AssertionError(f"cleanup-submit said {line!r}\nlog:\n{self.log()}")
            answers.append((found.group(1), int(found.group(2)), found.group(3)))
        if len(answers) != count:
            raise AssertionError(f"cleanup-submit: {result.stdout!r} {result.stderr!r}"
                                 f"\nlog:\n{self.log()}")
        return answers

    def queue_path(self, queue, queue_id):
        found = glob.glob(os.path.join(self.queue_directory, queue, "**", queue_id),
                          recursive=True)
        return found[0] if found else None

    def postcat(self, queue, queue_id, options="-ehb"):
        path = self.queue_path(queue, queue_id)
        if path is None:
            raise AssertionError(f"{queue}/{queue_id} missing: {self.all_queued()}"
                                 f"\nlog:\n{self.log()}")
        result = subprocess.run([POSTCAT, "-c", POSTCAT_CONFIG, options, path],
                                capture_output=True, check=True)
        return result.stdout.decode("latin-1")

    def headers(self, queue_id, queue="incoming"):
        return self.postcat(queue, queue_id, "-h")

    def wait_log(self, pattern):
        return wait_until(lambda: re.search(pattern, self.log(), re.M), timeout=10,
                          what=f"log line {pattern!r}", log=self.log)


def check(condition, what, instance=None):
    if not condition:
        raise AssertionError(what + (f"\nlog:\n{instance.log()}" if instance else ""))


def single(instance, message, **options):
    [(queue_id, status, reason)] = instance.submit(message, **options)
    return queue_id, status, reason


# ---- Comparison with real Postfix ----

def test_golden_files_match_real_postfix(instance):
    cases = sorted(glob.glob(os.path.join(HERE, "cleanup_golden", "cases", "*.msg")))
    check(len(cases) >= 10, "golden cases missing")
    for case in cases:
        with open(case[:-4] + ".json") as f:
            args = json.load(f)
        with open(case, "rb") as f:
            message = f.read()
        with open(case[:-4] + ".ref", encoding="latin-1") as f:
            expected = f.read()
        queue_id, status, reason = single(instance, message, sender=args["sender"],
                                          recipients=args["recipients"],
                                          extracted=args.get("extract", ()),
                                          fullname=args.get("fullname", ""))
        check(status == 0, f"{case}: status {status} {reason}", instance)
        got = normalize(instance.postcat("incoming", queue_id))
        if got != expected:
            raise AssertionError(f"{os.path.basename(case)} differs from Postfix:\n--- Postfix\n"
                                 f"{expected}--- Postern\n{got}")


# ---- The queue file ----

def test_queue_file_is_committed_ready_and_logged(instance):
    queue_id, status, reason = single(instance, "Subject: x\n\nbody\n", fullname="A B")
    check(status == 0 and reason == "", f"status {status} {reason}", instance)
    path = instance.queue_path("incoming", queue_id)
    check(path is not None, "no queue file", instance)
    check(stat.S_IMODE(os.stat(path).st_mode) == 0o700, "queue file not ready (0700)")
    shown = instance.postcat("incoming", queue_id)
    check("create_time:" in shown, "no create_time")
    check(f"Message-Id: <" in shown and f".{queue_id}@host.example.com>" in shown,
          "no generated Message-Id", instance)
    instance.wait_log(rf"cleanup\[\d+\]: {queue_id}: message-id=<\d{{14}}\.{queue_id}@host\.example\.com>")
    # A missing qmgr is only a warning, as in Postfix.
    instance.wait_log(r"warning: unable to look up public/qmgr")


def test_several_messages_on_one_connection(instance):
    answers = instance.submit("Subject: many\n\nbody\n", count=3)
    ids = [queue_id for queue_id, status, _ in answers if status == 0]
    check(len(set(ids)) == 3, f"answers {answers}", instance)
    for queue_id in ids:
        check(instance.queue_path("incoming", queue_id), f"{queue_id} missing", instance)


def test_remote_context_leaves_headers_alone(instance):
    queue_id, status, _ = single(instance, "To: bare\nSubject: remote\n\nbody\n",
                                 attributes=["rewrite_context=remote"])
    check(status == 0, "refused")
    headers = instance.headers(queue_id)
    check("To: bare\n" in headers, f"header rewritten: {headers}")
    check("Message-Id:" not in headers and "Date:" not in headers and "From:" not in headers,
          f"headers added to remote mail: {headers}")
    # The envelope is rewritten in every context.
    check("recipient: r@host.example.com" in instance.postcat("incoming", queue_id, "-e"),
          "envelope not rewritten")


def test_hostile_streams_are_refused_and_leave_nothing(instance):
    before = instance.queue_files("incoming")
    # A size record has no place in what a client sends; nor has a second sender.
    for raw in (["C:junk"], ["S:second"], ["T:not a time"], ["A:=novalue"], ["A:bad name=x"],
                ["A:notify_flags=99"], ["A:dsn_orig_rcpt=noaddresstype"], ["V:abc"]):
        queue_id, status, reason = single(instance, "Subject: x\n\nb\n", raw=raw,
                                          no_time=raw[0].startswith("T:"))
        check(status & 1, f"{raw}: status {status}", instance)
        check(reason.startswith("4.3.0"), f"{raw}: reason {reason}")
    queue_id, status, _ = single(instance, "Subject: x\n\nb\n", no_time=True)
    check(status & 1, "message without a time record accepted")
    check(instance.queue_files("incoming") == before, "refused messages left files", instance)
    instance.wait_log(r"warning: \S+: message rejected: unexpected record type 67 in envelope")


def test_no_recipients_is_refused(instance):
    _, status, reason = single(instance, "Subject: x\n\nb\n", recipients=())
    check(status == 64 and reason == "5.1.0 no recipients specified", f"{status} {reason}")


# ---- Limits ----

def test_message_size_limit(instance):
    big = "Subject: big\n\n" + ("x" * 99 + "\n") * 30
    _, status, reason = single(instance, big)
    check(status == 4 and reason == "5.3.4 message file too big", f"{status} {reason}", instance)


def test_hopcount_limit(instance):
    received = "".join(f"Received: from hop{i}\n" for i in range(5))
    _, status, reason = single(instance, received + "Subject: loop\n\nb\n")
    check(status == 16 and reason == "5.4.0 too many hops", f"{status} {reason}", instance)
    # Delivered-To: headers are the local delivery agent's loop check, not cleanup's.
    delivered = "".join(f"Delivered-To: x{i}@example.com\n" for i in range(8))
    _, status, _ = single(instance, delivered + "Subject: ok\n\nb\n")
    check(status == 0, "Delivered-To counted as hops")


def test_header_size_limit(instance):
    long_header = "Subject: " + "y" * 300 + "\n continued\n"
    queue_id, status, _ = single(instance, long_header + "\nbody\n")
    check(status == 0, "refused")
    headers = instance.headers(queue_id)
    subject = [line for line in headers.splitlines() if line.startswith("Subject:")][0]
    check(len(subject) == 200, f"header not cut at 200: {len(subject)}")
    check(" continued" not in headers, "continuation kept past the limit")


def test_duplicate_filter(instance):
    queue_id, status, _ = single(instance, "Subject: d\n\nb\n", recipients=["r", "r", "R"])
    envelope = instance.postcat("incoming", queue_id, "-e")
    check(envelope.count("recipient: r@host.example.com") == 1, f"duplicates kept: {envelope}")


# ---- Content checks ----

HEADER_CHECKS = r"""/^Subject: reject me/ REJECT go away
/^Subject: reject temp/ REJECT 4.7.0 later please
/^Subject: discard me/ DISCARD
/^Subject: hold me/ HOLD held for review
/^Subject: warn me/ WARN watch out
/^X-Ignore:/ IGNORE
/^X-Replace:/ REPLACE X-Replaced: yes
/^X-Prepend:/ PREPEND X-Added: before
/^X-Dunno:/ DUNNO
/^X-Ok:/ OK
/^Content-Type: application\/x-evil/ REJECT evil attachment
"""
BODY_CHECKS = r"""/^reject this body/ REJECT body rejected
/^replace this line/ REPLACE replaced line
/^drop this line/ IGNORE
"""


def checks_main_cf(directory):
    with open(os.path.join(directory, "header_checks"), "w") as f:
        f.write(HEADER_CHECKS)
    with open(os.path.join(directory, "body_checks"), "w") as f:
        f.write(BODY_CHECKS)
    return (f"header_checks = regexp:{directory}/header_checks\n"
            f"body_checks = regexp:{directory}/body_checks\n"
            "mime_header_checks = $header_checks\n")


def test_reject_discard_hold_and_warn(instance):
    before = instance.queue_files("incoming")
    queue_id, status, reason = single(instance, "Subject: reject me\n\nb\n")
    check(status == 8 and reason == "5.7.1 go away", f"{status} {reason}", instance)
    instance.wait_log(rf"{queue_id}: reject: header Subject: reject me from local; "
                      r"from=<s@host\.example\.com> to=<r@host\.example\.com>: 5\.7\.1 go away")
    _, status, reason = single(instance, "Subject: reject temp\n\nb\n")
    check(status == 256 and reason == "4.7.0 later please", f"{status} {reason}")
    queue_id, status, reason = single(instance, "Subject: discard me\n\nb\n")
    check(status == 0 and reason == "", f"discard: {status} {reason}")
    instance.wait_log(rf"{queue_id}: discard: header Subject: discard me from local; "
                      r"from=<s@host\.example\.com> to=<r@host\.example\.com>$")
    check(instance.queue_files("incoming") == before, "refused or discarded mail left a file")
    queue_id, status, _ = single(instance, "Subject: hold me\n\nb\n")
    check(status == 0, "hold refused")
    check(instance.queue_path("hold", queue_id) and not instance.queue_path("incoming", queue_id),
          f"held message not in hold/: {instance.all_queued()}", instance)
    instance.wait_log(rf"{queue_id}: hold: header Subject: hold me from local; .*: held for review")
    queue_id, status, _ = single(instance, "Subject: warn me\n\nb\n")
    check(status == 0 and instance.queue_path("incoming", queue_id), "warn refused")
    instance.wait_log(rf"{queue_id}: warning: header Subject: warn me from local; .*: watch out")


def test_ignore_replace_prepend_dunno(instance):
    message = ("Subject: edits\nX-Ignore: 1\nX-Replace: 2\nX-Prepend: 3\nX-Dunno: 4\nX-Ok: 5\n\n"
               "keep\nreplace this line\ndrop this line\nkeep too\n")
    queue_id, status, _ = single(instance, message)
    check(status == 0, "refused")
    shown = instance.postcat("incoming", queue_id, "-hb")
    check("X-Ignore" not in shown, "IGNORE kept the header")
    check("X-Replaced: yes\n" in shown and "X-Replace: 2" not in shown, "REPLACE")
    check("X-Added: before\nX-Prepend: 3\n" in shown, "PREPEND")
    check("X-Dunno: 4\n" in shown and "X-Ok: 5\n" in shown, "DUNNO/OK")
    check("keep\nreplaced line\nkeep too\n" in shown, f"body edits: {shown}")
    instance.wait_log(rf"{queue_id}: replace: header X-Replace: 2 from local; .*: X-Replaced: yes")
    instance.wait_log(rf"{queue_id}: prepend: header X-Prepend: 3 from local; .*: X-Added: before")


def test_body_and_mime_checks(instance):
    _, status, reason = single(instance, "Subject: body\n\nfine\nreject this body\n")
    check(status == 8 and reason == "5.7.1 body rejected", f"{status} {reason}", instance)
    mime = ("Subject: mime\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n"
            "--b\nContent-Type: application/x-evil\n\npayload\n--b--\n")
    _, status, reason = single(instance, mime)
    check(status == 8 and reason == "5.7.1 evil attachment", f"mime_header_checks: {status} {reason}")
    # nested_header_checks (default $header_checks) sees an attached message's headers;
    # header_checks does not see them as the message's own.
    nested = ("Subject: outer\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n"
              "--b\nContent-Type: message/rfc822\n\nSubject: reject me\n\ninner\n--b--\n")
    _, status, reason = single(instance, nested)
    check(status == 8 and reason == "5.7.1 go away", f"nested_header_checks: {status} {reason}")
    # Without the filter flag (receive_override_options = no_header_body_checks) nothing is checked.
    _, status, _ = single(instance, "Subject: reject me\n\nb\n", flags=0x20)
    check(status == 0, "checks applied without cleanup_flag::filter")


def test_refusal_without_bounce_service_is_temporary(instance):
    before = instance.all_queued(("incoming", "hold", "bounce"))
    _, status, reason = single(instance, "Subject: reject me\n\nb\n", flags=PICKUP_FLAGS)
    check(status == 2 and reason == "4.3.0 queue file write error", f"{status} {reason}", instance)
    check(instance.all_queued(("incoming", "hold", "bounce")) == before, "files left behind")
    instance.wait_log(r"warning: connect to private/bounce")


def test_refusal_bounces_to_sender(instance):
    queue_id, status, reason = single(instance, "Subject: reject me\n\nthe body\n",
                                      flags=PICKUP_FLAGS)
    check(status == 0 and reason == "", f"{status} {reason}", instance)
    found = instance.wait_log(rf"{queue_id}: sender non-delivery notification: (\w+)")
    notice = found.group(1)
    check(instance.queue_path("incoming", queue_id) is None, "refused file kept")
    check(not instance.queue_files("bounce"), "bounce log kept")
    shown = wait_until(lambda: instance.queue_path("incoming", notice) and
                       instance.postcat("incoming", notice), what="the notice", log=instance.log)
    check("recipient: s@host.example.com" in shown, f"notice not to the sender: {shown}")
    check("go away" in shown, f"notice without the reason: {shown}")


# ---- Address mapping ----

def mapping_main_cf(directory):
    return ("canonical_maps = inline:{ {old@host.example.com=new@example.net} }\n"
            "sender_canonical_maps = inline:{ {s@host.example.com=sender@example.net} }\n"
            "recipient_canonical_maps = inline:{ {rc@host.example.com=rcanon@example.net} }\n"
            "virtual_alias_maps = inline:{ {list@host.example.com=one@example.net, two@example.net},"
            " {loop@host.example.com=loop@host.example.com, copy@example.net} }\n"
            "always_bcc = archive@example.net\n"
            "sender_bcc_maps = inline:{ {sender@example.net=sbcc@example.net} }\n"
            "recipient_bcc_maps = inline:{ {list@host.example.com=rbcc@example.net} }\n")


def test_canonical_virtual_and_bcc(instance):
    message = "From: s\nTo: old, rc\nCc: list\nSubject: maps\n\nb\n"
    queue_id, status, _ = single(instance, message, recipients=["old", "rc", "list", "loop"])
    check(status == 0, "refused", instance)
    shown = instance.postcat("incoming", queue_id)
    envelope = shown.split("*** MESSAGE CONTENTS")[0]
    check("sender: sender@example.net" in envelope, f"sender_canonical_maps: {envelope}")
    for rcpt in ("new@example.net", "rcanon@example.net", "one@example.net", "two@example.net",
                 "loop@host.example.com", "copy@example.net", "sbcc@example.net",
                 "rbcc@example.net"):
        check(f"recipient: {rcpt}\n" in envelope, f"missing recipient {rcpt}: {envelope}")
    check("named_attribute: dsn_orig_rcpt=rfc822;list@host.example.com" in envelope,
          "ORCPT of an expanded alias")
    check("recipient: archive@example.net" in shown.split("*** HEADER EXTRACTED")[1],
          "always_bcc, in the extracted segment as Postfix puts it")
    # Automatic BCC copies ask for no DSN and carry no ORCPT (as Postfix writes them).
    check("named_attribute: notify_flags=1\noriginal_recipient: sbcc@example.net\n" in envelope,
          f"BCC recipient records: {envelope}")
    check("From: sender@example.net\n" in shown, f"header sender canonical: {shown}")
    check("To: new@example.net, rcanon@example.net\n" in shown, f"header recipients: {shown}")
    # virtual_alias_maps rewrite the envelope only.
    check("Cc: list@host.example.com\n" in shown, "Cc rewritten by virtual_alias_maps")


def test_virtual_alias_limits(instance):
    # a1 -> a2 -> a3 -> a4: deeper than virtual_alias_recursion_limit = 2.
    _, status, reason = single(instance, "Subject: x\n\nb\n", recipients=["a1"])
    check(status == 256 and reason == "4.6.0 Alias expansion error", f"{status} {reason}", instance)
    instance.wait_log(r"unreasonable virtual_alias_maps map nesting for a1@host\.example\.com")
    # big -> five addresses: more than virtual_alias_expansion_limit = 3.
    _, status, reason = single(instance, "Subject: x\n\nb\n", recipients=["big"])
    check(status == 256 and reason == "4.6.0 Alias expansion error", f"{status} {reason}")
    instance.wait_log(r"unreasonable virtual_alias_maps map expansion size for big@host")


def test_map_lookup_failure_defers(instance):
    queue_id, status, reason = single(instance, "Subject: x\n\nb\n", recipients=["fail-me"])
    check(status & 2 and reason.startswith("4."), f"{status} {reason}", instance)
    instance.wait_log(r"virtual_alias_maps map lookup problem for fail-me@host\.example\.com -- "
                      r"message not accepted, try again later")


def main():
    global SUBMIT
    SUBMIT = os.path.abspath(sys.argv[1])
    wanted = set(sys.argv[2:])
    groups = [
        ([test_golden_files_match_real_postfix, test_queue_file_is_committed_ready_and_logged,
          test_several_messages_on_one_connection, test_remote_context_leaves_headers_alone,
          test_hostile_streams_are_refused_and_leave_nothing, test_no_recipients_is_refused,
          test_duplicate_filter], lambda d: ""),
        ([test_message_size_limit, test_hopcount_limit, test_header_size_limit],
         lambda d: "message_size_limit = 2000\nhopcount_limit = 5\nheader_size_limit = 200\n"),
        ([test_reject_discard_hold_and_warn, test_ignore_replace_prepend_dunno,
          test_body_and_mime_checks, test_refusal_without_bounce_service_is_temporary],
         checks_main_cf),
        ([test_refusal_bounces_to_sender], checks_main_cf, (CLEANUP_SERVICE, BOUNCE_SERVICE)),
        ([test_canonical_virtual_and_bcc], mapping_main_cf),
        ([test_virtual_alias_limits],
         lambda d: "virtual_alias_recursion_limit = 2\nvirtual_alias_expansion_limit = 3\n"
                   "virtual_alias_maps = inline:{ {a1@host.example.com=a2@host.example.com},"
                   " {a2@host.example.com=a3@host.example.com},"
                   " {a3@host.example.com=a4@host.example.com},"
                   " {big@host.example.com=b1@x, b2@x, b3@x, b4@x, b5@x} }\n"),
        ([test_map_lookup_failure_defers],
         lambda d: "virtual_alias_maps = fail:broken\n"),
    ]
    failures = 0
    for tests, main_cf_for, *services in groups:
        chosen = [t for t in tests if not wanted or t.__name__ in wanted]
        if chosen:
            failures += run_group(chosen, main_cf_for, *services)
    sys.exit(1 if failures else 0)


def run_group(tests, main_cf_for, services=(CLEANUP_SERVICE,)):
    """One instance for the group's tests."""
    directory = tempfile.mkdtemp(prefix="postern-cleanup-tables-")
    os.chmod(directory, 0o755)
    failures = 0
    with Instance(main_cf_for(directory), services) as instance:
        instance.start()
        wait_until(lambda: os.path.exists(os.path.join(instance.queue_directory, "public",
                                                       "cleanup")), what="cleanup socket")
        for test in tests:
            try:
                test(instance)
                print(f"ok - {test.__name__}")
            except Exception:  # noqa: BLE001
                failures += 1
                print(f"FAIL - {test.__name__}")
                traceback.print_exc()
    return failures


if __name__ == "__main__":
    main()
