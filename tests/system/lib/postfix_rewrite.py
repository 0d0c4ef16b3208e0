"""Real Postfix 3.7's trivial-rewrite and Postern's answers for the same configuration, for
the address rewriting and resolution compatibility tests.

PostfixRewrite runs a throwaway real Postfix instance: its own configuration directory
(main.cf as given, master.cf with only the rewrite service and postlogd), its own queue
and data directories in a temporary folder, started with the real `postfix -c DIR start`
and stopped by its master's PID. It talks to /usr/lib/postfix/sbin/trivial-rewrite through
queue_directory/private/rewrite in Postfix's own attribute protocol, as Postfix's clients
do: each attribute is "name NUL value NUL", a list ends with an empty name (NUL); the
server first announces {protocol = trivial_rewrite_protocol}; requests are
{request = rewrite, rule, address} and {request = resolve|verify, sender, address};
replies are {flags, address} and {flags, transport, nexthop, recipient, flags}.

PosternResolve runs Postern's postresolve -b with the same configuration directory
(tools/postresolve: the library in-process), or with -S against a Postern instance's
trivial-rewrite service.
"""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

POSTFIX = "/usr/sbin/postfix"
POSTFIX_TRIVIAL_REWRITE = "/usr/lib/postfix/sbin/trivial-rewrite"


def postfix_installed():
    return os.path.exists(POSTFIX) and os.path.exists(POSTFIX_TRIVIAL_REWRITE)


def escape(field):
    """postresolve's batch escaping of one field (bytes or str in latin-1)."""
    if isinstance(field, str):
        field = field.encode("latin-1")
    out = []
    for byte in field:
        c = chr(byte)
        if c == "\\":
            out.append("\\\\")
        elif c == "\t":
            out.append("\\t")
        elif c == "\n":
            out.append("\\n")
        elif c == "\r":
            out.append("\\r")
        elif byte < 0x20 or byte >= 0x7F:
            out.append("\\x%02x" % byte)
        else:
            out.append(c)
    return "".join(out)


class PostfixRewrite:
    def __init__(self, main_cf, files=None):
        """main_cf: extra main.cf text; files: {relative name: content} written into the
        configuration directory first (tables: 'transport' etc.), and "@DIR@" in main_cf
        and in the files is replaced with that directory."""
        self.root = tempfile.mkdtemp(prefix="postern-resolve-")
        os.chmod(self.root, 0o755)
        self.config_directory = os.path.join(self.root, "etc")
        self.queue_directory = os.path.join(self.root, "queue")
        self.data_directory = os.path.join(self.root, "data")
        self.maillog = os.path.join(self.root, "maillog")
        for directory in (self.config_directory, self.queue_directory, self.data_directory):
            os.makedirs(directory)
        shutil.chown(self.data_directory, "postfix")
        for name, content in (files or {}).items():
            with open(os.path.join(self.config_directory, name), "w") as out:
                out.write(content.replace("@DIR@", self.config_directory))
        main_cf = main_cf.replace("@DIR@", self.config_directory)
        given = {line.partition("=")[0].strip() for line in main_cf.splitlines()}
        base = {"queue_directory": self.queue_directory, "data_directory": self.data_directory,
                "mail_owner": "postfix", "setgid_group": "postdrop",
                "maillog_file": self.maillog, "maillog_file_prefixes": self.root,
                "inet_interfaces": "loopback-only", "inet_protocols": "ipv4"}
        with open(os.path.join(self.config_directory, "main.cf"), "w") as out:
            # The instance's own settings, unless the caller gives them: main.cf without
            # duplicate names, so that Postfix does not warn about overriding entries.
            out.write("".join(f"{name} = {value}\n" for name, value in base.items()
                              if name not in given) + main_cf)
        with open(os.path.join(self.config_directory, "master.cf"), "w") as out:
            out.write("rewrite unix - - n - - trivial-rewrite\n"
                      "postlog unix-dgram n - n - 1 postlogd\n")
        self.sock = None
        self.buffer = b""

    def build_tables(self, *names):
        """Runs real postmap on configuration files (hash: tables)."""
        for name in names:
            subprocess.run(["/usr/sbin/postmap", "-c", self.config_directory,
                            os.path.join(self.config_directory, name)],
                           check=True, capture_output=True)

    def start(self):
        result = subprocess.run([POSTFIX, "-c", self.config_directory, "start"],
                                capture_output=True, text=True, timeout=60)
        if result.returncode != 0:
            raise RuntimeError("postfix start failed: " + result.stdout + result.stderr +
                               self.log())
        path = os.path.join(self.queue_directory, "private", "rewrite")
        deadline = time.monotonic() + 10
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX)
                self.sock.settimeout(10)
                self.sock.connect(path)
                break
            except OSError:
                self.sock.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        try:
            hello = self._read()
        except (OSError, EOFError) as error:
            raise RuntimeError(f"no answer from trivial-rewrite ({error}):\n" + self.log())
        if hello != [("protocol", b"trivial_rewrite_protocol")]:
            raise RuntimeError(f"unexpected hello {hello!r}")
        return self

    def master_pid(self):
        try:
            with open(os.path.join(self.queue_directory, "pid", "master.pid")) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def stop(self):
        if self.sock:
            self.sock.close()
            self.sock = None
        pid = self.master_pid()
        if pid:
            try:
                os.kill(pid, signal.SIGTERM)
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline:
                    os.kill(pid, 0)
                    time.sleep(0.05)
            except ProcessLookupError:
                pass
        shutil.rmtree(self.root, ignore_errors=True)

    def log(self):
        try:
            with open(self.maillog, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def _read_field(self):
        while b"\0" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("trivial-rewrite closed the connection")
            self.buffer += chunk
        field, self.buffer = self.buffer.split(b"\0", 1)
        return field

    def _read(self):
        attrs = []
        while True:
            name = self._read_field()
            if name == b"":
                return attrs
            attrs.append((name.decode(), self._read_field()))

    def _request(self, attrs):
        data = b"".join(n.encode() + b"\0" + v + b"\0" for n, v in attrs) + b"\0"
        self.sock.sendall(data)
        return self._read()

    @staticmethod
    def _bytes(text):
        return text.encode("latin-1") if isinstance(text, str) else text

    def rewrite(self, rule, address):
        reply = self._request([("request", b"rewrite"), ("rule", self._bytes(rule)),
                               ("address", self._bytes(address))])
        assert [n for n, _ in reply] == ["flags", "address"], reply
        return reply[1][1]

    def resolve(self, sender, address, request="resolve"):
        reply = self._request([("request", request.encode()), ("sender", self._bytes(sender)),
                               ("address", self._bytes(address))])
        names = [n for n, _ in reply]
        assert names == ["flags", "transport", "nexthop", "recipient", "flags"], reply
        return (int(reply[4][1]), reply[1][1], reply[2][1], reply[3][1])


class PosternResolve:
    """postresolve -b: one request per line, one answer per line."""

    def __init__(self, postresolve, config_directory, service=False):
        argv = [postresolve, "-b", "-c", config_directory]
        if service:
            argv.append("-S")
        # stderr goes to a file: a pipe nobody reads would fill up and stop postresolve.
        self.stderr = tempfile.TemporaryFile()
        self.process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=self.stderr)

    def _ask(self, fields):
        self.process.stdin.write(("\t".join(escape(f) for f in fields) + "\n").encode())
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("postresolve ended: " + self._stderr_text())
        return [unescape(f) for f in line.decode("latin-1").rstrip("\n").split("\t")]

    def rewrite(self, rule, address):
        return self._ask(["rewrite", rule, address])[0]

    def resolve(self, sender, address, request="resolve"):
        flags, transport, nexthop, recipient = self._ask([request, sender, address])
        return (int(flags), transport, nexthop, recipient)

    def _stderr_text(self):
        self.stderr.seek(0)
        return self.stderr.read().decode(errors="replace")

    def close(self):
        """Ends postresolve; returns what it wrote on stderr."""
        self.process.stdin.close()
        self.process.wait(timeout=30)
        return self._stderr_text()


def unescape(field):
    out = bytearray()
    i = 0
    while i < len(field):
        c = field[i]
        if c != "\\":
            out += c.encode("latin-1")
            i += 1
            continue
        n = field[i + 1]
        if n == "x":
            out.append(int(field[i + 2:i + 4], 16))
            i += 4
        else:
            out += {"\\": b"\\", "t": b"\t", "n": b"\n", "r": b"\r"}[n]
            i += 2
    return bytes(out)
