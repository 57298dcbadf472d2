# -*- coding: utf-8 -*-
# Copyright: hostnet.netif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Engine behaviour: missing facts are errors, selectors, expectations, requirements, remediation."""

import copy

import pytest

from ansible_collections.hostnet.netif.plugins.module_utils import model
from ansible_collections.hostnet.netif.plugins.plugin_utils.audit import engine

import audit_testlib as lib

CIS = engine.load_policy("cis_network")
TODAY = "2030-06-15"


def rule(rule_id, scope="interface", **extra):
    out = {"id": rule_id, "title": "T " + rule_id, "severity": "medium", "rationale": "R",
           "remediation": {"text": "fix"}, "scope": scope}
    out.update(extra)
    return out


def policy(*rules, waivers=None):
    doc = {"schema_version": 1, "name": "t", "rules": list(rules)}
    if waivers:
        doc["waivers"] = waivers
    return engine.load_policy(doc)


def test_statuses_are_exactly_the_four_words():
    doc = lib.compliant_host()
    lib.set_sysctls(doc, "eth0", ipv4={"send_redirects": 1})
    del doc["sysctl"]["net.ipv4.tcp_syncookies"]
    statuses = set(f["status"] for f in engine.evaluate_host(CIS, "h", ["all"], doc, TODAY))
    assert statuses == {"pass", "fail", "error"}
    assert statuses <= set(engine.STATUSES)


def test_a_subset_that_was_not_gathered_is_an_error_never_a_pass():
    doc = lib.compliant_host()
    doc["gather_subset"] = ["addresses", "links"]
    for iface in doc["interfaces"].values():
        del iface["sysctl"]
    del doc["sysctl"]
    findings = engine.evaluate_host(CIS, "h", ["all"], doc, TODAY)
    sysctl_rules = [f for f in findings if f["rule"] != "cis_network.promiscuous_interfaces"]
    assert sysctl_rules and all(f["status"] == "error" for f in sysctl_rules)
    assert not [f for f in findings if f["status"] == "pass" and "sysctl" in (f["detail"] or "")]
    assert "needs gather_subset 'sysctl', which was not gathered" in sysctl_rules[0]["detail"]


def test_a_sysctl_key_that_was_not_gathered_is_an_error_naming_the_key():
    doc = lib.compliant_host()
    for iface in doc["interfaces"].values():
        del iface["sysctl"]["ipv4"]["rp_filter"]
        del iface["sysctl"]["effective"]["ipv4"]["rp_filter"]
    del doc["sysctl"]["net.ipv4.tcp_syncookies"]
    findings = engine.evaluate_host(CIS, "h", ["all"], doc, TODAY)
    rp = lib.by_rule(findings, "cis_network.ipv4_rp_filter")
    assert [f["status"] for f in rp] == ["error"]
    assert "add ipv4.rp_filter to sysctl_keys" in rp[0]["detail"]
    syn = lib.by_rule(findings, "cis_network.tcp_syncookies")
    assert syn[0]["status"] == "error" and "net.ipv4.tcp_syncookies" in syn[0]["detail"]


def test_a_document_built_without_procfs_says_so():
    doc = lib.compliant_host()
    for iface in doc["interfaces"].values():
        del iface["sysctl"]
    findings = engine.evaluate_host(CIS, "h", ["all"], doc, TODAY)
    errors = [f for f in findings if f["interface"] == "eth0" and f["status"] == "error"]
    assert errors and "sysctls were not read" in errors[0]["detail"]


def test_a_null_sysctl_value_is_an_error():
    doc = lib.compliant_host()
    doc["interfaces"]["eth0"]["sysctl"]["effective"]["ipv4"]["rp_filter"] = None
    finding = lib.by_rule(engine.evaluate_host(CIS, "h", ["all"], doc, TODAY), "cis_network.ipv4_rp_filter")[0]
    assert finding["status"] == "error" and "did not report" in finding["detail"]


@pytest.mark.parametrize("facts,words", [
    (None, "no facts"),
    ("text", "not a facts document"),
    ({"schema_version": 1}, "no 'interfaces' mapping"),
    ({"schema_version": 7, "interfaces": {}, "gather_subset": []}, "schema_version 7"),
])
def test_unusable_facts_give_one_error_finding(facts, words):
    findings = engine.evaluate_host(CIS, "h", ["all"], facts, TODAY)
    assert [(f["rule"], f["status"]) for f in findings] == [(engine.RULE_FACTS_UNAVAILABLE, "error")]
    assert words in findings[0]["detail"]


def test_missing_reason_becomes_the_detail():
    findings = engine.evaluate_host(CIS, "h", ["all"], None, TODAY, missing_reason="ssh: timed out")
    assert findings[0]["detail"] == "no facts: ssh: timed out"


def test_host_selector_matches_groups_and_globs_and_excludes():
    pol = policy(rule("t.web", scope="host", fact='sysctl["net.ipv4.tcp_syncookies"]', expect={"equals": 1},
                      select={"hosts": ["web", "db*"], "exclude_hosts": ["db9"]}))
    doc = lib.compliant_host()
    assert engine.evaluate_host(pol, "x1", ["all", "web"], doc, TODAY)
    assert engine.evaluate_host(pol, "db1", ["all"], doc, TODAY)
    assert engine.evaluate_host(pol, "db9", ["all"], doc, TODAY) == []
    assert engine.evaluate_host(pol, "x2", ["all", "other"], doc, TODAY) == []


def test_interface_selector_globs_kinds_and_flags():
    doc = lib.compliant_host([
        lib.interface("eth0"),
        lib.interface("eth1", flags=["broadcast"]),
        lib.interface("veth7", kind="veth"),
        lib.interface("lo", kind="loopback", flags=["loopback", "up"]),
    ])
    cases = [
        ({"interfaces": ["eth*"]}, ["eth0", "eth1"]),
        ({"interfaces": ["eth*"], "exclude_interfaces": ["eth1"]}, ["eth0"]),
        ({"kinds": ["veth", "loopback"]}, ["lo", "veth7"]),
        ({"exclude_kinds": ["loopback"]}, ["eth0", "eth1", "veth7"]),
        ({"flags": ["up"]}, ["eth0", "lo", "veth7"]),
        ({"exclude_flags": ["loopback", "up"]}, ["eth1"]),
    ]
    for select, names in cases:
        pol = policy(rule("t.m", fact="mtu", expect={"min": 1}, select=select))
        got = sorted(f["interface"] for f in engine.evaluate_host(pol, "h", ["all"], doc, TODAY))
        assert got == names, select


@pytest.mark.parametrize("expect,value,status", [
    ({"equals": 1500}, 1500, "pass"),
    ({"equals": 1500}, "1500", "pass"),
    ({"equals": 1}, True, "fail"),           # booleans are not numbers
    ({"equals": False}, 0, "fail"),
    ({"not_equals": 1500}, 9000, "pass"),
    ({"in": [1500, 9000]}, 9000, "pass"),
    ({"in": [1500, 9000]}, 1400, "fail"),
    ({"not_in": [1500]}, 1500, "fail"),
    ({"min": 1280, "max": 9000}, 1500, "pass"),
    ({"min": 1280}, 576, "fail"),
    ({"max": 9000}, "abc", "fail"),
    ({"matches": "^uplink"}, "uplink to core", "pass"),
    ({"matches": "^uplink"}, "to core", "fail"),
    ({"absent": True}, None, "pass"),
    ({"absent": True}, "x", "fail"),
    ({"present": True}, None, "fail"),
    ({"contains": "up"}, ["up", "broadcast"], "pass"),
    ({"not_contains": "promisc"}, ["up", "promisc"], "fail"),
])
def test_expect_operators(expect, value, status):
    # kind_data is free-form in the facts schema: any value type is a well-formed document
    pol = policy(rule("t.x", fact="kind_data.x", expect=expect))
    doc = lib.compliant_host([lib.interface("eth0")])
    doc["interfaces"]["eth0"]["kind_data"] = {"x": value}
    findings = engine.evaluate_host(pol, "h", ["all"], doc, TODAY)
    assert [f["status"] for f in findings] == [status]
    assert findings[0]["actual"] == value


def test_a_missing_key_is_absent():
    pol = policy(rule("t.x", fact="kind_data.mode", expect={"absent": True}),
                 rule("t.y", fact="kind_data.mode", expect={"equals": "bridge"}))
    findings = engine.evaluate_host(pol, "h", ["all"], lib.compliant_host([lib.interface("eth0")]), TODAY)
    assert [(f["rule"], f["status"], f["actual"]) for f in findings] == [("t.x", "pass", None),
                                                                         ("t.y", "fail", None)]


def test_when_conditions_limit_where_a_rule_applies():
    pol = policy(rule("t.m", fact="mtu", expect={"equals": 9000}, when=[{"fact": "kind", "equals": "veth"}]))
    doc = lib.compliant_host([lib.interface("eth0"), lib.interface("veth1", kind="veth")])
    findings = engine.evaluate_host(pol, "h", ["all"], doc, TODAY)
    assert [(f["interface"], f["status"]) for f in findings] == [("veth1", "fail")]


def test_required_subsets_follow_the_policy():
    needs = engine.required_subsets(engine.load_policy())
    assert needs["gather_subset"] == ["addresses", "links", "sysctl"]
    keys = set(needs["sysctl_keys"])
    assert {"ipv4.accept_redirects", "ipv4.forwarding", "ipv4.rp_filter", "ipv6.accept_ra",
            "ipv6.disable_ipv6", "net.ipv4.tcp_syncookies"} <= keys
    # the inputs of the effective values the rules judge (IPv6 forwarding reads force_forwarding)
    assert {"ipv6.forwarding", "ipv6.force_forwarding"} <= keys
    model.parse_sysctl_keys(sorted(keys))  # every key is on the facts module's allow-list
    only_links = policy(rule("t.p", fact="promisc", expect={"equals": False}))
    assert engine.required_subsets(only_links) == {"gather_subset": ["links"], "sysctl_keys": []}
    fleet = engine.load_policy("fleet")
    assert "addresses" in engine.required_subsets(fleet)["gather_subset"]


def test_remediation_plan_uses_the_setters_config_format():
    doc = lib.compliant_host()
    lib.set_sysctls(doc, "eth0", ipv4={"send_redirects": 1})
    doc["interfaces"]["eth0"].update(promisc=True, promisc_requested=True, promiscuity=1,
                                     promiscuity_unexplained=1)
    doc["sysctl"]["net.ipv4.tcp_syncookies"] = 0
    findings = engine.evaluate_host(CIS, "h", ["all"], doc, TODAY)
    plan = engine.remediation_plan(CIS, findings)
    assert plan["interfaces"] == [{"name": "eth0", "promisc": False}]
    assert {"name": "eth0", "ipv4": {"send_redirects": 0}} in plan["sysctls"]
    assert {"name": "all", "ipv4": {"send_redirects": 0}} in plan["sysctls"]
    assert plan["host_sysctls"] == {"net.ipv4.tcp_syncookies": 1}
    assert plan["manual"] == []


def test_fail_on_threshold():
    report = {"summary": {"failed_by_severity": {"info": 0, "low": 3, "medium": 0, "high": 1, "critical": 0}}}
    assert engine.fail_on_reached(report, "never") == (False, None)
    assert engine.fail_on_reached(report, "critical") == (False, None)
    reached, message = engine.fail_on_reached(report, "high")
    assert reached and "1 high" in message and "low" not in message
    assert engine.fail_on_reached(report, "low")[0]


def test_evaluation_does_not_change_the_facts():
    doc = lib.compliant_host()
    lib.set_sysctls(doc, "eth0", ipv4={"send_redirects": 1})
    before = copy.deepcopy(doc)
    engine.audit(engine.load_policy(), {"a": doc, "b": copy.deepcopy(doc)}, {"a": ["g"], "b": ["g"]}, TODAY)
    assert doc == before


def test_counted_evaluation_agrees_with_the_full_one():
    doc = lib.compliant_host([lib.interface("eth0"), lib.interface("eth1", mac="02:00:00:00:00:02")])
    lib.set_sysctls(doc, "eth1", ipv4={"send_redirects": 1})
    full = engine.evaluate_host(CIS, "h", ["all"], doc, TODAY)
    findings, passed = engine.evaluate_host_counted(CIS, "h", ["all"], doc, TODAY)
    assert findings == [f for f in full if f["status"] != "pass"]
    tally = {}
    for finding in full:
        if finding["status"] == "pass":
            tally[finding["rule"]] = tally.get(finding["rule"], 0) + 1
    assert passed == tally
    with_passes = engine.build_report(CIS, {"h": full}, (), {"h": ["all"]}, generated_at="x", today=TODAY)
    counted = engine.build_report(CIS, {"h": findings}, (), {"h": ["all"]}, generated_at="x", today=TODAY,
                                  passed={"h": passed})
    assert counted == with_passes
