# -*- coding: utf-8 -*-
# Copyright: hostnet.netif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Self-contained HTML report: summary, severity counts, host x rule matrix, findings.

One file, no external assets and no JavaScript (inline CSS only, and a
Content-Security-Policy that forbids scripts), so it can be archived by CI and
opened anywhere. Every host-provided string goes through _text.html_text.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.hostnet.netif.plugins.plugin_utils.audit.reports import _text
from ansible_collections.hostnet.netif.plugins.plugin_utils.audit.reports.markdown import (
    STATUS_ORDER,
    sorted_findings,
)
from ansible_collections.hostnet.netif.plugins.plugin_utils.audit.policy import SEVERITIES, SEVERITY_RANK

SUFFIX = ".html"
_CELL = {"pass": '<td class="p">&#10003;</td>', "fail": '<td class="f">&#10007;</td>',
         "waived": '<td class="w">~</td>', "error": '<td class="e">!</td>'}
_NA = '<td class="n"></td>'

_CSS = """
body{font:14px/1.4 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:1.5em;color:#1b1f23}
h1{margin:0 0 .2em}h2{margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ddd;padding:2px 6px;text-align:left;vertical-align:top}
th{background:#f6f8fa}.num{text-align:right}
.badge{display:inline-block;padding:.2em .7em;border-radius:4px;color:#fff;font-weight:bold}
.r-pass{background:#1a7f37}.r-fail{background:#cf222e}.r-error{background:#9a6700}
.cards{display:flex;gap:.8em;flex-wrap:wrap}.card{border:1px solid #ddd;border-radius:6px;padding:.5em 1em;min-width:6em}
.card b{display:block;font-size:1.6em}
.s-critical{color:#82071e}.s-high{color:#cf222e}.s-medium{color:#bc4c00}.s-low{color:#9a6700}.s-info{color:#57606a}
.matrix td{width:1.3em;text-align:center;padding:0}.matrix th.rule{writing-mode:vertical-rl;transform:rotate(180deg);
white-space:nowrap;font-weight:normal;font-size:12px}
td.p{background:#dafbe1;color:#1a7f37}td.f{background:#ffebe9;color:#cf222e;font-weight:bold}
td.w{background:#eaeef2;color:#57606a}td.e{background:#fff8c5;color:#9a6700;font-weight:bold}td.n{background:#fff}
.st-fail{color:#cf222e;font-weight:bold}.st-error{color:#9a6700;font-weight:bold}.st-waived{color:#57606a}
.st-pass{color:#1a7f37}.detail{max-width:60em;word-break:break-word}small{color:#57606a}
"""


def _h(value):
    return _text.html_text(value)


def _value(value):
    return "null" if value is None else _text.html_text(value)


def render(report, detail_limit=2000, matrix_limit=20000, **_options):
    summary = report["summary"]
    rules = report["rules"]
    rule_ids = sorted(summary["rules"], key=lambda r: (-SEVERITY_RANK[rules[r]["severity"]], r)) \
        if summary["rules"] else []
    applied = [r for r in rule_ids if sum(summary["rules"][r].values())]
    result = summary["result"]
    out = []
    add = out.append
    add("<!DOCTYPE html>")
    add('<html lang="en"><head><meta charset="utf-8">')
    add("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
        "style-src 'unsafe-inline'; img-src data:\">")
    add('<meta name="viewport" content="width=device-width, initial-scale=1">')
    add("<title>hostnet.netif audit: %s</title><style>%s</style></head><body>" % (_h(result), _CSS))
    add('<h1>hostnet.netif audit report <span class="badge r-%s">%s</span></h1>' % (_h(result), _h(result.upper())))
    add("<p>Policy <b>%s</b> <small>(sha256 %s)</small>, generated %s, waivers judged on %s.</p>" % (
        _h(", ".join(report["policy"]["names"])), _h(report["policy"]["digest"][:16]),
        _h(report["generated_at"]), _h(report["audit_date"])))

    add('<h2>Summary</h2><div class="cards">')
    add('<div class="card">hosts<b>%d</b></div>' % summary["hosts"])
    for status in ("fail", "error", "waived", "pass"):
        add('<div class="card st-%s">hosts %s<b>%d</b></div>' % (status, status, summary["hosts_by_status"][status]))
    add("</div>")
    add('<h2>Failing findings by severity</h2><div class="cards">')
    for severity in reversed(SEVERITIES):
        add('<div class="card s-%s">%s<b>%d</b></div>' % (severity, severity, summary["failed_by_severity"][severity]))
    add("</div><p><small>fail or error findings; %d waived, %d passed.</small></p>" % (
        summary["findings"]["waived"], summary["findings"]["pass"]))

    add("<h2>Rules</h2><table><tr><th>#</th><th>rule</th><th>severity</th><th>fail</th><th>error</th>"
        "<th>waived</th><th>pass</th><th>title</th><th>references</th></tr>")
    for number, rule_id in enumerate(applied, 1):
        rule = rules[rule_id]
        counts = summary["rules"][rule_id]
        refs = "; ".join("%s: %s" % (kind, ", ".join(ids)) for kind, ids in sorted(rule["references"].items()) if ids)
        add('<tr><td class="num">%d</td><td id="rule-%d"><code>%s</code></td><td class="s-%s">%s</td>'
            '<td class="num">%d</td><td class="num">%d</td><td class="num">%d</td><td class="num">%d</td>'
            "<td>%s<details><summary><small>why and how to fix</small></summary><p>%s</p><p><b>Remediation:</b> %s</p>"
            "</details></td><td><small>%s</small></td></tr>" % (
                number, number, _h(rule_id), _h(rule["severity"]), _h(rule["severity"]), counts["fail"],
                counts["error"], counts["waived"], counts["pass"], _h(rule["title"]), _h(rule["rationale"]),
                _h(rule["remediation"].get("text", "")), _h(refs)))
    add("</table>")

    hosts = sorted(report["hosts"], key=lambda h: (STATUS_ORDER[h["status"]], h["name"]))
    add("<h2>Hosts &times; rules</h2>")
    add("<p><small>&#10007; fail, ! error (fact not gathered or unreadable), ~ waived, &#10003; pass, "
        "blank: the rule did not apply. Columns are numbered as in the rules table.</small></p>")
    add('<table class="matrix"><tr><th>host</th><th>status</th>%s</tr>' % "".join(
        '<th class="rule" title="%s">%d %s</th>' % (_h(r), n, _h(r)) for n, r in enumerate(applied, 1)))
    for host in hosts[:matrix_limit]:
        statuses = host["rules"]
        add('<tr><th>%s</th><td class="st-%s">%s</td>%s</tr>' % (
            _h(host["name"]), _h(host["status"]), _h(host["status"]),
            "".join(_CELL.get(statuses.get(r), _NA) for r in applied)))
    add("</table>")
    if len(hosts) > matrix_limit:
        add("<p>%d more host(s) in the JSON report.</p>" % (len(hosts) - matrix_limit))

    findings = sorted_findings(f for f in report["findings"] if f["status"] != "pass")
    add("<h2>Findings</h2>")
    if not findings:
        add("<p>No failing, waived or unverifiable findings.</p>")
    else:
        add("<table><tr><th>severity</th><th>status</th><th>host</th><th>interface</th><th>rule</th>"
            "<th>expected</th><th>actual</th><th>detail</th></tr>")
        for finding in findings[:detail_limit]:
            interface = finding["interface"]
            if interface is not None and finding.get("alias"):
                interface_html = "%s <small>(%s)</small>" % (_h(interface), _h(finding["alias"]))
            else:
                interface_html = _h(interface) if interface is not None else "&ndash;"
            add('<tr><td class="s-%s">%s</td><td class="st-%s">%s</td><td>%s</td><td>%s</td><td><code>%s</code>'
                '</td><td>%s</td><td>%s</td><td class="detail">%s</td></tr>' % (
                    _h(finding["severity"]), _h(finding["severity"]), _h(finding["status"]), _h(finding["status"]),
                    _h(finding["host"]), interface_html, _h(finding["rule"]), _value(finding["expected"]),
                    _value(finding["actual"]), _h(finding["detail"])))
        add("</table>")
        if len(findings) > detail_limit:
            add("<p>%d more finding(s) in the JSON report.</p>" % (len(findings) - detail_limit))
    add("</body></html>")
    return "\n".join(out) + "\n"
