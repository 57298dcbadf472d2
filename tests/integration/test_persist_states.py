"""persist: true through merged, replaced, overridden, a rerun and deleted, proved by reboot.

Issue #9's state cases, one test per backend on a lab host with its own /etc
(``Lab(etc=True)``): ``interfaces`` merged (a bridge with MTU, alias and txqueuelen, and a
second interface), ``sysctls`` with a per-interface sysctl, ``addresses`` merged with an IPv4
and an IPv4-mapped IPv6 address, ``addresses`` replaced (the list changes), ``interfaces``
overridden inside ``scope`` (one interface dropped back to the defaults, the other's MTU
changed), the same overridden task again (no file changes: ``files`` all unchanged, the same
mtimes and contents), a reboot (``ip -json -d addr`` and /proc equal to the state verified
before it), then ``deleted`` removes the files and a reboot shows the interfaces gone.
Files are read under /etc/netns/<ns>/, the kernel with ``ip -json`` and /proc.
"""

from __future__ import annotations

import json
import os
import random

import pytest

from tests.integration.test_persist_modules import module

pytestmark = [
    pytest.mark.skipif(not os.path.exists("/lib/systemd/systemd-networkd"),
                       reason="systemd-networkd is not installed"),
]


def kernel(lab, host, names):
    """What ip -json -d and /proc show for the names (absent names left out)."""
    result = {}
    for link in lab.ip_json(host, "-d", "addr", "show"):
        name = link["ifname"]
        if name not in names:
            continue
        info = link.get("linkinfo") or {}
        data = info.get("info_data") or {}
        proc = {}
        for key in ("ipv4/conf/%s/rp_filter", "ipv6/conf/%s/disable_ipv6"):
            path = "/proc/sys/net/" + key % name
            proc[key] = lab.exec(host, ["cat", path]).stdout.strip()
        result[name] = {
            "kind": info.get("info_kind"), "mtu": link["mtu"], "mac": link.get("address"),
            "up": "UP" in link["flags"], "alias": link.get("ifalias"), "txqueuelen": link.get("txqlen"),
            "kind_data": {k: data.get(k) for k in ("id", "local", "port") if k in data},
            "addresses": sorted((a["family"], a["local"], a["prefixlen"])
                                for a in link.get("addr_info", []) if a.get("scope") != "link"),
            "proc": proc,
        }
    return result


def files_on_disk(lab, host):
    """{relative path: (content, mtime_ns)} of the collection's files in the host's /etc."""
    etc = lab.etc_dir(host)
    found = {}
    for sub in ("systemd/network", "netplan", "sysctl.d"):
        directory = etc / sub
        for path in sorted(directory.iterdir()) if directory.is_dir() else ():
            found["%s/%s" % (sub, path.name)] = (path.read_text(), path.stat().st_mtime_ns)
    return found


def ok(result, what, changed=True):
    assert not result["failed"] and result["changed"] is changed, (what, result)
    return result


def run_states(lab, host, backend, links, other, persisted):
    """The whole sequence; ``links`` = [the bridge, the other interface] (merged config),
    ``persisted``: the fields the backend carries over a reboot."""
    bridge = links[0]["name"]
    names = (bridge, other)
    prefix = bridge[:2]
    n = random.randint(1, 250)
    persist = {"persist": True, "persist_backend": backend}

    def net(third, last):
        return "198.19.%d.%d" % ((n + third) % 256, last)

    created = ok(module(lab, host, "interfaces", dict(config=links, **persist), "--diff"),
                 "interfaces merged")
    unsaid = [field for field in ("alias", "txqueuelen") if field not in persisted]
    for field in unsaid:  # a field the backend cannot state: a warning naming it, never silence
        assert "persist (%s): %s.%s" % (backend, bridge, field) in created["stderr"], created["stderr"]
    ok(module(lab, host, "sysctls", dict(config=[
        {"name": bridge, "ipv4": {"rp_filter": 2}, "ipv6": {"disable_ipv6": 0}}], persist=True)),
       "sysctls")
    ok(module(lab, host, "addresses", dict(config=[
        {"name": bridge, "addresses": [net(0, 1) + "/24", "::ffff:%s/120" % net(1, 1)]},
        {"name": other, "addresses": [net(2, 1) + "/24"]}], **persist)), "addresses merged")
    merged = kernel(lab, host, names)
    assert merged[bridge]["addresses"] == sorted([("inet", net(0, 1), 24),
                                                  ("inet6", "::ffff:" + net(1, 1), 120)])
    assert merged[bridge]["proc"]["ipv4/conf/%s/rp_filter"] == "2"

    # replaced: the bridge's list becomes exactly the new one (one kept, one dropped, one new)
    ok(module(lab, host, "addresses", dict(config=[
        {"name": bridge, "addresses": ["::ffff:%s/120" % net(1, 1), net(3, 1) + "/24"]}],
        state="replaced", **persist), "--diff"), "addresses replaced")
    text = "".join(content for content, _mtime in files_on_disk(lab, host).values())
    assert net(3, 1) in text and net(0, 1) not in text and "::ffff:" + net(1, 1) in text

    # overridden inside the test's scope: the other interface back to the defaults, the
    # bridge's MTU changed
    over = dict(links[0], mtu=1300)
    task = dict(config=[over], state="overridden", scope=[prefix + "*"], **persist)
    ok(module(lab, host, "interfaces", task, "--diff"), "interfaces overridden")
    files = files_on_disk(lab, host)
    again = ok(module(lab, host, "interfaces", task), "overridden again", changed=False)
    assert not any(entry["changed"] for entry in again.get("files", ())), again
    assert files_on_disk(lab, host) == files  # contents and mtimes
    # an own file edited by hand: the same task overwrites it, showing the file's diff
    edited = sorted(path for path in files if bridge in path or path.startswith("netplan/"))[-1]
    (lab.etc_dir(host) / edited).write_text(files[edited][0] + "# edited by hand\n")
    fixed = ok(module(lab, host, "interfaces", task, "--diff"), "own file edited")
    assert [entry["path"] for entry in fixed["files"] if entry["changed"]] == ["/etc/" + edited], fixed
    assert files_on_disk(lab, host)[edited][0] == files[edited][0]
    files = files_on_disk(lab, host)

    before = kernel(lab, host, names)
    assert before[bridge]["mtu"] == 1300 and before[other]["mtu"] == 1500, before
    assert before[other]["alias"] is None and before[bridge]["addresses"] == sorted(
        [("inet", net(3, 1), 24), ("inet6", "::ffff:" + net(1, 1), 120)])
    booted = lab.reboot(host, netplan=backend == "netplan")
    if backend == "netplan":
        assert booted["netplan"]["rc"] == 0, booted["netplan"]
    for name in names:  # udev's part of a boot: the .link files
        lab.exec(host, ["udevadm", "test-builtin", "net_setup_link", "/sys/class/net/" + name])
    after = kernel(lab, host, names)
    for name in names:
        want = {key: before[name][key] for key in persisted}
        got = {key: after.get(name, {}).get(key) for key in persisted}
        assert got == want, (name, json.dumps(got), json.dumps(want))

    ok(module(lab, host, "interfaces", dict(config=[{"name": bridge, "kind": links[0]["kind"]},
                                                    {"name": other, "kind": links[1]["kind"]}],
                                            state="deleted", **persist), "--diff"), "deleted")
    left = [path for path in files_on_disk(lab, host) if not path.startswith("sysctl.d/")]
    assert not any(name in path or "hostnet" in path for path in left for name in names), left
    lab.reboot(host, netplan=backend == "netplan")
    assert kernel(lab, host, names) == {}


def test_networkd_merged_replaced_overridden_rerun_deleted(lab_factory):
    lab = lab_factory(hosts=1, etc=True)
    links = [{"name": "qsbr", "kind": "bridge", "enabled": True, "mtu": 1400, "txqueuelen": 500,
              "alias": "persisted states"},
             {"name": "qsbx", "kind": "bridge", "enabled": True, "mtu": 1400, "alias": "dropped"}]
    run_states(lab, lab.hosts[0], "networkd", links, "qsbx",
               ("kind", "mtu", "mac", "up", "alias", "txqueuelen", "addresses", "proc"))


@pytest.mark.skipif(not os.path.exists("/usr/sbin/netplan"), reason="netplan is not installed")
def test_netplan_merged_replaced_overridden_rerun_deleted(lab_factory):
    lab = lab_factory(hosts=1, etc=True)
    n = random.randint(1, 250)
    links = [{"name": "qnbr", "kind": "bridge", "enabled": True, "mtu": 1400, "txqueuelen": 500,
              "alias": "persisted states"},
             {"name": "qnvx", "kind": "vxlan", "vni": 42, "local": "198.19.%d.1" % n,
              "dstport": 4789, "enabled": True, "mtu": 1400}]
    run_states(lab, lab.hosts[0], "netplan", links, "qnvx",
               ("kind", "mtu", "up", "kind_data", "addresses", "proc"))
