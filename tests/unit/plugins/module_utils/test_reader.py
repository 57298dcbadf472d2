# -*- coding: utf-8 -*-
# Copyright: hostnet.netif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Tests for plugins/module_utils/reader.py on captured and hand-written ``ip -json`` output.

Expected values come from what the capture script configured (see
fixtures/capture.py and captured_manifest.json) or from the kernel's and Qt's
rules written out here, never from the reader's own output.
"""

import errno
import ipaddress
import json
import os
import re

import pytest

from ansible_collections.hostnet.netif.plugins.module_utils import reader
from ansible_collections.hostnet.netif.plugins.module_utils.errors import CommandError, ParseError

import netif_testlib as lib
from netif_testlib import CAPTURED, CAPTURED_STATS, FakeHost

R = lib.roles()
VLAN, BOND, DUMMY = "handwritten_vlan.json", "handwritten_bond.json", "handwritten_dummy.json"
TUNTAP, WG, WIFI, IPIP = ("handwritten_tun_tap.json", "handwritten_wireguard.json",
                          "handwritten_wifi.json", "handwritten_ipip.json")
INF = 4294967295


def _resolve(value):
    """'@role' -> the interface name that role has in the current capture."""
    if isinstance(value, str) and value.startswith("@"):
        return R[value[1:]]
    if isinstance(value, dict):
        return dict((k, _resolve(v)) for k, v in value.items())
    return value


def _iface(fixture, name, **kwargs):
    document, dummy = lib.offline_document(fixture, **kwargs)
    return document["interfaces"][_resolve(name)]


def _all_interfaces():
    for fixture in lib.ADDR_FIXTURES:
        for link in lib.fixture_json(fixture):
            yield fixture, link["ifname"]


# ---------------------------------------------------------------------------
# classification, flags and states: one row per interface of every fixture
# ---------------------------------------------------------------------------
ETH_UP = {"broadcast", "multicast", "up", "lower_up", "running"}
LINKS = [
    # fixture, name, kind, type, flags, admin_state, oper_state, carrier
    (CAPTURED, "lo", "loopback", "loopback", {"loopback", "up", "lower_up", "running"}, "up", "unknown", True),
    (CAPTURED, "@veth_dotted", "veth", "ethernet", ETH_UP, "up", "up", True),
    (CAPTURED, "@veth_bridged", "veth", "ethernet", ETH_UP, "up", "up", True),
    (CAPTURED, "@bridge", "bridge", "ethernet", ETH_UP, "up", "up", True),
    (CAPTURED, "@macvlan", "macvlan", "ethernet", ETH_UP | {"promisc"}, "up", "up", True),
    # vxlan and ifb report operstate UNKNOWN: IFF_RUNNING is set for UP and UNKNOWN
    (CAPTURED, "@vxlan", "vxlan", "ethernet", ETH_UP, "up", "unknown", True),
    (CAPTURED, "@ifb", "ifb", "ethernet", {"broadcast", "noarp", "up", "lower_up", "running"},
     "up", "unknown", True),
    (CAPTURED, "@down_a", "veth", "ethernet", {"broadcast", "multicast", "m_down"}, "down", "down", False),
    (CAPTURED, "@down_b", "veth", "ethernet", {"broadcast", "multicast", "m_down"}, "down", "down", False),
    (VLAN, "eth0", "ethernet", "ethernet", ETH_UP, "up", "up", True),
    (VLAN, "eth0.100", "vlan", "ethernet", ETH_UP, "up", "up", True),
    (BOND, "eth1", "ethernet", "ethernet", ETH_UP | {"slave"}, "up", "up", True),
    # admin up without carrier: not running
    (BOND, "eth2", "ethernet", "ethernet", {"no_carrier", "broadcast", "multicast", "slave", "up"},
     "up", "down", False),
    (BOND, "bond0", "bond", "ethernet", ETH_UP | {"master"}, "up", "up", True),
    (DUMMY, "dummy0", "dummy", "ethernet", {"broadcast", "noarp", "up", "lower_up", "running"},
     "up", "unknown", True),
    (TUNTAP, "tun0", "tun", "virtual", {"pointtopoint", "multicast", "noarp", "up", "lower_up", "running"},
     "up", "unknown", True),
    (TUNTAP, "tap0", "tap", "ethernet", {"no_carrier", "broadcast", "multicast", "up"}, "up", "down", False),
    (WG, "wg0", "wireguard", "virtual", {"pointtopoint", "noarp", "up", "lower_up", "running"},
     "up", "unknown", True),
    # offline (no sysfs) a wifi card is ethernet; see test_wifi_detected_from_sysfs
    (WIFI, "wlan0", "ethernet", "ethernet", ETH_UP, "up", "up", True),
    (IPIP, "tunl0", "ipip", "virtual", {"noarp"}, "down", "down", False),
]
LINK_IDS = ["%s:%s" % (row[0].split(".")[0], row[1]) for row in LINKS]


def test_every_fixture_interface_has_a_row():
    rows = set((row[0], _resolve(row[1])) for row in LINKS)
    for fixture, name in _all_interfaces():
        if fixture == CAPTURED_STATS:
            fixture = CAPTURED  # same interfaces, checked in test_stats_fixture_matches
        assert (fixture, name) in rows, "no expectation for %s in %s" % (name, fixture)


@pytest.mark.parametrize("fixture, name, kind, qt_type, flags, admin, oper, carrier", LINKS, ids=LINK_IDS)
def test_link_classification_and_state(fixture, name, kind, qt_type, flags, admin, oper, carrier):
    facts = _iface(fixture, name)
    assert (facts["kind"], facts["type"]) == (kind, qt_type)
    assert set(facts["flags"]) == flags
    assert len(facts["flags"]) == len(set(facts["flags"]))
    assert facts["admin_state"] == admin
    assert facts["oper_state"] == oper
    assert facts["carrier"] is carrier
    # ip's flags carry the request; promisc is the kernel's (the captured veths are
    # promiscuous by their bridge and macvlan without a request)
    assert facts["promisc_requested"] is ("promisc" in flags)
    assert facts["promisc"] is (lib.raw_link(fixture, _resolve(name))["promiscuity"] > 0)


def test_stats_fixture_matches():
    plain, dummy = lib.offline_document(CAPTURED)
    stats, dummy = lib.offline_document(CAPTURED_STATS)
    assert set(plain["interfaces"]) == set(stats["interfaces"])
    for name, facts in plain["interfaces"].items():
        other = stats["interfaces"][name]
        for key in ("kind", "type", "flags", "admin_state", "oper_state", "carrier", "mac", "master", "parent"):
            assert facts[key] == other[key], (name, key)


@pytest.mark.parametrize("flags, operstate, running", [
    (["UP", "LOWER_UP"], "UP", True),
    (["UP", "LOWER_UP"], "UNKNOWN", True),
    (["UP", "LOWER_UP"], "DORMANT", False),
    (["UP", "LOWER_UP"], "LOWERLAYERDOWN", False),
    (["UP", "NO-CARRIER"], "DOWN", False),
    (["BROADCAST"], "UP", False),
    (["BROADCAST"], "UNKNOWN", False),
    ([], "DOWN", False),
])
def test_running_follows_iff_running(flags, operstate, running):
    """IFF_RUNNING (netif_oper_up): IFF_UP and operstate UP or UNKNOWN; ip never prints it."""
    facts = reader.build_link({"ifindex": 1, "ifname": "x", "flags": flags, "operstate": operstate})
    assert ("running" in facts["flags"]) is running
    assert facts["oper_state"] == operstate.lower()


@pytest.mark.parametrize("ip_flag, fact_flag", [
    ("UP", "up"), ("BROADCAST", "broadcast"), ("LOOPBACK", "loopback"),
    ("POINTOPOINT", "pointtopoint"), ("MULTICAST", "multicast"), ("PROMISC", "promisc"),
    ("NOARP", "noarp"), ("ALLMULTI", "allmulti"), ("LOWER_UP", "lower_up"),
    ("DORMANT", "dormant"), ("NO-CARRIER", "no_carrier"), ("M-DOWN", "m_down"),
    ("SLAVE", "slave"), ("MASTER", "master"), ("ECHO", "echo"),
    ("SOME-NEW_FLAG", "some_new_flag"),
])
def test_flag_spelling(ip_flag, fact_flag):
    facts = reader.build_link({"ifindex": 1, "ifname": "x", "flags": [ip_flag], "operstate": "DOWN"})
    assert facts["flags"] == [fact_flag]


# ---------------------------------------------------------------------------
# link attributes, MACs, alias, topology
# ---------------------------------------------------------------------------
MAC_RE = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2})*$")


@pytest.mark.parametrize("fixture, name", list(_all_interfaces()))
def test_link_attributes_copied(fixture, name):
    raw = lib.raw_link(fixture, name)
    facts = _iface(fixture, name)
    assert facts["name"] == raw["ifname"]
    assert facts["index"] == raw["ifindex"]
    assert facts["mtu"] == raw["mtu"]
    assert facts["min_mtu"] == raw.get("min_mtu")
    assert facts["max_mtu"] == raw.get("max_mtu")
    assert facts["txqueuelen"] == raw.get("txqlen")
    assert facts["qdisc"] == raw.get("qdisc")
    assert facts["group"] == raw.get("group")
    for key in ("mac", "perm_mac", "broadcast_mac"):
        assert facts[key] is None or MAC_RE.match(facts[key]), (key, facts[key])


@pytest.mark.parametrize("fixture, name, mac, perm_mac, broadcast_mac", [
    (CAPTURED, "lo", "00:00:00:00:00:00", None, "00:00:00:00:00:00"),
    (BOND, "eth1", "52:54:00:aa:bb:01", "52:54:00:aa:bb:02", "ff:ff:ff:ff:ff:ff"),
    (BOND, "eth2", "52:54:00:aa:bb:01", "52:54:00:aa:bb:03", "ff:ff:ff:ff:ff:ff"),
    (BOND, "bond0", "52:54:00:aa:bb:01", None, "ff:ff:ff:ff:ff:ff"),
    (WIFI, "wlan0", "7a:11:22:33:44:55", "a0:b1:c2:d3:e4:f5", "ff:ff:ff:ff:ff:ff"),
    # no link-layer address at all
    (TUNTAP, "tun0", None, None, None),
    (WG, "wg0", None, None, None),
    # ip prints the tunnel's IPv4 endpoint as "address": that is not a MAC
    (IPIP, "tunl0", None, None, None),
])
def test_macs(fixture, name, mac, perm_mac, broadcast_mac):
    facts = _iface(fixture, name)
    assert (facts["mac"], facts["perm_mac"], facts["broadcast_mac"]) == (mac, perm_mac, broadcast_mac)


def test_captured_macs_are_the_dump_values():
    for link in lib.fixture_json(CAPTURED):
        facts = _iface(CAPTURED, link["ifname"])
        assert facts["mac"] == link["address"].lower()


def test_macs_are_lowercased():
    facts = reader.build_link({
        "ifindex": 2, "ifname": "eth0", "flags": ["UP"], "operstate": "UP", "link_type": "ether",
        "address": "52:54:00:AB:CD:EF", "broadcast": "FF:FF:FF:FF:FF:FF", "permaddr": "0A:1B:2C:3D:4E:5F",
    })
    assert facts["mac"] == "52:54:00:ab:cd:ef"
    assert facts["broadcast_mac"] == "ff:ff:ff:ff:ff:ff"
    assert facts["perm_mac"] == "0a:1b:2c:3d:4e:5f"


def test_alias_kept_verbatim():
    """Quotes, a tab, angle brackets and non-ASCII survive exactly as set."""
    facts = _iface(CAPTURED, "@bridge")
    alias = lib.manifest()["alias"]
    assert facts["alias"] == alias
    for needle in ('"', "\t", "<", ">", "\u00e9", "\u7db2"):
        assert needle in facts["alias"]
    assert _iface(CAPTURED, "@veth_dotted")["alias"] is None


def test_names_with_dot_and_dash_are_exact_keys():
    document, dummy = lib.offline_document(CAPTURED)
    names = set(link["ifname"] for link in lib.fixture_json(CAPTURED))
    assert set(document["interfaces"]) == names
    assert R["veth_dotted"] in document["interfaces"] and "." in R["veth_dotted"]
    assert "-" in R["down_a"] and R["down_a"] in document["interfaces"]
    assert "eth0.100" in lib.offline_document(VLAN)[0]["interfaces"]


def test_mtus_configured_by_capture():
    assert _iface(CAPTURED, "@down_a")["mtu"] == 9000
    # vxlan over IPv4 on a 1500-byte device: 1500 - 50 bytes of encapsulation
    assert _iface(CAPTURED, "@vxlan")["mtu"] == 1450


TOPOLOGY = [
    # fixture, name, master, parent, vlan, kind_data
    (CAPTURED, "@veth_bridged", "@bridge", None, None, {"peer": "@veth_dotted", "peer_index": None}),
    (CAPTURED, "@veth_dotted", None, None, None, {"peer": "@veth_bridged", "peer_index": None}),
    (CAPTURED, "@down_a", None, None, None, {"peer": "@down_b", "peer_index": None}),
    (CAPTURED, "@bridge", None, None, None, None),
    (CAPTURED, "@macvlan", None, "@veth_dotted", None, {"mode": "bridge"}),
    (CAPTURED, "@vxlan", None, "@veth_dotted", None,
     {"vni": 4242, "local": "198.18.1.1", "remote": None, "group": None, "dstport": 4789,
      "parent": "@veth_dotted"}),
    (CAPTURED, "@ifb", None, None, None, None),
    (CAPTURED, "lo", None, None, None, None),
    (VLAN, "eth0.100", None, "eth0", {"id": 100, "protocol": "802.1Q"}, {"id": 100, "protocol": "802.1Q"}),
    (VLAN, "eth0", None, None, None, None),
    (BOND, "eth1", "bond0", None, None, None),
    (BOND, "eth2", "bond0", None, None, None),
    (BOND, "bond0", None, None, None, {"mode": "active-backup"}),
    (DUMMY, "dummy0", None, None, None, None),
    (TUNTAP, "tun0", None, None, None, {"type": "tun", "owner": None, "multi_queue": False}),
    (TUNTAP, "tap0", None, None, None, {"type": "tap", "owner": "libvirt-qemu", "multi_queue": True}),
    (WG, "wg0", None, None, None, None),
    (IPIP, "tunl0", None, None, None, None),
]


@pytest.mark.parametrize("fixture, name, master, parent, vlan, kind_data", TOPOLOGY,
                         ids=["%s:%s" % (r[0].split(".")[0], r[1]) for r in TOPOLOGY])
def test_topology(fixture, name, master, parent, vlan, kind_data):
    facts = _iface(fixture, name)
    assert facts["master"] == _resolve(master)
    assert facts["parent"] == _resolve(parent)
    assert facts["vlan"] == vlan
    assert facts["kind_data"] == _resolve(kind_data)


def test_veth_peer_in_other_namespace():
    """ip prints link_index + link_netnsid (no name) when the peer lives elsewhere."""
    facts = reader.build_link({
        "ifindex": 5, "link_index": 2, "ifname": "veth0", "flags": ["UP", "LOWER_UP"], "operstate": "UP",
        "link_type": "ether", "link_netnsid": 3, "linkinfo": {"info_kind": "veth"},
    })
    assert facts["kind_data"] == {"peer": None, "peer_index": 2}
    assert facts["link_netns"] == 3
    assert facts["parent"] is None


# ---------------------------------------------------------------------------
# addresses
# ---------------------------------------------------------------------------
FOREVER = "forever"
FROM_DUMP = "dump"
ADDRESSES = [
    # fixture, iface, address, family, prefixlen, broadcast, peer, scope, label, flags, dns, lifetimes
    (CAPTURED, "lo", "127.0.0.1", "ipv4", 8, None, None, "host", "lo", {"permanent"}, False, FOREVER),
    (CAPTURED, "lo", "::1", "ipv6", 128, None, None, "host", None, {"permanent"}, False, FOREVER),
    (CAPTURED, "@veth_dotted", "198.18.1.1", "ipv4", 24, "198.18.1.255", None, "global", "@veth_dotted",
     {"permanent"}, True, FOREVER),
    (CAPTURED, "@veth_dotted", "198.18.1.2", "ipv4", 24, "198.18.1.255", None, "global", "@label_secondary",
     {"secondary", "permanent"}, True, FOREVER),
    (CAPTURED, "@veth_dotted", "198.18.1.3", "ipv4", 24, None, None, "global", "@label_tertiary",
     {"secondary", "dynamic"}, True, FROM_DUMP),
    (CAPTURED, "@veth_dotted", "::ffff:198.18.61.1", "ipv6", 120, None, None, "global", None,
     {"dynamic"}, True, FROM_DUMP),
    (CAPTURED, "@veth_dotted", "::ffff:198.18.61.2", "ipv6", 120, None, None, "global", None,
     {"dynamic", "deprecated"}, False, FROM_DUMP),
    (CAPTURED, "@veth_dotted", "::ffff:198.18.61.3", "ipv6", 128, None, None, "global", None,
     {"permanent"}, True, FOREVER),
    (CAPTURED, "@bridge", "::ffff:198.18.62.1", "ipv6", 120, None, None, "global", None,
     {"nodad", "noprefixroute", "permanent"}, True, FOREVER),
    (CAPTURED, "@ifb", "198.18.2.1", "ipv4", 32, None, "198.18.2.2", "global", "@ifb",
     {"permanent"}, True, FOREVER),
    (CAPTURED, "@down_a", "198.18.3.1", "ipv4", 30, None, None, "global", "@down_a",
     {"permanent"}, True, FOREVER),
    (VLAN, "eth0.100", "198.18.100.2", "ipv4", 24, "198.18.100.255", None, "global", "eth0.100",
     {"permanent"}, True, FOREVER),
    (BOND, "bond0", "198.18.20.5", "ipv4", 24, "198.18.20.255", None, "global", "bond0",
     {"permanent"}, True, FOREVER),
    (DUMMY, "dummy0", "198.18.30.1", "ipv4", 32, None, None, "global", "dummy0", {"permanent"}, True, FOREVER),
    (TUNTAP, "tun0", "198.18.40.1", "ipv4", 32, None, "198.18.40.2", "global", "tun0",
     {"permanent"}, True, FOREVER),
    (TUNTAP, "tun0", "fe80::6b1e:4d2a:77c0:1f3", "ipv6", 64, None, None, "link", None,
     {"stable-privacy", "permanent"}, False, FOREVER),
    (WG, "wg0", "198.18.50.1", "ipv4", 24, None, None, "global", "wg0", {"permanent"}, True, FOREVER),
    (WIFI, "wlan0", "198.18.60.23", "ipv4", 24, "198.18.60.255", None, "global", "wlan0",
     {"dynamic", "noprefixroute"}, True, FROM_DUMP),
    (WIFI, "wlan0", "::ffff:198.18.60.91", "ipv6", 120, None, None, "global", None,
     {"temporary", "dynamic"}, False, FROM_DUMP),
    (WIFI, "wlan0", "::ffff:198.18.60.85", "ipv6", 120, None, None, "global", None,
     {"dynamic", "mngtmpaddr", "noprefixroute"}, True, FROM_DUMP),
    (WIFI, "wlan0", "fe80::7811:22ff:fe33:4455", "ipv6", 64, None, None, "link", None,
     {"noprefixroute", "permanent"}, False, FOREVER),
]


def _address(fixture, name, local):
    for entry in _iface(fixture, name)["addresses"]:
        if entry["address"] == local:
            return entry
    raise AssertionError("%s has no address %s" % (name, local))


@pytest.mark.parametrize(
    "fixture, name, local, family, prefixlen, broadcast, peer, scope, label, flags, dns, lifetimes",
    ADDRESSES, ids=["%s:%s" % (r[0].split(".")[0], r[2]) for r in ADDRESSES])
def test_address(fixture, name, local, family, prefixlen, broadcast, peer, scope, label, flags, dns,
                 lifetimes):
    entry = _address(fixture, name, local)
    assert entry["family"] == family
    assert entry["prefixlen"] == prefixlen
    assert entry["broadcast"] == broadcast
    assert entry["peer"] == peer
    assert entry["scope"] == scope
    assert entry["label"] == _resolve(label)
    assert set(entry["flags"]) == flags
    assert entry["dns_eligible"] is dns
    raw = lib.raw_address(fixture, _resolve(name), local)
    if lifetimes == FOREVER:
        assert entry["valid_lft"] is None and entry["preferred_lft"] is None
    else:
        assert entry["valid_lft"] == raw["valid_life_time"] < INF
        assert entry["preferred_lft"] == raw["preferred_life_time"] < INF


def test_captured_lifetimes_are_the_configured_ones():
    """capture.py set valid 3600 / preferred 1800 and valid 3600 / preferred 0 (deprecated)."""
    finite = _address(CAPTURED, "@veth_dotted", "::ffff:198.18.61.1")
    assert 1800 < finite["valid_lft"] <= 3600
    assert 0 < finite["preferred_lft"] <= 1800
    deprecated = _address(CAPTURED, "@veth_dotted", "::ffff:198.18.61.2")
    assert deprecated["preferred_lft"] == 0 and 0 < deprecated["valid_lft"] <= 3600
    v4 = _address(CAPTURED, "@veth_dotted", "198.18.1.3")
    assert 3600 < v4["valid_lft"] <= 7200 and 0 < v4["preferred_lft"] <= 3600


def _qt_dns_eligible(entry):
    """Qt's rule, written out: temporary or deprecated -> no; loopback or link-local -> no."""
    if "temporary" in entry["flags"] or "deprecated" in entry["flags"]:
        return False
    address = ipaddress.ip_address(entry["address"])
    return not (address.is_loopback or address.is_link_local)


@pytest.mark.parametrize("fixture", lib.ADDR_FIXTURES)
def test_every_address_netmask_and_dns_eligibility(fixture):
    document, dummy = lib.offline_document(fixture)
    for link in lib.fixture_json(fixture):
        entries = document["interfaces"][link["ifname"]]["addresses"]
        assert [e["address"] for e in entries] == [a["local"] for a in link["addr_info"]]
        for entry in entries:
            network = ipaddress.ip_network("%s/%d" % (entry["address"], entry["prefixlen"]), strict=False)
            assert entry["netmask"] == str(network.netmask), entry
            assert entry["dns_eligible"] is _qt_dns_eligible(entry), entry
            if ipaddress.ip_address(entry["address"]).is_link_local:
                assert entry["scope"] == "link"


@pytest.mark.parametrize("prefixlen", range(0, 33))
def test_ipv4_netmask(prefixlen):
    entry = reader.build_address({"family": "inet", "local": "198.18.0.1", "prefixlen": prefixlen})
    assert entry["netmask"] == str(ipaddress.ip_network("198.18.0.1/%d" % prefixlen, strict=False).netmask)


@pytest.mark.parametrize("prefixlen", range(0, 129))
def test_ipv6_netmask(prefixlen):
    entry = reader.build_address({"family": "inet6", "local": "::ffff:198.18.0.1", "prefixlen": prefixlen})
    assert entry["netmask"] == str(ipaddress.ip_network("::ffff:198.18.0.1/%d" % prefixlen,
                                                        strict=False).netmask)


@pytest.mark.parametrize("family, prefixlen, netmask", [
    # a few spelled out, so a shared mistake with the ipaddress module would still show
    ("inet", 0, "0.0.0.0"), ("inet", 1, "128.0.0.0"), ("inet", 31, "255.255.255.254"),
    ("inet", 32, "255.255.255.255"),
    ("inet6", 0, "::"), ("inet6", 1, "8000::"), ("inet6", 64, "ffff:ffff:ffff:ffff::"),
    ("inet6", 127, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe"),
    ("inet6", 128, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
])
def test_netmask_spelled_out(family, prefixlen, netmask):
    local = "198.18.0.1" if family == "inet" else "::ffff:198.18.0.1"
    assert reader.build_address({"family": family, "local": local, "prefixlen": prefixlen})["netmask"] == netmask


@pytest.mark.parametrize("raw, expected", [
    (INF, None),                  # INFINITY_LIFE_TIME: forever
    (0, 0),
    (1, 1),
    (3600, 3600),
    (INF - 1, INF - 1),           # largest finite 32-bit value
    (2 ** 32, 2 ** 32),           # 64-bit values must not wrap or become "forever"
    (2 ** 33 + 5, 2 ** 33 + 5),
    (2 ** 63, 2 ** 63),
    ("7200", 7200),
    (None, None),
])
def test_lifetimes(raw, expected):
    info = {"family": "inet6", "local": "::ffff:198.18.0.5", "prefixlen": 120, "dynamic": True}
    if raw is not None:
        info["valid_life_time"] = raw
        info["preferred_life_time"] = raw
    entry = reader.build_address(info)
    assert entry["valid_lft"] == expected
    assert entry["preferred_lft"] == expected
    # a Python int (no float, no bool): exact at any size
    assert entry["valid_lft"] is None or (isinstance(entry["valid_lft"], int)
                                          and not isinstance(entry["valid_lft"], bool))


@pytest.mark.parametrize("info, flags", [
    # ip prints "dynamic" when IFA_F_PERMANENT is clear and nothing when it is set
    ({"dynamic": True, "valid_life_time": 600, "preferred_life_time": 300}, {"dynamic"}),
    ({"valid_life_time": INF, "preferred_life_time": INF}, {"permanent"}),
    ({}, {"permanent"}),
    ({"valid_life_time": 600, "preferred_life_time": 300}, {"dynamic"}),
    # preferred lifetime 0 means deprecated even if ip did not say so
    ({"dynamic": True, "valid_life_time": 600, "preferred_life_time": 0}, {"dynamic", "deprecated"}),
    ({"dynamic": True, "deprecated": True, "valid_life_time": 600, "preferred_life_time": 0},
     {"dynamic", "deprecated"}),
    ({"tentative": True, "dadfailed": True}, {"tentative", "dadfailed", "permanent"}),
    ({"temporary": True, "dynamic": True, "valid_life_time": 600, "preferred_life_time": 300},
     {"temporary", "dynamic"}),
    ({"optimistic": True, "home": True, "autojoin": True}, {"optimistic", "home", "autojoin", "permanent"}),
    # only boolean true marks a flag
    ({"secondary": False, "nodad": "yes"}, {"permanent"}),
])
def test_address_flags(info, flags):
    base = {"family": "inet6", "local": "::ffff:198.18.0.7", "prefixlen": 120}
    base.update(info)
    entry = reader.build_address(base)
    assert set(entry["flags"]) == flags
    assert len(entry["flags"]) == len(set(entry["flags"]))


@pytest.mark.parametrize("family, local, flags, eligible", [
    ("inet", "198.18.0.1", {}, True),
    ("inet", "127.0.0.1", {}, False),
    ("inet", "127.1.2.3", {}, False),
    ("inet", "169.254.10.20", {}, False),
    ("inet6", "::ffff:198.18.0.1", {}, True),
    ("inet6", "::ffff:198.18.0.1", {"temporary": True}, False),
    ("inet6", "::ffff:198.18.0.1", {"deprecated": True}, False),
    ("inet6", "::ffff:198.18.0.1", {"mngtmpaddr": True}, True),
    ("inet6", "::1", {}, False),
    ("inet6", "fe80::1", {}, False),
    # Edges of the fe80::/10 text check. Only parsed here, never configured
    # anywhere; no address in ::ffff:198.18.0.0/111 starts with an fe.. group,
    # so these three are the exception to the 198.18.0.0/15-only rule.
    ("inet6", "febf:ffff::1", {}, False),     # last of fe80::/10
    ("inet6", "fec0::1", {}, True),           # first after fe80::/10 (site-local), not link-local
    ("inet6", "fe8::1", {}, True),            # 0fe8::1 is not in fe80::/10
    ("inet6", "::ffff:198.19.255.254", {}, True),   # not globally routable either: still eligible
])
def test_dns_eligible_qt_rule(family, local, flags, eligible):
    info = {"family": family, "local": local, "prefixlen": 64 if family == "inet6" else 24}
    info.update(flags)
    entry = reader.build_address(info)
    assert entry["dns_eligible"] is eligible
    assert entry["dns_eligible"] is _qt_dns_eligible(entry)


@pytest.mark.parametrize("info", [
    {"family": "mpls", "local": "100"},
    {"family": "inet"},
    {"family": "inet6", "prefixlen": 64},
])
def test_unusable_address_entries_are_skipped(info):
    assert reader.build_address(info) is None


# ---------------------------------------------------------------------------
# gather request: globs, kinds, subsets
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, expected", [
    ({}, "ALL"),
    ({"interfaces": ["@veth_dotted"]}, {"@veth_dotted"}),
    ({"interfaces": ["lo", "@bridge"]}, {"lo", "@bridge"}),
    ({"interfaces": ["@prefix*"]}, "ALL_BUT_LO"),
    # "*" spans "br" in "<prefix>br-p" too, so the bridged veth goes with the down pair
    ({"interfaces": ["@prefix*"], "exclude": ["@prefix*-?"]},
     {"@veth_dotted", "@bridge", "@macvlan", "@vxlan", "@ifb"}),
    ({"exclude": ["*.*"]}, "ALL_BUT_DOTTED"),
    ({"interfaces": ["*.7"]}, {"@veth_dotted"}),
    ({"interfaces": ["@prefix??"]}, {"@macvlan", "@vxlan"}),
    ({"kinds": ["veth"]}, {"@veth_dotted", "@veth_bridged", "@down_a", "@down_b"}),
    ({"kinds": ["loopback", "bridge"]}, {"lo", "@bridge"}),
    ({"kinds": ["veth"], "exclude": ["@prefix*dn*"]}, {"@veth_dotted", "@veth_bridged"}),
    ({"interfaces": ["nothing*"]}, set()),
])
def test_request_selects_interfaces(kwargs, expected):
    names = set(link["ifname"] for link in lib.fixture_json(CAPTURED))
    prefix = lib.manifest()["prefix"]

    def fill(value):
        return value.replace("@prefix", prefix) if value.startswith("@prefix") else _resolve(value)

    kwargs = dict((k, [fill(v) for v in vs]) for k, vs in kwargs.items())
    if expected == "ALL":
        expected = names
    elif expected == "ALL_BUT_LO":
        expected = names - {"lo"}
    elif expected == "ALL_BUT_DOTTED":
        expected = names - {R["veth_dotted"]}
    else:
        expected = set(_resolve(n) for n in expected)
    document, dummy = lib.offline_document(CAPTURED, **kwargs)
    assert set(document["interfaces"]) == expected
    assert document["summary"]["interfaces"] == len(expected)


@pytest.mark.parametrize("kwargs, path", [
    ({"interfaces": ["eth[0"]}, "interfaces[0]"),
    ({"interfaces": ["eth0", ""]}, "interfaces[1]"),
    ({"exclude": ["ok*", "bad\tglob"]}, "exclude[1]"),
    ({"exclude": ["[" + "a" * 70]}, "exclude[0]"),
    ({"interfaces": [None]}, "interfaces[0]"),
    ({"kinds": ["veth", ""]}, "kinds[1]"),
    ({"kinds": [5]}, "kinds[0]"),
    ({"sysctl_keys": ["ipv4.rp_filter", "ipv4/../../etc"]}, "sysctl_keys[1]"),
    ({"gather_subset": ["links", "nope"]}, "gather_subset"),
])
def test_request_rejects_with_field_path(kwargs, path):
    with pytest.raises(ValueError) as err:
        lib.request(**kwargs)
    assert str(err.value).startswith(path + ":")


@pytest.mark.parametrize("subset, present, absent", [
    (["min"], [], ["addresses", "statistics", "sysctl"]),
    (["addresses"], ["addresses"], ["statistics"]),
    (["stats"], ["statistics"], ["addresses"]),
    # connectivity needs addresses but does not return them unless asked
    (["connectivity"], [], ["addresses", "statistics"]),
])
def test_subsets_shape_interfaces(subset, present, absent):
    document, dummy = lib.offline_document(CAPTURED_STATS, gather_subset=subset)
    for facts in document["interfaces"].values():
        for key in present:
            assert key in facts
        for key in absent:
            assert key not in facts


def test_statistics_from_stats_dump():
    document, dummy = lib.offline_document(CAPTURED_STATS, gather_subset=["stats"])
    for link in lib.fixture_json(CAPTURED_STATS):
        stats = document["interfaces"][link["ifname"]]["statistics"]
        raw = link["stats64"]
        for direction in ("rx", "tx"):
            for counter in ("bytes", "packets", "errors", "dropped"):
                assert stats["%s_%s" % (direction, counter)] == raw[direction][counter]
        assert stats["rx_multicast"] == raw["rx"]["multicast"]
        assert stats["tx_collisions"] == raw["tx"]["collisions"]
    # the veth pair talked (IPv6 DAD/ND) during the capture
    assert document["interfaces"][R["veth_dotted"]]["statistics"]["tx_packets"] > 0


def test_summary_counts():
    document, dummy = lib.offline_document(CAPTURED)
    links = lib.fixture_json(CAPTURED)
    summary = document["summary"]
    assert summary["interfaces"] == len(links)
    assert summary["up"] == sum(1 for link in links if "UP" in link["flags"])
    v4 = sum(1 for link in links for a in link["addr_info"] if a["family"] == "inet")
    v6 = sum(1 for link in links for a in link["addr_info"] if a["family"] == "inet6")
    assert (summary["ipv4_addresses"], summary["ipv6_addresses"], summary["addresses"]) == (v4, v6, v4 + v6)
    assert summary["kinds"] == {"loopback": 1, "veth": 4, "bridge": 1, "macvlan": 1, "vxlan": 1, "ifb": 1}
    # up and running: everything but the down pair
    assert summary["running"] == len(links) - 2


def test_default_routes():
    document, dummy = lib.offline_document(CAPTURED, routes=True)
    assert document["default_routes"] == [
        {"family": "ipv4", "gateway": "198.18.1.254", "dev": R["veth_dotted"], "metric": 100,
         "protocol": None, "table": "main", "type": "unicast"},
        {"family": "ipv6", "gateway": "::ffff:198.18.61.254", "dev": R["veth_dotted"], "metric": 1024,
         "protocol": None, "table": "main", "type": "unicast"},
    ]


def test_default_route_variants():
    route = reader.build_default_route(
        {"type": "unicast", "dst": "default", "via": {"family": "inet6", "host": "fe80::1"},
         "dev": "eth0", "protocol": "ra", "metric": 1024, "table": 254}, "ipv4")
    assert route["gateway"] == "fe80::1"
    assert route["table"] == "254"
    blackhole = reader.build_default_route({"type": "blackhole", "dst": "default"}, "ipv4")
    assert (blackhole["type"], blackhole["dev"], blackhole["gateway"], blackhole["metric"]) == \
        ("blackhole", None, None, 0)


# ---------------------------------------------------------------------------
# connectivity
# ---------------------------------------------------------------------------
def _link(index, name, flags, operstate, addresses=(), link_type="ether"):
    return {"ifindex": index, "ifname": name, "flags": list(flags), "operstate": operstate,
            "link_type": link_type, "addr_info": list(addresses)}


def _v4(local, scope="global"):
    return {"family": "inet", "local": local, "prefixlen": 24, "scope": scope}


def _v6(local, scope="global", prefixlen=120):
    return {"family": "inet6", "local": local, "prefixlen": prefixlen, "scope": scope}


LO = _link(1, "lo", ["LOOPBACK", "UP", "LOWER_UP"], "UNKNOWN",
           [_v4("127.0.0.1", "host"), _v6("::1", "host", 128)], link_type="loopback")
UP = ["BROADCAST", "MULTICAST", "UP", "LOWER_UP"]
NO_CARRIER = ["NO-CARRIER", "BROADCAST", "MULTICAST", "UP"]
ADMIN_DOWN = ["BROADCAST", "MULTICAST"]
LL4, LL6 = _v6("fe80::1", "link", 64), _v6("fe80::2", "link", 64)
DEF4 = {"dst": "default", "gateway": "198.18.1.254", "dev": "eth0", "flags": []}
DEF6 = {"dst": "default", "gateway": "::ffff:198.18.7.254", "dev": "eth0", "flags": []}

CONNECTIVITY = [
    # id, links, v4 routes, v6 routes, (overall, ipv4, ipv6)
    ("nothing-but-lo", [LO], [dict(DEF4, dev="lo")], [],
     ("disconnected", "disconnected", "disconnected")),
    ("admin-down", [LO, _link(2, "eth0", ADMIN_DOWN, "DOWN", [_v4("198.18.1.1")])], [DEF4], [],
     ("disconnected", "disconnected", "disconnected")),
    ("no-carrier", [LO, _link(2, "eth0", NO_CARRIER, "DOWN", [_v4("198.18.1.1")])], [DEF4], [],
     ("disconnected", "disconnected", "disconnected")),
    ("carrier-no-address", [LO, _link(2, "eth0", UP, "UP")], [], [], ("local", "local", "local")),
    ("link-local-only", [LO, _link(2, "eth0", UP, "UP", [LL4, _v4("169.254.3.4", "link")])], [DEF4], [],
     ("local", "local", "local")),
    ("global-no-route", [LO, _link(2, "eth0", UP, "UP", [_v4("198.18.1.1"), LL4])], [], [],
     ("site", "site", "local")),
    ("global-with-route", [LO, _link(2, "eth0", UP, "UP", [_v4("198.18.1.1"), LL4])], [DEF4], [],
     ("online", "online", "local")),
    ("ipv6-only-online", [LO, _link(2, "eth0", UP, "UP", [_v6("::ffff:198.18.7.1"), LL6])], [], [DEF6],
     ("online", "local", "online")),
    ("route-via-other-interface",
     [LO, _link(2, "eth0", UP, "UP", [_v4("198.18.1.1")]), _link(3, "eth1", ADMIN_DOWN, "DOWN")],
     [dict(DEF4, dev="eth1")], [], ("site", "site", "local")),
    ("unreachable-default",
     [LO, _link(2, "eth0", UP, "UP", [_v4("198.18.1.1")])],
     [{"type": "unreachable", "dst": "default", "flags": []}], [], ("site", "site", "local")),
    # an IPv4 address and only an IPv6 default route: neither family is online
    ("v4-address-v6-route", [LO, _link(2, "eth0", UP, "UP", [_v4("198.18.1.1"), LL6])], [], [DEF6],
     ("site", "site", "local")),
    # scope comes from ip's "scope" key, not from the address text
    ("site-scope", [LO, _link(2, "eth0", UP, "UP", [_v6("::ffff:198.18.7.2", "site")])], [], [],
     ("site", "local", "site")),
    ("loopback-ignored-even-with-global",
     [_link(1, "lo", ["LOOPBACK", "UP", "LOWER_UP"], "UNKNOWN", [_v4("198.18.9.9")], link_type="loopback"),
      _link(2, "eth0", UP, "UP", [LL6])],
     [dict(DEF4, dev="lo")], [], ("local", "local", "local")),
    ("down-global-up-linklocal",
     [LO, _link(2, "eth0", ADMIN_DOWN, "DOWN", [_v4("198.18.1.1")]), _link(3, "eth1", UP, "UP", [LL6])],
     [DEF4], [], ("local", "local", "local")),
]


@pytest.mark.parametrize("links, v4, v6, expected", [row[1:] for row in CONNECTIVITY],
                         ids=[row[0] for row in CONNECTIVITY])
def test_connectivity(links, v4, v6, expected):
    request = lib.request(gather_subset=["connectivity"])
    document, dummy = reader.build_document(json.loads(json.dumps(links)), request, v4, v6, None)
    result = document["connectivity"]
    assert (result["reachability"], result["ipv4"], result["ipv6"]) == expected
    assert result["transport_medium"] == ("ethernet" if expected[0] == "online" else "unknown")
    assert "addresses" not in document["interfaces"]["lo"]


def test_connectivity_of_capture():
    document, dummy = lib.offline_document(CAPTURED, routes=True)
    assert document["connectivity"] == {"reachability": "online", "ipv4": "online", "ipv6": "online",
                                        "transport_medium": "ethernet"}


# ---------------------------------------------------------------------------
# running ip and parsing its output
# ---------------------------------------------------------------------------
def test_ip_runner_passes_argv_list():
    calls = []

    def run(argv):
        calls.append(argv)
        return 0, lib.fixture_text(lib.ROUTE4), ""

    data = reader.IpRunner("/usr/sbin/ip", run).json(["-4", "route", "show", "default"])
    assert calls == [["/usr/sbin/ip", "-json", "-4", "route", "show", "default"]]
    assert data == lib.fixture_json(lib.ROUTE4)


def test_ip_runner_nonzero_exit():
    def run(argv):
        return 255, "", "Error: either \"dev\" is duplicate, or \"x\" is a garbage.\n"

    with pytest.raises(CommandError) as err:
        reader.IpRunner("/sbin/ip", run).json(["-d", "addr", "show"])
    assert err.value.rc == 255
    assert err.value.argv == ["/sbin/ip", "-json", "-d", "addr", "show"]
    assert "/sbin/ip -json -d addr show" in str(err.value)
    assert "is a garbage" in str(err.value)


def test_ip_runner_oserror():
    def run(argv):
        raise OSError(errno.ENOENT, "No such file or directory")

    with pytest.raises(CommandError, match="could not run ip"):
        reader.IpRunner("/nonexistent/ip", run).json(["addr"])


@pytest.mark.parametrize("text, message", [
    ("1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536", "older than 4.14"),
    ('[{"ifname": "lo"', "not JSON"),
    ('{"ifname": "lo"}', "expected a JSON list of objects, found dict"),
    ("[1, 2]", "item 0 is int, not an object"),
    ('[{"ifname": "lo"}, "x"]', "item 1 is str"),
    (None, "no output"),
])
def test_parse_ip_json_errors(text, message):
    with pytest.raises(ParseError) as err:
        reader.parse_ip_json(text, "ip -json addr show")
    assert message in str(err.value)
    assert str(err.value).startswith("ip -json addr show: ")


def test_parse_ip_json_empty_is_empty_list():
    assert reader.parse_ip_json("  \n", "x") == []


@pytest.mark.parametrize("links, message", [
    ([{"ifindex": 1, "flags": []}], "item 0 has no valid ifname"),
    ([{"ifindex": 1, "ifname": "a" * 16, "flags": []}], "item 0 has no valid ifname"),
    ([{"ifindex": 1, "ifname": "lo", "flags": []}, {"ifindex": 2, "ifname": "a/b", "flags": []}],
     "item 1 has no valid ifname"),
    ([{"ifname": "eth0", "flags": []}], "lacks flags/ifindex"),
    ([{"ifindex": 3, "ifname": "eth0"}], "lacks flags/ifindex"),
])
def test_build_document_rejects_non_link_items(links, message):
    with pytest.raises(ParseError, match=re.escape(message)):
        reader.build_document(links, lib.request(), [], [], None)


def test_gather_runs_one_dump_and_two_route_queries(tmp_path):
    calls = []
    outputs = {
        ("-d", "addr", "show"): lib.fixture_text(CAPTURED),
        ("-d", "-s", "addr", "show"): lib.fixture_text(CAPTURED_STATS),
        ("-4", "route", "show", "default"): lib.fixture_text(lib.ROUTE4),
        ("-6", "route", "show", "default"): lib.fixture_text(lib.ROUTE6),
    }

    def run(argv):
        calls.append(argv)
        assert argv[:2] == ["/sbin/ip", "-json"]
        return 0, outputs[tuple(argv[2:])], ""

    host = FakeHost(tmp_path)
    ip = reader.IpRunner("/sbin/ip", run)
    document, warnings = reader.gather(ip, lib.request(), host.files())
    assert [c[2:] for c in calls] == [["-d", "addr", "show"], ["-4", "route", "show", "default"],
                                      ["-6", "route", "show", "default"]]
    assert warnings == []
    assert document["connectivity"]["reachability"] == "online"
    calls[:] = []
    reader.gather(ip, lib.request(gather_subset=["min", "stats"]), host.files())
    assert [c[2:] for c in calls] == [["-d", "-s", "addr", "show"]]


def test_parse_running_config():
    document, warnings = reader.parse_running_config(lib.fixture_text(CAPTURED), lib.request())
    assert warnings == []
    assert set(document["interfaces"]) == set(link["ifname"] for link in lib.fixture_json(CAPTURED))
    # offline: no routes were captured with it
    assert document["default_routes"] == []
    with pytest.raises(ParseError, match="running_config"):
        reader.parse_running_config({"not": "text"}, lib.request())


# ---------------------------------------------------------------------------
# sysfs and procfs (fake trees)
# ---------------------------------------------------------------------------
def _host_for(tmp_path, links, skip=()):
    host = FakeHost(tmp_path)
    for link in links:
        if link["ifname"] not in skip:
            host.add_interface(link["ifname"])
    return host


@pytest.mark.parametrize("wireless, phy80211", [(True, False), (False, True), (True, True)])
def test_wifi_detected_from_sysfs(tmp_path, wireless, phy80211):
    host = FakeHost(tmp_path)
    host.add_interface("wlan0", wireless=wireless, phy80211=phy80211, driver="iwlwifi")
    request = lib.request(gather_subset=["links"])
    document, warnings = reader.build_document(lib.fixture_json(WIFI), request, [], [], host.files())
    facts = document["interfaces"]["wlan0"]
    assert (facts["kind"], facts["type"], facts["driver"]) == ("wifi", "wifi", "iwlwifi")
    assert warnings == []
    assert document["summary"]["kinds"] == {"wifi": 1}


def test_ethernet_without_wireless_markers(tmp_path):
    host = FakeHost(tmp_path)
    host.add_interface("wlan0", driver="e1000e", speed=1000, duplex="full")
    document, dummy = reader.build_document(lib.fixture_json(WIFI), lib.request(), [], [], host.files())
    facts = document["interfaces"]["wlan0"]
    assert (facts["kind"], facts["type"], facts["driver"]) == ("ethernet", "ethernet", "e1000e")
    assert (facts["speed_mbps"], facts["duplex"]) == (1000, "full")


@pytest.mark.parametrize("speed, duplex, expected", [
    ("1000", "full", (1000, "full")),
    ("10", "half", (10, "half")),
    ("-1", "unknown", (None, None)),      # link down: the kernel reports SPEED_UNKNOWN
    ("0", "full", (None, "full")),
    ("garbage", "sideways", (None, None)),
    (None, None, (None, None)),           # files absent
])
def test_speed_and_duplex(tmp_path, speed, duplex, expected):
    host = FakeHost(tmp_path)
    host.add_interface("eth0", driver="virtio_net", speed=speed, duplex=duplex)
    links = [link for link in lib.fixture_json(VLAN) if link["ifname"] == "eth0"]
    document, warnings = reader.build_document(links, lib.request(), [], [], host.files())
    facts = document["interfaces"]["eth0"]
    assert (facts["speed_mbps"], facts["duplex"]) == expected
    assert warnings == []


def test_virtual_interfaces_report_no_speed(tmp_path):
    """A veth's sysfs speed is nominal (10000): it must not become a fact."""
    links = lib.fixture_json(CAPTURED)
    host = FakeHost(tmp_path)
    for link in links:
        host.add_interface(link["ifname"], speed=10000, duplex="full")
    document, dummy = reader.build_document(links, lib.request(), [], [], host.files())
    for facts in document["interfaces"].values():
        assert (facts["speed_mbps"], facts["duplex"]) == (None, None)


def test_bond_speed_is_read(tmp_path):
    """The documentation promises speed for bond interfaces (the sum of the active slaves)."""
    links = lib.fixture_json(BOND)
    host = _host_for(tmp_path, links)
    for name, speed in (("eth1", 1000), ("eth2", -1), ("bond0", 1000)):
        host.add_interface(name, speed=speed, duplex="full")
    document, dummy = reader.build_document(links, lib.request(), [], [], host.files())
    assert document["interfaces"]["bond0"]["speed_mbps"] == 1000
    assert document["interfaces"]["bond0"]["driver"] == "bond"
    assert document["interfaces"]["eth1"]["speed_mbps"] == 1000
    assert document["interfaces"]["eth2"]["speed_mbps"] is None


SYSCTL_KEYS = ["ipv4.rp_filter", "ipv4.log_martians", "ipv4.accept_redirects", "ipv4.accept_source_route",
               "ipv6.accept_ra", "ipv6.forwarding",
               "net.ipv4.tcp_syncookies", "net.ipv4.ip_local_port_range"]


def _sysctl_host(tmp_path, links, skip=()):
    host = _host_for(tmp_path, links, skip)
    conf = {
        "ipv4": {"rp_filter": 0, "log_martians": 0, "accept_redirects": 1, "accept_source_route": 0,
                 "forwarding": 0},
        "ipv6": {"accept_ra": 1, "forwarding": 0},
    }
    for family, values in conf.items():
        for name in ["all", "default"] + [link["ifname"] for link in links if link["ifname"] not in skip]:
            for key, value in values.items():
                host.set_conf(family, name, key, value)
    host.set_host("net.ipv4.tcp_syncookies", 1)
    host.set_host("net.ipv4.ip_local_port_range", "32768\t60999")
    return host


def test_sysctls_raw_effective_and_host(tmp_path):
    links = lib.fixture_json(CAPTURED)
    host = _sysctl_host(tmp_path, links)
    dotted, bridge = R["veth_dotted"], R["bridge"]
    host.set_conf("ipv4", "all", "rp_filter", 1)
    host.set_conf("ipv4", "default", "rp_filter", 2)
    host.set_conf("ipv4", dotted, "rp_filter", 0)
    host.set_conf("ipv4", bridge, "rp_filter", 2)
    host.set_conf("ipv4", dotted, "log_martians", 1)
    host.set_conf("ipv4", "all", "accept_source_route", 1)
    host.set_conf("ipv4", dotted, "accept_source_route", 1)
    # accept_redirects: all=1; dotted forwards (AND with its 0 -> 0), bridge does not (OR -> 1)
    host.set_conf("ipv4", dotted, "accept_redirects", 0)
    host.set_conf("ipv4", dotted, "forwarding", 1)
    host.set_conf("ipv4", bridge, "accept_redirects", 0)
    host.set_conf("ipv6", "all", "accept_ra", 0)
    host.set_conf("ipv6", dotted, "accept_ra", 2)

    request = lib.request(gather_subset=["links", "sysctl"], sysctl_keys=SYSCTL_KEYS)
    document, warnings = reader.build_document(links, request, [], [], host.files())
    assert warnings == []

    facts = document["interfaces"][dotted]["sysctl"]
    assert facts["ipv4"] == {"rp_filter": 0, "log_martians": 1, "accept_redirects": 0, "accept_source_route": 1}
    assert facts["ipv6"] == {"accept_ra": 2, "forwarding": 0}
    assert facts["effective"]["ipv4"] == {"rp_filter": 1,            # max(1, 0)
                                          "log_martians": 1,         # 0 or 1
                                          "accept_redirects": 0,     # forwarding: 1 and 0
                                          "accept_source_route": 1}  # 1 and 1
    assert facts["effective"]["ipv6"] == {"accept_ra": 2, "forwarding": 0}   # the interface's own

    other = document["interfaces"][bridge]["sysctl"]
    assert other["effective"]["ipv4"] == {"rp_filter": 2,            # max(1, 2)
                                          "log_martians": 0,
                                          "accept_redirects": 1,     # not forwarding: 1 or 0
                                          "accept_source_route": 0}  # 1 and 0

    host_keys = document["sysctl"]
    assert host_keys["net.ipv4.conf.all.rp_filter"] == 1
    assert host_keys["net.ipv4.conf.default.rp_filter"] == 2
    assert host_keys["net.ipv6.conf.all.accept_ra"] == 0
    assert host_keys["net.ipv6.conf.default.accept_ra"] == 1
    assert host_keys["net.ipv4.tcp_syncookies"] == 1
    assert host_keys["net.ipv4.ip_local_port_range"] == "32768\t60999"
    # forwarding was read for accept_redirects but not asked for: not reported
    assert "net.ipv4.conf.all.forwarding" not in host_keys
    assert set(host_keys) == set(
        ["net.%s.conf.%s.%s" % (key.partition(".")[0], which, key.partition(".")[2])
         for key in SYSCTL_KEYS if not key.startswith("net.") for which in ("all", "default")]
        + ["net.ipv4.tcp_syncookies", "net.ipv4.ip_local_port_range"])


def test_sysctl_key_missing_from_kernel_is_null(tmp_path):
    links = lib.fixture_json(CAPTURED)
    host = _sysctl_host(tmp_path, links)
    request = lib.request(gather_subset=["links", "sysctl"], sysctl_keys=["ipv4.rp_filter", "ipv4.arp_ignore"])
    document, warnings = reader.build_document(links, request, [], [], host.files())
    assert warnings == []
    facts = document["interfaces"]["lo"]["sysctl"]
    assert facts["ipv4"] == {"rp_filter": 0, "arp_ignore": None}
    assert facts["effective"]["ipv4"] == {"rp_filter": 0, "arp_ignore": None}
    assert "ipv6" not in facts


def test_unreadable_sysctl_directory_is_a_warning(tmp_path):
    links = lib.fixture_json(CAPTURED)
    host = _sysctl_host(tmp_path, links)
    dotted = R["veth_dotted"]
    path = os.path.join(host.procfs, "ipv4", "conf", dotted, "rp_filter")
    os.remove(path)
    os.makedirs(path)  # a directory where the value file should be
    request = lib.request(gather_subset=["links", "sysctl"], sysctl_keys=SYSCTL_KEYS)
    document, warnings = reader.build_document(links, request, [], [], host.files())
    assert len(warnings) == 1 and path in warnings[0] and "could not read" in warnings[0]
    facts = document["interfaces"][dotted]["sysctl"]
    assert facts["ipv4"]["rp_filter"] is None
    assert facts["effective"]["ipv4"]["rp_filter"] is None
    assert facts["ipv4"]["log_martians"] == 0  # the rest is still read
    assert len(document["interfaces"]) == len(links)


def test_permission_denied_is_a_warning(tmp_path, monkeypatch):
    links = lib.fixture_json(CAPTURED)
    host = _sysctl_host(tmp_path, links)
    denied = os.path.join(host.procfs, "ipv4", "tcp_syncookies")
    real_open = open

    def guarded_open(path, *args, **kwargs):
        if path == denied:
            raise PermissionError(errno.EACCES, "Permission denied", path)
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(reader, "open", guarded_open, raising=False)
    request = lib.request(gather_subset=["links", "sysctl"], sysctl_keys=SYSCTL_KEYS)
    document, warnings = reader.build_document(links, request, [], [], host.files())
    assert warnings == ["could not read %s: Permission denied" % denied]
    assert document["sysctl"]["net.ipv4.tcp_syncookies"] is None
    assert document["sysctl"]["net.ipv4.conf.all.rp_filter"] == 0


def test_interface_vanishing_before_sysfs_read(tmp_path):
    """eth0 is in the dump but gone from sysfs by the time it is read."""
    links = lib.fixture_json(VLAN) + lib.fixture_json(WIFI)
    host = _host_for(tmp_path, links, skip=("eth0",))
    document, warnings = reader.build_document(links, lib.request(), [], [], host.files())
    assert warnings == ["interface eth0 vanished while gathering; left out"]
    assert set(document["interfaces"]) == {"eth0.100", "wlan0"}
    assert document["summary"]["interfaces"] == 2


def test_interface_vanishing_before_sysctl_read(tmp_path):
    """A veth (no sysfs read for links) disappears before its conf/ directory is read."""
    links = lib.fixture_json(CAPTURED)
    gone = R["down_b"]
    host = _sysctl_host(tmp_path, links, skip=(gone,))
    request = lib.request(gather_subset=["links", "addresses", "sysctl"], sysctl_keys=SYSCTL_KEYS)
    document, warnings = reader.build_document(links, request, [], [], host.files())
    assert warnings == ["interface %s vanished while reading sysctls; left out" % gone]
    assert gone not in document["interfaces"]
    assert document["summary"]["interfaces"] == len(links) - 1
    assert "veth" in document["summary"]["kinds"] and document["summary"]["kinds"]["veth"] == 3


def test_host_files_read_values(tmp_path):
    host = FakeHost(tmp_path)
    files = host.files()
    host.set_conf("ipv4", "eth0", "rp_filter", " 2 ")
    assert files.conf_values("ipv4", "eth0", ["rp_filter", "tag"]) == {"rp_filter": 2, "tag": None}
    # non-"net." host names never become paths
    assert files.host_value("kernel.core_pattern") is None
    assert files.warnings == []
