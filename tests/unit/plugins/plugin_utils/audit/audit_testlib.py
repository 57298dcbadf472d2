# -*- coding: utf-8 -*-
# Copyright: hostnet.netif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Builders for facts documents the audit tests judge.

``compliant_host()`` is a host that meets every cis_network rule, written out
from the CIS values (not from the engine). Tests change one value and look at
what the engine says. Effective values here follow the kernel's rules as
ip-sysctl.rst states them; tests of the reader+engine path build documents
through the real reader instead (test_effective.py).
"""

import copy

# CIS values for a host that is not a router (per-interface keys)
CIS_IPV4 = {
    "forwarding": 0, "send_redirects": 0, "accept_redirects": 0, "secure_redirects": 0,
    "accept_source_route": 0, "log_martians": 1, "rp_filter": 1,
}
CIS_IPV6 = {
    "forwarding": 0, "accept_redirects": 0, "accept_source_route": 0, "accept_ra": 0,
    "disable_ipv6": 0,
}
CIS_HOST = {
    "net.ipv4.icmp_echo_ignore_broadcasts": 1,
    "net.ipv4.icmp_ignore_bogus_error_responses": 1,
    "net.ipv4.tcp_syncookies": 1,
}

FLAGS_UP = ["broadcast", "multicast", "up", "lower_up", "running"]


def interface(name, kind="ethernet", mtu=1500, mac="02:00:00:00:00:01", flags=None, addresses=None,
              alias=None, qt_type=None, admin_state=None):
    flags = list(FLAGS_UP if flags is None else flags)
    return {
        "name": name, "index": 2, "alias": alias, "altnames": [], "kind": kind,
        "type": qt_type or ("loopback" if kind == "loopback" else "wifi" if kind == "wifi" else "ethernet"),
        "flags": flags, "admin_state": admin_state or ("up" if "up" in flags else "down"),
        "oper_state": "up" if "up" in flags else "down", "carrier": "lower_up" in flags,
        "mtu": mtu, "min_mtu": 68, "max_mtu": 65535, "txqueuelen": 1000, "qdisc": "noqueue",
        "group": "default", "mac": mac, "perm_mac": None, "broadcast_mac": "ff:ff:ff:ff:ff:ff",
        "master": None, "parent": None, "vlan": None, "kind_data": None, "link_netns": None,
        "driver": None, "speed_mbps": None, "duplex": None, "promisc": "promisc" in flags,
        "promisc_requested": "promisc" in flags, "promiscuity": int("promisc" in flags),
        "promiscuity_explained": 0, "promiscuity_unexplained": int("promisc" in flags),
        "promisc_explained_by": [], "allmulti": "allmulti" in flags,
        "allmulti_requested": "allmulti" in flags, "allmulti_count": int("allmulti" in flags),
        "addresses": list(addresses or []),
    }


def address(cidr, scope="global"):
    text, prefix = cidr.split("/")
    family = "ipv6" if ":" in text else "ipv4"
    return {"family": family, "address": text, "prefixlen": int(prefix), "netmask": "-", "broadcast": None,
            "peer": None, "scope": scope, "label": None, "flags": ["permanent"], "preferred_lft": None,
            "valid_lft": None, "dns_eligible": scope == "global"}


def effective4(key, iface_value, all_value, forwarding):
    """The kernel's combination, written out from ip-sysctl.rst (independent of model.py)."""
    if key in ("log_martians", "send_redirects", "secure_redirects"):
        return int(bool(iface_value) or bool(all_value))
    if key == "accept_source_route":
        return int(bool(iface_value) and bool(all_value))
    if key == "rp_filter":
        return max(iface_value, all_value)
    if key == "accept_redirects":
        if forwarding:
            return int(bool(iface_value) and bool(all_value))
        return int(bool(iface_value) or bool(all_value))
    return iface_value


def set_sysctls(doc, name, ipv4=None, ipv6=None):
    """Set raw per-interface values of ``name`` and recompute its effective values."""
    iface = doc["interfaces"][name]
    block = iface.setdefault("sysctl", {"ipv4": {}, "ipv6": {}, "effective": {"ipv4": {}, "ipv6": {}}})
    block["ipv4"].update(ipv4 or {})
    block["ipv6"].update(ipv6 or {})
    recompute(doc)


def set_all(doc, family, key, value):
    doc["sysctl"]["net.%s.conf.all.%s" % (family, key)] = value
    recompute(doc)


def recompute(doc):
    for iface in doc["interfaces"].values():
        block = iface.get("sysctl")
        if not block:
            continue
        forwarding = block["ipv4"].get("forwarding")
        block["effective"]["ipv4"] = dict(
            (key, effective4(key, value, doc["sysctl"]["net.ipv4.conf.all.%s" % key], forwarding))
            for key, value in block["ipv4"].items())
        block["effective"]["ipv6"] = dict(block["ipv6"])


def compliant_host(interfaces=None):
    """A facts document that meets every cis_network rule (lo + eth0 by default)."""
    if interfaces is None:
        interfaces = [
            interface("lo", kind="loopback", mtu=65536, mac="00:00:00:00:00:00",
                      flags=["loopback", "up", "lower_up", "running"],
                      addresses=[address("127.0.0.1/8", "host")]),
            interface("eth0", addresses=[address("198.18.0.10/24")]),
        ]
    doc = {
        "schema_version": 1,
        "gather_subset": ["addresses", "links", "sysctl"],
        "interfaces": dict((i["name"], i) for i in interfaces),
        "summary": {"interfaces": len(interfaces), "up": 0, "running": 0, "addresses": 0,
                    "ipv4_addresses": 0, "ipv6_addresses": 0, "kinds": {}},
        "sysctl": dict(CIS_HOST),
    }
    for family, values in (("ipv4", CIS_IPV4), ("ipv6", CIS_IPV6)):
        for key, value in values.items():
            doc["sysctl"]["net.%s.conf.all.%s" % (family, key)] = value
            doc["sysctl"]["net.%s.conf.default.%s" % (family, key)] = value
    for iface in doc["interfaces"].values():
        iface["sysctl"] = {"ipv4": dict(CIS_IPV4), "ipv6": dict(CIS_IPV6), "effective": {}}
    recompute(doc)
    return doc


def copy_doc(doc):
    return copy.deepcopy(doc)


def by_rule(findings, rule, status=None):
    return [f for f in findings if f["rule"] == rule and (status is None or f["status"] == status)]


def not_passed(findings):
    return sorted((f["rule"], f["interface"], f["status"]) for f in findings if f["status"] != "pass")
