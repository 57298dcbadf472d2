"""Benchmark: interface_facts with gather_subset boot vs the default, 1,000 networkd files.

Not a test. One lab host with its own /etc (Lab(etc=True)): N interfaces
(veth pairs, up) and one systemd-networkd .network file per interface (plus a
drop-in for every tenth and a .netdev per pair), so the boot reader has N
files to list, read and match against N names. The default interface_facts and
the default plus ``boot`` run interleaved over SSH, ROUNDS times each; the
ratio of medians is the figure (target <= 1.5x). The module is also run
directly inside the namespace (no SSH, no ansible) to show the reader's own cost.

    .venv/bin/python bench/bench_boot_facts.py --sizes 1000 --rounds 7
"""

from __future__ import annotations

import argparse
import json
import os
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

from bench.bench_facts import add_interfaces, timed  # noqa: E402
from tests.integration.helpers import ansible_bin  # noqa: E402
from tests.lab import Lab  # noqa: E402

DEFAULT = "links,addresses,routes,connectivity"


def write_networkd(directory: Path, pairs: int) -> int:
    """One .network per interface, a .netdev per pair, a drop-in every tenth; returns file count."""
    count = 0
    for i in range(pairs):
        (directory / ("20-b%d.netdev" % i)).write_text(
            "[NetDev]\nName=b%da\nKind=veth\n[Peer]\nName=b%db\n" % (i, i))
        count += 1
        for end in "ab":
            name = "b%d%s" % (i, end)
            (directory / ("30-%s.network" % name)).write_text(
                "[Match]\nName=%s\n[Link]\nMTUBytes=1400\n[Network]\nLinkLocalAddressing=no\n"
                "Address=198.19.%d.%d/32\n" % (name, i // 250, (i % 250) + 1))
            count += 1
            if i % 10 == 0:
                dropin = directory / ("30-%s.network.d" % name)
                dropin.mkdir()
                (dropin / "50-mtu.conf").write_text("[Link]\nMTUBytes=1300\n")
                count += 1
    return count


def module_run(lab, host, args, rounds):
    """Median wall time of the module file run inside the namespace, and its document size."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump({"ANSIBLE_MODULE_ARGS": args}, handle)
        args_file = handle.name
    venv_site = next((ROOT / ".venv" / "lib").glob("python3*/site-packages"))
    env = dict(os.environ, PYTHONPATH="%s:%s" % (COLLECTIONS, venv_site))
    module = ROOT / "plugins" / "modules" / "interface_facts.py"
    times, size = [], 0
    for dummy in range(rounds):
        start = time.perf_counter()
        out = subprocess.run(["ip", "netns", "exec", host.netns, sys.executable, str(module), args_file],
                             capture_output=True, env=env, check=True).stdout
        times.append(time.perf_counter() - start)
        size = len(out)
    os.unlink(args_file)
    return statistics.median(times), size


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--json", help="write raw results here")
    opts = parser.parse_args()
    rows = []
    for size in opts.sizes:
        with Lab(hosts=1, etc=True) as lab:
            host = lab.hosts[0]
            pairs = size // 2
            add_interfaces(lab, host, 0, 2 * pairs)
            files = write_networkd(lab.etc_dir(host) / "systemd" / "network", pairs)
            env = dict(os.environ, **lab.env())
            ansible = [ansible_bin("ansible"), "-i", lab.inventory, host.name, "-m",
                       "hostnet.netif.interface_facts", "-a"]
            commands = {"default": ansible + ["gather_subset=" + DEFAULT],
                        "boot": ansible + ["gather_subset=%s,boot" % DEFAULT]}
            timed(commands["default"], env)  # warm the ControlPersist master
            times = {name: [] for name in commands}
            for dummy in range(opts.rounds):
                for name, argv in commands.items():
                    times[name].append(timed(argv, env))
            med = {name: statistics.median(values) for name, values in times.items()}
            mod_default, doc_default = module_run(lab, host, {"gather_subset": DEFAULT.split(",")},
                                                  opts.rounds)
            mod_boot, doc_boot = module_run(lab, host, {"gather_subset": DEFAULT.split(",") + ["boot"]},
                                            opts.rounds)
            row = {
                "interfaces": len(lab.ip_json(host, "link", "show")),
                "networkd_files": files,
                "default_s": round(med["default"], 3),
                "boot_s": round(med["boot"], 3),
                "ratio": round(med["boot"] / med["default"], 2),
                "module_default_s": round(mod_default, 3),
                "module_boot_s": round(mod_boot, 3),
                "module_ratio": round(mod_boot / mod_default, 2),
                "document_kib": [round(doc_default / 1024), round(doc_boot / 1024)],
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
    print("\n| interfaces | networkd files | default s | default + boot s | ratio (ad hoc) "
          "| module default s | module + boot s | module ratio | result KiB |")
    print("|" + "---|" * 9)
    for r in rows:
        print("| %d | %d | %.2f | %.2f | **%.2f×** | %.2f | %.2f | %.2f× | %d / %d |" % (
            r["interfaces"], r["networkd_files"], r["default_s"], r["boot_s"], r["ratio"],
            r["module_default_s"], r["module_boot_s"], r["module_ratio"], *r["document_kib"]))
    if opts.json:
        Path(opts.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
