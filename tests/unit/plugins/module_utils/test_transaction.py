# -*- coding: utf-8 -*-
"""transaction: lock, ip -batch error parsing, apply → verify → restore on a fake kernel."""

import os
import threading
import time

import pytest

from ansible_collections.hostnet.netif.plugins.module_utils import planner, transaction
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


def apply_and_expect_restore(fake, ops, verify=lambda facts: []):
    before = comparable(fake.snapshot())
    lock = transaction.HostLock(os.devnull + ".netif-test-never-used", timeout=0)
    lock.acquire = lambda: None
    lock._fd = -1  # pretend held; release is a no-op below
    lock.release = lambda: None
    with transaction.Transaction(host_for(fake), lock=lock) as txn:
        txn.read()
        with pytest.raises(transaction.TransactionError) as info:
            txn.apply(planner.order(ops), verify)
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


def test_restore_failure_reports_both_errors():
    fake = FakeIp(base_links())
    ops = [planner.link_set("eth0", "alias", "new"), planner.link_set("vb", "mtu", 100000 // 2)]
    fake.fail_on["mtu 50000"] = "Error: first failure."
    original_run = fake.run

    def run(argv, data=None):
        if data and "alias" in data and "new" not in data:
            return 1, "", "Error: restore refused.\nCommand failed -:1\n"
        return original_run(argv, data)

    fake.run = run
    lock = transaction.HostLock("/nonexistent/never", timeout=0)
    lock.acquire = lambda: None
    lock._fd = -1
    lock.release = lambda: None
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
    ops = transaction.restore_plan(before["interfaces"], now, {"eth0.5", "b0", "vx"})
    rendered = planner.render(ops)
    assert "link add link eth0 name eth0.5 type vlan id 5" in rendered
    assert "link add name b0 type bond mode 802.3ad" in rendered
    assert "link add name vx type vxlan id 9 dstport 4789 remote 198.18.0.2" in rendered
