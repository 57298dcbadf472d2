"""The role hostnet.netif.configure (collection playbook hostnet.netif.configure) over SSH on
a lab host, with its variables in the inventory (a ``host_vars`` file next to the lab's
inventory), checked with ``ip -json`` and ``/proc`` inside the namespace (never with the
modules' own reading).

The inventory creates a bridge and a veth pair whose names have dots, enslaves one end, sets
MTU and alias, adds IPv4 and IPv4-mapped IPv6 addresses and sets ``rp_filter`` (on the dotted
veth) and ``arp_ignore``. Then: a second run changes nothing (``changed=0`` in the PLAY RECAP);
``--check --diff`` on a changed variable set reports changes and a diff but leaves the host as
it was; the real ``--diff`` run applies it (``replaced`` addresses drop the old one); the role
deletes what it created (``deleted``), skipping the empty steps. Only 198.19.0.0/16 (inside
198.18.0.0/15) and IPv4-mapped IPv6 are used. The lab disables IPv6 in its namespaces; the
namespace's ``conf/default/disable_ipv6`` is set to 0 for the test (and restored), so the
interfaces the role creates can hold the mapped address.
"""

from __future__ import annotations

import ipaddress
import random
import re
import secrets
from pathlib import Path

import pytest
import yaml

from tests.integration.helpers import run_playbook

PLAYBOOK = """
- name: The collection playbook, as a user runs it
  ansible.builtin.import_playbook: hostnet.netif.configure
"""


@pytest.fixture(scope="module")
def rig(lab_factory):
    lab = lab_factory(hosts=1)
    host = lab.hosts[0]
    tag = "c" + secrets.token_hex(2)
    net = random.randint(1, 254)
    names = {"br": tag + "br", "v0": tag + ".v0", "v1": tag + ".v1", "x": tag + "x"}
    host_vars = Path(lab.inventory).parent / "host_vars"
    host_vars.mkdir(exist_ok=True)
    default_v6 = "/proc/sys/net/ipv6/conf/default/disable_ipv6"
    old_default_v6 = lab.read_proc(host, default_v6)
    lo_arp_ignore = "/proc/sys/net/ipv4/conf/lo/arp_ignore"
    old_lo_arp_ignore = lab.read_proc(host, lo_arp_ignore)
    assert old_lo_arp_ignore != "2"
    lab.write_proc(host, default_v6, "0")
    yield {"lab": lab, "host": host, "tag": tag, "net": net, "names": names,
           "vars_file": host_vars / (host.name + ".yml")}
    lab.write_proc(host, default_v6, old_default_v6)
    lab.write_proc(host, lo_arp_ignore, old_lo_arp_ignore)
    (host_vars / (host.name + ".yml")).unlink(missing_ok=True)
    host_vars.rmdir()
    for name in (names["br"], names["v0"], names["x"]):  # v1 goes with v0
        lab.exec(host, ["ip", "link", "del", name], check=False)
    assert not [l for l in lab.ip_json(host, "link", "show") if l["ifname"].startswith(tag)]


def play(rig, variables, *args):
    """Write the host's inventory variables and run the collection playbook on it;
    return (rc, stdout, recap dict of the host)."""
    rig["vars_file"].write_text(yaml.safe_dump(variables, sort_keys=False))
    rc, out, err = run_playbook(rig["lab"], PLAYBOOK, {"netif_hosts": rig["host"].name}, *args,
                                timeout=120)
    match = re.search(r"^%s\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)"
                      r"\s+skipped=(\d+)" % re.escape(rig["host"].name), out, re.M)
    assert match, "no PLAY RECAP for the host rc=%s\n%s\n%s" % (rc, out[-4000:], err[-3000:])
    recap = dict(zip(("ok", "changed", "unreachable", "failed", "skipped"), map(int, match.groups())))
    return rc, out, recap


def skipped(out, task):
    """True when the role's task ``task`` was skipped on the (only) host."""
    return re.search(r"^TASK \[hostnet\.netif\.configure : %s\] \**\nskipping: " % re.escape(task),
                     out, re.M) is not None


def links(rig):
    return {l["ifname"]: l for l in rig["lab"].ip_json(rig["host"], "-d", "link", "show")
            if l["ifname"].startswith(rig["tag"])}


def cidrs(rig, name):
    """Addresses of one interface as ``address/prefixlen``, IPv6 spelled by ipaddress;
    the kernel's fe80:: link-local addresses left out."""
    result = set()
    for link in rig["lab"].ip_json(rig["host"], "addr", "show", "dev", name):
        for info in link.get("addr_info", []):
            ip = ipaddress.ip_address(info["local"])
            if not ip.is_link_local:
                result.add("%s/%d" % (ip, info["prefixlen"]))
    return result


def conf(rig, name, key):
    return rig["lab"].read_proc(rig["host"], "/proc/sys/net/ipv4/conf/%s/%s" % (name, key))


def state(rig):
    """What the test's variables touch, read from the host."""
    n = rig["names"]
    result = {}
    for name, link in links(rig).items():
        result[name] = {"kind": link.get("linkinfo", {}).get("info_kind"), "mtu": link["mtu"],
                        "alias": link.get("ifalias"), "master": link.get("master"),
                        "up": "UP" in link["flags"], "addresses": cidrs(rig, name)}
    for name in (n["br"], n["v0"]):
        if name in result:
            result[name]["rp_filter"] = conf(rig, name, "rp_filter")
            result[name]["arp_ignore"] = conf(rig, name, "arp_ignore")
    result["lo"] = {"arp_ignore": conf(rig, "lo", "arp_ignore")}
    return result


def mapped(net, last):
    return "%s/120" % ipaddress.ip_address("::ffff:198.19.%d.%d" % (net, last))


def inventory(rig, mtu=1450, alias="uplink port", extra=(), v1_address=20, rp_filter=2,
              addresses_state=None):
    n, net = rig["names"], rig["net"]
    variables = {
        "netif_interfaces": [
            # the bridge's MTU is given: a bridge whose MTU the kernel derives from its ports
            # changes it when a port's MTU changes
            {"name": n["br"], "kind": "bridge", "enabled": True, "alias": "configure test bridge",
             "mtu": mtu},
            {"name": n["v0"], "kind": "veth", "peer": n["v1"], "master": n["br"], "enabled": True,
             "mtu": mtu, "alias": alias},
            {"name": n["v1"], "enabled": True, "mtu": mtu},
        ],
        "netif_addresses": [
            {"name": n["br"], "addresses": ["198.19.%d.1/24" % net,
                                            {"address": "::ffff:198.19.%d.1" % net, "prefixlen": 120,
                                             "nodad": True}] + list(extra)},
            {"name": n["v1"], "addresses": ["198.19.%d.%d/255.255.255.0" % (net, v1_address)]},
        ],
        "netif_sysctls": [
            {"name": n["v0"], "ipv4": {"rp_filter": rp_filter}},
            {"name": n["br"], "ipv4": {"arp_ignore": 1}},
            {"name": "lo", "ipv4": {"arp_ignore": 2}},  # exists before the role runs
        ],
    }
    if addresses_state:
        variables["netif_addresses_state"] = addresses_state
    return variables


def test_configure_from_inventory(rig):
    n, net = rig["names"], rig["net"]
    assert not links(rig)
    fresh = state(rig)

    # --check on a fresh host: nothing is created; the addresses and sysctls of the
    # interfaces that do not exist yet are left out of the preview (and named), lo's is there
    rc, out, recap = play(rig, inventory(rig), "--check", "--diff")
    assert rc == 0 and recap["changed"] == 2 and recap["failed"] == 0, out[-4000:]
    assert state(rig) == fresh, "check mode changed the host"
    assert re.search(r"Check mode: the addresses and sysctls of .*%s.* are not previewed"
                     % re.escape(n["v1"]), out), out[-4000:]
    assert skipped(out, "Set interface addresses"), out[-4000:]
    assert re.search(r'^\+.*\barp_ignore"?: 2\b', out, re.M), out[-4000:]

    # first run: creates, sets, addresses, sysctls -- every step changes
    rc, out, recap = play(rig, inventory(rig))
    assert rc == 0 and recap["changed"] == 3 and recap["failed"] == 0, out[-4000:]
    got = state(rig)
    assert got[n["br"]]["kind"] == "bridge" and got[n["br"]]["up"]
    assert got[n["br"]]["alias"] == "configure test bridge"
    assert got[n["v0"]]["kind"] == "veth" and got[n["v0"]]["master"] == n["br"]
    assert got[n["br"]]["mtu"] == got[n["v0"]]["mtu"] == got[n["v1"]]["mtu"] == 1450
    assert got[n["v0"]]["alias"] == "uplink port"
    assert got[n["v0"]]["up"] and got[n["v1"]]["up"]
    assert got[n["br"]]["addresses"] == {"198.19.%d.1/24" % net, mapped(net, 1)}
    assert got[n["v1"]]["addresses"] == {"198.19.%d.20/24" % net}
    assert got[n["v0"]]["rp_filter"] == "2" and got[n["br"]]["arp_ignore"] == "1"
    assert got["lo"]["arp_ignore"] == "2"

    # second run: nothing to do
    rc, out, recap = play(rig, inventory(rig))
    assert rc == 0 and recap["changed"] == 0 and recap["failed"] == 0, out[-4000:]
    assert state(rig) == got

    # a changed variable set: new MTU and alias, one more address, v1's address replaced
    # (netif_addresses_state), rp_filter 1
    changed = inventory(rig, mtu=1400, alias="uplink port (moved)", extra=["198.19.%d.2/24" % net],
                        v1_address=21, rp_filter=1, addresses_state="replaced")
    rc, out, recap = play(rig, changed, "--check", "--diff")
    assert rc == 0 and recap["changed"] == 3 and recap["failed"] == 0, out[-4000:]
    assert state(rig) == got, "check mode changed the host"
    assert out.count("--- before") >= 3 and "+++ after" in out, out[-4000:]
    assert re.search(r'^\+.*\bmtu"?: 1400\b', out, re.M), out[-4000:]
    assert re.search(r"^-.*198\.19\.%d\.20/24" % net, out, re.M), out[-4000:]

    rc, out, recap = play(rig, changed, "--diff")
    assert rc == 0 and recap["changed"] == 3 and recap["failed"] == 0, out[-4000:]
    assert out.count("--- before") >= 3 and re.search(r'^\+.*\brp_filter"?: 1\b', out, re.M), out[-4000:]
    new = state(rig)
    assert new[n["br"]]["mtu"] == new[n["v0"]]["mtu"] == new[n["v1"]]["mtu"] == 1400
    assert new[n["v0"]]["alias"] == "uplink port (moved)"
    assert new[n["v0"]]["master"] == n["br"] and new[n["v0"]]["up"]
    assert new[n["br"]]["addresses"] == {"198.19.%d.1/24" % net, "198.19.%d.2/24" % net, mapped(net, 1)}
    assert new[n["v1"]]["addresses"] == {"198.19.%d.21/24" % net}
    assert new[n["v0"]]["rp_filter"] == "1" and new[n["br"]]["arp_ignore"] == "1"

    rc, out, recap = play(rig, changed)
    assert rc == 0 and recap["changed"] == 0, out[-4000:]
    assert state(rig) == new

    # the role removes what it made: interfaces deleted, the empty steps skipped
    rc, out, recap = play(rig, {"netif_interfaces_state": "deleted", "netif_interfaces": [
        {"name": n["br"], "kind": "bridge"}, {"name": n["v0"], "kind": "veth"}]})
    assert rc == 0 and recap["changed"] == 1, out[-4000:]
    assert skipped(out, "Set interface addresses") and skipped(out, "Set per-interface kernel parameters")
    assert not links(rig)


def test_bad_variable_is_refused_before_any_change(rig):
    n = rig["names"]
    assert n["x"] not in links(rig)
    rc, out, recap = play(rig, {"netif_interfaces": [{"name": n["x"], "kind": "bridge"}],
                                "netif_addresses_state": "gathered"})
    assert rc != 0 and recap["failed"] == 1 and recap["changed"] == 0, out[-4000:]
    assert "netif_addresses_state" in out and "gathered" in out, out[-4000:]
    assert n["x"] not in links(rig), "the role changed the host despite a bad variable"
