"""Postfix's smtp-sink as the far end of a test (or a benchmark), started on a loopback
port and stopped by PID, and port_open() to wait for any listener.

Usage:
    sink = Sink(root)                       # a free port on 127.0.0.1
    sink = Sink(root, "-R", address="127.0.0.3", port=2526)
    ... deliver to [127.0.0.1]:{sink.port} ...
    sink.messages()                         # each message as dumped (-d), in arrival order
    sink.stop()
"""
import os
import shutil
import signal
import socket
import subprocess

from instance import free_port, process_alive, wait_for

SMTP_SINK = "/usr/sbin/smtp-sink"


def port_open(port, address="127.0.0.1"):
    try:
        with socket.create_connection((address, port), timeout=0.5):
            return True
    except OSError:
        return False


class Sink:
    """smtp-sink on ADDRESS:PORT, as the postfix user, dumping every message into a
    directory under ROOT; its diagnostics go to ROOT/sink-PORT.err."""

    def __init__(self, root, *options, address="127.0.0.1", port=None):
        self.port = port or free_port()
        self.dump = os.path.join(root, f"sink-{self.port}")
        os.makedirs(self.dump)
        shutil.chown(self.dump, "postfix")
        self.errors = open(os.path.join(root, f"sink-{self.port}.err"), "w")
        self.process = subprocess.Popen(
            [SMTP_SINK, "-u", "postfix", "-d", os.path.join(self.dump, "%H%M%S."), *options,
             f"{address}:{self.port}", "100"],
            stdout=self.errors, stderr=self.errors)
        if not wait_for(lambda: port_open(self.port, address), timeout=10):
            self.stop()
            raise AssertionError(f"smtp-sink did not start on {address}:{self.port}")

    def messages(self):
        found = []
        for name in sorted(os.listdir(self.dump)):
            with open(os.path.join(self.dump, name), "rb") as dumped:
                found.append(dumped.read())
        return found

    def stop(self):
        if process_alive(self.process.pid):
            self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=10)
        self.errors.close()
