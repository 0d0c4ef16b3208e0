#!/usr/bin/env python3
"""System tests for master and the daemon skeletons, run as root on a throwaway instance:
start/status/reload/stop through the postfix command, privileges and chroot of the
daemons as /proc shows them, process reuse, replacement after SIGKILL, throttling of a
daemon that dies at start, wake-up triggers, one master per instance, and systemd
notifications.

usage: master_test.py POSTFIX MASTER TEST-DAEMON...
"""
import os
import pwd
import socket
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from test_runner import check, run_tests  # noqa: E402
from instance import (Instance, free_port, process_alive, proc_status_field, talk,  # noqa: E402
                      wait_for)

POSTFIX, MASTER, *DAEMONS = sys.argv[1:]


def whoami(port):
    reply = talk(port, ["whoami"])[0]
    return dict(field.split("=", 1) for field in reply.split())


def new_instance(master_cf, extra_main_cf=""):
    return Instance(POSTFIX, [MASTER, *DAEMONS], extra_main_cf, master_cf)


def start(instance):
    result = instance.run_postfix("start")
    check(result.returncode == 0, f"postfix start failed: {result.stderr}\n{instance.log()}")
    return instance.master_pid()


def test_start_status_stop_and_privileges():
    echo_port, chroot_port = free_port(), free_port()
    instance = new_instance(f"""
127.0.0.1:{echo_port} inet n - n - - test-echo
127.0.0.1:{chroot_port} inet n - y - - test-echo -o myhostname=chrooted.example
""")
    try:
        result = instance.run_postfix("start", env=dict(os.environ, POSTERN_TEST_LEAK="1"))
        check(result.returncode == 0, f"postfix start failed: {result.stderr}\n{instance.log()}")
        master = instance.master_pid()
        check(master and process_alive(master), "no master after start")
        status = instance.run_postfix("status")
        check(status.returncode == 0 and f"PID: {master}" in status.stderr + status.stdout,
              f"status while running: {status.returncode} {status.stderr!r}")

        plain = whoami(echo_port)
        owner = pwd.getpwnam("postfix")
        check(plain["uid"] == str(owner.pw_uid), f"unpriv daemon uid: {plain}")
        pid = int(plain["pid"])
        check(proc_status_field(pid, "Uid")[:3] == [str(owner.pw_uid)] * 3,
              "real/effective/saved uid of the daemon are not mail_owner")
        check(proc_status_field(pid, "Gid")[0] == str(owner.pw_gid), "daemon gid")
        check(os.readlink(f"/proc/{pid}/root") == "/", "unchrooted daemon has another root")
        with open(f"/proc/{pid}/environ", "rb") as environ:
            variables = environ.read().split(b"\0")
        check(f"MAIL_CONFIG={instance.config_directory}".encode() in variables,
              "daemon has no MAIL_CONFIG")
        check(not any(v.startswith(b"POSTERN_TEST_LEAK=") for v in variables),
              "a variable outside import_environment reached the daemon")

        jailed = whoami(chroot_port)
        jailed_pid = int(jailed["pid"])
        check(os.readlink(f"/proc/{jailed_pid}/root") == instance.queue_directory,
              f"chroot daemon root is {os.readlink(f'/proc/{jailed_pid}/root')}")
        check(jailed["param"] == "chrooted.example", f"-o override not seen: {jailed}")
        check(jailed["service"] == f"127.0.0.1:{chroot_port}", f"service name: {jailed}")

        # The same process serves the next client (max_use not reached).
        check(whoami(echo_port)["pid"] == plain["pid"], "process not reused")

        second = instance.run_postfix("start")
        check(second.returncode != 0 and "already running" in second.stderr + second.stdout,
              f"second start: {second.returncode} {second.stderr!r}")

        children = instance.children()
        stop = instance.run_postfix("stop")
        check(stop.returncode == 0, f"stop failed: {stop.stderr}")
        check(not process_alive(master), "master still runs after stop")
        for child in children:
            check(not process_alive(child), f"daemon {child} still runs after stop")
        status = instance.run_postfix("status")
        check(status.returncode == 1 and "not running" in status.stderr + status.stdout,
              f"status after stop: {status.returncode} {status.stderr!r}")
    finally:
        instance.stop()


def test_max_use_and_replacement_after_sigkill():
    port = free_port()
    instance = new_instance(f"127.0.0.1:{port} inet n - n - 1 test-echo -o max_use=2\n")
    try:
        start(instance)
        first = whoami(port)["pid"]
        check(whoami(port)["pid"] == first, "second client got another process")
        # max_use=2: the process has exited; master starts another for the third client.
        third = whoami(port)["pid"]
        check(third != first, "process served more than max_use clients")
        os.kill(int(third), 9)
        check(wait_for(lambda: not process_alive(int(third))), "killed daemon still there")
        fourth = whoami(port)["pid"]
        check(fourth != third and process_alive(int(fourth)), "no replacement after SIGKILL")
        check(process_alive(instance.master_pid()), "master died with its child")
        check(f"pid {third} killed by signal 9" in instance.log(), "SIGKILL not logged")
    finally:
        instance.stop()


def test_throttling_of_a_daemon_that_dies_at_start():
    port = free_port()
    instance = new_instance(f"127.0.0.1:{port} inet n - n - - test-fail\n",
                            "service_throttle_time = 3s\n")
    try:
        start(instance)
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:  # keep clients waiting on the socket
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            except OSError:
                pass
            time.sleep(0.1)
        log = instance.log()
        starts = log.count("test-fail pid")
        check("test-fail: bad command startup -- throttling" in log, f"no throttling:\n{log}")
        check(f"service 127.0.0.1:{port}/inet: no new processes for 3 seconds" in log,
              f"throttling warning does not name the service:\n{log}")
        check(starts == 1, f"{starts} starts within the throttle time:\n{log}")
        # After service_throttle_time, master tries again.
        check(wait_for(lambda: instance.log().count("test-fail pid") >= 2, timeout=8),
              "service not retried after the throttle time")
    finally:
        instance.stop()


def test_wakeup_triggers():
    instance = new_instance("""
tick      unix  n       -       y       1       1       test-trigger ticks
ticklazy  fifo  n       -       n       1?      1       test-trigger ticks-lazy
""")
    try:
        start(instance)
        ticks = os.path.join(instance.queue_directory, "ticks")
        count = lambda: open(ticks).read().count("W") if os.path.exists(ticks) else 0  # noqa
        check(wait_for(lambda: count() >= 3, timeout=6), "fewer than 3 wakeups in 6 seconds")
        lazy = os.path.join(instance.queue_directory, "ticks-lazy")
        check(not os.path.exists(lazy), "wakeup sent to an unused `?` service")
        with open(os.path.join(instance.queue_directory, "public", "ticklazy"), "w") as fifo:
            fifo.write("X")
        check(wait_for(lambda: os.path.exists(lazy) and "X" in open(lazy).read()),
              "fifo trigger not delivered")
        check(wait_for(lambda: "W" in open(lazy).read(), timeout=4),
              "no wakeup once the `?` service was used")
    finally:
        instance.stop()


def test_reload_adds_and_removes_services():
    kept, removed, added = free_port(), free_port(), free_port()
    instance = new_instance(f"""
127.0.0.1:{kept} inet n - n - - test-echo
127.0.0.1:{removed} inet n - n - - test-echo
""")
    try:
        master = start(instance)
        old_kept = whoami(kept)["pid"]
        whoami(removed)
        instance.write_master_cf(f"""
127.0.0.1:{kept} inet n - n - - test-echo
127.0.0.1:{added} inet n - n - - test-multi
""")
        reload = instance.run_postfix("reload")
        check(reload.returncode == 0, f"reload: {reload.stderr}")
        check(wait_for(lambda: "reload -- version" in instance.log()), "no reload log line")
        check(instance.master_pid() == master, "reload replaced master")
        check(wait_for(lambda: talk_ok(added)), "added service does not answer")
        check(wait_for(lambda: not talk_ok(removed)), "removed service still answers")
        check(wait_for(lambda: not process_alive(int(old_kept))),
              "old generation process did not exit after reload")
        check(whoami(kept)["pid"] != old_kept, "kept service still served by the old process")

        # A broken master.cf on reload: master keeps the running configuration.
        instance.write_master_cf(f"127.0.0.1:{kept} inet n - n - test-echo\n")
        check(instance.run_postfix("reload").returncode == 0, "reload of a broken master.cf")
        check(wait_for(lambda: "reload failed, the running configuration is kept" in
                       instance.log()), f"no warning for a broken reload:\n{instance.log()}")
        check(process_alive(master) and talk_ok(added) and talk_ok(kept),
              "services gone after a broken reload")
    finally:
        instance.stop()


def test_pass_service_receives_a_passed_client():
    instance = new_instance("passer pass - - n - - test-echo\n")
    try:
        start(instance)
        ours, theirs = socket.socketpair()
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as handoff:
            handoff.connect(os.path.join(instance.queue_directory, "private", "passer"))
            # lib/util/fd_passing's frame: a length byte (no payload), the descriptor on it.
            socket.send_fds(handoff, [bytes([0])], [theirs.fileno()])
        theirs.close()
        ours.settimeout(5)
        ours.sendall(b"whoami\r\n")
        reply = ours.makefile("r").readline()
        check(reply.startswith("pid=") and "service=passer" in reply,
              f"passed client not served: {reply!r}")
        ours.close()
    finally:
        instance.stop()


def talk_ok(port):
    try:
        return bool(talk(port, ["hello"], timeout=1)[0])
    except OSError:
        return False


def test_systemd_notifications():
    port = free_port()
    instance = new_instance(f"127.0.0.1:{port} inet n - n - - test-echo\n")
    notify_path = os.path.join(tempfile.mkdtemp(), "notify")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(notify_path)
    listener.settimeout(10)
    import subprocess
    environment = dict(os.environ, NOTIFY_SOCKET=notify_path)
    foreground = subprocess.Popen([POSTFIX, "-c", instance.config_directory, "start-fg"],
                                  env=environment, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
    try:
        check(b"READY=1" in listener.recv(4096), "no READY=1")
        check(whoami(port)["pid"], "service not up under start-fg")
        os.kill(foreground.pid, 1)
        check(b"RELOADING=1" in listener.recv(4096), "no RELOADING=1")
        check(b"READY=1" in listener.recv(4096), "no READY=1 after reload")
        os.kill(foreground.pid, 15)
        check(b"STOPPING=1" in listener.recv(4096), "no STOPPING=1")
        check(foreground.wait(timeout=10) == 0, "start-fg master exit status")
    finally:
        if foreground.poll() is None:
            foreground.kill()
            foreground.wait()
        listener.close()
        instance.stop()


def main():
    return run_tests(globals(), ())


if __name__ == "__main__":
    sys.exit(main())
