# -*- coding: utf-8 -*-
# Copyright: hostnet.netif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every cis_network rule: a compliant host passes, one deviation fails exactly that rule.

The deviations are written from the CIS values (audit_testlib.CIS_*), and the
expected outcome (which rule, which interface) from the kernel's combination
rules, never from what the engine returns.
"""

import pytest

from ansible_collections.hostnet.netif.plugins.plugin_utils.audit import engine

import audit_testlib as lib

CIS = engine.load_policy("cis_network")
TODAY = "2030-06-15"


def evaluate(doc, policy=CIS, host="web1", groups=("all", "web")):
    return engine.evaluate_host(policy, host, list(groups), doc, TODAY)


def add_wifi(doc, up):
    flags = lib.FLAGS_UP if up else ["broadcast", "multicast"]
    iface = lib.interface("wlan0", kind="wifi", flags=flags, mac="02:00:00:00:00:09")
    iface["sysctl"] = {"ipv4": dict(lib.CIS_IPV4), "ipv6": dict(lib.CIS_IPV6), "effective": {}}
    doc["interfaces"]["wlan0"] = iface
    lib.recompute(doc)


def host_value(key, value):
    def change(doc):
        doc["sysctl"][key] = value
    return change


def eth0(ipv4=None, ipv6=None, all4=None):
    def change(doc):
        for key, value in (all4 or {}).items():
            lib.set_all(doc, "ipv4", key, value)
        lib.set_sysctls(doc, "eth0", ipv4=ipv4, ipv6=ipv6)
    return change


def promisc(doc):
    doc["interfaces"]["eth0"]["flags"].append("promisc")
    doc["interfaces"]["eth0"].update(promisc=True, promisc_requested=True, promiscuity=1,
                                     promiscuity_unexplained=1)


# rule id -> (deviation, interface that must fail (None: host scope))
DEVIATIONS = {
    "cis_network.ipv4_forwarding": (eth0(ipv4={"forwarding": 1}), "eth0"),
    "cis_network.ipv6_forwarding": (eth0(ipv6={"forwarding": 1}), "eth0"),
    "cis_network.ipv4_send_redirects": (eth0(ipv4={"send_redirects": 1}), "eth0"),
    # the brief's case: all=0, eth0=1, not forwarding -> OR -> accepted on eth0
    "cis_network.ipv4_accept_redirects": (eth0(ipv4={"accept_redirects": 1}), "eth0"),
    "cis_network.ipv6_accept_redirects": (eth0(ipv6={"accept_redirects": 1}), "eth0"),
    "cis_network.ipv4_secure_redirects": (eth0(ipv4={"secure_redirects": 1}), "eth0"),
    # AND: both all and eth0 must allow it
    "cis_network.ipv4_accept_source_route": (eth0(ipv4={"accept_source_route": 1},
                                                  all4={"accept_source_route": 1}), "eth0"),
    "cis_network.ipv6_accept_source_route": (eth0(ipv6={"accept_source_route": 1}), "eth0"),
    # OR: logging stays on while either asks for it
    "cis_network.ipv4_log_martians": (eth0(ipv4={"log_martians": 0}, all4={"log_martians": 0}), "eth0"),
    # MAX: both must be 0 to switch filtering off
    "cis_network.ipv4_rp_filter": (eth0(ipv4={"rp_filter": 0}, all4={"rp_filter": 0}), "eth0"),
    "cis_network.ipv6_accept_ra": (eth0(ipv6={"accept_ra": 1}), "eth0"),
    "cis_network.wireless_interfaces_down": (lambda doc: add_wifi(doc, up=True), "wlan0"),
    "cis_network.promiscuous_interfaces": (promisc, "eth0"),
    "cis_network.icmp_echo_ignore_broadcasts": (host_value("net.ipv4.icmp_echo_ignore_broadcasts", 0), None),
    "cis_network.icmp_ignore_bogus_error_responses": (
        host_value("net.ipv4.icmp_ignore_bogus_error_responses", 0), None),
    "cis_network.tcp_syncookies": (host_value("net.ipv4.tcp_syncookies", 0), None),
    "cis_network.ipv4_send_redirects_default": (host_value("net.ipv4.conf.default.send_redirects", 1), None),
    "cis_network.ipv4_accept_redirects_default": (host_value("net.ipv4.conf.default.accept_redirects", 1),
                                                  None),
    "cis_network.ipv6_accept_redirects_default": (host_value("net.ipv6.conf.default.accept_redirects", 1),
                                                  None),
    "cis_network.ipv4_secure_redirects_default": (host_value("net.ipv4.conf.default.secure_redirects", 1),
                                                  None),
    "cis_network.ipv4_accept_source_route_default": (
        host_value("net.ipv4.conf.default.accept_source_route", 1), None),
    "cis_network.ipv6_accept_source_route_default": (
        host_value("net.ipv6.conf.default.accept_source_route", 1), None),
    "cis_network.ipv4_log_martians_default": (host_value("net.ipv4.conf.default.log_martians", 0), None),
    "cis_network.ipv4_rp_filter_default": (host_value("net.ipv4.conf.default.rp_filter", 0), None),
    "cis_network.ipv6_accept_ra_default": (host_value("net.ipv6.conf.default.accept_ra", 1), None),
}


def test_every_rule_has_a_deviation_case():
    assert sorted(DEVIATIONS) == sorted(r.id for r in CIS.rules)


def test_a_compliant_host_passes_every_rule():
    findings = evaluate(lib.compliant_host())
    assert lib.not_passed(findings) == []
    # every rule that applies was judged: host rules once, interface rules on eth0 (lo is excluded)
    judged = set(f["rule"] for f in findings)
    expected = set(r.id for r in CIS.rules) - {"cis_network.wireless_interfaces_down"}
    assert judged == expected
    assert not [f for f in findings if f["rule"] != "cis_network.promiscuous_interfaces"
                and f["interface"] == "lo"]


@pytest.mark.parametrize("rule_id", sorted(DEVIATIONS))
def test_one_deviation_fails_exactly_its_rule(rule_id):
    change, interface = DEVIATIONS[rule_id]
    doc = lib.compliant_host()
    change(doc)
    findings = evaluate(doc)
    assert lib.not_passed(findings) == [(rule_id, interface, "fail")]
    failed = lib.by_rule(findings, rule_id, "fail")[0]
    assert failed["host"] == "web1"
    assert failed["severity"] == CIS.rules_by_id[rule_id].severity
    assert failed["expected"] == CIS.rules_by_id[rule_id].expect.spec
    assert failed["detail"]


@pytest.mark.parametrize("change,rule_id", [
    (eth0(ipv4={"rp_filter": 2}), "cis_network.ipv4_rp_filter"),                   # loose mode is filtering
    (eth0(ipv4={"rp_filter": 0}), "cis_network.ipv4_rp_filter"),                   # MAX with all=1
    (eth0(ipv6={"accept_source_route": -1}), "cis_network.ipv6_accept_source_route"),
    (eth0(ipv4={"accept_source_route": 1}), "cis_network.ipv4_accept_source_route"),  # AND with all=0
    (eth0(ipv4={"log_martians": 0}), "cis_network.ipv4_log_martians"),             # OR with all=1
    (lambda doc: add_wifi(doc, up=False), "cis_network.wireless_interfaces_down"),
])
def test_compliant_variants_pass(change, rule_id):
    doc = lib.compliant_host()
    change(doc)
    findings = evaluate(doc)
    assert lib.not_passed(findings) == []
    assert lib.by_rule(findings, rule_id, "pass")


def test_the_brief_case_names_the_kernel_rule_in_the_detail():
    doc = lib.compliant_host()
    lib.set_sysctls(doc, "eth0", ipv4={"accept_redirects": 1})
    failed = lib.by_rule(evaluate(doc), "cis_network.ipv4_accept_redirects", "fail")[0]
    assert failed["actual"] == 1
    assert "conf/all (0)" in failed["detail"] and "conf/eth0 (1)" in failed["detail"]
    assert "OR" in failed["detail"] and "does not forward" in failed["detail"]


def test_ipv6_rules_do_not_apply_where_ipv6_is_disabled():
    doc = lib.compliant_host()
    lib.set_sysctls(doc, "eth0", ipv6={"disable_ipv6": 1, "accept_ra": 1, "forwarding": 1})
    findings = evaluate(doc)
    assert lib.not_passed(findings) == []
    assert not [f for f in findings if f["rule"].startswith("cis_network.ipv6_") and f["interface"] == "eth0"]


def test_ipv6_rules_do_not_apply_when_the_kernel_has_no_ipv6():
    doc = lib.compliant_host()
    for iface in doc["interfaces"].values():
        iface["sysctl"]["ipv6"] = dict((k, None) for k in lib.CIS_IPV6)
    for key in list(doc["sysctl"]):
        if key.startswith("net.ipv6."):
            doc["sysctl"][key] = None
    lib.recompute(doc)
    findings = evaluate(doc)
    assert lib.not_passed(findings) == []
    assert not [f for f in findings if f["rule"].startswith("cis_network.ipv6_")]


def test_each_interface_is_judged_on_its_own():
    doc = lib.compliant_host([
        lib.interface("eth0", mac="02:00:00:00:00:01"),
        lib.interface("eth1", mac="02:00:00:00:00:02"),
        lib.interface("veth9", kind="veth", mac="02:00:00:00:00:03"),
    ])
    lib.set_sysctls(doc, "eth1", ipv4={"send_redirects": 1})
    findings = evaluate(doc)
    assert lib.not_passed(findings) == [("cis_network.ipv4_send_redirects", "eth1", "fail")]
    assert sorted(f["interface"] for f in lib.by_rule(findings, "cis_network.ipv4_send_redirects")) == \
        ["eth0", "eth1", "veth9"]


def test_all_value_fails_every_interface_that_combines_it():
    doc = lib.compliant_host([lib.interface("eth0"), lib.interface("eth1", mac="02:00:00:00:00:02")])
    lib.set_all(doc, "ipv4", "send_redirects", 1)
    assert lib.not_passed(evaluate(doc)) == [("cis_network.ipv4_send_redirects", "eth0", "fail"),
                                             ("cis_network.ipv4_send_redirects", "eth1", "fail")]
