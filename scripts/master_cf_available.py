#!/usr/bin/env python3
"""Reads a master.cf on stdin and writes it to stdout with every service whose command is
not in DAEMON_DIRECTORY commented out as "# not built yet: ...". Used by scripts/run while
some of Postern's daemons are still being written (smtpd, smtp), so the demo instance
starts cleanly and delivers locally with the daemons that exist.

usage: master_cf_available.py DAEMON_DIRECTORY <master.cf >master.cf.out
"""
import os
import sys


def main():
    daemon_directory = sys.argv[1]
    commenting = False
    for line in sys.stdin:
        if line.strip() and not line[0].isspace() and not line.startswith("#"):
            fields = line.split()
            command = fields[7] if len(fields) > 7 else ""
            path = command if "/" in command else os.path.join(daemon_directory, command)
            commenting = not os.access(path, os.X_OK)
            if commenting:
                line = "# not built yet: " + line
        elif commenting and line.strip() and line[0].isspace():
            line = "# not built yet: " + line
        elif not line[0:1].isspace():
            commenting = commenting and not line.strip() == ""
        sys.stdout.write(line)


if __name__ == "__main__":
    main()
