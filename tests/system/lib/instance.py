"""A throwaway Postern instance for system tests: its own config, queue and data
directories under a temporary folder, daemons from the build tree, logs in a maillog_file.

Every process the instance starts is stopped by PID (master's, from its pid file) in
stop(); nothing is searched for by name. Tests run as root (master must), and the
postfix user and postdrop group are created here when missing.
"""
import grp
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time


def ensure_accounts():
    try:
        grp.getgrnam("postdrop")
    except KeyError:
        subprocess.run(["groupadd", "--system", "postdrop"], check=True)
    try:
        pwd.getpwnam("postfix")
    except KeyError:
        subprocess.run(["useradd", "--system", "--user-group", "--no-create-home",
                        "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin",
                        "postfix"], check=True)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(predicate, timeout=10.0, interval=0.05):
    """Polls until predicate() is truthy; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


class Instance:
    def __init__(self, postfix, daemons, extra_main_cf="", master_cf=""):
        ensure_accounts()
        self.postfix = postfix
        self.root = tempfile.mkdtemp(prefix="postern-test-")
        os.chmod(self.root, 0o755)
        self.config_directory = os.path.join(self.root, "etc")
        self.queue_directory = os.path.join(self.root, "queue")
        self.data_directory = os.path.join(self.root, "data")
        self.daemon_directory = os.path.join(self.root, "libexec")
        self.maillog = os.path.join(self.root, "maillog")
        for directory in (self.config_directory, self.daemon_directory, self.queue_directory):
            os.makedirs(directory)
        for program in daemons:
            os.symlink(os.path.abspath(program),
                       os.path.join(self.daemon_directory, os.path.basename(program)))
        self.write_main_cf(extra_main_cf)
        self.write_master_cf(master_cf)

    def write_main_cf(self, extra=""):
        with open(os.path.join(self.config_directory, "main.cf"), "w") as out:
            out.write(f"""queue_directory = {self.queue_directory}
data_directory = {self.data_directory}
daemon_directory = {self.daemon_directory}
command_directory = {os.path.dirname(os.path.abspath(self.postfix))}
maillog_file = {self.maillog}
mail_owner = postfix
setgid_group = postdrop
myhostname = test.example
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
compatibility_level = 3.7
{extra}""")

    def write_master_cf(self, text):
        with open(os.path.join(self.config_directory, "master.cf"), "w") as out:
            out.write(text)

    def run_postfix(self, *arguments, env=None, check=False):
        return subprocess.run([self.postfix, "-c", self.config_directory, *arguments],
                              capture_output=True, text=True, timeout=60, env=env, check=check)

    def master_pid(self):
        try:
            with open(os.path.join(self.queue_directory, "pid", "master.pid")) as pid_file:
                return int(pid_file.read().strip())
        except (OSError, ValueError):
            return None

    def log(self):
        try:
            with open(self.maillog, errors="replace") as log:
                return log.read()
        except OSError:
            return ""

    def children(self, parent=None):
        """PIDs whose parent is master (or `parent`)."""
        parent = parent or self.master_pid()
        found = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == parent:
                found.append(int(entry))
        return found

    def stop(self):
        """Stops master if it still runs (by PID), then removes the folder."""
        pid = self.master_pid()
        if pid and process_alive(pid):
            self.run_postfix("stop")
            if process_alive(pid):
                os.kill(pid, 9)
        shutil.rmtree(self.root, ignore_errors=True)


def process_alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def proc_status_field(pid, name):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(name + ":"):
                return line.split()[1:]
    return None


def talk(port, lines, timeout=5.0):
    """Sends each line to 127.0.0.1:port and returns the replies, one per line sent."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as connection:
        reader = connection.makefile("r")
        replies = []
        for line in lines:
            connection.sendall((line + "\r\n").encode())
            replies.append(reader.readline().rstrip("\r\n"))
        return replies
