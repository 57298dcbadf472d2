# -*- coding: utf-8 -*-
# Copyright: hostnet.netif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Boot configuration -> ``ansible_facts.netif.boot`` (stdlib only).

Reads what the next boot will apply: systemd-networkd (.network/.netdev/.link
with drop-ins), netplan YAML, NetworkManager keyfiles, ifupdown and sysctl.d
in systemd-sysctl order.  Nothing is executed and nothing is written.

Every file is read through :class:`ConfFiles`: regular files only, at most
``MAX_FILE_BYTES``, UTF-8 text without NUL bytes, and a symlink is followed
only when it stays inside the directory being read (a link to ``/dev/null``
masks, as systemd defines).  A file that fails any of that becomes an entry
of ``boot.errors`` and the rest of the gather goes on.

netplan YAML needs a YAML parser, which the standard library lacks: when the
target has none, the texts travel back in ``boot.netplan_pending`` and the
controller finishes with :func:`finish_netplan` (the same code, its parser).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import fnmatch
import glob
import os
import re
import stat

MAX_FILE_BYTES = 1024 * 1024
MAX_DIR_ENTRIES = 20000

MANAGERS = ("netplan", "networkd", "NetworkManager", "ifupdown")

SYSCTL_DIRS = ("/etc/sysctl.d", "/run/sysctl.d", "/usr/local/lib/sysctl.d", "/usr/lib/sysctl.d",
               "/lib/sysctl.d")
SYSCTL_CONF = "/etc/sysctl.conf"
NETWORKD_DIRS = ("/etc/systemd/network", "/run/systemd/network", "/usr/local/lib/systemd/network",
                 "/usr/lib/systemd/network", "/lib/systemd/network")
# netplan: a basename in a later directory shadows the earlier ones
NETPLAN_DIRS = ("/lib/netplan", "/etc/netplan", "/run/netplan")
NM_DIRS = ("/etc/NetworkManager/system-connections", "/run/NetworkManager/system-connections",
           "/usr/lib/NetworkManager/system-connections")
IFUPDOWN_FILE = "/etc/network/interfaces"

_GLOB_CHARS = re.compile(r"[*?\[]")
_IFUPDOWN_PART = re.compile(r"^[A-Za-z0-9_-]+$")


_DIRECTORY = "directory"


class Unreadable(Exception):
    """A configuration file that cannot be used; the message is the reason."""


class ConfFiles:
    """Reads configuration files below ``root`` (tests and offline captures use a directory)."""

    def __init__(self, root="/"):
        self.root = root
        self.errors = []
        self.warnings = []
        self.unevaluated = []

    def host_path(self, path):
        return os.path.join(self.root, path.lstrip("/"))

    def error(self, path, reason):
        self.errors.append({"path": path, "reason": reason})

    def listing(self, directories, suffixes=None, accept=None):
        """{basename: (shown path, real path or None when masked)}, earlier directories winning.

        Directories are compared by their real path, so /lib and /usr/lib on a
        merged-/usr system are read once.
        """
        found, seen = {}, set()
        for directory in directories:
            real_dir = os.path.realpath(self.host_path(directory))
            if real_dir in seen or not os.path.isdir(real_dir):
                continue
            seen.add(real_dir)
            try:
                names = sorted(os.listdir(real_dir))
            except OSError as exc:
                self.error(directory, "cannot list: %s" % (exc.strerror or exc))
                continue
            if len(names) > MAX_DIR_ENTRIES:
                self.error(directory, "more than %d entries; only the first %d (by name) were read"
                           % (MAX_DIR_ENTRIES, MAX_DIR_ENTRIES))
                names = names[:MAX_DIR_ENTRIES]
            for name in names:
                if name in found or name.startswith("."):
                    continue
                if suffixes is not None and not name.endswith(suffixes):
                    continue
                if accept is not None and not accept(name):
                    continue
                shown = "%s/%s" % (directory.rstrip("/"), name)
                target = self._resolve(real_dir, name, shown)
                if target is _DIRECTORY:
                    continue
                # an unusable entry still takes its name, as systemd would use it: later
                # directories do not get to fill in for a file we could not read
                found[name] = (shown, target or None)
        return found

    def _resolve(self, real_dir, name, shown):
        """Real path of an entry; None when masked (-> /dev/null); False when unusable."""
        path = os.path.join(real_dir, name)
        try:
            info = os.lstat(path)
        except OSError as exc:
            self.error(shown, "cannot stat: %s" % (exc.strerror or exc))
            return False
        if stat.S_ISLNK(info.st_mode):
            try:
                link = os.readlink(path)
            except OSError as exc:
                self.error(shown, "cannot read link: %s" % (exc.strerror or exc))
                return False
            if link == "/dev/null":
                return None
            target = os.path.realpath(path)
            if os.path.dirname(target) != real_dir:
                self.error(shown, "symlink to %s leads out of its directory; not followed" % link)
                return False
            try:
                info = os.stat(target)
            except OSError as exc:
                reason = "symlink loop" if exc.errno == errno.ELOOP else (exc.strerror or str(exc))
                self.error(shown, "cannot follow symlink: %s" % reason)
                return False
            path = target
        if stat.S_ISDIR(info.st_mode):
            return _DIRECTORY  # drop-in directories are listed on their own
        if not stat.S_ISREG(info.st_mode):
            self.error(shown, "not a regular file")
            return False
        if info.st_size == 0:
            return None  # an empty file masks too
        return path

    def read(self, shown, real):
        """Text of a file, or raise Unreadable."""
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        try:
            fd = os.open(real, flags)
        except OSError as exc:
            raise Unreadable("cannot open: %s" % (exc.strerror or exc))
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise Unreadable("not a regular file")
            chunks, size = [], 0
            while size <= MAX_FILE_BYTES:
                chunk = os.read(fd, 65536)
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
        except OSError as exc:
            raise Unreadable("cannot read: %s" % (exc.strerror or exc))
        finally:
            os.close(fd)
        if size > MAX_FILE_BYTES:
            raise Unreadable("larger than %d bytes; not read" % MAX_FILE_BYTES)
        data = b"".join(chunks)
        if b"\0" in data:
            raise Unreadable("binary file (contains NUL bytes)")
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise Unreadable("not UTF-8 text: %s" % exc)

    def text(self, shown, real):
        """Text or None (error recorded)."""
        try:
            return self.read(shown, real)
        except Unreadable as exc:
            self.error(shown, str(exc))
            return None

    def texts(self, listing):
        """(basename, shown path, text) of a listing in basename order; masked and unreadable left out."""
        for name in sorted(listing):
            shown, real = listing[name]
            if real is None:
                continue
            text = self.text(shown, real)
            if text is not None:
                yield name, shown, text

    def single(self, path):
        """(shown, real path) of one well-known file, or None when absent/unusable."""
        directory, name = os.path.split(path)
        real_dir = os.path.realpath(self.host_path(directory))
        if not os.path.lexists(os.path.join(real_dir, name)):
            return None
        target = self._resolve(real_dir, name, path)
        if target is _DIRECTORY:
            self.error(path, "a directory, not a file")
            return None
        if not target:
            return None
        return path, target


def _convert(raw):
    try:
        return int(raw)
    except (TypeError, ValueError):
        return raw


def _bool(value):
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "yes", "true", "on", "y"):
        return True
    if text in ("0", "no", "false", "off", "n"):
        return False
    return None


def _mac(value):
    if not value or not isinstance(value, str):
        return None
    value = value.strip().lower()
    return value if re.match(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$", value) else None


def _int(value):
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


# ---------------------------------------------------------------------------
# sysctl.d
# ---------------------------------------------------------------------------
def _sysctl_key(raw):
    """systemd-sysctl's normalisation: a key whose first separator is '/' swaps '/' and '.'."""
    key = raw.strip()
    slash, dot = key.find("/"), key.find(".")
    if slash >= 0 and (dot < 0 or slash < dot):
        key = key.replace("/", "\0").replace(".", "/").replace("\0", ".")
    return key.strip(".")


def sysctl_files(files):
    """[(shown path, real path)] in systemd-sysctl order, /etc/sysctl.conf last."""
    listing = files.listing(SYSCTL_DIRS, suffixes=(".conf",))
    ordered = [listing[name] for name in sorted(listing) if listing[name][1] is not None]
    conf = files.single(SYSCTL_CONF)
    if conf and conf[1] not in set(real for _shown, real in ordered):
        ordered.append(conf)
    return ordered


def _sysctl_listing_allows_conf(files):
    # Debian's procps links /etc/sysctl.d/99-sysctl.conf -> ../sysctl.conf: that link
    # leaves its directory, yet names the one file this reader reads anyway.
    kept = []
    for entry in files.errors:
        if entry["path"].startswith("/etc/sysctl.d/") and "leads out" in entry["reason"] \
                and os.path.realpath(files.host_path(entry["path"])) == \
                os.path.realpath(files.host_path(SYSCTL_CONF)):
            continue
        kept.append(entry)
    files.errors[:] = kept


def parse_sysctl_text(text, shown, files):
    """[(key, value, glob, ignore_failure, line)] for the net.* assignments of one file."""
    entries = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if "=" not in line:
            files.error(shown, "line %d: not an assignment: %r" % (number, line[:80]))
            continue
        key, value = line.split("=", 1)
        key = key.strip()
        ignore = key.startswith("-")
        if ignore:
            key = key[1:]
        key = _sysctl_key(key)
        if not (key == "net" or key.startswith("net.") or key.startswith("net*")):
            continue
        entries.append((key, value.strip(), bool(_GLOB_CHARS.search(key)), ignore, number))
    return entries


def _expand_glob(pattern, proc_root):
    """Keys below ``proc_root`` (/proc/sys) matching a glob, walking one level at a time."""
    parts = [part.replace("/", ".") for part in pattern.split(".")]
    paths = [(proc_root, [])]
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        following = []
        for directory, names in paths:
            try:
                entries = os.listdir(directory)
            except OSError:
                continue
            for entry in fnmatch.filter(entries, part):
                full = os.path.join(directory, entry)
                if last and os.path.isfile(full) or not last and os.path.isdir(full):
                    following.append((full, names + [entry]))
        paths = following
    # a dot inside a name (eth0.100) is '/' in a dotted key, as sysctl writes it
    return sorted(".".join(n.replace(".", "/") for n in names) for _directory, names in paths)


def gather_sysctl(files, proc_root=None):
    """{key: {value, file, line[, glob]}} for every net.* key boot will set.

    As systemd-sysctl: a later file wins for a key; a glob sets every matching
    key that exists, except keys some file names explicitly (wherever they come).
    Without ``proc_root`` (offline) a glob stays one entry keyed by the pattern.
    """
    ordered = sysctl_files(files)
    _sysctl_listing_allows_conf(files)
    explicit, globs = {}, {}
    for shown, real in ordered:
        text = files.text(shown, real)
        if text is None:
            continue
        for key, value, is_glob, ignore, line in parse_sysctl_text(text, shown, files):
            record = {"value": _convert(value), "file": shown, "line": line}
            if ignore:
                record["ignore_failure"] = True
            target = globs if is_glob else explicit
            target.pop(key, None)  # keep the order of the last assignment
            target[key] = record
    result = {}
    for pattern, record in globs.items():
        if proc_root is None:
            result[pattern] = dict(record, glob=pattern)
            continue
        for key in _expand_glob(pattern, proc_root):
            if key not in explicit:
                result[key] = dict(record, glob=pattern)
    result.update(explicit)
    return dict((k, result[k]) for k in sorted(result))


# ---------------------------------------------------------------------------
# systemd unit-style INI (networkd)
# ---------------------------------------------------------------------------
def parse_unit_text(text, shown, files):
    """[(section, key, value, block)] in order; ``block`` tells repeated sections apart.

    systemd's comments (``#``, ``;``) and line continuations (trailing ``\\``).
    """
    items = []
    section = None
    block = 0
    pending = ""
    for number, raw in enumerate(text.splitlines(), 1):
        line = pending + raw.strip() if pending else raw.strip()
        pending = ""
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            if not line.endswith("]"):
                files.error(shown, "line %d: bad section header %r" % (number, line[:80]))
                section = None
                continue
            section = line[1:-1].strip()
            block = number
            continue
        if "=" not in line:
            files.error(shown, "line %d: not an assignment: %r" % (number, line[:80]))
            continue
        if section is None:
            files.error(shown, "line %d: assignment outside a section" % number)
            continue
        key, value = line.split("=", 1)
        items.append((section, key.strip(), value.strip(), block))
    return items


class _Unit:
    """Merged view of one networkd file and its drop-ins: last value, or every value."""

    def __init__(self):
        self.items = []
        self.sources = []

    def add(self, shown, items):
        index = len(self.sources)
        self.sources.append(shown)
        self.items.extend((sec, key, val, (index, block)) for sec, key, val, block in items)

    def keys(self, section):
        return set(key for sec, key, _val, _block in self.items if sec == section)

    def last(self, section, key):
        value = None
        for sec, name, val, _block in self.items:
            if sec == section and name == key:
                value = val
        return value or None

    def values(self, section, key):
        """Every value in order; an empty assignment resets the list (systemd)."""
        values = []
        for sec, name, val, _block in self.items:
            if sec == section and name == key:
                if not val:
                    values = []
                else:
                    values.extend(val.split())
        return values

    def section_values(self, section, key):
        """The last ``key`` of each ``[section]`` block (e.g. one [Address] per address)."""
        by_block = {}
        for sec, name, val, block in self.items:
            if sec == section and name == key and val:
                by_block[block] = val
        return [by_block[block] for block in sorted(by_block)]


def _networkd_units(files):
    """{suffix: [(basename, _Unit)]} sorted by basename, masking and drop-ins applied."""
    listing = files.listing(NETWORKD_DIRS, suffixes=(".network", ".netdev", ".link"))
    units = {".network": [], ".netdev": [], ".link": []}
    dropin_dirs = {}
    for name, shown, text in files.texts(listing):
        unit = _Unit()
        unit.add(shown, parse_unit_text(text, shown, files))
        suffix = name[name.rindex("."):]
        units[suffix].append((name, unit))
        dropin_dirs[name] = unit
    # drop-ins: <name>.d/*.conf in every directory, same-name masking among them
    for name, unit in dropin_dirs.items():
        dirs = ["%s/%s.d" % (d, name) for d in NETWORKD_DIRS]
        if not any(os.path.isdir(files.host_path(d)) for d in dirs):
            continue
        for _conf, shown, text in files.texts(files.listing(dirs, suffixes=(".conf",))):
            unit.add(shown, parse_unit_text(text, shown, files))
    return units


def _glob_match(patterns, name):
    """systemd's [Match] Name= list: any glob matches; a leading '!' inverts the whole list."""
    if not patterns:
        return True
    invert = patterns[0].startswith("!")
    if invert:
        patterns = [patterns[0][1:]] + patterns[1:]
    hit = any(fnmatch.fnmatchcase(name, p) for p in patterns if p)
    return hit != invert


def _first_match(networks):
    """A function name -> first matching unit of ``networks`` [(patterns, unit)] in order.

    Files that only list plain names go into a dict, so N names against N files
    costs N lookups plus the glob files, not N * N fnmatch calls.
    """
    exact, globbed = {}, []
    for position, (patterns, unit) in enumerate(networks):
        if patterns and not patterns[0].startswith("!") \
                and not any(_GLOB_CHARS.search(p) for p in patterns):
            for pattern in patterns:
                exact.setdefault(pattern, position)
        else:
            globbed.append((position, patterns))

    def first(name):
        best = exact.get(name)
        for position, patterns in globbed:
            if best is not None and position > best:
                break
            if _glob_match(patterns, name):
                best = position
                break
        return None if best is None else networks[best][1]

    return first


def _new_record(manager, sources):
    return {
        "manager": manager,
        "sources": list(sources),
        "kind": None,
        "mtu": None,
        "mac": None,
        "master": None,
        "enabled": True,
        "addresses": [],
        "dhcp4": False,
        "dhcp6": False,
    }


_NETDEV_KINDS = {"bridge": "bridge", "bond": "bond", "vlan": "vlan", "macvlan": "macvlan",
                 "vxlan": "vxlan", "veth": "veth", "dummy": "dummy", "ifb": "ifb", "vrf": "vrf",
                 "wireguard": "wireguard", "tun": "tun", "tap": "tap", "ipvlan": "ipvlan"}


def gather_networkd(files, known_names):
    """{name: record} for links networkd will configure at boot.

    ``known_names`` are the interfaces the host has now; netdevs and plain
    (non-glob) ``[Match] Name=`` entries add the ones boot will create or find.
    """
    units = _networkd_units(files)
    records = {}
    netdevs = {}
    for _name, unit in units[".netdev"]:
        ifname = unit.last("NetDev", "Name")
        if not ifname:
            continue
        netdevs.setdefault(ifname, unit)
        peer = unit.last("Peer", "Name")
        if peer:
            netdevs.setdefault(peer, unit)
    candidates = set(known_names) | set(netdevs)
    networks = []
    for _name, unit in units[".network"]:
        other = sorted(unit.keys("Match") - {"Name"})
        if other:
            # Type, Driver, Path, Virtualization... need udev or the boot itself
            files.unevaluated.append({"path": unit.sources[0], "match": other})
            continue
        patterns = unit.values("Match", "Name")
        networks.append((patterns, unit))
        for pattern in patterns:
            if pattern and not _GLOB_CHARS.search(pattern) and not patterns[0].startswith("!"):
                candidates.add(pattern)
    links = []
    for _name, unit in units[".link"]:
        patterns = unit.values("Match", "OriginalName")
        if not patterns:
            continue  # matched by udev properties only (Type, Driver, Path...): not by name
        other = sorted(unit.keys("Match") - {"OriginalName"})
        if other:
            files.unevaluated.append({"path": unit.sources[0], "match": other})
            continue
        links.append((patterns, unit))
    first_network = _first_match(networks)
    for ifname in sorted(candidates):
        network = first_network(ifname)
        netdev = netdevs.get(ifname)
        if network is None and netdev is None:
            continue
        sources = list(netdev.sources if netdev else []) + list(network.sources if network else [])
        record = _new_record("networkd", sources)
        if netdev is not None:
            kind = (netdev.last("NetDev", "Kind") or "").lower()
            record["kind"] = _NETDEV_KINDS.get(kind, kind or None)
            record["mtu"] = _int(netdev.last("NetDev", "MTUBytes"))
            record["mac"] = _mac(netdev.last("NetDev", "MACAddress"))
        for patterns, unit in links:
            if patterns and _glob_match(patterns, ifname):
                # udev applies the first matching .link at a real boot; .network [Link] still wins
                mtu, mac = _int(unit.last("Link", "MTUBytes")), _mac(unit.last("Link", "MACAddress"))
                if mtu or mac:
                    record["sources"].extend(unit.sources)
                record["mtu"] = mtu or record["mtu"]
                record["mac"] = mac or record["mac"]
                break
        if network is None:
            record["enabled"] = False  # networkd leaves a link without .network down
        else:
            record["mtu"] = _int(network.last("Link", "MTUBytes")) or record["mtu"]
            record["mac"] = _mac(network.last("Link", "MACAddress")) or record["mac"]
            unmanaged = _bool(network.last("Link", "Unmanaged"))
            policy = (network.last("Link", "ActivationPolicy") or "up").lower()
            record["enabled"] = not unmanaged and policy not in ("down", "always-down", "manual")
            record["master"] = (network.last("Network", "Bridge") or network.last("Network", "Bond")
                                or network.last("Network", "VRF"))
            record["addresses"] = (network.values("Network", "Address")
                                   + network.section_values("Address", "Address"))
            dhcp = (network.last("Network", "DHCP") or "no").lower()
            record["dhcp4"] = dhcp in ("yes", "true", "ipv4", "1", "on")
            record["dhcp6"] = dhcp in ("yes", "true", "ipv6", "1", "on")
        records[ifname] = record
    return records


# ---------------------------------------------------------------------------
# netplan
# ---------------------------------------------------------------------------
_NETPLAN_KINDS = (("ethernets", "ethernet"), ("wifis", "wifi"), ("bridges", "bridge"),
                  ("bonds", "bond"), ("vlans", "vlan"), ("tunnels", None), ("vrfs", "vrf"),
                  ("virtual-ethernets", "veth"), ("modems", "modem"), ("nm-devices", None))


_NETPLAN_KEYS = frozenset(["version", "renderer"] + [section for section, _kind in _NETPLAN_KINDS])


def netplan_files(files):
    """[{path, text}] in netplan's merge order (basename order; /run over /etc over /lib)."""
    chosen = {}
    for directory in NETPLAN_DIRS:
        listing = files.listing((directory,), suffixes=(".yaml",))
        for name, entry in listing.items():
            chosen[name] = entry
    return [{"path": shown, "text": text} for _name, shown, text in files.texts(chosen)]


def _merge(base, extra):
    """netplan's merge: mappings merge, sequences append, scalars are replaced."""
    if isinstance(base, dict) and isinstance(extra, dict):
        merged = dict(base)
        for key, value in extra.items():
            merged[key] = _merge(base[key], value) if key in base else value
        return merged
    if isinstance(base, list) and isinstance(extra, list):
        return base + [item for item in extra if item not in base]
    return extra


def _netplan_address(entry):
    if isinstance(entry, dict) and len(entry) == 1:
        return str(list(entry)[0])
    return str(entry)


def _netplan_records(merged, warnings):
    network = merged.get("network") if isinstance(merged, dict) else None
    if not isinstance(network, dict):
        return {}
    default_renderer = network.get("renderer") or "networkd"
    records = {}
    masters = {}
    for section, kind in _NETPLAN_KINDS:
        devices = network.get(section)
        if not isinstance(devices, dict):
            continue
        if section == "virtual-ethernets":
            warnings.append("netplan 0.106 (Debian 12) refuses virtual-ethernets (veth arrived in "
                            "netplan 0.107) and then generates nothing at all: this prediction "
                            "holds for netplan 0.107 or newer only")
        renderer = devices.get("renderer") if isinstance(devices.get("renderer"), str) else None
        for ident, conf in devices.items():
            if ident == "renderer" or not isinstance(conf, dict):
                continue
            match = conf.get("match") if isinstance(conf.get("match"), dict) else {}
            name = conf.get("set-name") or match.get("name") or ident
            if not isinstance(name, str) or _GLOB_CHARS.search(name):
                name = ident
            record = _new_record("netplan", [])
            record["netplan_id"] = ident
            record["renderer"] = conf.get("renderer") or renderer or default_renderer
            record["kind"] = kind or (str(conf.get("mode")) if conf.get("mode") else None)
            record["mtu"] = _int(conf.get("mtu")) if conf.get("mtu") is not None else None
            record["mac"] = _mac(conf.get("macaddress"))
            record["addresses"] = [_netplan_address(a) for a in conf.get("addresses") or []
                                   if isinstance(conf.get("addresses"), list)]
            record["dhcp4"] = bool(_bool(conf.get("dhcp4", False)))
            record["dhcp6"] = bool(_bool(conf.get("dhcp6", False)))
            mode = str(conf.get("activation-mode") or "").lower()
            record["enabled"] = mode not in ("off", "manual")
            if section in ("bridges", "bonds"):
                for member in conf.get("interfaces") or []:
                    masters[str(member)] = name
            records[name] = record
    for ident, master in masters.items():
        for name, record in records.items():
            if record.get("netplan_id") == ident:
                record["master"] = master
    return records


def finish_netplan(pending, yaml_load, errors, warnings):
    """Merge netplan texts (in order) with ``yaml_load(text)``; {name: record}.

    One file that does not parse (bad YAML, not a mapping, an MTU that is not
    a number) makes ``netplan generate`` fail as a whole (measured, 0.106): at
    boot no netplan configuration applies, so none is predicted; the file is
    an error entry and a warning says why netplan's interfaces are missing.
    """
    merged = {}
    origin = {}
    broken = []
    for entry in pending:
        reason = None
        try:
            data = yaml_load(entry["text"])
        except Exception as exc:  # any parser error: the file is reported, never fatal
            data = None
            reason = "invalid YAML: %s" % (str(exc).splitlines() or [""])[0]
        if reason is None and data is not None and not isinstance(data, dict):
            reason = "not a YAML mapping"
        if reason is None and data is not None:
            reason = _netplan_problem(data)
        if reason is not None:
            errors.append({"path": entry["path"], "reason": reason})
            broken.append(entry["path"])
            continue
        if data is None:
            continue
        for duplicate in getattr(yaml_load, "duplicates", ()):
            errors.append({"path": entry["path"],
                           "reason": "%s: merged as netplan does (later values win)" % duplicate})
        merged = _merge(merged, data)
        for _section, devices in _netplan_sections(data):
            for ident in devices:
                origin.setdefault(ident, []).append(entry["path"])
    if broken:
        warnings.append("netplan generate fails on %s, so at boot no netplan configuration "
                        "applies: netplan's interfaces are left out of boot.interfaces"
                        % ", ".join(broken))
        return {}
    records = _netplan_records(merged, warnings)
    for record in records.values():
        record["sources"] = origin.get(record["netplan_id"], [])
    return records


def _netplan_sections(data):
    network = data.get("network")
    if not isinstance(network, dict):
        return []
    return [(section, network[section]) for section, _kind in _NETPLAN_KINDS
            if isinstance(network.get(section), dict)]


def _netplan_problem(data):
    """What netplan generate would reject in one parsed file (the checks we know), or None."""
    if "network" in data and not isinstance(data["network"], dict):
        return "network: expected a mapping"
    unknown = sorted(set(data.get("network") or {}) - _NETPLAN_KEYS)
    if unknown:
        return "network: unknown key %r" % unknown[0]
    for section, devices in _netplan_sections(data):
        for ident, conf in devices.items():
            if ident == "renderer":
                continue
            if not isinstance(conf, dict):
                return "network.%s.%s: expected a mapping" % (section, ident)
            mtu = conf.get("mtu")
            if mtu is not None and (isinstance(mtu, bool) or _int(mtu) is None):
                return "network.%s.%s.mtu: invalid unsigned int value %r" % (section, ident, mtu)
            if "addresses" in conf and not isinstance(conf["addresses"], list):
                return "network.%s.%s.addresses: expected a sequence" % (section, ident)
    return None


def yaml_loader():
    """A YAML loader function, or None without PyYAML.

    A key repeated in one mapping is merged the way netplan 0.106 does it
    (measured: ``netplan generate`` applies both, later scalars win, sequences
    append) and noted in ``load.duplicates`` for ``boot.errors``.
    """
    try:
        import yaml
    except ImportError:
        return None

    class _Netplan(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
        pass

    def _mapping(loader, node, deep=False):
        loader.flatten_mapping(node)
        data = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            value = loader.construct_object(value_node, deep=True)
            if key in data:
                load.duplicates.append("duplicate key %r at line %d" % (key, key_node.start_mark.line + 1))
                value = _merge(data[key], value)
            data[key] = value
        return data

    _Netplan.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)

    def load(text):
        del load.duplicates[:]
        return yaml.load(text, Loader=_Netplan)

    load.duplicates = []
    return load


# ---------------------------------------------------------------------------
# NetworkManager keyfiles
# ---------------------------------------------------------------------------
_NM_TYPES = {"802-3-ethernet": "ethernet", "ethernet": "ethernet", "802-11-wireless": "wifi",
             "wifi": "wifi", "bridge": "bridge", "bond": "bond", "vlan": "vlan", "veth": "veth",
             "macvlan": "macvlan", "vxlan": "vxlan", "dummy": "dummy", "vrf": "vrf",
             "wireguard": "wireguard", "tun": "tun", "loopback": "loopback"}


def _keyfile_candidate(name):
    # NetworkManager skips backups and package-manager leftovers
    return not (name.endswith("~") or name.endswith((".rpmnew", ".rpmsave", ".dpkg-old",
                                                     ".dpkg-new", ".dpkg-dist", ".bak", ".tmp",
                                                     ".swp")))


def parse_keyfile(text, shown, files):
    """{group: {key: value}} read as GLib's GKeyFile does (NetworkManager's parser).

    Measured with GLib: a repeated group merges into the first, a repeated key
    keeps the last value; both are noted in ``boot.errors``. A line that is no
    group, key=value or comment makes GKeyFile (so NM) reject the file: None.
    """
    groups = {}
    current = None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line[0] == "#":
            continue
        if line.startswith("[") and line.endswith("]"):
            name = line[1:-1]
            if name in groups:
                files.error(shown, "line %d: group [%s] appears twice: merged, as GLib does"
                            % (number, name))
            current = groups.setdefault(name, {})
            continue
        if "=" not in line or current is None:
            files.error(shown, "line %d: not a group, key=value or comment: "
                        "NetworkManager ignores the file" % number)
            return None
        key, value = line.split("=", 1)
        key = key.strip()
        if key in current:
            files.error(shown, "line %d: key %s appears twice: the last value is used, as GLib does"
                        % (number, key))
        current[key] = value.strip()
    return groups


def _keyfile_addresses(section):
    addresses = []
    keys = sorted((k for k in section if re.match(r"^address(es)?\d*$", k)),
                  key=lambda k: (_int(re.sub(r"\D", "", k) or "0") or 0, k))
    for key in keys:
        for item in section[key].split(";"):
            item = item.split(",")[0].strip()  # "addr/len,gateway"
            if item:
                addresses.append(item)
    return addresses


def gather_networkmanager(files):
    listing = files.listing(NM_DIRS, accept=_keyfile_candidate)
    records = {}
    for name in sorted(listing):
        shown, real = listing[name]
        if real is None:
            continue
        try:
            mode = os.stat(real).st_mode
        except OSError:
            mode = 0
        text = files.text(shown, real)
        if text is None:
            continue
        data = parse_keyfile(text, shown, files)
        if data is None:
            continue
        connection = data.get("connection", {})
        ifname = connection.get("interface-name")
        if not ifname:
            continue  # a profile for any device: nothing to predict per name
        if mode & 0o077:
            files.warnings.append("NetworkManager ignores keyfile %s: it is readable by group or "
                                  "others (mode %04o)" % (shown, mode & 0o7777))
            continue
        ctype = connection.get("type", "")
        record = _new_record("NetworkManager", [shown])
        record["kind"] = _NM_TYPES.get(ctype, ctype or None)
        record["enabled"] = _bool(connection.get("autoconnect", "true")) is not False
        record["master"] = connection.get("controller") or connection.get("master")
        wired = data.get("ethernet") or data.get("802-3-ethernet") or {}
        record["mtu"] = _int(wired.get("mtu")) if wired.get("mtu") else None
        record["mac"] = _mac(wired.get("cloned-mac-address"))
        ipv4, ipv6 = data.get("ipv4", {}), data.get("ipv6", {})
        record["addresses"] = _keyfile_addresses(ipv4) + _keyfile_addresses(ipv6)
        record["dhcp4"] = ipv4.get("method", "auto") == "auto"
        record["dhcp6"] = ipv6.get("method", "auto") in ("auto", "dhcp")
        record["ipv4_method"] = ipv4.get("method", "auto")
        record["ipv6_method"] = ipv6.get("method", "auto")
        # the profile NM picks for a device: autoconnect ones first, then by name
        previous = records.get(ifname)
        if previous is None or (not previous["enabled"] and record["enabled"]):
            records[ifname] = record
    return records


# ---------------------------------------------------------------------------
# ifupdown
# ---------------------------------------------------------------------------
def _ifupdown_lines(files, path, depth, seen):
    """(shown path, line) of /etc/network/interfaces with source/source-directory expanded."""
    if depth > 10:
        files.error(path, "source nesting deeper than 10")
        return
    entry = files.single(path)
    if entry is None or entry[1] in seen:
        return
    seen.add(entry[1])
    text = files.text(*entry)
    if text is None:
        return
    base = os.path.dirname(path)
    pending = ""
    for raw in text.splitlines():
        line = pending + raw.strip() if pending else raw.strip()
        pending = ""
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        if not line or line.startswith("#"):
            continue
        words = line.split()
        if words[0] in ("source", "source-directory") and len(words) > 1:
            target = words[1] if words[1].startswith("/") else os.path.join(base, words[1])
            if words[0] == "source":
                for real in sorted(glob.glob(files.host_path(target))):
                    shown = "/" + os.path.relpath(real, files.root) if files.root != "/" else real
                    yield from _ifupdown_lines(files, shown, depth + 1, seen)
            else:
                listing = files.listing((target,), accept=lambda n: bool(_IFUPDOWN_PART.match(n)))
                for name in sorted(listing):
                    yield from _ifupdown_lines(files, listing[name][0], depth + 1, seen)
            continue
        yield path, words


def gather_ifupdown(files):
    records = {}
    auto = set()
    current = None
    for shown, words in _ifupdown_lines(files, IFUPDOWN_FILE, 0, set()):
        head = words[0]
        if head == "auto" or head.startswith("allow-"):
            auto.update(words[1:])
            current = None
        elif head == "iface" and len(words) >= 4:
            name, family, method = words[1], words[2], words[3]
            record = records.get(name)
            if record is None:
                record = records[name] = _new_record("ifupdown", [])
                record["_prefix"] = {}
            if shown not in record["sources"]:
                record["sources"].append(shown)
            if family == "inet" and method == "dhcp":
                record["dhcp4"] = True
            if family == "inet6" and method in ("dhcp", "auto"):
                record["dhcp6"] = True
            if method == "loopback":
                record["kind"] = "loopback"
            current = (record, family)
        elif head in ("mapping", "rename"):
            current = None
        elif current is not None and len(words) >= 2:
            record, family = current[0], current[1]
            option, value = head, words[1]
            if option == "address":
                record["addresses"].append(value)
            elif option == "netmask" and record["addresses"] and "/" not in record["addresses"][-1]:
                record["_prefix"][len(record["addresses"]) - 1] = value
            elif option == "mtu":
                record["mtu"] = _int(value)
            elif option == "hwaddress":
                record["mac"] = _mac(words[-1])
            elif option in ("bridge_ports", "bridge-ports"):
                record["kind"] = "bridge"
                record.setdefault("_members", []).extend(m for m in words[1:] if m != "none")
            elif option in ("bond-master", "bond_master"):
                record["master"] = value
            elif option in ("vlan-raw-device", "vlan_raw_device"):
                record["kind"] = "vlan"
    for name, record in records.items():
        for member in record.pop("_members", []):
            if member in records:
                records[member]["master"] = name
    for name, record in records.items():
        prefixes = record.pop("_prefix", {})
        for index, mask in prefixes.items():
            record["addresses"][index] = "%s/%s" % (record["addresses"][index], _mask_len(mask))
        record["enabled"] = name in auto
    return records


def _mask_len(mask):
    if mask.isdigit():
        return int(mask)
    try:
        bits = "".join("{0:08b}".format(int(part)) for part in mask.split("."))
    except ValueError:
        return mask
    return bits.count("1")


# ---------------------------------------------------------------------------
# the document
# ---------------------------------------------------------------------------
def _combine(by_manager, wants=None):
    """One record per interface: the first manager of MANAGERS, the others listed.

    ``wants(name)`` (the task's interfaces/exclude globs) leaves names out.
    """
    interfaces = {}
    for manager in MANAGERS:
        for name, record in sorted(by_manager.get(manager, {}).items()):
            if wants is not None and not wants(name):
                continue
            if name in interfaces:
                interfaces[name].setdefault("also_configured_by", []).append(manager)
                continue
            interfaces[name] = record
    return interfaces


def gather_boot(files, known_names=(), proc_root=None, yaml_load=None, wants=None):
    """The ``boot`` document and its warnings.

    ``yaml_load`` None (the target has no YAML parser) leaves netplan files in
    ``netplan_pending`` for :func:`complete` on the controller.
    """
    by_manager = {
        "networkd": gather_networkd(files, known_names),
        "NetworkManager": gather_networkmanager(files),
        "ifupdown": gather_ifupdown(files),
    }
    boot = {"sysctl": gather_sysctl(files, proc_root)}
    pending = netplan_files(files)
    boot["errors"] = files.errors
    boot["unevaluated"] = files.unevaluated
    if pending and yaml_load is None:
        boot["netplan_pending"] = pending
        boot["by_manager"] = by_manager
    else:
        by_manager["netplan"] = finish_netplan(pending, yaml_load, files.errors, files.warnings) \
            if pending else {}
        boot["interfaces"] = _combine(by_manager, wants)
    return boot, files.warnings


def complete(boot, yaml_load, wants=None):
    """Finish a ``boot`` document the target left with netplan texts; returns warnings."""
    warnings = []
    if "netplan_pending" not in boot:
        return warnings
    by_manager = boot.pop("by_manager")
    by_manager["netplan"] = finish_netplan(boot.pop("netplan_pending"), yaml_load,
                                           boot["errors"], warnings)
    boot["interfaces"] = _combine(by_manager, wants)
    return warnings
