# -*- coding: utf-8 -*-
# Copyright: hostnet.netif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What an audit prints on the console: a few lines, never the report itself.

``summary_lines`` gives the result, the counts by severity, the worst failing
rules, the expired waivers (rule, hosts, expiry) and where the reports are;
the findings themselves are in the report files.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.hostnet.netif.plugins.plugin_utils.audit.policy import (
    RULE_WAIVER_EXPIRED,
    SEVERITIES,
    SEVERITY_RANK,
)

TOP_RULES = 5
HOSTS_SHOWN = 5
BAD = ("fail", "error")


def failing_rules(report):
    """Rules with fail/error findings, worst first: dicts rule, severity, findings, hosts."""
    catalog = report.get("rules") or {}
    hosts_by_rule = {}
    for host in report["hosts"]:
        for rule_id, status in host["rules"].items():
            if status in BAD:
                hosts_by_rule[rule_id] = hosts_by_rule.get(rule_id, 0) + 1
    rows = []
    for rule_id, counts in report["summary"]["rules"].items():
        bad = counts["fail"] + counts["error"]
        if bad:
            severity = (catalog.get(rule_id) or {}).get("severity", "info")
            rows.append({"rule": rule_id, "severity": severity, "findings": bad,
                         "hosts": hosts_by_rule.get(rule_id, 0)})
    rows.sort(key=lambda row: (-SEVERITY_RANK[row["severity"]], -row["findings"], row["rule"]))
    return rows


def expired_waivers(report):
    """One entry per expired waiver: rule, expires, reason, source, hosts (sorted)."""
    grouped = {}
    # only the hosts that have an expired waiver are read (a spooled report reads them from disk)
    hosts = set(host["name"] for host in report["hosts"] if RULE_WAIVER_EXPIRED in host["rules"])
    if not hosts:
        return []
    from ansible_collections.hostnet.netif.plugins.plugin_utils.audit.engine import findings_of

    for finding in findings_of(report, hosts):
        if finding["rule"] != RULE_WAIVER_EXPIRED:
            continue
        waiver = finding.get("waiver") or {}
        key = (waiver.get("rule") or "?", waiver.get("expires") or "?", waiver.get("reason") or "",
               waiver.get("source") or "")
        grouped.setdefault(key, set()).add(finding["host"])
    return [{"rule": rule, "expires": expires, "reason": reason, "source": source,
             "hosts": sorted(hosts)}
            for (rule, expires, reason, source), hosts in sorted(grouped.items())]


def _names(hosts):
    shown = ", ".join(hosts[:HOSTS_SHOWN])
    if len(hosts) > HOSTS_SHOWN:
        shown += " and %d more" % (len(hosts) - HOSTS_SHOWN)
    return shown


def expired_waiver_text(entry):
    return "waiver for %s on %s expired on %s and no longer waives (%s; %s)" % (
        entry["rule"], _names(entry["hosts"]), entry["expires"], entry["reason"], entry["source"])


def summary_lines(report, paths, fail_on=None, reached=None):
    """The console summary; ``reached`` is fail_on_reached()'s message when fail_on was reached."""
    summary = report["summary"]
    hosts, findings = summary["hosts_by_status"], summary["findings"]
    lines = []
    if reached:
        lines.append("%s (fail_on: %s)" % (reached, fail_on))
    lines.append("audit %s: %d host(s) (%d fail, %d error, %d waived, %d pass); findings %d fail, "
                 "%d error, %d waived, %d pass" % (
                     summary["result"], summary["hosts"], hosts["fail"], hosts["error"],
                     hosts["waived"], hosts["pass"], findings["fail"], findings["error"],
                     findings["waived"], findings["pass"]))
    by_severity = summary["failed_by_severity"]
    counted = ["%d %s" % (by_severity[name], name) for name in reversed(SEVERITIES) if by_severity[name]]
    lines.append("failing or unverifiable by severity: %s" % (", ".join(counted) or "none"))
    rows = failing_rules(report)
    if rows:
        lines.append("top failing rules (%d of %d failing):" % (min(len(rows), TOP_RULES), len(rows)))
        for row in rows[:TOP_RULES]:
            lines.append("  %-8s %s: %d finding(s) on %d host(s)"
                         % (row["severity"], row["rule"], row["findings"], row["hosts"]))
    expired = expired_waivers(report)
    if expired:
        lines.append("expired waivers (%d):" % len(expired))
        for entry in expired:
            lines.append("  %s on %s: expired %s (%s; %s)" % (
                entry["rule"], _names(entry["hosts"]), entry["expires"], entry["reason"],
                entry["source"]))
    if "html" in paths:
        lines.append("HTML report: %s" % paths["html"])
    others = ["%s %s" % (fmt, path) for fmt, path in sorted(paths.items()) if fmt != "html"]
    if others:
        lines.append("other reports: %s" % ", ".join(others))
    return lines


class Progress:
    """hosts done / total, rate and ETA of a long offline audit, on the user's terminal.

    Only on a terminal (never in CI logs or a pipe) and only after the audit
    has run for ``after`` seconds; one line, rewritten at most once a second.
    ``total`` is a callable (the host count is known once the cache is listed).
    """

    def __init__(self, total, stream=None, after=2.0, clock=None):
        import time

        self.total = total
        self.clock = clock or time.monotonic
        self.start = self.clock()
        self.after = after
        self.shown = None
        self.owned = stream is None
        self.stream = stream if stream is not None else self._terminal()
        try:
            self.enabled = self.stream is not None and self.stream.isatty()
        except (AttributeError, ValueError):
            self.enabled = False

    @staticmethod
    def _terminal():
        """A writer to ansible's stderr when that is a terminal, else None (CI, pipes, cron).

        An action plugin runs in an ansible worker: its own stdio is /dev/null
        and it has no controlling terminal, so the line goes through ansible's
        Display (proxied to the main process, which prints it) and the test for
        a terminal is made on the main process's stderr (the worker's parent).
        """
        import os

        try:
            fd = os.open("/proc/%d/fd/2" % os.getppid(), os.O_WRONLY | getattr(os, "O_NOCTTY", 0))
        except OSError:
            return None
        try:
            if not os.isatty(fd):
                return None
        finally:
            os.close(fd)
        return _DisplayLine()

    def line(self, done, now):
        elapsed = max(now - self.start, 1e-9)
        rate = done / elapsed
        total = self.total()
        text = "netif audit: %d" % done
        if total:
            text += "/%d hosts (%d%%)" % (total, 100 * done // total)
        else:
            text += " hosts"
        text += ", %.0f hosts/s" % rate
        if total and rate > 0:
            text += ", ETA %ds" % max(0, round((total - done) / rate))
        return text

    def update(self, done):
        if not self.enabled:
            return
        now = self.clock()
        if now - self.start < self.after or (self.shown is not None and now - self.shown < 1.0):
            return
        self.shown = now
        self.stream.write("\r" + self.line(done, now) + "\033[K")
        self.stream.flush()

    def done(self):
        if self.enabled and self.shown is not None:
            self.stream.write("\r\033[K")
            self.stream.flush()
        if self.owned and self.stream is not None:
            self.stream.close()
            self.stream = None
            self.enabled = False


class _DisplayLine:
    """A minimal stream over ansible's Display (stderr, no newline) for Progress."""

    def __init__(self):
        from ansible.utils.display import Display

        self.display = Display()

    @staticmethod
    def isatty():
        return True

    def write(self, text):
        self.display.display(text, stderr=True, newline=False)

    def flush(self):
        pass

    def close(self):
        pass
