"""A DNS server on loopback for system tests: real dnsmasq (Debian's dnsmasq-base) on
127.0.0.1 and a port picked here, answering only from the records the test gives.

    with Dnsmasq(mx=[("example.test", "mx1.example.test", 10)],
                 hosts=[("mx1.example.test", "127.0.0.2")]) as dns:
        main_cf = f"postern_dns_servers = {dns.server}\\n"

dnsmasq runs with --no-resolv --no-hosts and no configuration file, so nothing comes from
/etc/resolv.conf or /etc/hosts, and every zone the test names is local: names it does not
list are NXDOMAIN, listed names without the asked type are "no data". Record kinds:

    mx      (domain, host, preference)       MX
    null_mx domain                           "MX 0 ." (RFC 7505)
    hosts   (name, address...)               A/AAAA, and PTR for each address
    a       (name, address)                  A/AAAA only, no PTR
    ptr     (address, name)                  PTR only
    txt     (name, text...)                  TXT
    cname   (alias, target)                  CNAME
    servfail domain                          SERVFAIL for the domain and below: dnsmasq
                                             forwards it to ServfailServer (below), whose
                                             SERVFAIL it passes on
    refused domain                           REFUSED for the domain and below: dnsmasq
                                             forwards it to 127.0.0.1#0, cannot send, and
                                             answers REFUSED itself
    local   domain                           extra zones that are NXDOMAIN unless listed

dnsmasq never answers SERVFAIL of its own (an unreachable upstream gives REFUSED, a silent
one no answer at all), hence ServfailServer: a few lines of Python on a loopback UDP port
that answer every query with SERVFAIL. SilentServer reads queries and never answers, for
timeouts. It is stopped by PID (the process this module started), never by name. query()
is a small DNS client for readiness checks and for tests that want the raw answer code.
"""
import ipaddress
import os
import random
import shutil
import socket
import struct
import subprocess
import tempfile
import threading
import time

DNSMASQ = "/usr/sbin/dnsmasq"

RCODE_NAMES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP",
               5: "REFUSED"}
TYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "MX": 15, "TXT": 16, "AAAA": 28}


def free_udp_port():
    """A UDP and TCP port nobody listens on right now on 127.0.0.1."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            port = udp.getsockname()[1]
            with socket.socket() as tcp:
                try:
                    tcp.bind(("127.0.0.1", port))
                except OSError:
                    continue
            return port
    raise RuntimeError("no free port")


def reverse_name(address):
    return ipaddress.ip_address(address).reverse_pointer


def query(server, port, name, rtype="A", timeout=2.0):
    """Sends one query over UDP; returns (rcode name, answer count)."""
    ident = random.randrange(65536)
    header = struct.pack(">HHHHHH", ident, 0x0100, 1, 0, 0, 0)
    question = b"".join(bytes([len(label)]) + label.encode() for label in name.split(".") if label)
    packet = header + question + b"\0" + struct.pack(">HH", TYPES[rtype], 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(packet, (server, port))
        while True:
            reply, _ = s.recvfrom(65535)
            got_id, flags, _, ancount, _, _ = struct.unpack(">HHHHHH", reply[:12])
            if got_id == ident:
                return RCODE_NAMES.get(flags & 0xF, str(flags & 0xF)), ancount


class _UdpServer:
    """A UDP socket on 127.0.0.1 and a thread that handles each datagram."""

    def __init__(self, address="127.0.0.1", port=0):
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.bind((address, port))
        self.socket.settimeout(0.2)
        self.port = self.socket.getsockname()[1]
        self.server = f"{address}:{self.port}"
        self.queries = 0
        self._running = True
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        while self._running:
            try:
                packet, peer = self.socket.recvfrom(65535)
            except (socket.timeout, OSError):
                continue
            self.queries += 1
            reply = self.answer(packet)
            if reply:
                self.socket.sendto(reply, peer)

    def answer(self, packet):
        return None

    def stop(self):
        self._running = False
        self._thread.join()
        self.socket.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


class ServfailServer(_UdpServer):
    """Answers every query with SERVFAIL (the question echoed, no records)."""

    def answer(self, packet):
        if len(packet) < 12:
            return None
        ident, flags = struct.unpack(">HH", packet[:4])
        reply_flags = 0x8000 | (flags & 0x0100) | 0x0080 | 2  # QR, RD copied, RA, SERVFAIL
        return struct.pack(">HHHHHH", ident, reply_flags, 1, 0, 0, 0) + packet[12:]


class SilentServer(_UdpServer):
    """Reads queries and never answers: every lookup through it times out."""


class Dnsmasq:
    def __init__(self, mx=(), null_mx=(), hosts=(), a=(), ptr=(), txt=(), cname=(),
                 servfail=(), refused=(), local=(), address="127.0.0.1"):
        self.address = address
        self.port = free_udp_port()
        self.server = f"{address}:{self.port}"
        self.directory = tempfile.mkdtemp(prefix="postern-dnsmasq-")
        self.log_path = os.path.join(self.directory, "dnsmasq.log")
        self.process = None
        zones = {"test", "in-addr.arpa", "ip6.arpa"} | set(local)
        arguments = [
            DNSMASQ, "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv",
            "--no-hosts", "--no-poll", "--bind-interfaces", f"--listen-address={address}",
            f"--port={self.port}", "--pid-file=", "--user=root", "--cache-size=0",
            "--log-queries", f"--log-facility={self.log_path}",
        ]
        for domain, host, preference in mx:
            arguments.append(f"--mx-host={domain},{host},{preference}")
            zones.add(self._parent(domain))
        for domain in null_mx:
            # MX rdata: preference 0, the root name.
            arguments.append(f"--dns-rr={domain},15,000000")
        for name, *addresses in hosts:
            arguments.append(f"--host-record={name},{','.join(addresses)}")
        for name, addr in a:
            # --host-record would add a PTR too: an address record alone is a --dns-rr.
            parsed = ipaddress.ip_address(addr)
            rr_type = 1 if parsed.version == 4 else 28
            arguments.append(f"--dns-rr={name},{rr_type},{parsed.packed.hex()}")
        for addr, name in ptr:
            arguments.append(f"--ptr-record={reverse_name(addr)},{name}")
        for name, *texts in txt:
            # One character-string per text; dnsmasq splits on commas.
            arguments.append(f"--txt-record={name},{','.join(texts)}")
        for alias, target in cname:
            arguments.append(f"--cname={alias},{target}")
        self.servfail_server = ServfailServer() if servfail else None
        for domain in servfail:
            arguments.append(f"--server=/{domain}/127.0.0.1#{self.servfail_server.port}")
        for domain in refused:
            arguments.append(f"--server=/{domain}/127.0.0.1#0")
        for zone in sorted(zones):
            arguments.append(f"--local=/{zone}/")
        self.arguments = arguments

    @staticmethod
    def _parent(domain):
        return domain.split(".")[-1]

    def start(self):
        self.process = subprocess.Popen(self.arguments, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("dnsmasq exited: %s" % self.process.stderr.read().decode())
            try:
                query(self.address, self.port, "ready.invalid", "A", timeout=0.2)
                return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("dnsmasq did not answer")

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process is not None and self.process.stderr:
            self.process.stderr.close()
        self.process = None
        if self.servfail_server is not None:
            self.servfail_server.stop()
            self.servfail_server = None
        shutil.rmtree(self.directory, ignore_errors=True)

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def query(self, name, rtype="A"):
        return query(self.address, self.port, name, rtype)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
