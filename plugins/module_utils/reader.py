# -*- coding: utf-8 -*-
# Copyright: hostnet.netif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one read path: ``ip -json`` dumps + selected sysfs/procfs -> facts document.

Stdlib only; runs on targets with Python 3.8+. Costs one ``ip -json -d addr
show`` process (``-s`` added only for statistics), two route queries when
routes or connectivity are asked for, a few sysfs reads only for interfaces
that are not virtual, and procfs reads only for the sysctl keys asked for.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import json
import os
import re

from ansible_collections.hostnet.netif.plugins.module_utils.errors import (
    CommandError,
    ParseError,
)
from ansible_collections.hostnet.netif.plugins.module_utils import bootconf, model

SYSFS_NET = "/sys/class/net"
PROCFS_NET = "/proc/sys/net"

# kinds whose speed/duplex are real (virtual kinds report a nominal speed)
_SPEED_KINDS = frozenset(("ethernet", "wifi", "bond", "team", "infiniband"))


# ---------------------------------------------------------------------------
# running ip
# ---------------------------------------------------------------------------
class IpRunner:
    """Runs ``ip -json …`` as an argv list and returns parsed JSON.

    ``run`` is a callable ``run(argv) -> (rc, stdout, stderr)``, e.g.
    ``AnsibleModule.run_command``; tests pass a fake.
    """

    def __init__(self, ip_path, run):
        self.ip_path = ip_path
        self._run = run

    def json(self, args):
        argv = [self.ip_path, "-json"] + list(args)
        try:
            rc, out, err = self._run(argv)
        except OSError as exc:
            raise CommandError(argv, None, str(exc), "could not run ip")
        if rc != 0:
            raise CommandError(argv, rc, err, "ip failed")
        return parse_ip_json(out, " ".join(argv))


def parse_ip_json(text, source):
    """Parse ``ip -json`` output; empty output is an empty list."""
    if text is None:
        raise ParseError(source, "no output")
    stripped = text.strip()
    if not stripped:
        return []
    try:
        data = json.loads(stripped)
    except ValueError as exc:
        hint = ""
        if not stripped.startswith(("[", "{")):
            hint = " (is iproute2 older than 4.14 and ignoring -json?)"
        raise ParseError(source, "output is not JSON%s: %s; output starts %r"
                         % (hint, exc, stripped[:80]))
    if not isinstance(data, list):
        raise ParseError(source, "expected a JSON list of objects, found %s"
                         % type(data).__name__)
    for index, item in enumerate(data):
        if not isinstance(item, dict):
            raise ParseError(source, "item %d is %s, not an object" % (index, type(item).__name__))
    return data


# ---------------------------------------------------------------------------
# sysfs / procfs
# ---------------------------------------------------------------------------
class Vanished(Exception):
    """The interface disappeared between the dump and a later read."""


class HostFiles:
    """Reads sysfs and procfs below configurable roots (tests point them elsewhere)."""

    def __init__(self, sysfs=SYSFS_NET, procfs=PROCFS_NET):
        self.sysfs = sysfs
        self.procfs = procfs
        self.warnings = []

    def _iface_dir(self, name):
        return os.path.join(self.sysfs, name)

    def read(self, path):
        """Return stripped text, None if absent/unsupported; warn when unreadable."""
        try:
            with open(path, "rb") as handle:
                return handle.read().decode("utf-8", "replace").strip()
        except (IOError, OSError) as exc:
            if exc.errno in (errno.ENOENT, errno.EINVAL, errno.ENODEV, errno.EOPNOTSUPP,
                             errno.ENOTDIR):
                return None
            self.warnings.append("could not read %s: %s" % (path, exc.strerror or exc))
            return None

    def link_details(self, name, kind):
        """driver, speed_mbps, duplex, wireless for a non-virtual interface."""
        base = self._iface_dir(name)
        if not os.path.isdir(base):
            raise Vanished(name)
        driver = None
        try:
            driver = os.path.basename(os.readlink(os.path.join(base, "device", "driver")))
        except (IOError, OSError):
            driver = None
        wireless = (os.path.isdir(os.path.join(base, "wireless"))
                    or os.path.exists(os.path.join(base, "phy80211")))
        speed = duplex = None
        if kind in _SPEED_KINDS or wireless:
            raw = self.read(os.path.join(base, "speed"))
            value = _int_or_none(raw)
            speed = value if value is not None and value > 0 else None
            duplex = self.read(os.path.join(base, "duplex"))
            if duplex not in ("full", "half"):
                duplex = None
        return driver, speed, duplex, wireless

    def conf_values(self, family, name, keys):
        """Read conf/<name>/<key> for keys; None for a key the kernel lacks."""
        directory = os.path.join(self.procfs, family, "conf", name)
        values = {}
        for key in keys:
            raw = self.read(os.path.join(directory, key))
            values[key] = _sysctl_value(raw)
        if all(v is None for v in values.values()) and keys and name not in ("all", "default"):
            if not os.path.isdir(os.path.join(self.sysfs, name)):
                raise Vanished(name)
        return values

    def host_value(self, dotted):
        # HOST_KEYS are an allow-list of fixed names: no interface part, no tricks.
        parts = dotted.split(".")
        if parts[0] != "net":
            return None
        return _sysctl_value(self.read(os.path.join(self.procfs, *parts[1:])))


def _int_or_none(raw):
    try:
        return int(raw)
    except (TypeError, ValueError):
        return None


def _sysctl_value(raw):
    if raw is None:
        return None
    value = _int_or_none(raw)
    return raw if value is None else value


# ---------------------------------------------------------------------------
# building the document
# ---------------------------------------------------------------------------
_MAC = re.compile(r"^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2})*$")


def _mac(value):
    # tunnels (ipip, sit, gre, ip6tnl) print their IP endpoints as "address": not a MAC
    if not value or not _MAC.match(value):
        return None
    return value.lower()


def _lifetime(value):
    """Seconds (64-bit safe: Python int); None means forever."""
    if value is None:
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    if number == model.INFINITY_LIFETIME or number < 0:
        return None
    return number


def _ipv4_netmask(prefixlen):
    bits = (0xFFFFFFFF << (32 - prefixlen)) & 0xFFFFFFFF if prefixlen else 0
    return ".".join(str((bits >> shift) & 0xFF) for shift in (24, 16, 8, 0))


def _ipv6_netmask(prefixlen):
    bits = ((1 << 128) - 1) ^ ((1 << (128 - prefixlen)) - 1) if prefixlen else 0
    groups = ["%x" % ((bits >> (112 - 16 * i)) & 0xFFFF) for i in range(8)]
    # compress the longest run of zero groups, as RFC 5952 spells it
    best_start, best_len, start = -1, 0, None
    for i in range(9):
        if i < 8 and groups[i] == "0":
            if start is None:
                start = i
        elif start is not None:
            if i - start > best_len:
                best_start, best_len = start, i - start
            start = None
    if best_len >= 2:
        head = ":".join(groups[:best_start])
        tail = ":".join(groups[best_start + best_len:])
        return head + "::" + tail
    return ":".join(groups)


def _is_link_local(family, address):
    if family == "ipv4":
        return address.startswith("169.254.")
    # fe80::/10 is fe80..febf in the first group, which has all four digits
    first = address.lower().split(":", 1)[0]
    return len(first) == 4 and first[:3] in ("fe8", "fe9", "fea", "feb")


def _is_loopback(family, address):
    if family == "ipv4":
        return address.startswith("127.")
    return address == "::1"


def build_address(info):
    family = {"inet": "ipv4", "inet6": "ipv6"}.get(info.get("family"))
    if family is None:
        return None
    address = info.get("local")
    if address is None:
        return None
    prefixlen = int(info.get("prefixlen", 32 if family == "ipv4" else 128))
    flags = [flag for flag in model.ADDRESS_FLAGS if info.get(flag) is True]
    valid = _lifetime(info.get("valid_life_time"))
    preferred = _lifetime(info.get("preferred_life_time"))
    if "dynamic" not in flags and "permanent" not in flags:
        flags.append("permanent" if valid is None else "dynamic")
    if preferred == 0 and "deprecated" not in flags:
        flags.append("deprecated")
    temporary = "temporary" in flags
    deprecated = "deprecated" in flags
    dns_eligible = not (temporary or deprecated
                        or _is_loopback(family, address) or _is_link_local(family, address))
    peer = info.get("address") if info.get("address") != address else None
    return {
        "family": family,
        "address": address,
        "prefixlen": prefixlen,
        "netmask": _ipv4_netmask(prefixlen) if family == "ipv4" else _ipv6_netmask(prefixlen),
        "broadcast": info.get("broadcast") if family == "ipv4" else None,
        "peer": peer,
        "scope": str(info.get("scope", "global")),
        "label": info.get("label"),
        "flags": flags,
        "preferred_lft": preferred,
        "valid_lft": valid,
        "dns_eligible": dns_eligible,
    }


def _kind_data(kind, info):
    data = info.get("info_data") or {}
    if kind == "vlan":
        return {"id": data.get("id"), "protocol": data.get("protocol")}
    if kind in ("macvlan", "macvtap", "ipvlan"):
        return {"mode": data.get("mode")}
    if kind == "vxlan":
        return {
            "vni": data.get("id"),
            "local": data.get("local") or data.get("local6"),
            "remote": data.get("remote") or data.get("remote6"),
            "group": data.get("group") or data.get("group6"),
            "dstport": data.get("port"),
            "parent": data.get("link"),
        }
    if kind == "bond":
        return {"mode": data.get("mode")}
    if kind in ("tun", "tap"):
        return {"type": data.get("type"), "owner": data.get("user"), "multi_queue": data.get("multi_queue")}
    return None


def build_link(link):
    """Facts for one ``ip -json -d`` link object (no sysfs, no addresses)."""
    raw_flags = link.get("flags") or []
    flags = [model.FLAG_NAMES.get(flag, flag.lower().replace("-", "_")) for flag in raw_flags]
    operstate = str(link.get("operstate", "UNKNOWN")).lower()
    admin_up = "up" in flags
    running = admin_up and operstate in ("up", "unknown")
    if running and "running" not in flags:
        flags.append("running")
    kind, qt_type = model.classify(link)
    info = link.get("linkinfo") or {}
    kind_data = _kind_data(kind, info)
    parent = link.get("link")
    peer = None
    if kind == "veth":
        peer, parent = parent, None
        kind_data = {"peer": peer, "peer_index": link.get("link_index")}
    if kind == "vxlan" and kind_data:
        parent = kind_data.get("parent") or parent
    master = link.get("master")
    return {
        "name": link.get("ifname"),
        "index": link.get("ifindex"),
        "alias": link.get("ifalias"),
        "altnames": list(link.get("altnames") or []),
        "kind": kind,
        "type": qt_type,
        "flags": flags,
        "admin_state": "up" if admin_up else "down",
        "oper_state": operstate,
        "carrier": "lower_up" in flags,
        "mtu": link.get("mtu"),
        "min_mtu": link.get("min_mtu"),
        "max_mtu": link.get("max_mtu"),
        "txqueuelen": link.get("txqlen"),
        "qdisc": link.get("qdisc"),
        "group": link.get("group"),
        "mac": _mac(link.get("address")),
        "perm_mac": _mac(link.get("permaddr")),
        "broadcast_mac": _mac(link.get("broadcast")),
        "master": master,
        "parent": parent,
        "vlan": kind_data if kind == "vlan" else None,
        "kind_data": kind_data,
        "link_netns": link.get("link_netnsid"),
        "driver": info.get("info_kind"),
        "speed_mbps": None,
        "duplex": None,
        "promisc": "promisc" in flags,
    }


def _statistics(link):
    stats = link.get("stats64") or link.get("stats") or {}
    rx, tx = stats.get("rx") or {}, stats.get("tx") or {}
    return {
        "rx_bytes": rx.get("bytes"), "rx_packets": rx.get("packets"),
        "rx_errors": rx.get("errors"), "rx_dropped": rx.get("dropped"),
        "rx_multicast": rx.get("multicast"),
        "tx_bytes": tx.get("bytes"), "tx_packets": tx.get("packets"),
        "tx_errors": tx.get("errors"), "tx_dropped": tx.get("dropped"),
        "tx_collisions": tx.get("collisions"),
    }


def build_default_route(route, family):
    return {
        "family": family,
        "gateway": route.get("gateway") or (route.get("via") or {}).get("host"),
        "dev": route.get("dev"),
        "metric": route.get("metric", 0),
        "protocol": route.get("protocol"),
        "table": str(route.get("table", "main")),
        "type": route.get("type", "unicast"),
    }


def connectivity(interfaces, default_routes):
    """Reachability after QNetworkInformation: disconnected/local/site/online.

    Considers interfaces that are not loopback, administratively up and with
    carrier. online: a unicast default route leaves through such an
    interface that has a global address; site: such an interface has a
    global or site address; local: only link-local / carrier; else disconnected.
    """
    def level_for(family):
        active = {}
        for name, iface in interfaces.items():
            if iface["kind"] == "loopback" or iface["admin_state"] != "up" or not iface["carrier"]:
                continue
            active[name] = iface
        if not active:
            return "disconnected", None
        routed = set()
        for route in default_routes:
            if route["type"] == "unicast" and route["family"] == family:
                routed.add(route["dev"])
        best, medium = "local", None
        for name, iface in active.items():
            scopes = set(a["scope"] for a in iface.get("addresses") or [] if a["family"] == family)
            if "global" in scopes and name in routed:
                return "online", iface["type"]
            if scopes & {"global", "site"}:
                best = "site"
        return best, medium

    levels = ("disconnected", "local", "site", "online")
    v4, medium4 = level_for("ipv4")
    v6, medium6 = level_for("ipv6")
    # the host is as reachable as its better family; a v4 address with only a
    # v6 default route makes neither family online
    overall = max(v4, v6, key=levels.index)
    medium = medium4 if v4 == "online" else medium6
    return {
        "reachability": overall,
        "ipv4": v4,
        "ipv6": v6,
        "transport_medium": medium or "unknown",
    }


class GatherRequest:
    """What to gather; validated on construction (raises ValueError)."""

    def __init__(self, gather_subset=None, interfaces=None, exclude=None, kinds=None,
                 sysctl_keys=None):
        self.subsets = model.resolve_subsets(gather_subset)
        for field, patterns in (("interfaces", interfaces), ("exclude", exclude)):
            for index, pattern in enumerate(patterns or []):
                problem = model.glob_error(pattern)
                if problem:
                    raise ValueError("%s[%d]: glob %r %s" % (field, index, pattern, problem))
        self.include = model.compile_globs(interfaces)
        self.exclude = model.compile_globs(exclude)
        for index, kind in enumerate(kinds or []):
            if not isinstance(kind, str) or not kind:
                raise ValueError("kinds[%d]: expected a kind name, found %r" % (index, kind))
        self.kinds = set(kinds or [])
        keys = model.DEFAULT_SYSCTL_KEYS if sysctl_keys is None else sysctl_keys
        self.sysctl_iface, self.sysctl_host = model.parse_sysctl_keys(keys)

    def wants_name(self, name):
        if self.include is not None and not self.include.match(name):
            return False
        return self.exclude is None or not self.exclude.match(name)

    @property
    def needs_routes(self):
        return bool(self.subsets & {"routes", "connectivity"})

    @property
    def needs_addresses(self):
        return bool(self.subsets & {"addresses", "connectivity"})


def build_document(links, request, v4_routes=None, v6_routes=None, files=None):
    """Facts document from parsed dumps; ``files`` (HostFiles) None = offline.

    Returns (document, warnings).
    """
    warnings = []
    interfaces = {}
    for index, link in enumerate(links):
        name = link.get("ifname")
        problem = model.interface_name_error(name)
        if problem:
            raise ParseError("ip -json addr show", "item %d has no valid ifname (%s)" % (index, problem))
        if "flags" not in link or "ifindex" not in link:
            raise ParseError("ip -json addr show", "item %d (%s) lacks flags/ifindex: not ip link output"
                             % (index, name))
        if not request.wants_name(name):
            continue
        facts = build_link(link)
        info_kind = (link.get("linkinfo") or {}).get("info_kind")
        if files is not None and facts["kind"] != "loopback" \
                and (not info_kind or facts["kind"] in _SPEED_KINDS):
            try:
                driver, speed, duplex, wireless = files.link_details(name, facts["kind"])
            except Vanished:
                warnings.append("interface %s vanished while gathering; left out" % name)
                continue
            facts["driver"] = driver or facts["driver"]
            facts["speed_mbps"], facts["duplex"] = speed, duplex
            if wireless:
                facts["kind"], facts["type"] = "wifi", "wifi"
        if request.kinds and facts["kind"] not in request.kinds:
            continue
        if request.needs_addresses:
            addresses = []
            for info in link.get("addr_info") or []:
                entry = build_address(info)
                if entry is not None:
                    addresses.append(entry)
            facts["addresses"] = addresses
        if "stats" in request.subsets:
            facts["statistics"] = _statistics(link)
        interfaces[name] = facts

    document = {"schema_version": model.SCHEMA_VERSION}
    if "sysctl" in request.subsets and files is not None:
        _add_sysctls(document, interfaces, request, files, warnings)
    default_routes = []
    if request.needs_routes:
        default_routes = ([build_default_route(r, "ipv4") for r in v4_routes or []]
                          + [build_default_route(r, "ipv6") for r in v6_routes or []])
    if "routes" in request.subsets:
        document["default_routes"] = default_routes
    if "connectivity" in request.subsets:
        document["connectivity"] = connectivity(interfaces, default_routes)
    if "addresses" not in request.subsets:
        for facts in interfaces.values():
            facts.pop("addresses", None)
    document["interfaces"] = interfaces
    document["summary"] = summarize(interfaces)
    document["gather_subset"] = sorted(request.subsets)
    if files is not None:
        warnings.extend(files.warnings)
    return document, warnings


def _add_sysctls(document, interfaces, request, files, warnings):
    all_values = {}
    host = {}
    for family, keys in request.sysctl_iface.items():
        if not keys:
            continue
        needed = list(keys)
        if family == "ipv4" and "accept_redirects" in needed and "forwarding" not in needed:
            needed.append("forwarding")
        all_values[family] = files.conf_values(family, "all", needed)
        default_values = files.conf_values(family, "default", keys)
        for key in keys:
            host["net.%s.conf.all.%s" % (family, key)] = all_values[family][key]
            host["net.%s.conf.default.%s" % (family, key)] = default_values[key]
    for key in request.sysctl_host:
        host[key] = files.host_value(key)
    document["sysctl"] = host
    vanished = []
    for name, facts in interfaces.items():
        raw, effective = {}, {}
        try:
            for family, keys in request.sysctl_iface.items():
                if not keys:
                    continue
                needed = list(all_values[family])
                values = files.conf_values(family, name, needed)
                raw[family] = dict((k, values[k]) for k in keys)
                effective[family] = dict(
                    (k, model.effective_value(family, k, values[k], all_values[family][k],
                                              values.get("forwarding")))
                    for k in keys)
        except Vanished:
            vanished.append(name)
            continue
        raw["effective"] = effective
        facts["sysctl"] = raw
    for name in vanished:
        warnings.append("interface %s vanished while reading sysctls; left out" % name)
        interfaces.pop(name, None)


def summarize(interfaces):
    kinds = {}
    up = running = addresses = v4 = v6 = 0
    for facts in interfaces.values():
        kinds[facts["kind"]] = kinds.get(facts["kind"], 0) + 1
        up += facts["admin_state"] == "up"
        running += "running" in facts["flags"]
        for entry in facts.get("addresses") or []:
            addresses += 1
            if entry["family"] == "ipv4":
                v4 += 1
            else:
                v6 += 1
    return {
        "interfaces": len(interfaces),
        "up": up,
        "running": running,
        "addresses": addresses,
        "ipv4_addresses": v4,
        "ipv6_addresses": v6,
        "kinds": kinds,
    }


def gather(ip, request, files=None):
    """Read the live host through ``ip`` (IpRunner) and ``files`` (HostFiles)."""
    files = files or HostFiles()
    args = ["-d"]
    if "stats" in request.subsets:
        args.append("-s")
    links = ip.json(args + ["addr", "show"])
    v4 = v6 = None
    if request.needs_routes:
        v4 = ip.json(["-4", "route", "show", "default"])
        v6 = ip.json(["-6", "route", "show", "default"])
    document, warnings = build_document(links, request, v4, v6, files)
    if "boot" in request.subsets:
        known = [link.get("ifname") for link in links if link.get("ifname")]
        document["boot"], boot_warnings = bootconf.gather_boot(
            bootconf.ConfFiles(), known, os.path.dirname(files.procfs), bootconf.yaml_loader(),
            request.wants_name)
        warnings.extend(boot_warnings)
    return document, warnings


def parse_running_config(text, request):
    """Offline: build the document from captured ``ip -json -d addr show`` text."""
    if not isinstance(text, str):
        raise ParseError("running_config", "expected the text of `ip -json -d addr show`")
    links = parse_ip_json(text, "running_config")
    return build_document(links, request, [], [], None)
