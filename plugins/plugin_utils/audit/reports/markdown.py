# -*- coding: utf-8 -*-
# Copyright: hostnet.netif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Markdown report (GitHub-flavoured tables), for pull requests and tickets.

Every host-provided string goes through _text.markdown: Markdown specials are
backslash-escaped and HTML metacharacters become entities, so nothing a host
reports can turn into markup, links or raw HTML when the file is rendered.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import heapq

from ansible_collections.hostnet.netif.plugins.plugin_utils.audit.reports import _text
from ansible_collections.hostnet.netif.plugins.plugin_utils.audit.policy import SEVERITIES, SEVERITY_RANK

SUFFIX = ".md"
STATUS_ORDER = {"fail": 0, "error": 1, "waived": 2, "pass": 3}


def _finding_order(finding):
    return (-SEVERITY_RANK.get(finding["severity"], 0), STATUS_ORDER[finding["status"]],
            finding["host"], finding["rule"], finding["interface"] or "")


def sorted_findings(findings):
    return sorted(findings, key=_finding_order)


def render(report, detail_limit=2000, **_options):
    md = _text.markdown
    summary = report["summary"]
    hosts_by = summary["hosts_by_status"]
    out = [
        "# hostnet.netif audit report",
        "",
        "**Result: %s** - %d host(s): %d fail, %d error, %d waived, %d pass" % (
            summary["result"].upper(), summary["hosts"], hosts_by["fail"], hosts_by["error"],
            hosts_by["waived"], hosts_by["pass"]),
        "",
        "- Policy: %s (sha256 %s)" % (md(", ".join(report["policy"]["names"])), report["policy"]["digest"][:16]),
        "- Generated: %s; waivers judged on %s" % (md(report["generated_at"]), md(report["audit_date"])),
        "- Findings: %d fail, %d error, %d waived, %d pass" % (
            summary["findings"]["fail"], summary["findings"]["error"], summary["findings"]["waived"],
            summary["findings"]["pass"]),
        "",
        "## Failing findings by severity",
        "",
        "| severity | fail or error |",
        "|---|---:|",
    ]
    for severity in reversed(SEVERITIES):
        out.append("| %s | %d |" % (severity, summary["failed_by_severity"][severity]))
    out += ["", "## Rules", "", "| rule | severity | fail | error | waived | pass | title |",
            "|---|---|---:|---:|---:|---:|---|"]
    rules = report["rules"]
    for rule_id in sorted(rules, key=lambda r: (-SEVERITY_RANK[rules[r]["severity"]], r)):
        counts = summary["rules"].get(rule_id) or {"pass": 0, "fail": 0, "waived": 0, "error": 0}
        rule = rules[rule_id]
        out.append("| %s | %s | %d | %d | %d | %d | %s |" % (
            md(rule_id), rule["severity"], counts["fail"], counts["error"], counts["waived"],
            counts["pass"], md(rule["title"])))
    hosts = sorted(report["hosts"], key=lambda h: (STATUS_ORDER[h["status"]], h["name"]))
    out += ["", "## Hosts", "", "| host | status | fail | error | waived | pass |", "|---|---|---:|---:|---:|---:|"]
    for host in hosts[:detail_limit]:
        counts = host["counts"]
        out.append("| %s | %s | %d | %d | %d | %d |" % (md(host["name"]), host["status"], counts["fail"],
                                                        counts["error"], counts["waived"], counts["pass"]))
    if len(hosts) > detail_limit:
        out.append("")
        out.append("%d more host(s) in the JSON report." % (len(hosts) - detail_limit))
    # the first detail_limit of the order sorted_findings gives, without holding them all
    findings = heapq.nsmallest(detail_limit, (f for f in report["findings"] if f["status"] != "pass"),
                               key=_finding_order)
    total = summary["findings"]["fail"] + summary["findings"]["error"] + summary["findings"]["waived"]
    out += ["", "## Findings", ""]
    if not total:
        out.append("No failing, waived or unverifiable findings.")
    else:
        out += ["| severity | status | host | interface | rule | detail |", "|---|---|---|---|---|---|"]
        for finding in findings[:detail_limit]:
            out.append("| %s | %s | %s | %s | %s | %s |" % (
                finding["severity"], finding["status"], md(finding["host"]),
                md(finding["interface"]) if finding["interface"] is not None else "-",
                md(finding["rule"]), md(finding["detail"])))
        if total > detail_limit:
            out.append("")
            out.append("%d more finding(s) in the JSON report." % (total - detail_limit))
    out.append("")
    return "\n".join(out)
