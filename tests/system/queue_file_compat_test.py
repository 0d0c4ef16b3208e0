#!/usr/bin/env python3
"""Queue files shared with real Postfix 3.7: each side reads what the other wrote.

Postern -> Postfix: tests/queue/queue_tool writes queue files from a spec (the writer cleanup
will use); the bytes must equal what an independent encoder in this script produces from the
same spec (Postfix's record format: type byte, base-128 length, data; the size record's six
fixed-width fields), and real /usr/sbin/postcat -o must show every record at the right
offset: sender, recipients, DSN attributes, arrival time, headers and body, long lines
joined, 8-bit and NUL bytes intact. postcat -q must find files by ID in hashed queues, with
short and long queue IDs: Postfix's own path computation agrees with Postern's.

Postfix -> Postern: tests/queue/postfix_samples holds files real Postfix 3.7.11 wrote
(cleanup for sendmail and SMTP submissions, with DSN fields, long lines and 8-bit text; one
after qmgr marked a recipient done; one written by Postern and then partly delivered by
Postfix's qmgr). queue_tool dump must agree with postcat -o on every field of each.

Also: marking a recipient done changes exactly one byte and postcat then shows it done; a
truncated file is reported corrupt by both postcat and Postern, and Postern's scan moves it
to corrupt/ with Postfix's log line.

Usage: queue_file_compat_test.py QUEUE_TOOL SAMPLES_DIR
Exits 77 (meson: skipped) when real Postfix's postcat is not installed.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import traceback

POSTCAT = "/usr/sbin/postcat"
SAFE = "0123456789BCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz"
NOTIFY = {"never": 1, "success": 2, "failure": 4, "delay": 8}

QUEUE_TOOL = None
failures = []


def check(condition, what):
    if not condition:
        failures.append(what)
        print("FAIL: " + what, file=sys.stderr)
    return condition


# ---- An independent encoder of Postfix's queue file format ----

def record(rtype, data):
    if isinstance(data, str):
        data = data.encode()
    out = bytearray(rtype.encode())
    n = len(data)
    while True:
        byte = n & 0x7F
        n >>= 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            break
    return bytes(out) + data


class Message:
    """A spec: envelope items (tuples), content lines (bytes), extracted items."""

    def __init__(self, envelope, lines, extracted=(), line_limit=2048):
        self.envelope = list(envelope)
        self.lines = list(lines)
        self.extracted = list(extracted)
        self.line_limit = line_limit

    def spec_text(self):
        out = []
        for item in self.envelope:
            out.append(spec_line(item))
        for item in self.extracted:
            out.append("extracted " + spec_line(item))
        return "\n".join(out) + "\n"

    def message_bytes(self):
        return b"".join(line + b"\n" for line in self.lines)

    def records(self):
        """[(type, data)] in file order, with the size record's real fields."""
        records = [("C", b" " * 95)]
        union = 0
        count = 0
        mixed = False
        for segment in (self.envelope, None, self.extracted):
            if segment is None:
                records.append(("M", b""))
                for line in self.lines:
                    while len(line) > self.line_limit:
                        records.append(("L", line[:self.line_limit]))
                        line = line[self.line_limit:]
                    records.append(("N", line))
                records.append(("X", b""))
                continue
            in_recipients = False
            for item in segment:
                if item[0] == "recipient":
                    _, address, original, orcpt, notify = item
                    flags = sum(NOTIFY[word] for word in notify)
                    if flags:
                        records.append(("A", "notify_flags=%d" % flags))
                    if orcpt:
                        records.append(("A", "dsn_orig_rcpt=" + orcpt))
                    if original:
                        records.append(("O", original))
                    records.append(("R", address))
                    union |= flags
                    count += 1
                    in_recipients = True
                    continue
                mixed |= in_recipients
                records.append(item_record(item))
        records.append(("E", b""))
        records = [(t, d.encode() if isinstance(d, str) else d) for t, d in records]
        offsets = []
        at = 0
        for rtype, data in records:
            offsets.append(at)
            at += len(record(rtype, data))
        content_offset = offsets[[t for t, _ in records].index("M") + 1]
        extracted = offsets[[t for t, _ in records].index("X")]
        size = extracted - content_offset
        fields = (size, content_offset, count, (union << 1) | int(mixed), size, 0)
        records[0] = ("C", " ".join("%15d" % f for f in fields).encode())
        return records, offsets

    def file_bytes(self):
        records, _ = self.records()
        return b"".join(record(t, d) for t, d in records)


def spec_line(item):
    kind = item[0]
    if kind == "recipient":
        _, address, original, orcpt, notify = item
        text = "recipient " + address
        if original:
            text += " original=" + original
        if orcpt:
            text += " orcpt=" + orcpt
        if notify:
            text += " notify=" + ",".join(notify)
        return text
    if kind == "time":
        return "time %d %d" % (item[1], item[2])
    if kind == "attribute":
        return "attribute %s=%s" % (item[1], item[2])
    return "%s %s" % (kind, item[1])


def item_record(item):
    kind = item[0]
    if kind == "time":
        return ("T", "%d %d" % (item[1], item[2]))
    if kind == "attribute":
        return ("A", "%s=%s" % (item[1], item[2]))
    if kind == "full_name":
        return ("F", item[1])
    if kind == "sender":
        return ("S", item[1])
    if kind == "envid":
        return ("A", "envelope_id=" + item[1])
    if kind == "ret":
        return ("A", "ret_flags=%d" % {"full": 1, "hdrs": 2}[item[1]])
    if kind == "warning":
        return ("W", "%15d" % item[1])
    raise ValueError(kind)


# ---- What postcat -o prints for a file ----

def asctime(seconds):
    return time.asctime(time.gmtime(seconds)).encode()


ENVELOPE_LABELS = {"F": b"sender_fullname", "S": b"sender", "O": b"original_recipient",
                   "R": b"recipient", "D": b"done_recipient"}


def expected_postcat(message, path):
    records, offsets = message.records()
    path = path.encode()
    out = [b"*** ENVELOPE RECORDS " + path + b" ***"]
    for (rtype, data), offset in zip(records, offsets):
        prefix = b"%9d " % offset
        if rtype == "C":
            out.append(prefix + b"message_size: " + data)
        elif rtype == "T":
            out.append(prefix + b"message_arrival_time: " + asctime(int(data.split()[0])))
        elif rtype == "W":
            out.append(prefix + b"warning_message_time: " + asctime(int(data)))
        elif rtype == "A" and data.startswith(b"create_time="):
            out.append(prefix + b"create_time: " + asctime(int(data.split(b"=")[1])))
        elif rtype == "A":
            out.append(prefix + b"named_attribute: " + data)
        elif rtype in ENVELOPE_LABELS:
            out.append(prefix + ENVELOPE_LABELS[rtype] + b": " + data)
        elif rtype == "M":
            out.append(prefix + b"*** MESSAGE CONTENTS " + path + b" ***")
        elif rtype in "LN":
            # With -o every content record gets its own line (without -o postcat joins an
            # L record to what follows).
            out.append(prefix + data)
        elif rtype == "X":
            out.append(prefix + b"*** HEADER EXTRACTED " + path + b" ***")
        elif rtype == "E":
            out.append(prefix + b"*** MESSAGE FILE END " + path + b" ***")
    return b"\n".join(out) + b"\n"


def postcat(config, *args):
    env = dict(os.environ, TZ="UTC")
    return subprocess.run([POSTCAT, "-c", config] + list(args), capture_output=True, env=env)


def queue_tool(*args, check_status=True):
    result = subprocess.run([QUEUE_TOOL] + list(args), capture_output=True)
    if check_status and result.returncode != 0:
        raise RuntimeError("queue_tool %s failed: %s" % (" ".join(args), result.stderr.decode()))
    return result


# ---- A throwaway instance ----

class Instance:
    def __init__(self, base, name, settings=""):
        self.etc = os.path.join(base, name, "etc")
        self.spool = os.path.join(base, name, "spool")
        os.makedirs(self.etc)
        for queue in ("incoming", "active", "deferred", "hold", "corrupt", "maildrop"):
            os.makedirs(os.path.join(self.spool, queue))
        with open(os.path.join(self.etc, "main.cf"), "w") as f:
            f.write("queue_directory = %s\n%s" % (self.spool, settings))
        self.base = os.path.join(base, name)

    def write(self, message, queue="incoming"):
        spec = os.path.join(self.base, "spec")
        content = os.path.join(self.base, "message")
        with open(spec, "w") as f:
            f.write(message.spec_text())
        with open(content, "wb") as f:
            f.write(message.message_bytes())
        result = queue_tool("-c", self.etc, "write", "-q", queue, spec, content)
        queue_id, path = result.stdout.decode().split()
        return queue_id, path


def recipient(address, original="", orcpt="", notify=()):
    return ("recipient", address, original, orcpt, tuple(notify))


MESSAGES = {
    "plain": Message(
        [("time", 1795606746, 954961), ("attribute", "create_time", "1795606747"),
         ("attribute", "rewrite_context", "local"), ("full_name", "Alice Sender"),
         ("sender", "alice@example.com"),
         recipient("bob@remote.example", "bob@remote.example", "rfc822;bob@remote.example"),
         recipient("carol@remote.example", "carol@remote.example",
                   "rfc822;carol@remote.example")],
        [b"Received: by mx.example.com (Postern)", b"\tid X; Wed, 25 Nov 2026 11:39:06 +0000",
         b"Subject: plain test", b"From: Alice <alice@example.com>", b"To: bob@remote.example",
         b"", b"Hello Bob.", b"Second line."]),
    "dsn": Message(
        [("time", 1795607442, 185286), ("attribute", "create_time", "1795607443"),
         ("attribute", "log_ident", "whatever"), ("attribute", "rewrite_context", "local"),
         ("envid", "env-123"), ("ret", "hdrs"), ("sender", "dave@example.com"),
         ("attribute", "log_client_name", "localhost"),
         recipient("erin@remote.example", "erin@remote.example",
                   "rfc822;erin-orig@remote.example", ("success", "delay")),
         recipient("frank@remote.example", "frank@remote.example",
                   "rfc822;frank@remote.example", ("never",)),
         recipient("gina@remote.example", "", "", ("failure",))],
        [b"Subject: dsn test", b"", b"body"]),
    "bytes": Message(
        [("time", 1795607500, 7), ("warning", 1795700000), ("sender", ""),
         recipient("postmaster@remote.example")],
        [b"Subject: =?utf-8?q?caf=C3=A9?=", b"", b"x" * 5000, b"y" * 2048, b"z" * 4097,
         b"8bit: caf\xc3\xa9 \xe9\xe8\xff", b"NUL: a\x00b", b"CR: a\rb", b"..dot line",
         b"", b"last"],
        extracted=[("attribute", "encoding", "8bit"),
                   recipient("bcc@remote.example", "bcc@remote.example")]),
    "mixed": Message(
        [("time", 1795607600, 1), ("sender", "s@example.com"), recipient("r1@remote.example"),
         ("attribute", "log_client_address", "127.0.0.1"), recipient("r2@remote.example")],
        [b"Subject: mixed"]),
    "large": Message(
        [("time", 1795607700, 2), ("sender", "list@example.com")]
        + [recipient("member%d@remote.example" % i, "member%d@remote.example" % i)
           for i in range(300)],
        [b"Subject: large"] + [b"line %d %s" % (i, b"." * (i % 90)) for i in range(20000)]),
}


def test_postern_to_postfix(instance):
    for name, message in MESSAGES.items():
        queue_id, path = instance.write(message)
        with open(path, "rb") as f:
            actual = f.read()
        expected = message.file_bytes()
        if not check(actual == expected, "%s: Postern's bytes differ from the format" % name):
            at = next((i for i in range(min(len(actual), len(expected)))
                       if actual[i] != expected[i]), min(len(actual), len(expected)))
            print("  first difference at %d: %r vs %r" % (at, actual[at:at + 40],
                                                           expected[at:at + 40]), file=sys.stderr)
        check(os.stat(path).st_mode & 0o7777 == 0o700, "%s: committed file is not 0700" % name)
        result = postcat(instance.etc, "-o", path)
        check(result.returncode == 0, "%s: postcat failed: %s" % (name, result.stderr.decode()))
        wanted = expected_postcat(message, path)
        if not check(result.stdout == wanted, "%s: postcat -o output differs" % name):
            for got_line, want_line in zip(result.stdout.split(b"\n"), wanted.split(b"\n")):
                if got_line != want_line:
                    print("  postcat:  %r\n  expected: %r" % (got_line[:120], want_line[:120]),
                          file=sys.stderr)
                    break


def decode_safe(text, base):
    value = 0
    for c in text:
        value = value * base + SAFE.index(c)
    return value


def expected_hash(queue_id, depth):
    """Postfix's hashed directory, computed here from the ID's definition."""
    z = queue_id.rfind("z")
    if z >= 10:
        source = "%05X" % decode_safe(queue_id[z - 4:z], 52)
    else:
        source = queue_id
    return "".join(source[i] + "/" for i in range(depth))


def test_hashed_queues(base):
    cases = [
        ("short-default", "", "deferred", 1, re.compile(r"^[0-9A-F]{6,}$")),
        ("short-incoming", "hash_queue_names = incoming, deferred\nhash_queue_depth = 2\n",
         "incoming", 2, re.compile(r"^[0-9A-F]{6,}$")),
        ("long-deferred", "enable_long_queue_ids = yes\nhash_queue_depth = 2\n", "deferred", 2,
         re.compile(r"^[0-9B-DF-HJ-NP-TV-Zb-df-hj-np-tv-z]{10,}z[0-9B-DF-HJ-NP-TV-Zb-df-hj-np-tv-y]+$")),
        ("long-unhashed", "enable_long_queue_ids = yes\n", "hold", 0,
         re.compile(r"^[0-9B-DF-HJ-NP-TV-Zb-df-hj-np-tv-z]{10,}z[0-9B-DF-HJ-NP-TV-Zb-df-hj-np-tv-y]+$")),
    ]
    message = MESSAGES["plain"]
    for name, settings, queue, depth, id_pattern in cases:
        instance = Instance(base, name, settings)
        ids = set()
        for _ in range(3):
            queue_id, path = instance.write(message, queue)
            ids.add(queue_id)
            check(id_pattern.match(queue_id), "%s: queue ID %s has the wrong form" % (name, queue_id))
            wanted = os.path.join(instance.spool, queue, expected_hash(queue_id, depth) + queue_id)
            check(path == wanted, "%s: file at %s, expected %s" % (name, path, wanted))
            inode = os.stat(path).st_ino
            if queue_id.rfind("z") >= 10:
                check(decode_safe(queue_id[queue_id.rfind("z") + 1:], 51) == inode,
                      "%s: %s does not encode inode %d" % (name, queue_id, inode))
                seconds = decode_safe(queue_id[:queue_id.rfind("z") - 4], 52)
                check(abs(seconds - time.time()) < 600, "%s: %s has a wrong time" % (name, queue_id))
            else:
                check(int(queue_id[5:], 16) == inode,
                      "%s: %s does not encode inode %d" % (name, queue_id, inode))
            result = postcat(instance.etc, "-q", queue_id)
            check(result.returncode == 0 and b"sender: alice@example.com" in result.stdout,
                  "%s: postcat -q %s did not find it: %s" % (name, queue_id, result.stderr.decode()))
        check(len(ids) == 3, "%s: queue IDs repeat: %s" % (name, ids))


def parse_postcat(output, plain_output):
    """The fields postcat -o shows, in a form comparable with queue_tool dump; the content
    lines come from postcat without -o, which joins long lines again."""
    fields = {"recipients": [], "originals": [], "attributes": [], "lines": [], "sender": None,
              "full_name": b"", "size": None, "arrival": None}
    section = None
    for line in output.split(b"\n"):
        if line.startswith(b"*** ") or line[10:14] == b"*** ":
            section = line.split(b"*** ")[1].split(b" /")[0].split(b" ")[0]
            continue
        if not line:
            continue
        offset, _, text = line.lstrip(b" ").partition(b" ")
        if section == b"MESSAGE":
            continue
        label, _, value = text.partition(b": ")
        if label == b"sender":
            fields["sender"] = value
        elif label == b"sender_fullname":
            fields["full_name"] = value
        elif label in (b"recipient", b"done_recipient"):
            fields["recipients"].append((int(offset), label == b"done_recipient", value))
        elif label == b"original_recipient":
            fields["originals"].append(value)
        elif label == b"named_attribute":
            fields["attributes"].append(value)
        elif label == b"message_size":
            fields["size"] = [int(v) for v in value.split()]
        elif label == b"message_arrival_time":
            fields["arrival"] = value
        elif label == b"create_time":
            fields["attributes"].append(b"create_time:" + value)
    lines = plain_output.split(b"\n")
    start = next(i for i, line in enumerate(lines) if line.startswith(b"*** MESSAGE CONTENTS"))
    end = next(i for i, line in enumerate(lines) if line.startswith(b"*** HEADER EXTRACTED"))
    fields["lines"] = lines[start + 1:end]
    return fields


def unescape(text):
    out = bytearray()
    i = 0
    while i < len(text):
        if text[i:i + 1] == b"\\":
            if text[i + 1:i + 2] == b"\\":
                out += b"\\"
                i += 2
            else:
                out.append(int(text[i + 2:i + 4], 16))
                i += 4
        else:
            out += text[i:i + 1]
            i += 1
    return bytes(out)


def parse_dump(output):
    fields = {"recipients": [], "originals": [], "attributes": [], "lines": []}
    for line in output.split(b"\n"):
        label, _, value = line.partition(b": ")
        if label == b"sender":
            fields["sender"] = unescape(value)
        elif label == b"full_name":
            fields["full_name"] = unescape(value)
        elif label == b"size":
            fields["size"] = [int(v) for v in value.split()]
        elif label == b"arrival":
            fields["arrival"] = asctime(int(value.split()[0]))
        elif label == b"envelope_id" and value:
            fields["attributes"].append(b"envelope_id=" + unescape(value))
        elif label == b"ret" and value != b"0":
            fields["attributes"].append(b"ret_flags=" + value)
        elif label == b"attribute":
            name, _, attribute_value = unescape(value).partition(b"=")
            if name == b"create_time":
                fields["attributes"].append(b"create_time:" + asctime(int(attribute_value)))
            else:
                fields["attributes"].append(name + b"=" + attribute_value)
        elif label == b"recipient":
            words = dict(w.split(b"=", 1) for w in value.split(b" ")[1:] if b"=" in w)
            fields["recipients"].append((int(words[b"offset"]), words[b"status"] == b"done",
                                         unescape(value.split(b" ")[0])))
            if words[b"original"]:
                fields["originals"].append(unescape(words[b"original"]))
            if words[b"notify"] != b"0":
                fields["attributes"].append(b"notify_flags=" + words[b"notify"])
            if words[b"orcpt"]:
                fields["attributes"].append(b"dsn_orig_rcpt=" + unescape(words[b"orcpt"]))
        elif label == b"line":
            fields["lines"].append(unescape(value))
    return fields


def test_postfix_to_postern(samples, instance):
    names = sorted(os.listdir(samples))
    check(len(names) >= 5, "expected the Postfix samples in %s" % samples)
    for name in names:
        path = os.path.join(samples, name)
        oracle = postcat(instance.etc, "-o", path)
        plain = postcat(instance.etc, path)
        if not check(oracle.returncode == 0 and plain.returncode == 0,
                     "postcat cannot read the sample %s" % name):
            continue
        dump = queue_tool("dump", path, check_status=False)
        if not check(dump.returncode == 0, "%s: Postern cannot read it: %s" % (name, dump.stderr.decode())):
            continue
        want = parse_postcat(oracle.stdout, plain.stdout)
        got = parse_dump(dump.stdout)
        for key in ("sender", "full_name", "size", "arrival", "recipients", "originals", "lines"):
            check(got[key] == want[key],
                  "%s: %s differs: Postern %r, postcat %r" % (name, key, got[key], want[key]))
        check(sorted(got["attributes"]) == sorted(want["attributes"]),
              "%s: attributes differ: Postern %r, postcat %r" % (name, got["attributes"],
                                                                  want["attributes"]))


def test_done_marking(instance):
    message = MESSAGES["dsn"]
    _, path = instance.write(message)
    with open(path, "rb") as f:
        before = f.read()
    queue_tool("done", path, "1")
    with open(path, "rb") as f:
        after = f.read()
    changed = [i for i in range(len(before)) if before[i] != after[i]]
    records, offsets = message.records()
    second_r = [o for (t, _), o in zip(records, offsets) if t == "R"][1]
    check(changed == [second_r], "done marking changed %r, expected only [%d]" % (changed, second_r))
    shown = postcat(instance.etc, "-o", path).stdout
    check(b"%9d done_recipient: frank@remote.example" % second_r in shown,
          "postcat does not show the recipient done")
    check(b"recipient: erin@remote.example" in shown and b"recipient: gina@remote.example" in shown,
          "postcat lost the other recipients")


def test_corrupt_files(instance):
    bad_id, path = instance.write(MESSAGES["plain"])
    good_id, good_path = instance.write(MESSAGES["dsn"])
    with open(path, "rb") as f:
        data = f.read()
    active_bad = os.path.join(instance.spool, "active", bad_id)
    with open(active_bad, "wb") as f:
        f.write(data[:len(data) // 2])
    shutil.copy(good_path, os.path.join(instance.spool, "active", good_id))
    # postcat stops at a broken record, or shows no end marker when the cut fell between two.
    shown = postcat(instance.etc, active_bad)
    check(shown.returncode != 0 or b"MESSAGE FILE END" not in shown.stdout,
          "postcat accepted a truncated file")
    result = queue_tool("-c", instance.etc, "scan", "active")
    lines = result.stdout.decode().split("\n")
    check("corrupt " + bad_id in lines, "scan did not report %s corrupt: %r" % (bad_id, lines))
    check("ok " + good_id in lines, "scan did not accept %s: %r" % (good_id, lines))
    log = result.stderr.decode()
    check('warning: saving corrupt file "%s" from queue "active" to queue "corrupt"' % bad_id in log,
          "no Postfix-style quarantine line: %r" % log)
    check("warning: %s: " % active_bad in log, "the reason does not name the file: %r" % log)
    check(not os.path.exists(active_bad), "the corrupt file stayed in active/")
    check(os.path.exists(os.path.join(instance.spool, "corrupt", bad_id)), "nothing in corrupt/")
    check(os.path.exists(os.path.join(instance.spool, "active", good_id)), "a good file was moved")


def main():
    global QUEUE_TOOL
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    if not os.access(POSTCAT, os.X_OK):
        print("skipped: %s is not installed" % POSTCAT)
        sys.exit(77)
    QUEUE_TOOL = os.path.abspath(sys.argv[1])
    samples = os.path.abspath(sys.argv[2])
    base = tempfile.mkdtemp(prefix="postern-queue-compat.")
    try:
        instance = Instance(base, "main")
        for test in (lambda: test_postern_to_postfix(instance),
                     lambda: test_hashed_queues(base),
                     lambda: test_postfix_to_postern(samples, instance),
                     lambda: test_done_marking(instance),
                     lambda: test_corrupt_files(instance)):
            try:
                test()
            except Exception:
                failures.append(traceback.format_exc())
                print(traceback.format_exc(), file=sys.stderr)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    if failures:
        print("%d failure(s)" % len(failures))
        sys.exit(1)
    print("queue file compatibility: all checks passed")


if __name__ == "__main__":
    main()
