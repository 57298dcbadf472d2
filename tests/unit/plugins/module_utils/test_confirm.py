# -*- coding: utf-8 -*-
"""confirm (issue #11): windows armed by the transaction, joined steps, the watchdog's
restore and log, confirm, on a fake kernel (tests/integration/test_commit_confirm.py does
it over SSH with a real watchdog process)."""

import json
import os
import time

import pytest

from ansible_collections.hostnet.netif.plugins.module_utils import confirm, planner, resource
from ansible_collections.hostnet.netif.plugins.module_utils import transaction
from ansible_collections.hostnet.netif.plugins.module_utils.errors import InputError
from ansible_collections.hostnet.netif.plugins.module_utils.interfaces import (
    CONFIG_OPTIONS,
    InterfacesResource,
)

from netif_fakeip import FakeIp, NoSysfs

make = FakeIp.make_link
SSH = "198.18.0.1 40000 198.18.0.10 22"


def links():
    return [
        make("lo", mtu=65536, flags=["LOOPBACK", "UP", "LOWER_UP"], mac="00:00:00:00:00:00",
             link_type="loopback"),
        make("eth0", up=True),
        make("br0", "bridge", up=True),
        make("va", "veth", parent="vb", master="br0", up=True),
        make("vb", "veth", parent="va", up=True),
    ]


def comparable(snapshot):
    return dict((name, dict((k, v) for k, v in link.items() if k != "ifindex"))
                for name, link in snapshot.items())


class Rig:
    def __init__(self, tmp_path, monkeypatch):
        self.fake = FakeIp(links())
        self.host = transaction.Host(self.fake.run, FakeIp.IP, environ={"SSH_CONNECTION": SSH},
                                     files=NoSysfs())
        self.lock_path = str(tmp_path / "ns.lock")
        self.spawned = []
        self.stopped = []
        monkeypatch.setattr(confirm, "spawn_watchdog", self._spawn)
        monkeypatch.setattr(confirm, "watchdog_alive", lambda pid, wid: pid in self.spawned)
        monkeypatch.setattr(confirm, "stop_watchdog", lambda pid, wid: self.stopped.append(pid))

    def _spawn(self, lock, window_id, ip_path, python=None):
        self.spawned.append(1000 + len(self.spawned))
        return self.spawned[-1]

    def lock(self):
        return transaction.HostLock(self.lock_path, timeout=1)

    def journal(self):
        path = self.lock().journal_path
        if not os.path.exists(path):
            return None
        with open(path) as handle:
            return json.load(handle)

    def apply(self, ops, window, verify=lambda facts: [], files=None):
        with transaction.Transaction(self.host, lock=self.lock(), window=window) as txn:
            txn.read()
            txn.apply(planner.order(ops), verify, files=files)
            return txn


@pytest.fixture
def rig(tmp_path, monkeypatch):
    return Rig(tmp_path, monkeypatch)


@pytest.mark.parametrize("params, path", [
    ({"confirm_timeout": 9}, "confirm_timeout"),
    ({"confirm_timeout": 3601}, "confirm_timeout"),
    ({"confirm_timeout": True}, "confirm_timeout"),
    ({"confirm_timeout": 0, "confirm_window": "w"}, "confirm_window"),
    ({"confirm_timeout": 10, "confirm_window": "a/b"}, "confirm_window"),
    ({"confirm_timeout": 10, "confirm_window": "x" * 65}, "confirm_window"),
])
def test_bad_window_parameters_name_the_field(params, path):
    with pytest.raises(InputError) as info:
        confirm.Window.from_params(params)
    assert info.value.path == path


def test_window_parameters():
    assert confirm.Window.from_params({"confirm_timeout": 0}) is None
    assert confirm.Window.from_params({}) is None
    own = confirm.Window.from_params({"confirm_timeout": 10})
    assert own.timeout == 10 and not own.joined and len(own.id) == 16
    joined = confirm.Window.from_params({"confirm_timeout": 3600, "confirm_window": "role-1"})
    assert joined.id == "role-1" and joined.joined
    # persist goes with a window: the watchdog restores the persisted files too
    assert confirm.Window.from_params({"confirm_timeout": 10, "persist": True}).timeout == 10


def test_apply_with_a_window_keeps_the_journal_armed(rig):
    window = confirm.Window(10, "w1", environ={"SSH_CONNECTION": SSH})
    before = time.time()
    rig.apply([planner.link_set("va", "mtu", 1400, current_mtu=1500)], window)
    record = rig.journal()
    armed = record["window"]
    assert armed["id"] == "w1" and armed["watchdog"] == 1000 and armed["steps"] == 1
    assert before + 10 <= armed["deadline"] <= time.time() + 10
    assert armed["armed_by"] == SSH and record["interfaces"]["va"]["mtu"] == 1500
    assert window.result["armed"] is True and window.result["deadline"] == armed["deadline_utc"]
    assert rig.fake.links["va"]["mtu"] == 1400  # the change is in place, armed


def test_without_a_window_the_journal_goes(rig):
    rig.apply([planner.link_set("va", "mtu", 1400, current_mtu=1500)], None)
    assert rig.journal() is None and rig.spawned == []


def test_steps_of_one_window_merge_into_one_snapshot_and_one_watchdog(rig):
    original = comparable(rig.fake.snapshot())
    rig.apply([planner.link_set("va", "mtu", 1400, current_mtu=1500)], confirm.Window(10, "r"))
    rig.apply([planner.link_set("va", "mtu", 1300, current_mtu=1400),
               planner.link_set("br0", "mtu", 1300, current_mtu=1500)], confirm.Window(10, "r"))
    record = rig.journal()
    assert rig.spawned == [1000] and record["window"]["steps"] == 2
    assert record["interfaces"]["va"]["mtu"] == 1500  # what the window first saw wins
    assert set(record["names"]) >= {"va", "br0"} and len(record["commands"]) == 3
    # the window's restore takes both steps back
    lock = rig.lock()
    lock.acquire()
    try:  # what the watchdog does (entering a Transaction refuses: the window is open)
        transaction.Transaction(rig.host, lock=lock).restore_journal(record, [])
    finally:
        lock.release()
    assert comparable(rig.fake.snapshot()) == original and rig.journal() is None


def test_a_failed_step_puts_the_window_back(rig):
    rig.apply([planner.link_set("va", "mtu", 1400, current_mtu=1500)], confirm.Window(10, "r"))
    first = rig.journal()
    with pytest.raises(transaction.TransactionError):
        rig.apply([planner.link_set("br0", "mtu", 1300, current_mtu=1500)],
                  confirm.Window(10, "r"), verify=lambda facts: ["br0 mtu"])
    assert rig.journal() == first and rig.stopped == []
    assert rig.fake.links["br0"]["mtu"] == 1500


def test_a_failed_task_of_its_own_window_leaves_no_journal_nor_watchdog(rig):
    with pytest.raises(transaction.TransactionError):
        rig.apply([planner.link_set("br0", "mtu", 1300, current_mtu=1500)],
                  confirm.Window(10, "own"), verify=lambda facts: ["br0 mtu"])
    assert rig.journal() is None and rig.stopped == [1000]


def test_no_second_change_during_a_window_then_the_next_run_restores_an_expired_one(rig):
    rig.apply([planner.link_set("va", "mtu", 1400, current_mtu=1500)], confirm.Window(10, "w1"))
    with pytest.raises(confirm.WindowError) as info:
        rig.apply([planner.link_set("br0", "mtu", 1300, current_mtu=1500)], None)
    assert "window w1" in str(info.value) and "no second change" in str(info.value)
    with pytest.raises(confirm.WindowError):
        rig.apply([planner.link_set("br0", "mtu", 1300, current_mtu=1500)],
                  confirm.Window(10, "w2"))
    assert rig.fake.links["br0"]["mtu"] == 1500
    # check mode only warns
    with transaction.Transaction(rig.host, lock=rig.lock(), check_mode=True) as txn:
        assert any("window w1" in w and "is open" in w for w in txn.warnings)
    # expired and its watchdog did not restore it (killed): the next run does
    record = rig.journal()
    record["window"]["deadline"] = time.time() - 1
    transaction.Journal(rig.lock().journal_path).write(record)
    txn = rig.apply([planner.link_set("br0", "mtu", 1300, current_mtu=1500)], None)
    assert txn.recovered["window"] == "w1" and rig.fake.links["va"]["mtu"] == 1500
    assert rig.fake.links["br0"]["mtu"] == 1300


def test_check_mode_arms_nothing(rig):
    runner = resource.Runner(InterfacesResource(), dict(
        state="merged", config=[dict((k, {"name": "va", "mtu": 1400}.get(k))
                                     for k in CONFIG_OPTIONS)],
        running_config=None, scope=None, force=False, confirm_timeout=10, confirm_window=None),
        host=transaction.Host(rig.fake.run, FakeIp.IP, environ={}, files=NoSysfs()),
        check_mode=True, lock=rig.lock())
    result = runner.run()
    assert result["changed"] and result["confirm"]["armed"] is False
    assert rig.journal() is None and rig.spawned == []


def watchdog(rig, monkeypatch, window_id, now):
    host = rig.host
    monkeypatch.setattr(confirm.txn_mod, "Host", lambda run, ip, environ, tied_run: host)
    return confirm.watchdog_main(["mark", "/nowhere", rig.lock_path, window_id, FakeIp.IP],
                                 clock=lambda: now, sleep=lambda s: pytest.fail("slept"))


def test_watchdog_restores_at_the_deadline_and_the_next_run_reports_it(rig, monkeypatch):
    original = comparable(rig.fake.snapshot())
    rig.apply([planner.link_set("va", "mtu", 1400, current_mtu=1500)], confirm.Window(10, "w"))
    deadline = rig.journal()["window"]["deadline"]
    assert watchdog(rig, monkeypatch, "w", deadline + 0.1) == 0
    assert comparable(rig.fake.snapshot()) == original and rig.journal() is None
    with pytest.raises(confirm.WindowError) as info:  # a confirm after it: clearly expired
        confirm.confirm("w", environ={}, lock=rig.lock())
    assert "window w expired at" in str(info.value) and "restored" in str(info.value)
    journal = transaction.Journal(rig.lock().journal_path)
    journal.write({"version": transaction.JOURNAL_VERSION, "pid": 1, "netns": {}, "names": [],
                   "created": [], "interfaces": {}, "sysctl": [], "commands": [],
                   "window": {"id": "w2", "deadline": time.time() + 60}})
    with pytest.raises(confirm.WindowError):  # refused during w2: the log waits
        rig.apply([planner.link_set("br0", "mtu", 1300, current_mtu=1500)], None)
    assert os.path.exists(confirm.log_path(rig.lock()))
    journal.remove()
    txn = rig.apply([planner.link_set("br0", "mtu", 1300, current_mtu=1500)], None)
    assert [e["event"] for e in txn.confirm_log] == ["restored"]
    assert txn.confirm_log[0]["restore_commands"] == ["link set dev va mtu 1500"]
    assert txn.confirm_log[0]["window"] == "w"
    assert any("was not confirmed by its deadline" in w for w in txn.warnings)
    assert not os.path.exists(confirm.log_path(rig.lock()))  # reported once


def test_watchdog_restores_the_files_of_every_step_to_before_the_window(
        rig, monkeypatch, tmp_path):
    """persist with a window: two steps write files; the watchdog puts back what the files
    were before the window (a path both steps wrote: the first step's old content; a file
    the window created: removed), with the runtime."""
    etc = tmp_path / "etc"
    etc.mkdir()
    kept, both, new = (str(etc / name) for name in ("10-kept.network", "20-both.network",
                                                    "30-new.network"))
    for path, text in ((kept, "kept before\n"), (both, "both before\n")):
        with open(path, "w") as handle:
            handle.write(text)
    original = comparable(rig.fake.snapshot())
    rig.apply([planner.link_set("va", "mtu", 1400, current_mtu=1500)], confirm.Window(10, "p"),
              files={kept: "kept step 1\n", both: "both step 1\n"})
    rig.apply([planner.link_set("br0", "mtu", 1300, current_mtu=1500)], confirm.Window(10, "p"),
              files={both: "both step 2\n", new: ("new step 2\n", 0o600)})
    record = rig.journal()
    assert record["window"]["steps"] == 2
    assert record["files"] == {kept: "kept before\n", both: "both before\n", new: None}
    with open(both) as handle:
        assert handle.read() == "both step 2\n"
    deadline = record["window"]["deadline"]
    assert watchdog(rig, monkeypatch, "p", deadline + 0.1) == 0
    assert comparable(rig.fake.snapshot()) == original and rig.journal() is None
    for path, text in ((kept, "kept before\n"), (both, "both before\n")):
        with open(path) as handle:
            assert handle.read() == text
    assert sorted(os.listdir(str(etc))) == ["10-kept.network", "20-both.network"]
    log = confirm.read_log(rig.lock())
    assert "remove %s" % new in log[0]["restore_commands"]
    assert "restore %s" % both in log[0]["restore_commands"]


def test_merge_records_keeps_the_first_content_of_a_file():
    armed = {"names": [], "created": [], "interfaces": {}, "sysctl": [], "commands": ["a"],
             "files": {"/x": "x0", "/y": None}, "pid": 1}
    new = {"names": [], "created": [], "interfaces": {}, "sysctl": [], "commands": ["b"],
           "files": {"/x": "x1", "/z": "z1"}, "pid": 2}
    merged = confirm.merge_records(armed, new)
    assert merged["files"] == {"/x": "x0", "/y": None, "/z": "z1"}
    assert armed["files"] == {"/x": "x0", "/y": None}  # the armed record is not changed


def test_watchdog_of_a_confirmed_window_just_ends(rig, monkeypatch):
    rig.apply([planner.link_set("va", "mtu", 1400, current_mtu=1500)], confirm.Window(10, "w"))
    result = confirm.confirm("w", environ={"SSH_CONNECTION": "x 41000 y 22"}, lock=rig.lock())
    assert result["confirmed"] and result["confirmed_by"] == "x 41000 y 22"
    assert result["armed_by"] is None and rig.stopped == [1000] and rig.journal() is None
    assert watchdog(rig, monkeypatch, "w", time.time() + 100) == 0
    assert rig.fake.links["va"]["mtu"] == 1400


def test_confirm_of_an_expired_or_unknown_window_fails_clearly(rig):
    with pytest.raises(confirm.WindowError) as info:
        confirm.confirm("nope", environ={}, lock=rig.lock())
    assert "no commit-confirm window nope is armed" in str(info.value)
    rig.apply([planner.link_set("va", "mtu", 1400, current_mtu=1500)], confirm.Window(10, "w"))
    with pytest.raises(confirm.WindowError) as info:
        confirm.confirm("w", environ={}, lock=rig.lock(), clock=lambda: time.time() + 11)
    assert "window w expired at" in str(info.value)
    assert rig.journal() is not None  # the watchdog restores it


def test_code_root_finds_the_zip_or_directory():
    path = os.sep.join(["", "tmp", "p", "payload.zip", "ansible_collections", "hostnet", "netif",
                        "plugins", "module_utils", "confirm.py"])
    assert confirm.code_root(path) == "/tmp/p/payload.zip"
    with pytest.raises(OSError):
        confirm.code_root("/somewhere/else.py")


def test_the_watchdog_runs_detached_from_its_own_copy_and_ends_when_confirmed(tmp_path):
    """A real watchdog process (spawned as the module spawns it): own session, no
    inherited lock, gone within about a second once its window's journal is gone."""
    lock = transaction.HostLock(str(tmp_path / "ns.lock"), timeout=1)
    journal = transaction.Journal(lock.journal_path)
    journal.write({"version": transaction.JOURNAL_VERSION, "pid": os.getpid(), "netns": {},
                   "names": [], "created": [], "interfaces": {}, "sysctl": [], "commands": [],
                   "window": {"id": "real", "deadline": time.time() + 3600}})
    pid = confirm.spawn_watchdog(lock, "real", "/nonexistent/ip")
    try:
        deadline = time.time() + 10
        while time.time() < deadline and not confirm.watchdog_alive(pid, "real"):
            time.sleep(0.05)
        assert confirm.watchdog_alive(pid, "real")
        assert os.getsid(pid) == pid  # its own session: the SSH session's end does not reach it
        time.sleep(1.5)
        assert confirm.watchdog_alive(pid, "real")  # armed, deadline far: it waits
        journal.remove()  # what a confirm does (besides SIGTERM)
        deadline = time.time() + 5
        while time.time() < deadline and confirm.watchdog_alive(pid, "real"):
            time.sleep(0.05)
        assert not confirm.watchdog_alive(pid, "real")
    finally:
        if confirm.watchdog_alive(pid, "real"):
            os.kill(pid, 9)
        try:
            os.waitpid(pid, 0)
        except OSError:
            pass
