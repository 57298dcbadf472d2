# -*- coding: utf-8 -*-
# Copyright: hostnet.netif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Self-contained HTML report: summary, severity counts, rules (failing first), rules that
never applied, host x rule matrix, findings (by host on a fleet).

One file, no external assets and no JavaScript (inline CSS only, and a
Content-Security-Policy that forbids scripts), so it can be archived by CI and
opened anywhere. Every host-provided string goes through _text.html_text.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.hostnet.netif.plugins.plugin_utils.audit import engine
from ansible_collections.hostnet.netif.plugins.plugin_utils.audit.reports import _text
from ansible_collections.hostnet.netif.plugins.plugin_utils.audit.policy import SEVERITIES, SEVERITY_RANK

SUFFIX = ".html"
_CELL = {"pass": '<td class="p">&#10003;</td>', "fail": '<td class="f">&#10007;</td>',
         "waived": '<td class="w">~</td>', "error": '<td class="e">!</td>'}
_NA = '<td class="n"></td>'

_CSS = """
body{font:14px/1.4 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:1.5em;color:#1b1f23}
h1{margin:0 0 .2em}h2{margin-top:1.6em;border-bottom:1px solid #ddd}h3{margin:1.2em 0 .3em}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ddd;padding:2px 6px;text-align:left;vertical-align:top}
th{background:#f6f8fa}.num{text-align:right}code{white-space:nowrap}
.badge{display:inline-block;padding:.2em .7em;border-radius:4px;color:#fff;font-weight:bold}
h3 .badge{font-size:.8em;padding:.1em .5em}
.r-pass{background:#1a7f37}.r-fail{background:#cf222e}.r-error{background:#9a6700}.r-waived{background:#6e7781}
.cards{display:flex;gap:.8em;flex-wrap:wrap}.card{border:1px solid #ddd;border-radius:6px;padding:.5em 1em;min-width:6em}
.card b{display:block;font-size:1.6em}
.s-critical{color:#82071e}.s-high{color:#cf222e}.s-medium{color:#bc4c00}.s-low{color:#9a6700}.s-info{color:#57606a}
.matrix td{width:1.3em;text-align:center;padding:0}.matrix th.rule{writing-mode:vertical-rl;transform:rotate(180deg);
white-space:nowrap;font-weight:normal;font-size:12px}
td.p{background:#dafbe1;color:#1a7f37}td.f{background:#ffebe9;color:#cf222e;font-weight:bold}
td.w{background:#eaeef2;color:#57606a}td.e{background:#fff8c5;color:#9a6700;font-weight:bold}td.n{background:#fff}
.st-fail{color:#cf222e;font-weight:bold}.st-error{color:#9a6700;font-weight:bold}.st-waived{color:#57606a}
.st-pass{color:#1a7f37}.detail{max-width:60em;word-break:break-word}small{color:#57606a}
tr.row-fail>td{background:#fff5f5}tr.row-fail>td:first-child{box-shadow:inset 4px 0 #cf222e}
tr.row-error>td{background:#fffbe6}tr.row-error>td:first-child{box-shadow:inset 4px 0 #bf8700}
tr.row-waived>td{background:#f6f8fa}tr.row-waived>td:first-child{box-shadow:inset 4px 0 #8c959f}
tr.row-pass>td:first-child{box-shadow:inset 4px 0 #1a7f37}
table.rules td.title{min-width:20em;max-width:40em}
table.rules td.refs{min-width:14em;max-width:26em;overflow-wrap:anywhere}
a{color:inherit}section table{width:100%}
"""
# fail and error first, then waived, then pass (rules, findings, hosts); then severity
STATUS_FIRST = {"fail": 0, "error": 0, "waived": 1, "pass": 2}
_COUNTS = ("fail", "error", "waived", "pass")


def _h(value):
    return _text.html_text(value)


def _value(value):
    return "null" if value is None else _text.html_text(value)


def rule_status(counts):
    """The worst status a rule has anywhere: fail, error, waived or pass."""
    for status in _COUNTS:
        if counts[status]:
            return status
    return None


def ordered_rules(report):
    """(applied, never_applied): rule ids, failing rules first, then by severity."""
    summary_rules, rules = report["summary"]["rules"], report["rules"]
    applied, never = [], []
    for rule_id, counts in summary_rules.items():
        (applied if sum(counts.values()) else never).append(rule_id)
    applied.sort(key=lambda r: (STATUS_FIRST[rule_status(summary_rules[r])], -SEVERITY_RANK[rules[r]["severity"]],
                                -(summary_rules[r]["fail"] + summary_rules[r]["error"]), r))
    never.sort(key=lambda r: (-SEVERITY_RANK[rules[r]["severity"]], r))
    return applied, never


def _finding_key(finding):
    return (STATUS_FIRST[finding["status"]], -SEVERITY_RANK.get(finding["severity"], 0), finding["host"],
            finding["rule"], finding["interface"] or "")


def _counts_text(counts):
    return ", ".join("%d %s" % (counts[status], status) for status in _COUNTS)


def _findings_table(out, findings, with_host):
    out.append("<table><tr><th>severity</th><th>status</th>%s<th>interface</th><th>rule</th>"
               "<th>expected</th><th>actual</th><th>detail</th></tr>" % ("<th>host</th>" if with_host else ""))
    for finding in findings:
        interface = finding["interface"]
        if interface is not None and finding.get("alias"):
            interface_html = "%s <small>(%s)</small>" % (_h(interface), _h(finding["alias"]))
        else:
            interface_html = _h(interface) if interface is not None else "&ndash;"
        status = _h(finding["status"])
        out.append('<tr class="row-%s"><td class="s-%s">%s</td><td class="st-%s">%s</td>%s<td>%s</td>'
                   '<td><code>%s</code></td><td>%s</td><td>%s</td><td class="detail">%s</td></tr>' % (
                       status, _h(finding["severity"]), _h(finding["severity"]), status, status,
                       "<td>%s</td>" % _h(finding["host"]) if with_host else "", interface_html,
                       _h(finding["rule"]), _value(finding["expected"]), _value(finding["actual"]),
                       _h(finding["detail"])))
    out.append("</table>")


def _not_passed(counts):
    return counts["fail"] + counts["error"] + counts["waived"]


def _shown_findings(report, hosts, detail_limit):
    """{host: [non-passing findings]} of the hosts whose findings the page shows: with
    ``detail_limit``, only the first hosts (in page order) up to that many findings, so a fleet
    with millions of findings is read in one pass without keeping them (the JSON has them all)."""
    wanted = None
    if detail_limit is not None:
        wanted, left = set(), detail_limit
        for host in hosts:
            if left <= 0:
                break
            count = _not_passed(host["counts"])
            if count:
                wanted.add(host["name"])
                left -= count
    by_host = {}
    for finding in (report["findings"] if wanted is None else engine.findings_of(report, wanted)):
        if finding["status"] != "pass":
            by_host.setdefault(finding["host"], []).append(finding)
    return by_host


def render(report, detail_limit=2000, matrix_limit=20000, **_options):
    summary = report["summary"]
    rules = report["rules"]
    applied, never_applied = ordered_rules(report)
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

    add("<h2>Rules</h2><p><small>Failing rules first (fail, error, then waived, then passing), "
        "then by severity.</small></p>")
    add('<table class="rules"><tr><th>#</th><th>rule</th><th>severity</th><th>status</th><th>fail</th>'
        "<th>error</th><th>waived</th><th>pass</th><th>title</th><th>references</th></tr>")
    for number, rule_id in enumerate(applied, 1):
        rule = rules[rule_id]
        counts = summary["rules"][rule_id]
        status = rule_status(counts)
        refs = "; ".join("%s: %s" % (kind, ", ".join(ids)) for kind, ids in sorted(rule["references"].items()) if ids)
        add('<tr class="row-%s"><td class="num">%d</td><td id="rule-%d"><code>%s</code></td><td class="s-%s">%s</td>'
            '<td class="st-%s">%s</td><td class="num">%d</td><td class="num">%d</td><td class="num">%d</td>'
            '<td class="num">%d</td><td class="title">%s<details><summary><small>why and how to fix</small></summary>'
            '<p>%s</p><p><b>Remediation:</b> %s</p></details></td><td class="refs"><small>%s</small></td></tr>' % (
                status, number, number, _h(rule_id), _h(rule["severity"]), _h(rule["severity"]), status, status,
                counts["fail"], counts["error"], counts["waived"], counts["pass"], _h(rule["title"]),
                _h(rule["rationale"]), _h(rule["remediation"].get("text", "")), _h(refs)))
    add("</table>")
    if never_applied:
        add("<h2>Rules that never applied</h2><p><small>No host or interface was in their scope "
            "(selectors, kinds, groups), so they judged nothing: %d rule(s).</small></p>" % len(never_applied))
        add("<table><tr><th>rule</th><th>severity</th><th>title</th></tr>")
        for rule_id in never_applied:
            rule = rules[rule_id]
            add('<tr><td><code>%s</code></td><td class="s-%s">%s</td><td>%s</td></tr>' % (
                _h(rule_id), _h(rule["severity"]), _h(rule["severity"]), _h(rule["title"])))
        add("</table>")

    hosts = sorted(report["hosts"], key=lambda h: (STATUS_FIRST[h["status"]], h["name"]))
    grouped = len(hosts) > 1
    by_host = _shown_findings(report, hosts, detail_limit if grouped else None)
    anchors = {}
    if grouped:
        for host in hosts:
            if _not_passed(host["counts"]):
                anchors[host["name"]] = "host-%d" % (len(anchors) + 1)
    add("<h2>Hosts &times; rules</h2>")
    add("<p><small>&#10007; fail, ! error (fact not gathered or unreadable), ~ waived, &#10003; pass, "
        "blank: the rule did not apply. Columns are numbered as in the rules table.</small></p>")
    add('<table class="matrix"><tr><th>host</th><th>status</th>%s</tr>' % "".join(
        '<th class="rule" title="%s">%d %s</th>' % (_h(r), n, _h(r)) for n, r in enumerate(applied, 1)))
    for host in hosts[:matrix_limit]:
        statuses = host["rules"]
        name = _h(host["name"])
        if host["name"] in anchors:
            name = '<a href="#%s">%s</a>' % (anchors[host["name"]], name)
        add('<tr><th>%s</th><td class="st-%s">%s</td>%s</tr>' % (
            name, _h(host["status"]), _h(host["status"]),
            "".join(_CELL.get(statuses.get(r), _NA) for r in applied)))
    add("</table>")
    if len(hosts) > matrix_limit:
        add("<p>%d more host(s) in the JSON report.</p>" % (len(hosts) - matrix_limit))

    total = _not_passed(summary["findings"])
    if not total:
        add("<h2>Findings</h2><p>No failing, waived or unverifiable findings.</p>")
    elif not grouped:
        add("<h2>Findings</h2>")
        _findings_table(out, sorted((f for items in by_host.values() for f in items), key=_finding_key)[:detail_limit],
                        with_host=True)
    else:
        add("<h2>Findings by host</h2><p><small>%d host(s) with failing, waived or unverifiable findings, "
            "failing hosts first; %d host(s) without.</small></p>" % (len(anchors), len(hosts) - len(anchors)))
        left = detail_limit
        for host in hosts:
            items = by_host.get(host["name"])
            if not items or left <= 0:
                continue
            status = _h(host["status"])
            add('<section id="%s"><h3>%s <span class="badge r-%s">%s</span> <small>%s</small></h3>' % (
                anchors[host["name"]], _h(host["name"]), status, status, _counts_text(host["counts"])))
            items.sort(key=_finding_key)
            _findings_table(out, items[:left], with_host=False)
            add("</section>")
            left -= len(items)
    if total > detail_limit:
        add("<p>%d more finding(s) in the JSON report.</p>" % (total - detail_limit))
    add("</body></html>")
    return "\n".join(out) + "\n"
