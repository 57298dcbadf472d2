"""What an audit prints, through ansible-playbook (offline, from a fact cache).

When ``fail_on`` is reached the task fails with a short summary (result, counts
by severity, the worst rules, expired waivers by rule/host/expiry, the report
paths), not the JSON of the whole result under ``fatal:``; expired waivers are
also warnings. Before, the failed task printed ~4 KB (every rule's counts, the
policy, the cache) and expired waivers were only a count.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.integration.test_audit_offline import cache, collection_playbook  # noqa: E402,F401  # pylint: disable=unused-import

WAIVERS = [
    {"rule": "cis_network.ipv4_log_martians", "hosts": ["web1", "db1"], "reason": "old exception",
     "expires": "2020-01-01"},
    {"rule": "cis_network.ipv4_rp_filter", "hosts": ["web*"], "reason": "asymmetric routing",
     "expires": "2099-01-01"},
]


@pytest.fixture(scope="module")
def waivers(cache):
    workdir = cache[0]
    path = workdir / "console-waivers.json"
    path.write_text(json.dumps(WAIVERS))
    return path


def fatal_line(out):
    lines = [line for line in out.splitlines() if line.startswith("fatal: ")]
    assert len(lines) == 1, out
    return lines[0]


def test_fail_on_prints_a_short_summary_and_the_report_paths(cache, waivers):
    workdir, cache_dir = cache
    reports = workdir / "console-reports"
    rc, out, err = collection_playbook(workdir, {
        "netif_audit_fact_cache": str(cache_dir), "netif_audit_report_dir": str(reports),
        "netif_audit_fail_on": "medium", "netif_audit_waivers": str(waivers)})
    assert rc == 2, out + err
    report = json.loads((reports / "netif-audit.json").read_text())
    fatal = fatal_line(out)
    result = json.loads(fatal.split(" => ", 1)[1])
    assert len(fatal) < 2500, fatal
    assert sorted(result) == ["changed", "msg", "reports", "summary"]
    assert "rules" not in result["summary"]  # the per-rule counts stay in the report
    lines = result["msg"].splitlines()
    assert len(lines) <= 15, lines
    assert lines[0].startswith("audit found failing or unverifiable findings at or above severity medium: ")
    assert lines[0].endswith("(fail_on: medium)")
    summary = report["summary"]
    assert lines[1].startswith("audit fail: %d host(s)" % summary["hosts"])
    by_severity = summary["failed_by_severity"]
    assert "%d medium" % by_severity["medium"] in lines[2]
    assert any(line.startswith("  high     fleet.duplicate_mac: ") for line in lines)
    assert "  cis_network.ipv4_log_martians on db1, web1: expired 2020-01-01 (old exception; %s)" \
        % waivers in lines
    assert "HTML report: %s" % (reports / "netif-audit.html") in lines
    assert "cis_network.ipv4_rp_filter on" not in result["msg"]  # a current waiver is no news
    # the expired waiver is a warning too
    assert ("[WARNING]: waiver for cis_network.ipv4_log_martians on db1, web1 expired on 2020-01-01 "
            "and no longer waives") in out + err


def test_the_summary_is_printed_when_the_audit_passes_fail_on(cache, waivers):
    workdir, cache_dir = cache
    reports = workdir / "console-reports-ok"
    rc, out, err = collection_playbook(workdir, {
        "netif_audit_fact_cache": str(cache_dir), "netif_audit_report_dir": str(reports),
        "netif_audit_waivers": str(waivers)})
    assert rc == 0, out + err
    assert "fatal: " not in out
    shown = out.split("Show the audit summary", 1)[1].split("\n\n", 1)[0]
    assert '"audit fail: ' in shown and '"HTML report: %s"' % (reports / "netif-audit.html") in shown
    assert '"  cis_network.ipv4_log_martians on db1, web1: expired 2020-01-01' in shown
    assert len(shown) < 2500, shown
