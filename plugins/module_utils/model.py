# -*- coding: utf-8 -*-
# Copyright: hostnet.netif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Constants and pure functions that define the facts document (stdlib only).

Everything that names a key of the facts document, a gather subset, an
allowed sysctl or a kernel combination rule lives here, so the reader, the
setters and the audit engine all speak the same words.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fnmatch
import re

SCHEMA_VERSION = 1

# ---------------------------------------------------------------------------
# gather subsets
# ---------------------------------------------------------------------------
SUBSETS = ("links", "addresses", "stats", "sysctl", "routes", "connectivity", "packet_sockets",
           "boot")
# boot reads configuration files, not the kernel: named explicitly, never implied by all
OPT_IN_SUBSETS = ("boot",)
SUBSET_ALIASES = {
    "all": set(SUBSETS) - set(OPT_IN_SUBSETS),
    "min": {"links"},
}
DEFAULT_SUBSETS = ("links", "addresses", "routes", "connectivity")


def resolve_subsets(requested):
    """Turn a gather_subset list (with ``!`` exclusions) into a set of subsets.

    Follows ``setup``: plain entries add, ``!x`` removes, ``!all`` alone
    leaves ``min``. ``links`` (the ``min`` set) is always gathered.
    Raises ValueError naming the unknown entry.
    """
    if requested is None:
        requested = list(DEFAULT_SUBSETS)
    if isinstance(requested, str):
        requested = [s.strip() for s in requested.split(",")]
    valid = set(SUBSETS) | set(SUBSET_ALIASES)
    include, exclude, explicit = set(), set(), set()
    only_exclusions = True
    for raw in requested:
        if not isinstance(raw, str):
            raise ValueError("gather_subset: entries must be strings, found %r" % (raw,))
        item = raw.strip()
        negate = item.startswith("!")
        name = item[1:] if negate else item
        if name not in valid:
            raise ValueError(
                "gather_subset: unknown subset %r; expected one of %s (prefix with ! to exclude)"
                % (raw, ", ".join(sorted(valid))))
        names = SUBSET_ALIASES.get(name, {name})
        if negate:
            exclude |= names
        else:
            only_exclusions = False
            include |= names
            if name not in SUBSET_ALIASES:
                explicit.add(name)
    if only_exclusions:
        # like setup: "!stats" means the defaults without stats
        include = set(DEFAULT_SUBSETS)
    # like setup: a subset named explicitly survives an exclusion ("!all", "stats")
    return (include - (exclude - explicit)) | {"links"}


# ---------------------------------------------------------------------------
# interface names and globs
# ---------------------------------------------------------------------------
IFNAMSIZ = 16  # including the trailing NUL: names are 1..15 bytes


def interface_name_error(name):
    """Return why ``name`` is not a valid Linux interface name, or None (input checks:
    any Unicode whitespace is refused, U+3000 and U+0085 included)."""
    return _name_error(name, _no_unicode_space)


# whitespace as the kernel's dev_valid_name() sees it (ASCII isspace)
_KERNEL_SPACE = frozenset(" \t\n\v\f\r")


def kernel_name_error(name):
    """Why the kernel could not have named an interface ``name``, or None.

    The reader's check: only the kernel's own rules (1-15 bytes, not ``.``/``..``,
    no ``/``, ``:``, ASCII whitespace or NUL). Names the kernel accepts but that
    are odd (control characters, U+3000, bytes that are not UTF-8) pass, so a
    host can never make gathering fail by naming an interface; they are
    represented with :func:`display_name`.
    """
    return _name_error(name, _KERNEL_SPACE.isdisjoint)


def _name_error(name, no_space):
    if not isinstance(name, str):
        return "must be a string"
    raw = _utf8(name)
    if not 1 <= len(raw) <= IFNAMSIZ - 1:
        return "must be 1 to 15 bytes long, found %d" % len(raw)
    if name in (".", ".."):
        return "must not be '.' or '..'"
    if "/" in name or ":" in name:
        return "must not contain '/' or ':'"
    if not no_space(name) or "\x00" in name:
        return "must not contain whitespace or NUL"
    return None


def _no_unicode_space(name):
    return not any(c.isspace() for c in name)


def _utf8(text):
    """The bytes of a text decoded with surrogateescape (the reader's decoding)."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a lone surrogate that no byte decoded to (a JSON \\udXXX escape)
        return text.encode("utf-8", "surrogatepass")


# ---------------------------------------------------------------------------
# host-provided text in the facts document (names, aliases, labels)
# ---------------------------------------------------------------------------
# Characters an alias may not hold (input) and that make a read alias escaped:
# C0 controls but tab, DEL, C1 controls, the line and paragraph separators,
# and lone surrogates (bytes that are not UTF-8, decoded with surrogateescape).
ALIAS_UNSAFE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def escape_text(text):
    """Printable, valid-UTF-8 text for ``text``, reversible (injective).

    A backslash becomes ``\\\\``; a byte that is not UTF-8 (a surrogateescape
    surrogate) ``\\xNN``; a non-printable character below U+0080 ``\\xNN``, any
    other non-printable character ``\\uNNNN`` (``\\UNNNNNNNN`` above U+FFFF).
    ``\\x80``-``\\xff`` therefore always mean raw bytes, never characters.
    """
    out = []
    for char in text:
        code = ord(char)
        if char == "\\":
            out.append("\\\\")
        elif 0xDC80 <= code <= 0xDCFF:
            out.append("\\x%02x" % (code - 0xDC00))
        elif char.isprintable():
            out.append(char)
        elif code < 0x80:
            out.append("\\x%02x" % code)
        elif code <= 0xFFFF:
            out.append("\\u%04x" % code)
        else:
            out.append("\\U%08x" % code)
    return "".join(out)


def name_is_plain(name):
    """True when the facts spell ``name`` as the kernel does: printable, no backslash."""
    return name.isprintable() and "\\" not in name


def display_name(name):
    """The facts spelling of an interface name (keys, master, parent, peer, labels).

    Plain names are kept exactly; any other is :func:`escape_text`-ed. Plain
    names never hold a backslash and escaped ones always do, so two kernel
    names never share a key.
    """
    if name is None or name_is_plain(name):
        return name
    return escape_text(name)


def display_alias(alias):
    """The facts spelling of an alias: exact unless it holds ALIAS_UNSAFE characters."""
    if alias is None or not ALIAS_UNSAFE.search(alias):
        return alias
    return escape_text(alias)


def text_hex(text):
    """The kernel's bytes of a read text, as lowercase hex (lossless)."""
    return "".join("%02x" % byte for byte in bytearray(_utf8(text)))


_GLOB_CHARS = re.compile(r"[\x00-\x1f\x7f]")
_GLOB_META = re.compile(r"[*?\[]")


def is_literal_glob(pattern):
    """True when ``pattern`` has no glob metacharacter: it names one interface."""
    return not _GLOB_META.search(pattern)


def glob_error(pattern):
    """Return why ``pattern`` is not a usable interface glob, or None."""
    if not isinstance(pattern, str) or not pattern:
        return "must be a non-empty string"
    if _GLOB_CHARS.search(pattern):
        return "must not contain control characters"
    depth = 0
    for ch in pattern:
        if ch == "[":
            depth += 1
        elif ch == "]" and depth:
            depth -= 1
    if depth:
        return "has an unclosed '[' character class"
    if len(pattern.encode("utf-8", "surrogateescape")) > 64:
        return "is longer than 64 bytes"
    return None


def compile_globs(patterns):
    """Compile interface-name globs to one regex (exact, case-sensitive)."""
    if not patterns:
        return None
    return re.compile("|".join("(?:%s)" % fnmatch.translate(p) for p in patterns))


# ---------------------------------------------------------------------------
# kinds and Qt-style types
# ---------------------------------------------------------------------------
# ip's link_type (ARPHRD_*) -> Qt QNetworkInterface::InterfaceType-like category
LINK_TYPE_TO_TYPE = {
    "ether": "ethernet",
    "loopback": "loopback",
    "ppp": "ppp",
    "slip": "slip",
    "cslip": "slip",
    "slip6": "slip",
    "cslip6": "slip",
    "can": "can",
    "ieee802.11": "wifi",
    "ieee802.11/prism": "wifi",
    "ieee802.11/radiotap": "wifi",
    "fddi": "fddi",
    "ieee1394": "ieee1394",
    "phonet": "phonet",
    "phonet_pipe": "phonet",
    "ieee802.15.4": "ieee802154",
    "ieee802.15.4_monitor": "ieee802154",
    "6lowpan": "sixlowpan",
    "infiniband": "infiniband",
    "none": "virtual",
    "void": "virtual",
    "ipip": "virtual",
    "sit": "virtual",
    "gre": "virtual",
    "ip6gre": "virtual",
    "tunnel6": "virtual",
    "ipip6": "virtual",
}

KINDS = (
    "loopback", "ethernet", "wifi", "veth", "bridge", "bond", "team", "vlan",
    "macvlan", "macvtap", "ipvlan", "vxlan", "geneve", "dummy", "ifb", "tun",
    "tap", "wireguard", "gre", "gretap", "ipip", "sit", "ip6tnl", "vrf",
    "can", "ppp", "infiniband", "other",
)


def classify(link, wireless=False):
    """Return (kind, type) for one ``ip -json -d`` link object."""
    info = link.get("linkinfo") or {}
    info_kind = info.get("info_kind")
    link_type = link.get("link_type") or ""
    if link_type == "loopback":
        return "loopback", "loopback"
    if wireless or link_type.startswith("ieee802.11"):
        return "wifi", "wifi"
    qt_type = LINK_TYPE_TO_TYPE.get(link_type, "unknown")
    if info_kind:
        kind = info_kind
        if info_kind == "tun":
            tun_type = (info.get("info_data") or {}).get("type")
            kind = "tap" if tun_type == "tap" else "tun"
        return kind, qt_type
    if link_type == "ether":
        return "ethernet", "ethernet"
    if link_type in ("ppp", "can", "infiniband"):
        return link_type, qt_type
    return (link_type or "other"), qt_type


# ---------------------------------------------------------------------------
# flags
# ---------------------------------------------------------------------------
# ip -json flag spelling -> facts spelling (IFF_* names, lowercase)
FLAG_NAMES = {
    "UP": "up",
    "BROADCAST": "broadcast",
    "LOOPBACK": "loopback",
    "POINTOPOINT": "pointtopoint",
    "MULTICAST": "multicast",
    "PROMISC": "promisc",
    "NOARP": "noarp",
    "ALLMULTI": "allmulti",
    "LOWER_UP": "lower_up",
    "DORMANT": "dormant",
    "NO-CARRIER": "no_carrier",
    "M-DOWN": "m_down",
    "SLAVE": "slave",
    "MASTER": "master",
    "ECHO": "echo",
    "DEBUG": "debug",
    "NOTRAILERS": "notrailers",
    "DYNAMIC": "dynamic",
    "PORTSEL": "portsel",
    "AUTOMEDIA": "automedia",
}

ADDRESS_FLAGS = (
    "secondary", "temporary", "nodad", "optimistic", "dadfailed", "home",
    "deprecated", "tentative", "permanent", "dynamic", "mngtmpaddr",
    "noprefixroute", "autojoin", "stable-privacy",
)

INFINITY_LIFETIME = 4294967295  # INFINITY_LIFE_TIME in the kernel

# ---------------------------------------------------------------------------
# sysctls
# ---------------------------------------------------------------------------
# Per-interface keys under /proc/sys/net/<family>/conf/<iface>/ that may be read
# or written. Nothing outside this allow-list ever becomes a path.
IPV4_CONF_KEYS = (
    "accept_local", "accept_redirects", "accept_source_route", "arp_accept",
    "arp_announce", "arp_filter", "arp_ignore", "arp_notify", "bootp_relay",
    "disable_policy", "disable_xfrm", "drop_gratuitous_arp",
    "drop_unicast_in_l2_multicast", "forwarding", "igmpv2_unsolicited_report_interval",
    "igmpv3_unsolicited_report_interval", "ignore_routes_with_linkdown",
    "log_martians", "mc_forwarding", "medium_id", "promote_secondaries",
    "proxy_arp", "proxy_arp_pvlan", "route_localnet", "rp_filter",
    "secure_redirects", "send_redirects", "shared_media", "src_valid_mark", "tag",
)
IPV6_CONF_KEYS = (
    "accept_dad", "accept_ra", "accept_ra_defrtr", "accept_ra_from_local",
    "accept_ra_min_hop_limit", "accept_ra_mtu", "accept_ra_pinfo",
    "accept_ra_rt_info_max_plen", "accept_ra_rt_info_min_plen", "accept_ra_rtr_pref",
    "accept_redirects", "accept_source_route", "addr_gen_mode", "autoconf",
    "dad_transmits", "disable_ipv6", "disable_policy", "drop_unicast_in_l2_multicast",
    "drop_unsolicited_na", "enhanced_dad", "force_forwarding", "force_mld_version", "forwarding",
    "hop_limit", "ignore_routes_with_linkdown", "keep_addr_on_down", "max_addresses",
    "max_desync_factor", "mc_forwarding", "mldv1_unsolicited_report_interval",
    "mldv2_unsolicited_report_interval", "mtu", "ndisc_notify", "proxy_ndp",
    "regen_max_retry", "router_probes", "router_solicitation_delay",
    "router_solicitation_interval", "router_solicitations", "seg6_enabled",
    "suppress_frag_ndisc", "temp_prefered_lft", "temp_valid_lft", "use_oif_addrs_only",
    "use_tempaddr",
)
CONF_KEYS = {"ipv4": IPV4_CONF_KEYS, "ipv6": IPV6_CONF_KEYS}

# Host-wide keys (full dotted names) that may be read.
HOST_KEYS = (
    "net.ipv4.ip_forward",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.icmp_echo_ignore_broadcasts",
    "net.ipv4.icmp_echo_ignore_all",
    "net.ipv4.icmp_ignore_bogus_error_responses",
    "net.ipv4.icmp_ratelimit",
    "net.ipv4.tcp_timestamps",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.conf.all.forwarding",
    "net.ipv6.conf.all.forwarding",
    "net.ipv6.conf.all.disable_ipv6",
    "net.core.bpf_jit_harden",
)

# The security-relevant default for sysctl_keys (CIS / STIG network items).
DEFAULT_SYSCTL_KEYS = (
    "ipv4.forwarding", "ipv4.rp_filter", "ipv4.accept_redirects",
    "ipv4.secure_redirects", "ipv4.send_redirects", "ipv4.accept_source_route",
    "ipv4.log_martians", "ipv4.proxy_arp", "ipv4.arp_ignore", "ipv4.arp_announce",
    "ipv4.arp_filter", "ipv4.shared_media", "ipv4.route_localnet",
    "ipv6.forwarding", "ipv6.accept_ra", "ipv6.accept_redirects",
    "ipv6.accept_source_route", "ipv6.disable_ipv6", "ipv6.autoconf",
    "ipv6.use_tempaddr",
    "net.ipv4.ip_forward", "net.ipv4.tcp_syncookies",
    "net.ipv4.icmp_echo_ignore_broadcasts", "net.ipv4.icmp_ignore_bogus_error_responses",
)


def parse_sysctl_keys(keys):
    """Split sysctl_keys into ({'ipv4': [...], 'ipv6': [...]}, [host keys]).

    Accepts ``ipv4.<key>``, ``ipv6.<key>`` (per interface) and the host-wide
    dotted names in HOST_KEYS. Raises ValueError naming the offending entry.
    """
    per_iface = {"ipv4": [], "ipv6": []}
    host = []
    for index, key in enumerate(keys):
        where = "sysctl_keys[%d]" % index
        if not isinstance(key, str):
            raise ValueError("%s: expected a string, found %r" % (where, key))
        if key in HOST_KEYS:
            if key not in host:
                host.append(key)
            continue
        family, dummy, name = key.partition(".")
        if family in CONF_KEYS and name in CONF_KEYS[family]:
            if name not in per_iface[family]:
                per_iface[family].append(name)
            continue
        raise ValueError(
            "%s: %r is not an allowed sysctl key; use ipv4.<key> or ipv6.<key> "
            "for per-interface keys (e.g. ipv4.rp_filter) or one of the host keys %s"
            % (where, key, ", ".join(HOST_KEYS)))
    return per_iface, host


# How the kernel combines conf/all/<key> and conf/<iface>/<key> (ip-sysctl.rst,
# include/linux/inetdevice.h IN_DEV_ORCONF / IN_DEV_ANDCONF / IN_DEV_MAXCONF).
# Keys left out are the interface's own value (IPv4 forwarding: the value of
# the interface a packet arrives on). tests/integration/test_kernel_effective.py
# proves with packets the rules docs/facts.md lists.
IPV4_COMBINE = {
    "log_martians": "or",
    "send_redirects": "or",
    "secure_redirects": "or",
    "shared_media": "or",
    "proxy_arp": "or",
    "arp_filter": "or",
    "route_localnet": "or",
    "promote_secondaries": "or",
    "accept_local": "or",
    "src_valid_mark": "or",
    "proxy_arp_pvlan": "or",
    "ignore_routes_with_linkdown": "or",
    "accept_source_route": "and",
    "bootp_relay": "and",
    "mc_forwarding": "and",
    "rp_filter": "max",
    "arp_ignore": "max",
    "arp_announce": "max",
    "arp_accept": "max",
    "arp_notify": "max",
    # accept_redirects: "and" when the interface forwards, "or" when it does not
    "accept_redirects": "redirects",
}

# IPv6 is not IPv4 (kernel functions ip6_forward, ipv6_accept_ra,
# rt6_do_redirect, ipv6_rthdr_rcv; proven by packets except the last):
# - forwarding: a packet arriving on the interface is forwarded when
#   conf/all/forwarding is 1 or the interface's force_forwarding is 1 (kernels
#   6.17+; a kernel without the key counts as 0). The interface's own
#   forwarding forwards nothing: it makes the interface act as a router.
# - accept_ra: an interface whose own forwarding is 1 accepts router
#   advertisements only with accept_ra 2; conf/all is not used.
# - accept_redirects: an interface whose own forwarding is 1 ignores
#   redirects; conf/all is not used.
# - accept_source_route: the MIN of conf/all and the interface.
IPV6_COMBINE = {
    "forwarding": "all_or_force",
    "accept_ra": "router_needs_2",
    "accept_redirects": "router_ignores",
    "accept_source_route": "min",
}
COMBINE = {"ipv4": IPV4_COMBINE, "ipv6": IPV6_COMBINE}

# Rules that read the interface's own forwarding (conf/<iface>/forwarding).
_NEEDS_FORWARDING = frozenset(("redirects", "router_needs_2", "router_ignores"))
# Rules that do not read conf/all/<key>.
_IGNORES_ALL = frozenset(("router_needs_2", "router_ignores"))


def effective_inputs(family, key):
    """The other conf/<iface> keys the effective value of ``key`` needs."""
    rule = COMBINE.get(family, {}).get(key)
    if rule in _NEEDS_FORWARDING:
        return ("forwarding",)
    if rule == "all_or_force":
        return ("force_forwarding",)
    return ()


def uses_all(family, key):
    """Whether conf/all/<key> takes part in the effective value of ``key``."""
    rule = COMBINE.get(family, {}).get(key)
    return rule is not None and rule not in _IGNORES_ALL


def _as_int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def effective_value(family, key, iface_value, all_value, iface_forwarding=None,
                    force_forwarding=None):
    """Return the value the kernel uses for ``key`` on one interface.

    ``iface_value`` is conf/<iface>/<key>, ``all_value`` conf/all/<key>;
    ``iface_forwarding`` is conf/<iface>/forwarding of the same family (IPv4
    and IPv6 accept_redirects, IPv6 accept_ra), ``force_forwarding``
    conf/<iface>/force_forwarding (IPv6 forwarding; None when the kernel
    lacks the key, which then counts as 0). Keys without a rule are the
    interface's own value. Returns None when a needed input is unknown.

    Meanings: IPv6 ``forwarding`` is 1 when packets arriving on the interface
    are forwarded; IPv6 ``accept_ra`` is 0 when the interface ignores router
    advertisements, else its own accept_ra (1 or 2); IPv6 ``accept_redirects``
    is 0 when the interface ignores redirects, else its own value.
    """
    rule = COMBINE.get(family, {}).get(key)
    if rule is None:
        return iface_value
    mine, glob = _as_int(iface_value), _as_int(all_value)
    if mine is None:
        return None
    if rule in _NEEDS_FORWARDING:
        forwarding = _as_int(iface_forwarding)
        if forwarding is None:
            return None
        if rule == "router_needs_2":
            return 0 if (forwarding and mine != 2) else mine
        if rule == "router_ignores":
            return 0 if forwarding else mine
        rule = "and" if forwarding else "or"
    if glob is None:
        return None
    if rule == "all_or_force":
        return 1 if (glob or _as_int(force_forwarding)) else 0
    if rule == "or":
        return 1 if (mine or glob) else 0
    if rule == "and":
        return 1 if (mine and glob) else 0
    if rule == "min":
        return min(mine, glob)
    return max(mine, glob)
