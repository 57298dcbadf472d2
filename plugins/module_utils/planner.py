# -*- coding: utf-8 -*-
# Copyright: hostnet.netif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one write plan: Op objects that render to ``ip -batch`` lines (stdlib only).

A resource turns (current, desired, state) into a list of :class:`Op`;
:func:`order` sorts them so the kernel accepts them in one ``ip -batch -``
run; :func:`render` gives the exact lines. Every value is re-validated here
on the target before it becomes a batch token: the controller's checks are
never trusted alone.

How ``ip -batch`` tokenises a line (iproute2 ``getcmdline`` + ``makeargs``):
everything from the first ``#`` on is a comment, a line ending in ``\\``
continues on the next line, words are split on space/tab/CR/LF, and a word
that *starts* with ``"`` or ``'`` runs to the next identical quote; there is
no escape character. So a plain token must contain none of those, and a
quoted value (only the alias needs one) is wrapped in whichever quote it does
not contain and may never contain ``#`` or a line break.

Ordering (:data:`PHASES`): deletions (children before parents) → releases
from a master → address removals → creations (parents before children) →
downs → attribute changes (MAC etc.) → MTU lowering (children first) → MTU
raising (parents first) → enslaving → ups (parents first) → address
additions → sysctl writes (``forwarding`` first, ``all`` before the rest: its
writes change other keys). "depth" is the length of an interface's parent
chain (vlan/macvlan/vxlan lower device), computed by the resource.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re

from ansible_collections.hostnet.netif.plugins.module_utils import model
from ansible_collections.hostnet.netif.plugins.module_utils.errors import InputError

# ---------------------------------------------------------------------------
# actions and their phases
# ---------------------------------------------------------------------------
DELETE = "delete"
RELEASE = "release"
ADDR_DEL = "addr_del"
CREATE = "create"
DOWN = "down"
SET = "set"
MAC = "mac"
MTU_LOWER = "mtu_lower"
MTU_RAISE = "mtu_raise"
ENSLAVE = "enslave"
UP = "up"
ADDR_ADD = "addr_add"
SYSCTL = "sysctl"

PHASES = (DELETE, RELEASE, ADDR_DEL, CREATE, DOWN, MAC, SET, MTU_LOWER, MTU_RAISE,
          ENSLAVE, UP, ADDR_ADD, SYSCTL)
_PHASE_INDEX = dict((action, index) for index, action in enumerate(PHASES))
# phases whose ops run deepest interface first
_CHILDREN_FIRST = frozenset((DELETE, MTU_LOWER, RELEASE))

# value limits (kernel types)
U32_MAX = 4294967295
MTU_MIN, MTU_MAX = 68, 65536   # 65536: loopback's default
ALIAS_MAX_BYTES = 255          # IFALIASZ - 1
VNI_MAX = 16777215
VLAN_ID_MIN, VLAN_ID_MAX = 1, 4094

MACVLAN_MODES = ("private", "vepa", "bridge", "passthru", "source")
BOND_MODES = ("balance-rr", "active-backup", "balance-xor", "broadcast", "802.3ad",
              "balance-tlb", "balance-alb")
CREATABLE_KINDS = ("veth", "bridge", "macvlan", "vxlan", "vlan", "dummy", "bond")
# kinds that accept a MAC change while up (IFF_LIVE_ADDR_CHANGE or their own
# ndo_set_mac_address); others are taken down around the change.
LIVE_MAC_KINDS = frozenset(("veth", "bridge", "macvlan", "vxlan", "vlan", "dummy", "bond"))
# kinds whose ports must be down to be enslaved
DOWN_TO_ENSLAVE_MASTER_KINDS = frozenset(("bond",))

MAC_RE = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
_UNSAFE_TOKEN = re.compile(r"[\s\"'#\\\x00-\x1f\x7f]")
_NAME_METACHARS = re.compile(r"[$;|&<>(){}`*?\[\]!~]")
_UNSAFE_QUOTED = re.compile(r"[#\r\n]")


# ---------------------------------------------------------------------------
# value checks (raise InputError naming the field path)
# ---------------------------------------------------------------------------
def check_name(value, path):
    """A valid interface name that is also a safe ``ip -batch`` token.

    Stricter than the kernel on purpose: names holding shell or glob
    metacharacters are legal to the kernel but are refused for changes (they
    are what an injection attempt looks like, and globs would be ambiguous
    next to ``scope``).
    """
    problem = model.interface_name_error(value)
    if problem:
        raise InputError(path, "interface name %r %s" % (value, problem))
    if not model.name_is_plain(value):
        raise InputError(path, "interface name %r holds a backslash, a control or other "
                               "non-printable character, or bytes that are not UTF-8 (the facts "
                               "spell such names escaped, with name_hex); such interfaces are "
                               "read and audited but never changed" % (value,))
    check_token(value, path)
    if _NAME_METACHARS.search(value):
        raise InputError(path, "interface name %r contains a shell or glob metacharacter "
                               "($ ; | & < > ( ) { } ` * ? [ ] ! ~), refused for changes" % (value,))
    return value


def check_token(value, path):
    """A string that ip -batch reads as exactly one word."""
    if not isinstance(value, str) or not value:
        raise InputError(path, "expected a non-empty string, found %r" % (value,))
    if _UNSAFE_TOKEN.search(value):
        raise InputError(path, "%r contains whitespace, a quote, '#', a backslash or a "
                               "control character, which ip -batch cannot carry" % (value,))
    return value


def check_int(value, path, low, high):
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(path, "expected an integer, found %r" % (value,))
    if not low <= value <= high:
        raise InputError(path, "must be between %d and %d, found %d" % (low, high, value))
    return value


def check_bool(value, path):
    if not isinstance(value, bool):
        raise InputError(path, "expected true or false, found %r" % (value,))
    return value


def check_choice(value, path, choices):
    if value not in choices:
        raise InputError(path, "expected one of %s, found %r" % (", ".join(choices), value))
    return value


def check_mac(value, path):
    """Lowercase colon form, unicast, not all-zero (the controller normalises first)."""
    if not isinstance(value, str) or not MAC_RE.match(value):
        raise InputError(path, "expected a MAC address like 02:00:5e:10:00:01, found %r" % (value,))
    first = int(value[:2], 16)
    if first & 1:
        raise InputError(path, "%s is a multicast address; an interface needs a unicast MAC" % value)
    if value == "00:00:00:00:00:00":
        raise InputError(path, "the all-zero MAC cannot be assigned")
    return value


def check_ip(value, path, multicast=None):
    """An IPv4/IPv6 address (no prefix); returns its canonical text."""
    if not isinstance(value, str):
        raise InputError(path, "expected an IP address, found %r" % (value,))
    if "%" in value or _UNSAFE_TOKEN.search(value):
        # Python 3.9+ accepts an IPv6 zone id ("fe80::1%any text"), which would reach
        # the batch line as it is; ip takes none where addresses are set
        raise InputError(path, "expected an IP address without a zone id (%%...), whitespace "
                               "or '#', found %r" % (value,))
    try:
        parsed = ipaddress.ip_address(value)
    except ValueError:
        raise InputError(path, "expected an IP address, found %r" % (value,))
    if multicast is False and parsed.is_multicast:
        raise InputError(path, "%s is a multicast address" % value)
    if multicast is True and not parsed.is_multicast:
        raise InputError(path, "%s is not a multicast address" % value)
    return str(parsed)


def check_interface_cidr(value, path):
    """``address/prefixlen`` of an interface address; returns canonical text."""
    if not isinstance(value, str) or "/" not in value:
        raise InputError(path, "expected address/prefixlen, found %r" % (value,))
    try:
        iface = ipaddress.ip_interface(value)
    except ValueError:
        raise InputError(path, "expected address/prefixlen, found %r" % (value,))
    return "%s/%d" % (iface.ip, iface.network.prefixlen)


class ExactAlias(str):
    """An alias as the host had it (from ``alias_hex``), for putting it back on restore.

    It may hold what input may not (model.ALIAS_UNSAFE: raw control characters,
    bytes that are not UTF-8 as surrogateescape surrogates); ip -batch carries
    them inside quotes. Never given to results: link_state(exact=True) is for
    restore plans only.
    """


def quote_alias(value, path):
    """Quote an alias for ip -batch, or raise InputError when it cannot be carried.

    Spaces, tabs and non-ASCII text are fine inside quotes; ``#``, line breaks
    and a value holding both quote characters are not (ip -batch has no escape).
    C0 controls but tab, DEL, C1 controls and U+2028/U+2029 are refused too: an
    alias holding them would be printed raw by ``ip -json`` and escaped in the
    facts (model.ALIAS_UNSAFE), so a task could never see it as set.
    """
    if not isinstance(value, str):
        raise InputError(path, "expected a string, found %r" % (value,))
    if _UNSAFE_QUOTED.search(value):
        raise InputError(path, "%r contains '#' or a line break, which ip -batch cannot carry"
                         % (value,))
    unsafe = None if isinstance(value, ExactAlias) else model.ALIAS_UNSAFE.search(value)
    if unsafe:
        raise InputError(path, "%r contains %r at position %d; an alias may not hold C0/C1 "
                               "control characters (tab excepted), DEL, line separators or "
                               "bytes that are not UTF-8" % (value, unsafe.group(), unsafe.start()))
    if len(value.encode("utf-8", "surrogateescape")) > ALIAS_MAX_BYTES:
        raise InputError(path, "must be at most %d bytes" % ALIAS_MAX_BYTES)
    if '"' in value and "'" in value:
        raise InputError(path, "%r contains both quote characters; ip -batch can carry "
                               "one kind of quote but not both" % (value,))
    quote = "'" if '"' in value else '"'
    return quote + value + quote


# ---------------------------------------------------------------------------
# ops
# ---------------------------------------------------------------------------
class Op:
    """One planned change.

    ``action``   one of PHASES (what it does; decides its phase and is what the
                 guard inspects), ``dev`` the interface it acts on, ``words``
                 the ip -batch tokens (already validated/quoted), ``depth`` the
                 parent-chain depth of ``dev`` (ordering), ``field`` the config
                 field it comes from, ``value`` the new value, ``reset`` True
                 when it returns an attribute to its default (overridden/deleted),
                 ``creates`` / ``deletes`` the interface names it makes or removes
                 (a veth pair is two), ``address`` the CIDR for address ops.
    """

    batch = True

    def __init__(self, action, dev, words, depth=0, field=None, value=None, reset=False,
                 creates=(), deletes=(), address=None, master_kind=None):
        if action not in _PHASE_INDEX:
            raise ValueError("unknown op action %r" % (action,))
        self.action = action
        self.dev = dev
        self.words = tuple(words)
        self.depth = depth
        self.field = field
        self.value = value
        self.reset = reset
        self.creates = tuple(creates)
        self.deletes = tuple(deletes)
        self.address = address
        self.master_kind = master_kind

    def render(self):
        """The exact ip -batch line (no trailing newline)."""
        return " ".join(self.words)

    def sort_key(self):
        depth = -self.depth if self.action in _CHILDREN_FIRST else self.depth
        return (_PHASE_INDEX[self.action], depth)

    def __repr__(self):
        return "<Op %s %s: %s>" % (self.action, self.dev, self.render())

    def __eq__(self, other):
        return isinstance(other, Op) and self.render() == other.render() \
            and self.action == other.action

    def __ne__(self, other):
        return not self == other

    def __hash__(self):
        return hash((self.action, self.render()))


# sysctl keys whose writes change other keys (see SysctlOp.sort_key)
FORWARDING_KEYS = ("forwarding", "force_forwarding")


class SysctlOp(Op):
    """A per-interface sysctl write, applied by the transaction after the batch.

    ``family`` ipv4/ipv6, ``dev`` an interface name or ``all``/``default``,
    ``key`` from model.CONF_KEYS, ``value`` an int or string. Rendered as the
    equivalent ``sysctl -w`` for display (dots in the name become ``/``).
    """

    batch = False

    def __init__(self, family, dev, key, value, reset=False, field=None):
        if family not in model.CONF_KEYS:
            raise InputError(field or "family", "unknown family %r" % (family,))
        if key not in model.CONF_KEYS[family]:
            raise InputError(field or "key", "%r is not an allowed %s sysctl" % (key, family))
        if dev not in ("all", "default"):
            check_name(dev, field or "name")
        text = str(value)
        if not text or _UNSAFE_TOKEN.search(text):
            raise InputError(field or "value", "unsafe sysctl value %r" % (value,))
        super(SysctlOp, self).__init__(SYSCTL, dev, (), field=field, value=value, reset=reset)
        self.family = family
        self.key = key

    def sort_key(self):
        # Writing forwarding has side effects on other keys: conf/all/forwarding
        # (= net.ipv4.ip_forward) sets every interface's forwarding, flips
        # conf/all/accept_redirects (IPv4; 1 -> 0 sets it to 1) and clears
        # force_forwarding (IPv6; all.force_forwarding sets every interface's).
        # Written first (all before the rest), the task's other keys win.
        if self.key in FORWARDING_KEYS:
            rank = 0 if self.dev == "all" else 1
        else:
            rank = 2
        return (_PHASE_INDEX[self.action], rank, self.depth)

    @property
    def path_parts(self):
        return (self.family, "conf", self.dev, self.key)

    def render(self):
        return "sysctl -w net.%s.conf.%s.%s=%s" % (
            self.family, self.dev.replace(".", "/"), self.key, self.value)


def order(ops):
    """Sort ops into a kernel-acceptable order; stable within a phase/depth."""
    indexed = list(enumerate(ops))
    indexed.sort(key=lambda pair: (pair[1].sort_key(), pair[0]))
    return [op for dummy, op in indexed]


def render(ops):
    """The ip -batch lines of ``ops`` (already ordered), sysctl writes excluded."""
    return [op.render() for op in ops if op.batch]


def describe(ops):
    """Every op as text, batch lines and sysctl writes alike (the ``commands`` result)."""
    return [op.render() for op in ops]


# ---------------------------------------------------------------------------
# op builders (values validated here, on the target)
# ---------------------------------------------------------------------------
def link_delete(name, depth=0, also=()):
    check_name(name, "name")
    return Op(DELETE, name, ("link", "delete", "dev", name), depth=depth,
              deletes=(name,) + tuple(also))


def link_create(name, kind, params, depth=0, path="config"):
    """``link add`` for a creatable kind; ``params`` holds the kind's fields.

    veth: peer; macvlan: parent, mode; vxlan: vni, parent, dstport, local,
    remote (unicast -> ``remote``, multicast -> ``group``); vlan: parent,
    vlan_id; bond: mode; bridge/dummy: none.
    """
    check_name(name, path + ".name")
    check_choice(kind, path + ".kind", CREATABLE_KINDS)
    creates = [name]
    if kind == "veth":
        peer = check_name(params.get("peer"), path + ".peer")
        words = ["link", "add", "name", name, "type", "veth", "peer", "name", peer]
        creates.append(peer)
    elif kind in ("bridge", "dummy"):
        words = ["link", "add", "name", name, "type", kind]
    elif kind == "bond":
        words = ["link", "add", "name", name, "type", "bond"]
        if params.get("mode") is not None:
            words += ["mode", check_choice(params["mode"], path + ".mode", BOND_MODES)]
    elif kind == "macvlan":
        parent = check_name(params.get("parent"), path + ".parent")
        words = ["link", "add", "link", parent, "name", name, "type", "macvlan"]
        words += ["mode", check_choice(params.get("mode") or "bridge", path + ".mode",
                                       MACVLAN_MODES)]
    elif kind == "vlan":
        parent = check_name(params.get("parent"), path + ".parent")
        vid = check_int(params.get("vlan_id"), path + ".vlan_id", VLAN_ID_MIN, VLAN_ID_MAX)
        words = ["link", "add", "link", parent, "name", name, "type", "vlan", "id", str(vid)]
    else:  # vxlan
        vni = check_int(params.get("vni"), path + ".vni", 0, VNI_MAX)
        dstport = params.get("dstport")
        dstport = 4789 if dstport is None else dstport
        words = ["link", "add", "name", name, "type", "vxlan", "id", str(vni),
                 "dstport", str(check_int(dstport, path + ".dstport", 1, 65535))]
        if params.get("parent") is not None:
            words += ["dev", check_name(params["parent"], path + ".parent")]
        if params.get("local") is not None:
            words += ["local", check_ip(params["local"], path + ".local", multicast=False)]
        if params.get("remote") is not None:
            remote = check_ip(params["remote"], path + ".remote")
            words += ["group" if ipaddress.ip_address(remote).is_multicast else "remote", remote]
    return Op(CREATE, name, words, depth=depth, creates=creates, value=kind)


def link_set(name, field, value, depth=0, reset=False, path="config", current_mtu=None,
             master_kind=None):
    """One attribute change as an Op; ``field`` is an interfaces config key.

    ``mtu`` needs ``current_mtu`` (None when unknown, treated as a raise) to
    choose between the lowering and the raising phase.
    """
    check_name(name, path + ".name")
    where = "%s.%s" % (path, field)
    prefix = ("link", "set", "dev", name)
    if field == "enabled":
        check_bool(value, where)
        return Op(UP if value else DOWN, name, prefix + (("up",) if value else ("down",)),
                  depth=depth, field=field, value=value, reset=reset)
    if field == "mtu":
        check_int(value, where, MTU_MIN, MTU_MAX)
        action = MTU_LOWER if current_mtu is not None and value < current_mtu else MTU_RAISE
        return Op(action, name, prefix + ("mtu", str(value)), depth=depth, field=field,
                  value=value, reset=reset)
    if field == "mac":
        check_mac(value, where)
        return Op(MAC, name, prefix + ("address", value), depth=depth, field=field,
                  value=value, reset=reset)
    if field == "txqueuelen":
        check_int(value, where, 0, U32_MAX)
        return Op(SET, name, prefix + ("txqueuelen", str(value)), depth=depth, field=field,
                  value=value, reset=reset)
    if field == "group":
        check_int(value, where, 0, U32_MAX)
        return Op(SET, name, prefix + ("group", str(value)), depth=depth, field=field,
                  value=value, reset=reset)
    if field == "alias":
        return Op(SET, name, prefix + ("alias", quote_alias(value or "", where)), depth=depth,
                  field=field, value=value or "", reset=reset)
    if field in ("promisc", "multicast", "allmulticast", "arp"):
        check_bool(value, where)
        return Op(SET, name, prefix + (field, "on" if value else "off"), depth=depth,
                  field=field, value=value, reset=reset)
    if field == "master":
        if value:
            check_name(value, where)
            return Op(ENSLAVE, name, prefix + ("master", value), depth=depth, field=field,
                      value=value, reset=reset, master_kind=master_kind)
        return Op(RELEASE, name, prefix + ("nomaster",), depth=depth, field=field,
                  value=None, reset=reset)
    raise InputError(where, "is not a link attribute")


def address_op(add, dev, cidr, depth=0, path="config", broadcast=None, peer=None, label=None):
    """``address add|del CIDR dev NAME`` (for the addresses resource and rollback)."""
    check_name(dev, path + ".name")
    cidr = check_interface_cidr(cidr, path + ".address")
    words = ["address", "add" if add else "del", cidr]
    if peer:
        words += ["peer", check_interface_cidr(peer, path + ".peer") if "/" in peer
                  else check_ip(peer, path + ".peer")]
    if broadcast:
        words += ["broadcast", check_ip(broadcast, path + ".broadcast")]
    words += ["dev", dev]
    if label:
        words += ["label", check_token(label, path + ".label")]
    return Op(ADDR_ADD if add else ADDR_DEL, dev, words, depth=depth, field="address",
              value=cidr, address=cidr)


# ---------------------------------------------------------------------------
# link state as the planner compares it (from facts)
# ---------------------------------------------------------------------------
LINK_FIELDS = ("enabled", "mtu", "mac", "txqueuelen", "alias", "promisc", "multicast",
               "allmulticast", "arp", "master", "group")


def group_number(value):
    """The facts spell group 0 ``default``; everything compares as int when it can."""
    if value in (None, "default"):
        return 0
    try:
        return int(value)
    except (TypeError, ValueError):
        return value


def link_state(facts, exact=False):
    """The settable attributes of one facts interface record, as config values.

    ``exact``: an escaped alias (``alias_hex``) is given as its exact text
    (ExactAlias), so a restore puts back the bytes, not the escaped spelling.
    """
    flags = facts.get("flags") or []
    alias = facts.get("alias") or ""
    if exact and facts.get("alias_hex"):
        alias = ExactAlias(bytes.fromhex(facts["alias_hex"]).decode("utf-8", "surrogateescape"))
    return {
        "enabled": facts.get("admin_state") == "up",
        "mtu": facts.get("mtu"),
        # all-zero: no address (loopback, a bridge without ports): nothing to set
        "mac": None if facts.get("mac") in (None, "00:00:00:00:00:00") else facts.get("mac"),
        "txqueuelen": facts.get("txqueuelen"),
        "alias": alias,
        # the requested flags, not the kernel's: a bridge port is promiscuous by
        # the kernel and must still compare equal to promisc: false
        "promisc": facts.get("promisc_requested", "promisc" in flags),
        "multicast": "multicast" in flags,
        "allmulticast": facts.get("allmulti_requested", "allmulti" in flags),
        "arp": "noarp" not in flags,
        "master": facts.get("master"),
        "group": group_number(facts.get("group")),
    }


def item_from_facts(name, iface):
    """An ``interfaces`` config item of a facts record (every link field, plus kind fields for
    creatable kinds): what the resource compares and what the restore recreates."""
    item = {"name": name}
    item.update(link_state(iface))
    kind = iface.get("kind")
    if kind not in CREATABLE_KINDS:
        return item
    item["kind"] = kind
    data = iface.get("kind_data") or {}
    if kind == "veth":
        item["peer"] = data.get("peer")
    elif kind in ("macvlan", "bond"):
        item["mode"] = data.get("mode")
        if kind == "macvlan":
            item["parent"] = iface.get("parent")
    elif kind == "vlan":
        item["parent"] = iface.get("parent")
        item["vlan_id"] = (iface.get("vlan") or data).get("id")
    elif kind == "vxlan":
        item["vni"] = data.get("vni")
        item["parent"] = data.get("parent") or iface.get("parent")
        item["dstport"] = data.get("dstport")
        item["local"] = data.get("local")
        item["remote"] = data.get("remote") or data.get("group")
    return item


def predicted_record(name, record, item):
    """The facts record ``record`` (None: created by the plan) with the config ``item``'s
    link and kind fields applied: what the reader would show after the plan (check mode's
    view for the persisted files; a real run renders them from the host as verified)."""
    rec = dict(record or {"name": name, "kind": item.get("kind"),
                          "flags": ["broadcast", "multicast"],
                          "admin_state": "down", "addresses": [], "txqueuelen": 1000})
    kind = item.get("kind")
    if record is None and kind in CREATABLE_KINDS:
        data = {}
        if kind == "veth":
            data["peer"] = item.get("peer")
        elif kind in ("macvlan", "bond"):
            data["mode"] = item.get("mode") or ("bridge" if kind == "macvlan" else None)
        elif kind == "vlan":
            data["id"] = item.get("vlan_id")
            rec["vlan"] = data
        elif kind == "vxlan":
            data.update(vni=item.get("vni"), local=item.get("local"), remote=item.get("remote"),
                        parent=item.get("parent"),
                        dstport=4789 if item.get("dstport") is None else item["dstport"])
        rec["kind_data"] = data
        rec["parent"] = item.get("parent") if kind != "veth" else None
    flags = list(rec.get("flags") or [])
    for field, value in item.items():
        if field == "enabled":
            rec["admin_state"] = "up" if value else "down"
        elif field in ("mtu", "txqueuelen", "mac", "group"):
            rec[field] = value
        elif field == "alias":
            rec["alias"], rec["alias_hex"] = value or None, None
        elif field == "master":
            rec["master"] = value or None
        elif field == "promisc":
            rec["promisc_requested"] = value
        elif field == "allmulticast":
            rec["allmulti_requested"] = value
        elif field in ("multicast", "arp"):
            flag = "multicast" if field == "multicast" else "noarp"
            present = value if field == "multicast" else not value
            flags = [f for f in flags if f != flag] + ([flag] if present else [])
    rec["flags"] = flags
    return rec


def depths(interfaces):
    """Parent-chain depth of every facts interface (cycles/unknown parents stop)."""
    result = {}

    def depth(name, seen):
        if name in result:
            return result[name]
        facts = interfaces.get(name)
        parent = facts.get("parent") if facts else None
        if not parent or parent in seen or parent not in interfaces:
            value = 0
        else:
            value = depth(parent, seen | {name}) + 1
        result[name] = value
        return value

    for name in interfaces:
        depth(name, frozenset())
    return result


def attribute_ops(name, kind, current, desired, depth=0, reset_fields=(), path="config",
                  master_kinds=None):
    """Ops that take ``current`` (link_state or None if new) to ``desired`` values.

    ``desired`` maps LINK_FIELDS to values; fields absent from it are left
    alone. A MAC change on a kind that cannot change it while up is wrapped
    in down/up; a port of a bond is taken down before it is enslaved.
    """
    ops = []
    current = current or {}
    master_kinds = master_kinds or {}
    is_up = current.get("enabled", False)
    want_up = desired.get("enabled", is_up)
    needs_down = False
    for field in LINK_FIELDS:
        if field not in desired:
            continue
        value = desired[field]
        if value is None and field != "master":
            continue  # unknown/none (e.g. no MAC): nothing to set
        if field == "alias":
            value = value or ""
        if field in current and current.get(field) == value:
            continue
        if field == "enabled":
            continue  # handled below, after we know whether a down is needed anyway
        if not current and field in ("master",) and not value:
            continue
        if not current and field == "alias" and not value:
            continue
        reset = field in reset_fields
        op = link_set(name, field, value, depth=depth, reset=reset, path=path,
                      current_mtu=current.get("mtu"),
                      master_kind=master_kinds.get(value) if field == "master" else None)
        if field == "mac" and kind not in LIVE_MAC_KINDS:
            needs_down = True
        if field == "master" and value and master_kinds.get(value) in DOWN_TO_ENSLAVE_MASTER_KINDS:
            needs_down = True
        ops.append(op)
    if is_up and (needs_down or not want_up):
        ops.append(link_set(name, "enabled", False, depth=depth, path=path,
                            reset="enabled" in reset_fields))
        is_up = False
    if want_up and not is_up:
        ops.append(link_set(name, "enabled", True, depth=depth, path=path,
                            reset="enabled" in reset_fields))
    return ops
