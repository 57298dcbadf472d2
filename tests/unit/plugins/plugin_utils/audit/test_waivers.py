# -*- coding: utf-8 -*-
# Copyright: hostnet.netif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Waivers: valid ones waive, expired ones stop waiving and are reported, others do not match."""

import pytest

from ansible_collections.hostnet.netif.plugins.plugin_utils.audit import engine

import audit_testlib as lib

RULE = "cis_network.ipv4_send_redirects"


def failing_host():
    doc = lib.compliant_host([lib.interface("eth0"), lib.interface("eth1", mac="02:00:00:00:00:02")])
    lib.set_all(doc, "ipv4", "send_redirects", 1)  # fails on eth0 and eth1
    return doc


def statuses(waiver, host="web1", groups=("all", "web"), today="2030-06-15"):
    policy = engine.load_policy("cis_network", waivers=[waiver])
    findings = engine.evaluate_host(policy, host, list(groups), failing_host(), today)
    return findings, sorted((f["rule"], f["interface"], f["status"]) for f in findings if f["status"] != "pass")


def test_a_valid_waiver_waives_and_says_why():
    findings, got = statuses({"rule": RULE, "hosts": ["web1"], "reason": "lab router", "expires": "2030-12-31",
                              "ticket": "NET-42"})
    assert got == [(RULE, "eth0", "waived"), (RULE, "eth1", "waived")]
    waived = lib.by_rule(findings, RULE, "waived")[0]
    assert waived["waiver"]["reason"] == "lab router" and waived["waiver"]["ticket"] == "NET-42"
    assert waived["waiver"]["expires"] == "2030-12-31"
    assert "waived: lab router" in waived["detail"]


@pytest.mark.parametrize("hosts", [["web*"], ["web"], None])
def test_waiver_host_matching_by_glob_group_or_everyone(hosts):
    waiver = {"rule": RULE, "reason": "ok"}
    if hosts is not None:
        waiver["hosts"] = hosts
    assert [s for dummy, dummy2, s in statuses(waiver)[1]] == ["waived", "waived"]


def test_a_waiver_for_another_host_does_not_waive():
    assert statuses({"rule": RULE, "hosts": ["db1", "dbservers"], "reason": "ok"})[1] == [
        (RULE, "eth0", "fail"), (RULE, "eth1", "fail")]


def test_a_waiver_for_another_rule_does_not_waive():
    assert statuses({"rule": "cis_network.ipv4_forwarding", "reason": "router"})[1] == [
        (RULE, "eth0", "fail"), (RULE, "eth1", "fail")]


def test_a_waiver_limited_to_interfaces():
    assert statuses({"rule": RULE, "interfaces": ["eth1"], "reason": "ok"})[1] == [
        (RULE, "eth0", "fail"), (RULE, "eth1", "waived")]


def test_an_expired_waiver_no_longer_waives_and_is_reported():
    findings, got = statuses({"rule": RULE, "hosts": ["web1"], "reason": "temporary", "expires": "2030-06-14"})
    assert got == [(engine.RULE_WAIVER_EXPIRED, None, "fail"), (RULE, "eth0", "fail"), (RULE, "eth1", "fail")]
    expired = lib.by_rule(findings, engine.RULE_WAIVER_EXPIRED)[0]
    assert "expired on 2030-06-14" in expired["detail"] and RULE in expired["detail"]
    assert "2 failing finding(s)" in expired["detail"]
    assert expired["actual"] == "2030-06-14"


def test_a_waiver_is_valid_through_its_expiry_date():
    assert [s for dummy, dummy2, s in statuses({"rule": RULE, "reason": "ok", "expires": "2030-06-15"})[1]] == \
        ["waived", "waived"]


def test_an_expired_waiver_of_another_host_is_not_reported_here():
    got = statuses({"rule": RULE, "hosts": ["db1"], "reason": "x", "expires": "2020-01-01"})[1]
    assert engine.RULE_WAIVER_EXPIRED not in [r for r, dummy, dummy2 in got]


def test_waivers_do_not_hide_errors():
    policy = engine.load_policy("cis_network", waivers=[{"rule": "cis_network.tcp_syncookies", "reason": "x"}])
    doc = lib.compliant_host()
    del doc["sysctl"]["net.ipv4.tcp_syncookies"]
    findings = engine.evaluate_host(policy, "h", ["all"], doc, "2030-01-01")
    assert lib.by_rule(findings, "cis_network.tcp_syncookies")[0]["status"] == "error"


def test_waivers_in_the_policy_itself():
    policy = engine.load_policy({"schema_version": 1, "name": "t", "rules": [{
        "id": "t.mtu", "title": "T", "severity": "low", "rationale": "R", "remediation": {"text": "x"},
        "scope": "interface", "fact": "mtu", "expect": {"equals": 9000}}],
        "waivers": [{"rule": "t.mtu", "interfaces": ["eth0"], "reason": "legacy"}]})
    findings = engine.evaluate_host(policy, "h", ["all"], lib.compliant_host([lib.interface("eth0")]), "2030-01-01")
    assert [f["status"] for f in findings] == ["waived"]
