#!/usr/bin/env python3
"""System tests for the queue tools on a whole instance (mail_instance.py): sendmail puts
mail in the queue, postqueue -p and -j list it by the IDs of the files, postcat -q shows it,
and postsuper deletes, holds, releases, requeues and repairs it.

The instance runs master, pickup, cleanup, trivial-rewrite and showq but no qmgr, so mail
stays where the tools put it. Beside it runs a throwaway real Postfix 3.7 (pickup, cleanup,
trivial-rewrite, postlogd; no qmgr either): each postsuper operation of the seed (delete
one, delete ALL deferred, hold, release with -H ALL, requeue...) is done on both queues
and the reports must read the same once queue IDs are replaced by placeholders. postcat
is compared with Debian's /usr/sbin/postcat on the same queue file.

usage: queue_tools_test.py [TEST-NAME...]
"""
import json
import os
import pwd
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from test_runner import check, run_tests  # noqa: E402
from mail_instance import MailInstance, wait_until  # noqa: E402

SELECTED = sys.argv[1:]

REAL_SBIN = "/usr/sbin"
REAL_DAEMONS = "/usr/lib/postfix/sbin"
SERVICES = [
    "pickup    unix  n       -       n       1       1       pickup",
    "cleanup   unix  n       -       n       -       0       cleanup",
    "rewrite   unix  -       -       n       -       -       trivial-rewrite",
    "showq     unix  n       -       n       -       -       showq",
    "postlog   unix-dgram n  -       n       -       1       postlogd",
]
MAIN_CF = "myhostname = test.example\nmydomain = example\nmydestination =\n"
QUEUE_ID = re.compile(r"\b[0-9A-F]{10,}\b|\b[0-9A-Za-z]{12,}z[0-9A-Za-y]+\b")


def complete_files(queue_directory, queue):
    """{id: path} of the complete (owner-execute) files of a queue, subdirectories too."""
    found = {}
    for directory, _, names in os.walk(os.path.join(queue_directory, queue)):
        for name in names:
            path = os.path.join(directory, name)
            try:
                if os.stat(path).st_mode & 0o100:
                    found[name] = path
            except OSError:
                pass
    return found


def message(number):
    return f"Subject: message {number}\nFrom: a@x\n\nbody of message {number}\n".encode()


class Side:
    """One queue to work on: Postern's instance or the real Postfix beside it."""

    def __init__(self, name, queue_directory, config_directory, sbin):
        self.name = name
        self.queue_directory = queue_directory
        self.config_directory = config_directory
        self.sbin = sbin

    def run(self, program, *arguments, input=b"", user=None):
        argv = [os.path.join(self.sbin, program), *arguments]
        if user is not None:
            argv = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", *argv]
        env = dict(os.environ, MAIL_CONFIG=self.config_directory)
        return subprocess.run(argv, input=input, capture_output=True, timeout=60, env=env)

    def submit(self, count, arguments=("-f", "a@x", "b@y")):
        before = set(self.files("incoming"))
        for number in range(count):
            result = self.run("sendmail", *arguments, input=message(number))
            check(result.returncode == 0, f"{self.name} sendmail: {result}")
        return sorted(wait_until(lambda: self._new(before, count), timeout=30,
                                 what=f"{self.name}: {count} messages in incoming/"))

    def _new(self, before, count):
        new = set(self.files("incoming")) - before
        return new if len(new) >= count else None

    def files(self, queue):
        return complete_files(self.queue_directory, queue)

    def where(self, queue_id):
        for queue in ("maildrop", "incoming", "active", "deferred", "hold", "corrupt"):
            if queue_id in self.files(queue):
                return queue
        return None

    def postsuper(self, *arguments, input=b""):
        result = self.run("postsuper", *arguments, input=input)
        return result.returncode, result.stderr.decode(errors="replace")


class RealPostfix(Side):
    def __init__(self, root):
        self.root = os.path.join(root, "real-instance")
        config, queue, data = (os.path.join(self.root, name) for name in ("etc", "queue", "data"))
        for path in (config, queue, data):
            os.makedirs(path)
        shutil.chown(data, "postfix")
        self.maillog = os.path.join(self.root, "maillog")
        with open(os.path.join(config, "main.cf"), "w") as out:
            out.write(f"queue_directory = {queue}\ndata_directory = {data}\n"
                      f"command_directory = {REAL_SBIN}\ndaemon_directory = {REAL_DAEMONS}\n"
                      "mail_owner = postfix\nsetgid_group = postdrop\ninet_interfaces = "
                      "loopback-only\ninet_protocols = ipv4\ncompatibility_level = 3.7\n"
                      f"maillog_file = {self.maillog}\nmaillog_file_prefixes = {self.root}\n"
                      + MAIN_CF)
        with open(os.path.join(config, "master.cf"), "w") as out:
            out.write("\n".join(line for line in SERVICES if " showq" not in line) + "\n")
        super().__init__("real", queue, config, REAL_SBIN)
        result = subprocess.run([os.path.join(REAL_SBIN, "postfix"), "-c", config, "start"],
                                capture_output=True, text=True)
        check(result.returncode == 0, f"real postfix start: {result}")
        wait_until(self.master_pid, timeout=20, what="real Postfix master")

    def master_pid(self):
        try:
            with open(os.path.join(self.queue_directory, "pid", "master.pid")) as pid_file:
                return int(pid_file.read().strip())
        except (OSError, ValueError):
            return None

    def stop(self):
        pid = self.master_pid()
        if pid:
            subprocess.run([os.path.join(REAL_SBIN, "postfix"), "-c", self.config_directory,
                            "stop"], capture_output=True)
        shutil.rmtree(self.root, ignore_errors=True)


class World:
    """Postern's running instance and the real Postfix beside it."""

    def __enter__(self):
        self.instance = MailInstance(main_cf=MAIN_CF, services=SERVICES)
        self.instance.start()
        self.postern = Side("postern", self.instance.queue_directory,
                            self.instance.config_directory, self.instance.command_directory)
        self.real = RealPostfix(self.instance.root)
        return self

    def __exit__(self, *exc):
        self.real.stop()
        self.instance.stop()
        return False

    def both(self, operation):
        """operation(side) on both; the two results with queue IDs replaced by ID."""
        return [normalize(operation(side)) for side in (self.real, self.postern)]


def normalize(value):
    if isinstance(value, tuple):
        return tuple(normalize(item) for item in value)
    if isinstance(value, str):
        return QUEUE_ID.sub("ID", value)
    return value


def same(pair, what):
    real, postern = pair
    check(real == postern, f"{what}:\n  real:    {real!r}\n  postern: {postern!r}")
    return postern


# ---- sendmail and postqueue ----

def postqueue_ids(text):
    """The queue IDs of a postqueue -p listing, with their status marks."""
    return {match.group(1): match.group(2)
            for match in re.finditer(r"^([0-9A-Za-z]+)([*!]?)\s+\d+ ", text, re.M)}


def test_sendmail_and_postqueue_list_the_queue_files():
    with World() as world:
        postern = world.postern
        [plain] = postern.submit(1)
        before = set(postern.files("incoming"))
        result = postern.run("sendmail", "-t", input=b"To: t1@y\nCc: t2@y\nSubject: t\n\nbody\n")
        check(result.returncode == 0, f"sendmail -t: {result}")
        [extracted] = wait_until(lambda: set(postern.files("incoming")) - before or None,
                                 timeout=30, what="the -t message")
        listing = postern.run("postqueue", "-p")
        check(listing.returncode == 0, f"postqueue -p: {listing}")
        text = listing.stdout.decode()
        check(postqueue_ids(text) == {plain: "", extracted: ""}, f"postqueue -p:\n{text}")
        check(re.search(r"^-- \d+ Kbytes in 2 Requests\.$", text, re.M), text)
        objects = [json.loads(line) for line in postern.run("postqueue", "-j").stdout.splitlines()]
        by_id = {item["queue_id"]: item for item in objects}
        check(set(by_id) == {plain, extracted}, f"postqueue -j: {objects}")
        check(by_id[plain]["sender"] == "a@x" and by_id[plain]["queue_name"] == "incoming"
              and [r["address"] for r in by_id[plain]["recipients"]] == ["b@y"], by_id[plain])
        check(sorted(r["address"] for r in by_id[extracted]["recipients"]) == ["t1@y", "t2@y"],
              by_id[extracted])
        # The same fields as real Postfix's postqueue -j, for a message submitted the same way.
        [real_id] = world.real.submit(1)
        real_objects = [json.loads(line)
                        for line in world.real.run("postqueue", "-j").stdout.splitlines()]
        check(set(real_objects[0]) == set(by_id[plain]),
              f"fields: real {sorted(real_objects[0])} postern {sorted(by_id[plain])}")
        check(real_objects[0]["queue_id"] == real_id, real_objects)


# ---- postcat ----

def postcat_text(side, *arguments):
    result = side.run("postcat", *arguments)
    return result.returncode, result.stdout.decode(errors="replace")


def test_postcat_shows_the_message():
    with World() as world:
        [queue_id] = world.postern.submit(1)
        status, text = postcat_text(world.postern, "-q", queue_id)
        check(status == 0 and "sender: a@x" in text and "recipient: b@y" in text
              and "Subject: message 0" in text and "body of message 0" in text
              and f"*** ENVELOPE RECORDS incoming/{queue_id} ***" in text, text)
        # Real postcat, given the same file, shows the same layout.
        path = world.postern.files("incoming")[queue_id]
        real = subprocess.run([os.path.join(REAL_SBIN, "postcat"), "-c", world.real.config_directory,
                               path], capture_output=True)
        ours = world.postern.run("postcat", path)
        check(real.returncode == ours.returncode == 0, f"real {real} ours {ours}")
        same((real.stdout.decode(errors="replace"), ours.stdout.decode(errors="replace")),
             "postcat FILE")
        for option in ("-h", "-b", "-e"):
            real = subprocess.run([os.path.join(REAL_SBIN, "postcat"), option, "-c",
                                   world.real.config_directory, path], capture_output=True)
            same((real.stdout, world.postern.run("postcat", option, path).stdout),
                 f"postcat {option}")
        status, text = postcat_text(world.postern, "-q", "NOSUCHID1234")
        check(status != 0, f"postcat -q of a missing ID: {text}")


# ---- postsuper ----

def test_postsuper_requires_root():
    with World() as world:
        for side in (world.real, world.postern):
            result = side.run("postsuper", "-d", "ALL", user=pwd.getpwnam("nobody").pw_uid)
            check(result.returncode == 1 and b"postsuper: fatal: use of this command is reserved "
                  b"for the superuser" in result.stderr, f"{side.name}: {result}")


def plant_logs(side, queue_id):
    """A defer, bounce and trace log for the message, as the bounce daemon writes them."""
    owner = pwd.getpwnam("postfix")
    paths = []
    for queue, hashed in (("defer", True), ("bounce", False), ("trace", False)):
        directory = os.path.join(side.queue_directory, queue, *([queue_id[0]] if hashed else []))
        os.makedirs(directory, exist_ok=True)
        os.chown(directory, owner.pw_uid, owner.pw_gid)
        path = os.path.join(directory, queue_id)
        with open(path, "w") as log:
            log.write("<b@y>: reason=test\n")
        os.chown(path, owner.pw_uid, owner.pw_gid)
        paths.append(path)
    return paths


def test_postsuper_delete_one_and_its_logs():
    with World() as world:
        ids = {side.name: side.submit(3) for side in (world.real, world.postern)}
        logs = {side.name: plant_logs(side, ids[side.name][0])
                for side in (world.real, world.postern)}
        same(world.both(lambda side: side.postsuper("-d", ids[side.name][0])), "postsuper -d ID")
        check(world.postern.postsuper("-d", ids["postern"][0])[1] == "postsuper: Deleted: 0 messages\n",
              "deleting it again")
        for side in (world.real, world.postern):
            check(side.where(ids[side.name][0]) is None, f"{side.name}: still queued")
            check(not any(os.path.exists(path) for path in logs[side.name]),
                  f"{side.name}: logs left")
            check(all(side.where(queue_id) == "incoming" for queue_id in ids[side.name][1:]),
                  f"{side.name}: the others")
        report = same(world.both(lambda side: side.postsuper("-d", "-", input="\n".join(
            ids[side.name][1:]).encode() + b"\n")), "postsuper -d - (stdin)")
        check(report[1].endswith("postsuper: Deleted: 2 messages\n"), report)
        same(world.both(lambda side: side.postsuper("-d", "bad/id", "-d", "x.y")),
             "invalid IDs")
        same(world.both(lambda side: side.postsuper("-d", "ID", "nosuchqueue")), "bad queue")


def test_postsuper_hold_release_and_delete_all_deferred():
    with World() as world:
        ids = {side.name: side.submit(4) for side in (world.real, world.postern)}
        report = same(world.both(lambda side: side.postsuper("-h", ids[side.name][0])),
                      "postsuper -h ID")
        check(report == (0, "postsuper: ID: placed on hold\npostsuper: Placed on hold: 1 message\n"),
              report)
        listing = world.postern.run("postqueue", "-p").stdout.decode()
        check(postqueue_ids(listing).get(ids["postern"][0]) == "!", f"held mark:\n{listing}")
        report = same(world.both(lambda side: side.postsuper("-h", "ALL")), "postsuper -h ALL")
        check(report == (0, "postsuper: Placed on hold: 3 messages\n"), report)
        # The seed's "requeue all held messages": postsuper -H ALL
        report = same(world.both(lambda side: side.postsuper("-H", "ALL")), "postsuper -H ALL")
        check(report == (0, "postsuper: Released from hold: 4 messages\n"), report)
        for side in (world.real, world.postern):
            deferred = side.files("deferred")
            check(set(deferred) == set(ids[side.name]), f"{side.name} deferred: {deferred}")
            for queue_id, path in deferred.items():
                check(os.path.basename(os.path.dirname(path)) == queue_id[0],
                      f"{side.name}: {path} is not hashed")
        # One back to incoming's neighbour, hold, so that -d ALL deferred leaves it.
        same(world.both(lambda side: side.postsuper("-h", ids[side.name][3])), "hold one more")
        report = same(world.both(lambda side: side.postsuper("-d", "ALL", "deferred")),
                      "postsuper -d ALL deferred")
        check(report == (0, "postsuper: Deleted: 3 messages\n"), report)
        for side in (world.real, world.postern):
            check(not side.files("deferred") and list(side.files("hold")) == [ids[side.name][3]],
                  f"{side.name}: {side.files('hold')}")
        same(world.both(lambda side: side.postsuper("-H", "NOSUCHID12")), "-H of a missing ID")
        same(world.both(lambda side: side.postsuper("-d", "ALL")), "postsuper -d ALL")
        check(not world.postern.files("hold"), "everything deleted")


def test_postsuper_requeue():
    with World() as world:
        ids = {side.name: side.submit(2) for side in (world.real, world.postern)}
        report = same(world.both(lambda side: side.postsuper("-r", ids[side.name][0])),
                      "postsuper -r ID")
        check(report == (0, "postsuper: ID: requeued\npostsuper: Requeued: 1 message\n"), report)
        postern = world.postern
        # pickup takes the requeued file through cleanup again: a new queue file appears
        # and the old one is gone.
        wait_until(lambda: ids["postern"][0] not in postern.files("maildrop")
                   and len(postern.files("incoming")) == 2, timeout=30,
                   what="pickup of the requeued file", log=world.instance.log)
        [new] = set(postern.files("incoming")) - set(ids["postern"])
        wait_until(lambda: not world.real.files("maildrop") and len(world.real.files("incoming"))
                   == 2, timeout=90, what="real pickup of the requeued file")
        # cleanup creates the new file before it has written it all: wait until it is done.
        wait_until(lambda: "body of message 0" in postcat_text(postern, "-q", new)[1],
                   timeout=30, what="cleanup to finish the requeued file")
        status, text = postcat_text(postern, "-q", new)
        check("sender: a@x" in text and "body of message 0" in text, text)
        report = same(world.both(lambda side: side.postsuper("-r", "ALL")), "postsuper -r ALL")
        check(report == (0, "postsuper: Requeued: 2 messages\n"), report)


def test_postsuper_structure_repair():
    with World() as world:
        ids = {side.name: side.submit(3) for side in (world.real, world.postern)}
        owner = pwd.getpwnam("postfix")
        for side in (world.real, world.postern):
            first, second, third = ids[side.name]
            files = side.files("incoming")
            queue = side.queue_directory
            # Wrong hashed subdirectory of deferred.
            wrong = "0" if first[0] != "0" else "1"
            os.makedirs(os.path.join(queue, "deferred", wrong), exist_ok=True)
            os.chown(os.path.join(queue, "deferred", wrong), owner.pw_uid, owner.pw_gid)
            os.rename(files[first], os.path.join(queue, "deferred", wrong, first))
            # A subdirectory in a queue that is not hashed.
            os.makedirs(os.path.join(queue, "incoming", "B"))
            os.chown(os.path.join(queue, "incoming", "B"), owner.pw_uid, owner.pw_gid)
            os.rename(files[second], os.path.join(queue, "incoming", "B", second))
            # A name that does not match the file's inode (a queue restored from a copy).
            copy = os.path.join(queue, "incoming", third[:5] + "ABCDEF")
            shutil.copy2(files[third], copy)
            os.chown(copy, owner.pw_uid, owner.pw_gid)
            os.unlink(files[third])
            # A file whose name is no queue ID.
            with open(os.path.join(queue, "incoming", "not.an.id"), "w"):
                pass
        same(world.both(lambda side: side.postsuper("-s")), "postsuper -s")
        for side in (world.real, world.postern):
            first, second, third = ids[side.name]
            deferred = side.files("deferred")
            check(list(deferred) == [first]
                  and os.path.basename(os.path.dirname(deferred[first])) == first[0],
                  f"{side.name}: {deferred}")
            incoming = side.files("incoming")
            check(second in incoming and not os.path.exists(
                os.path.join(side.queue_directory, "incoming", "B")), f"{side.name}: {incoming}")
            renamed = [name for name in incoming if name.startswith(third[:5]) and name != second]
            check(len(renamed) == 1, f"{side.name}: {incoming}")
            inode = os.stat(incoming[renamed[0]]).st_ino
            check(renamed[0] == third[:5] + f"{inode:X}", f"{side.name}: {renamed} inode {inode:X}")
        # A second run finds nothing to do but the bogus name.
        report = same(world.both(lambda side: side.postsuper("-s")), "postsuper -s again")
        check(report == (0, "postsuper: warning: bogus file name: incoming/not.an.id\n"), report)
        # hash_queue_depth = 2: deferred files move one level down, and back.
        for depth in ("2", "1"):
            for side in (world.real, world.postern):
                subprocess.run([os.path.join(side.sbin, "postconf"), "-c", side.config_directory,
                                "-e", f"hash_queue_depth = {depth}"], check=True)
            same(world.both(lambda side: side.postsuper("-s", "deferred")), f"depth {depth}")
            for side in (world.real, world.postern):
                [(queue_id, path)] = side.files("deferred").items()
                relative = os.path.relpath(path, os.path.join(side.queue_directory, "deferred"))
                check(relative.count("/") == int(depth), f"{side.name} depth {depth}: {relative}")
                top = os.path.join(side.queue_directory, "deferred")
                deeper = [directory for directory, _, _ in os.walk(top)
                          if os.path.relpath(directory, top).count("/") >= int(depth)]
                check(not deeper, f"{side.name}: subdirectories left below depth {depth}: {deeper}")


def queue_states(side, ids):
    """[(queue, mode)] of the messages, in the order of `ids` (so both sides compare)."""
    states = []
    for queue_id in ids:
        queue = side.where(queue_id)
        mode = os.stat(side.files(queue)[queue_id]).st_mode & 0o7777 if queue else None
        states.append((queue, oct(mode) if mode is not None else None))
    return states


def test_postsuper_forced_expiry():
    with World() as world:
        ids = {side.name: side.submit(5) for side in (world.real, world.postern)}

        def on_both(*arguments, input=lambda side: b""):
            return same(world.both(lambda side: side.postsuper(
                *[ids[side.name][a] if isinstance(a, int) else a for a in arguments],
                input=input(side))), f"postsuper {arguments}")

        def states(what):
            return same([queue_states(side, ids[side.name]) for side in (world.real,
                                                                           world.postern)], what)
        on_both("-h", 0)
        # -e leaves a held message on hold, marked (group-execute, Postfix's expire bit).
        report = on_both("-e", 0)
        check(report == (0, "postsuper: ID: expired\npostsuper: Force-expired: 1 message\n"),
              report)
        check(states("after -e")[0] == ("hold", "0o710"), "held and marked")
        # Marked already: found, not counted.
        on_both("-e", 1)
        report = on_both("-e", 1)
        check(report == (0, "postsuper: Force-expired: 0 messages\n"), report)
        on_both("-e", "all")  # ALL in upper case only
        on_both("-e", "ALL", "deferred")
        # -f releases too; the message keeps its mark in deferred/.
        report = on_both("-f", 0)
        check(report == (0, "postsuper: ID: released from hold\npostsuper: Force-expired: 0 "
                            "messages\npostsuper: Released from hold: 1 message\n"), report)
        check(states("after -f")[0] == ("deferred", "0o710"), "released and marked")
        on_both("-h", 2)
        report = on_both("-f", "ALL")
        check(report == (0, "postsuper: Force-expired: 3 messages\n"
                            "postsuper: Released from hold: 1 message\n"), report)
        states("after -f ALL")
        on_both("-h", 3, "-h", 4)
        on_both("-H", 3, "hold")
        on_both("-e", "-", input=lambda side: (ids[side.name][4] + "\nbad/x\nNOSUCH1234\n"
                                               ).encode())
        # By-ID requests are done in command-line order.
        on_both("-d", 1, "-H", 4, "-e", 4, "-h", 3)
        on_both("-h", 2, "-f", 3, "-e", "NOSUCH1234")
        on_both("-f", "ALL", "hold")
        states("at the end")
        # postqueue marks a message forced to expire with '#' (held ones with '!').
        listing = world.postern.run("postqueue", "-p").stdout.decode()
        for queue_id in ids["postern"]:
            if world.postern.where(queue_id) == "deferred":
                check(re.search(rf"^{queue_id}# ", listing, re.M), f"# mark:\n{listing}")
        check(listing.count("# ") >= 1, listing)
        for side in (world.real, world.postern):
            objects = [json.loads(line) for line in side.run("postqueue", "-j").stdout.splitlines()]
            expired = {item["queue_id"]: item["forced_expire"] for item in objects}
            check(expired and all(expired.values()), f"{side.name}: postqueue -j {expired}")
        same(world.both(lambda side: side.postsuper("-x")), "usage")


LONG_ID_DIGITS = "0123456789BCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz"


def long_id_microseconds(queue_id):
    """The microseconds of a long queue ID (base 52, the four digits before 'z')."""
    value = 0
    for digit in queue_id[queue_id.rindex("z") - 4:queue_id.rindex("z")]:
        value = value * 52 + LONG_ID_DIGITS.index(digit)
    return value


def test_postsuper_renames_long_ids_when_they_are_turned_off():
    with World() as world:
        sides = (world.real, world.postern)

        def set_long_ids(value, reload):
            for side in sides:
                subprocess.run([os.path.join(side.sbin, "postconf"), "-c", side.config_directory,
                                "-e", f"enable_long_queue_ids = {value}"], check=True)
                result = side.run("postfix", "reload") if reload else None
                check(not result or result.returncode == 0, f"{side.name} reload: {result}")
        set_long_ids("yes", reload=True)
        time.sleep(1)
        ids = {side.name: side.submit(1) for side in sides}
        for side in sides:
            check("z" in ids[side.name][0], f"{side.name}: not a long ID: {ids[side.name]}")
        # Not reloaded: the daemons would not mind, but postsuper reads main.cf itself.
        set_long_ids("no", reload=False)
        report = same(world.both(lambda side: side.postsuper("-s")), "postsuper -s, long to short")
        check(report == (0, "postsuper: Renamed to match inode number: 1 message\n"
                            "postsuper: warning: QUEUE FILE NAMES WERE CHANGED TO MATCH INODE "
                            "NUMBERS\n"), report)
        for side in sides:
            [(name, path)] = side.files("incoming").items()
            expected = f"{long_id_microseconds(ids[side.name][0]):05X}{os.stat(path).st_ino:X}"
            check(name == expected, f"{side.name}: {ids[side.name][0]} became {name}, "
                                    f"expected {expected}")


def test_postsuper_purges_old_temporary_files():
    with World() as world:
        postern = world.postern
        incoming = os.path.join(postern.queue_directory, "incoming")
        owner = pwd.getpwnam("postfix")
        for name, age in (("ABCDE12345", 2 * 86400), ("BCDEF12345", 60)):
            path = os.path.join(incoming, name)
            with open(path, "w") as out:
                out.write("unfinished")
            os.chown(path, owner.pw_uid, owner.pw_gid)
            os.chmod(path, 0o600)
            os.utime(path, (time.time() - age, time.time() - age))
        status, report = postern.postsuper("-p")
        check(status == 0 and report == "", report)
        check(sorted(os.listdir(incoming)) == ["BCDEF12345"], os.listdir(incoming))


def main():
    return run_tests(globals(), SELECTED)


if __name__ == "__main__":
    sys.exit(main())
