#!/usr/bin/env python3
"""Captures the reference output for cleanup_test.py from a throwaway real Postfix 3.7.

Usage: capture.py CONFIG_DIR CASES_DIR

CONFIG_DIR is a running real Postfix instance with myhostname = host.example.com,
mydomain = example.com, myorigin = $myhostname, mydestination empty, append_dot_mydomain
= no (compatibility_level 3.6), smtputf8_enable = no, and a master.cf with only pickup,
cleanup, trivial-rewrite and postlog (no qmgr: queue files stay in incoming/). Each case
NAME.msg (the message) with NAME.json ({"sender", "recipients", "fullname", and
"extract": the recipients sendmail -t takes from the headers}) is submitted with the real
sendmail (-t when "extract" is given); the queue file it leaves in incoming/ is shown
with the real postcat -ehb, normalized (normalize.py) and written to NAME.ref.
"""
import glob
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from normalize import normalize  # noqa: E402


def queue_directory(config):
    return subprocess.run(["postconf", "-c", config, "-h", "queue_directory"],
                          capture_output=True, text=True, check=True).stdout.strip()


def capture(config, case_path):
    with open(case_path[:-4] + ".json") as f:
        args = json.load(f)
    with open(case_path, "rb") as f:
        message = f.read()
    queue = queue_directory(config)
    argv = ["/usr/sbin/sendmail", "-F", args.get("fullname", ""), "-f", args["sender"] or "<>"]
    if "extract" in args:
        argv.append("-t")
    argv += args["recipients"]
    subprocess.run(argv, input=message, env=dict(os.environ, MAIL_CONFIG=config), check=True)
    for _ in range(200):
        files = [f for f in glob.glob(queue + "/incoming/*") if os.stat(f).st_mode & 0o100]
        if files:
            break
        time.sleep(0.05)
    else:
        raise SystemExit(f"{case_path}: no queue file")
    time.sleep(0.1)
    shown = subprocess.run(["postcat", "-c", config, "-ehb", files[0]], capture_output=True,
                           check=True).stdout.decode("latin-1")
    os.unlink(files[0])
    with open(case_path[:-4] + ".ref", "w", encoding="latin-1") as f:
        f.write(normalize(shown))


def main():
    config, cases = sys.argv[1], sys.argv[2]
    for case in sorted(glob.glob(os.path.join(cases, "*.msg"))):
        capture(config, case)
        print("captured", os.path.basename(case))


if __name__ == "__main__":
    main()
