"""interface_facts against a real lab host, over SSH, checked with ip -json and /proc.

The lab host's namespace gets a zoo of interfaces built with ``ip`` (argv, never
a shell); every fact the module returns is compared with what ``ip -json`` and
/proc say inside the namespace, not with the module's own reading.
"""

from __future__ import annotations

import ipaddress
import json
import random
import secrets

import pytest

from tests.integration.helpers import run_ansible, run_offline_playbook

FLAG_MAP = {"POINTOPOINT": "pointtopoint", "NO-CARRIER": "no_carrier", "M-DOWN": "m_down"}


def facts_via_ansible(lab, host, *module_args, check=False):
    """Run the module ad hoc through the json stdout callback; return (facts, result)."""
    args = [host.name, "-m", "hostnet.netif.interface_facts"]
    if module_args:
        args += ["-a", " ".join(module_args)]
    if check:
        args.append("--check")
    rc, out, err = run_ansible(lab, *args)
    assert rc == 0, "ansible failed rc=%s\n%s\n%s" % (rc, out[-3000:], err[-3000:])
    head, sep, body = out.partition(" => ")
    assert sep and head.startswith(host.name), out[:500]
    result = json.loads(body)
    return result["ansible_facts"]["netif"], result


@pytest.fixture(scope="module")
def zoo(lab_factory):
    """One lab host with veth (names with . and -), bridge, macvlan, vxlan, promisc,
    secondary IPv4, IPv6 with finite lifetimes, a hostile alias, a down pair and a
    per-interface rp_filter / accept_redirects that differ from conf/all."""
    lab = lab_factory(hosts=1)
    host = lab.hosts[0]
    tag = secrets.token_hex(2)
    net = random.randint(1, 254)
    names = {
        "a": "p-%s.a" % tag, "b": "p-%s.b" % tag,          # veth pair, dots and dashes
        "c": "c%s" % tag, "d": "d%s" % tag,                 # bridge member pair
        "br": "br-%s" % tag, "mv": "mv-%s" % tag, "vx": "vx-%s" % tag,
        "e": "e%s" % tag, "f": "f%s" % tag,                 # left down
    }
    mtu = random.randint(1280, 9000)
    mac = "02:%02x:%02x:%02x:%02x:%02x" % tuple(random.randint(0, 255) for dummy in range(5))
    alias = 'q"t\tx <b>é\u00fc\u4e2d'
    v4 = ["198.19.%d.1/24" % net, "198.19.%d.2/24" % net]
    v6 = "::ffff:198.19.%d.10/120" % net
    ip = ["ip"]
    steps = [
        ["link", "add", names["a"], "type", "veth", "peer", "name", names["b"]],
        ["link", "set", "dev", names["a"], "mtu", str(mtu), "address", mac],
        ["link", "set", "dev", names["a"], "alias", alias],
        ["link", "set", "dev", names["a"], "up"],
        ["link", "set", "dev", names["b"], "up", "promisc", "on"],
        ["addr", "add", v4[0], "brd", "+", "dev", names["a"], "label", names["a"] + ":x"],
        ["addr", "add", v4[1], "dev", names["a"]],
        ["-6", "addr", "add", v6, "dev", names["a"], "valid_lft", "3600", "preferred_lft", "1800", "nodad"],
        ["link", "add", names["br"], "type", "bridge"],
        ["link", "add", names["c"], "type", "veth", "peer", "name", names["d"]],
        ["link", "set", "dev", names["c"], "master", names["br"]],
        ["link", "set", "dev", names["br"], "up"],
        ["link", "set", "dev", names["c"], "up"],
        ["link", "set", "dev", names["d"], "up"],
        ["link", "add", names["mv"], "link", names["a"], "type", "macvlan", "mode", "bridge"],
        ["link", "add", names["vx"], "type", "vxlan", "id", "42", "local", v4[0].split("/")[0],
         "dstport", "4789", "dev", names["a"]],
        ["link", "add", names["e"], "type", "veth", "peer", "name", names["f"]],
    ]
    for step in steps:
        if step[0] == "-6":  # the lab keeps IPv6 off by default; enable it where we test it
            lab.write_proc(host, "/proc/sys/net/ipv6/conf/%s/disable_ipv6" % names["a"], "0")
        lab.exec(host, ip + step)
    lab.write_proc(host, "/proc/sys/net/ipv4/conf/all/rp_filter", "1")
    lab.write_proc(host, "/proc/sys/net/ipv4/conf/%s/rp_filter" % names["a"], "2")
    lab.write_proc(host, "/proc/sys/net/ipv4/conf/%s/rp_filter" % names["b"], "0")
    lab.write_proc(host, "/proc/sys/net/ipv4/conf/all/accept_redirects", "0")
    lab.write_proc(host, "/proc/sys/net/ipv4/conf/%s/accept_redirects" % names["a"], "1")
    return {"lab": lab, "host": host, "names": names, "mtu": mtu, "mac": mac, "alias": alias,
            "v4": v4, "v6": v6}


@pytest.fixture(scope="module")
def gathered(zoo):
    facts, result = facts_via_ansible(zoo["lab"], zoo["host"], "gather_subset=all")
    truth = zoo["lab"].ip_json(zoo["host"], "-d", "-s", "addr", "show")
    return facts, {link["ifname"]: link for link in truth}, result


def test_every_link_fact_matches_ip_json(gathered):
    facts, truth, dummy = gathered
    assert set(facts["interfaces"]) == set(truth)
    for name, link in truth.items():
        got = facts["interfaces"][name]
        assert got["name"] == name
        assert got["index"] == link["ifindex"]
        assert got["mtu"] == link["mtu"]
        assert got["min_mtu"] == link.get("min_mtu")
        assert got["max_mtu"] == link.get("max_mtu")
        assert got["txqueuelen"] == link.get("txqlen")
        assert got["qdisc"] == link.get("qdisc")
        assert got["group"] == link.get("group")
        assert got["mac"] == ((link.get("address") or "").lower() or None)
        assert got["broadcast_mac"] == ((link.get("broadcast") or "").lower() or None)
        assert got["master"] == link.get("master")
        assert got["alias"] == link.get("ifalias")
        assert got["oper_state"] == link["operstate"].lower()
        expected_flags = {FLAG_MAP.get(f, f.lower()) for f in link["flags"]}
        assert expected_flags <= set(got["flags"])
        assert got["admin_state"] == ("up" if "UP" in link["flags"] else "down")
        assert got["carrier"] == ("LOWER_UP" in link["flags"])
        assert got["promisc_requested"] == ("PROMISC" in link["flags"])
        assert got["promisc"] == (link["promiscuity"] > 0)
        running = "UP" in link["flags"] and link["operstate"] in ("UP", "UNKNOWN")
        assert ("running" in got["flags"]) == running
        stats = link["stats64"]
        assert got["statistics"]["rx_errors"] == stats["rx"]["errors"]
        assert got["statistics"]["tx_dropped"] == stats["tx"]["dropped"]


def test_zoo_kinds_topology_and_hostile_alias(gathered, zoo):
    facts, truth, dummy = gathered
    n = zoo["names"]
    ifs = facts["interfaces"]
    assert ifs["lo"]["kind"] == "loopback" and ifs["lo"]["type"] == "loopback"
    assert ifs[n["a"]]["kind"] == "veth" and ifs[n["a"]]["type"] == "ethernet"
    assert ifs[n["a"]]["kind_data"]["peer"] == n["b"]
    assert ifs[n["br"]]["kind"] == "bridge"
    assert ifs[n["c"]]["master"] == n["br"]
    assert ifs[n["mv"]]["kind"] == "macvlan"
    assert ifs[n["mv"]]["parent"] == n["a"]
    assert ifs[n["mv"]]["kind_data"]["mode"] == "bridge"
    assert ifs[n["vx"]]["kind"] == "vxlan"
    assert ifs[n["vx"]]["kind_data"]["vni"] == 42
    assert ifs[n["vx"]]["kind_data"]["dstport"] == 4789
    assert ifs[n["vx"]]["parent"] == n["a"]
    assert ifs["eth0"]["kind"] == "veth"
    # random MTU, MAC and the alias with quotes, tab, <, > and non-ASCII survive exactly
    assert ifs[n["a"]]["mtu"] == zoo["mtu"]
    assert ifs[n["a"]]["mac"] == zoo["mac"]
    assert ifs[n["a"]]["alias"] == zoo["alias"]
    assert ifs[n["b"]]["promisc"] is True and "promisc" in ifs[n["b"]]["flags"]
    # bridge ports are promiscuous by the kernel, not by request
    assert ifs[n["c"]]["promisc"] is True and ifs[n["c"]]["promisc_requested"] is False
    assert ifs[n["c"]]["promiscuity_explained"] == 1 and ifs[n["c"]]["promiscuity_unexplained"] == 0
    assert ifs[n["e"]]["admin_state"] == "down" and ifs[n["e"]]["carrier"] is False
    assert "running" not in ifs[n["e"]]["flags"]
    assert facts["summary"]["interfaces"] == len(truth)
    assert facts["summary"]["kinds"]["veth"] == sum(
        1 for link in truth.values() if (link.get("linkinfo") or {}).get("info_kind") == "veth")


def test_addresses_match_ip_json(gathered, zoo):
    facts, truth, dummy = gathered
    for name, link in truth.items():
        want = {(a["local"], a["prefixlen"]) for a in link.get("addr_info", [])}
        got = {(a["address"], a["prefixlen"]) for a in facts["interfaces"][name]["addresses"]}
        assert got == want, name
    addrs = {ipaddress.ip_address(a["address"]): a
             for a in facts["interfaces"][zoo["names"]["a"]]["addresses"]}
    first, second = (ipaddress.ip_interface(x) for x in zoo["v4"])
    primary = addrs[first.ip]
    secondary = addrs[second.ip]
    assert primary["netmask"] == str(first.network.netmask)
    assert primary["broadcast"] == str(first.network.broadcast_address)
    assert secondary["broadcast"] is None  # added without brd: the kernel has none either
    assert primary["label"] == zoo["names"]["a"] + ":x"
    assert "secondary" not in primary["flags"] and "secondary" in secondary["flags"]
    assert primary["valid_lft"] is None and "permanent" in primary["flags"]
    v6 = ipaddress.ip_interface(zoo["v6"])
    six = addrs[v6.ip]
    assert six["family"] == "ipv6"
    assert six["netmask"] == str(v6.network.netmask)
    assert 3000 < six["valid_lft"] <= 3600 and 1200 < six["preferred_lft"] <= 1800
    assert "dynamic" in six["flags"] and six["dns_eligible"] is True
    for entry in facts["interfaces"][zoo["names"]["a"]]["addresses"]:
        if entry["scope"] == "link":
            assert entry["dns_eligible"] is False


def test_sysctls_raw_and_effective_match_proc(gathered, zoo):
    facts, truth, dummy = gathered
    lab, host, n = zoo["lab"], zoo["host"], zoo["names"]

    def proc(family, name, key):
        return int(lab.read_proc(host, "/proc/sys/net/%s/conf/%s/%s" % (family, name, key)))

    all_rp = proc("ipv4", "all", "rp_filter")
    all_redirects = proc("ipv4", "all", "accept_redirects")
    for name in truth:
        got = facts["interfaces"][name]["sysctl"]
        mine_rp = proc("ipv4", name, "rp_filter")
        assert got["ipv4"]["rp_filter"] == mine_rp
        assert got["effective"]["ipv4"]["rp_filter"] == max(all_rp, mine_rp)
        mine_red = proc("ipv4", name, "accept_redirects")
        forwarding = proc("ipv4", name, "forwarding")
        want = (mine_red and all_redirects) if forwarding else (mine_red or all_redirects)
        assert got["effective"]["ipv4"]["accept_redirects"] == int(bool(want))
        assert got["ipv6"]["accept_ra"] == proc("ipv6", name, "accept_ra")
    # the planted deviations are visible as the kernel applies them
    assert facts["interfaces"][n["a"]]["sysctl"]["effective"]["ipv4"]["rp_filter"] == 2
    assert facts["interfaces"][n["b"]]["sysctl"]["effective"]["ipv4"]["rp_filter"] == 1
    assert facts["interfaces"][n["a"]]["sysctl"]["effective"]["ipv4"]["accept_redirects"] == 1
    assert facts["sysctl"]["net.ipv4.conf.all.rp_filter"] == 1
    assert facts["sysctl"]["net.ipv4.tcp_syncookies"] == int(
        lab.read_proc(host, "/proc/sys/net/ipv4/tcp_syncookies"))


def test_default_subsets_are_lean(zoo):
    facts, dummy = facts_via_ansible(zoo["lab"], zoo["host"])
    assert set(facts["gather_subset"]) == {"links", "addresses", "routes", "connectivity"}
    any_iface = facts["interfaces"]["lo"]
    assert "statistics" not in any_iface and "sysctl" not in any_iface
    assert "sysctl" not in facts and "addresses" in any_iface


def test_globs_with_dots_kinds_and_check_mode(zoo):
    n = zoo["names"]
    pattern = n["a"].replace(".a", ".*")
    facts, result = facts_via_ansible(zoo["lab"], zoo["host"], "interfaces=%s" % pattern,
                                      "gather_subset=min", check=True)
    assert set(facts["interfaces"]) == {n["a"], n["b"]}
    assert result["changed"] is False
    facts, dummy = facts_via_ansible(zoo["lab"], zoo["host"], "kinds=bridge,macvlan", "exclude=mv-*")
    assert set(facts["interfaces"]) == {n["br"]}


def test_connectivity_follows_default_route(zoo):
    lab, host = zoo["lab"], zoo["host"]
    facts, dummy = facts_via_ansible(lab, host, "gather_subset=connectivity")
    assert facts["connectivity"]["reachability"] == "site"  # global address, no default route
    assert facts["default_routes"] if "default_routes" in facts else True
    lab.exec(host, ["ip", "route", "add", "default", "via", lab.bridge_ip, "dev", "eth0"])
    try:
        facts, dummy = facts_via_ansible(lab, host)
        assert facts["connectivity"]["reachability"] == "online"
        assert facts["connectivity"]["ipv4"] == "online"
        routes = [r for r in facts["default_routes"] if r["family"] == "ipv4"]
        assert routes and routes[0]["gateway"] == lab.bridge_ip and routes[0]["dev"] == "eth0"
    finally:
        lab.exec(host, ["ip", "route", "del", "default", "via", lab.bridge_ip, "dev", "eth0"])


def test_running_config_touches_no_host(zoo, tmp_path):
    """Offline mode: an unreachable inventory host still gets the document."""
    lab, host = zoo["lab"], zoo["host"]
    captured = lab.exec(host, ["ip", "-json", "-d", "addr", "show"]).stdout
    capture = tmp_path / "capture.json"
    capture.write_text(captured)
    doc = run_offline_playbook(lab, """\
    - hostnet.netif.interface_facts:
        running_config: "{{ lookup('file', '%s') }}"
""" % capture, tmp_path)
    truth = {link["ifname"]: link for link in json.loads(captured)}
    assert set(doc["interfaces"]) == set(truth)
    for name, link in truth.items():
        assert doc["interfaces"][name]["mtu"] == link["mtu"]
