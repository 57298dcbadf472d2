# -*- coding: utf-8 -*-
# Copyright: hostnet.netif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``sysctls`` resource: per-interface ``net.ipv4/ipv6.conf`` keys (stdlib only).

An item is ``{name, ipv4: {key: value}, ipv6: {key: value}}``; ``name`` is
an interface or ``all`` / ``default``. Keys come from the allow-list
``model.CONF_KEYS``; :data:`VALUE_SPECS` gives each key's accepted values
(the JSON Schema ``sysctls.schema.json`` says the same, a unit test keeps
them equal). Values are written to ``/proc/sys/net/<family>/conf/<name>/<key>``
(the interface name as it is, dots included) by the transaction after its
``ip -batch`` step, read back and verified, and restored on any failure.

Defaults. ``replaced`` / ``overridden`` / ``deleted`` return keys to the
value in ``conf/default`` (what the kernel copies into an interface when it
is created). Keys without such a meaning are never reset: the read-only
``mc_forwarding``, ``ipv6.mtu`` (it follows the link MTU), keys the kernel
lacks. ``all`` and ``default`` have no reference value: ``replaced`` and
``overridden`` set the keys they give and leave the rest, ``deleted``
refuses them, and whole-scope resets skip them.

Persistence (:class:`PersistFile`). ``persist: true`` keeps the values a
task sets in one file under ``/etc/sysctl.d`` (``sysctl.d(5)``): a dot in
an interface name becomes ``/`` in the key (``net.ipv4.conf.eth0/100.rp_filter``;
when the first separator is a dot, dots and slashes are interchanged), and
per-interface lines start with ``-`` so systemd-sysctl does not fail for an
interface that does not exist yet at boot (udev applies them when it
appears). Keys a task resets are removed from the file. The resource only
plans the file's new text (:meth:`SysctlsResource.plan_files`); the
transaction writes it like every persisted file: atomically, once the
runtime values are verified, and restores it with them on any failure.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

from ansible_collections.hostnet.netif.plugins.module_utils import model, planner, reader
from ansible_collections.hostnet.netif.plugins.module_utils import resource as res
from ansible_collections.hostnet.netif.plugins.module_utils.errors import InputError

FAMILIES = ("ipv4", "ipv6")
SPECIAL = ("all", "default")
INT_MAX = 2147483647
# jiffies-backed keys: seconds * HZ must fit an int for HZ up to 1000
JIFFY_SECONDS_MAX = INT_MAX // 1000

CONFIG_OPTIONS = dict(
    name=dict(type="str", required=True),
    ipv4=dict(type="dict"),
    ipv6=dict(type="dict"),
)
EXTRA_ARGS = dict(
    persist=dict(type="bool", default=False),
    persist_file=dict(type="str", default="90-hostnet-netif.conf"),
)

_BOOL = {"minimum": 0, "maximum": 1}


def _range(low, high, **extra):
    spec = {"minimum": low, "maximum": high}
    spec.update(extra)
    return spec


def _fixed(why):
    return {"writable": False, "why": why}


# Accepted values per key (kernel Documentation/networking/ip-sysctl.rst; the
# kernel itself takes any int for most of them, these are the documented
# meanings). Measured on 6.18: addr_gen_mode 0..3, hop_limit 1..255,
# router_solicitations >= -1 and ipv6 mtu >= 1280 are enforced by the kernel;
# the MLD intervals are stored in jiffies (multiples of 100 ms read back
# exactly for HZ 100/250/300/1000).
VALUE_SPECS = {
    "ipv4": {
        "accept_local": _BOOL, "accept_redirects": _BOOL, "accept_source_route": _BOOL,
        "arp_accept": _range(0, 2), "arp_announce": _range(0, 2), "arp_filter": _BOOL,
        "arp_ignore": _range(0, 8), "arp_notify": _BOOL, "bootp_relay": _BOOL,
        "disable_policy": _BOOL, "disable_xfrm": _BOOL, "drop_gratuitous_arp": _BOOL,
        "drop_unicast_in_l2_multicast": _BOOL, "forwarding": _BOOL,
        "igmpv2_unsolicited_report_interval": _range(0, INT_MAX),
        "igmpv3_unsolicited_report_interval": _range(0, INT_MAX),
        "ignore_routes_with_linkdown": _BOOL, "log_martians": _BOOL,
        "mc_forwarding": _fixed("read-only: the kernel sets it while a multicast routing "
                                "daemon runs"),
        "medium_id": _range(-1, INT_MAX), "promote_secondaries": _BOOL, "proxy_arp": _BOOL,
        "proxy_arp_pvlan": _BOOL, "route_localnet": _BOOL, "rp_filter": _range(0, 2),
        "secure_redirects": _BOOL, "send_redirects": _BOOL, "shared_media": _BOOL,
        "src_valid_mark": _BOOL, "tag": _range(-INT_MAX - 1, INT_MAX),
    },
    "ipv6": {
        "accept_dad": _range(0, 2), "accept_ra": _range(0, 2), "accept_ra_defrtr": _BOOL,
        "accept_ra_from_local": _BOOL, "accept_ra_min_hop_limit": _range(0, 255),
        "accept_ra_mtu": _BOOL, "accept_ra_pinfo": _BOOL,
        "accept_ra_rt_info_max_plen": _range(0, 128),
        "accept_ra_rt_info_min_plen": _range(0, 128), "accept_ra_rtr_pref": _BOOL,
        "accept_redirects": _BOOL, "accept_source_route": _range(-1, 1),
        "addr_gen_mode": _range(0, 3), "autoconf": _BOOL, "dad_transmits": _range(0, INT_MAX),
        "disable_ipv6": _BOOL, "disable_policy": _BOOL, "drop_unicast_in_l2_multicast": _BOOL,
        "drop_unsolicited_na": _BOOL, "enhanced_dad": _BOOL, "force_forwarding": _BOOL,
        "force_mld_version": _range(0, 2),
        "forwarding": _BOOL, "hop_limit": _range(1, 255), "ignore_routes_with_linkdown": _BOOL,
        "keep_addr_on_down": _range(-1, 1), "max_addresses": _range(0, INT_MAX),
        "max_desync_factor": _range(0, INT_MAX),
        "mc_forwarding": _fixed("read-only: the kernel sets it while a multicast routing "
                                "daemon runs"),
        "mldv1_unsolicited_report_interval": _range(0, 2147483600, multipleOf=100),
        "mldv2_unsolicited_report_interval": _range(0, 2147483600, multipleOf=100),
        "mtu": _range(1280, 65535), "ndisc_notify": _BOOL, "proxy_ndp": _BOOL,
        "regen_max_retry": _range(0, INT_MAX),
        "router_probes": _fixed("not a sysctl of Linux (no such file in ip-sysctl.rst or "
                                "/proc/sys/net/ipv6/conf); readable only for completeness"),
        "router_solicitation_delay": _range(0, JIFFY_SECONDS_MAX),
        "router_solicitation_interval": _range(0, JIFFY_SECONDS_MAX),
        "router_solicitations": _range(-1, INT_MAX), "seg6_enabled": _BOOL,
        "suppress_frag_ndisc": _BOOL, "temp_prefered_lft": _range(0, INT_MAX),
        "temp_valid_lft": _range(0, INT_MAX), "use_oif_addrs_only": _BOOL,
        "use_tempaddr": _range(-1, 2),
    },
}
RESETTING_STATES = (res.REPLACED, res.OVERRIDDEN, res.DELETED)
# keys replaced/overridden/deleted never return to conf/default (see the docstring)
NOT_RESET = {"ipv4": frozenset(("mc_forwarding",)),
             "ipv6": frozenset(("mc_forwarding", "mtu", "router_probes"))}


def writable(family, key):
    spec = VALUE_SPECS.get(family, {}).get(key)
    return spec is not None and spec.get("writable", True)


def resettable_keys(family):
    return [k for k in model.CONF_KEYS[family] if writable(family, k)
            and k not in NOT_RESET[family]]


def check_value(family, key, value, path):
    """An allow-listed, writable key with a value in its range; raise InputError."""
    if key not in model.CONF_KEYS.get(family, ()):
        raise InputError(path, "%r is not an allowed per-interface %s sysctl (allowed: %s)"
                         % (key, family, ", ".join(model.CONF_KEYS[family])))
    spec = VALUE_SPECS[family][key]
    if not spec.get("writable", True):
        raise InputError(path, "cannot be set: %s" % spec["why"])
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(path, "expected an integer, found %r" % (value,))
    if not spec["minimum"] <= value <= spec["maximum"]:
        raise InputError(path, "must be between %d and %d, found %d"
                         % (spec["minimum"], spec["maximum"], value))
    step = spec.get("multipleOf")
    if step and value % step:
        raise InputError(path, "must be a multiple of %d (the kernel keeps it in jiffies), "
                               "found %d" % (step, value))
    return value


def full_names(params):
    """Predicate of the names whose every key a task needs (what it may reset, and
    ``default``, the reference), or None when it resets nothing."""
    params = params or {}
    state = params.get("state") or res.MERGED
    if state not in RESETTING_STATES:
        return None
    config = params.get("config") or []
    listed = set(item.get("name") for item in config if isinstance(item, dict))
    listed.add("default")
    in_scope = None
    if state == res.OVERRIDDEN or (state == res.DELETED and not config):
        try:
            in_scope = res.compile_scope(params.get("scope"))
        except InputError:
            in_scope = None  # the Runner reports the bad scope
    return lambda name: name in listed or (in_scope is not None and name not in SPECIAL
                                           and in_scope(name))


def check_item_name(name, path):
    if name in SPECIAL:
        return name
    return planner.check_name(name, path)


ALL_KEYS = ["%s.%s" % (f, k) for f in FAMILIES for k in model.CONF_KEYS[f]]


def needed_keys(params, reads_resets=False):
    """``ipv4.<key>``/``ipv6.<key>`` the reader must read on every interface (allow-listed).

    ``gathered`` reads them all; the other states the keys the config names.
    Resets need every key, but only of the interfaces they reset: with
    ``reads_resets`` the resource reads those itself (see ``full_names``),
    else the reader reads every key everywhere.
    """
    params = params or {}
    state = params.get("state") or res.MERGED
    if state == res.GATHERED or (state in RESETTING_STATES and not reads_resets):
        return list(ALL_KEYS)
    keys = []
    for item in params.get("config") or []:
        if not isinstance(item, dict):
            continue
        for family in FAMILIES:
            values = item.get(family)
            if not isinstance(values, dict):
                continue
            for key in values:
                dotted = "%s.%s" % (family, key)
                if key in model.CONF_KEYS[family] and dotted not in keys:
                    keys.append(dotted)
    return keys


# ---------------------------------------------------------------------------
# sysctl text (`sysctl -a`, sysctl.d files)
# ---------------------------------------------------------------------------
_LINE = re.compile(r"^\s*-?\s*net(?P<sep>[./])(?P<family>ipv4|ipv6)[./]conf[./](?P<rest>\S+?)\s*=\s*"
                   r"(?P<value>.*?)\s*$")


def parse_line(line):
    """(name, family, key, value) of a ``net.<family>.conf.<name>.<key> = value`` line, else None.

    Both spellings of sysctl.d(5): first separator ``.`` (a ``/`` in the name
    stands for a dot) or ``/`` (the name is as it is).
    """
    match = _LINE.match(line)
    if not match:
        return None
    rest, family = match.group("rest"), match.group("family")
    if match.group("sep") == ".":
        name, dot, key = rest.rpartition(".")
        name = name.replace("/", ".")
    else:
        name, dot, key = rest.rpartition("/")
    if not dot or key not in model.CONF_KEYS[family]:
        return None
    if name not in SPECIAL and model.interface_name_error(name):
        return None
    text = match.group("value")
    try:
        value = int(text)
    except ValueError:
        return None
    return name, family, key, value


def _check_skipped_line(line, path):
    """Refuse an allowed key whose value is no integer (parse_line skips it)."""
    match = _LINE.match(line)
    if match is None or not match.group("value"):
        return
    key = match.group("rest").rpartition("." if match.group("sep") == "." else "/")[2]
    if key in model.CONF_KEYS[match.group("family")]:
        raise InputError(path, "%s: expected an integer value, found %r"
                         % (line.split("=", 1)[0].strip(), match.group("value")))


def format_line(name, family, key, value):
    """The sysctl.d line for one value (dots in the name spelled ``/``)."""
    if name in SPECIAL:
        return "net.%s.conf.%s.%s = %s" % (family, name, key, value)
    return "-net.%s.conf.%s.%s = %s" % (family, name.replace(".", "/"), key, value)


def parse_text(text):
    """A facts-like document from ``sysctl -a`` / sysctl.d text (for state=parsed)."""
    if not isinstance(text, str):
        raise InputError("running_config", "expected the text of `sysctl -a` or a sysctl.d "
                                           "file, found %s" % type(text).__name__)
    if text.lstrip().startswith(("[", "{")):
        raise InputError("running_config", "expected the text of `sysctl -a` or a sysctl.d "
                                           "file, found JSON (`ip -json` captures belong to "
                                           "hostnet.netif.interfaces and addresses)")
    interfaces, host = {}, {}
    for number, line in enumerate(text.splitlines(), 1):
        parsed = parse_line(line)
        if parsed is None:
            _check_skipped_line(line, "running_config line %d" % number)
            continue
        name, family, key, value = parsed
        if name in SPECIAL:
            host["net.%s.conf.%s.%s" % (family, name, key)] = value
            continue
        iface = interfaces.setdefault(name, {"sysctl": {"ipv4": {}, "ipv6": {}}})
        iface["sysctl"][family][key] = value
    return {"interfaces": interfaces, "sysctl": host}


# ---------------------------------------------------------------------------
# the persist file
# ---------------------------------------------------------------------------
SYSCTL_D = "/etc/sysctl.d"
DIR_ENV = "HOSTNET_NETIF_SYSCTL_DIR"
HEADER = "# Managed by Ansible (hostnet.netif.sysctls persist: true); edits to these keys are overwritten."
_FILE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+@-]*\.conf$")


def file_name_error(name):
    """Why ``name`` cannot be a sysctl.d file name, or None."""
    if not isinstance(name, str) or not name:
        return "expected a file name"
    if "/" in name or "\x00" in name:
        return "must be a bare file name (no '/')"
    if ".." in name:
        return "must not contain '..'"
    if len(name.encode("utf-8", "surrogateescape")) > 255:
        return "must be at most 255 bytes"
    if not _FILE_NAME.match(name):
        return ("must start with a letter, digit or '_', hold only letters, digits and "
                "'_.+@-', and end in .conf (sysctl.d reads only *.conf)")
    return None


def persist_directory(environ):
    """/etc/sysctl.d, or the absolute directory in HOSTNET_NETIF_SYSCTL_DIR (tests)."""
    override = environ.get(DIR_ENV)
    if not override:
        return SYSCTL_D
    if not os.path.isabs(override) or not os.path.isdir(override):
        raise InputError(DIR_ENV, "must name an existing absolute directory, found %r" % (override,))
    return override


class PersistFile:
    """One sysctl.d file: its path and its text (pure; the transaction reads and writes it)."""

    def __init__(self, directory, name):
        problem = file_name_error(name)
        if problem:
            raise InputError("persist_file", "%r %s" % (name, problem))
        self.directory = directory
        self.name = name
        self.path = os.path.join(directory, name)

    @staticmethod
    def split(text):
        """(foreign lines, {(name, family, key): value}) of a file's text."""
        foreign, entries = [], {}
        for line in (text or "").splitlines():
            if line.strip() == HEADER:
                continue
            parsed = parse_line(line)
            if parsed is None or not line.lstrip().startswith(("net.", "-net.")):
                foreign.append(line)
                continue
            name, family, key, value = parsed
            entries[(name, family, key)] = value
        return foreign, entries

    @staticmethod
    def render(foreign, entries):
        """The file's text; None when nothing but the header would be left."""
        if not entries and not any(line.strip() for line in foreign):
            return None

        def order(item):
            (name, family, key), dummy = item
            return (SPECIAL.index(name) if name in SPECIAL else len(SPECIAL), name, family, key)

        lines = [HEADER] + list(foreign)
        lines += [format_line(n, f, k, v) for (n, f, k), v in sorted(entries.items(), key=order)]
        return "\n".join(lines) + "\n"


def _clobbered_by(ops):
    """A test ``(family, name, key) -> bool`` for the keys the kernel rewrites when
    ``ops`` change conf/all/forwarding or conf/all/force_forwarding, or None when
    they do not.

    IPv4 (devinet.c inet_forward_change): default and every interface get the new
    forwarding, conf/all/accept_redirects the opposite value. IPv6 (addrconf.c):
    default and every interface get the new forwarding, and (measured on 6.18)
    1 -> 0 clears every interface's force_forwarding; all/force_forwarding sets
    every interface's.
    """
    written = set((op.family, op.key) for op in ops
                  if op.dev == "all" and op.key in planner.FORWARDING_KEYS)
    if not written:
        return None

    def clobbered(family, name, key):
        if name == "all":
            return (family, key) == ("ipv4", "accept_redirects") and ("ipv4", "forwarding") in written
        if key == "forwarding":
            return (family, "forwarding") in written
        if (family, key) == ("ipv6", "force_forwarding"):
            return bool(written & set((("ipv6", "forwarding"), ("ipv6", "force_forwarding"))))
        return False
    return clobbered


# ---------------------------------------------------------------------------
# the resource
# ---------------------------------------------------------------------------
class SysctlsResource(res.Resource):
    plans_missing_in_check_mode = True
    name = "sysctls"
    key = "name"
    gather_subset = ("links",)

    def __init__(self, params=None, persist=None, files=None):
        # files (a reader.HostFiles): read every key of the names a reset may touch here,
        # instead of every key of every interface through the reader (1,000 interfaces:
        # 75,000 files, seconds)
        self._files = files
        self._full = full_names(params) if files is not None else None
        self.sysctl_keys = needed_keys(params, reads_resets=self._full is not None)
        self.persist = persist  # the sysctl.d file (a PersistFile), or None

    # -- reading -------------------------------------------------------------
    def parse_running_config(self, text):
        document = parse_text(text)
        document["_capture"] = True  # a capture may leave keys out: planned, not refused
        return document

    def current(self, facts):
        items = res.Items(mtu={}, capture=bool(facts.get("_capture")))
        for name, iface in (facts.get("interfaces") or {}).items():
            sysctl = iface.get("sysctl") or {}
            items[name] = {"name": name, "ipv4": dict(sysctl.get("ipv4") or {}),
                           "ipv6": dict(sysctl.get("ipv6") or {})}
            if iface.get("mtu") is not None:
                items.context["mtu"][name] = iface["mtu"]
        host = facts.get("sysctl") or {}
        for which in SPECIAL:
            item = {"name": which, "ipv4": {}, "ipv6": {}}
            for family in FAMILIES:
                prefix = "net.%s.conf.%s." % (family, which)
                for dotted, value in host.items():
                    if dotted.startswith(prefix):
                        item[family][dotted[len(prefix):]] = value
            items[which] = item
        if self._full is not None:
            self._read_all_keys(items)
        return items

    def _read_all_keys(self, items):
        for name, item in items.items():
            if not self._full(name):
                continue
            for family in FAMILIES:
                missing = [k for k in model.CONF_KEYS[family] if k not in item[family]]
                if not missing:
                    continue
                try:
                    item[family].update(self._files.conf_values(family, name, missing))
                except reader.Vanished:
                    break  # gone meanwhile: the keys read as absent

    def to_config(self, item):
        out = {"name": item["name"]}
        for family in FAMILIES:
            values = dict((k, v) for k, v in (item.get(family) or {}).items() if v is not None)
            if values:
                out[family] = values
        return out

    # -- input ---------------------------------------------------------------
    def desired(self, config, current, state, offline=False, assume_created=False):
        result, seen = {}, {}
        for index, raw in enumerate(config):
            path = "config[%d]" % index
            if not isinstance(raw, dict):
                raise InputError(path, "expected a dict, found %r" % (raw,))
            for field in raw:
                if field not in CONFIG_OPTIONS:
                    raise InputError("%s.%s" % (path, field), "no such option (allowed: %s)"
                                     % ", ".join(CONFIG_OPTIONS))
            name = check_item_name(raw.get("name"), path + ".name")
            if name in seen:
                raise InputError(path + ".name", "%s is listed twice (also %s)" % (name, seen[name]))
            seen[name] = path
            if state == res.DELETED and name in SPECIAL:
                raise InputError(path + ".name", "%s has no default to return to; set the values "
                                                 "you want with state=merged" % name)
            item = {"name": name, "_path": path, "_families": []}
            for family in FAMILIES:
                values = raw.get(family)
                item[family] = {}
                if values is None:
                    continue
                if not isinstance(values, dict):
                    raise InputError("%s.%s" % (path, family), "expected a dict of key: value, "
                                                               "found %r" % (values,))
                item["_families"].append(family)
                for key in sorted(values):
                    where = "%s.%s.%s" % (path, family, key)
                    item[family][key] = check_value(family, key, values[key], where)
                    if state == res.DELETED and key in NOT_RESET[family]:
                        raise InputError(where, "is never reset (it has no default to return "
                                                "to); set it with state=merged")
            result[name] = item
        if not offline:  # input errors first (all items), then what the host says
            for item in result.values():
                if assume_created and item["name"] not in current:
                    continue
                self._check_against_host(item, item["_path"], current)
        return result

    def _check_against_host(self, item, path, current):
        name = item["name"]
        cur = current.get(name)
        context = getattr(current, "context", {})
        mtu, capture = context.get("mtu") or {}, context.get("capture")
        if cur is None:
            raise InputError(path + ".name", "interface %s does not exist" % name)
        for family in FAMILIES:
            for key, value in item[family].items():
                where = "%s.%s.%s" % (path, family, key)
                if cur[family].get(key) is None and not capture:
                    raise InputError(where, "this host's kernel has no net.%s.conf.%s.%s"
                                     % (family, name.replace(".", "/"), key))
                if family == "ipv6" and key == "mtu" and name in mtu and value > mtu[name]:
                    raise InputError(where, "%d exceeds the link MTU of %s (%d)"
                                     % (value, name, mtu[name]))

    # -- planning ------------------------------------------------------------
    def _defaults(self, current, name, families):
        """{family: {key: conf/default value}} for the resettable keys of ``families``."""
        reference = current.get("default") or {}
        cur = current.get(name) or {}
        result = {}
        for family in families:
            result[family] = {}
            for key in resettable_keys(family):
                value = (reference.get(family) or {}).get(key)
                if value is None or (cur.get(family) or {}).get(key) is None:
                    continue
                result[family][key] = value
        return result

    def target(self, current, desired, state, in_scope):
        """Plan.target, plus ``asked`` {name: {family: [keys]}} (the keys planned and
        verified), ``resets`` {name: {(family, key)}} and, for the persist file,
        ``persist_set`` {(name, family, key): value} and ``persist_drop`` [(name or a
        scope predicate, family or None, key or None)]."""
        plan = res.Plan(asked={}, persist_set={}, persist_drop=[])
        target = plan.target
        for name, want in desired.items():
            asked = dict((f, dict(want[f])) for f in FAMILIES)
            reset = set()
            if state == res.DELETED:
                families = want["_families"] or list(FAMILIES)
                defaults = self._defaults(current, name, families)
                asked = dict((f, {}) for f in FAMILIES)
                for family in families:
                    keys = list(want[family]) or list(defaults[family])
                    for key in keys:
                        if key in defaults[family]:
                            asked[family][key] = defaults[family][key]
                            reset.add((family, key))
                        plan.persist_drop.append((name, family, key))
            elif state in (res.REPLACED, res.OVERRIDDEN) and name not in SPECIAL:
                defaults = self._defaults(current, name, FAMILIES)
                for family in FAMILIES:
                    for key, value in defaults[family].items():
                        if key not in asked[family]:
                            asked[family][key] = value
                            reset.add((family, key))
                plan.persist_drop.append((name, None, None))
            if state != res.DELETED:
                for family in FAMILIES:
                    for key, value in want[family].items():
                        plan.persist_set[(name, family, key)] = value
            target[name] = self._item(plan, current, name, asked, reset)
        whole_scope = state == res.OVERRIDDEN or (state == res.DELETED and not desired)
        if whole_scope and in_scope is not None:
            for name in sorted(current):
                if name in desired or name in SPECIAL or not in_scope(name):
                    continue
                asked = self._defaults(current, name, FAMILIES)
                reset = set((f, k) for f in FAMILIES for k in asked[f])
                item = self._item(plan, current, name, asked, reset)
                if state == res.OVERRIDDEN or self._changes(plan, current, name, item):
                    target[name] = item
            plan.persist_drop.append((in_scope, None, None))
        return plan

    @staticmethod
    def _item(plan, current, name, asked, reset):
        cur = current.get(name) or {"ipv4": {}, "ipv6": {}}
        item = {"name": name}
        for family in FAMILIES:
            values = dict(cur.get(family) or {})
            values.update(asked[family])
            item[family] = values
        plan.asked[name] = dict((f, sorted(asked[f])) for f in FAMILIES)
        plan.resets[name] = reset
        return item

    @staticmethod
    def _changes(plan, current, name, item):
        cur = current.get(name) or {}
        return any((cur.get(f) or {}).get(k) != item[f][k]
                   for f in FAMILIES for k in plan.asked[name][f])

    def ops(self, current, plan):
        ops = []
        target = plan.target
        names = [n for n in SPECIAL if n in target] + sorted(n for n in target if n not in SPECIAL)
        for forced in (False, True):
            # second pass: keys a planned write of conf/all/forwarding changes as a side
            # effect are written even where they hold the wanted value now
            clobbered = _clobbered_by(ops) if forced else None
            if forced and not clobbered:
                break
            planned = set((op.family, op.dev, op.key) for op in ops)
            for name in names:
                want = target[name]
                if want is None:
                    continue
                cur = current.get(name) or {}
                asked = plan.asked.get(name) or {}
                for family in FAMILIES:
                    for key in asked.get(family, ()):
                        value = want[family][key]
                        if forced:
                            if (family, name, key) in planned or not clobbered(family, name, key):
                                continue
                        elif (cur.get(family) or {}).get(key) == value:
                            continue
                        ops.append(planner.SysctlOp(family, name, key, value,
                                                    reset=(family, key) in plan.resets.get(name, ()),
                                                    field="%s.%s" % (family, key)))
        return ops

    # -- persistence -----------------------------------------------------------
    def plan_files(self, current, plan, read, after=None):
        """{path: new text or None (nothing left)} of the persist file, from its text now
        (the values planned: the same before and after the apply)."""
        if self.persist is None:
            return {}
        foreign, entries = PersistFile.split(read(self.persist.path))
        return {self.persist.path: PersistFile.render(foreign, self.persisted(plan, entries))}

    @staticmethod
    def persisted(plan, entries):
        """The persist file's entries after this task (from what target() decided)."""
        result = {}
        for (name, family, key), value in entries.items():
            dropped = False
            for who, fam, k in plan.persist_drop:
                matches = who(name) and name not in SPECIAL if callable(who) else who == name
                if matches and fam in (None, family) and k in (None, key):
                    dropped = True
                    break
            if not dropped:
                result[(name, family, key)] = value
        result.update(plan.persist_set)
        return result


# ---------------------------------------------------------------------------
# the task
# ---------------------------------------------------------------------------
def run(params, host, check_mode=False, diff=False, environ=None, lock=None):
    """The sysctls task: the resource state machine, the persist file written by the same
    transaction as the runtime values; raises NetifError."""
    state = params.get("state") or res.MERGED
    persist = None
    if params.get("persist") and state in res.CHANGING_STATES:
        persist = PersistFile(persist_directory(os.environ if environ is None else environ),
                              params.get("persist_file") or EXTRA_ARGS["persist_file"]["default"])
    files = None
    if host is not None and state in RESETTING_STATES:
        files = host.files if getattr(host, "files", None) is not None else reader.HostFiles()
    result = res.Runner(SysctlsResource(params, persist, files), params, host=host,
                        check_mode=check_mode, diff=diff, lock=lock).run()
    written = result.pop("files", None)
    if persist is not None:
        result["persist"] = {"path": persist.path,
                             "changed": any(f["changed"] for f in written or ())}
    return result
