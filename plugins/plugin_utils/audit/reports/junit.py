# -*- coding: utf-8 -*-
# Copyright: hostnet.netif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""JUnit XML: one testsuite per host, one testcase per rule that applied.

``fail`` -> <failure>, ``error`` -> <error>, ``waived`` -> <skipped>; the
element text lists every non-passing finding of the rule on the host (one per
interface). Written by hand (not ElementTree) to stay fast on 10,000 hosts;
every string goes through _text.xml / xml_attr, which escape markup and
replace the control characters XML 1.0 forbids.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.hostnet.netif.plugins.plugin_utils.audit.reports import _text

SUFFIX = ".junit.xml"
_ELEMENT = {"fail": "failure", "error": "error"}


def _finding_line(finding):
    where = finding["interface"] if finding["interface"] is not None else "host"
    line = "[%s] %s: %s" % (finding["status"], where, finding["detail"])
    involved = finding.get("involved")
    if involved:
        line += " (involved: %s%s)" % (
            ", ".join("%s/%s=%s" % (i["host"], i["interface"], i["value"]) for i in involved[:10]),
            "" if finding.get("involved_total", 0) <= 10 else " and %d more" % (finding["involved_total"] - 10))
    return line


def _by_host(report):
    """(host entry, {rule: [non-passing findings]}) per host, one host in memory at a time.

    The findings are ordered by host as the hosts are (build_report), so one
    pass pairs them, whether they are a list or read from disk.
    """
    findings = iter(report["findings"])
    pending = next(findings, None)
    for host in report["hosts"]:
        name = host["name"]
        mine = {}
        while pending is not None and pending["host"] == name:
            if pending["status"] != "pass":
                mine.setdefault(pending["rule"], []).append(pending)
            pending = next(findings, None)
        yield host, mine


def render(report, **options):
    return "".join(chunks(report, **options))


def chunks(report, **_options):
    rules = report["rules"]
    summary = report["summary"]
    yield ('<?xml version="1.0" encoding="UTF-8"?>\n'
           '<testsuites name="%s" tests="%d" failures="%d" errors="%d" skipped="%d">\n'
           % (_text.xml_attr("hostnet.netif audit: %s (%s)" % (", ".join(report["policy"]["names"]),
                                                               summary["result"])),
              sum(len(h["rules"]) for h in report["hosts"]),
              sum(1 for h in report["hosts"] for s in h["rules"].values() if s == "fail"),
              sum(1 for h in report["hosts"] for s in h["rules"].values() if s == "error"),
              sum(1 for h in report["hosts"] for s in h["rules"].values() if s == "waived")))
    case_names = dict((rule_id, _text.xml_attr("%s: %s" % (rule_id, (rule or {}).get("title", rule_id))))
                      for rule_id, rule in rules.items())
    timestamp = _text.xml_attr(report["generated_at"].rstrip("Z"))
    for host, findings in _by_host(report):
        name = host["name"]
        host_attr = _text.xml_attr(name)
        cases = []
        h_fail = h_err = h_skip = 0
        for rule_id in sorted(host["rules"]):
            status = host["rules"][rule_id]
            rule = rules.get(rule_id) or {}
            case_name = case_names.get(rule_id)
            if case_name is None:
                case_name = _text.xml_attr(rule_id)
            head = '    <testcase classname="%s" name="%s"' % (host_attr, case_name)
            if status == "pass":
                cases.append(head + "/>")
                continue
            items = findings.get(rule_id, [])
            body = _text.xml("\n".join(_finding_line(f) for f in items))
            if status == "waived":
                h_skip += 1
                reasons = sorted(set(f.get("waiver", {}).get("reason", "") for f in items))
                cases.append('%s>\n      <skipped message="%s">%s</skipped>\n    </testcase>'
                             % (head, _text.xml_attr("waived: " + "; ".join(reasons)), body))
                continue
            if status == "fail":
                h_fail += 1
            else:
                h_err += 1
            bad = [f for f in items if f["status"] == status]
            message = "%s (%s): %d finding(s), e.g. %s" % (
                status, rule.get("severity", "?"), len(bad), bad[0]["detail"] if bad else "")
            cases.append('%s>\n      <%s type="%s" message="%s">%s</%s>\n    </testcase>'
                         % (head, _ELEMENT[status], _text.xml_attr(rule.get("severity", status)),
                            _text.xml_attr(message[:500]), body, _ELEMENT[status]))
        yield ('  <testsuite name="%s" tests="%d" failures="%d" errors="%d" skipped="%d" '
               'timestamp="%s">\n    <properties>\n      <property name="groups" value="%s"/>\n'
               '      <property name="status" value="%s"/>\n    </properties>\n%s\n  </testsuite>\n'
               % (host_attr, len(cases), h_fail, h_err, h_skip, timestamp,
                  _text.xml_attr(",".join(host["groups"])), _text.xml_attr(host["status"]),
                  "\n".join(cases)))
    yield "</testsuites>\n"
