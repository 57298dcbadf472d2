# -*- coding: utf-8 -*-
"""persist: true of interfaces and addresses through Runner and Transaction (fake kernel,
files under a temporary root): planned with the ops, written after the verify, shown in
check mode and diff, refused before any change when the backend or a foreign file says so."""

import os

import pytest

from ansible_collections.hostnet.netif.plugins.module_utils import linkfiles, resource, transaction
from ansible_collections.hostnet.netif.plugins.module_utils.addresses import AddressesResource
from ansible_collections.hostnet.netif.plugins.module_utils.errors import InputError
from ansible_collections.hostnet.netif.plugins.module_utils.interfaces import InterfacesResource

from netif_fakeip import FakeIp, NoSysfs

make = FakeIp.make_link
SSH = "198.18.0.1 50000 198.18.0.10 22"
NET = os.path.join("etc", "systemd", "network")


def links():
    """Loopback, eth0 carrying the management session, and a bridge to attach to."""
    forever = 4294967295
    session = dict(family="inet", local="198.18.0.10", prefixlen=24, scope="global",
                   valid_life_time=forever, preferred_life_time=forever)
    loopback = make("lo", mtu=65536, flags=["LOOPBACK", "UP", "LOWER_UP"],
                    mac="00:00:00:00:00:00", link_type="loopback")
    return [loopback, make("eth0", up=True, addresses=[session]), make("br0", "bridge", up=True)]


class Rig:
    def __init__(self, tmp_path, networkd=True):
        self.root = tmp_path / "root"
        (self.root / NET).mkdir(parents=True)
        if networkd:
            binary = self.root / "lib" / "systemd" / "systemd-networkd"
            binary.parent.mkdir(parents=True)
            binary.write_text("")
        self.lock_path = str(tmp_path / "ns.lock")
        self.fake = FakeIp(links(), routes={"198.18.0.1": {"dst": "198.18.0.1", "dev": "eth0",
                                                           "prefsrc": "198.18.0.10"}})
        self.host = transaction.Host(self.fake.run, FakeIp.IP, environ={"SSH_CONNECTION": SSH},
                                     files=NoSysfs())

    def run(self, config, state="merged", resource_cls=InterfacesResource, check_mode=False,
            diff=False, backend="auto", **kwargs):
        params = dict(state=state, config=config, running_config=None, scope=None, force=False,
                      persist=True, persist_backend=backend)
        params.update(kwargs)
        persist = linkfiles.link_files(params, root=str(self.root))
        lock = transaction.HostLock(self.lock_path, timeout=5)
        return resource.Runner(resource_cls(persist=persist), params, host=self.host,
                               check_mode=check_mode, diff=diff, lock=lock).run()

    def files(self):
        directory = self.root / NET
        return dict((name, (directory / name).read_text()) for name in sorted(os.listdir(str(directory))))


@pytest.fixture
def rig(tmp_path):
    return Rig(tmp_path)


VETH = [{"name": "pa", "kind": "veth", "peer": "pb", "mtu": 1400, "enabled": True},
        {"name": "pb", "master": "br0", "enabled": True}]


def test_create_persists_the_interfaces_and_a_second_run_changes_nothing(rig):
    first = rig.run(VETH)
    files = rig.files()
    assert first["changed"] is True
    assert set(files) >= {"50-hostnet-pa.netdev", "50-hostnet-pa.network", "50-hostnet-pb.network"}
    assert "MTUBytes=1400" in files["50-hostnet-pa.network"]
    assert "Bridge=br0" in files["50-hostnet-pb.network"]
    written = dict((os.path.basename(f["path"]), f["changed"]) for f in first["files"])
    assert written["50-hostnet-pa.netdev"] is True
    assert os.stat(str(rig.root / NET / "50-hostnet-pa.network")).st_mode & 0o777 == 0o644
    second = rig.run(VETH)
    assert second["changed"] is False and second["commands"] == []
    assert not any(f["changed"] for f in second.get("files", ())) and rig.files() == files


def test_check_mode_shows_the_files_and_writes_nothing(rig):
    checked = rig.run(VETH, check_mode=True, diff=True)
    assert rig.files() == {} and rig.fake.batches == []
    headers = [d.get("after_header") for d in checked["diff"]]
    assert str(rig.root / NET / "50-hostnet-pa.network") in headers
    entry = next(d for d in checked["diff"] if d.get("after_header", "").endswith("pa.network"))
    assert entry["before_header"].endswith("(absent)") and "MTUBytes=1400" in entry["after"]
    done = rig.run(VETH, diff=True)  # the real run writes what check mode showed, plus
    # what only the kernel decides (the MAC it gave the new veth)

    def known(text):
        return [line for line in text.splitlines() if not line.startswith("MACAddress=")]
    assert known(rig.files()["50-hostnet-pa.network"]) == known(entry["after"])
    assert done["changed"] is True


def test_deleting_an_interface_removes_its_files(rig):
    rig.run(VETH)
    result = rig.run([{"name": "pa", "kind": "veth"}], state="deleted", diff=True)
    assert not any(name.startswith(("50-hostnet-pa.", "50-hostnet-pb.")) for name in rig.files())
    assert any(d.get("after_header", "").endswith("(removed)") for d in result["diff"])


def test_addresses_persist_into_the_network_file(rig):
    rig.run(VETH)
    result = rig.run([{"name": "pa", "addresses": ["198.18.7.1/24"]}],
                     resource_cls=AddressesResource)
    assert result["changed"] is True
    assert "Address=198.18.7.1/24" in rig.files()["50-hostnet-pa.network"]


def test_hand_edited_own_file_is_overwritten_with_the_diff_shown(rig):
    rig.run(VETH)
    path = rig.root / NET / "50-hostnet-pa.network"
    good = path.read_text()
    path.write_text(good.replace("MTUBytes=1400", "MTUBytes=1300"))
    result = rig.run(VETH, diff=True)
    assert path.read_text() == good and result["changed"] is True
    entry = next(d for d in result["diff"] if d.get("after_header") == str(path))
    assert "MTUBytes=1300" in entry["before"] and "MTUBytes=1400" in entry["after"]


def test_foreign_file_fails_before_any_change_naming_it(rig):
    foreign = rig.root / NET / "10-mine.network"
    foreign.write_text("[Match]\nName=pa\n\n[Network]\nAddress=198.18.9.1/24\n")
    with pytest.raises(InputError) as info:
        rig.run(VETH)
    assert info.value.path == "persist" and "10-mine.network" in str(info.value)
    assert rig.fake.batches == [] and "pa" not in rig.fake.links


def test_no_backend_fails_before_any_change_naming_the_choices(tmp_path):
    rig = Rig(tmp_path, networkd=False)
    for backend in ("auto", "networkd", "netplan"):
        with pytest.raises(InputError) as info:
            rig.run(VETH, backend=backend)
        assert info.value.path == "persist_backend"
    assert "networkd" in str(info.value) and "netplan" in str(info.value)
    assert rig.fake.batches == []


def test_file_write_failure_restores_runtime_and_files(rig, monkeypatch):
    rig.run(VETH)
    before_files, before_links = rig.files(), sorted(rig.fake.links)
    real = transaction.TextFiles.write

    def full(self, path, text, mode=None):
        if path.endswith("50-hostnet-pb.network") and text is not None and "MTUBytes=1300" in text:
            raise transaction.FileWriteError("could not write %s: No space left on device" % path)
        real(self, path, text, mode)

    monkeypatch.setattr(transaction.TextFiles, "write", full)
    with pytest.raises(transaction.TransactionError) as info:
        rig.run([{"name": "pa", "mtu": 1300}, {"name": "pb", "mtu": 1300}])
    assert "No space left" in str(info.value) and info.value.to_result()["restored"] is True
    assert rig.files() == before_files and sorted(rig.fake.links) == before_links
    assert rig.fake.links["pa"]["mtu"] == 1400
