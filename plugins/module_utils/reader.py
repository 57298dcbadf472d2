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
import ipaddress
import json
import os
import re
import socket
import struct

from ansible_collections.hostnet.netif.plugins.module_utils.errors import (
    CommandError,
    InputError,
    ParseError,
    type_name,
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
    """Parse ``ip -json`` output; empty output is an empty list.

    ``ip`` prints names and aliases byte for byte: control characters other
    than tab/newline/CR/backspace/formfeed raw (not JSON-escaped) and bytes that
    are not UTF-8 as they are. So the text is parsed with ``strict=False``
    (raw controls inside strings are accepted) and bytes are decoded with
    ``surrogateescape`` (lossless); build_document then represents such names
    and aliases safely (model.display_name / display_alias).
    """
    if text is None:
        raise ParseError(source, "no output")
    if isinstance(text, bytes):
        text = text.decode("utf-8", "surrogateescape")
    stripped = text.strip()
    if not stripped:
        return []
    try:
        data = json.loads(stripped, strict=False)
    except ValueError as exc:
        hint = ""
        if not stripped.startswith(("[", "{")):
            hint = " (is iproute2 older than 4.14 and ignoring -json?)"
        raise ParseError(source, "output is not JSON%s: %s; output starts %s"
                         % (hint, exc, ascii(stripped[:80])))
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


def _counter(value):
    """A kernel counter from ``ip -d`` (None when the dump lacks it, e.g. no ``-d``)."""
    if type(value) is not int or value < 0:  # pylint: disable=unidiomatic-typecheck
        return None
    return value


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
    promiscuity = _counter(link.get("promiscuity"))
    allmulti = _counter(link.get("allmulti"))
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
        # ip's flags carry what was requested (dev->gflags); the counters are the kernel's
        "promisc": promiscuity > 0 if promiscuity is not None else None,
        "promisc_requested": "promisc" in flags,
        "promiscuity": promiscuity,
        "allmulti": allmulti > 0 if allmulti is not None else None,
        "allmulti_requested": "allmulti" in flags,
        "allmulti_count": allmulti,
    }


# ---------------------------------------------------------------------------
# promiscuity the topology explains
# ---------------------------------------------------------------------------
# Which devices the kernel itself makes promiscuous (each raises the lower
# device's counter by one; proven in tests/integration/test_promiscuity.py where
# this kernel has the kind, from kernel source otherwise):
#   bridge port                       br_add_if -> br_manage_promisc (+1 per port)
#   Open vSwitch port                 ovs netdev_link: dev_set_promiscuity(dev, 1)
#   slave of a promiscuous bond       bond_set_promiscuity: every slave, or only the
#                                     active one in active-backup / balance-tlb / -alb
#   port of a promiscuous team        team_change_rx_flags: every port
#   lower of an up macvlan passthru   macvlan_open (unless nopromisc)
#   lower of an up promiscuous        macvlan / macsec / vlan change_rx_flags and open: the
#     macvlan (other modes) or        upper's kernel flag, so a sniffer on the upper counts
#     macsec, or of a promiscuous     (a down vlan since Linux 6.15; an upper bound before)
#     vlan (up or down)
#   lower of an up macvlan (other     dev_uc_add of the macvlan's MAC: +1 once (uc_promisc)
#     modes) or macsec, or of an up   on a lower without unicast filtering (veth, proven);
#     vlan with its own MAC           a NIC with IFF_UNICAST_FLT filters instead. Userspace
#                                     cannot see IFF_UNICAST_FLT: counted as explained (upper bound)
# A bridge with vlan_filtering may clear a port whose driver filters unicast
# (br_manage_promisc); the port is still counted (upper bound).
_PRIMARY_BOND_MODES = frozenset(("active-backup", "balance-tlb", "balance-alb"))
_MACVLAN_KINDS = frozenset(("macvlan", "macvtap"))
# uppers that always add their MAC to the lower's unicast list while up
_UNICAST_KINDS = frozenset(("macvlan", "macvtap", "macsec"))


def explain_promiscuity(links):
    """``{ifname: (count, [reason, ...])}``: the promiscuity the topology explains.

    ``links`` is the whole ``ip -json -d`` dump (before any name or kind filter,
    so an upper device that is not reported still explains its lower device).
    """
    by_name = dict((link.get("ifname"), link) for link in links)
    explained = dict((name, [0, []]) for name in by_name)

    show = model.display_name  # reasons name devices as the facts' keys do

    def add(name, reason):
        entry = explained.get(name)
        if entry is not None:
            entry[0] += 1
            entry[1].append(reason)

    def kernel_promisc(link):
        return (_counter(link.get("promiscuity")) or 0) > 0

    unicast = {}
    for name, link in by_name.items():
        info = link.get("linkinfo") or {}
        master = link.get("master")
        slave_kind = info.get("info_slave_kind")
        if master and slave_kind == "bridge":
            add(name, "port of bridge %s" % show(master))
        elif master and slave_kind == "openvswitch":
            add(name, "port of Open vSwitch %s" % show(master))
        elif master and slave_kind in ("bond", "team") and master in by_name \
                and kernel_promisc(by_name[master]):
            mode = ((by_name[master].get("linkinfo") or {}).get("info_data") or {}).get("mode")
            state = (info.get("info_slave_data") or {}).get("state")
            if slave_kind == "team" or mode not in _PRIMARY_BOND_MODES or state == "ACTIVE":
                add(name, "%s of promiscuous %s %s"
                    % ("port" if slave_kind == "team" else "slave", slave_kind, show(master)))
        kind = info.get("info_kind")
        lower = link.get("link")
        if kind not in _UNICAST_KINDS and kind != "vlan" or not lower \
                or "link_netnsid" in link or lower not in by_name:
            continue
        up = "UP" in (link.get("flags") or ())
        data = info.get("info_data") or {}
        if kind in _MACVLAN_KINDS and data.get("mode") == "passthru":
            if up and not data.get("nopromisc"):
                add(lower, "passthru %s %s" % (kind, show(name)))
            continue
        # a vlan passes its flag on while down too since Linux 6.15 ("vlan: don't
        # propagate flags on open", also in stable kernels): counted either way
        if kernel_promisc(link) and (up or kind == "vlan"):
            add(lower, "promiscuous %s %s" % (kind, show(name)))
        if up and (kind in _UNICAST_KINDS
                   or _mac(link.get("address")) != _mac(by_name[lower].get("address"))):
            unicast.setdefault(lower, name)
    for lower, name in sorted(unicast.items()):
        add(lower, "unicast address of %s (a device without unicast filtering turns "
                   "promiscuous for it)" % show(name))
    return dict((name, (entry[0], entry[1])) for name, entry in explained.items())


def _add_promiscuity(facts, explained):
    count, reasons = explained.get(facts["name"], (0, []))
    facts["promiscuity_explained"] = count
    facts["promisc_explained_by"] = list(reasons)
    _set_unexplained(facts, int(facts["promisc_requested"]))


def _set_unexplained(facts, known_users):
    """promiscuity - explained, but never below the users known to hold it.

    The explained count is an upper bound (unicast filtering is invisible), so
    a request (and, with subset packet_sockets, each promiscuous membership)
    counts even when the topology could have explained it.
    """
    promiscuity = facts["promiscuity"]
    facts["promiscuity_unexplained"] = None if promiscuity is None else min(
        promiscuity, max(known_users, promiscuity - facts["promiscuity_explained"]))


# ---------------------------------------------------------------------------
# packet sockets (subset packet_sockets)
# ---------------------------------------------------------------------------
_PACKET_TYPES = {2: "dgram", 3: "raw", 10: "packet"}  # SOCK_* as /proc/net/packet prints them
_PACKET_MR = {1: "promisc", 2: "allmulti"}  # PACKET_MR_PROMISC, PACKET_MR_ALLMULTI


def _packet_diag():
    """``{inode: [(ifindex, "promisc"|"allmulti"), ...]}`` from NETLINK_SOCK_DIAG, or None.

    One netlink dump of this namespace's AF_PACKET sockets with their
    memberships (PACKET_DIAG_MCLIST): the only place the kernel says which
    socket made which interface promiscuous. None when the kernel has no
    packet_diag (CONFIG_PACKET_DIAG) or the dump fails.
    """
    try:
        sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 4)  # NETLINK_SOCK_DIAG
    except (AttributeError, OSError):
        return None
    memberships = {}
    try:
        # packet_diag_req: family AF_PACKET, protocol, pad, ino, show MCLIST, cookie[2]
        request = struct.pack("=BBHII8x", 17, 0, 0, 0, 0x2)
        # nlmsghdr: len, SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST | NLM_F_DUMP, seq, pid
        sock.sendto(struct.pack("=IHHII", 16 + len(request), 20, 0x301, 1, 0) + request, (0, 0))
        done = False
        while not done:
            done = parse_packet_diag(sock.recv(65536), memberships)
        return memberships
    except (OSError, ValueError, struct.error):
        return None
    finally:
        sock.close()


def parse_packet_diag(data, memberships):
    """Add one netlink read of a packet_diag dump to ``memberships``; True at NLMSG_DONE.

    Raises ValueError for an error message or a truncated read.
    """
    if not data:
        raise ValueError("netlink closed before the end of the dump")
    offset = 0
    while offset + 16 <= len(data):
        length, kind = struct.unpack_from("=IH", data, offset)
        if kind == 3:  # NLMSG_DONE
            return True
        if kind == 2 or length < 16 or offset + length > len(data):  # NLMSG_ERROR
            raise ValueError("packet_diag dump failed")
        body = data[offset + 16:offset + length]
        # packet_diag_msg: family, type, num, ino, cookie[2]; then attributes
        inode = struct.unpack_from("=I", body, 4)[0]
        entries = memberships.setdefault(inode, [])
        attr = 16
        while attr + 4 <= len(body):
            alen, atype = struct.unpack_from("=HH", body, attr)
            if alen < 4:
                break
            if atype == 1:  # PACKET_DIAG_MCLIST: packet_diag_mclist[] of 44 bytes
                for item in range(attr + 4, attr + alen - 43, 44):
                    ifindex, dummy, mr_type = struct.unpack_from("=IIH", body, item)
                    if mr_type in _PACKET_MR:
                        entries.append((ifindex, _PACKET_MR[mr_type]))
            attr += (alen + 3) & ~3
        offset += (length + 3) & ~3
    return False


def read_packet_sockets(proc="/proc", diag=_packet_diag):
    """This namespace's AF_PACKET sockets and the processes holding them.

    Returns ``(sockets, memberships_known, warnings)``; each socket is
    ``{inode, type, protocol, ifindex (0 = every interface), user,
    memberships: [(ifindex, "promisc"|"allmulti")] or None, processes:
    [{pid, comm}]}``. Sockets come from ``/proc/net/packet``; holders from the
    ``socket:[inode]`` links under ``/proc/<pid>/fd`` (scanned only when there
    is a packet socket at all); memberships from ``diag`` (None: unknown).
    """
    warnings = []
    sockets = {}
    try:
        with open(os.path.join(proc, "net", "packet"), "rb") as handle:
            lines = handle.read().decode("ascii", "replace").splitlines()[1:]
    except (IOError, OSError) as exc:
        if exc.errno == errno.ENOENT:  # a kernel without AF_PACKET has no packet socket
            return [], True, []
        return [], False, ["could not read %s/net/packet: %s" % (proc, exc.strerror or exc)]
    for line in lines:
        # sk RefCnt Type Proto Iface R Rmem User Inode
        fields = line.split()
        if len(fields) < 9:
            continue
        try:
            inode = int(fields[8])
            sockets[inode] = {
                "inode": inode,
                "type": _PACKET_TYPES.get(int(fields[2]), fields[2]),
                "protocol": int(fields[3], 16),
                "ifindex": int(fields[4]),
                "user": int(fields[7]),
                "memberships": None,
                "processes": [],
            }
        except ValueError:
            warnings.append("%s/net/packet: unreadable line %r" % (proc, line[:80]))
    if not sockets:
        return [], True, warnings
    memberships = diag() if diag is not None else None
    if memberships is not None:
        for inode, entry in sockets.items():
            entry["memberships"] = list(memberships.get(inode, ()))
    wanted = dict(("socket:[%d]" % inode, entry) for inode, entry in sockets.items())
    denied = 0
    for pid in os.listdir(proc):
        if not pid.isdigit():
            continue
        fd_dir = os.path.join(proc, pid, "fd")
        try:
            fds = os.listdir(fd_dir)
        except (IOError, OSError) as exc:
            denied += exc.errno in (errno.EACCES, errno.EPERM)
            continue
        held = set()
        for fd in fds:
            try:
                target = os.readlink(os.path.join(fd_dir, fd))
            except (IOError, OSError):
                continue  # the fd closed meanwhile
            if target in wanted:
                held.add(target)
        if not held:
            continue
        try:
            with open(os.path.join(proc, pid, "comm"), "rb") as handle:
                comm = model.escape_text(handle.read().decode("utf-8", "surrogateescape").strip())
        except (IOError, OSError):
            comm = None
        for target in held:
            wanted[target]["processes"].append({"pid": int(pid), "comm": comm})
    if denied:
        warnings.append("packet_sockets: could not read the open files of %d processes "
                        "(not root?); their packet sockets have no process listed" % denied)
    result = [sockets[inode] for inode in sorted(sockets)]
    for entry in result:
        entry["processes"].sort(key=lambda p: p["pid"])
    return result, memberships is not None, warnings


def _attach_packet_sockets(document, interfaces, packet_sockets):
    """Per interface: the sockets bound to it or holding a membership on it."""
    sockets, known, dummy = packet_sockets
    by_index = dict((facts["index"], facts) for facts in interfaces.values())
    for facts in interfaces.values():
        facts["packet_sockets"] = []
    unbound = []
    for entry in sockets:
        on = {}
        for ifindex, what in entry["memberships"] or ():
            on.setdefault(ifindex, set()).add(what)
        if entry["ifindex"]:
            on.setdefault(entry["ifindex"], set())
        elif not on:
            unbound.append(_packet_socket_view(entry, None, set()))
        for ifindex in sorted(on):
            facts = by_index.get(ifindex)
            if facts is not None:
                facts["packet_sockets"].append(_packet_socket_view(entry, ifindex, on[ifindex]))
    for facts in interfaces.values():
        holders = sum(1 for entry in facts["packet_sockets"] if entry["promisc"])
        _set_unexplained(facts, int(facts["promisc_requested"]) + holders)
    document["packet_sockets"] = {"memberships_known": known, "unbound": unbound,
                                  "total": len(sockets)}


def _packet_socket_view(entry, ifindex, memberships):
    known = entry["memberships"] is not None
    return {
        "inode": entry["inode"],
        "type": entry["type"],
        "protocol": entry["protocol"],
        "bound": ifindex is not None and entry["ifindex"] == ifindex,
        "promisc": ("promisc" in memberships) if known and memberships is not None else None,
        "allmulti": ("allmulti" in memberships) if known and memberships is not None else None,
        "user": entry["user"],
        "processes": [dict(p) for p in entry["processes"]],
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
        self.literal_names = [p for p in interfaces or [] if model.is_literal_glob(p)]
        self.include = model.compile_globs(interfaces)
        self.exclude = model.compile_globs(exclude)
        for index, kind in enumerate(kinds or []):
            if not isinstance(kind, str) or not kind:
                raise ValueError("kinds[%d]: expected a kind name, found %r" % (index, kind))
        self.kinds = set(kinds or [])
        keys = model.DEFAULT_SYSCTL_KEYS if sysctl_keys is None else sysctl_keys
        self.sysctl_iface, self.sysctl_host = model.parse_sysctl_keys(keys)

    def wants_name(self, name):
        """``name`` as the facts spell it (model.display_name) passes the globs."""
        if self.include is not None and not self.include.match(name):
            return False
        return self.exclude is None or not self.exclude.match(name)

    @property
    def needs_routes(self):
        return bool(self.subsets & {"routes", "connectivity"})

    @property
    def needs_addresses(self):
        return bool(self.subsets & {"addresses", "connectivity"})


def build_document(links, request, v4_routes=None, v6_routes=None, files=None,
                   packet_sockets=None):
    """Facts document from parsed dumps; ``files`` (HostFiles) None = offline.

    ``packet_sockets`` is what read_packet_sockets returned (subset
    ``packet_sockets``; None offline). Returns (document, warnings).
    """
    warnings = []
    interfaces = {}  # keyed by the kernel's name until _represent_names
    seen = set()
    explained = explain_promiscuity(links)
    for index, link in enumerate(links):
        name = link.get("ifname")
        problem = model.kernel_name_error(name)
        if problem:
            raise ParseError("ip -json addr show", "item %d has no valid ifname (%s)" % (index, problem))
        shown = model.display_name(name)
        if "flags" not in link or "ifindex" not in link:
            raise ParseError("ip -json addr show", "item %d (%s) lacks flags/ifindex: not ip link output"
                             % (index, shown))
        seen.add(shown)
        if not request.wants_name(shown):
            continue
        facts = build_link(link)
        _add_promiscuity(facts, explained)
        info_kind = (link.get("linkinfo") or {}).get("info_kind")
        if files is not None and facts["kind"] != "loopback" \
                and (not info_kind or facts["kind"] in _SPEED_KINDS):
            try:
                driver, speed, duplex, wireless = files.link_details(name, facts["kind"])
            except Vanished:
                warnings.append("interface %s vanished while gathering; left out" % shown)
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
    if "packet_sockets" in request.subsets and packet_sockets is not None:
        _attach_packet_sockets(document, interfaces, packet_sockets)
        warnings.extend(packet_sockets[2])
    for route in default_routes:
        route["dev"] = model.display_name(route["dev"])
    interfaces = _represent_names(interfaces)
    document["interfaces"] = interfaces
    document["summary"] = summarize(interfaces)
    document["gather_subset"] = sorted(request.subsets)
    if files is not None:
        warnings.extend(files.warnings)
    for pattern in request.literal_names:
        if pattern not in seen:
            warnings.append("interfaces: %s names no interface on this host (no glob characters, so "
                            "it matches only that exact name)" % json.dumps(pattern, ensure_ascii=False))
    return document, [model.display_alias(text) for text in warnings]


def _represent_names(interfaces):
    """Facts keyed and cross-referenced by model.display_name; exact bytes in ``*_hex``.

    A name that is not plain (a control or other non-printable character, a
    backslash, bytes that are not UTF-8) is escaped and gets ``name_hex``; an
    alias holding model.ALIAS_UNSAFE characters is escaped and gets
    ``alias_hex``. Every other name and alias is kept exactly.
    """
    result = {}
    show = model.display_name
    unsafe_alias = model.ALIAS_UNSAFE.search
    for name, facts in interfaces.items():
        key = show(name)
        if key != name:
            facts["name"] = key
            facts["name_hex"] = model.text_hex(name)
        alias = facts["alias"]
        if alias is not None and unsafe_alias(alias):
            facts["alias"] = model.escape_text(alias)
            facts["alias_hex"] = model.text_hex(alias)
        if facts["master"] is not None:
            facts["master"] = show(facts["master"])
        if facts["parent"] is not None:
            facts["parent"] = show(facts["parent"])
        if facts["altnames"]:
            facts["altnames"] = [show(altname) for altname in facts["altnames"]]
        data = facts["kind_data"]
        if data:
            for field in ("peer", "parent"):
                if isinstance(data.get(field), str):
                    data[field] = show(data[field])
        for entry in facts.get("addresses") or ():
            if entry["label"] is not None:
                entry["label"] = show(entry["label"])
        result[key] = facts
    return result


def _add_sysctls(document, interfaces, request, files, warnings):
    all_values = {}
    own_keys = {}
    host = {}
    for family, keys in request.sysctl_iface.items():
        if not keys:
            continue
        # an effective value may need other keys of the interface (its own
        # forwarding, force_forwarding), read even when they were not asked for
        needed = list(keys)
        for key in keys:
            for extra in model.effective_inputs(family, key):
                if extra not in needed:
                    needed.append(extra)
        own_keys[family] = needed
        all_values[family] = files.conf_values(family, "all", keys)
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
            for family, needed in own_keys.items():
                keys = request.sysctl_iface[family]
                values = files.conf_values(family, name, needed)
                raw[family] = dict((k, values[k]) for k in keys)
                effective[family] = dict(
                    (k, model.effective_value(family, k, values[k], all_values[family][k],
                                              values.get("forwarding"),
                                              values.get("force_forwarding")))
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
    packet_sockets = None
    if "packet_sockets" in request.subsets:
        packet_sockets = read_packet_sockets()
    document, warnings = build_document(links, request, v4, v6, files, packet_sockets)
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
    try:
        links = parse_ip_json(text, "running_config")
    except ParseError as exc:
        failure = exc
    else:
        check_capture(links, "running_config")
        return build_document(links, request, [], [], None)
    # valid JSON of the wrong shape (an object, a link that is a number): name the field
    try:
        data = json.loads(text, strict=False)  # as leniently as parse_ip_json reads ip's output
    except ValueError:
        data = None
    if data is not None:
        check_capture(data, "running_config")
    raise failure


# ---------------------------------------------------------------------------
# the shape of a capture (running_config is the user's input, not ip's output)
# ---------------------------------------------------------------------------
# What the builders rely on in one link of `ip -json -d addr show`. A leaf is a
# tuple of JSON type names, a list holds the shape of its items, a dict is an
# object with those fields (other fields are ip's business and pass). A null
# list or object is empty to the builders; a null leaf is absent, except where a
# builder has a default for an absent field only (prefixlen, scope, operstate).
_TEXT, _NUMBER, _BOOLEAN = ("string", "null"), ("integer", "null"), ("boolean", "null")
_ADDRESS_SHAPE = dict.fromkeys(model.ADDRESS_FLAGS, _BOOLEAN)
_ADDRESS_SHAPE.update(
    family=_TEXT, local=_TEXT, address=_TEXT, broadcast=_TEXT, label=_TEXT,
    scope=("string", "integer"), prefixlen=("integer",),
    valid_life_time=_NUMBER, preferred_life_time=_NUMBER)
_COUNTERS = {
    "rx": dict.fromkeys(("bytes", "packets", "errors", "dropped", "multicast"), _NUMBER),
    "tx": dict.fromkeys(("bytes", "packets", "errors", "dropped", "collisions"), _NUMBER),
}
# info_data fields that _kind_data reads, by info_kind
_KIND_DATA_SHAPES = {
    "vlan": {"id": _NUMBER, "protocol": _TEXT},
    "vxlan": dict(dict.fromkeys(("local", "local6", "remote", "remote6", "group", "group6", "link"),
                                _TEXT), id=_NUMBER, port=_NUMBER),
    "bond": {"mode": _TEXT},
    # ip prints the owner's name when it resolves, else the uid
    "tun": {"type": _TEXT, "user": ("string", "integer", "null"), "multi_queue": _BOOLEAN},
    "macvlan": {"mode": _TEXT},
    "macvtap": {"mode": _TEXT},
    "ipvlan": {"mode": _TEXT},
}
_LINK_SHAPE = dict.fromkeys(("qdisc", "group", "link_type", "address", "permaddr", "broadcast",
                             "master", "link", "ifalias"), _TEXT)
_LINK_SHAPE.update(dict.fromkeys(("mtu", "min_mtu", "max_mtu", "txqlen", "link_index",
                                  "link_netnsid"), _NUMBER))
_LINK_SHAPE.update(
    ifname=("string",), ifindex=("integer",), operstate=("string",), flags=[("string",)],
    altnames=[("string",)], addr_info=[_ADDRESS_SHAPE],
    linkinfo={"info_kind": _TEXT, "info_data": {}, "info_slave_kind": _TEXT,
              "info_slave_data": {}},
    stats64=_COUNTERS, stats=_COUNTERS)
_REQUIRED_LINK_FIELDS = ("ifname", "ifindex", "flags")
_FAMILY_VERSIONS = {"inet": 4, "inet6": 6}
_TYPE_WORDS = {"string": "a string", "integer": "an integer", "boolean": "true or false",
               "null": "null"}


def _found(value):
    kind = type_name(value)
    if kind in ("array", "object"):
        return "a list" if kind == "array" else "a JSON object"
    text = json.dumps(value) if kind in _TYPE_WORDS or kind == "number" else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _check_shape(value, shape, path, item=False):
    """Raise InputError at the first field of ``value`` that does not fit ``shape``
    (a list's ``item`` is never null: the builders iterate over them)."""
    if isinstance(shape, tuple):
        if type_name(value) not in shape:
            raise InputError(path, "expected %s, found %s"
                             % (" or ".join(_TYPE_WORDS[t] for t in shape), _found(value)))
        if type_name(value) == "integer" and value < 0:  # ip prints no negative number
            raise InputError(path, "expected a number of 0 or more, found %d" % value)
    elif value is None and not item:
        return
    elif isinstance(shape, list):
        if not isinstance(value, list):
            raise InputError(path, "expected a list, found %s" % _found(value))
        for index, entry in enumerate(value):
            _check_shape(entry, shape[0], "%s[%d]" % (path, index), item=True)
    else:
        if not isinstance(value, dict):
            raise InputError(path, "expected a JSON object, found %s" % _found(value))
        for field, inner in shape.items():
            if field in value:
                _check_shape(value[field], inner, "%s.%s" % (path, field))


def check_capture(links, path):
    """Raise InputError naming the field (``running_config[2].addr_info``) when a
    captured ``ip -json -d addr show`` dump is valid JSON of another shape."""
    if not isinstance(links, list):
        raise InputError(path, "expected the list that `ip -json -d addr show` prints, found %s"
                         % _found(links))
    for index, link in enumerate(links):
        where = "%s[%d]" % (path, index)
        if not isinstance(link, dict):
            raise InputError(where, "expected a JSON object (one link of `ip -json -d addr "
                                    "show`), found %s" % _found(link))
        for field in _REQUIRED_LINK_FIELDS:
            if link.get(field) is None:
                raise InputError("%s.%s" % (where, field), "missing: every link `ip -json` "
                                 "prints has %s" % ", ".join(_REQUIRED_LINK_FIELDS))
        _check_shape(link, _LINK_SHAPE, where)
        info = link.get("linkinfo") or {}
        kind_shape = _KIND_DATA_SHAPES.get(info.get("info_kind"))
        if kind_shape and info.get("info_data") is not None:
            _check_shape(info["info_data"], kind_shape, where + ".linkinfo.info_data")
        for number, entry in enumerate(link.get("addr_info") or []):
            _check_address(entry, "%s.addr_info[%d]" % (where, number))


def _check_address(entry, path):
    family = entry.get("family")
    version = _FAMILY_VERSIONS.get(family)
    if version is None:
        return  # not an address family the facts carry: the builder leaves it out
    limit = 32 if version == 4 else 128
    if "prefixlen" in entry and not 0 <= entry["prefixlen"] <= limit:
        raise InputError(path + ".prefixlen", "expected 0 to %d for %s, found %d"
                         % (limit, family, entry["prefixlen"]))
    for field in ("local", "address", "broadcast"):
        text = entry.get(field)
        if text is None:
            continue
        try:
            ip = ipaddress.ip_address(text)
        except ValueError:
            ip = None
        if ip is None or ip.version != version:
            raise InputError("%s.%s" % (path, field), "expected an IPv%d address (family %s), "
                             "found %s" % (version, family, _found(text)))
