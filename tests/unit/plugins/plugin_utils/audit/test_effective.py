# -*- coding: utf-8 -*-
# Copyright: hostnet.netif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reader + engine, end to end, on a fake /proc/sys/net: every combination that matters.

The facts document is built by the real reader (the one path the module uses)
from conf/all and conf/eth1 values written to a fake procfs; the expected
verdict comes from the kernel's rule as ip-sysctl.rst states it, written out
here: OR for send_redirects / secure_redirects / log_martians, AND for IPv4
accept_source_route, MAX for rp_filter, AND-when-forwarding-else-OR for IPv4
accept_redirects; for IPv6 forwarding conf/all OR the interface's
force_forwarding, accept_ra/accept_redirects ignored on an interface that
forwards (accept_ra 2 excepted), accept_source_route the MIN.
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


@pytest.mark.parametrize("all_fwd,eth_fwd,force", list(itertools.product(BITS, BITS, BITS)))
def test_ipv6_forwarding_is_all_or_force_forwarding(tmp_path, all_fwd, eth_fwd, force):
    doc = document(tmp_path, all6={"forwarding": all_fwd},
                   eth6={"forwarding": eth_fwd, "force_forwarding": force})
    finding = verdict(doc, "cis_network.ipv6_forwarding")
    # before the fix eth_fwd alone decided: all=1 with eth1=0 passed, eth1=1 with all=0 failed
    assert finding["status"] == ("fail" if (all_fwd or force) else "pass")
    if finding["status"] == "fail":
        assert ("conf/all/forwarding (%d) or conf/eth1/force_forwarding (%d)" % (all_fwd, force)
                in finding["detail"]), finding["detail"]


@pytest.mark.parametrize("key,rule_id", [
    ("accept_ra", "cis_network.ipv6_accept_ra"),
    ("accept_redirects", "cis_network.ipv6_accept_redirects"),
])
@pytest.mark.parametrize("all_value,eth_value,eth_fwd", list(itertools.product(BITS, (0, 1, 2), BITS)))
def test_ipv6_ra_and_redirects_are_ignored_where_the_interface_forwards(tmp_path, key, rule_id, all_value,
                                                                        eth_value, eth_fwd):
    if key == "accept_redirects" and eth_value == 2:
        return
    doc = document(tmp_path, all6={key: all_value}, eth6={key: eth_value, "forwarding": eth_fwd})
    accepted = eth_value and (not eth_fwd or (key == "accept_ra" and eth_value == 2))
    finding = verdict(doc, rule_id)
    assert finding["status"] == ("fail" if accepted else "pass")
    assert finding["actual"] == (eth_value if accepted else 0)


@pytest.mark.parametrize("all_value,eth_value", list(itertools.product((-1, 0, 1), (-1, 0, 1))))
def test_ipv6_source_route_is_the_smaller_value(tmp_path, all_value, eth_value):
    doc = document(tmp_path, all6={"accept_source_route": all_value}, eth6={"accept_source_route": eth_value})
    finding = verdict(doc, "cis_network.ipv6_accept_source_route")
    assert finding["actual"] == min(all_value, eth_value)
    assert finding["status"] == ("fail" if min(all_value, eth_value) > 0 else "pass")


@pytest.mark.parametrize("key,all6,eth6,rule_id,actual", [
    ("forwarding", {"forwarding": 1}, {"forwarding": 0}, "cis_network.ipv6_forwarding", 1),
    ("accept_ra", {}, {"accept_ra": 1, "forwarding": 1}, "cis_network.ipv6_accept_ra", 0),
    ("accept_source_route", {"accept_source_route": 0}, {"accept_source_route": 1},
     "cis_network.ipv6_accept_source_route", 0),
])
def test_ipv6_effective_is_computed_when_a_document_lacks_it(tmp_path, key, all6, eth6, rule_id, actual):
    doc = document(tmp_path, all6=all6, eth6=eth6)
    del doc["interfaces"]["eth1"]["sysctl"]["effective"]
    raw = doc["interfaces"]["eth1"]["sysctl"]["ipv6"]
    raw.setdefault("forwarding", eth6.get("forwarding", 0))
    assert verdict(doc, rule_id)["actual"] == actual


def test_effective_reads_forwarding_even_when_only_accept_ra_is_asked(tmp_path):
    host = FakeHost(tmp_path)
    host.add_interface("eth1")
    for name, values in (("all", {"accept_ra": 1, "forwarding": 0}), ("default", {"accept_ra": 1}),
                         ("eth1", {"accept_ra": 1, "forwarding": 1, "force_forwarding": 0})):
        for key, value in values.items():
            host.set_conf("ipv6", name, key, value)
    request = reader.GatherRequest(gather_subset=["sysctl"], sysctl_keys=["ipv6.accept_ra"])
    doc, dummy = reader.build_document([LINK], request, [], [], host.files())
    sysctl = doc["interfaces"]["eth1"]["sysctl"]
    assert sysctl["ipv6"] == {"accept_ra": 1}
    assert sysctl["effective"]["ipv6"] == {"accept_ra": 0}


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


@pytest.mark.parametrize("key,eth6,rule_id,words", [
    ("accept_ra", {"accept_ra": 2, "forwarding": 1}, "cis_network.ipv6_accept_ra",
     "eth1 forwards (conf/eth1/forwarding 1), so router advertisements are accepted only with accept_ra 2"),
    ("accept_ra", {"accept_ra": 1, "forwarding": 0}, "cis_network.ipv6_accept_ra",
     "the kernel uses conf/eth1/accept_ra alone (1) because eth1 does not forward; conf/all is not used"),
    ("accept_redirects", {"accept_redirects": 1, "forwarding": 0}, "cis_network.ipv6_accept_redirects",
     "conf/eth1/accept_redirects alone (1) because eth1 does not forward"),
    ("accept_source_route", {"accept_source_route": 1}, "cis_network.ipv6_accept_source_route",
     "the kernel combines conf/all (1) and conf/eth1 (1) with MIN"),
])
def test_ipv6_failure_details_say_how_the_kernel_decided(tmp_path, key, eth6, rule_id, words):
    doc = document(tmp_path, all6={"accept_source_route": 1}, eth6=eth6)
    finding = verdict(doc, rule_id)
    assert finding["status"] == "fail" and words in finding["detail"], finding["detail"]
