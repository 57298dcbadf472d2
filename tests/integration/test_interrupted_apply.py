"""A module killed in the middle of its ``ip -batch`` (issue #8 item 5), on a real lab host.

A task deletes 500 veth pairs (one ``ip -batch`` of ~9 s here); while the batch
runs, the module's python process gets SIGKILL. Then, checked inside the namespace
with /proc and ``ip -json``, not with the module's own reading:

(a) the ``ip -batch`` process is gone within 1 s (it dies with its module);
(b) while it lives, the host lock of that namespace stays taken (the batch holds it),
    and a second task started right away is not undone by an orphan batch;
(c) that second task (any setter) first restores the journal of the interrupted
    apply: all 500 pairs exist again, and its result and warnings say so.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import secrets
import signal
import subprocess
import time

import pytest

from tests.integration.helpers import ansible_bin, netif_state_paths

PAIRS = 500


@pytest.fixture(scope="module")
def lab(lab_factory):
    return lab_factory(hosts=1)


def netns_inode(pid):
    return os.stat("/proc/%d/ns/net" % pid).st_ino


def alive(pid):
    """Running; a zombie has closed its files (the lock) and changes nothing any more."""
    try:
        with open("/proc/%d/stat" % pid) as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def batch_processes(inode):
    """{pid: ppid} of live ``ip -batch -`` processes in the namespace with ``inode``."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as handle:
                argv = handle.read().split(b"\0")
            if argv[1:3] != [b"-batch", b"-"] or not argv[0].endswith(b"ip"):
                continue
            with open("/proc/%d/stat" % pid) as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            if fields[0] != "Z" and netns_inode(pid) == inode:
                found[pid] = int(fields[1])
        except OSError:
            continue
    return found


def lock_is_free(path):
    """Try the transaction's flock without waiting (and without creating the file)."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_NOFOLLOW)
    except FileNotFoundError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EAGAIN, errno.EACCES):
            return False
        raise
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return True
    finally:
        os.close(fd)


def playbook(lab, host, name, module_args):
    """(argv, env, path of the saved result) of a one-task playbook."""
    out = os.path.join(str(lab.workdir), "%s-%s.json" % (name, secrets.token_hex(3)))
    book = [{"hosts": host.name, "gather_facts": False, "tasks": [
        {"name": name, "hostnet.netif.interfaces": module_args, "register": "r",
         "ignore_errors": True},
        {"name": "save", "ansible.builtin.copy": {"content": "{{ r | to_json }}", "dest": out},
         "delegate_to": "localhost"}]}]
    path = os.path.join(str(lab.workdir), "%s.yml" % name)
    with open(path, "w") as handle:
        json.dump(book, handle)
    env = dict(os.environ)
    env.update(lab.env())
    return [ansible_bin("ansible-playbook"), "-i", lab.inventory, path], env, out


def pairs_present(lab, host, prefix):
    names = {link["ifname"] for link in lab.ip_json(host, "link", "show")}
    return sum(1 for i in range(PAIRS) if "%sa%d" % (prefix, i) in names
               and "%sb%d" % (prefix, i) in names)


def test_killed_module_leaves_no_batch_and_the_next_run_restores(lab):
    host = lab.hosts[0]
    inode = os.stat(os.path.join("/run/netns", host.netns)).st_ino
    lock_path, journal_path = netif_state_paths(host.netns)
    prefix = "k" + secrets.token_hex(2)
    names = ["%sa%d" % (prefix, i) for i in range(PAIRS)]
    assert max(len(n) for n in names) <= 15
    batch = "".join("link add name %sa%d type veth peer name %sb%d\n" % (prefix, i, prefix, i)
                    for i in range(PAIRS))
    lab.exec(host, ["ip", "-batch", "-"], input=batch)
    first = second = None
    try:
        assert pairs_present(lab, host, prefix) == PAIRS
        argv, env, first_out = playbook(lab, host, "delete", {
            "state": "deleted", "config": [{"name": n, "kind": "veth"} for n in names]})
        first = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 40
        found = {}
        while not found and time.monotonic() < deadline and first.poll() is None:
            found = batch_processes(inode)
            time.sleep(0.02)
        assert len(found) == 1, "no ip -batch seen in %s: %s" % (
            host.netns, first.communicate()[0].decode(errors="replace")[-3000:])
        batch_pid, module_pid = next(iter(found.items()))
        with open("/proc/%d/cmdline" % module_pid, "rb") as handle:
            assert b"python" in handle.read()
        assert os.path.exists(journal_path), "no journal while the batch runs"
        time.sleep(1.0)  # let it delete some pairs
        assert alive(batch_pid)
        assert not lock_is_free(lock_path), "lock free while the module and its batch run"

        os.kill(module_pid, signal.SIGKILL)
        killed = time.monotonic()
        # (b) the lock is never free while the batch still lives
        while alive(batch_pid) and time.monotonic() - killed < 3:
            free = lock_is_free(lock_path)
            assert not (free and alive(batch_pid)), "the lock was free while ip -batch ran"
            time.sleep(0.005)
        # (a) the batch died with its module
        gone_after = time.monotonic() - killed
        assert not batch_processes(inode) and gone_after < 1.0, \
            "ip -batch outlived its module by %.2f s" % gone_after
        left = pairs_present(lab, host, prefix)
        assert 0 < left < PAIRS, "the kill did not land mid-batch (%d pairs left)" % left
        assert os.path.exists(journal_path)

        # (c) a second task, started right away, restores the interrupted apply first
        last = names[-1]  # the orphan would have deleted it seconds from now
        argv, env, second_out = playbook(lab, host, "alias", {
            "config": [{"name": last, "alias": "second task"}]})
        second = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                                text=True, timeout=120, check=False)
        with open(second_out) as handle:
            result = json.load(handle)
        assert not result.get("failed"), json.dumps(result)[:3000]
        recovered = result["recovered"]
        assert recovered["journal"] == journal_path and recovered["pid"] == module_pid
        assert len(recovered["interrupted_commands"]) == PAIRS
        restore_adds = [c for c in recovered["restore_commands"] if c.startswith("link add ")]
        assert len(restore_adds) == PAIRS - left
        assert result["changed"] is True and result["commands"]
        shown = second.stdout + second.stderr  # ansible prints warnings on stderr
        assert "was found and restored" in shown and "pid %d" % module_pid in shown
        first.wait(60)
        with open(first_out) as handle:
            assert json.load(handle).get("failed") is True  # the killed task failed
        time.sleep(1.0)  # no orphan may delete anything behind the second task's back
        assert pairs_present(lab, host, prefix) == PAIRS
        link = lab.ip_json(host, "link", "show", "dev", last)[0]
        assert link.get("ifalias") == "second task"
        assert not os.path.exists(journal_path)
        assert not batch_processes(inode)
    finally:
        for proc in (first,):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()
        for pid in batch_processes(inode):
            os.kill(pid, signal.SIGKILL)
        present = {link["ifname"] for link in lab.ip_json(host, "link", "show")}
        doomed = "".join("link delete dev %s\n" % n for n in names if n in present)
        doomed += "".join("link delete dev %sb%d\n" % (prefix, i) for i in range(PAIRS)
                          if "%sb%d" % (prefix, i) in present and names[i] not in present)
        if doomed:
            lab.exec(host, ["ip", "-batch", "-"], input=doomed, timeout=120)
        if os.path.exists(journal_path):
            os.unlink(journal_path)
