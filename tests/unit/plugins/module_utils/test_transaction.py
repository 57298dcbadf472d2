# -*- coding: utf-8 -*-
"""transaction: lock, ip -batch error parsing, apply → verify → restore on a fake kernel."""

import contextlib
import errno
import json
import os
import tempfile
import threading
import time

import pytest

from ansible_collections.hostnet.netif.plugins.module_utils import planner, restore, transaction
from ansible_collections.hostnet.netif.plugins.module_utils.errors import NetifError

from netif_fakeip import FakeIp, NoSysfs

make = FakeIp.make_link


@pytest.fixture
def lock(tmp_path):
    return transaction.HostLock(str(tmp_path / "netif.lock"), timeout=2)


def host_for(fake):
    return transaction.Host(fake.run, FakeIp.IP, environ={}, files=NoSysfs())


def comparable(links):
    return dict((name, dict((k, v) for k, v in link.items() if k != "ifindex"))
                for name, link in links.items())


# ---------------------------------------------------------------------------
# lock
# ---------------------------------------------------------------------------
def test_lock_excludes_second_writer_and_times_out(tmp_path):
    path = str(tmp_path / "l")
    first = transaction.HostLock(path, timeout=1)
    first.acquire()
    clock = [0.0]
    second = transaction.HostLock(path, timeout=0.3, clock=lambda: clock[0],
                                  sleep=lambda s: clock.__setitem__(0, clock[0] + s))
    with pytest.raises(transaction.LockTimeout) as info:
        second.acquire()
    assert path in str(info.value) and "another hostnet.netif task" in str(info.value)
    assert not second.held
    first.release()
    second.acquire()
    assert second.held
    second.release()
    assert not second.held
    second.release()  # idempotent


def test_lock_waits_for_release(tmp_path):
    path = str(tmp_path / "l")
    first = transaction.HostLock(path, timeout=1)
    first.acquire()
    timer = threading.Timer(0.2, first.release)
    timer.start()
    second = transaction.HostLock(path, timeout=5)
    start = time.monotonic()
    second.acquire()
    assert time.monotonic() - start >= 0.15
    second.release()
    timer.join()


def test_lock_refuses_symlink(tmp_path):
    target = tmp_path / "elsewhere"
    target.write_text("x")
    link = tmp_path / "l"
    os.symlink(str(target), str(link))
    with pytest.raises(transaction.LockTimeout):
        transaction.HostLock(str(link), timeout=0.1).acquire()


def test_transaction_releases_lock_on_error(tmp_path, lock):
    fake = FakeIp([make("eth0", up=True)])
    with pytest.raises(RuntimeError):
        with transaction.Transaction(host_for(fake), lock=lock):
            assert lock.held
            raise RuntimeError("boom")
    assert not lock.held


def test_check_mode_takes_no_lock_and_refuses_apply(lock):
    fake = FakeIp([make("eth0")])
    with transaction.Transaction(host_for(fake), check_mode=True, lock=lock) as txn:
        assert not lock.held
        txn.read()
        with pytest.raises(NetifError):
            txn.apply([planner.link_set("eth0", "mtu", 1400)], lambda facts: [])
    assert fake.batches == []


# ---------------------------------------------------------------------------
# batch errors
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("stderr, line_no, kernel", [
    ("RTNETLINK answers: Invalid argument\nCommand failed -:2\n", 2,
     "RTNETLINK answers: Invalid argument"),
    ('Cannot find device "x"\nCommand failed -:3\n', 3, 'Cannot find device "x"'),
    ("Error: mtu greater than device maximum.\nCommand failed -:1\n", 1,
     "Error: mtu greater than device maximum."),
    ("Unterminated quoted string\n", None, "Unterminated quoted string"),
    ("", None, ""),
])
def test_parse_batch_error(stderr, line_no, kernel):
    lines = ["link set dev a up", "link set dev b mtu 9000", "link set dev x up"]
    error = transaction.parse_batch_error(lines, 1, stderr)
    assert error.line_no == line_no
    assert error.kernel == kernel
    assert error.line == (lines[line_no - 1] if line_no else None)
    result = error.to_result()
    assert result["failed_line"] == line_no and result["rc"] == 1
    if line_no:
        assert lines[line_no - 1] in str(error) and kernel in str(error)


def test_run_batch_sends_one_process_with_all_lines():
    fake = FakeIp([make("a"), make("b")])
    ops = [planner.link_set("a", "mtu", 1400), planner.link_set("b", "alias", "x y")]
    transaction.run_batch(host_for(fake), ops)
    batch_calls = [c for c in fake.calls if "-batch" in c]
    assert batch_calls == [[FakeIp.IP, "-batch", "-"]]
    assert fake.batches == ['link set dev a mtu 1400\nlink set dev b alias "x y"\n']
    assert fake.links["b"]["ifalias"] == "x y"


def test_run_batch_reports_could_not_run():
    def run(argv, data=None):
        raise OSError(2, "No such file or directory")
    with pytest.raises(NetifError) as info:
        transaction.run_batch(transaction.Host(run, "/nope/ip", environ={}),
                              [planner.link_set("a", "mtu", 1400)])
    assert "could not run ip" in str(info.value)


# ---------------------------------------------------------------------------
# apply → verify → restore
# ---------------------------------------------------------------------------
def base_links():
    return [
        make("lo", mtu=65536, flags=["LOOPBACK", "UP", "LOWER_UP"], mac="00:00:00:00:00:00",
             link_type="loopback"),
        make("eth0", up=True, addresses=[{"family": "inet", "local": "198.18.0.10",
                                          "prefixlen": 24, "scope": "global",
                                          "valid_life_time": 4294967295,
                                          "preferred_life_time": 4294967295}]),
        make("br0", "bridge", up=True),
        make("va", "veth", parent="vb", master="br0", up=True),
        make("vb", "veth", parent="va", up=True),
        make("mv0", "macvlan", parent="eth0", info_data={"mode": "bridge"}, up=True),
    ]


@contextlib.contextmanager
def temp_lock():
    """A lock (and its journal) in a directory removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="hostnet-netif-unit-") as directory:
        yield transaction.HostLock(os.path.join(directory, "ns.lock"), timeout=1)


def apply_and_expect_restore(fake, ops, verify=lambda facts: []):
    before = comparable(fake.snapshot())
    with temp_lock() as lock:
        with transaction.Transaction(host_for(fake), lock=lock) as txn:
            txn.read()
            with pytest.raises(transaction.TransactionError) as info:
                txn.apply(planner.order(ops), verify)
        assert not os.path.exists(lock.journal_path)  # restored: nothing left to recover
    assert comparable(fake.snapshot()) == before
    return info.value


def test_kernel_refusal_mid_plan_is_restored_exactly():
    fake = FakeIp(base_links())
    ops = [
        planner.link_create("br1", "bridge", {}),
        planner.link_set("va", "master", "br1", master_kind="bridge"),
        planner.link_set("vb", "alias", "first"),
        planner.link_set("eth0", "mtu", 1400, current_mtu=1500),
        planner.link_set("mv0", "mtu", 9000, depth=1, current_mtu=1500),  # > eth0: refused
        planner.link_set("vb", "enabled", False),
    ]
    error = apply_and_expect_restore(fake, ops)
    assert error.restore_error is None
    assert "link set dev mv0 mtu 9000" in str(error)
    assert "RTNETLINK answers: Invalid argument" in str(error)
    assert "restored to its state before the task" in str(error)
    result = error.to_result()
    assert result["failed_command"] == "link set dev mv0 mtu 9000"
    assert result["restored"] is True
    assert "link delete dev br1" in result["restore_commands"]
    # the plan ran in one ip -batch, the restore in a second one
    assert len(fake.batches) == 2


def test_deleted_interfaces_are_recreated_with_attributes_and_addresses():
    links = base_links()
    links.append(make("d0", "dummy", up=True, mtu=9000, addresses=[
        {"family": "inet", "local": "198.18.3.1", "prefixlen": 24, "scope": "global",
         "broadcast": "198.18.3.255", "valid_life_time": 4294967295,
         "preferred_life_time": 4294967295}]))
    links[3]["ifalias"] = "port a"
    fake = FakeIp(links)
    ops = [planner.link_delete("va", also=("vb",)), planner.link_delete("d0"),
           planner.link_set("eth0", "mtu", 70000 - 4536 + 1, current_mtu=1500)]
    # eth0 max_mtu is 65535: 65465 is fine, so make the failure an injected one
    fake.fail_on["mtu 65465"] = "Error: injected refusal."
    error = apply_and_expect_restore(fake, ops)
    assert "injected refusal" in str(error)
    assert fake.links["d0"]["mtu"] == 9000 and fake.links["va"]["master"] == "br0"


def test_verification_failure_restores_and_names_what_differs():
    fake = FakeIp(base_links())
    ops = [planner.link_set("eth0", "alias", "new")]
    error = apply_and_expect_restore(fake, ops, verify=lambda facts: ["eth0 mtu is 1500, not 9"])
    assert isinstance(error.cause, transaction.VerifyError)
    assert "eth0 mtu is 1500, not 9" in str(error)


def test_restore_failure_reports_both_errors(tmp_path):
    fake = FakeIp(base_links())
    ops = [planner.link_set("eth0", "alias", "new"), planner.link_set("vb", "mtu", 100000 // 2)]
    fake.fail_on["mtu 50000"] = "Error: first failure."
    original_run = fake.run

    def run(argv, data=None):
        if data and "alias" in data and "new" not in data:
            return 1, "", "Error: restore refused.\nCommand failed -:1\n"
        return original_run(argv, data)

    fake.run = run
    lock = transaction.HostLock(str(tmp_path / "ns.lock"), timeout=1)
    with transaction.Transaction(transaction.Host(fake.run, FakeIp.IP, environ={}, files=NoSysfs()),
                                 lock=lock) as txn:
        txn.read()
        with pytest.raises(transaction.TransactionError) as info:
            txn.apply(planner.order(ops), lambda facts: [])
    error = info.value
    assert error.restore_error is not None
    assert "first failure" in str(error) and "restore refused" in str(error)
    assert "RESTORING THE PREVIOUS STATE FAILED TOO" in str(error)
    assert error.to_result()["restored"] is False
    # the journal stays, so the next run tries the restore again (and names it)
    assert lock.journal_path in str(error) and os.path.exists(lock.journal_path)


def test_sysctl_writes_are_restored(tmp_path):
    procfs = tmp_path / "net"
    conf = procfs / "ipv4" / "conf" / "eth0"
    conf.mkdir(parents=True)
    (conf / "rp_filter").write_text("0\n")
    fake = FakeIp(base_links())
    host = transaction.Host(fake.run, FakeIp.IP, environ={}, files=NoSysfs(),
                            sysctl=transaction.SysctlIO(str(procfs)))
    lock = transaction.HostLock(str(tmp_path / "lock"), timeout=1)
    ops = [planner.link_set("eth0", "alias", "x"), planner.SysctlOp("ipv4", "eth0", "rp_filter", 1)]
    with transaction.Transaction(host, lock=lock) as txn:
        txn.read()
        with pytest.raises(transaction.TransactionError):
            txn.apply(ops, lambda facts: ["forced"])
    assert (conf / "rp_filter").read_text().strip() == "0"
    assert "ifalias" not in fake.links["eth0"]
    with transaction.Transaction(host, lock=lock) as txn:
        txn.read()
        txn.apply(ops, lambda facts: [])
    assert (conf / "rp_filter").read_text().strip() == "1"
    assert not lock.held


def test_successful_apply_returns_after_facts(lock):
    fake = FakeIp(base_links())
    with transaction.Transaction(host_for(fake), lock=lock) as txn:
        txn.read()
        after = txn.apply([planner.link_set("eth0", "mtu", 1400, current_mtu=1500)],
                          lambda facts: [] if facts["interfaces"]["eth0"]["mtu"] == 1400 else ["x"])
    assert after["interfaces"]["eth0"]["mtu"] == 1400


def test_restore_plan_recreates_vlan_macvlan_vxlan_bond():
    fake = FakeIp([
        make("eth0", up=True),
        make("eth0.5", "vlan", parent="eth0", info_data={"id": 5, "protocol": "802.1Q"}),
        make("b0", "bond", info_data={"mode": "802.3ad"}),
        make("vx", "vxlan", info_data={"id": 9, "port": 4789, "remote": "198.18.0.2"}),
    ])
    from ansible_collections.hostnet.netif.plugins.module_utils import reader
    request = reader.GatherRequest(gather_subset=["links", "addresses"], sysctl_keys=[])
    before, dummy = reader.gather(host_for(fake).ip(), request, NoSysfs())
    now = {"eth0": before["interfaces"]["eth0"]}
    ops = restore.restore_plan(before["interfaces"], now, {"eth0.5", "b0", "vx"})
    rendered = planner.render(ops)
    assert "link add link eth0 name eth0.5 type vlan id 5" in rendered
    assert "link add name b0 type bond mode 802.3ad" in rendered
    assert "link add name vx type vxlan id 9 dstport 4789 remote 198.18.0.2" in rendered


# ---------------------------------------------------------------------------
# per-namespace lock, tied batch, journal of an interrupted apply (issue #8 item 5)
# ---------------------------------------------------------------------------
class Killed(BaseException):
    """The module process dying mid-batch (SIGKILL): no except-Exception path runs."""


def test_default_lock_is_keyed_by_the_netns_inode_and_leaves_no_file(tmp_path, monkeypatch):
    state = tmp_path / "state"
    monkeypatch.setattr(transaction, "STATE_DIR", str(state))
    lock = transaction.HostLock(timeout=1)
    inode = os.stat("/proc/self/ns/net").st_ino
    assert lock.path == str(state / ("%d.lock" % inode))
    assert lock.journal_path == str(state / ("%d.journal" % inode))
    lock.acquire()
    assert (os.stat(str(state)).st_mode & 0o777) == 0o700
    assert (os.stat(lock.path).st_mode & 0o777) == 0o600
    lock.release()
    assert os.listdir(str(state)) == []  # released: the lock file is gone too


def test_lock_is_per_namespace(tmp_path, monkeypatch):
    """Two namespaces (two inodes) lock independently; the old global lock serialized them."""
    state = str(tmp_path / "s")
    monkeypatch.setattr(transaction, "netns_inode", lambda path=None: 11)
    first = transaction.HostLock(transaction.default_lock_path(state), timeout=0)
    monkeypatch.setattr(transaction, "netns_inode", lambda path=None: 12)
    other = transaction.HostLock(transaction.default_lock_path(state), timeout=0)
    os.mkdir(state, 0o700)
    first.acquire()
    other.acquire()  # would time out at once with one lock per host
    first.release()
    other.release()


@pytest.mark.parametrize("make", ["symlink", "group-writable"])
def test_state_directory_must_be_private(tmp_path, make):
    path = tmp_path / "netif"
    if make == "symlink":
        (tmp_path / "real").mkdir()
        os.symlink(str(tmp_path / "real"), str(path))
    else:
        path.mkdir()
        os.chmod(str(path), 0o770)
    with pytest.raises(transaction.LockTimeout) as info:
        transaction.state_directory(str(path))
    assert str(path) in str(info.value)


def test_a_waiter_on_a_removed_lock_file_locks_the_new_one(tmp_path):
    path = str(tmp_path / "ns.lock")
    first = transaction.HostLock(path, timeout=1)
    first.acquire()
    waiter = transaction.HostLock(path, timeout=5)
    thread = threading.Thread(target=waiter.acquire)
    thread.start()
    time.sleep(0.15)  # the waiter has the old file open and polls
    first.release()   # removes the file while still holding it
    thread.join(5)
    assert waiter.held and os.path.exists(path)
    third = transaction.HostLock(path, timeout=0.2)
    with pytest.raises(transaction.LockTimeout):
        third.acquire()  # the waiter's lock is on the file the path names
    waiter.release()


def journal_rig(tmp_path, links=None):
    procfs = tmp_path / "net"
    for dev in ("eth0", "all"):
        conf = procfs / "ipv4" / "conf" / dev
        conf.mkdir(parents=True)
        (conf / "rp_filter").write_text("0\n")
    fake = FakeIp(links or base_links())
    tied = []

    def tied_run(argv, data, hold_fd):
        tied.append(hold_fd)
        return fake.run(argv, data)

    host = transaction.Host(fake.run, FakeIp.IP, environ={}, files=NoSysfs(),
                            sysctl=transaction.SysctlIO(str(procfs)), tied_run=tied_run)
    lock = transaction.HostLock(str(tmp_path / "ns.lock"), timeout=1)
    return fake, host, lock, tied, procfs


def test_batch_runs_tied_to_the_lock_and_journal_lives_exactly_across_the_apply(tmp_path):
    fake, host, lock, tied, procfs = journal_rig(tmp_path)
    seen = {}
    original = host.tied_run

    def tied_run(argv, data, hold_fd):
        seen["held"] = hold_fd == lock.fd and lock.held
        seen["mode"] = os.stat(lock.journal_path).st_mode & 0o777
        with open(lock.journal_path) as handle:
            seen["record"] = json.load(handle)
        return original(argv, data, hold_fd)

    host.tied_run = tied_run
    ops = planner.order([planner.link_set("mv0", "mtu", 1400, depth=1, current_mtu=1500),
                         planner.link_delete("va", also=("vb",)),
                         planner.SysctlOp("ipv4", "eth0", "rp_filter", 1)])
    with transaction.Transaction(host, lock=lock) as txn:
        txn.read()
        txn.apply(ops, lambda facts: [])
    assert seen["held"] and seen["mode"] == 0o600
    record = seen["record"]
    assert record["pid"] == os.getpid() and record["commands"] == planner.describe(ops)
    assert record["netns"]["inode"] == os.stat("/proc/self/ns/net").st_ino
    assert set(record["names"]) == {"mv0", "va", "vb", "eth0"}
    # what the restore needs: the affected interfaces, their parent (depth) and master (kind)
    assert set(record["interfaces"]) == {"mv0", "va", "vb", "eth0", "br0"}
    assert record["sysctl"] == [{"family": "ipv4", "dev": "eth0", "key": "rp_filter", "old": "0"}]
    assert not os.path.exists(lock.journal_path) and os.listdir(str(tmp_path)) == ["net"]


def test_journal_write_failure_changes_nothing(tmp_path):
    fake, host, lock, tied, procfs = journal_rig(tmp_path)
    with transaction.Transaction(host, lock=lock) as txn:
        txn.journal.path = str(tmp_path / "gone" / "ns.journal")
        txn.read()
        with pytest.raises(transaction.JournalError) as info:
            txn.apply([planner.link_set("eth0", "alias", "x")], lambda facts: [])
    assert "nothing was changed" in str(info.value) and fake.batches == []


def interrupt(tmp_path, ops, after_lines=None, in_sysctl=False):
    """Apply ``ops`` and 'kill' the module: after ``after_lines`` batch lines, or at the
    first sysctl write. Returns the rig and the fake's state before."""
    fake, host, lock, tied, procfs = journal_rig(tmp_path)
    before = comparable(fake.snapshot())
    original = host.tied_run

    def tied_run(argv, data, hold_fd):
        if after_lines is None:
            return original(argv, data, hold_fd)
        original(argv, "\n".join(data.split("\n")[:after_lines]) + "\n", hold_fd)
        raise Killed()

    def write(op, value):
        raise Killed()

    host.tied_run = tied_run
    if in_sysctl:
        real_write, host.sysctl.write = host.sysctl.write, write
    with pytest.raises(Killed):
        with transaction.Transaction(host, lock=lock) as txn:
            txn.read()
            txn.apply(planner.order(ops), lambda facts: [])
    host.tied_run = original
    if in_sysctl:
        host.sysctl.write = real_write
    assert os.path.exists(lock.journal_path)
    return fake, host, lock, before, procfs


def interrupted_delete(tmp_path):
    ops = [planner.link_delete("mv0", depth=1), planner.link_delete("va", also=("vb",)),
           planner.link_delete("br0")]
    return interrupt(tmp_path, ops, after_lines=2)


def test_next_transaction_restores_an_interrupted_apply_and_says_so(tmp_path):
    fake, host, lock, before, procfs = interrupted_delete(tmp_path)
    assert "va" not in fake.links and "br0" in fake.links  # half applied
    with transaction.Transaction(host, lock=lock) as txn:
        facts = txn.read()
    assert comparable(fake.snapshot()) == before
    assert set(["mv0", "va", "vb"]) <= set(facts["interfaces"])  # the snapshot is after it
    recovered = txn.recovered
    assert recovered["pid"] == os.getpid() and recovered["journal"] == lock.journal_path
    assert recovered["interrupted_commands"][:2] == ["link delete dev mv0", "link delete dev va"]
    assert "link add name va type veth peer name vb" in recovered["restore_commands"]
    message = [w for w in txn.warnings if "interrupted apply" in w]
    assert message and "was found and restored" in message[0]
    assert "pid %d" % os.getpid() in message[0] and recovered["started"] in message[0]
    assert not os.path.exists(lock.journal_path) and not lock.held


def test_interrupted_sysctl_writes_are_restored(tmp_path):
    ops = [planner.link_set("eth0", "alias", "x"), planner.SysctlOp("ipv4", "eth0", "rp_filter", 2),
           planner.SysctlOp("ipv4", "all", "rp_filter", 1)]
    fake, host, lock, before, procfs = interrupt(tmp_path, ops, in_sysctl=True)
    (procfs / "ipv4" / "conf" / "eth0" / "rp_filter").write_text("2\n")  # one write landed
    with transaction.Transaction(host, lock=lock) as txn:
        pass
    assert (procfs / "ipv4" / "conf" / "eth0" / "rp_filter").read_text().strip() == "0"
    assert comparable(fake.snapshot()) == before
    assert txn.recovered["restore_commands"] == [
        'link set dev eth0 alias ""', "sysctl -w net.ipv4.conf.eth0.rp_filter=0"]


def test_check_mode_only_warns_about_a_pending_journal(tmp_path):
    fake, host, lock, before, procfs = interrupted_delete(tmp_path)
    batches = len(fake.batches)
    with transaction.Transaction(host, check_mode=True, lock=lock) as txn:
        txn.read()
    assert len(fake.batches) == batches and os.path.exists(lock.journal_path)
    assert txn.recovered is None
    assert any("is pending" in w and lock.journal_path in w for w in txn.warnings)


def test_unrestorable_journal_fails_naming_it_and_keeps_it(tmp_path):
    fake, host, lock, before, procfs = interrupted_delete(tmp_path)
    fake.fail_on["type veth"] = "Error: injected refusal."
    with pytest.raises(transaction.JournalError) as info:
        with transaction.Transaction(host, lock=lock):
            raise AssertionError("the task must not run on a half-restored host")
    text = str(info.value)
    assert "could not be restored" in text and "injected refusal" in text
    assert text.count(lock.journal_path) == 2 and os.path.exists(lock.journal_path)
    assert not lock.held


def test_journal_of_a_namespace_that_is_gone_is_discarded(tmp_path, monkeypatch):
    fake, host, lock, before, procfs = interrupted_delete(tmp_path)
    monkeypatch.setattr(transaction, "netns_cookie", lambda: 999999)  # inode reused since
    batches = len(fake.batches)
    with transaction.Transaction(host, lock=lock) as txn:
        pass
    assert len(fake.batches) == batches and txn.recovered is None
    assert not os.path.exists(lock.journal_path)
    assert any("no longer exists" in w for w in txn.warnings)


@pytest.mark.parametrize("content", ["{not json", '{"version": 99}', "[]"])
def test_unreadable_journal_fails_clearly(tmp_path, content):
    fake, host, lock, tied, procfs = journal_rig(tmp_path)
    with open(lock.journal_path, "w") as handle:
        handle.write(content)
    with pytest.raises(transaction.JournalError) as info:
        with transaction.Transaction(host, lock=lock):
            pass
    assert lock.journal_path in str(info.value) and "remove the file" in str(info.value)
    assert fake.batches == [] and not lock.held


def test_transaction_and_restore_import_no_resource():
    # the one write path sits below the resources (it used to import addresses for its restore)
    import ast
    for module in (transaction, restore):
        tree = ast.parse(open(module.__file__).read())
        imported = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                imported.update(alias.name for alias in node.names)
                imported.add((node.module or "").rsplit(".", 1)[-1])
            elif isinstance(node, ast.Import):
                imported.update(alias.name.rsplit(".", 1)[-1] for alias in node.names)
        assert not imported & {"addresses", "interfaces", "sysctls", "resource"}, module.__name__


# ---------------------------------------------------------------------------
# files: written after the runtime verify, restored with it, journalled
# ---------------------------------------------------------------------------
class FlakyText(transaction.TextFiles):
    """TextFiles that fails (ENOSPC) or 'kills' the module at the write of one path."""

    def __init__(self, fail_at=None, kill_at=None):
        self.fail_at, self.kill_at, self.writes = fail_at, kill_at, []

    def write(self, path, text, mode=None):
        self.writes.append(path)
        if path == self.kill_at:
            raise Killed()
        if path == self.fail_at:
            raise transaction.FileWriteError("could not write %s: No space left on device" % path)
        super(FlakyText, self).write(path, text, mode)


def file_rig(tmp_path, text):
    fake, host, lock, tied, procfs = journal_rig(tmp_path)
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "a.network").write_text("old a\n")
    host.text = text
    files = {str(etc / "a.network"): "new a\n", str(etc / "b.yaml"): "new b\n",
             str(etc / "same.conf"): None}
    ops = [planner.link_set("eth0", "alias", "x"), planner.SysctlOp("ipv4", "eth0", "rp_filter", 1)]
    return fake, host, lock, procfs, etc, files, planner.order(ops)


def test_files_are_written_after_verify_atomically_with_their_modes(tmp_path):
    fake, host, lock, procfs, etc, files, ops = file_rig(tmp_path, FlakyText())
    order = []
    with transaction.Transaction(host, lock=lock) as txn:
        txn.read()

        def verify(facts):
            order.append(("verify", list(host.text.writes)))
            return []
        txn.apply(ops, verify, files=files)
    assert order == [("verify", [])]  # nothing written before the runtime was verified
    # unchanged files (absent and to be absent) are not touched
    assert host.text.writes == [str(etc / "a.network"), str(etc / "b.yaml")]
    assert (etc / "a.network").read_text() == "new a\n"
    assert os.stat(str(etc / "a.network")).st_mode & 0o777 == 0o644
    assert os.stat(str(etc / "b.yaml")).st_mode & 0o777 == 0o600  # netplan
    assert sorted(os.listdir(str(etc))) == ["a.network", "b.yaml"]  # no temporary files


def test_file_write_failure_restores_runtime_and_files_written_before(tmp_path):
    fake, host, lock, procfs, etc, files, ops = file_rig(
        tmp_path, FlakyText(fail_at=None))
    host.text.fail_at = str(etc / "b.yaml")  # a.network is written first, then the disk is full
    before = comparable(fake.snapshot())
    with transaction.Transaction(host, lock=lock) as txn:
        txn.read()
        with pytest.raises(transaction.TransactionError) as info:
            txn.apply(ops, lambda facts: [], files=files)
    assert "No space left on device" in str(info.value)
    assert info.value.to_result()["restored"] is True
    assert "restore %s" % (etc / "a.network") in info.value.restored
    assert (etc / "a.network").read_text() == "old a\n"
    assert not (etc / "b.yaml").exists()
    assert comparable(fake.snapshot()) == before
    assert (procfs / "ipv4" / "conf" / "eth0" / "rp_filter").read_text().strip() == "0"
    assert not os.path.exists(lock.journal_path)


def test_unwritable_directory_restores_runtime(tmp_path):
    fake, host, lock, procfs, etc, files, ops = file_rig(tmp_path, transaction.TextFiles())
    files = {str(tmp_path / "missing" / "c.network"): "new c\n"}  # no such directory
    before = comparable(fake.snapshot())
    with transaction.Transaction(host, lock=lock) as txn:
        txn.read()
        with pytest.raises(transaction.TransactionError) as info:
            txn.apply(ops, lambda facts: [], files=files)
    assert "could not write %s" % files.popitem()[0] in str(info.value)
    assert comparable(fake.snapshot()) == before


def test_a_crash_between_the_file_writes_is_recovered_with_the_runtime(tmp_path):
    fake, host, lock, procfs, etc, files, ops = file_rig(tmp_path, FlakyText())
    host.text.kill_at = str(etc / "b.yaml")  # killed after a.network was replaced
    before = comparable(fake.snapshot())
    with pytest.raises(Killed):
        with transaction.Transaction(host, lock=lock) as txn:
            txn.read()
            txn.apply(ops, lambda facts: [], files=files)
    assert (etc / "a.network").read_text() == "new a\n"
    with open(lock.journal_path) as handle:
        assert json.load(handle)["files"] == {str(etc / "a.network"): "old a\n",
                                              str(etc / "b.yaml"): None}
    host.text = transaction.TextFiles()
    with transaction.Transaction(host, lock=lock) as txn:
        pass
    assert (etc / "a.network").read_text() == "old a\n" and not (etc / "b.yaml").exists()
    assert comparable(fake.snapshot()) == before
    assert "restore %s" % (etc / "a.network") in txn.recovered["restore_commands"]
    assert not os.path.exists(lock.journal_path)


def test_files_alone_change_without_a_batch(tmp_path):
    fake, host, lock, procfs, etc, files, ops = file_rig(tmp_path, transaction.TextFiles())
    with transaction.Transaction(host, lock=lock) as txn:
        txn.read()
        txn.apply([], lambda facts: [], files=files)
    assert fake.batches == [] and (etc / "b.yaml").read_text() == "new b\n"


def test_text_files_replace_atomically_and_keep_the_old_file_on_failure(tmp_path, monkeypatch):
    text = transaction.TextFiles()
    path = str(tmp_path / "90-x.conf")
    text.write(path, "old\n")

    def boom(src, dst):
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(os, "rename", boom)
    with pytest.raises(transaction.FileWriteError):
        text.write(path, "new\n")
    assert text.read(path) == "old\n" and os.listdir(str(tmp_path)) == ["90-x.conf"]
    monkeypatch.undo()
    text.write(path, None)
    assert text.read(path) is None
    text.write(path, None)  # removing an absent file is fine
