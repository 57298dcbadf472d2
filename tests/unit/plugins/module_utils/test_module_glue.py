# -*- coding: utf-8 -*-
"""module_glue.run_tied with real processes: the batch child holds the host lock
and dies with the module (issue #8 item 5: a killed module freed the lock while
its ``ip -batch`` went on changing the host)."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from ansible_collections.hostnet.netif.plugins.module_utils import module_glue, transaction

COLLECTIONS = [p for p in sys.path if p.endswith(os.path.join(".build", "collections"))][0]

# the "module": takes the lock, runs a long child through run_tied, never returns
MODULE = textwrap.dedent("""
    import sys
    sys.path.insert(0, %r)
    from ansible_collections.hostnet.netif.plugins.module_utils import module_glue, transaction
    if sys.argv[2] == "untied":
        module_glue._die_with_parent = lambda: None
    lock = transaction.HostLock(sys.argv[1], timeout=1)
    lock.acquire()
    module_glue.run_tied(["sleep", "30"], "link delete dev x\\n", lock.fd)
""" % COLLECTIONS)


def alive(pid):
    """Running (a zombie has closed its files and changes nothing)."""
    try:
        with open("/proc/%d/stat" % pid) as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (IOError, OSError):
        return False


def child_of(parent, deadline=5.0):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % entry) as handle:
                    fields = handle.read().rsplit(")", 1)[1].split()
                with open("/proc/%s/cmdline" % entry, "rb") as handle:
                    cmdline = handle.read()
            except (IOError, OSError):
                continue
            if int(fields[1]) == parent and cmdline.startswith(b"sleep\0"):
                return int(entry)
        time.sleep(0.02)
    raise AssertionError("the module process started no child")


def start_module(tmp_path, mode):
    path = str(tmp_path / "ns.lock")
    module = subprocess.Popen([sys.executable, "-c", MODULE, path, mode])
    return module, child_of(module.pid), path


def kill_module(module):
    os.kill(module.pid, signal.SIGKILL)
    module.wait()


def test_killed_module_takes_its_batch_child_with_it_and_frees_the_lock(tmp_path):
    module, child, path = start_module(tmp_path, "tied")
    try:
        kill_module(module)
        start = time.monotonic()
        while alive(child) and time.monotonic() - start < 1.0:
            time.sleep(0.01)
        assert not alive(child), "the batch child outlived its module by more than 1 s"
        lock = transaction.HostLock(path, timeout=2)
        lock.acquire()
        lock.release()
    finally:
        if alive(child):
            os.kill(child, signal.SIGKILL)


def test_batch_child_holds_the_lock_while_it_lives(tmp_path):
    """Without the death signal (prctl unavailable) the orphan still holds the lock:
    nobody else may change the host while its lines can reach the kernel."""
    module, child, path = start_module(tmp_path, "untied")
    try:
        kill_module(module)
        time.sleep(0.2)
        assert alive(child)
        second = transaction.HostLock(path, timeout=0.3)
        with pytest.raises(transaction.LockTimeout):
            second.acquire()
        os.kill(child, signal.SIGKILL)
        second = transaction.HostLock(path, timeout=2)
        second.acquire()  # free as soon as the child is gone
        second.release()
    finally:
        if alive(child):
            os.kill(child, signal.SIGKILL)


def test_run_tied_returns_rc_and_output_and_keeps_only_the_lock_fd(tmp_path):
    lock = transaction.HostLock(str(tmp_path / "l.lock"), timeout=1)
    lock.acquire()
    other = os.open(str(tmp_path / "other"), os.O_CREAT | os.O_RDWR | os.O_CLOEXEC, 0o600)
    os.set_inheritable(other, True)
    held = lock.fd
    try:
        script = ("import os, sys; data = sys.stdin.read(); "
                  "print(sorted(int(f) for f in os.listdir('/proc/self/fd'))); "
                  "sys.stderr.write(data.upper()); sys.exit(3)")
        rc, out, err = module_glue.run_tied([sys.executable, "-c", script], "a\u00e9\n", lock.fd)
    finally:
        os.close(other)
        lock.release()
    fds = eval(out)
    assert rc == 3 and err == "A\u00c9\n"
    assert held in fds and other not in fds
