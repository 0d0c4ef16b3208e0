"""The cases of the bounce daemon's golden tests: one queue file, one log and one bounce
request each, the same for real Postfix (capture.py, run once to make refs/) and for
Postern (tests/system/bounce_test.py, run every time).

A case names a settings group, a few main.cf settings on top of COMMON_MAIN_CF.
capture.py reloads real Postfix with each group; Postern's test runs one bounce service per
group (master.cf -o overrides), so that one instance serves every case.
"""
import dataclasses
import re

HOSTNAME = "test.example"

COMMON_MAIN_CF = """\
myhostname = test.example
notify_classes = bounce, 2bounce, delay, resource, software
delay_warning_time = 4h
"""

TEMPLATE_FILE = """\
# A site's own texts (bounce(5)).
failure_template = <<EOF
Charset: us-ascii
From: robot (Bounce Robot)
Subject: Returned mail: see the report
Postmaster-Subject: Returned mail (copy)

Mail system of $myhostname ($mail_name) speaking.
Your mail was kept for up to $maximal_queue_lifetime_days days; $$0 fee.
EOF
"""

# Settings groups: main.cf settings (capture.py) or -o overrides (Postern's services).
# TEMPLATE_PATH is replaced with where the test put TEMPLATE_FILE.
SETTINGS = {
    "default": {},
    "small": {"bounce_size_limit": "100"},
    "ascii": {"smtputf8_enable": "no"},
    "template": {"bounce_template_file": "TEMPLATE_PATH"},
    "quiet": {"notify_classes": "resource,software"},
    "obsolete": {"header_from_format": "obsolete"},
    "threaded": {"enable_threaded_bounces": "yes"},
}

SPEC = """\
time 1700000000 123456
attribute create_time=1700000000
attribute rewrite_context=local
full_name Alice Sender
sender {sender}
recipient bob@remote.example original=bobby@remote.example
recipient carol@remote.example
"""

MESSAGE = (b"From: Alice <alice@example.org>\n"
           b"To: bob@remote.example\n"
           b"Subject: hello\n"
           b"Message-Id: <m1@example.org>\n"
           b"\n"
           b"body line 1\n"
           b"body line 2\n")

UTF8_RECIPIENT = "\u03b4\u03bf\u03ba\u03b9\u03bc\u03ae@\u03c0\u03b1\u03c1\u03ac\u03b4\u03b5\u03b9\u03b3\u03bc\u03b1.example"
UTF8_SENDER = "j\u00f6rg@ex\u00e4mple.org"

UTF8_SPEC = f"""\
time 1700000000 123456
sender {{sender}}
recipient {UTF8_RECIPIENT}
"""

UTF8_MESSAGE = ("From: J\u00f6rg <j\u00f6rg@ex\u00e4mple.org>\n"
                "Subject: gr\u00fc\u00dfe\n"
                "\n"
                "8bit body \u00e4\u00f6\n").encode()

BOB_FAILED = """\
recipient=bob@remote.example
original_recipient=bobby@remote.example
status=5.1.1
action=failed
diag_type=smtp
diag_text=550 5.1.1 <bob@remote.example>: Recipient address rejected: User unknown in virtual mailbox table
mta_type=dns
mta_mname=mx.remote.example
reason=host mx.remote.example[192.0.2.1] said: 550 5.1.1 <bob@remote.example>: Recipient address rejected: User unknown in virtual mailbox table (in reply to RCPT TO command)
"""

CAROL_FAILED = """\
recipient=carol@remote.example
status=5.4.6
action=failed
reason=mail for remote.example loops back to myself
"""

BOB_DELAYED = """\
recipient=bob@remote.example
original_recipient=bobby@remote.example
status=4.4.1
action=delayed
reason=connect to mx.remote.example[192.0.2.1]:25: Connection refused
"""

BOB_RELAYED = """\
recipient=bob@remote.example
original_recipient=bobby@remote.example
dsn_orig_rcpt=rfc822;bobby@remote.example
notify_flags=2
status=2.0.0
action=relayed
diag_type=smtp
diag_text=250 2.0.0 Ok: queued as 12345
mta_type=dns
mta_mname=mx.remote.example
reason=delivered via mx.remote.example[192.0.2.1]:25: 250 2.0.0 Ok: queued as 12345
"""

UTF8_FAILED = f"""\
recipient={UTF8_RECIPIENT}
status=5.1.1
action=failed
reason=unknown user: "\u03b4\u03bf\u03ba\u03b9\u03bc\u03ae" ctl\there
"""


def records(*texts, **changes):
    """Log records in the bounce log format, each ended by an empty line; `changes` adds
    or replaces name=value lines (before status=, where the writer puts them)."""
    out = []
    for text in texts:
        for name, value in changes.items():
            if re.search(rf"^{name}=", text, flags=re.M):
                text = re.sub(rf"^{name}=.*$", f"{name}={value}", text, flags=re.M)
            else:
                text = text.replace("status=", f"{name}={value}\nstatus=", 1)
        out.append(text)
    return "".join(text + "\n" for text in out)


@dataclasses.dataclass
class Case:
    name: str
    request: str          # flush, warn, trace
    log: str              # bounce, defer, trace
    sender: str           # of the queue file and of the request
    records: str | None   # the log; None: no log
    settings: str = "default"
    spec: str = SPEC
    message: bytes = MESSAGE
    encoding: str = "7bit"
    smtputf8: int = 0
    dsn_envid: str = ""
    dsn_ret: int = 0
    queue_file: bool = True   # False: the queue file is removed before the request


CASES = [
    Case("failure", "flush", "bounce", "alice@example.org", records(BOB_FAILED, CAROL_FAILED)),
    Case("failure-hdrs", "flush", "bounce", "alice@example.org", records(CAROL_FAILED),
         dsn_ret=2, dsn_envid="envid-7"),
    Case("double-bounce", "flush", "bounce", "", records(BOB_FAILED)),
    Case("discard", "flush", "bounce", "double-bounce@test.example", records(CAROL_FAILED)),
    Case("notify-filter", "flush", "bounce", "alice@example.org",
         records(BOB_FAILED, notify_flags="1") + records(CAROL_FAILED, notify_flags="12")),
    Case("no-queue-file", "flush", "bounce", "alice@example.org", records(CAROL_FAILED),
         queue_file=False),
    Case("no-log", "flush", "bounce", "alice@example.org", None),
    Case("delay", "warn", "defer", "alice@example.org", records(BOB_DELAYED)),
    Case("success", "trace", "trace", "alice@example.org", records(BOB_RELAYED),
         dsn_envid="envid-42"),
    Case("success-null-sender", "trace", "trace", "", records(BOB_RELAYED)),
    Case("size-limit", "flush", "bounce", "alice@example.org", records(CAROL_FAILED),
         settings="small"),
    Case("ascii", "flush", "bounce", "alice@example.org", records(CAROL_FAILED),
         settings="ascii"),
    Case("template", "flush", "bounce", "alice@example.org", records(CAROL_FAILED),
         settings="template"),
    Case("delay-null-sender", "warn", "defer", "", records(BOB_DELAYED)),
    Case("quiet-failure", "flush", "bounce", "alice@example.org", records(CAROL_FAILED),
         settings="quiet"),
    Case("quiet-double-bounce", "flush", "bounce", "", records(CAROL_FAILED), settings="quiet"),
    Case("quiet-delay-null-sender", "warn", "defer", "", records(BOB_DELAYED), settings="quiet"),
    Case("quiet-success-null-sender", "trace", "trace", "", records(BOB_RELAYED),
         settings="quiet"),
    Case("from-obsolete", "flush", "bounce", "alice@example.org", records(CAROL_FAILED),
         settings="obsolete"),
    Case("threaded", "flush", "bounce", "alice@example.org", records(CAROL_FAILED),
         settings="threaded"),
    Case("smtputf8", "flush", "bounce", UTF8_SENDER, records(UTF8_FAILED), spec=UTF8_SPEC,
         message=UTF8_MESSAGE, encoding="8bit", smtputf8=1),
]

REQUEST_NUMBER = {"flush": 1, "warn": 2, "trace": 5}  # Postfix's BOUNCE_CMD_*


def spec_text(case):
    return case.spec.format(sender=case.sender)


# ---- comparing a notice with its reference ----

DATE = r"[A-Z][a-z]{2}, [ \d]\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d [+-]\d{4} \(\w+\)"


def normalized(text, original_id, notice_id):
    """The notice's text with what differs from run to run replaced: the queue IDs, the
    time in the MIME boundary, the dates of Received: and Date:, the Message-Id; and the
    built-in template text (Postfix's words and Postern's differ by design) cut out of the
    notification part, up to its "The mail system" signature."""
    text = text.replace(notice_id, "NEWID").replace(original_id, "ORIGID")
    text = re.sub(r"ORIGID\.\d+/", "ORIGID.TIME/", text)
    text = re.sub(rf"(\tid NEWID; ){DATE}", r"\1DATE", text)
    text = re.sub(rf"^Date: {DATE}$", "Date: DATE", text, flags=re.M)
    text = re.sub(r"^Message-Id: <\d{14}\.NEWID@", "Message-Id: <STAMP.NEWID@", text, flags=re.M)
    return re.sub(r"(Content-Type: text/plain; charset=[\w-]+\n"
                  r"(?:Content-Transfer-Encoding: \w+\n)?\n)"
                  r"This is the mail system at host [^\n]*\n.*?\n +The mail system\n",
                  r"\1[TEMPLATE TEXT]\n", text, count=1, flags=re.S)


def qualified(address):
    """An envelope address as cleanup leaves it: a bare local part gets @myhostname."""
    return address if "@" in address or not address else f"{address}@{HOSTNAME}"
