"""Proof by reboot: persist.plan_files' files give, after a real boot, the state they were made from.

No transaction here (the modules' persist option has its own tests): the state is built
with ``ip`` inside a lab host, gathered with the real interface_facts module, turned into
files by ``persist.plan_files`` in this process and written under the host's own /etc
(/etc/netns/<ns>/). Then Lab.reboot (fresh namespace, the real systemd-networkd, netplan
generate --root-dir) and ``ip -json`` must show every persisted field as before; udev's
part of a boot (.link files) is done with ``udevadm test-builtin net_setup_link`` on the
links networkd created. The boot facts must predict the same.
"""

from __future__ import annotations

import os
import random
import shutil
import tempfile
from pathlib import Path

import pytest

from ansible_collections.hostnet.netif.plugins.module_utils import persist
from tests.integration.test_interface_facts import facts_via_ansible

pytestmark = [
    pytest.mark.skipif(not os.path.exists("/lib/systemd/systemd-networkd"),
                       reason="systemd-networkd is not installed"),
]

NAMES = ("pa", "pb", "pbr", "pmv", "pvx", "pvy")
NETPLAN_CANNOT = {"pa": "veth (netplan 0.106 refuses virtual-ethernets)",
                  "pb": "veth (netplan 0.106 refuses virtual-ethernets)",
                  "pmv": "macvlan (netplan has no macvlan)",
                  "pvx": "vxlan on the veth pa, which netplan cannot create"}


@pytest.fixture(scope="module")
def built(lab_factory):
    """One lab host with every kind this kernel creates, each field set by ip."""
    lab = lab_factory(hosts=1, etc=True)
    host = lab.hosts[0]
    n = random.randint(1, 250)
    tag = "%02x" % random.randint(16, 254)
    ip = ["ip"]
    steps = [
        ["link", "add", "pa", "type", "veth", "peer", "name", "pb"],
        ["link", "add", "pbr", "type", "bridge"],
        ["link", "add", "pmv", "link", "pa", "type", "macvlan", "mode", "private"],
        ["link", "add", "pvx", "type", "vxlan", "id", "42", "local", f"198.19.{n}.1",
         "remote", f"198.19.{n}.9", "dstport", "4789", "dev", "pa"],
        ["link", "add", "pvy", "type", "vxlan", "id", "43", "local", f"198.19.{n}.1", "dstport", "4790"],
        ["link", "set", "pa", "mtu", "1400", "address", f"02:00:c6:13:{tag}:01", "txqueuelen", "500",
         "alias", "persisted by test"],
        ["link", "set", "pb", "master", "pbr", "mtu", "1400"],
        ["link", "set", "pvy", "master", "pbr", "mtu", "1400"],
        ["link", "set", "pbr", "mtu", "1400", "address", f"02:00:c6:13:{tag}:02"],
        ["link", "set", "pvx", "mtu", "1350"],
        ["addr", "add", f"198.19.{n}.1/24", "dev", "pa"],
        ["addr", "add", f"198.19.{n}.2/24", "dev", "pmv", "label", "pmv:lbl"],
        ["addr", "add", f"198.19.{(n + 1) % 256}.1/24", "brd", "+", "dev", "pbr"],
        ["addr", "add", f"::ffff:198.19.{(n + 1) % 256}.1/120", "dev", "pbr"],
    ]
    for step in steps[:5]:
        lab.exec(host, ip + step)
    # no kernel link-local (the lab's links have no IPv6); pbr gets IPv6 for its mapped address
    for name in NAMES:
        lab.write_proc(host, f"/proc/sys/net/ipv6/conf/{name}/addr_gen_mode", "1")
    lab.write_proc(host, "/proc/sys/net/ipv6/conf/pbr/disable_ipv6", "0")
    for step in steps[5:]:
        lab.exec(host, ip + step)
    for name in ("pa", "pb", "pbr", "pmv", "pvy"):  # pvx stays down: enabled false
        lab.exec(host, ["ip", "link", "set", name, "up"])
    facts, _result = facts_via_ansible(lab, host, "gather_subset=links,addresses")
    before = _state(lab, host)
    return lab, host, facts["interfaces"], before


def _state(lab, host):
    """Every persisted field as ip -json -d shows it, per interface."""
    state = {}
    for link in lab.ip_json(host, "-d", "addr", "show"):
        name = link["ifname"]
        if name not in NAMES:
            continue
        info = link.get("linkinfo") or {}
        data = info.get("info_data") or {}
        state[name] = {
            "kind": info.get("info_kind"),
            "mtu": link["mtu"],
            "mac": link.get("address"),
            "master": link.get("master"),
            "up": "UP" in link["flags"],
            "txqueuelen": link.get("txqlen"),
            "alias": link.get("ifalias"),
            "peer_or_parent": link.get("link"),
            "kind_data": {k: data.get(k) for k in ("mode", "id", "local", "remote", "port", "link")
                          if k in data},
            "addresses": sorted((a["family"], a["local"], a["prefixlen"], a.get("label"), a.get("broadcast"))
                                for a in link.get("addr_info", []) if a.get("scope") != "link"),
        }
    return state


def _root_for(lab, host):
    """A directory whose etc/ is the host's own /etc entries (plan_files' root)."""
    root = Path(tempfile.mkdtemp(prefix="persist-", dir=lab.workdir))
    os.symlink(lab.etc_dir(host), root / "etc")
    return root


def _apply(writes):
    for path, value in writes.items():
        if value is None:
            os.unlink(path)
            continue
        text, mode = value
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(text)
        os.chmod(path, mode)


def _udev(lab, host, names):
    """What udev does at a real boot for each new link: apply its .link file."""
    for name in names:
        lab.exec(host, ["udevadm", "test-builtin", "net_setup_link", f"/sys/class/net/{name}"])


def _check_boot_facts(lab, host, before, names):
    boot = facts_via_ansible(lab, host, "gather_subset=links,boot")[0]["boot"]["interfaces"]
    for name in names:
        record, want = boot[name], before[name]
        assert record["kind"] == want["kind"], name
        assert record["mtu"] == want["mtu"], name
        assert record["mac"] == want["mac"], name
        assert record["master"] == want["master"], name
        assert record["enabled"] == want["up"], name
        assert sorted(record["addresses"]) == sorted("%s/%s" % (a[1], a[2]) for a in want["addresses"]), name


def test_networkd_files_survive_a_reboot(built):
    lab, host, after, before = built
    root = _root_for(lab, host)
    try:
        assert persist.foreign_files(NAMES, str(root)) == {}
        writes, warnings = persist.plan_files("networkd", after, NAMES, str(root))
        assert sorted(os.path.basename(p) for p in writes) == sorted(
            ["50-hostnet-pa.netdev", "50-hostnet-pa.link"]
            + ["50-hostnet-%s.network" % name for name in NAMES]
            + ["50-hostnet-%s.netdev" % name for name in ("pbr", "pmv", "pvx", "pvy")])
        assert warnings == []
        _apply(writes)
        assert persist.plan_files("networkd", after, NAMES, str(root)) == ({}, [])  # idempotent
        _check_boot_facts(lab, host, before, NAMES)
        states = lab.reboot(host)
        assert set(_state(lab, host)) == set(NAMES), states
        _udev(lab, host, NAMES)
        rebooted = _state(lab, host)
        for name in NAMES:
            assert rebooted[name] == before[name], (name, states["stderr"][-2000:])
        assert (before["pa"]["peer_or_parent"], before["pmv"]["peer_or_parent"],
                before["pvx"]["kind_data"]["link"]) == ("pb", "pa", "pa")

        # deleting the macvlan: its files go, its parent's .network stops creating it
        lab.exec(host, ["ip", "link", "del", "pmv"])
        remaining = {name: record for name, record in after.items() if name != "pmv"}
        writes, warnings = persist.plan_files("networkd", remaining, ["pmv"], str(root))
        assert sorted((os.path.basename(p), v is None) for p, v in writes.items()) == [
            ("50-hostnet-pa.network", False), ("50-hostnet-pmv.netdev", True),
            ("50-hostnet-pmv.network", True)] and warnings == []
        _apply(writes)
        lab.reboot(host)
        _udev(lab, host, set(NAMES) - {"pmv"})
        assert _state(lab, host) == {name: before[name] for name in NAMES if name != "pmv"}
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_netplan_file_survives_a_reboot(built):
    lab, host, after, before = built
    root = _root_for(lab, host)
    network = lab.etc_dir(host) / "systemd" / "network"
    try:
        for path in network.glob("50-hostnet-*"):
            path.unlink()
        writes, warnings = persist.plan_files("netplan", after, NAMES, str(root))
        path = str(root / "etc" / "netplan" / "60-hostnet-netif.yaml")
        assert list(writes) == [path] and writes[path][1] == 0o600
        text = "\n".join(warnings)
        assert "pa.kind is not persisted: netplan 0.106 (Debian 12) refuses virtual-ethernets" in text
        assert "pmv.kind is not persisted: netplan has no macvlan devices" in text
        assert "pa.alias" in text and "pa.txqueuelen" in text
        _apply(writes)
        assert persist.plan_files("netplan", after, NAMES, str(root)) == ({}, warnings)
        states = lab.reboot(host, netplan=True)
        assert states["netplan"]["rc"] == 0, states["netplan"]
        rebooted = _state(lab, host)
        checked = sorted(set(NAMES) - set(NETPLAN_CANNOT))
        assert sorted(rebooted) == checked, ("skipped, netplan cannot create: %s" % NETPLAN_CANNOT)
        for name in checked:
            assert rebooted[name] == before[name], (name, states["stderr"][-2000:])
        _check_boot_facts(lab, host, before, checked)
    finally:
        shutil.rmtree(root, ignore_errors=True)
