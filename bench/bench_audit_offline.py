"""Benchmark: offline audit of 10,000 hosts from a jsonfile fact cache, end to end.

Not a test. Captures one real facts document with exactly the subsets and
sysctl keys the default policy needs (from a lab host over SSH when run as
root, else this machine through the local connection), multiplies it into N
hosts with unique addresses (198.18.0.0/15, the benchmarking range; IPv6 ones
IPv4-mapped, ``::ffff:198.18.x.y``) and unique MACs, writes them as
ansible-core's jsonfile cache writes them (2.19+: ``s1_<host>`` holding
``{"__payload__": "<json>"}``), writes an inventory that
puts the hosts in groups of --group-size (so the drift check has work), then
runs ``ansible-playbook hostnet.netif.audit`` with ``netif_audit_fact_cache``
against localhost: the role's one fleet_report call reads the cache, evaluates
every host and the fleet checks, and writes all four reports.

Reports wall time of the ansible-playbook run and the peak RSS of its largest
process (/usr/bin/time -v), plus the report sizes. Targets: <= 20 s and
<= 2 GiB for 10,000 hosts; <= 180 s and <= 1 GiB for 100,000 (issue #12).
--interfaces pads the captured document to N interfaces; --cache audits the
same fleet from several fact caches, one after the other, with the time of
each against the first: ``jsonfile`` (a directory, written directly),
``redis`` and ``memcached`` (a server of the bench's own on a free loopback
port), ``yaml`` and ``pickle`` (directories), all filled through the
community.general cache plugin with ansible's cache_loader, and
``plugin=NAME,connection=URI[,prefix=P][,OPTION=VALUE...]`` for any other
cache plugin (filled through it; no server is started, the bench writes the
fleet into that cache and leaves it there).

    .venv/bin/python bench/bench_audit_offline.py                 # 10,000 hosts
    .venv/bin/python bench/bench_audit_offline.py --hosts 1000 --source localhost
    .venv/bin/python bench/bench_audit_offline.py --hosts 100000 --interfaces 20 --cache jsonfile redis
    .venv/bin/python bench/bench_audit_offline.py --hosts 300 --cache jsonfile redis memcached yaml pickle
    .venv/bin/python bench/bench_audit_offline.py --cache jsonfile plugin=community.mongodb.mongodb,connection=mongodb://127.0.0.1:27017/ansible
    .venv/bin/python bench/bench_audit_offline.py --boot          # + boot facts and the boot baseline

In ``plugin=...`` no value may hold a comma. community.general.memcached keeps
its list of keys in one memcached value that it rewrites whole on every set
(filling takes time quadratic in the hosts) and python-memcached does not store
over 1 MiB: about 27,000 of the bench's hosts. The bench refuses a larger
--hosts with memcached (the plugin would silently list only the first ones).

``--boot`` gives every host boot facts as a hardened networkd host has them
(one .network per interface with its MTU, MAC, state and static addresses, a
sysctl.d file setting every conf/all, conf/default and host key the policy
reads) and plants drift (an MTU and conf/all rp_filter) on every
``--boot-drift-every``-th host; the policy is then cis_network, fleet, boot
(target: <= 30 s, <= 2 GiB).
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
TEST_COLLECTIONS = ROOT / ".build" / "test-collections"  # community.general (.ci/test-collections.sh)
sys.path.insert(0, str(TEST_COLLECTIONS))
sys.path.insert(0, str(COLLECTIONS))
os.environ["ANSIBLE_COLLECTIONS_PATH"] = "%s:%s" % (COLLECTIONS, TEST_COLLECTIONS)

from ansible_collections.hostnet.netif.plugins.plugin_utils.audit import engine, factcache  # noqa: E402
from tests.integration.helpers import (  # noqa: E402
    ansible_bin,
    memcached_argv,
    redis_argv,
    start_server,
    stop_process,
)

V4_POOL = ipaddress.ip_network("198.18.0.0/15")
TARGET_SECONDS = 20.0
TARGET_SECONDS_BOOT = 30.0
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


def _is_loopback(text):
    try:
        return ipaddress.ip_address(text.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def _address_slots(document):
    """[(interface, position, field)] of every non-loopback address of the document.

    Every one of them is rewritten, whatever its scope (a link-local fe80::
    address too): only 198.18.0.0/15, its IPv4-mapped IPv6 form and loopback
    may appear in the synthetic documents.
    """
    slots = []
    for name in sorted(document["interfaces"]):
        for position, address in enumerate(document["interfaces"][name].get("addresses") or []):
            for field in ("address", "peer"):
                value = address.get(field)
                if value and not _is_loopback(value):
                    slots.append((name, position, field))
    return slots


def _host_offset(index, host_bits):
    """Offset of the index-th host in a run of subnets with host_bits host bits.

    Skips each subnet's network and broadcast (all-ones) address where a subnet
    has them (host_bits >= 2), as a real fleet would.
    """
    size = 1 << host_bits
    if host_bits < 2:
        return index
    usable = size - 2
    return (index // usable) * size + index % usable + 1


def _block_size(prefix4, count):
    """Addresses a slot needs for ``count`` hosts: whole subnets of its prefix length."""
    size = 1 << (32 - prefix4)
    usable = size - 2 if size >= 4 else size
    return -(-count // usable) * size


def _layout(document, count):
    """[(interface, position, field, ipv6, prefix length in IPv4 terms, first address)].

    Every address slot gets its own block of 198.18.0.0/15: as many whole
    subnets of its prefix length as ``count`` hosts need. Prefix lengths are
    the captured ones (an IPv6 one minus 96, the mapped part), at least /15;
    while the blocks do not fit the /15, the slot whose block shrinks most
    gets the next longer prefix length that shrinks it (a /64 ends near the
    size of the fleet). The
    blocks are laid out largest subnets first, so every block, and every
    subnet in it, is aligned on its subnet size.
    """
    slots = []
    for name, position, field in _address_slots(document):
        address = document["interfaces"][name]["addresses"][position]
        prefixlen = address.get("prefixlen")
        if not isinstance(prefixlen, int) or isinstance(prefixlen, bool):
            prefixlen = 128 if address.get("family") == "ipv6" else 32
        ipv6 = address.get("family") == "ipv6"
        prefix4 = min(32, max(prefixlen - 96 if ipv6 else prefixlen, V4_POOL.prefixlen))
        slots.append([name, position, field, ipv6, prefix4])
    pool = V4_POOL.num_addresses
    while sum(_block_size(slot[4], count) for slot in slots) > pool:
        best = None  # (gain, slot number, new prefix length)
        for number, slot in enumerate(slots):
            size = _block_size(slot[4], count)
            longer = next((prefix4 for prefix4 in range(slot[4] + 1, 33) if _block_size(prefix4, count) < size), None)
            if longer is not None and (best is None or size - _block_size(longer, count) > best[0]):
                best = (size - _block_size(longer, count), number, longer)
        if best is None:
            raise SystemExit("%d hosts with %d non-loopback addresses each do not fit 198.18.0.0/15; "
                             "use fewer hosts" % (count, len(slots)))
        slots[best[1]][4] = best[2]
    plan = []
    start = int(V4_POOL.network_address)
    for slot in sorted(slots, key=lambda item: item[4]):
        plan.append(tuple(slot) + (start,))
        start += _block_size(slot[4], count)
    return plan


def multiply(document, count):
    """Yield (hostname, document) with unique addresses and MACs per host.

    Every non-loopback address of the captured document is an address slot
    with its own block of 198.18.0.0/15 (see _layout): IPv4 addresses as they
    are, IPv6 ones IPv4-mapped (``::ffff:198.18.x.y``), and host i takes the
    i-th usable address of its slot's block. Prefix lengths are kept where
    the /15 allows (an IPv6 /64 becomes a longer mapped prefix), so like
    interfaces of neighbouring hosts share subnets, as in a real fleet, and
    unlike ones never do. Addresses are unique across hosts and slots.
    """
    names = sorted(document["interfaces"])
    plan = _layout(document, count)
    for index in range(count):
        doc = copy.deepcopy(document)
        for slot, name in enumerate(names):
            iface = doc["interfaces"][name]
            if iface.get("mac") and iface["mac"] != "00:00:00:00:00:00":
                iface["mac"] = _mac(index, slot)
        for name, position, field, ipv6, prefix4, start in plan:
            address = doc["interfaces"][name]["addresses"][position]
            value = ipaddress.IPv4Address(start + _host_offset(index, 32 - prefix4))
            if ipv6:
                address[field] = "::ffff:%s" % value
            else:
                address[field] = str(value)
            if field != "address":
                continue
            if ipv6:
                address["prefixlen"] = 96 + prefix4
                address["netmask"] = str(ipaddress.IPv6Network("::/%d" % (96 + prefix4)).netmask)
            else:
                network = ipaddress.IPv4Network("%s/%d" % (value, prefix4), strict=False)
                address["prefixlen"] = prefix4
                address["netmask"] = str(network.netmask)
                if address.get("broadcast"):
                    address["broadcast"] = str(network.broadcast_address)
        yield "h%05d" % index, doc


def pad_interfaces(document, count):
    """The document with ``count`` interfaces: copies of its first non-loopback one (veth-like
    ports of a hypervisor), without addresses (the /15 has room for about one per host at
    100,000 hosts); each gets its own MAC in multiply()."""
    if not count or len(document["interfaces"]) >= count:
        return document
    document = copy.deepcopy(document)
    names = sorted(document["interfaces"])
    model = next(document["interfaces"][n] for n in names if document["interfaces"][n].get("kind") != "loopback")
    for number in range(count - len(names)):
        name = "port%d" % number
        clone = copy.deepcopy(model)
        clone.update(name=name, index=1000 + number, addresses=[])
        document["interfaces"][name] = clone
    return document


class PluginWriter:
    """Writes hosts through an Ansible cache plugin (ansible's cache_loader, as a play would);
    ``options`` as netif_audit_fact_cache has them (connection, prefix, timeout, others)."""

    loader_ready = False

    def __init__(self, name, options):
        from ansible.plugins.loader import cache_loader, init_plugin_loader

        if not PluginWriter.loader_ready:  # once: again warns that it is configured already
            init_plugin_loader([str(COLLECTIONS), str(TEST_COLLECTIONS)])
            PluginWriter.loader_ready = True
        self.plugin = cache_loader.get(name, **factcache.plugin_options(options))

    def write(self, host, facts):
        self.plugin.set(host, facts)


HARDENING = "/etc/sysctl.d/60-hardening.conf"


def add_boot(doc, index, drift_every):
    """Boot facts that match the host's runtime, with drift planted on every drift_every-th host."""
    interfaces = {}
    for name, iface in sorted(doc["interfaces"].items()):
        if iface.get("kind") == "loopback":
            continue
        addresses = ["%s/%s" % (a["address"], a["prefixlen"]) for a in iface.get("addresses") or []
                     if "permanent" in (a.get("flags") or []) and a.get("scope") not in ("link", "host")]
        interfaces[name] = {"manager": "networkd", "sources": ["/etc/systemd/network/10-%s.network" % name],
                            "kind": None, "mtu": iface.get("mtu"), "mac": iface.get("mac"),
                            "master": iface.get("master"), "enabled": iface.get("admin_state") == "up",
                            "addresses": addresses, "dhcp4": False, "dhcp6": False}
    sysctl = {}
    for key, value in sorted((doc.get("sysctl") or {}).items()):
        if value is not None and (".conf.all." in key or ".conf.default." in key or key.count(".") == 2):
            sysctl[key] = {"value": value, "file": HARDENING, "line": len(sysctl) + 1}
    # a hardening file with net.ipv4.conf.*.<key> lines: the target expands them per interface
    for name, iface in sorted(doc["interfaces"].items()):
        for family in ("ipv4", "ipv6"):
            for key, value in sorted(((iface.get("sysctl") or {}).get(family) or {}).items()):
                if value is not None:
                    sysctl["net.%s.conf.%s.%s" % (family, name.replace(".", "/"), key)] = {
                        "value": value, "file": HARDENING, "line": len(sysctl) + 1,
                        "glob": "net.%s.conf.*.%s" % (family, key)}
    if drift_every and index % drift_every == 0 and interfaces:
        first = interfaces[sorted(interfaces)[0]]
        first["mtu"] = (first["mtu"] or 1500) - 100
        now = (doc.get("sysctl") or {}).get("net.ipv4.conf.all.rp_filter")
        sysctl["net.ipv4.conf.all.rp_filter"] = {"value": 0 if now else 1, "file": "/etc/sysctl.d/99-local.conf",
                                                 "line": 1}
    doc["boot"] = {"interfaces": interfaces, "sysctl": sysctl, "errors": [], "unevaluated": []}
    if "boot" not in doc["gather_subset"]:
        doc["gather_subset"] = sorted(doc["gather_subset"] + ["boot"])


def write_cache(directory, document, count, group_size, writer=None, boot_drift_every=None):
    """The fleet into a jsonfile directory (written directly: fast) or through ``writer``;
    with ``boot_drift_every`` (--boot) each host gets boot facts (add_boot)."""
    if writer is None:
        os.makedirs(directory, exist_ok=True)
    groups = {}
    size = 0
    for host, doc in multiply(document, count):
        if boot_drift_every is not None:
            add_boot(doc, int(host[1:]), boot_drift_every)
        if writer is not None:
            writer.write(host, {"netif": doc})
        else:
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


def _tree(pid):
    """pid and every descendant's."""
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        try:
            for task in os.listdir("/proc/%d/task" % current):
                with open("/proc/%d/task/%s/children" % (current, task), encoding="ascii") as handle:
                    todo.extend(int(child) for child in handle.read().split())
        except OSError:
            pass
    return out


def _pss_kib(pid):
    try:
        with open("/proc/%d/smaps_rollup" % pid, encoding="ascii") as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class TreeMemory:
    """Peak of the summed PSS of a process tree (the playbook, its worker and the audit's own
    worker processes), sampled every 0.2 s: with worker processes the largest process alone
    (time -v's figure) is not the memory the audit takes."""

    def __init__(self, pid):
        import threading

        self.pid = pid
        self.peak_kib = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self):
        while not self._stop.wait(0.2):
            self.peak_kib = max(self.peak_kib, sum(_pss_kib(pid) for pid in _tree(self.pid)))

    def stop(self):
        self._stop.set()
        self._thread.join()
        return self.peak_kib


def run_playbook(inventory, cache, reports, policy, workers=0):
    argv = [ansible_bin("ansible-playbook"), "-i", inventory, "-l", "localhost",
            "-e", json.dumps({"netif_audit_fact_cache": cache, "netif_audit_report_dir": reports,
                              "netif_audit_hosts": "localhost", "netif_audit_policy": policy,
                              "netif_audit_workers": workers}),
            "hostnet.netif.audit"]
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_RETRY_FILES_ENABLED="False")
    # /usr/bin/time -v: the peak RSS of this run's largest process (RUSAGE_CHILDREN is the
    # largest of every child so far, a redis-server or an earlier run included)
    argv = ["/usr/bin/time", "-v"] + argv
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_before = usage.ru_utime + usage.ru_stime
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    tree = TreeMemory(proc.pid)
    stdout, stderr = proc.communicate()
    elapsed = time.perf_counter() - start
    tree_kib = tree.stop()
    proc.stdout, proc.stderr = stdout, stderr
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = usage.ru_utime + usage.ru_stime - cpu_before
    peak_kib = max(int(line.rsplit(":", 1)[1]) for line in proc.stderr.splitlines()
                   if "Maximum resident set size" in line)
    if proc.returncode != 0:
        raise RuntimeError("ansible-playbook failed (rc=%d):\n%s\n%s" % (proc.returncode, proc.stdout[-3000:],
                                                                         proc.stderr[-3000:]))
    summary = next((line.strip() for line in proc.stdout.splitlines() if '"msg": "audit ' in line), "")
    return elapsed, cpu, peak_kib, tree_kib, summary


def report_digest(path):
    """sha256 of a JSON report less its generated_at (the one value two runs differ in), streamed."""
    import hashlib
    import re

    stamp = re.compile(rb'"generated_at": ?"[^"]*"')
    digest = hashlib.sha256()
    pending, found = b"", False
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            pending += block
            if not found:
                pending, found = stamp.subn(b'"generated_at":""', pending, count=1)
            # keep a tail as long as a stamp, so one split between two blocks is still found
            digest.update(pending[:-64])
            pending = pending[-64:]
    digest.update(pending)
    return digest.hexdigest()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--hosts", type=int, default=10000)
    parser.add_argument("--group-size", type=int, default=100,
                        help="hosts per inventory group (0: no groups, no drift work)")
    parser.add_argument("--source", choices=["auto", "lab", "localhost"], default="auto",
                        help="where to capture the facts: a lab host over SSH (needs root), this "
                             "machine, or auto (lab when running as root, else localhost)")
    parser.add_argument("--boot", action="store_true",
                        help="give every host boot facts and audit with the boot baseline too")
    parser.add_argument("--boot-drift-every", type=int, default=100,
                        help="with --boot: plant boot drift on every N-th host (0: none)")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--keep", help="keep the cache and reports in this directory")
    parser.add_argument("--json", help="write raw results here")
    parser.add_argument("--interfaces", type=int, default=0,
                        help="interfaces per host: the captured ones plus address-less copies of its "
                             "first non-loopback interface (0: as captured)")
    parser.add_argument("--workers", type=int, nargs="+", default=[0],
                        help="netif_audit_workers of each audit, one run per value on each cache "
                             "(0: one per CPU, 1: no worker process); e.g. --workers 1 0 compares them")
    parser.add_argument("--cache", type=cache_spec, nargs="+", default=["jsonfile"],
                        metavar="CACHE",
                        help="fact caches to fill with the same fleet and audit, one after the other, "
                             "timed against the first: %s (redis, memcached: a server of the bench's own on "
                             "a free loopback port; yaml, pickle: a directory; each filled through "
                             "community.general's plugin) or plugin=NAME,connection=URI[,prefix=P] (any "
                             "cache plugin, filled through it, no server started)" % ", ".join(CACHES))
    args = parser.parse_args()
    if "memcached" in args.cache:
        memcached_keys_fit(args.hosts)

    # the role's default policy has the boot baseline; plain runs audit without it so the
    # figures stay comparable (--boot adds boot facts and the baseline)
    args.policy = ["cis_network", "fleet"] + (["boot"] if args.boot else [])
    needs = engine.required_subsets(engine.load_policy(args.policy))
    needs["gather_subset"] = [name for name in needs["gather_subset"] if name != "boot"]  # add_boot writes it
    use_lab = args.source == "lab" or (args.source == "auto" and os.geteuid() == 0)
    document, source = capture_lab(needs) if use_lab else capture_local(needs)
    document = pad_interfaces(document, args.interfaces)
    workdir = args.keep or tempfile.mkdtemp(prefix="netif-bench-audit-")
    servers = []
    try:
        by_cache = {}
        boot_drift = args.boot_drift_every if args.boot else None
        for number, kind in enumerate(args.cache):
            t0 = time.perf_counter()
            label, cache, writer = prepare_cache(kind, os.path.join(workdir, "cache%d" % number), servers)
            if writer is None:
                groups, size = write_cache(cache, document, args.hosts, args.group_size,
                                           boot_drift_every=boot_drift)
            else:
                groups, size = write_cache(None, document, args.hosts, args.group_size, writer, boot_drift)
                size = stored_bytes(kind, cache)
            by_cache[number] = (label, cache, groups, size, time.perf_counter() - t0)
        rows = []
        for number in range(len(args.cache)):
            label, cache, groups, size, prepare = by_cache[number]
            for workers in args.workers:
                rows.append(dict(measure(args, workdir, label, cache, groups, size, prepare, document, source,
                                         workers), cache=label, workers=workers))
        ok = all(row.pop("ok") for row in rows)
        if len(rows) > 1:
            base = rows[0]
            for row in rows[1:]:
                print("%s, workers %d / %s, workers %d time: %.2fx" % (
                    row["cache"], row["workers"], base["cache"], base["workers"],
                    row["best_seconds"] / base["best_seconds"]))
            digests = set(row["report_sha256"] for row in rows)
            print("JSON reports (less generated_at): %s" % (
                "all identical" if len(digests) == 1 else "DIFFER: %s" % sorted(digests)))
            ok = ok and len(digests) == 1
        if args.json:
            Path(args.json).write_text(json.dumps(rows, indent=2))
        print("within targets" if ok else "OUTSIDE TARGETS")
        return 0 if ok else 1
    finally:
        for server in servers:
            stop_process(server, timeout=30)
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


def targets(hosts, boot=False):
    """(seconds, GiB): 20 s / 2 GiB for 10,000 hosts (issue #1), 30 s with boot facts (issue #10);
    180 s / 1 GiB for 100,000 (issue #12)."""
    if hosts > 10000:
        return 180.0, 1.0
    return (TARGET_SECONDS_BOOT if boot else TARGET_SECONDS), TARGET_RSS_GIB


# --cache: the community.general plugin filling each named cache (jsonfile: written directly)
CACHES = {"jsonfile": None, "redis": "community.general.redis", "memcached": "community.general.memcached",
          "yaml": "community.general.yaml", "pickle": "community.general.pickle"}


def cache_spec(text):
    """A --cache value: a name of CACHES, or plugin=NAME,connection=URI[,prefix=P][,OPTION=VALUE...]."""
    if text in CACHES:
        return text
    options = dict(item.split("=", 1) for item in text.split(",") if "=" in item)
    if not text.startswith("plugin=") or len(options) != text.count(",") + 1 or "connection" not in options:
        raise argparse.ArgumentTypeError("%r: one of %s, or plugin=NAME,connection=URI[,prefix=P]"
                                         % (text, ", ".join(CACHES)))
    return options


def prepare_cache(kind, directory, servers):
    """(label, netif_audit_fact_cache, PluginWriter or None: write the directory) of a --cache value;
    redis and memcached get a server of their own (appended to ``servers``)."""
    if kind == "jsonfile":
        shutil.rmtree(directory, ignore_errors=True)
        return kind, directory, None
    if isinstance(kind, dict):
        options = dict(kind)
        plugin = options.pop("plugin")
        label = plugin
    else:
        plugin, label = CACHES[kind], kind
        options = {"prefix": "netif_", "timeout": 0}
        if kind in ("redis", "memcached"):
            os.makedirs(directory)
            proc, options["connection"] = (start_redis if kind == "redis" else start_memcached)(directory)
            servers.append(proc)
        else:
            options["connection"] = directory
    return label, dict(options, plugin=plugin), PluginWriter(plugin, options)


def stored_bytes(kind, cache):
    """The bytes a cache filled through its plugin holds, as its store counts them (0: unknown)."""
    if kind in ("yaml", "pickle"):
        return sum(entry.stat().st_size for entry in os.scandir(cache["connection"]))
    if kind == "redis":
        import redis

        host, port, db = cache["connection"].split(":")
        return redis.StrictRedis(host, int(port), int(db)).info("memory")["used_memory_dataset"]
    if kind == "memcached":
        import memcache

        return int(memcache.Client([cache["connection"]]).get_stats()[0][1]["bytes"])
    return 0


def _started(argv_at, log):
    try:
        return start_server(argv_at, log)
    except RuntimeError as exc:
        raise SystemExit(str(exc))


def start_redis(workdir):
    """A redis-server of the bench's own: loopback, a free port, no persistence."""
    proc, port = _started(redis_argv(workdir), os.path.join(workdir, "redis.log"))
    return proc, "127.0.0.1:%d:0" % port


def start_memcached(workdir):
    """A memcached of the bench's own: loopback, a free port, TCP only, in the foreground, up to
    64 GiB of memory (taken as used; the default 64 MiB would evict hosts)."""
    proc, port = _started(memcached_argv("-m", "65536"), os.path.join(workdir, "memcached.log"))
    return proc, "127.0.0.1:%d" % port


def memcached_keys_fit(hosts):
    """community.general.memcached keeps its list of keys, {key: time set}, in one value that
    python-memcached pickles (protocol 0) and silently does not store over 1 MiB: hosts beyond
    that are never listed. Refuse such a --hosts before filling."""
    import pickle

    import memcache

    keys = dict(("s1_h%05d" % index, time.time()) for index in range(hosts))
    size = len(pickle.dumps(keys, 0))
    if size > memcache.SERVER_MAX_VALUE_LENGTH:
        raise SystemExit("--cache memcached: community.general.memcached keeps the list of %d hosts' keys in one "
                         "memcached value of %.1f MiB, over python-memcached's limit of %.0f MiB (it would not "
                         "be stored); use --hosts %d at most" % (
                             hosts, size / 1048576.0, memcache.SERVER_MAX_VALUE_LENGTH / 1048576.0,
                             hosts * memcache.SERVER_MAX_VALUE_LENGTH // size))


def report_summary(path):
    """The summary of a JSON report without loading it: its last key (keys are sorted)."""
    with open(path, "rb") as handle:
        handle.seek(max(0, os.path.getsize(path) - (1 << 20)))
        tail = handle.read().decode("utf-8")
    return json.loads(tail[tail.rindex(',"summary":') + len(',"summary":'):].rstrip()[:-1])


def measure(args, workdir, kind, cache, groups, size, prepare, document, source, workers=0):
    target_seconds, target_gib = targets(args.hosts, args.boot)
    inventory = os.path.join(workdir, "inventory.ini")
    write_inventory(inventory, groups)
    results = []
    for round_ in range(args.rounds):
        reports = os.path.join(workdir, "reports-%s-%d-%d" % (kind, workers, round_))
        load = os.getloadavg()[0]
        elapsed, cpu, peak_kib, tree_kib, summary = run_playbook(inventory, cache, reports, args.policy, workers)
        sizes = dict((name, os.path.getsize(os.path.join(reports, name))) for name in sorted(os.listdir(reports)))
        path = os.path.join(reports, "netif-audit.json")
        counts = report_summary(path)
        if counts["hosts"] != args.hosts:
            raise RuntimeError("report has %d hosts, expected %d" % (counts["hosts"], args.hosts))
        results.append({"seconds": elapsed, "cpu_seconds": cpu, "load_before": load,
                        "peak_rss_kib": peak_kib, "tree_pss_kib": tree_kib, "report_bytes": sizes,
                        "findings": counts["findings"], "summary": summary, "report_sha256": report_digest(path)})
        if not args.keep:
            shutil.rmtree(reports)
    best = min(results, key=lambda r: r["seconds"])
    out = {
        "hosts": args.hosts, "source": source, "interfaces_per_host": len(document["interfaces"]),
        "groups": len(groups), "cache_bytes": size, "prepare_seconds": prepare,
        "rounds": results, "best_seconds": best["seconds"],
        "peak_rss_mib": max(r["peak_rss_kib"] for r in results) / 1024.0,
        "tree_pss_mib": max(r["tree_pss_kib"] for r in results) / 1024.0,
        "report_sha256": best["report_sha256"],
    }
    print("offline audit from %s, workers %d: %d hosts (%d interfaces each, facts from %s), %d groups, cache "
          "%.1f MB (prepared in %.0f s)" % (kind, workers, args.hosts, out["interfaces_per_host"], source,
                                            len(groups), size / 1e6, prepare))
    print("| hosts | wall time (s) | CPU (s) | load before | target (s) | peak RSS, largest process (MiB) | "
          "peak PSS, process tree (MiB) | target | JSON report (MB) | HTML (MB) | JUnit (MB) |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        b = r["report_bytes"]
        print("| %d | %.2f | %.2f | %.1f | %.0f | %.0f | %.0f | %.0f | %.1f | %.1f | %.1f |" % (
            args.hosts, r["seconds"], r["cpu_seconds"], r["load_before"], target_seconds,
            r["peak_rss_kib"] / 1024.0, r["tree_pss_kib"] / 1024.0, target_gib * 1024,
            b.get("netif-audit.json", 0) / 1e6, b.get("netif-audit.html", 0) / 1e6,
            b.get("netif-audit.junit.xml", 0) / 1e6))
    print("findings: %s" % json.dumps(best["findings"]))
    print(best["summary"])
    out["ok"] = best["seconds"] <= target_seconds and out["tree_pss_mib"] <= target_gib * 1024
    return out


if __name__ == "__main__":
    sys.exit(main())
