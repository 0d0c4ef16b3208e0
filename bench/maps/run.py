#!/usr/bin/env python3
"""Lookup-table benchmark, Postern and real Postfix side by side in one run.

Builds the same tables with both postmaps (hash and btree: 100,000 entries; cidr and
regexp: 1,000 rules), then measures
  - build time of a 100k-entry table (postmap FILE), each tool;
  - lookups through `postmap -q - TABLE` (100,000 keys on stdin, half of them misses),
    each tool: what an administrator's script pays, process start included;
  - Postern's in-process lookup latency (maps_bench), what a daemon pays per lookup.
Prints a Markdown table for bench/README.md.

usage: bench/maps/run.py BUILD_DIR   (as root or any user; needs Debian's postfix installed)
"""
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

ENTRIES = 100_000
RULES = 1_000
KEYS = 100_000


def write_tables(directory):
    rng = random.Random(7)
    with open(os.path.join(directory, "table"), "w") as table:
        for i in range(ENTRIES):
            table.write(f"user{i}@example{i % 997}.com smtp:[relay{i % 13}.example]:587\n")
    with open(os.path.join(directory, "cidr"), "w") as table:
        for i in range(RULES):
            table.write(f"10.{i // 256}.{i % 256}.0/24 REJECT rule {i}\n")
    with open(os.path.join(directory, "regexp"), "w") as table:
        for i in range(RULES):
            table.write(f"/^user{i}@example{i % 997}\\.com$/ OK rule {i}\n")
    keys = {}
    keys["table"] = [f"user{rng.randrange(2 * ENTRIES)}@example{rng.randrange(997)}.com"
                     if rng.random() < 0.5 else
                     (lambda i: f"user{i}@example{i % 997}.com")(rng.randrange(ENTRIES))
                     for _ in range(KEYS)]
    keys["cidr"] = [f"10.{rng.randrange(8)}.{rng.randrange(256)}.{rng.randrange(256)}"
                    for _ in range(KEYS)]
    keys["regexp"] = [(lambda i: f"user{i}@example{i % 997}.com")(rng.randrange(2 * RULES))
                      for _ in range(KEYS)]
    for name, values in keys.items():
        with open(os.path.join(directory, f"keys.{name}"), "w") as out:
            out.write("\n".join(values) + "\n")


def timed(command, stdin_path=None):
    start = time.perf_counter()
    with open(stdin_path or os.devnull) as stdin:
        result = subprocess.run(command, stdin=stdin, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode not in (0, 1):
        sys.exit(f"{' '.join(command)} failed: {result.stderr}")
    return elapsed


def main():
    build = os.path.abspath(sys.argv[1])
    postern_postmap = os.path.join(build, "tools/postmap/postmap")
    maps_bench = os.path.join(build, "bench/maps_bench")
    work = tempfile.mkdtemp(prefix="postern-bench-maps-")
    config = os.path.join(work, "etc")
    os.makedirs(config)
    with open(os.path.join(config, "main.cf"), "w") as main_cf:
        main_cf.write("compatibility_level = 3.7\n")
    tools = {"Postfix 3.7": ["/usr/sbin/postmap", "-c", config],
             "Postern": [postern_postmap, "-c", config]}
    rows = []
    for tool, command in tools.items():
        directory = os.path.join(work, tool.split()[0].lower())
        os.makedirs(directory)
        write_tables(directory)
        table = os.path.join(directory, "table")
        for kind in ("hash", "btree"):
            build_seconds = min(timed(command + [f"{kind}:{table}"]) for _ in range(3))
            query_seconds = min(timed(command + ["-q", "-", f"{kind}:{table}"],
                                      os.path.join(directory, "keys.table")) for _ in range(3))
            rows.append((tool, kind, f"{build_seconds * 1000:.0f} ms",
                         f"{query_seconds / KEYS * 1e9:.0f} ns"))
        for kind in ("cidr", "regexp"):
            query_seconds = min(timed(command + ["-q", "-", f"{kind}:{directory}/{kind}"],
                                      os.path.join(directory, f"keys.{kind}")) for _ in range(3))
            rows.append((tool, kind, "-", f"{query_seconds / KEYS * 1e9:.0f} ns"))
    print("| tool | table | build 100k entries | per lookup via `postmap -q -` |")
    print("| --- | --- | --- | --- |")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print()
    print("| Postern in process (maps_bench) | ns per lookup |")
    print("| --- | --- |")
    directory = os.path.join(work, "postern")
    for kind, name in (("hash", "table"), ("btree", "table"), ("cidr", "cidr"),
                       ("regexp", "regexp")):
        if name == "table":  # hash and btree share the source: build the one measured
            subprocess.run(tools["Postern"] + [f"{kind}:{directory}/{name}"], check=True)
        result = subprocess.run([maps_bench, f"{kind}:{directory}/{name}",
                                 os.path.join(directory, f"keys.{name}")],
                                capture_output=True, text=True)
        if result.returncode != 0:
            sys.exit(f"maps_bench {kind}: {result.stderr}")
        output = result.stdout
        ns = output.split("ns_per_lookup=")[1].split()[0]
        print(f"| {kind} ({'100k entries' if name == 'table' else '1k rules'}) | {ns} |")
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
