"""Benchmark: one hostnet.netif.interfaces task vs ping vs a naive command loop.

Not a test. One lab host (a network namespace with sshd, reached over SSH)
gets --count interfaces (veth pairs, up, made with one `ip -batch -` inside
the namespace). Then, interleaved, ROUNDS times each:

* ``ping``           ``ansible <host> -m ping`` (the ad hoc anchor);
* ``ping_playbook``  a one-task playbook with ansible.builtin.ping (the playbook anchor);
* ``module``         one hostnet.netif.interfaces task (playbook) setting MTU and
                     alias on every interface, alternating between value sets
                     a and b from round to round;
* ``module_noop``    the same playbook again (idempotent);
* ``module_adhoc``   the same change ad hoc (``-m hostnet.netif.interfaces -a JSON``)
                     to value set c, so the next round's playbook changes everything again.

Every changing run must report changed (and the no-op run unchanged), and
``ip -json link show`` inside the namespace must show the values of the last
playbook run and of the last ad hoc run, or the bench fails. Medians are
compared as ratios to the ping of the same kind measured in the same run (this
machine is noisy: absolute times mean little); the CPU time of the controller
processes (ansible and its workers, not the target) is reported too.

Then the naive way, --naive-rounds times: a playbook looping
``ansible.builtin.command: ip link set dev {{ item }} mtu ... alias ...`` over
--naive-count interfaces (minutes for 1,000); with fewer than all, its time is
extrapolated linearly (the ping playbook's time as the fixed part, the rest
per item) and the output says so. Its values are verified the same way.

Finally, where the time goes: the module run directly inside the namespace
(no Ansible, no SSH) for a change and for a no-op, with its wall time, peak
RSS and the size of the JSON it returns (and of its parts), and the action
plugin's validation and normalisation of the task (``prepare``) timed in this
process.

    make bench
    .venv/bin/python bench/bench_setters.py --rounds 3
    .venv/bin/python bench/bench_setters.py --rounds 3 --naive-count 100
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import resource
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

# playbook runs alternate a/b, ad hoc runs set c, the naive loop sets n
VALUES = {
    "a": {"mtu": 1400, "alias": "bench set a"},
    "b": {"mtu": 1450, "alias": "bench set b"},
    "c": {"mtu": 1480, "alias": "bench set c"},
    "n": {"mtu": 1420, "alias": "bench naive"},
}
RECAP = re.compile(r"\bok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)")
ADHOC_STATUS = re.compile(r"\| (CHANGED|SUCCESS) =>")
MAX_ARG = 120 * 1024  # one argv string must stay below the kernel's 128 KiB


def interface_names(count):
    names = []
    for pair in range(count // 2):
        names += ["s%da" % pair, "s%db" % pair]
    return names


def add_interfaces(lab, host, names):
    lines = ["link add %s type veth peer name %s" % pair for pair in zip(names[0::2], names[1::2])]
    lines += ["link set %s up" % name for name in names]
    lab.exec(host, ["ip", "-batch", "-"], input="\n".join(lines) + "\n", timeout=600)


def alias_of(values, name):
    return "%s %s" % (values["alias"], name)


def module_args(names, values):
    config = [{"name": name, "mtu": values["mtu"], "alias": alias_of(values, name)} for name in names]
    return {"state": "merged", "config": config}


def write_module_playbook(path, names, values):
    # JSON is YAML: a literal 1,000-item list, as a user's playbook would carry it
    play = [{"hosts": "all", "gather_facts": False, "tasks": [
        {"name": "set mtu and alias", "hostnet.netif.interfaces": module_args(names, values)}]}]
    path.write_text(json.dumps(play, indent=1) + "\n")


def write_naive_playbook(path, names, values):
    play = [{"hosts": "all", "gather_facts": False, "vars": {"bench_names": names}, "tasks": [
        {"name": "set mtu and alias, one command per interface",
         "ansible.builtin.command": 'ip link set dev {{ item }} mtu %d alias "%s {{ item }}"'
                                    % (values["mtu"], values["alias"]),
         "loop": "{{ bench_names }}"}]}]
    path.write_text(json.dumps(play, indent=1) + "\n")


def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(argv, env, expect_changed=None):
    """Run ``argv``: (wall seconds, controller CPU seconds); check changed when asked."""
    cpu = children_cpu()
    start = time.perf_counter()
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                          stdin=subprocess.DEVNULL, text=True, check=False)
    elapsed = time.perf_counter() - start
    cpu = children_cpu() - cpu
    if proc.returncode != 0:
        raise RuntimeError("%s failed: %s%s" % (" ".join(argv[:4]), proc.stdout[-2000:],
                                                proc.stderr[-2000:]))
    if expect_changed is not None:
        recap = RECAP.search(proc.stdout)
        if recap is not None:
            changed = int(recap.group(2)) > 0
        else:
            status = ADHOC_STATUS.search(proc.stdout)
            changed = status.group(1) == "CHANGED" if status else None
        if changed is not expect_changed:
            raise RuntimeError("%s: expected changed=%s, got %s:\n%s"
                               % (" ".join(argv[:5])[:200], expect_changed, changed,
                                  proc.stdout[-1000:]))
    return elapsed, cpu


def verify(lab, host, names, values):
    """Fail loudly unless every interface in ``names`` shows ``values`` inside the namespace."""
    links = {link["ifname"]: link for link in lab.ip_json(host, "link", "show")}
    wrong = []
    for name in names:
        link = links.get(name, {})
        if link.get("mtu") != values["mtu"] or link.get("ifalias") != alias_of(values, name):
            wrong.append("%s: mtu=%s alias=%r" % (name, link.get("mtu"), link.get("ifalias")))
    if wrong:
        raise RuntimeError("%d of %d interfaces do not show mtu %d / alias %r: %s"
                           % (len(wrong), len(names), values["mtu"], values["alias"],
                              "; ".join(wrong[:5])))


def module_direct(host, args):
    """Run the module file inside the namespace: (wall s, peak RSS KiB, result bytes, result)."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump({"ANSIBLE_MODULE_ARGS": args}, handle)
        args_file = handle.name
    venv_site = next((ROOT / ".venv" / "lib").glob("python3*/site-packages"))
    env = dict(os.environ, PYTHONPATH="%s:%s" % (COLLECTIONS, venv_site))
    script = ("import resource,subprocess,sys,time;t=time.perf_counter();"
              "p=subprocess.run(sys.argv[1:],capture_output=True);"
              "t=time.perf_counter()-t;sys.stderr.buffer.write(p.stdout);"
              "sys.stdout.write('%f %d %d %d'%(t,resource.getrusage(resource.RUSAGE_CHILDREN)"
              ".ru_maxrss,len(p.stdout),p.returncode))")
    module = ROOT / "plugins" / "modules" / "interfaces.py"
    proc = subprocess.run(["ip", "netns", "exec", host.netns, sys.executable, "-c", script,
                           sys.executable, str(module), args_file],
                          capture_output=True, env=env, check=True)
    os.unlink(args_file)
    wall, peak, size, rc = proc.stdout.decode().split()
    if int(rc) != 0:
        raise RuntimeError("module failed in namespace: %s" % proc.stderr.decode()[-2000:])
    return float(wall), int(peak), int(size), json.loads(proc.stderr)


def controller_prepare(args, repeat=3):
    """Median seconds of the action plugin's validation + normalisation of ``args``."""
    sys.path.insert(0, str(COLLECTIONS))
    from ansible_collections.hostnet.netif.plugins.action.interfaces import ActionModule  # noqa: E402
    action = ActionModule.__new__(ActionModule)  # prepare() needs no task or connection
    times = []
    for dummy in range(repeat):
        start = time.perf_counter()
        action.prepare(args)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def profile_module(lab, host, names, current):
    """The module alone in the namespace (change, then no-op) and the controller's prepare()."""
    values = VALUES["b" if current == "a" else "a"]  # differs from everything set so far
    args = module_args(names, values)
    change = module_direct(host, args)
    noop = module_direct(host, args)
    if not change[3].get("changed") or noop[3].get("changed"):
        raise RuntimeError("direct module runs: expected changed, then unchanged")
    verify(lab, host, names, values)
    parts = dict((key, round(len(json.dumps(change[3].get(key))) / 1024, 1))
                 for key in ("before", "after", "commands", "invocation"))
    return {
        "direct_change_s": round(change[0], 3),
        "direct_noop_s": round(noop[0], 3),
        "direct_peak_mib": round(max(change[1], noop[1]) / 1024, 1),
        "result_change_kib": round(change[2] / 1024, 1),
        "result_noop_kib": round(noop[2] / 1024, 1),
        "result_parts_kib": parts,
        "controller_prepare_s": round(controller_prepare(args), 3),
    }


def print_table(row, note):
    count = row["interfaces_changed"]
    print("\n| run | kind | median s | ratio to ping (same kind) | controller CPU s |")
    print("|---|---|---|---|---|")
    lines = [
        ("ping", "ad hoc", "ping_s", "1.00×", "ping_cpu_s"),
        ("ping", "playbook", "ping_playbook_s", "1.00×", "ping_playbook_cpu_s"),
        ("interfaces, %d changed" % count, "playbook", "module_s",
         "**%.2f×**" % row["module_ratio"], "module_cpu_s"),
        ("interfaces, no-op re-run", "playbook", "module_noop_s",
         "%.2f×" % row["module_noop_ratio"], "module_noop_cpu_s"),
        ("interfaces, %d changed" % count, "ad hoc", "module_adhoc_s",
         "%.2f×" % row["module_adhoc_ratio"] if row.get("module_adhoc_ratio") else "",
         "module_adhoc_cpu_s"),
        ("naive command loop, %d items%s" % (count, note), "playbook", "naive_s",
         "%.0f×" % row["naive_ratio"], "naive_cpu_s"),
    ]
    for name, kind, key, ratio, cpu in lines:
        if row.get(key) is None:
            continue
        print("| %s | %s | %.2f | %s | %.2f |" % (name, kind, row[key], ratio, row[cpu]))
    print("\nnaive / module (playbook): %.0f×" % row["naive_over_module"])
    print("module alone in the namespace: change %.2f s, no-op %.2f s, peak RSS %.1f MiB; result "
          "%.0f KiB on a change (%s), %.0f KiB on a no-op; controller prepare() %.2f s"
          % (row["direct_change_s"], row["direct_noop_s"], row["direct_peak_mib"],
             row["result_change_kib"],
             ", ".join("%s %.0f" % item for item in row["result_parts_kib"].items()),
             row["result_noop_kib"], row["controller_prepare_s"]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--count", type=int, default=1000, help="interfaces to create and change")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--naive-rounds", type=int, default=1)
    parser.add_argument("--naive-count", type=int, default=1000,
                        help="interfaces the naive loop changes (time extrapolated to --count)")
    parser.add_argument("--json", help="write raw results here")
    opts = parser.parse_args()
    if opts.count % 2 or opts.count < 2:
        parser.error("--count must be even (veth pairs)")
    if opts.rounds < 1 or opts.naive_rounds < 1:
        parser.error("--rounds and --naive-rounds must be at least 1")
    naive_count = max(1, min(opts.naive_count, opts.count))

    names = interface_names(opts.count)
    adhoc_args = json.dumps(module_args(names, VALUES["c"]), separators=(",", ":"))
    if len(adhoc_args) > MAX_ARG:
        print("ad hoc module run skipped: its -a argument (%d KiB) exceeds one argv string"
              % (len(adhoc_args) // 1024))
        adhoc_args = None
    with Lab(hosts=1) as lab:
        host = lab.hosts[0]
        env = dict(os.environ, **lab.env())
        work = Path(lab.workdir)
        ansible = [ansible_bin("ansible"), "-i", lab.inventory, host.name]
        book = [ansible_bin("ansible-playbook"), "-i", lab.inventory]
        (work / "ping.yml").write_text("- hosts: all\n  gather_facts: false\n  tasks:\n"
                                       "    - ansible.builtin.ping:\n")
        for key in ("a", "b"):
            write_module_playbook(work / ("set_%s.yml" % key), names, VALUES[key])
        write_naive_playbook(work / "naive.yml", names[:naive_count], VALUES["n"])
        add_interfaces(lab, host, names)
        present = len(lab.ip_json(host, "link", "show"))
        timed(ansible + ["-m", "ping"], env)  # warm the ControlPersist master

        runs = {}
        loads = [os.getloadavg()[0]]

        def record(name, argv, expect_changed=None):
            runs.setdefault(name, []).append(timed(argv, env, expect_changed))

        current = None
        for index in range(opts.rounds):
            key = "ab"[index % 2]
            setter = book + [str(work / ("set_%s.yml" % key))]
            record("ping", ansible + ["-m", "ping"])
            record("ping_playbook", book + [str(work / "ping.yml")])
            record("module", setter, expect_changed=True)
            record("module_noop", setter, expect_changed=False)
            current = key
            if index == opts.rounds - 1:
                verify(lab, host, names, VALUES[key])
            if adhoc_args:
                record("module_adhoc", ansible + ["-m", "hostnet.netif.interfaces", "-a", adhoc_args],
                       expect_changed=True)
                current = "c"
            latest = ", ".join("%s %.2f s" % (name, values[-1][0]) for name, values in runs.items())
            print("round %d: %s" % (index + 1, latest), flush=True)
        verify(lab, host, names, VALUES[current])
        loads.append(os.getloadavg()[0])

        for index in range(opts.naive_rounds):
            record("naive", book + [str(work / "naive.yml")], expect_changed=True)
            print("naive %d: %d interfaces in %.1f s" % (index + 1, naive_count, runs["naive"][-1][0]),
                  flush=True)
        verify(lab, host, names[:naive_count], VALUES["n"])
        loads.append(os.getloadavg()[0])
        profile = profile_module(lab, host, names, current)

    med = dict((name, statistics.median(run[0] for run in values)) for name, values in runs.items())
    cpu = dict((name, statistics.median(run[1] for run in values)) for name, values in runs.items())
    extrapolated = naive_count < opts.count
    naive_s, naive_cpu = med["naive"], cpu["naive"]
    if extrapolated:  # the ping playbook's time is the fixed part, the rest grows per item
        naive_s = med["ping_playbook"] + (naive_s - med["ping_playbook"]) * opts.count / naive_count
        naive_cpu = cpu["ping_playbook"] + (naive_cpu - cpu["ping_playbook"]) * opts.count / naive_count
    row = {
        "date": datetime.date.today().isoformat(),
        "interfaces_changed": opts.count,
        "links_on_host": present,
        "rounds": opts.rounds,
        "naive_rounds": opts.naive_rounds,
        "naive_count": naive_count,
        "naive_extrapolated": extrapolated,
        "naive_measured_s": round(med["naive"], 1),
        "load_1min": loads,  # before the rounds, after them, after the naive loop
    }
    for name in med:
        row[name + "_s"] = round(naive_s if name == "naive" else med[name], 3)
        row[name + "_cpu_s"] = round(naive_cpu if name == "naive" else cpu[name], 3)
    row["module_ratio"] = round(med["module"] / med["ping_playbook"], 2)
    row["module_noop_ratio"] = round(med["module_noop"] / med["ping_playbook"], 2)
    if "module_adhoc" in med:
        row["module_adhoc_ratio"] = round(med["module_adhoc"] / med["ping"], 2)
    row["naive_ratio"] = round(naive_s / med["ping_playbook"], 1)
    row["naive_over_module"] = round(naive_s / med["module"], 1)
    row.update(profile)
    print(json.dumps(row), flush=True)
    note = " (extrapolated from %d)" % naive_count if extrapolated else ""
    print("\n%d interfaces changed (MTU + alias), %d links on the host, median of %d rounds; "
          "naive loop: %d round(s)%s; load average %s (before, after the rounds, after the naive loop)."
          % (opts.count, present, opts.rounds, opts.naive_rounds, note,
             " / ".join("%.1f" % load for load in loads)))
    print_table(row, note)
    if opts.json:
        row["raw"] = runs
        Path(opts.json).write_text(json.dumps(row, indent=2))


if __name__ == "__main__":
    main()
