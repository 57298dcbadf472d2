"""persist: true through the real modules (one transaction: runtime then files), proved by reboot.

A lab host with its own /etc (``Lab(etc=True)``): hostnet.netif.interfaces, addresses and
sysctls run over SSH with ``persist: true`` (networkd backend, the real
``/lib/systemd/systemd-networkd`` at the reboot), the files land in the host's
/etc/netns/<ns>/ entries, a second run changes no file, check mode writes none, and after
``Lab.reboot`` ``ip -json`` and /proc show every persisted field as verified before. The
namespace and its /etc go with the lab.
"""

from __future__ import annotations

import json
import os
import random
import subprocess

import pytest

from tests.integration.helpers import run_ansible, run_playbook

pytestmark = [
    pytest.mark.skipif(not os.path.exists("/lib/systemd/systemd-networkd"),
                       reason="systemd-networkd is not installed"),
]

NAMES = ("qpa", "qpb", "qbr")


def module(lab, host, name, args, *flags):
    """Run hostnet.netif.<name> ad hoc; the result dict with "failed" and "stderr"."""
    rc, out, err = run_ansible(lab, host.name, "-m", "hostnet.netif." + name, "-a",
                               json.dumps(args), *flags)
    lines = out.splitlines()
    for line_no, line in enumerate(lines):
        if line.startswith(host.name + " | ") and " => " in line:
            result = json.loads("\n".join([line.split(" => ", 1)[1]] + lines[line_no + 1:]))
            result["failed"] = line.split(" | ", 1)[1].startswith("FAILED")
            result["stderr"] = err  # ansible prints the task's warnings there
            return result
    raise AssertionError("no result rc=%s\n%s\n%s" % (rc, out[-3000:], err[-3000:]))


def state(lab, host):
    """The persisted fields as ip -json -d shows them, plus rp_filter from /proc."""
    result = {}
    for link in lab.ip_json(host, "-d", "addr", "show"):
        name = link["ifname"]
        if name not in NAMES:
            continue
        result[name] = {
            "kind": (link.get("linkinfo") or {}).get("info_kind"), "mtu": link["mtu"],
            "mac": link.get("address"), "master": link.get("master"),
            "up": "UP" in link["flags"], "alias": link.get("ifalias"),
            "addresses": sorted((a["family"], a["local"], a["prefixlen"])
                                for a in link.get("addr_info", []) if a.get("scope") != "link"),
            "rp_filter": lab.exec(host, ["cat", "/proc/sys/net/ipv4/conf/%s/rp_filter" % name])
            .stdout.strip(),
        }
    return result


def own_files(lab, host):
    etc = lab.etc_dir(host)
    found = {}
    for sub in ("systemd/network", "sysctl.d"):
        directory = etc / sub
        for path in sorted(directory.iterdir()) if directory.is_dir() else ():
            found["%s/%s" % (sub, path.name)] = path.read_text()
    return found


def test_persisted_tasks_survive_a_reboot_and_rerun_changes_nothing(lab_factory):
    lab = lab_factory(hosts=1, etc=True)
    host = lab.hosts[0]
    n = random.randint(1, 250)
    links = [{"name": "qbr", "kind": "bridge", "enabled": True, "mtu": 1400},
             {"name": "qpa", "kind": "veth", "peer": "qpb", "mtu": 1400, "enabled": True,
              "alias": "persisted by hostnet.netif"},
             {"name": "qpb", "master": "qbr", "enabled": True, "mtu": 1400}]
    addresses = [{"name": "qpa", "addresses": ["198.19.%d.1/24" % n]},
                 {"name": "qbr", "addresses": ["198.19.%d.1/24" % ((n + 1) % 256)]}]
    sysctls = [{"name": "qpa", "ipv4": {"rp_filter": 2}}]
    persist = {"persist": True, "persist_backend": "networkd"}

    # check mode: the files are planned (diff per file), nothing is written or created
    checked = module(lab, host, "interfaces", dict(config=links, **persist), "--check", "--diff")
    assert not checked["failed"], checked
    assert checked["changed"] and any(f["changed"] for f in checked["files"])
    assert own_files(lab, host) == {} and state(lab, host) == {}

    for name, config in (("interfaces", links), ("addresses", addresses), ("sysctls", sysctls)):
        args = dict(config=config, persist=True)
        if name != "sysctls":
            args["persist_backend"] = "networkd"
        result = module(lab, host, name, args, "--diff")
        assert not result["failed"] and result["changed"], (name, result)
    files = own_files(lab, host)
    assert {"systemd/network/50-hostnet-qpa.netdev", "systemd/network/50-hostnet-qpa.network",
            "systemd/network/50-hostnet-qpb.network", "systemd/network/50-hostnet-qbr.netdev",
            "systemd/network/50-hostnet-qbr.network",
            "sysctl.d/90-hostnet-netif.conf"} <= set(files)
    assert "Address=198.19.%d.1/24" % n in files["systemd/network/50-hostnet-qpa.network"]
    assert "Bridge=qbr" in files["systemd/network/50-hostnet-qpb.network"]

    for name, config in (("interfaces", links), ("addresses", addresses)):  # nothing to do
        again = module(lab, host, name, dict(config=config, **persist))
        assert not again["failed"] and again["changed"] is False, (name, again)
        assert not any(f["changed"] for f in again.get("files", ())), again
    assert own_files(lab, host) == files

    before = state(lab, host)
    assert before["qpa"]["rp_filter"] == "2" and before["qpb"]["master"] == "qbr"
    lab.reboot(host)
    for name in NAMES:  # udev's part of a boot: the .link files (the alias is in one)
        lab.exec(host, ["udevadm", "test-builtin", "net_setup_link", "/sys/class/net/" + name])
    after = state(lab, host)
    for name in NAMES:
        assert after[name] == before[name], (name, json.dumps(after[name]), json.dumps(before[name]))

    # deleting the veth removes its files (the peer's too); the bridge's stay
    gone = module(lab, host, "interfaces", dict(config=[{"name": "qpa", "kind": "veth"}],
                                                state="deleted", **persist), "--diff")
    assert not gone["failed"] and gone["changed"], gone
    left = own_files(lab, host)
    assert not any("50-hostnet-qp" in path for path in left), sorted(left)
    assert "systemd/network/50-hostnet-qbr.network" in left


@pytest.mark.skipif(not os.path.exists("/usr/sbin/netplan"), reason="netplan is not installed")
def test_netplan_backend_through_the_modules_survives_a_reboot(lab_factory):
    lab = lab_factory(hosts=1, etc=True)
    host = lab.hosts[0]
    n = random.randint(1, 250)
    persist = {"persist": True, "persist_backend": "netplan"}
    links = [{"name": "qbr", "kind": "bridge", "enabled": True, "mtu": 1400}]
    addresses = [{"name": "qbr", "addresses": ["198.19.%d.1/24" % n]}]
    for name, config in (("interfaces", links), ("addresses", addresses)):
        result = module(lab, host, name, dict(config=config, **persist), "--diff")
        assert not result["failed"] and result["changed"], (name, result)
        assert [f["path"] for f in result["files"]] == ["/etc/netplan/60-hostnet-netif.yaml"]
    path = lab.etc_dir(host) / "netplan" / "60-hostnet-netif.yaml"
    assert os.stat(str(path)).st_mode & 0o777 == 0o600
    assert "198.19.%d.1/24" % n in path.read_text()
    again = module(lab, host, "addresses", dict(config=addresses, **persist))
    assert again["changed"] is False and not any(f["changed"] for f in again["files"]), again
    before = state(lab, host)
    booted = lab.reboot(host, netplan=True)
    assert booted["netplan"]["rc"] == 0, booted["netplan"]
    after = state(lab, host)
    assert after["qbr"] == before["qbr"], (json.dumps(after), json.dumps(before))


def test_configure_role_persists_all_three_steps(lab_factory):
    lab = lab_factory(hosts=1, etc=True)
    host = lab.hosts[0]
    n = random.randint(1, 250)
    variables = {
        "netif_interfaces": [{"name": "qbr", "kind": "bridge", "enabled": True, "mtu": 1400}],
        "netif_addresses": [{"name": "qbr", "addresses": ["198.19.%d.1/24" % n]}],
        "netif_sysctls": [{"name": "qbr", "ipv4": {"rp_filter": 2}}],
        "netif_persist": True, "netif_persist_backend": "networkd",
    }
    playbook = "- ansible.builtin.import_playbook: hostnet.netif.configure\n"
    rc, out, err = run_playbook(lab, playbook, variables)
    assert rc == 0, out[-3000:] + err[-2000:]
    files = own_files(lab, host)
    assert "Address=198.19.%d.1/24" % n in files["systemd/network/50-hostnet-qbr.network"]
    assert "Kind=bridge" in files["systemd/network/50-hostnet-qbr.netdev"]
    assert "-net.ipv4.conf.qbr.rp_filter = 2" in files["sysctl.d/90-hostnet-netif.conf"]
    rc, out, err = run_playbook(lab, playbook, variables)
    assert rc == 0 and " changed=0 " in out, out[-2000:]
    assert own_files(lab, host) == files


def test_unwritable_network_directory_restores_the_runtime(lab_factory):
    """/etc not writable (the host's systemd/network made immutable): the task fails after
    the runtime change was verified, and the runtime is restored; no file is left."""
    lab = lab_factory(hosts=1, etc=True)
    host = lab.hosts[0]
    directory = lab.etc_dir(host) / "systemd" / "network"
    before = state(lab, host)
    subprocess.run(["chattr", "+i", str(directory)], check=True)
    try:
        result = module(lab, host, "interfaces", dict(
            config=[{"name": "qbr", "kind": "bridge", "enabled": True, "mtu": 1400}],
            persist=True, persist_backend="networkd"))
    finally:
        subprocess.run(["chattr", "-i", str(directory)], check=True)
    assert result["failed"] and result["restored"] is True, result
    assert "could not write" in result["msg"] and "50-hostnet-qbr" in result["msg"], result["msg"]
    assert "link delete dev qbr" in result["restore_commands"]
    assert state(lab, host) == before == {} and list(directory.iterdir()) == []
