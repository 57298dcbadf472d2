# -*- coding: utf-8 -*-
# Copyright: hostnet.netif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reader + engine, end to end, on a fake /proc/sys/net: every combination that matters.

The facts document is built by the real reader (the one path the module uses)
from conf/all and conf/eth1 values written to a fake procfs; the expected
verdict comes from the kernel's rule as ip-sysctl.rst states it, written out
here: OR for send_redirects / secure_redirects / log_martians, AND for IPv4
accept_source_route, MAX for rp_filter, AND-when-forwarding-else-OR for IPv4
accept_redirects, and the interface alone for IPv6 keys.
"""

import itertools

import pytest

from ansible_collections.hostnet.netif.plugins.module_utils import reader
from ansible_collections.hostnet.netif.plugins.plugin_utils.audit import engine

from netif_testlib import FakeHost

POLICY = engine.load_policy("cis_network")
NEEDS = engine.required_subsets(POLICY)
COMPLIANT4 = {"forwarding": 0, "send_redirects": 0, "accept_redirects": 0, "secure_redirects": 0,
              "accept_source_route": 0, "log_martians": 1, "rp_filter": 1}
COMPLIANT6 = {"forwarding": 0, "accept_redirects": 0, "accept_source_route": 0, "accept_ra": 0,
              "disable_ipv6": 0}
HOST = {"net.ipv4.icmp_echo_ignore_broadcasts": 1, "net.ipv4.icmp_ignore_bogus_error_responses": 1,
        "net.ipv4.tcp_syncookies": 1}
LINK = {"ifindex": 3, "ifname": "eth1", "flags": ["BROADCAST", "MULTICAST", "UP", "LOWER_UP"], "mtu": 1500,
        "operstate": "UP", "link_type": "ether", "address": "02:00:00:00:00:31", "addr_info": [],
        "promiscuity": 0, "allmulti": 0}


def document(tmp_path, all4=None, eth4=None, all6=None, eth6=None):
    host = FakeHost(tmp_path)
    host.add_interface("eth1")
    for name, ipv4, ipv6 in (("all", all4, all6), ("default", None, None), ("eth1", eth4, eth6)):
        for key, value in dict(COMPLIANT4, **(ipv4 or {})).items():
            host.set_conf("ipv4", name, key, value)
        for key, value in dict(COMPLIANT6, **(ipv6 or {})).items():
            host.set_conf("ipv6", name, key, value)
    for key, value in HOST.items():
        host.set_host(key, value)
    request = reader.GatherRequest(gather_subset=NEEDS["gather_subset"], sysctl_keys=NEEDS["sysctl_keys"])
    doc, warnings = reader.build_document([LINK], request, [], [], host.files())
    assert warnings == []
    return doc


def verdict(doc, rule_id):
    findings = [f for f in engine.evaluate_host(POLICY, "h1", ["all"], doc, "2030-01-01")
                if f["rule"] == rule_id and f["interface"] == "eth1"]
    assert len(findings) == 1, findings
    return findings[0]


BITS = (0, 1)


@pytest.mark.parametrize("all_value,eth_value,forwarding", list(itertools.product(BITS, BITS, BITS)))
def test_ipv4_accept_redirects_and_when_forwarding_or_when_not(tmp_path, all_value, eth_value, forwarding):
    doc = document(tmp_path, all4={"accept_redirects": all_value, "forwarding": forwarding},
                   eth4={"accept_redirects": eth_value, "forwarding": forwarding})
    accepted = (all_value and eth_value) if forwarding else (all_value or eth_value)
    finding = verdict(doc, "cis_network.ipv4_accept_redirects")
    assert finding["status"] == ("fail" if accepted else "pass")
    assert finding["actual"] == (1 if accepted else 0)


@pytest.mark.parametrize("key,rule_id", [
    ("send_redirects", "cis_network.ipv4_send_redirects"),
    ("secure_redirects", "cis_network.ipv4_secure_redirects"),
])
@pytest.mark.parametrize("all_value,eth_value", list(itertools.product(BITS, BITS)))
def test_or_keys_fail_when_either_side_allows(tmp_path, key, rule_id, all_value, eth_value):
    doc = document(tmp_path, all4={key: all_value}, eth4={key: eth_value})
    assert verdict(doc, rule_id)["status"] == ("fail" if (all_value or eth_value) else "pass")


@pytest.mark.parametrize("all_value,eth_value", list(itertools.product(BITS, BITS)))
def test_log_martians_is_on_when_either_side_asks(tmp_path, all_value, eth_value):
    doc = document(tmp_path, all4={"log_martians": all_value}, eth4={"log_martians": eth_value})
    expected = "pass" if (all_value or eth_value) else "fail"
    assert verdict(doc, "cis_network.ipv4_log_martians")["status"] == expected


@pytest.mark.parametrize("all_value,eth_value", list(itertools.product(BITS, BITS)))
def test_ipv4_source_route_needs_both_sides(tmp_path, all_value, eth_value):
    doc = document(tmp_path, all4={"accept_source_route": all_value}, eth4={"accept_source_route": eth_value})
    expected = "fail" if (all_value and eth_value) else "pass"
    assert verdict(doc, "cis_network.ipv4_accept_source_route")["status"] == expected


@pytest.mark.parametrize("all_value,eth_value", list(itertools.product((0, 1, 2), (0, 1, 2))))
def test_rp_filter_uses_the_larger_value(tmp_path, all_value, eth_value):
    doc = document(tmp_path, all4={"rp_filter": all_value}, eth4={"rp_filter": eth_value})
    finding = verdict(doc, "cis_network.ipv4_rp_filter")
    assert finding["actual"] == max(all_value, eth_value)
    assert finding["status"] == ("pass" if max(all_value, eth_value) >= 1 else "fail")


@pytest.mark.parametrize("key,rule_id,bad", [
    ("accept_ra", "cis_network.ipv6_accept_ra", 1),
    ("forwarding", "cis_network.ipv6_forwarding", 1),
    ("accept_redirects", "cis_network.ipv6_accept_redirects", 1),
    ("accept_source_route", "cis_network.ipv6_accept_source_route", 1),
])
@pytest.mark.parametrize("all_bad,eth_bad", list(itertools.product((False, True), (False, True))))
def test_ipv6_keys_are_the_interface_value_alone(tmp_path, key, rule_id, bad, all_bad, eth_bad):
    doc = document(tmp_path, all6={key: bad if all_bad else 0}, eth6={key: bad if eth_bad else 0})
    assert verdict(doc, rule_id)["status"] == ("fail" if eth_bad else "pass")


def test_all_zero_but_interface_one_fails_on_the_interface(tmp_path):
    """The brief's case: all.accept_redirects=0, eth1.accept_redirects=1, no forwarding."""
    doc = document(tmp_path, all4={"accept_redirects": 0}, eth4={"accept_redirects": 1})
    assert doc["sysctl"]["net.ipv4.conf.all.accept_redirects"] == 0
    finding = verdict(doc, "cis_network.ipv4_accept_redirects")
    assert finding["status"] == "fail"
    not_passed = [(f["rule"], f["interface"]) for f in
                  engine.evaluate_host(POLICY, "h1", ["all"], doc, "2030-01-01") if f["status"] != "pass"]
    assert not_passed == [("cis_network.ipv4_accept_redirects", "eth1")]


def test_effective_value_is_computed_when_a_document_lacks_it(tmp_path):
    doc = document(tmp_path, all4={"send_redirects": 1}, eth4={"send_redirects": 0})
    del doc["interfaces"]["eth1"]["sysctl"]["effective"]
    finding = verdict(doc, "cis_network.ipv4_send_redirects")
    assert finding["status"] == "fail" and finding["actual"] == 1
