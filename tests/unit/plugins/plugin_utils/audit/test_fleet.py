# -*- coding: utf-8 -*-
# Copyright: hostnet.netif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fleet checks, positive and negative; each finding names every host involved."""

import copy
import time

import pytest

from ansible_collections.hostnet.netif.plugins.plugin_utils.audit import engine

import audit_testlib as lib

FLEET = engine.load_policy("fleet")
TODAY = "2030-06-15"


def host(*interfaces):
    return lib.compliant_host(list(interfaces))


def eth(name="eth0", cidrs=(), mtu=1500, mac=None, kind="ethernet", **extra):
    return lib.interface(name, kind=kind, mtu=mtu, mac=mac or "02:00:00:00:00:01",
                         addresses=[lib.address(c) if isinstance(c, str) else lib.address(*c) for c in cidrs],
                         **extra)


def run(facts_by_host, groups=None, policy=FLEET, rule=None):
    findings = engine.fleet(policy, facts_by_host, groups or {}, TODAY)
    if rule:
        findings = [f for f in findings if f["rule"] == rule]
    return findings


def failures(findings):
    return sorted((f["rule"], f["host"], f["interface"]) for f in findings if f["status"] == "fail")


def macs(count):
    return ["02:00:00:00:%02x:%02x" % (i // 256, i % 256) for i in range(1, count + 1)]


# ---------------------------------------------------------------- duplicate_address
def test_duplicate_address_names_both_hosts():
    m = macs(3)
    fleet = {"a": host(eth(cidrs=["198.18.0.5/24"], mac=m[0])),
             "b": host(eth("eth1", cidrs=["198.18.0.5/24"], mac=m[1])),
             "c": host(eth(cidrs=["198.18.0.6/24"], mac=m[2]))}
    findings = run(fleet, rule="fleet.duplicate_address")
    assert failures(findings) == [("fleet.duplicate_address", "a", "eth0"), ("fleet.duplicate_address", "b", "eth1")]
    for finding in [f for f in findings if f["status"] == "fail"]:
        assert sorted((i["host"], i["interface"]) for i in finding["involved"]) == [("a", "eth0"), ("b", "eth1")]
        assert finding["involved_total"] == 2
        assert "198.18.0.5" in finding["detail"]
    assert [f["status"] for f in findings if f["host"] == "c"] == ["pass"]


@pytest.mark.parametrize("a,b", [
    ("198.18.0.5/24", "198.18.0.6/24"),                      # different
    (("fe80::1/64", "link"), ("fe80::1/64", "link")),          # link-local is per link
    (("127.0.0.1/8", "host"), ("127.0.0.1/8", "host")),        # loopback
])
def test_no_duplicate_address(a, b):
    fleet = {"a": host(eth(cidrs=[a], mac="02:00:00:00:00:01")), "b": host(eth(cidrs=[b], mac="02:00:00:00:00:02"))}
    assert failures(run(fleet, rule="fleet.duplicate_address")) == []


def test_same_address_twice_on_one_host_is_not_a_fleet_duplicate():
    fleet = {"a": host(eth(cidrs=["198.18.0.5/32"]), eth("lo2", cidrs=["198.18.0.5/32"], mac="02:00:00:00:00:02")),
             "b": host(eth(cidrs=["198.18.0.6/24"], mac="02:00:00:00:00:03"))}
    assert failures(run(fleet, rule="fleet.duplicate_address")) == []


def test_ipv6_duplicates_are_found_whatever_the_spelling():
    fleet = {"a": host(eth(cidrs=["2001:2:0:0::1/64"], mac="02:00:00:00:00:01")),
             "b": host(eth(cidrs=["2001:2::1/64"], mac="02:00:00:00:00:02"))}
    assert len(failures(run(fleet, rule="fleet.duplicate_address"))) == 2


def test_ignore_networks_parameter():
    pol = engine.load_policy({"schema_version": 1, "name": "t", "rules": [{
        "id": "t.dup", "title": "T", "severity": "high", "rationale": "R", "remediation": {"text": "x"},
        "scope": "fleet", "check": "duplicate_address", "parameters": {"ignore_networks": ["198.18.9.0/24"]}}]})
    fleet = {"a": host(eth(cidrs=["198.18.9.1/24"], mac="02:00:00:00:00:01")),
             "b": host(eth(cidrs=["198.18.9.1/24"], mac="02:00:00:00:00:02"))}
    assert failures(run(fleet, policy=pol)) == []


def test_a_host_without_addresses_gathered_is_an_error_for_address_checks():
    doc = host(eth(cidrs=["198.18.0.5/24"]))
    doc["gather_subset"] = ["links", "sysctl"]
    findings = run({"a": doc}, rule="fleet.duplicate_address")
    assert [(f["status"], f["host"]) for f in findings] == [("error", "a")]
    assert "addresses" in findings[0]["detail"]


# ---------------------------------------------------------------- duplicate_mac
def test_duplicate_mac_across_hosts():
    fleet = {"a": host(eth(mac="52:54:00:12:34:56")), "b": host(eth("ens3", mac="52:54:00:12:34:56")),
             "c": host(eth(mac="52:54:00:12:34:57"))}
    findings = run(fleet, rule="fleet.duplicate_mac")
    assert failures(findings) == [("fleet.duplicate_mac", "a", "eth0"), ("fleet.duplicate_mac", "b", "ens3")]
    assert all(f["actual"] == "52:54:00:12:34:56" for f in findings if f["status"] == "fail")
    assert [f["status"] for f in findings if f["host"] == "c"] == ["pass"]


@pytest.mark.parametrize("mac_a,mac_b,kind", [
    ("00:00:00:00:00:00", "00:00:00:00:00:00", "ethernet"),   # no address
    ("01:00:5e:00:00:01", "01:00:5e:00:00:01", "ethernet"),   # multicast
    ("00:00:5e:00:01:07", "00:00:5e:00:01:07", "ethernet"),   # VRRP virtual MAC, shared by design
    ("02:00:00:00:00:99", "02:00:00:00:00:99", "loopback"),   # loopback excluded
])
def test_macs_that_are_never_compared(mac_a, mac_b, kind):
    fleet = {"a": host(eth(mac=mac_a, kind=kind)), "b": host(eth(mac=mac_b, kind=kind))}
    assert failures(run(fleet, rule="fleet.duplicate_mac")) == []


def test_one_mac_on_two_interfaces_of_one_host_is_not_reported():
    fleet = {"a": host(eth(mac="02:00:00:00:00:07"), eth("br0", kind="bridge", mac="02:00:00:00:00:07")),
             "b": host(eth(mac="02:00:00:00:00:08"))}
    assert failures(run(fleet, rule="fleet.duplicate_mac")) == []


def test_locally_administered_macs_are_compared_unless_asked_not_to():
    fleet = {"a": host(eth(mac="02:aa:00:00:00:01")), "b": host(eth(mac="02:aa:00:00:00:01"))}
    assert len(failures(run(fleet, rule="fleet.duplicate_mac"))) == 2
    pol = engine.load_policy({"schema_version": 1, "name": "t", "rules": [{
        "id": "t.mac", "title": "T", "severity": "high", "rationale": "R", "remediation": {"text": "x"},
        "scope": "fleet", "check": "duplicate_mac", "parameters": {"ignore_locally_administered": True}}]})
    assert failures(run(fleet, policy=pol)) == []


# ---------------------------------------------------------------- mtu_mismatch
def test_mtu_mismatch_reports_the_minority_with_the_majority_as_expected():
    fleet = dict(("h%d" % i, host(eth(cidrs=["198.18.1.%d/24" % (10 + i)], mac=m)))
                 for i, m in enumerate(macs(4)))
    fleet["h3"]["interfaces"]["eth0"]["mtu"] = 9000
    findings = run(fleet, rule="fleet.mtu_mismatch")
    assert failures(findings) == [("fleet.mtu_mismatch", "h3", "eth0")]
    bad = [f for f in findings if f["status"] == "fail"][0]
    assert bad["expected"] == 1500 and bad["actual"] == 9000
    assert "198.18.1.0/24" in bad["detail"]
    assert [(i["host"], i["value"]) for i in bad["involved"]] == [("h3", 9000)]
    assert sorted(f["host"] for f in findings if f["status"] == "pass") == ["h0", "h1", "h2"]


def test_mtu_tie_reports_everyone():
    fleet = {"a": host(eth(cidrs=["198.18.1.10/24"], mac="02:00:00:00:00:01")),
             "b": host(eth(cidrs=["198.18.1.11/24"], mtu=9000, mac="02:00:00:00:00:02"))}
    findings = run(fleet, rule="fleet.mtu_mismatch")
    assert failures(findings) == [("fleet.mtu_mismatch", "a", "eth0"), ("fleet.mtu_mismatch", "b", "eth0")]
    assert all("no majority" in f["detail"] and f["involved_total"] == 2 for f in findings)


@pytest.mark.parametrize("cidr_a,cidr_b", [
    ("198.18.1.10/24", "198.18.2.10/24"),   # different subnets may differ
    ("198.18.1.10/32", "198.18.1.11/32"),   # host addresses are no subnet
])
def test_no_mtu_mismatch(cidr_a, cidr_b):
    fleet = {"a": host(eth(cidrs=[cidr_a], mac="02:00:00:00:00:01")),
             "b": host(eth(cidrs=[cidr_b], mtu=9000, mac="02:00:00:00:00:02"))}
    assert failures(run(fleet, rule="fleet.mtu_mismatch")) == []


# ---------------------------------------------------------------- prefix_mismatch
def test_prefix_mismatch_on_overlapping_subnets():
    fleet = {"a": host(eth(cidrs=["198.18.1.10/24"], mac="02:00:00:00:00:01")),
             "b": host(eth(cidrs=["198.18.1.20/25"], mac="02:00:00:00:00:02")),
             "c": host(eth(cidrs=["198.18.1.30/24"], mac="02:00:00:00:00:03"))}
    findings = run(fleet, rule="fleet.prefix_mismatch")
    assert failures(findings) == [("fleet.prefix_mismatch", "b", "eth0")]
    bad = [f for f in findings if f["status"] == "fail"][0]
    assert bad["expected"] == "/24" and bad["actual"] == "198.18.1.20/25"
    assert "198.18.1.0/24" in bad["detail"]


def test_prefix_mismatch_when_the_longer_prefix_holds_no_address_of_the_shorter():
    # 198.18.4.200/23 covers 198.18.4.0-5.255; 198.18.5.7/24 lies inside it. a's
    # address is not in b's /24, so only a lookup from b finds the overlap.
    fleet = {"a": host(eth(cidrs=["198.18.4.200/23"], mac="02:00:00:00:00:01")),
             "b": host(eth(cidrs=["198.18.5.7/24"], mac="02:00:00:00:00:02"))}
    assert failures(run(fleet, rule="fleet.prefix_mismatch")) == [
        ("fleet.prefix_mismatch", "a", "eth0"), ("fleet.prefix_mismatch", "b", "eth0")]


@pytest.mark.parametrize("cidr_a,cidr_b", [
    ("198.18.1.10/24", "198.18.2.20/25"),   # no overlap
    ("198.18.1.10/24", "198.18.1.20/24"),   # same prefix
    ("198.18.1.10/24", "198.18.1.99/32"),   # a /32 service address is left out
])
def test_no_prefix_mismatch(cidr_a, cidr_b):
    fleet = {"a": host(eth(cidrs=[cidr_a], mac="02:00:00:00:00:01")),
             "b": host(eth(cidrs=[cidr_b], mac="02:00:00:00:00:02"))}
    assert failures(run(fleet, rule="fleet.prefix_mismatch")) == []


# ---------------------------------------------------------------- drift
def grouped(count, group="web"):
    fleet = dict(("w%d" % i, host(eth(mac=m))) for i, m in enumerate(macs(count)))
    return fleet, dict((name, ["all", group]) for name in fleet)


def test_drift_from_the_group_majority():
    fleet, groups = grouped(4)
    fleet["w2"]["interfaces"]["eth0"]["mtu"] = 9000
    fleet["w3"]["sysctl"]["net.ipv4.tcp_syncookies"] = 0
    findings = run(fleet, groups, rule="fleet.drift")
    assert failures(findings) == [("fleet.drift", "w2", "eth0"), ("fleet.drift", "w3", None)]
    mtu = [f for f in findings if f["host"] == "w2" and f["status"] == "fail"][0]
    assert mtu["expected"] == 1500 and mtu["actual"] == 9000 and "group web" in mtu["detail"]
    assert sorted(f["host"] for f in findings if f["status"] == "pass") == ["w0", "w1"]


def test_drift_ignores_small_groups_all_and_ungrouped():
    fleet, groups = grouped(2)
    fleet["w1"]["interfaces"]["eth0"]["mtu"] = 9000
    assert run(fleet, groups, rule="fleet.drift") == []
    fleet, groups = grouped(4, group="ungrouped")
    fleet["w1"]["interfaces"]["eth0"]["mtu"] = 9000
    assert run(fleet, groups, rule="fleet.drift") == []


def test_drift_needs_its_facts_gathered():
    fleet, groups = grouped(3)
    del fleet["w0"]["sysctl"]["net.ipv4.tcp_syncookies"]
    findings = run(fleet, groups, rule="fleet.drift")
    assert [(f["host"], f["status"]) for f in findings if f["status"] != "pass"] == [("w0", "error")]


# ---------------------------------------------------------------- scale and waivers
def test_fleet_checks_scale_linearly():
    """20,000 hosts; a pairwise comparison would need 2*10^8 steps and minutes."""
    base = host(eth(cidrs=["198.18.0.1/16"]))
    fleet = {}
    for i in range(20000):
        doc = copy.copy(base)
        iface = dict(base["interfaces"]["eth0"])
        iface["mac"] = "02:01:00:00:%02x:%02x" % (i // 256, i % 256)
        iface["addresses"] = [lib.address("198.18.%d.%d/16" % (i // 250, 1 + i % 250))]
        doc["interfaces"] = {"eth0": iface}
        fleet["h%05d" % i] = doc
    groups = dict((name, ["all", "g%d" % (int(name[1:]) // 100)]) for name in fleet)
    start = time.process_time()
    findings = run(fleet, groups)
    elapsed = time.process_time() - start
    assert failures(findings) == []
    assert len(findings) == 20000 * 5
    assert elapsed < 60, elapsed


def test_waiver_waives_one_side_of_a_fleet_finding():
    pol = engine.load_policy("fleet", waivers=[{"rule": "fleet.duplicate_address", "hosts": ["a"],
                                                "reason": "anycast"}])
    fleet = {"a": host(eth(cidrs=["198.18.0.5/24"], mac="02:00:00:00:00:01")),
             "b": host(eth(cidrs=["198.18.0.5/24"], mac="02:00:00:00:00:02"))}
    findings = run(fleet, policy=pol, rule="fleet.duplicate_address")
    assert sorted((f["host"], f["status"]) for f in findings) == [("a", "waived"), ("b", "fail")]
