"""The audit role's boot rules on a 3-host lab with per-host /etc (issue #10).

Planted drift, on exactly two hosts:

* h0: a bridge that runs with MTU 1500 while its networkd .netdev says 1400
* h1: rp_filter 1 at runtime (conf/all and conf/eth0) while a sysctl.d file sets 0
  on both (a host that passes the CIS rp_filter rule now and fails it after a reboot)
* h2: nothing

The role (default policy: cis_network, fleet, boot) must report boot findings on
exactly h0 and h1, naming the planted files. Then the remediation paths:
``persist`` keeps h1's runtime sysctls in sysctl.d (the file is read back), is
refused for h0's interface drift without setter persistence, and ``revert`` applies
h0's boot MTU (checked with ip -json) - after which the re-audit is clean.
"""

from __future__ import annotations

import json
import os

import pytest

from tests.integration.helpers import run_playbook
from tests.integration.test_audit_lab import PLAYBOOK, write_sysctls

pytestmark = pytest.mark.skipif(not os.path.exists("/lib/systemd/systemd-networkd"),
                                reason="systemd-networkd is not installed")

PLANTED_SYSCTL = "99-planted.conf"


def _boot_findings(report_dir):
    with open(report_dir / "netif-audit.json", encoding="utf-8") as handle:
        report = json.load(handle)
    return [f for f in report["findings"] if f["rule"].startswith("boot.") and f["status"] != "pass"]


def _audit(lab, report_dir, *args, **extra):
    extra_vars = {"netif_audit_report_dir": str(report_dir), "netif_audit_today": "2030-06-15"}
    extra_vars.update(extra)
    return run_playbook(lab, PLAYBOOK, extra_vars, *args, timeout=300)


@pytest.fixture(scope="module")
def planted(lab_factory):
    # a reboot gives eth0 a new MAC: the controller's neighbour entry for a host it has just
    # talked to stays REACHABLE with the old one until the kernel probes it again (5 s delay,
    # then 3 unicast probes): sshd is up long before the first TCP connect gets through
    lab = lab_factory(hosts=3, etc=True, ssh_timeout=40)
    h0, h1 = lab.hosts[0], lab.hosts[1]
    bridge = lab.name + "br"
    net = lab.etc_dir(h0) / "systemd" / "network"
    (net / ("10-%s.netdev" % bridge)).write_text("[NetDev]\nName=%s\nKind=bridge\nMTUBytes=1400\n" % bridge)
    (net / ("10-%s.network" % bridge)).write_text("[Match]\nName=%s\n[Network]\nLinkLocalAddressing=no\n"
                                                  "ConfigureWithoutCarrier=yes\n" % bridge)
    lab.add_bridge(h0, bridge)
    (lab.etc_dir(h1) / "sysctl.d" / PLANTED_SYSCTL).write_text(
        "net.ipv4.conf.all.rp_filter = 0\nnet.ipv4.conf.eth0.rp_filter = 0\n")
    write_sysctls(lab, h1, [("ipv4/conf/all/rp_filter", 1), ("ipv4/conf/eth0/rp_filter", 1)])
    return lab, bridge


def test_planted_drift_is_found_on_exactly_the_planted_hosts(planted, tmp_path):
    lab, bridge = planted
    h0, h1 = lab.hosts[0].name, lab.hosts[1].name
    rc, out, err = _audit(lab, tmp_path)
    assert rc == 0, out[-4000:] + err[-4000:]
    found = _boot_findings(tmp_path)
    assert sorted((f["host"], f["rule"], f["interface"]) for f in found) == sorted([
        (h0, "boot.interface_drift", bridge),
        (h1, "boot.sysctl_drift", "eth0"),
        (h1, "boot.sysctl_drift", "lo"),   # conf/all 0 at boot lowers lo's effective value too
        (h1, "boot.baseline_after_reboot", "eth0"),
    ])
    by_rule = dict(((f["host"], f["rule"], f["interface"]), f) for f in found)
    mtu = by_rule[(h0, "boot.interface_drift", bridge)]
    assert (mtu["expected"], mtu["actual"]) == ({"mtu": 1400}, {"mtu": 1500})
    assert mtu["files"] == ["/etc/systemd/network/10-%s.netdev" % bridge,
                            "/etc/systemd/network/10-%s.network" % bridge]
    drift = by_rule[(h1, "boot.sysctl_drift", "eth0")]
    assert (drift["expected"], drift["actual"]) == (0, 1)
    assert drift["files"] == ["/etc/sysctl.d/" + PLANTED_SYSCTL]
    assert "/etc/sysctl.d/%s line 2" % PLANTED_SYSCTL in drift["detail"]
    cis = by_rule[(h1, "boot.baseline_after_reboot", "eth0")]
    assert cis["base_rule"] == "cis_network.ipv4_rp_filter" and cis["phase"] == "boot"


def test_persist_and_revert(planted, tmp_path):
    lab, bridge = planted
    h0, h1 = lab.hosts[0], lab.hosts[1]
    # persist h1's runtime sysctls: a sysctl.d file that sorts after the planted one
    rc, out, err = _audit(lab, tmp_path / "persist", "--limit", h1.name, netif_audit_policy=["boot"],
                          netif_audit_remediate=True, netif_audit_remediate_boot="persist")
    assert rc == 0, out[-4000:] + err[-4000:]
    kept = (lab.etc_dir(h1) / "sysctl.d" / "zz-hostnet-netif-boot.conf").read_text()
    assert "net.ipv4.conf.all.rp_filter = 1" in kept and "net.ipv4.conf.eth0.rp_filter = 1" in kept
    assert lab.read_proc(h1, "sys/net/ipv4/conf/eth0/rp_filter") == "1"
    assert _boot_findings(tmp_path / "persist") == []  # re-audited: boot now keeps 1

    # persisting interface drift goes through the setters' persist, which never edits a file it
    # did not write: the planted networkd files of the bridge stop it before any change
    rc, out, err = _audit(lab, tmp_path / "refused", "--limit", h0.name, netif_audit_policy=["boot"],
                          netif_audit_remediate=True, netif_audit_remediate_boot="persist")
    assert rc != 0 and "is already configured by files hostnet.netif did not write" in out, out[-4000:]
    assert "/etc/systemd/network/10-%sbr.netdev" % lab.name in out
    assert lab.ip_json(h0, "link", "show", "dev", bridge)[0]["mtu"] == 1500

    # revert: the boot MTU now, through hostnet.netif.interfaces
    rc, out, err = _audit(lab, tmp_path / "revert", "--limit", h0.name, netif_audit_policy=["boot"],
                          netif_audit_remediate=True, netif_audit_remediate_boot="revert")
    assert rc == 0, out[-4000:] + err[-4000:]
    assert lab.ip_json(h0, "link", "show", "dev", bridge)[0]["mtu"] == 1400
    assert _boot_findings(tmp_path / "revert") == []


def test_a_reboot_gives_what_the_audit_predicted(planted, tmp_path):
    """After persist (h1) and revert (h0) a real reboot changes nothing the audit did not say."""
    lab, bridge = planted
    h0, h1 = lab.hosts[0], lab.hosts[1]
    lab.reboot(h1)
    # the persisted file sorts after the planted one, so systemd-sysctl leaves 1
    assert lab.read_proc(h1, "sys/net/ipv4/conf/eth0/rp_filter") == "1"
    assert lab.read_proc(h1, "sys/net/ipv4/conf/all/rp_filter") == "1"
    lab.reboot(h0)
    assert lab.ip_json(h0, "link", "show", "dev", bridge)[0]["mtu"] == 1400  # networkd made it
    rc, out, err = _audit(lab, tmp_path)
    assert rc == 0, out[-4000:] + err[-4000:]
    assert _boot_findings(tmp_path) == []
