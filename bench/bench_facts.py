"""Benchmark: interface_facts vs `ansible -m ping` vs `setup gather_subset=!all,network`.

Not a test. One lab host (a network namespace with sshd, reached over SSH); for
each size N, N interfaces (veth pairs, up) are added inside it, then the three
commands run interleaved, ROUNDS times each, and the medians are compared as
ratios to ping measured in the same run (this machine is noisy: absolute
times mean little). Also reports the module's peak RSS (the module run
directly inside the namespace) and the size of the returned document.

The floor: ``netif_floor``, a stand-in module (AnsibleModule, like the real
one) that returns the very document interface_facts returned, read from a
file. What ansible-core spends on a result of that size is the floor no
facts module can go under; ``facts / floor`` is the part that is ours.

    make bench              # all sizes
    .venv/bin/python bench/bench_facts.py --sizes 100 1000 --rounds 5
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

from tests.integration.helpers import ansible_bin  # noqa: E402
from tests.lab import Lab  # noqa: E402


def add_interfaces(lab, host, first_pair, count):
    pairs = range(first_pair, first_pair + count // 2)
    lines = ["link add b%da type veth peer name b%db" % (i, i) for i in pairs]
    lines += ["link set b%da up" % i for i in pairs]
    lines += ["link set b%db up" % i for i in pairs]
    lab.exec(host, ["ip", "-batch", "-"], input="\n".join(lines) + "\n", timeout=600)


def timed(argv, env):
    start = time.perf_counter()
    proc = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
                          stdin=subprocess.DEVNULL, text=True, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError("%s failed: %s" % (" ".join(argv), proc.stderr[-2000:]))
    return elapsed


def module_peak(lab, host, args):
    """Run the module file inside the namespace; return (peak RSS KiB, document bytes)."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump({"ANSIBLE_MODULE_ARGS": args}, handle)
        args_file = handle.name
    venv_site = next((ROOT / ".venv" / "lib").glob("python3*/site-packages"))
    env = dict(os.environ, PYTHONPATH="%s:%s" % (COLLECTIONS, venv_site))
    script = ("import resource,subprocess,sys;"
              "p=subprocess.run(sys.argv[1:],capture_output=True);"
              "sys.stdout.write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)+' '+str(len(p.stdout))+' '+str(p.returncode))")
    module = ROOT / "plugins" / "modules" / "interface_facts.py"
    out = subprocess.run(["ip", "netns", "exec", host.netns, sys.executable, "-c", script,
                          sys.executable, str(module), args_file],
                         capture_output=True, text=True, env=env, check=True).stdout
    os.unlink(args_file)
    peak, size, rc = (int(x) for x in out.split())
    if rc != 0:
        raise RuntimeError("module failed in namespace")
    return peak, size


FLOOR_MODULE = """#!/usr/bin/python
# Stand-in for the floor: return a saved facts document as is.
import json
from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(argument_spec=dict(path=dict(type="str", required=True)))
    with open(module.params["path"]) as handle:
        netif = json.load(handle)
    module.exit_json(changed=False, ansible_facts={"netif": netif})


if __name__ == "__main__":
    main()
"""


def save_document(lab, host, path):
    """Run interface_facts (defaults) inside the namespace; write its ansible_facts.netif to ``path``."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump({"ANSIBLE_MODULE_ARGS": {}}, handle)
        args_file = handle.name
    venv_site = next((ROOT / ".venv" / "lib").glob("python3*/site-packages"))
    env = dict(os.environ, PYTHONPATH="%s:%s" % (COLLECTIONS, venv_site))
    module = ROOT / "plugins" / "modules" / "interface_facts.py"
    out = subprocess.run(["ip", "netns", "exec", host.netns, sys.executable, str(module), args_file],
                         capture_output=True, text=True, env=env, check=True).stdout
    os.unlink(args_file)
    Path(path).write_text(json.dumps(json.loads(out)["ansible_facts"]["netif"]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 5000])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--setup-rounds", type=int, default=1,
                        help="rounds for setup (slow on many interfaces)")
    parser.add_argument("--json", help="write raw results here")
    parser.add_argument("--no-ipv6", dest="ipv6", action="store_false",
                        help="keep IPv6 off (no link-local address per interface)")
    opts = parser.parse_args()

    rows = []
    with Lab(hosts=1) as lab:
        host = lab.hosts[0]
        if opts.ipv6:
            # like a real hypervisor: every veth gets its kernel-made fe80:: address
            lab.write_proc(host, "/proc/sys/net/ipv6/conf/default/disable_ipv6", "0")
        env = dict(os.environ, **lab.env())
        ansible = [ansible_bin("ansible"), "-i", lab.inventory, host.name]
        commands = {
            "ping": ansible + ["-m", "ping"],
            "facts": ansible + ["-m", "hostnet.netif.interface_facts"],
            "setup": ansible + ["-m", "setup", "-a", "gather_subset=!all,network"],
        }
        playbook = Path(lab.workdir) / "facts.yml"
        playbook.write_text("- hosts: all\n  gather_facts: false\n  tasks:\n"
                            "    - hostnet.netif.interface_facts:\n")
        ping_book = Path(lab.workdir) / "ping.yml"
        ping_book.write_text("- hosts: all\n  gather_facts: false\n  tasks:\n    - ping:\n")
        book = [ansible_bin("ansible-playbook"), "-i", lab.inventory]
        commands["facts_playbook"] = book + [str(playbook)]
        commands["ping_playbook"] = book + [str(ping_book)]
        library = Path(lab.workdir) / "floor-library"
        library.mkdir()
        (library / "netif_floor.py").write_text(FLOOR_MODULE)
        document_file = Path(lab.workdir) / "floor-document.json"  # same filesystem as the host
        floor_book = Path(lab.workdir) / "floor.yml"
        floor_book.write_text("- hosts: all\n  gather_facts: false\n  tasks:\n"
                              "    - netif_floor: {path: %s}\n" % document_file)
        commands["floor"] = ansible + ["-M", str(library), "-m", "netif_floor", "-a",
                                       "path=%s" % document_file]
        commands["floor_playbook"] = book + ["-M", str(library), str(floor_book)]
        timed(commands["ping"], env)  # warm the ControlPersist master
        current = 0
        for size in sorted(opts.sizes):
            add = size - current - 2  # lo and eth0 already exist
            if add > 0:
                add_interfaces(lab, host, current // 2, add)
                current += add - add % 2
            present = len(lab.ip_json(host, "link", "show"))
            save_document(lab, host, document_file)
            times = {name: [] for name in commands}
            for dummy in range(opts.rounds):
                for name, argv in commands.items():
                    if name == "setup" and len(times["setup"]) >= opts.setup_rounds:
                        continue
                    times[name].append(timed(argv, env))
            med = {name: statistics.median(values) for name, values in times.items()}
            peak, doc = module_peak(lab, host, {})
            row = {
                "interfaces": present,
                "ping_s": round(med["ping"], 3),
                "facts_s": round(med["facts"], 3),
                "setup_s": round(med["setup"], 3),
                "facts_ratio": round(med["facts"] / med["ping"], 2),
                "setup_ratio": round(med["setup"] / med["ping"], 2),
                "playbook_ratio": round(med["facts_playbook"] / med["ping_playbook"], 2),
                "floor_ratio": round(med["floor"] / med["ping"], 2),
                "facts_floor": round(med["facts"] / med["floor"], 2),
                "floor_playbook_ratio": round(med["floor_playbook"] / med["ping_playbook"], 2),
                "facts_floor_playbook": round(med["facts_playbook"] / med["floor_playbook"], 2),
                "module_peak_mib": round(peak / 1024, 1),
                "document_kib": round(doc / 1024, 1),
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
    header = ("| interfaces | ping s | facts s | setup s | facts / ping | floor / ping | facts / floor "
              "| setup / ping | playbook: facts / ping | floor / ping | facts / floor "
              "| module peak MiB | result KiB |")
    print("\n" + header)
    print("|" + "---|" * 13)
    for r in rows:
        print("| %(interfaces)d | %(ping_s).2f | %(facts_s).2f | %(setup_s).2f | %(facts_ratio).2f× "
              "| %(floor_ratio).2f× | %(facts_floor).2f× | %(setup_ratio).1f× | %(playbook_ratio).2f× "
              "| %(floor_playbook_ratio).2f× | %(facts_floor_playbook).2f× | %(module_peak_mib).1f "
              "| %(document_kib).0f |" % r)
    if opts.json:
        Path(opts.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
