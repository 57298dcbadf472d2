# -*- coding: utf-8 -*-
# Copyright: hostnet.netif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reports: the JSON validates, JUnit and HTML parse, and hostile strings never inject."""

import html.parser
import json
import os
import re
import xml.etree.ElementTree as ET

import jsonschema
import pytest

from ansible_collections.hostnet.netif.plugins.plugin_utils.audit import engine, reports
from ansible_collections.hostnet.netif.plugins.plugin_utils.audit.reports import html_report
from ansible_collections.hostnet.netif.plugins.plugin_utils.audit.policy import SCHEMA_DIR

import audit_testlib as lib

HOSTILE = '<script>alert(1)</script>]]>&"'
CONTROL = "\x00\x07\x1b\x0b\x7f\ud800"
HOSTILE_HOST = HOSTILE + CONTROL
HOSTILE_ALIAS = HOSTILE + "\x01\x1b[31m"
HOSTILE_IFACE = 'e<"&>'  # a valid kernel interface name
with open(os.path.join(SCHEMA_DIR, "report.schema.json"), encoding="utf-8") as _handle:
    REPORT_SCHEMA = json.load(_handle)

# a rule that fails on the alias, so the hostile text is the actual value too
ALIAS_RULE = {"schema_version": 1, "name": "names", "rules": [{
    "id": "names.alias", "title": "Aliases are documented", "severity": "low", "rationale": "R",
    "remediation": {"text": "set an alias"}, "scope": "interface", "fact": "alias",
    "expect": {"matches": "^uplink"}}]}


def hostile_report(include_passed=False):
    policy = engine.load_policy(["cis_network", "fleet", ALIAS_RULE],
                                waivers=[{"rule": "cis_network.tcp_syncookies", "hosts": ["web*"],
                                          "reason": HOSTILE, "expires": "2030-12-31"}])
    bad = lib.compliant_host([lib.interface(HOSTILE_IFACE, alias=HOSTILE_ALIAS,
                                            addresses=[lib.address("198.18.3.4/24")])])
    lib.set_sysctls(bad, HOSTILE_IFACE, ipv4={"send_redirects": 1})
    twin = lib.compliant_host([lib.interface("eth0", mac="02:00:00:00:00:02", alias="uplink 1",
                                             addresses=[lib.address("198.18.3.4/24")])])
    web = lib.compliant_host([lib.interface("eth0", mac="02:00:00:00:00:03", alias="uplink 2")])
    web["sysctl"]["net.ipv4.tcp_syncookies"] = 0
    facts = {HOSTILE_HOST: bad, "twin": twin, "web1": web, "down": None}
    groups = {HOSTILE_HOST: ["all", HOSTILE], "twin": ["all"], "web1": ["all"], "down": ["all"]}
    return engine.audit(policy, facts, groups, today="2030-06-15", include_passed=include_passed,
                        generated_at="2030-06-15T12:00:00Z")


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    report = hostile_report()
    directory = tmp_path_factory.mktemp("reports")
    paths = reports.write_reports(report, str(directory))
    texts = {}
    for fmt, path in paths.items():
        with open(path, "rb") as handle:
            texts[fmt] = handle.read()
    return report, paths, texts


def test_every_format_is_written_atomically(written):
    report, paths, texts = written
    assert sorted(paths) == ["html", "json", "junit", "markdown"]
    directory = os.path.dirname(paths["json"])
    assert sorted(os.listdir(directory)) == ["netif-audit.html", "netif-audit.json", "netif-audit.junit.xml",
                                             "netif-audit.md"]
    with pytest.raises(ValueError):
        reports.write_reports(report, directory, ["pdf"])


def test_raw_markup_and_control_characters_never_reach_any_report(written):
    texts = written[2]
    for fmt, raw in texts.items():
        assert b"<script>" not in raw, fmt
        assert b"]]>" not in raw, fmt
        assert b"\x00" not in raw and b"\x1b" not in raw and b"\x07" not in raw, fmt
        raw.decode("utf-8")  # lone surrogates were escaped, not written


def test_json_report_validates_and_round_trips(written):
    report, paths, texts = written
    document = json.loads(texts["json"])
    jsonschema.Draft202012Validator(REPORT_SCHEMA, format_checker=jsonschema.FormatChecker()).validate(document)
    assert document == json.loads(json.dumps(report))
    assert HOSTILE_HOST in [h["name"] for h in document["hosts"]]


def test_report_has_an_entry_for_every_audited_host(written):
    report = written[0]
    by_name = dict((h["name"], h) for h in report["hosts"])
    assert sorted(by_name) == sorted([HOSTILE_HOST, "twin", "web1", "down"])
    assert by_name["down"]["status"] == "error"
    assert by_name["down"]["rules"] == {engine.RULE_FACTS_UNAVAILABLE: "error"}
    assert by_name["web1"]["rules"]["cis_network.tcp_syncookies"] == "waived"
    assert by_name[HOSTILE_HOST]["rules"]["fleet.duplicate_address"] == "fail"
    assert by_name["twin"]["rules"]["fleet.duplicate_address"] == "fail"
    summary = report["summary"]
    assert summary["hosts"] == 4
    assert sum(summary["hosts_by_status"].values()) == 4
    counted = dict((status, sum(h["counts"][status] for h in report["hosts"])) for status in engine.STATUSES)
    assert counted == summary["findings"]
    assert summary["findings"]["fail"] + summary["findings"]["waived"] + summary["findings"]["error"] == \
        len(report["findings"])


def test_passes_are_listed_only_when_asked(written):
    report = written[0]
    assert report["findings_listed"] == "not_passed"
    assert all(f["status"] != "pass" for f in report["findings"])
    full = hostile_report(include_passed=True)
    assert full["findings_listed"] == "all"
    assert full["summary"] == report["summary"]
    assert len(full["findings"]) == sum(full["summary"]["findings"].values())


def test_junit_parses_and_keeps_the_text(written):
    report, paths, texts = written
    root = ET.fromstring(texts["junit"])
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert len(suites) == len(report["hosts"])
    names = [s.get("name") for s in suites]
    hostile = [n for n in names if n.startswith(HOSTILE)]
    assert len(hostile) == 1
    assert "\\x00" in hostile[0] and "\\ud800" in hostile[0]  # controls made visible, not dropped
    cases = dict(((s.get("name"), c.get("name").split(":")[0]), c) for s in suites for c in s.findall("testcase"))
    assert cases[("web1", "cis_network.tcp_syncookies")].find("skipped") is not None
    assert cases[(hostile[0], "cis_network.ipv4_send_redirects")].find("failure") is not None
    assert cases[("down", engine.RULE_FACTS_UNAVAILABLE)].find("error") is not None
    assert cases[("twin", "cis_network.ipv4_send_redirects")].find("failure") is None
    total = sum(len(s.findall("testcase")) for s in suites)
    assert int(root.get("tests")) == total
    assert int(root.get("failures")) == sum(1 for c in cases.values() if c.find("failure") is not None)


class _Collector(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags = []
        self.data = []
        self.attrs = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs.extend(attrs)

    def handle_data(self, data):
        self.data.append(data)


def test_html_parses_is_self_contained_and_shows_the_text_as_text(written):
    raw = written[2]["html"].decode("utf-8")
    parser = _Collector()
    parser.feed(raw)
    parser.close()
    assert "script" not in parser.tags
    assert not set(parser.tags) & {"link", "img", "iframe", "object", "embed"}
    # nothing to load; links only to the report's own host sections
    assert not [v for k, v in parser.attrs if k == "src" and v]
    assert all(re.match(r"^#host-\d+$", v) for k, v in parser.attrs if k == "href")
    assert not re.search(r"https?://", raw)
    text = "".join(parser.data)
    assert "<script>alert(1)</script>]]>&\"" in text  # shown, as text
    assert "default-src 'none'" in raw
    assert "Hosts &times; rules" in raw and 'class="matrix"' in raw
    for severity in engine.SEVERITIES:
        assert ">%s<b>" % severity in raw


def test_markdown_escapes_markup_and_keeps_tables_intact(written):
    raw = written[2]["markdown"].decode("utf-8")
    assert "&lt;script&gt;" in raw
    for line in raw.splitlines():
        if line.startswith("| high") or line.startswith("| medium") or line.startswith("| low"):
            cells = re.split(r"(?<!\\)\|", line)
            assert len(cells) in (4, 8, 9), line  # severity table, rules table, findings table


def test_html_and_markdown_list_at_most_detail_limit(tmp_path):
    report = hostile_report()
    paths = reports.write_reports(report, str(tmp_path), ["markdown", "html"], detail_limit=1)
    with open(paths["markdown"], encoding="utf-8") as handle:
        assert "more finding(s) in the JSON report" in handle.read()

    with open(paths["html"], encoding="utf-8") as handle:
        assert "more finding(s) in the JSON report" in handle.read()


# ---------------------------------------------------------------------------
# HTML layout: failing rules first, rows by status, never-applied rules, hosts
# ---------------------------------------------------------------------------
_RULE_ROW = re.compile(r'<tr class="row-(\w+)"><td class="num">(\d+)</td><td id="rule-\d+"><code>([^<]*)</code>'
                       r'</td><td class="s-(\w+)">')
_FINDING_ROW = re.compile(r'<tr class="row-(\w+)"><td class="s-(\w+)">')
_SHOWN_RANK = {"fail": 0, "error": 0, "waived": 1, "pass": 2}


def _between(raw, start, end):
    head = raw.index(start)
    return raw[head:raw.index(end, head)]


def test_html_rules_failing_first_then_by_severity(written):
    report, raw = written[0], written[2]["html"].decode("utf-8")
    rows = _RULE_ROW.findall(_between(raw, '<table class="rules">', "</table>"))
    applied = [r for r, c in report["summary"]["rules"].items() if sum(c.values())]
    assert sorted(r[2] for r in rows) == sorted(applied)
    assert [int(r[1]) for r in rows] == list(range(1, len(rows) + 1))
    keys = [(_SHOWN_RANK[status], -engine.SEVERITY_RANK[severity]) for status, dummy, dummy2, severity in rows]
    assert keys == sorted(keys)
    shown = dict((rule, status) for status, dummy, rule, dummy2 in rows)
    assert shown["fleet.duplicate_address"] == "fail"
    assert shown[engine.RULE_FACTS_UNAVAILABLE] == "error"
    assert shown["cis_network.tcp_syncookies"] == "waived"   # failed on web1 only, and waived there
    assert shown["cis_network.ipv4_forwarding"] == "pass"
    assert set(shown.values()) == {"fail", "error", "waived", "pass"}
    # the matrix numbers its columns in the same order
    header = _between(raw, '<table class="matrix">', "</tr>")
    assert re.findall(r'<th class="rule" title="[^"]*">(\d+) ([^<]*)</th>', header) == \
        [(number, rule) for dummy, number, rule, dummy2 in rows]


def test_html_rows_are_highlighted_by_status_and_titles_have_room(written):
    raw = written[2]["html"].decode("utf-8")
    for status in ("fail", "error", "waived"):
        assert re.search(r"tr\.row-%s>td\{background:#" % status, raw), status
    assert re.search(r"table\.rules td\.title\{min-width:\d+em", raw)
    findings = _FINDING_ROW.findall(_between(raw, "<h2>Findings", "</body>"))
    assert {status for status, dummy in findings} == {"fail", "error", "waived"}


def test_html_lists_the_rules_that_never_applied(written):
    report, raw = written[0], written[2]["html"].decode("utf-8")
    never = sorted(r for r, c in report["summary"]["rules"].items() if not sum(c.values()))
    assert "cis_network.wireless_interfaces_down" in never and "fleet.drift" in never
    section = _between(raw, "<h2>Rules that never applied</h2>", "</table>")
    assert "%d rule(s)" % len(never) in section
    assert sorted(re.findall(r"<tr><td><code>([^<]*)</code>", section)) == never
    rules_table = _between(raw, '<table class="rules">', "</table>")
    assert not [r for r in never if "<code>%s</code>" % r in rules_table]
    # the Markdown lists them too (in its rules table, with zero counts)
    markdown = written[2]["markdown"].decode("utf-8")
    assert all("| %s |" % _markdown_id(r) in markdown for r in never)


def _markdown_id(rule_id):
    return rule_id.replace("_", "\\_")


def test_html_groups_findings_by_host_on_a_fleet(written):
    report, raw = written[0], written[2]["html"].decode("utf-8")
    body = raw[raw.index("<h2>Findings by host</h2>"):]
    sections = re.findall(r'<section id="(host-\d+)"><h3>(.*?) <span class="badge r-(\w+)">\w+</span> '
                          r"<small>(.*?)</small></h3>(.*?)</section>", body, re.S)
    hosts = dict((h["name"], h) for h in report["hosts"])
    listed = {}
    for finding in report["findings"]:
        listed.setdefault(finding["host"], []).append(finding)
    assert len(sections) == len(listed) == 4  # web1 has only a waived finding: listed too
    order = []
    for anchor, name_html, status, counts, table in sections:
        name = [n for n in hosts if html_report._h(n) == name_html][0]
        order.append(name)
        host = hosts[name]
        assert status == host["status"]
        assert counts == ", ".join("%d %s" % (host["counts"][s], s) for s in ("fail", "error", "waived", "pass"))
        rows = _FINDING_ROW.findall(table)
        assert len(rows) == len(listed[name])
        assert "<th>host</th>" not in table  # the section says whose they are
        keys = [(_SHOWN_RANK[s], -engine.SEVERITY_RANK[sev]) for s, sev in rows]
        assert keys == sorted(keys)
        assert '<a href="#%s">%s</a>' % (anchor, name_html) in raw  # the matrix links to it
    assert [hosts[n]["status"] for n in order] == ["fail", "error", "fail", "waived"]
    assert order[0] == HOSTILE_HOST and order[1] == "down"  # then by name: fail and error rank alike


def test_html_of_one_host_is_one_findings_table():
    policy = engine.load_policy(["cis_network"])
    doc = lib.compliant_host()
    lib.set_sysctls(doc, "eth0", ipv4={"send_redirects": 1, "log_martians": 0})
    report = engine.audit(policy, {"solo": doc}, {"solo": ["all"]}, today="2030-06-15",
                          generated_at="2030-06-15T12:00:00Z")
    raw = html_report.render(report)
    assert "<section" not in raw and "Findings by host" not in raw and "href=" not in raw
    table = _between(raw, "<h2>Findings</h2>", "</table>")
    assert "<th>host</th>" in table
    rows = _FINDING_ROW.findall(table)
    assert rows and [sev for s, sev in rows] == sorted((sev for s, sev in rows),
                                                       key=lambda sev: -engine.SEVERITY_RANK[sev])


def test_html_detail_limit_counts_findings_across_host_sections():
    report = hostile_report()
    total = len([f for f in report["findings"] if f["status"] != "pass"])
    raw = html_report.render(report, detail_limit=2)
    assert len(_FINDING_ROW.findall(raw)) == 2
    assert "%d more finding(s) in the JSON report." % (total - 2) in raw
