# -*- coding: utf-8 -*-
# Copyright: hostnet.netif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""cis_network.promiscuous_interfaces judges the kernel's promiscuity minus the topology.

Documents are written by hand: the counters a kernel would show for each case
(a request, a sniffer, a bridge port), never computed by the engine.
"""

import pytest

from ansible_collections.hostnet.netif.plugins.plugin_utils.audit import engine

import audit_testlib as lib

CIS = engine.load_policy("cis_network")
RULE = "cis_network.promiscuous_interfaces"


def verdict(requested=False, promiscuity=0, explained=0, by=(), sockets=None, unexplained=None):
    doc = lib.compliant_host()
    iface = doc["interfaces"]["eth0"]
    if requested:
        iface["flags"].append("promisc")
    iface.update(promisc=promiscuity > 0, promisc_requested=requested, promiscuity=promiscuity,
                 promiscuity_explained=explained, promisc_explained_by=list(by),
                 promiscuity_unexplained=(max(int(requested), promiscuity - explained)
                                          if unexplained is None else unexplained))
    if sockets is not None:
        iface["packet_sockets"] = sockets
        doc["gather_subset"] = sorted(set(doc["gather_subset"]) | {"packet_sockets"})
    findings = engine.evaluate_host(CIS, "h", ["all"], doc, "2030-06-15")
    return [f for f in findings if f["rule"] == RULE and f["interface"] == "eth0"][0]


def test_a_bridge_port_without_sniffer_passes():
    assert verdict(promiscuity=1, explained=1, by=["port of bridge br0"])["status"] == "pass"


def test_a_bridge_port_with_a_sniffer_fails_naming_both():
    finding = verdict(promiscuity=2, explained=1, by=["port of bridge br0"])
    assert finding["status"] == "fail" and finding["actual"] == 1
    detail = finding["detail"]
    assert "promiscuity 2, 1 explained by the topology (port of bridge br0)" in detail
    assert "was requested" not in detail
    assert "ss -0 -p" in detail and "/proc/net/packet" in detail and "packet_sockets" in detail


def test_a_request_fails_and_says_it_was_requested():
    finding = verdict(requested=True, promiscuity=1)
    assert finding["status"] == "fail"
    assert "was requested (ip link set dev eth0 promisc on)" in finding["detail"]
    assert "packet socket" not in finding["detail"]


def test_request_and_sniffer_name_the_process():
    sockets = [{"inode": 77, "type": "raw", "protocol": 3, "bound": True, "promisc": True,
                "allmulti": False, "user": 0, "processes": [{"pid": 4242, "comm": "tcpdump"}]},
               {"inode": 78, "type": "dgram", "protocol": 3, "bound": True, "promisc": False,
                "allmulti": False, "user": 0, "processes": [{"pid": 5, "comm": "dhclient"}]}]
    finding = verdict(requested=True, promiscuity=2, sockets=sockets)
    detail = finding["detail"]
    assert "was requested" in detail
    assert "socket inode 77 held by pid 4242 (tcpdump)" in detail
    assert "dhclient" not in detail


@pytest.mark.parametrize("value", [None, "absent"])
def test_facts_without_the_counter_are_an_error_not_a_pass(value):
    doc = lib.compliant_host()
    iface = doc["interfaces"]["eth0"]
    if value is None:
        iface["promiscuity_unexplained"] = None
    else:
        del iface["promiscuity_unexplained"]
    findings = engine.evaluate_host(CIS, "h", ["all"], doc, "2030-06-15")
    finding = [f for f in findings if f["rule"] == RULE and f["interface"] == "eth0"][0]
    assert finding["status"] == "error"
    assert "promiscuity counter" in finding["detail"]


def test_a_waiver_covers_an_intended_sniffer():
    policy = engine.load_policy("cis_network", [{"rule": RULE, "hosts": ["h"], "interfaces": ["eth0"],
                                                 "reason": "IDS sensor", "expires": "2031-01-01"}])
    doc = lib.compliant_host()
    doc["interfaces"]["eth0"].update(promisc=True, promiscuity=1, promiscuity_unexplained=1)
    findings = engine.evaluate_host(policy, "h", ["all"], doc, "2030-06-15")
    finding = [f for f in findings if f["rule"] == RULE and f["interface"] == "eth0"][0]
    assert finding["status"] == "waived"


def test_a_rule_on_packet_sockets_asks_for_the_subset():
    """A policy judging packet_sockets gathers it, and facts without it are an error."""
    policy = engine.load_policy([{"schema_version": 1, "name": "t", "title": "t", "version": "1", "rules": [{
        "id": "t.no_sniffer", "title": "no sniffer", "severity": "high", "scope": "interface",
        "fact": "packet_sockets", "expect": {"present": True},
        "rationale": "r", "remediation": {"text": "x"}}]}])
    assert "packet_sockets" in engine.required_subsets(policy)["gather_subset"]
    findings = engine.evaluate_host(policy, "h", ["all"], lib.compliant_host(), "2030-06-15")
    assert set(f["status"] for f in findings) == {"error"}
    assert "packet_sockets" in findings[0]["detail"]
