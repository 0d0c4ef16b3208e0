"""What cleanup_test.py compares between real Postfix's and Postern's queue files: the
output of real Postfix's `postcat -ehb`, less what differs between any two runs (file
paths, sizes, times, generated Message-Id and Date values) and less the Received: header
that Postfix's pickup adds (Postern's test sends to cleanup directly)."""
import re

GENERATED_ID = re.compile(r"^((?:Resent-)?Message-Id: <)\d{14}\.[0-9A-Za-z]+@host\.example\.com>$")
GENERATED_DATE = re.compile(r"^((?:Resent-)?Date: )\w{3}, [ \d]\d \w{3} \d{4} \d\d:\d\d:\d\d [+-]\d{4} \(\w+\)$")
DROPPED = ("message_size:", "message_arrival_time:", "create_time:")


def normalize(postcat_output):
    lines = postcat_output.split("\n")
    out = []
    in_content = False
    first_content = 0
    for line in lines:
        if line.startswith("*** "):
            name = re.sub(r" /\S+ \*\*\*$", " ***", line)
            out.append(name)
            in_content = "MESSAGE CONTENTS" in name
            first_content = 0
            continue
        if line.startswith(DROPPED):
            continue
        if in_content:
            first_content += 1
            # pickup's Received: header (two lines) at the very top.
            if first_content == 1 and line.startswith("Received: by host.example.com (Postfix"):
                first_content = -100
                continue
            if first_content == -99 and line.startswith("\tid "):
                continue
        line = GENERATED_ID.sub(r"\1GENERATED>", line)
        line = GENERATED_DATE.sub(r"\1GENERATED", line)
        out.append(line)
    while out and out[-1] == "":
        out.pop()
    return "\n".join(out) + "\n"
