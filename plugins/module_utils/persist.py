# -*- coding: utf-8 -*-
# Copyright: hostnet.netif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Persistence: the files the host boots from (stdlib only).

Three entry points, all pure (nothing is written here; the Transaction writes):

* :func:`choose_backend` -- ``auto``/``networkd``/``netplan`` to the backend this host has.
* :func:`plan_files` -- facts after the task -> ``{path: (text, mode) or None}`` for the
  files the collection owns (networkd ``50-hostnet-<name>.netdev/.network/.link``, or the
  one netplan ``60-hostnet-netif.yaml``), plus warnings for fields a backend cannot say.
* :func:`foreign_files` -- configuration files the collection did not write that already
  configure an interface (read with bootconf's parsers).

The field-by-backend mapping is docs/reference/persistence.md.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import json
import os
import re

from ansible_collections.hostnet.netif.plugins.module_utils import bootconf, planner
from ansible_collections.hostnet.netif.plugins.module_utils.errors import InputError, NetifError

BACKENDS = ("networkd", "netplan")
BACKEND_CHOICES = ("auto",) + BACKENDS

NETWORKD_DIR = "/etc/systemd/network"
NETWORKD_PREFIX = "50-hostnet-"
NETWORKD_SUFFIXES = (".netdev", ".network", ".link")
NETWORKD_MODE = 0o644
NETPLAN_DIR = "/etc/netplan"
NETPLAN_FILE = NETPLAN_DIR + "/60-hostnet-netif.yaml"
NETPLAN_MODE = 0o600  # netplan warns about (and newer versions refuse) readable files
NETWORKD_BINARIES = ("/lib/systemd/systemd-networkd", "/usr/lib/systemd/systemd-networkd")
NETPLAN_BINARIES = ("/usr/sbin/netplan", "/sbin/netplan", "/usr/bin/netplan")
HEADER = ("Managed by hostnet.netif: edits to this file are overwritten by the next task "
          "with persist: true.")

DEFAULT_TXQUEUELEN = 1000  # measured for veth, bridge, macvlan, vxlan (and most NICs)
NETDEV_KINDS = ("veth", "bridge", "macvlan", "vxlan", "vlan", "dummy", "bond")
# kinds a lower device carries: its .network names them (MACVLAN=, VLAN=, VXLAN=)
STACKED = {"macvlan": "MACVLAN", "vlan": "VLAN", "vxlan": "VXLAN"}
MASTER_KEYS = {"bridge": "Bridge", "bond": "Bond", "vrf": "VRF"}
# devices that exist without anyone creating them: no netdev, no warning
FOUND_KINDS = (None, "ethernet", "wifi", "loopback")
NETPLAN_SECTIONS = {"bridge": "bridges", "bond": "bonds", "vlan": "vlans", "vxlan": "tunnels"}
NETPLAN_CREATES = ("bridge", "bond", "vlan", "vxlan")

# [Address] keys for the flags an address can be given (the rest are states)
_NETWORKD_FLAGS = (("noprefixroute", "AddPrefixRoute", "no"), ("nodad", "DuplicateAddressDetection", "none"),
                   ("home", "HomeAddress", "yes"), ("mngtmpaddr", "ManageTemporaryAddress", "yes"),
                   ("autojoin", "AutoJoin", "yes"))
# characters that mean something in a networkd Name= list or in a glob: such a name
# cannot be written so that it matches exactly itself
_NAME_UNSAFE = re.compile(r"[*?\[\]\"'%\\]")


class PersistError(NetifError):
    """A file the collection owns cannot be read back (so it cannot be merged safely)."""


def _host(root, path):
    return os.path.join(root, path.lstrip("/"))


def _exists(root, paths):
    return any(os.path.exists(_host(root, path)) for path in paths)


# ---------------------------------------------------------------------------
# backend
# ---------------------------------------------------------------------------
def _netplan_yaml_present(root):
    try:
        names = os.listdir(_host(root, NETPLAN_DIR))
    except OSError:
        return False
    return any(name.endswith(".yaml") and not name.startswith(".") for name in names)


def choose_backend(requested, root="/"):
    """``auto``, ``networkd`` or ``netplan`` -> the backend to write for; InputError when unusable.

    ``auto`` is netplan when /etc/netplan holds YAML files (and netplan is installed),
    otherwise networkd. Both backends need systemd-networkd: netplan files are
    written with ``renderer: networkd``.
    """
    if requested not in BACKEND_CHOICES:
        raise InputError("persist_backend", expected="one of %s" % ", ".join(BACKEND_CHOICES),
                         found=repr(requested))
    networkd = _exists(root, NETWORKD_BINARIES)
    netplan = networkd and _exists(root, NETPLAN_BINARIES)
    if requested == "auto":
        if netplan and _netplan_yaml_present(root):
            return "netplan"
        if networkd:
            return "networkd"
        raise InputError("persist_backend", "persist needs systemd-networkd (%s) or netplan with "
                         "it; neither is installed: install one, choose persist_backend "
                         "networkd or netplan on a host that has it, or set persist: false"
                         % " or ".join(NETWORKD_BINARIES))
    if requested == "networkd" and not networkd:
        raise InputError("persist_backend", "networkd is not installed (no %s); the choices are "
                         "auto, networkd, netplan" % " or ".join(NETWORKD_BINARIES))
    if requested == "netplan" and not netplan:
        raise InputError("persist_backend", "netplan is not installed with systemd-networkd "
                         "(needs %s and %s); the choices are auto, networkd, netplan"
                         % (" or ".join(NETPLAN_BINARIES), " or ".join(NETWORKD_BINARIES)))
    return requested


# ---------------------------------------------------------------------------
# shared checks and address helpers
# ---------------------------------------------------------------------------
def _check_name(name, record=None):
    """A name a configuration file can state exactly, else InputError."""
    why = None
    if not isinstance(name, str) or not name:
        why = "not a name"
    elif (record or {}).get("name_hex") or not name.isprintable():
        why = "its name is escaped in the facts (name_hex): files cannot state it exactly; " \
              "rename the interface"
    elif _NAME_UNSAFE.search(name) or name.startswith("!"):
        why = "its name holds a character that configuration files read as a glob, quote, " \
              "specifier or escape (* ? [ ] \" ' % \\ or a leading !); rename the interface"
    if why:
        raise InputError("persist", "cannot persist interface %r: %s" % (name, why))


def _warn(warnings, backend, name, field, why):
    warnings.append("persist (%s): %s.%s is not persisted: %s" % (backend, name, field, why))


def _eui64_link_local(mac):
    """The fe80::/64 address the kernel (and networkd) derive from a 6-byte MAC."""
    if not mac or len(mac.split(":")) != 6:
        return None
    octets = [int(part, 16) for part in mac.split(":")]
    octets[0] ^= 0x02
    eui = octets[:3] + [0xff, 0xfe] + octets[3:]
    groups = ["%x" % (eui[i] << 8 | eui[i + 1]) for i in range(0, 8, 2)]
    return str(ipaddress.ip_address("fe80::" + ":".join(groups)))


def _split_link_local(record):
    """(generated, static addresses): generated is True when the kernel's own link-local is there."""
    generated = False
    static = []
    own = _eui64_link_local(record.get("mac"))
    for entry in record.get("addresses") or []:
        flags = entry.get("flags") or []
        if "temporary" in flags:
            continue  # privacy addresses are made by the kernel from a prefix, not configured
        if entry.get("family") == "ipv6" and own and entry.get("address") == own \
                and entry.get("prefixlen") == 64:
            generated = True
            continue
        static.append(entry)
    return generated, static


def _default_broadcast(entry):
    network = ipaddress.ip_network("%s/%s" % (entry["address"], entry["prefixlen"]), strict=False)
    if entry["prefixlen"] >= 31:
        return None
    return str(network.broadcast_address)


def _lifetimes(backend, name, entry, warnings, field):
    """Warnings for lifetimes the backend cannot state; True when preferred_lft is 0."""
    cidr = "%s/%s" % (entry["address"], entry["prefixlen"])
    if entry.get("valid_lft") is not None:
        _warn(warnings, backend, name, "%s[%s].valid_lft" % (field, cidr),
              "%s writes addresses without a valid lifetime (forever)" % backend)
    preferred = entry.get("preferred_lft")
    if preferred not in (None, 0):
        _warn(warnings, backend, name, "%s[%s].preferred_lft" % (field, cidr),
              "%s can say only forever or 0 (deprecated)" % backend)
    return preferred == 0


def _sysctl_warning(backend, name, record, warnings):
    sysctl = record.get("sysctl") or {}
    if any(sysctl.get(family) for family in ("ipv4", "ipv6")):
        _warn(warnings, backend, name, "sysctl", "per-interface sysctls are persisted by "
              "hostnet.netif.sysctls with persist: true (sysctl.d), not by %s files" % backend)


# ---------------------------------------------------------------------------
# plan
# ---------------------------------------------------------------------------
def plan_files(backend, after, touched, root="/"):
    """Files to write so the next boot gives ``after`` for the ``touched`` interfaces.

    ``after``: the facts ``interfaces`` map as it will be after the task (records as
    reader.build_link/build_address make them). ``touched``: the names the task manages;
    a touched name absent from ``after`` was deleted (its files are removed).

    Returns ``(writes, warnings)``: ``writes`` is ``{absolute path under root: (text, mode)}``
    for a file to write, ``{path: None}`` for an own file to remove; only files whose text
    or mode would change are listed, so a second run returns ``{}``. ``warnings`` name every
    field the backend cannot state (``persist (netplan): va.alias is not persisted: ...``).
    The touched interfaces' own files of the other backend are removed (a host that
    changes backend keeps one source of truth per interface).
    """
    if backend not in BACKENDS:
        raise InputError("persist_backend", expected="one of %s" % ", ".join(BACKENDS),
                         found=repr(backend))
    names = sorted(set(touched))
    for name in names:
        record = after.get(name)
        _check_name(name, record)
        if record is not None and "addresses" not in record:
            # facts without the addresses subset: the files would drop every address
            raise PersistError("the facts of %s lack its addresses (gather_subset addresses): "
                               "its files cannot be written" % name)
        if record is not None:
            for field in ("master", "parent"):
                if record.get(field):
                    _check_name(record[field], after.get(record[field]))
            peer = (record.get("kind_data") or {}).get("peer") if record.get("kind") == "veth" else None
            if peer:
                _check_name(peer, after.get(peer))
    if backend == "networkd":
        wanted, warnings = _plan_networkd(after, names, root)
        # persisted before with netplan: netplan's output would win over these files
        if os.path.lexists(_host(root, NETPLAN_FILE)):
            wanted.update(_plan_netplan({}, names, root)[0])
    else:
        wanted, warnings = _plan_netplan(after, names, root)
        for (name, _suffix), path in sorted(_own_networkd(root).items()):
            if name in names:
                wanted[path] = None  # persisted before with networkd
    return _changed(wanted), warnings


def _changed(wanted):
    """Only what differs from the files on disk (text or mode); removals only of existing files."""
    writes = {}
    for path in sorted(wanted):
        new = wanted[path]
        try:
            with open(path, "rb") as handle:
                old = handle.read()
            mode = os.stat(path).st_mode & 0o7777
        except OSError:
            old = mode = None
        if new is None:
            if old is not None or os.path.lexists(path):
                writes[path] = None
            continue
        if old != new[0].encode("utf-8") or mode != new[1]:
            writes[path] = new
    return writes


def _unit(sections):
    """A systemd unit file text: [(section, [(key, value)])], empty sections left out."""
    parts = ["# %s\n" % HEADER]
    for section, items in sections:
        if not items:
            continue
        parts.append("\n[%s]\n" % section)
        parts.extend("%s=%s\n" % (key, value) for key, value in items)
    return "".join(parts)


# --- networkd --------------------------------------------------------------
def _own_networkd(root):
    """{(name, suffix): host path} of the files this collection wrote."""
    directory = _host(root, NETWORKD_DIR)
    try:
        entries = sorted(os.listdir(directory))
    except OSError:
        return {}
    own = {}
    for entry in entries:
        if not entry.startswith(NETWORKD_PREFIX):
            continue
        for suffix in NETWORKD_SUFFIXES:
            if entry.endswith(suffix) and len(entry) > len(NETWORKD_PREFIX) + len(suffix):
                own[(entry[len(NETWORKD_PREFIX):-len(suffix)], suffix)] = os.path.join(directory, entry)
    return own


def _networkd_path(root, name, suffix):
    return _host(root, "%s/%s%s%s" % (NETWORKD_DIR, NETWORKD_PREFIX, name, suffix))


def _own_relations(own):
    """({name: names its own .network/.netdev refers to}, {name: veth peer its .netdev creates})."""
    keys = set(MASTER_KEYS.values()) | set(STACKED.values())
    files = bootconf.ConfFiles("/")
    relations, peers = {}, {}
    for (name, suffix), path in own.items():
        if suffix == ".link":
            continue
        text = files.text(path, path)
        if text is None:
            continue
        refs = relations.setdefault(name, set())
        for section, key, value, _block in bootconf.parse_unit_text(text, path, files):
            if section == "Network" and key in keys:
                refs.update(value.split())
            elif section == "Peer" and key == "Name" and suffix == ".netdev":
                refs.add(value)
                peers[name] = value
    return relations, peers


def _plan_networkd(after, names, root):
    warnings = []
    own = _own_networkd(root)
    relations, peers = _own_relations(own)
    deleted = set(name for name in names if name not in after)
    # a veth whose own netdev creates a deleted peer goes with it (the kernel deleted both)
    for other, peer in sorted(peers.items()):
        if peer in deleted and other not in after and other not in deleted:
            deleted.add(other)
            warnings.append("persist (networkd): %s's files are removed too: its netdev "
                            "creates the deleted %s" % (other, peer))
    ours = (set(name for name, _suffix in own) | set(names)) - deleted
    render = set(name for name in names if name in after)
    # interfaces whose own .network names a changed one (or that carry a changed child)
    for other, refs in relations.items():
        if other in after and other in ours and refs & set(names):
            render.add(other)
    for name in list(render):
        record = after[name]
        parent = record.get("parent")
        if record.get("kind") in STACKED and parent in ours and parent in after:
            render.add(parent)
    wanted = {}
    for name in sorted(deleted):
        for suffix in NETWORKD_SUFFIXES:
            if (name, suffix) in own:
                wanted[own[(name, suffix)]] = None
    for name in sorted(render):
        texts = _networkd_texts(name, after, ours, own, render, warnings)
        for suffix in NETWORKD_SUFFIXES:
            path = _networkd_path(root, name, suffix)
            if texts.get(suffix) is not None:
                wanted[path] = (texts[suffix], NETWORKD_MODE)
            elif (name, suffix) in own:
                wanted[own[(name, suffix)]] = None
    return wanted, warnings


def _veth_owner(name, peer, own, ours, rendering):
    """Which end of a veth pair holds the pair's .netdev (one file creates both).

    The end that has one already (and is kept), else the smaller name of the ends
    written now: never none, never a move back and forth between runs.
    """
    holding = [end for end in (name, peer) if (end, ".netdev") in own and end in ours]
    return min(holding or [end for end in (name, peer) if end in rendering])


def _networkd_texts(name, after, ours, own, rendering, warnings):
    record = after[name]
    state = planner.link_state(record)
    kind = record.get("kind")
    data = record.get("kind_data") or {}
    texts = {}
    netdev = _networkd_netdev(name, record, state, kind, data, ours, own, rendering, warnings)
    if netdev is not None:
        texts[".netdev"] = netdev
    texts[".network"] = _networkd_network(name, record, state, after, ours, warnings)
    link = _networkd_link(name, record, state, warnings)
    if link is not None:
        texts[".link"] = link
    _sysctl_warning("networkd", name, record, warnings)
    return texts


def _networkd_netdev(name, record, state, kind, data, ours, own, rendering, warnings):
    if kind not in NETDEV_KINDS:
        if kind not in FOUND_KINDS:
            _warn(warnings, "networkd", name, "kind", "hostnet.netif writes no netdev for kind %s: "
                  "the interface is configured at boot only if something else creates it" % kind)
        return None
    head = [("Name", name), ("Kind", kind)]
    if state["mtu"]:
        head.append(("MTUBytes", state["mtu"]))
    if state["mac"]:
        head.append(("MACAddress", state["mac"]))
    sections = [("NetDev", head)]
    if kind == "veth":
        peer = data.get("peer")
        if not peer:
            _warn(warnings, "networkd", name, "kind_data.peer", "the peer is unknown (another "
                  "namespace?): networkd creates a veth only with its peer")
            return None
        if _veth_owner(name, peer, own, ours, rendering) != name:
            return None  # the peer's .netdev creates the pair
        if peer not in ours:
            _warn(warnings, "networkd", peer, "(all fields)", "created with %s, but not "
                  "persisted: networkd leaves a link without .network down and unconfigured; "
                  "persist %s too" % (name, peer))
        sections.append(("Peer", [("Name", peer)]))
    elif kind == "macvlan":
        sections.append(("MACVLAN", [("Mode", data.get("mode"))] if data.get("mode") else []))
    elif kind == "vlan":
        vlan = record.get("vlan") or data
        items = [("Id", vlan.get("id"))]
        if vlan.get("protocol") and str(vlan["protocol"]).lower() == "802.1ad":
            items.append(("Protocol", "802.1ad"))
        sections.append(("VLAN", items))
    elif kind == "bond":
        sections.append(("Bond", [("Mode", data.get("mode"))] if data.get("mode") else []))
    elif kind == "vxlan":
        items = [("VNI", data.get("vni"))]
        for key, field in (("Local", "local"), ("Remote", "remote"), ("Group", "group")):
            if data.get(field):
                items.append((key, data[field]))
        # the kernel's default port is 8472, networkd's 4789: always say it
        items.append(("DestinationPort", data.get("dstport") or 8472))
        if not record.get("parent") or record.get("parent") not in ours:
            items.append(("Independent", "yes"))
            if record.get("parent"):
                _warn(warnings, "networkd", name, "parent", "networkd binds a vxlan to a device "
                      "only through that device's .network, and %s is not persisted by "
                      "hostnet.netif: written as Independent=yes (persist %s too to keep it)"
                      % (record["parent"], record["parent"]))
        sections.append(("VXLAN", items))
    if kind in ("macvlan", "vlan") and record.get("parent") not in ours:
        _warn(warnings, "networkd", name, "parent", "networkd creates a %s only through its "
              "parent's .network, and %s is not persisted by hostnet.netif: persist it too"
              % (kind, record.get("parent")))
    return _unit(sections)


def _children(name, after, ours):
    found = []
    for child in sorted(ours):
        record = after.get(child)
        if record and record.get("kind") in STACKED and record.get("parent") == name:
            found.append((STACKED[record["kind"]], child))
    return found


def _networkd_network(name, record, state, after, ours, warnings):
    link = []
    if state["mtu"]:
        link.append(("MTUBytes", state["mtu"]))
    if state["mac"]:
        link.append(("MACAddress", state["mac"]))
    for field, key, default in (("promisc", "Promiscuous", False), ("allmulticast", "AllMulticast", False),
                                ("multicast", "Multicast", True), ("arp", "ARP", True)):
        if state[field] is not default:
            link.append((key, "yes" if state[field] else "no"))
    if state["group"] not in (0, None):
        if isinstance(state["group"], int):
            link.append(("Group", state["group"]))
        else:
            _warn(warnings, "networkd", name, "group", "networkd takes a group number, found %r"
                  % (state["group"],))
    link.append(("ActivationPolicy", "up" if state["enabled"] else "down"))
    generated, addresses = _split_link_local(record)
    network = [("LinkLocalAddressing", "ipv6" if generated else "no"),
               ("ConfigureWithoutCarrier", "yes")]
    if not generated:
        network.append(("IPv6AcceptRA", "no"))  # no link-local, no router advertisements
    master = state["master"]
    if master:
        master_kind = (after.get(master) or {}).get("kind") or "bridge"
        key = MASTER_KEYS.get(master_kind)
        if key is None:
            _warn(warnings, "networkd", name, "master", "networkd attaches to a bridge, bond or "
                  "vrf; %s is a %s" % (master, master_kind))
        else:
            network.append((key, master))
            if master not in ours:
                _warn(warnings, "networkd", name, "master", "networkd attaches only to a %s it "
                      "creates, and %s is not persisted by hostnet.netif: persist it too"
                      % (master_kind, master))
    network.extend(_children(name, after, ours))
    sections = [("Match", [("Name", name)]), ("Link", link), ("Network", network)]
    for entry in addresses:
        sections.append(("Address", _networkd_address(name, entry, warnings)))
    return _unit(sections)


def _networkd_address(name, entry, warnings):
    items = [("Address", "%s/%s" % (entry["address"], entry["prefixlen"]))]
    if entry.get("peer"):
        items.append(("Peer", entry["peer"]))
    if entry.get("family") == "ipv4":
        broadcast = entry.get("broadcast")
        default = None if entry.get("peer") else _default_broadcast(entry)
        if broadcast != default:
            items.append(("Broadcast", broadcast or "no"))
        if entry.get("label") and entry["label"] != name:
            items.append(("Label", entry["label"]))
        if entry.get("scope") not in (None, "global", "0"):
            # networkd knows global, link, host and numbers; ip names 200 and 255 too
            items.append(("Scope", {"site": 200, "nowhere": 255}.get(entry["scope"], entry["scope"])))
    if _lifetimes("networkd", name, entry, warnings, "addresses"):
        items.append(("PreferredLifetime", "0"))
    flags = entry.get("flags") or []
    for flag, key, value in _NETWORKD_FLAGS:
        if flag in flags:
            items.append((key, value))
    return items


def _networkd_link(name, record, state, warnings):
    """A .link (applied by udev at boot) for what a .network cannot carry: txqueuelen, alias."""
    items = []
    txqueuelen = state["txqueuelen"]
    if txqueuelen is not None and txqueuelen != DEFAULT_TXQUEUELEN:
        items.append(("TransmitQueueLength", txqueuelen))
    alias = record.get("alias") or ""
    if alias:
        if record.get("alias_hex") or alias != alias.strip() or alias.endswith("\\") \
                or not alias.isprintable():
            _warn(warnings, "networkd", name, "alias", "a .link file cannot hold this alias "
                  "exactly (control characters, surrounding spaces or a trailing backslash)")
        else:
            items.append(("Alias", alias))
    if not items:
        return None
    if state["mtu"]:
        items.append(("MTUBytes", state["mtu"]))
    if state["mac"]:
        items.append(("MACAddress", state["mac"]))
    return _unit([("Match", [("OriginalName", name)]), ("Link", items)])


# --- netplan ---------------------------------------------------------------
def _load_json_yaml(text):
    """Our own format (JSON, which is YAML) after the comment lines; PyYAML for anything else."""
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    try:
        return json.loads(body) if body.strip() else {}
    except ValueError:
        pass
    load = bootconf.yaml_loader()
    if load is None:
        raise ValueError("not the JSON form this collection writes, and no YAML parser here")
    return load(text)


def _read_own_netplan(root):
    """{name: (section, conf)} and {member: master} from our own netplan file."""
    path = _host(root, NETPLAN_FILE)
    if not os.path.lexists(path):
        return {}, {}
    files = bootconf.ConfFiles(root)
    try:
        data = _load_json_yaml(files.read(NETPLAN_FILE, path))
    except (bootconf.Unreadable, ValueError) as exc:
        raise PersistError("%s (written by hostnet.netif) cannot be read back, so the "
                           "interfaces it holds cannot be kept: %s; fix or remove it"
                           % (NETPLAN_FILE, exc))
    except Exception as exc:  # PyYAML errors: the file is named, never a traceback
        raise PersistError("%s (written by hostnet.netif) is not valid YAML: %s; fix or remove it"
                           % (NETPLAN_FILE, str(exc).splitlines()[0] if str(exc) else exc))
    entries, masters = {}, {}
    for section, devices in bootconf._netplan_sections(data if isinstance(data, dict) else {}):
        for ident, conf in sorted(devices.items()):
            if not isinstance(conf, dict):
                continue
            conf = dict(conf)
            for member in conf.pop("interfaces", None) or []:
                masters[str(member)] = ident
            entries[ident] = (section, conf)
    return entries, masters


def _plan_netplan(after, names, root):
    warnings = []
    entries, masters = _read_own_netplan(root)
    for name in names:
        entries.pop(name, None)
        masters.pop(name, None)
        if name in after:
            entries[name] = _netplan_entry(name, after, warnings)
            master = after[name].get("master")
            if master:
                masters[name] = master
    document = _netplan_document(entries, masters, set(names), warnings)
    path = _host(root, NETPLAN_FILE)
    if document is None:
        return {path: None}, warnings
    text = "# %s\n# JSON is YAML: netplan reads this file as it is.\n%s\n" % (
        HEADER, json.dumps(document, indent=2, sort_keys=True))
    return {path: (text, NETPLAN_MODE)}, warnings


def _netplan_entry(name, after, warnings):
    record = after[name]
    state = planner.link_state(record)
    kind = record.get("kind")
    data = record.get("kind_data") or {}
    section = NETPLAN_SECTIONS.get(kind, "ethernets")
    conf = {"renderer": "networkd"}
    if kind not in NETPLAN_CREATES and kind not in FOUND_KINDS:
        why = "netplan has no %s devices" % kind
        if kind == "veth":
            why = "netplan 0.106 (Debian 12) refuses virtual-ethernets (veth arrived in 0.107) " \
                  "and then applies nothing at all"
        _warn(warnings, "netplan", name, "kind", "%s: the interface is not created at boot; its "
              "settings are written under ethernets for when something else creates it" % why)
    if kind == "vlan":
        conf["id"] = (record.get("vlan") or data).get("id")
        conf["link"] = record.get("parent")
    elif kind == "vxlan":
        conf.update({"mode": "vxlan", "id": data.get("vni"), "port": data.get("dstport") or 8472})
        for field in ("local", "remote"):
            if data.get(field):
                conf[field] = data[field]
        if data.get("group"):
            _warn(warnings, "netplan", name, "kind_data.group", "netplan 0.106 has no vxlan group")
        if record.get("parent"):
            conf["link"] = record["parent"]
    elif kind == "bond" and data.get("mode"):
        conf["parameters"] = {"mode": data["mode"]}
    if state["mtu"]:
        conf["mtu"] = state["mtu"]
    if state["mac"]:
        conf["macaddress"] = state["mac"]
    if not state["enabled"]:
        conf["activation-mode"] = "manual"
    generated, addresses = _split_link_local(record)
    conf["link-local"] = ["ipv6"] if generated else []
    if not generated:
        conf["accept-ra"] = False
    conf["ignore-carrier"] = True
    conf["addresses"] = [_netplan_address(name, entry, warnings) for entry in addresses]
    for field, default in (("promisc", False), ("allmulticast", False), ("multicast", True),
                           ("arp", True), ("group", 0)):
        if state[field] != default:
            _warn(warnings, "netplan", name, field, "netplan has no key for it")
    if state["txqueuelen"] is not None and state["txqueuelen"] != DEFAULT_TXQUEUELEN:
        _warn(warnings, "netplan", name, "txqueuelen", "netplan has no key for it")
    if record.get("alias"):
        _warn(warnings, "netplan", name, "alias", "netplan has no key for it")
    _sysctl_warning("netplan", name, record, warnings)
    return section, conf


def _netplan_address(name, entry, warnings):
    cidr = "%s/%s" % (entry["address"], entry["prefixlen"])
    options = {}
    if entry.get("family") == "ipv4" and entry.get("label") and entry["label"] != name:
        options["label"] = entry["label"]
    if _lifetimes("netplan", name, entry, warnings, "addresses"):
        options["lifetime"] = 0
    unsaid = []
    if entry.get("peer"):
        unsaid.append("peer")
    if entry.get("family") == "ipv4":
        if entry.get("broadcast") != (None if entry.get("peer") else _default_broadcast(entry)):
            unsaid.append("broadcast")
        if entry.get("scope") not in (None, "global", "0"):
            unsaid.append("scope")
    unsaid.extend(flag for flag, _key, _value in _NETWORKD_FLAGS if flag in (entry.get("flags") or []))
    for field in unsaid:
        _warn(warnings, "netplan", name, "addresses[%s].%s" % (cidr, field), "netplan has no key for it")
    return {cidr: options} if options else cidr


def _netplan_document(entries, masters, touched, warnings):
    """The whole file from its entries; references to interfaces the file lacks are dropped."""
    if not entries:
        return None
    # no network-level renderer: a later file's scalar wins for every interface of the host
    # (netplan merges), which would take a NetworkManager desktop away from NetworkManager
    network = {"version": 2}
    for name in sorted(entries):
        section, conf = entries[name]
        conf = dict(conf)
        link = conf.get("link")
        if link is not None and link not in entries:
            del conf["link"]
            if name in touched or link in touched:
                _warn(warnings, "netplan", name, "parent", "netplan accepts only a parent it "
                      "defines, and %s is not persisted by hostnet.netif: persist it too" % link)
            if section == "vlans":
                continue  # a vlan without its link makes netplan generate fail as a whole
        if section in ("bridges", "bonds"):
            conf["interfaces"] = sorted(member for member, master in masters.items()
                                        if master == name and member in entries)
        network.setdefault(section, {})[name] = conf
    for member, master in sorted(masters.items()):
        kind = entries.get(master, ("", {}))[0]
        if member in touched and member in entries and kind not in ("bridges", "bonds"):
            _warn(warnings, "netplan", member, "master", "netplan states a master only on a bridge "
                  "or bond it defines, and %s is not one persisted by hostnet.netif" % master)
    return {"network": network}


# ---------------------------------------------------------------------------
# foreign configuration
# ---------------------------------------------------------------------------
_NETPLAN_GENERATED = "/run/systemd/network/10-netplan-"
_VENDOR_DEFAULT_LINK = ("/usr/lib/systemd/network/99-default.link", "/lib/systemd/network/99-default.link")


def _own_networkd_file(shown):
    directory, base = os.path.split(shown)
    return directory == NETWORKD_DIR and base.startswith(NETWORKD_PREFIX)


def _unit_covers(suffix, unit):
    """A function name -> True when this networkd unit configures that name."""
    if suffix == ".netdev":
        created = set(filter(None, (unit.last("NetDev", "Name"), unit.last("Peer", "Name"))))
        return created.__contains__
    patterns = unit.values("Match", "Name" if suffix == ".network" else "OriginalName")
    if not patterns:
        return lambda name: False  # matched by other properties only: names no interface
    return lambda name: bootconf._glob_match(patterns, name)


def _netplan_names(text):
    """Every interface name a netplan file states (idents, set-name, match.name, members)."""
    try:
        data = _load_json_yaml(text)
    except Exception:  # any parser error: judge the file by its text
        return None
    named = set()
    for _section, devices in bootconf._netplan_sections(data if isinstance(data, dict) else {}):
        for ident, conf in devices.items():
            if ident == "renderer":
                continue  # a section-wide setting, not a device
            named.add(str(ident))
            if isinstance(conf, dict):
                match = conf.get("match") if isinstance(conf.get("match"), dict) else {}
                for value in (conf.get("set-name"), match.get("name"), conf.get("link")):
                    if isinstance(value, str):
                        named.add(value)
                named.update(str(member) for member in conf.get("interfaces") or []
                             if isinstance(conf.get("interfaces"), list))
    return named


def _netplan_covers(named, text):
    if named is None:  # unparsable here: a whole-word mention counts (fail safe, file named)
        return lambda name: re.search(r"(?<![\w.-])%s(?![\w.-])" % re.escape(name), text) is not None
    patterns = [pattern for pattern in named if bootconf._GLOB_CHARS.search(pattern)]
    return lambda name: name in named or any(bootconf._glob_match([p], name) for p in patterns)


def foreign_files(names, root="/"):
    """{name: [file, ...]} of configuration the collection did not write that covers a name.

    networkd .network ([Match] Name=), .netdev (NetDev/Peer Name=) and .link
    ([Match] OriginalName=) files and drop-ins -- not the vendor 99-default.link that
    matches every interface, not netplan's generated files (their YAML is judged);
    netplan files naming it; NetworkManager keyfiles with its interface-name;
    ifupdown stanzas. Files are the host's paths (``/etc/...``).
    """
    files = bootconf.ConfFiles(root)
    wanted = sorted(set(names))
    found = {}

    def add(name, path):
        paths = found.setdefault(name, [])
        if path not in paths:
            paths.append(path)

    for suffix, units in sorted(bootconf._networkd_units(files).items()):
        for _basename, unit in units:
            main = unit.sources[0]
            if main in _VENDOR_DEFAULT_LINK or main.startswith(_NETPLAN_GENERATED):
                continue
            sources = unit.sources[1:] if _own_networkd_file(main) else unit.sources
            if not sources:
                continue
            covers = _unit_covers(suffix, unit)
            for name in wanted:
                if covers(name):
                    for source in sources:
                        add(name, source)
    for entry in bootconf.netplan_files(files):
        if entry["path"] == NETPLAN_FILE:
            continue
        covers = _netplan_covers(_netplan_names(entry["text"]), entry["text"])
        for name in wanted:
            if covers(name):
                add(name, entry["path"])
    for gather in (bootconf.gather_networkmanager, bootconf.gather_ifupdown):
        records = gather(files)
        for name in wanted:
            for source in (records.get(name) or {}).get("sources", []):
                add(name, source)
    return dict((name, sorted(paths)) for name, paths in found.items())
