"""Benchmark: offline audit of 10,000 hosts from a jsonfile fact cache, end to end.

Not a test. Captures one real facts document with exactly the subsets and
sysctl keys the default policy needs (from a lab host over SSH when run as
root, else this machine through the local connection), multiplies it into N
hosts with unique addresses (198.18.0.0/15 and 2001:2::/48, the benchmarking ranges) and unique
MACs, writes them as ansible-core's jsonfile cache writes them (2.19+:
``s1_<host>`` holding ``{"__payload__": "<json>"}``), writes an inventory that
puts the hosts in groups of --group-size (so the drift check has work), then
runs ``ansible-playbook hostnet.netif.audit`` with ``netif_audit_fact_cache``
against localhost: the role's one fleet_report call reads the cache, evaluates
every host and the fleet checks, and writes all four reports.

Reports wall time of the ansible-playbook run and the peak RSS of its largest
process (getrusage RUSAGE_CHILDREN), plus the report sizes. Targets: <= 20 s,
<= 2 GiB.

    .venv/bin/python bench/bench_audit_offline.py                 # 10,000 hosts
    .venv/bin/python bench/bench_audit_offline.py --hosts 1000 --source localhost
"""

from __future__ import annotations

import argparse
import copy
import ipaddress
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
COLLECTIONS = ROOT / ".build" / "collections"
sys.path.insert(0, str(COLLECTIONS))
os.environ["ANSIBLE_COLLECTIONS_PATH"] = str(COLLECTIONS)

from ansible_collections.hostnet.netif.plugins.plugin_utils.audit import engine  # noqa: E402
from tests.integration.helpers import ansible_bin  # noqa: E402

V4_POOL = ipaddress.ip_network("198.18.0.0/15")
V6_POOL = ipaddress.ip_network("2001:2::/48")
TARGET_SECONDS = 20.0
TARGET_RSS_GIB = 2.0


def _ansible_json(stdout):
    """The JSON object ``ansible -m`` prints after 'host | SUCCESS =>'."""
    return json.loads(stdout[stdout.index("{"):])


def capture_local(needs):
    argv = [ansible_bin("ansible"), "-i", "localhost,", "-c", "local",
            "-e", "ansible_python_interpreter=%s" % sys.executable, "localhost",
            "-m", "hostnet.netif.interface_facts",
            "-a", json.dumps({"gather_subset": needs["gather_subset"], "sysctl_keys": needs["sysctl_keys"]})]
    proc = subprocess.run(argv, capture_output=True, text=True, check=True)
    return _ansible_json(proc.stdout)["ansible_facts"]["netif"], "localhost"


def capture_lab(needs):
    from tests.lab import Lab  # only when asked: building a lab needs root

    with Lab(hosts=1) as lab:
        host = lab.hosts[0]
        argv = [ansible_bin("ansible"), "-i", lab.inventory, host.name, "-m", "hostnet.netif.interface_facts",
                "-a", json.dumps({"gather_subset": needs["gather_subset"], "sysctl_keys": needs["sysctl_keys"]})]
        proc = subprocess.run(argv, capture_output=True, text=True, check=True, env=dict(os.environ, **lab.env()))
        return _ansible_json(proc.stdout)["ansible_facts"]["netif"], "lab host %s" % host.name


def _mac(index, slot):
    value = (0x02 << 40) | ((index & 0xFFFFFFFF) << 8) | (slot & 0xFF)
    return ":".join("%02x" % ((value >> shift) & 0xFF) for shift in range(40, -1, -8))


def multiply(document, count):
    """Yield (hostname, document) with unique global addresses and MACs per host.

    The n-th interface of every host gets its IPv4 addresses from the n-th /18
    of 198.18.0.0/15 (prefix lengths kept), so like interfaces of neighbouring
    hosts share subnets, as in a real fleet, and unlike ones never do.
    """
    names = sorted(document["interfaces"])
    if count > 16382:
        raise SystemExit("at most 16382 hosts (one /18 of 198.18.0.0/15 per interface)")
    for index in range(count):
        doc = copy.deepcopy(document)
        for slot, name in enumerate(names):
            iface = doc["interfaces"][name]
            if iface.get("mac") and iface["mac"] != "00:00:00:00:00:00":
                iface["mac"] = _mac(index, slot)
            for address in iface.get("addresses") or []:
                if address.get("scope") != "global":
                    continue
                if address["family"] == "ipv4":
                    offset = (slot % 8) * 16384 + index + 1
                    address["address"] = str(V4_POOL.network_address + offset)
                    address["broadcast"] = None
                else:
                    offset = index * 256 + slot + 1
                    address["address"] = str(V6_POOL.network_address + offset)
        yield "h%05d" % index, doc


def write_cache(directory, document, count, group_size):
    os.makedirs(directory, exist_ok=True)
    groups = {}
    size = 0
    for host, doc in multiply(document, count):
        payload = json.dumps({"netif": doc})
        text = json.dumps({"__payload__": payload})
        size += len(text)
        with open(os.path.join(directory, "s1_" + host), "w", encoding="utf-8") as handle:
            handle.write(text)
        if group_size:
            groups.setdefault("g%03d" % (int(host[1:]) // group_size), []).append(host)
    return groups, size


def write_inventory(path, groups):
    lines = ["localhost ansible_connection=local ansible_python_interpreter=%s" % sys.executable]
    for group in sorted(groups):
        lines.append("[%s]" % group)
        lines.extend(groups[group])
    Path(path).write_text("\n".join(lines) + "\n")


def run_playbook(inventory, cache, reports):
    argv = [ansible_bin("ansible-playbook"), "-i", inventory, "-l", "localhost",
            "-e", json.dumps({"netif_audit_fact_cache": cache, "netif_audit_report_dir": reports,
                              "netif_audit_hosts": "localhost"}),
            "hostnet.netif.audit"]
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_RETRY_FILES_ENABLED="False")
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    before, cpu_before = usage.ru_maxrss, usage.ru_utime + usage.ru_stime
    start = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    elapsed = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak_kib, cpu = usage.ru_maxrss, usage.ru_utime + usage.ru_stime - cpu_before
    if proc.returncode != 0:
        raise RuntimeError("ansible-playbook failed (rc=%d):\n%s\n%s" % (proc.returncode, proc.stdout[-3000:],
                                                                         proc.stderr[-3000:]))
    summary = next((line.strip() for line in proc.stdout.splitlines() if '"msg": "audit ' in line), "")
    return elapsed, cpu, max(peak_kib, before), summary


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--hosts", type=int, default=10000)
    parser.add_argument("--group-size", type=int, default=100,
                        help="hosts per inventory group (0: no groups, no drift work)")
    parser.add_argument("--source", choices=["auto", "lab", "localhost"], default="auto",
                        help="where to capture the facts: a lab host over SSH (needs root), this "
                             "machine, or auto (lab when running as root, else localhost)")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--keep", help="keep the cache and reports in this directory")
    parser.add_argument("--json", help="write raw results here")
    args = parser.parse_args()

    needs = engine.required_subsets(engine.load_policy())
    use_lab = args.source == "lab" or (args.source == "auto" and os.geteuid() == 0)
    document, source = capture_lab(needs) if use_lab else capture_local(needs)
    workdir = args.keep or tempfile.mkdtemp(prefix="netif-bench-audit-")
    try:
        cache = os.path.join(workdir, "cache")
        shutil.rmtree(cache, ignore_errors=True)
        t0 = time.perf_counter()
        groups, size = write_cache(cache, document, args.hosts, args.group_size)
        inventory = os.path.join(workdir, "inventory.ini")
        write_inventory(inventory, groups)
        prepare = time.perf_counter() - t0
        results = []
        for round_ in range(args.rounds):
            reports = os.path.join(workdir, "reports-%d" % round_)
            load = os.getloadavg()[0]
            elapsed, cpu, peak_kib, summary = run_playbook(inventory, cache, reports)
            sizes = dict((name, os.path.getsize(os.path.join(reports, name))) for name in sorted(os.listdir(reports)))
            with open(os.path.join(reports, "netif-audit.json"), encoding="utf-8") as handle:
                report = json.load(handle)
            if report["summary"]["hosts"] != args.hosts:
                raise RuntimeError("report has %d hosts, expected %d" % (report["summary"]["hosts"], args.hosts))
            results.append({"seconds": elapsed, "cpu_seconds": cpu, "load_before": load,
                            "peak_rss_kib": peak_kib, "report_bytes": sizes,
                            "findings": report["summary"]["findings"], "summary": summary})
        best = min(results, key=lambda r: r["seconds"])
        out = {
            "hosts": args.hosts, "source": source, "interfaces_per_host": len(document["interfaces"]),
            "groups": len(groups), "cache_bytes": size, "prepare_seconds": prepare,
            "rounds": results, "best_seconds": best["seconds"],
            "peak_rss_mib": max(r["peak_rss_kib"] for r in results) / 1024.0,
        }
        print("offline audit: %d hosts (%d interfaces each, facts from %s), %d groups, cache %.1f MB"
              % (args.hosts, out["interfaces_per_host"], source, len(groups), size / 1e6))
        print("| hosts | wall time (s) | CPU (s) | load before | target (s) | peak RSS (MiB) | target | "
              "JSON report (MB) | HTML (MB) | JUnit (MB) |")
        print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for r in results:
            b = r["report_bytes"]
            print("| %d | %.2f | %.2f | %.1f | %.0f | %.0f | %.0f | %.1f | %.1f | %.1f |" % (
                args.hosts, r["seconds"], r["cpu_seconds"], r["load_before"], TARGET_SECONDS,
                r["peak_rss_kib"] / 1024.0, TARGET_RSS_GIB * 1024,
                b.get("netif-audit.json", 0) / 1e6, b.get("netif-audit.html", 0) / 1e6,
                b.get("netif-audit.junit.xml", 0) / 1e6))
        print("findings: %s" % json.dumps(best["findings"]))
        print(best["summary"])
        if args.json:
            Path(args.json).write_text(json.dumps(out, indent=2))
        ok = best["seconds"] <= TARGET_SECONDS and out["peak_rss_mib"] <= TARGET_RSS_GIB * 1024
        print("within targets" if ok else "OUTSIDE TARGETS")
        return 0 if ok else 1
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
