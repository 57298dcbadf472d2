# -*- coding: utf-8 -*-
# Copyright: hostnet.netif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The console summary of an audit: a few lines (result, severities, worst rules,
expired waivers by rule/host/expiry, report paths), whatever the fleet's size."""

import pytest

from ansible_collections.hostnet.netif.plugins.plugin_utils.audit import console, engine

import audit_testlib as lib

PATHS = {"html": "/r/netif-audit.html", "json": "/r/netif-audit.json"}
WAIVERS = [
    {"rule": "cis_network.ipv4_send_redirects", "hosts": ["web*"], "reason": "legacy router",
     "expires": "2030-01-31"},
    {"rule": "cis_network.tcp_syncookies", "hosts": ["db1"], "reason": "vendor appliance",
     "expires": "2031-01-01"},
]


def fleet(hosts=("web1", "web2", "db1", "ok1")):
    hosts = list(hosts)
    facts = {}
    for index, name in enumerate(hosts):
        # a db host has the MAC of the web host of its number: a duplicate MAC (high)
        mac = "02:00:00:00:%02x:%02x" % (index // 256, index % 256)
        if name.startswith("db"):
            number = hosts.index("web" + name[2:])
            mac = "02:00:00:00:%02x:%02x" % (number // 256, number % 256)
        doc = lib.compliant_host([lib.interface("eth0", mac=mac,
                                                addresses=[lib.address("198.18.4.%d/24" % (index + 1))])])
        if not name.startswith("ok"):
            lib.set_sysctls(doc, "eth0", ipv4={"send_redirects": 1})
        if name.startswith("db"):
            doc["sysctl"]["net.ipv4.tcp_syncookies"] = 0
        facts[name] = doc
    policy = engine.load_policy(["cis_network", "fleet"], waivers=WAIVERS)
    return engine.audit(policy, facts, today="2030-06-15", generated_at="2030-06-15T12:00:00Z")


@pytest.fixture(scope="module")
def report():
    return fleet()


def test_expired_waivers_name_rule_hosts_and_expiry(report):
    (entry,) = console.expired_waivers(report)
    assert (entry["rule"], entry["hosts"], entry["expires"], entry["reason"]) == \
        ("cis_network.ipv4_send_redirects", ["web1", "web2"], "2030-01-31", "legacy router")
    assert entry["source"]  # where the waiver was written
    text = console.expired_waiver_text(entry)
    assert text.startswith("waiver for cis_network.ipv4_send_redirects on web1, web2 expired on "
                           "2030-01-31 and no longer waives (legacy router; ")


def test_the_expired_finding_carries_the_rule_it_waived(report):
    expired = [f for f in report["findings"] if f["rule"] == engine.RULE_WAIVER_EXPIRED]
    assert sorted(f["host"] for f in expired) == ["web1", "web2"]
    assert all(f["waiver"]["rule"] == "cis_network.ipv4_send_redirects" for f in expired)


def test_failing_rules_worst_first(report):
    rows = console.failing_rules(report)
    assert rows[0] == {"rule": "fleet.duplicate_mac", "severity": "high", "findings": 2, "hosts": 2}
    send = [r for r in rows if r["rule"] == "cis_network.ipv4_send_redirects"][0]
    assert (send["findings"], send["hosts"]) == (3, 3)  # the expired waiver waives no more
    ranks = [engine.SEVERITY_RANK[r["severity"]] for r in rows]
    assert ranks == sorted(ranks, reverse=True)
    assert all(r["rule"] != "cis_network.tcp_syncookies" for r in rows)  # waived until 2031


def test_summary_lines_when_fail_on_is_reached(report):
    reached, why = engine.fail_on_reached(report, "medium")
    assert reached
    lines = console.summary_lines(report, PATHS, "medium", why)
    assert lines[0] == why + " (fail_on: medium)"
    assert lines[1].startswith("audit fail: 4 host(s) (3 fail, 0 error, 0 waived, 1 pass); findings ")
    assert lines[2] == "failing or unverifiable by severity: 2 high, 5 medium"
    assert "top failing rules (" in lines[3]
    assert lines[4].split() == ["high", "fleet.duplicate_mac:", "2", "finding(s)", "on", "2", "host(s)"]
    at = lines.index("expired waivers (1):")
    assert lines[at + 1].startswith("  cis_network.ipv4_send_redirects on web1, web2: expired 2030-01-31 "
                                    "(legacy router; ")
    assert lines[-2:] == ["HTML report: /r/netif-audit.html", "other reports: json /r/netif-audit.json"]


def test_summary_stays_short_on_a_large_fleet():
    big = fleet(["web%d" % i for i in range(60)] + ["db%d" % i for i in range(60)])
    lines = console.summary_lines(big, PATHS)
    assert len(lines) <= 5 + console.TOP_RULES + 2 + 2
    assert sum(len(line) for line in lines) < 2000
    expired = [line for line in lines if "expired 2030-01-31" in line][0]
    assert expired.startswith("  cis_network.ipv4_send_redirects on web0, web1, web10, web11, web12 "
                              "and 55 more: ")


def test_a_clean_fleet_says_so():
    clean = fleet(["ok1", "ok2"])
    lines = console.summary_lines(clean, {"json": "/r/netif-audit.json"})
    assert lines == ["audit pass: 2 host(s) (0 fail, 0 error, 0 waived, 2 pass); findings 0 fail, 0 error, "
                     "0 waived, %d pass" % clean["summary"]["findings"]["pass"],
                     "failing or unverifiable by severity: none",
                     "other reports: json /r/netif-audit.json"]
