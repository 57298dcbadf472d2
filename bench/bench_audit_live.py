"""Benchmark: a live audit of a lab fleet vs `ansible -m ping` over the same fleet.

Not a test. Builds a lab of --hosts hosts (network namespaces with sshd,
reached over SSH), then runs, interleaved, --rounds times each:

* ``ansible -i <lab inventory> all -m ping`` (ad-hoc ping),
* ``ansible-playbook -i <lab inventory> ping.yml`` (one ``ansible.builtin.ping``
  task, no fact gathering: the playbook anchor, which pays ansible-playbook's
  start-up like the audit does),
* ``ansible-playbook -i <lab inventory> hostnet.netif.audit`` (default policy,
  reports into a temporary directory),

and compares the medians: audit / ad-hoc ping (the issue's target, <= 2.5x)
and audit / ping playbook. This machine is noisy: absolute times mean little,
ratios measured in the same run do. Every output line of every run is
timestamped as it arrives (the default callback prints a task's banner when
the task starts), which gives the start-up time and a per-task breakdown of
the audit without any callback outside ansible.builtin. Also reports the
findings per host (from the JSON report) and the task results per host (from
the play recap).

    .venv/bin/python bench/bench_audit_live.py                  # 8 hosts, 3 rounds
    .venv/bin/python bench/bench_audit_live.py --hosts 16 --rounds 5 --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
COLLECTIONS = ROOT / ".build" / "collections"
os.environ["ANSIBLE_COLLECTIONS_PATH"] = str(COLLECTIONS)

from tests.integration.helpers import ansible_bin  # noqa: E402
from tests.lab import Lab  # noqa: E402

TARGET_RATIO = 2.5
BANNER = re.compile(r"^(TASK|RUNNING HANDLER) \[(?P<name>.*)\] \**$")
RECAP = re.compile(r"^(?P<host>\S+)\s+: (?P<counts>(\w+=\d+\s*)+)$")
ROLE_PREFIX = "hostnet.netif.audit : "
# the audit's phases, summed into: ansible-playbook itself, the one remote
# task, the controller-side evaluation, the reports; the rest is role bookkeeping
GROUPS = {
    "start-up": "ansible-playbook start-up and exit",
    "play start": "ansible-playbook start-up and exit",
    "recap and exit": "ansible-playbook start-up and exit",
    "Gather the interface facts the policy needs": "gathering (interface_facts over SSH)",
    "Evaluate the policy on each host": "evaluation (audit action, per host)",
    "Run the fleet checks and write the reports": "fleet checks and reports (fleet_report, once)",
}
BOOKKEEPING = "role bookkeeping (argument spec, includes, skipped tasks, requirements, summary)"


def run_stamped(argv, env):
    """Run argv; return (seconds, [(seconds since start, stdout line)])."""
    with tempfile.TemporaryFile("w+") as errors:
        start = time.perf_counter()
        with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=errors, stdin=subprocess.DEVNULL,
                              env=env, text=True) as proc:
            lines = [(time.perf_counter() - start, line.rstrip("\n")) for line in proc.stdout]
            returncode = proc.wait()
        elapsed = time.perf_counter() - start
        if returncode != 0:
            errors.seek(0)
            tail = "\n".join(line for dummy, line in lines[-40:])
            raise RuntimeError("%s failed (rc=%d):\n%s\n%s" % (" ".join(argv), returncode, tail, errors.read()[-2000:]))
    return elapsed, lines


def phases(elapsed, lines):
    """{phase: seconds}: start-up (to the PLAY banner, or to the first output of
    an ad-hoc run), each task (its banner to the next one), recap and exit."""
    out = {}
    adhoc = not any(line.startswith("PLAY [") for dummy, line in lines)
    current, since = "start-up", 0.0  # ad hoc: start-up and the first host's result
    for stamp, line in lines:
        match = BANNER.match(line)
        if current == "start-up" and (adhoc or line.startswith("PLAY [")):
            out[current] = stamp - since
            current, since = ("other results" if adhoc else "play start"), stamp
        elif match or line.startswith("PLAY RECAP"):
            out[current] = out.get(current, 0.0) + stamp - since
            name = match.group("name") if match else "recap and exit"
            if name.startswith(ROLE_PREFIX):
                name = name[len(ROLE_PREFIX):]
            current, since = name.split(" - ", 1)[0], stamp
    out[current] = out.get(current, 0.0) + elapsed - since
    if adhoc and "start-up" in out:
        out["start-up and first result"] = out.pop("start-up")
        out["other results"] = out.pop("other results", 0.0)
    return out


def recap(lines):
    """{host: task results (ok + changed + skipped + failed + ...)} from the PLAY RECAP lines."""
    out = {}
    seen = False
    for dummy, line in lines:
        if line.startswith("PLAY RECAP"):
            seen = True
            continue
        match = RECAP.match(line.strip()) if seen else None
        if match:
            counts = dict(item.split("=") for item in match.group("counts").split())
            out[match.group("host")] = sum(int(value) for key, value in counts.items() if key != "rescued")
    return out


def findings_per_host(report_dir, hosts):
    with open(os.path.join(report_dir, "netif-audit.json"), encoding="utf-8") as handle:
        report = json.load(handle)
    if report["summary"]["hosts"] != hosts:
        raise RuntimeError("report has %d hosts, expected %d" % (report["summary"]["hosts"], hosts))
    per_host = [entry["counts"] for entry in report["hosts"]]
    if any(counts.get("error") for counts in per_host):
        raise RuntimeError("some host has error findings (unreachable?): %s" % json.dumps(report["summary"]))
    return per_host


def describe_counts(per_host):
    """'11 fail, 12 pass' (or 'a-b fail ...' when hosts differ)."""
    parts = []
    for status in ("fail", "error", "waived", "pass"):
        values = sorted(counts.get(status, 0) for counts in per_host)
        if values[-1] == 0 and status in ("error", "waived"):
            continue
        text = "%d" % values[0] if values[0] == values[-1] else "%d-%d" % (values[0], values[-1])
        parts.append("%s %s" % (text, status))
    return ", ".join(parts)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--hosts", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", help="write raw results here")
    opts = parser.parse_args()

    workdir = tempfile.mkdtemp(prefix="netif-bench-live-")
    try:
        with Lab(hosts=opts.hosts) as lab:
            env = dict(os.environ, **lab.env())
            ping_book = Path(workdir) / "ping.yml"
            ping_book.write_text("- name: Ping\n  hosts: all\n  gather_facts: false\n  tasks:\n"
                                 "    - name: Ping\n      ansible.builtin.ping:\n")
            reports = os.path.join(workdir, "reports")
            book = [ansible_bin("ansible-playbook"), "-i", lab.inventory]
            commands = {
                "ping": [ansible_bin("ansible"), "-i", lab.inventory, "all", "-m", "ansible.builtin.ping"],
                "ping_playbook": book + [str(ping_book)],
                "audit": book + ["-e", json.dumps({"netif_audit_report_dir": reports}), "hostnet.netif.audit"],
            }
            run_stamped(commands["ping"], env)  # warm the ControlPersist masters
            times = dict((name, []) for name in commands)
            breakdown = dict((name, {}) for name in commands)
            loads = []
            per_host = results = None
            for dummy in range(opts.rounds):
                for name, argv in commands.items():
                    loads.append(os.getloadavg()[0])
                    shutil.rmtree(reports, ignore_errors=True)
                    elapsed, lines = run_stamped(argv, env)
                    times[name].append(elapsed)
                    for phase, seconds in phases(elapsed, lines).items():
                        breakdown[name].setdefault(phase, []).append(seconds)
                    if name == "audit":
                        per_host = findings_per_host(reports, opts.hosts)
                        results = recap(lines)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    med = dict((name, statistics.median(values)) for name, values in times.items())
    row = {
        "hosts": opts.hosts, "rounds": opts.rounds, "cpus": os.cpu_count(),
        "load": round(statistics.median(loads), 1),
        "ping_s": round(med["ping"], 2), "ping_playbook_s": round(med["ping_playbook"], 2),
        "audit_s": round(med["audit"], 2),
        "ratio": round(med["audit"] / med["ping"], 2),
        "playbook_ratio": round(med["audit"] / med["ping_playbook"], 2),
        "findings_per_host": describe_counts(per_host),
        "task_results_per_host": sorted(set(results.values())),
        "times": times,
        "breakdown": dict((name, dict((phase, round(statistics.median(values), 3)) for phase, values in parts.items()))
                          for name, parts in breakdown.items()),
    }
    print("| hosts | rounds | load | ping (ad-hoc) s | ping playbook s | audit playbook s | audit / ping "
          "| audit / ping playbook | target | findings per host |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    print("| %(hosts)d | %(rounds)d | %(load).1f | %(ping_s).2f | %(ping_playbook_s).2f | %(audit_s).2f "
          "| **%(ratio).2f×** | %(playbook_ratio).2f× | ≤ 2.5× | %(findings_per_host)s |" % row)
    print("\ntask results per host in the audit (play recap): %s (the higher one is the run_once host)"
          % ", ".join(str(value) for value in row["task_results_per_host"]))
    for name in ("audit", "ping_playbook", "ping"):
        print("\n%s, median seconds per phase:" % name)
        print("| phase | s |")
        print("|---|---:|")
        for phase, seconds in row["breakdown"][name].items():
            print("| %s | %.2f |" % (phase, seconds))
    groups = {}
    for phase, seconds in row["breakdown"]["audit"].items():
        group = GROUPS.get(phase, BOOKKEEPING)
        groups[group] = groups.get(group, 0.0) + seconds
    row["audit_groups"] = dict((group, round(seconds, 3)) for group, seconds in groups.items())
    print("\naudit, summed (medians per phase, so the sum differs a little from the median run):")
    print("| where | s | share |")
    print("|---|---:|---:|")
    total = sum(groups.values())
    for group, seconds in sorted(groups.items(), key=lambda item: -item[1]):
        print("| %s | %.2f | %.0f%% |" % (group, seconds, 100.0 * seconds / total))
    if opts.json:
        Path(opts.json).write_text(json.dumps(row, indent=2))
    ok = row["ratio"] <= TARGET_RATIO
    print("\nwithin target" if ok else "\nOUTSIDE TARGET")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
