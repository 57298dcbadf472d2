"""Benchmark: what ``persist: true`` adds to an interfaces task changing 100 interfaces.

Not a test. One lab host with its own /etc (``Lab(etc=True)``: the files land in
/etc/netns/<ns>/systemd/network, never the machine's) gets --count interfaces
(veth pairs, up). Then, interleaved, ROUNDS times each, one
hostnet.netif.interfaces playbook task setting MTU and alias on every interface:

* ``runtime``  ``persist: false``;
* ``persist``  ``persist: true, persist_backend: networkd`` (the same change plus one
               .network and one .link file per interface, written by the transaction).

Value sets alternate so every run changes every interface (and, with persist, its
files); each run must report changed. Medians are compared as a ratio measured in
the same run (issue #9: at most 1.2). Last, a persist run changing --few of the
interfaces reports how many files it wrote: file work follows the interfaces
changed, not the interfaces on the host.

    .venv/bin/python bench/bench_persist.py --rounds 5
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ["ANSIBLE_COLLECTIONS_PATH"] = str(ROOT / ".build" / "collections")

from bench_setters import add_interfaces, interface_names, module_args, timed, verify  # noqa: E402
from tests.integration.helpers import ansible_bin  # noqa: E402
from tests.lab import Lab  # noqa: E402

VALUES = ({"mtu": 1400, "alias": "bench persist a"}, {"mtu": 1450, "alias": "bench persist b"})
PERSIST = {"persist": True, "persist_backend": "networkd"}


def playbook(path, names, values, persist):
    args = module_args(names, values)
    if persist:
        args.update(PERSIST)
    play = [{"hosts": "all", "gather_facts": False,
             "tasks": [{"name": "set mtu and alias", "hostnet.netif.interfaces": args}]}]
    path.write_text(json.dumps(play, indent=1) + "\n")


def own_files(lab, host):
    directory = lab.etc_dir(host) / "systemd" / "network"
    return dict((path.name, path.stat().st_mtime_ns) for path in directory.glob("50-hostnet-*"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--few", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    options = parser.parse_args()
    names = interface_names(options.count)
    with Lab(hosts=1, etc=True) as lab:
        host = lab.hosts[0]
        env = dict(os.environ, **lab.env())
        book = [ansible_bin("ansible-playbook"), "-i", lab.inventory]
        work = Path(lab.workdir)
        add_interfaces(lab, host, names)
        times = {"runtime": [], "persist": []}
        load = os.getloadavg()[0]
        run = 0
        for _round in range(options.rounds):
            for kind in ("runtime", "persist"):
                values, run = VALUES[run % 2], run + 1
                path = work / ("bench-%s.json" % kind)
                playbook(path, names, values, kind == "persist")
                times[kind].append(timed(book + [str(path)], env, expect_changed=True)[0])
                verify(lab, host, names, values)
        files = own_files(lab, host)
        few = names[:options.few]
        path = work / "bench-few.json"
        playbook(path, few, {"mtu": 1420, "alias": "bench persist few"}, True)
        timed(book + [str(path)], env, expect_changed=True)
        touched = [name for name, mtime in own_files(lab, host).items() if files.get(name) != mtime]
        runtime, persisted = statistics.median(times["runtime"]), statistics.median(times["persist"])
        print("interfaces %d, rounds %d, load %.1f -> %.1f"
              % (options.count, options.rounds, load, os.getloadavg()[0]))
        print("| interfaces | runtime s | persist s | persist / runtime | own files | files written "
              "changing %d |" % options.few)
        print("|---|---|---|---|---|---|")
        print("| %d | %.2f | %.2f | %.2f× | %d | %d |"
              % (options.count, runtime, persisted, persisted / runtime, len(files), len(touched)))


if __name__ == "__main__":
    main()
