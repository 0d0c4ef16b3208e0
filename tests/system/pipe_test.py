#!/usr/bin/env python3
"""The pipe(8) delivery agent on a whole instance: transport_maps routes pipe.example to a
pipe service (master.cf `mypipe unix - n n - - pipe flags=DFOR user=nobody argv=...`)
whose command is a shell script writing its arguments, its identity and its standard
input to files. Checks: the argv macros (${sender}, ${recipient}, ${user}, ${extension},
${domain}, ${nexthop}, ${mailbox}, ${queue_id}, ${size}), the From_/Return-Path/
X-Original-To/Delivered-To lines the flags ask for, user= (the script runs as nobody),
"status=sent (delivered via mypipe service)", exit 75 deferred with the script's output
in postqueue -p, exit 67 bounced with a DSN to the sender, mypipe_time_limit passed
"Command time limit exceeded".

usage: pipe_test.py [TEST-NAME...]
"""
import os
import pwd
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from test_runner import check, run_tests  # noqa: E402
from mail_instance import wait_until  # noqa: E402
from delivery_test import DeliveryInstance, message  # noqa: E402

SELECTED = sys.argv[1:]

SCRIPT = """\
n=$(date +%s%N)
case "$2" in
  tempfail*) echo "4.3.0 try again later please"; exit 75 ;;
  nouser*) echo "no such mailbox here"; exit 67 ;;
  slow*) sleep 30 ;;
esac
for word in "$@"; do echo "$word"; done > {out}/args.$n
id -u > {out}/uid.$n
cat > {out}/stdin.$n
"""

MASTER = ("mypipe unix - n n - - pipe flags=DFOR user=nobody argv={out}/pipe.sh "
          "${{sender}} ${{recipient}} ${{user}} ${{extension}} ${{domain}} ${{nexthop}} "
          "${{mailbox}} ${{queue_id}} ${{size}}\n")

MAIN = """\
transport_maps = texthash:{config}/transport
mypipe_destination_recipient_limit = 1
mypipe_time_limit = 3s
minimal_backoff_time = 300s
"""


def pipe_instance():
    instance = DeliveryInstance(main_cf="")
    instance.script("pipe.sh", SCRIPT)
    with open(os.path.join(instance.config_directory, "transport"), "w") as transport:
        transport.write("pipe.example mypipe:\n")
    with open(os.path.join(instance.config_directory, "main.cf"), "a") as main_cf:
        main_cf.write(MAIN.format(config=instance.config_directory))
    with open(os.path.join(instance.config_directory, "master.cf"), "a") as master_cf:
        master_cf.write(MASTER.format(out=instance.out))
    return instance


def outputs(instance, prefix):
    return sorted(name for name in os.listdir(instance.out) if name.startswith(prefix))


def read(instance, name):
    with open(os.path.join(instance.out, name), "rb") as f:
        return f.read()


def test_argv_headers_identity_and_status():
    with pipe_instance() as instance:
        instance.start()
        instance.sendmail(["-f", "postern-dlv3@test.example", "joe+box@pipe.example"],
                          message("piped", b"hello pipe\n"))
        wait_until(lambda: outputs(instance, "stdin.") and read(
            instance, outputs(instance, "stdin.")[0]).endswith(b"hello pipe\n"),
            what="the script's stdin", log=instance.log)
        args = read(instance, outputs(instance, "args.")[0]).decode().splitlines()
        check(args[:7] == ["postern-dlv3@test.example", "joe+box@pipe.example", "joe", "box",
                           "pipe.example", "pipe.example", "joe+box"], f"argv: {args}")
        check(re.fullmatch(r"[0-9A-Za-z]+", args[7]) is not None, f"queue id: {args}")
        check(int(args[8]) > 0, f"size: {args}")
        uid = read(instance, outputs(instance, "uid.")[0]).decode().strip()
        check(uid == str(pwd.getpwnam("nobody").pw_uid), f"uid {uid}")
        lines = read(instance, outputs(instance, "stdin.")[0]).split(b"\n")
        check(lines[0].startswith(b"From postern-dlv3@test.example  "), f"From_: {lines[0]!r}")
        check(lines[1] == b"Return-Path: <postern-dlv3@test.example>", f"{lines[1]!r}")
        check(lines[2] == b"X-Original-To: joe+box@pipe.example", f"{lines[2]!r}")
        check(lines[3] == b"Delivered-To: joe+box@pipe.example", f"{lines[3]!r}")
        wait_until(lambda: "status=sent (delivered via mypipe service)" in instance.log(),
                   what="the sent status line", log=instance.log)
        check("relay=mypipe" in instance.log(), instance.log())


def test_exit_codes_defer_bounce_and_time_limit():
    with pipe_instance() as instance:
        instance.start()
        started = time.time()
        sender = ["-f", "postern-dlv3@test.example"]
        instance.sendmail(sender + ["tempfail@pipe.example"], message("temp", b"x\n"))
        instance.sendmail(sender + ["nouser@pipe.example"], message("perm", b"x\n"))
        instance.sendmail(sender + ["slow@pipe.example"], message("slow", b"x\n"))
        wait_until(lambda: "try again later please" in instance.postqueue("-p"),
                   what="the deferral reason in postqueue -p", log=instance.log)
        check("status=deferred (try again later please)" in instance.log(), instance.log())
        wait_until(lambda: "Command time limit exceeded" in instance.log(), timeout=40,
                   what="the time limit bounce", log=instance.log)
        bounces = instance.wait_mail("postern-dlv3", count=2, timeout=40)
        text = b"\n".join(bounces).decode(errors="replace")
        check("nouser@pipe.example" in text and "5.1.1" in text, text)
        check("no such mailbox here" in text, text)
        check("slow@pipe.example" in text and "5.3.0" in text, text)
        check(time.time() - started < 25, f"the time limit did not kill it\n{instance.log()}")
        check(re.search(r"nouser@pipe\.example.*status=bounced \(user unknown\. Command "
                        r"output: no such mailbox here", instance.log()), instance.log())


def main():
    return run_tests(globals(), SELECTED)


if __name__ == "__main__":
    sys.exit(main())
