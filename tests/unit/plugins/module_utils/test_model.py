# -*- coding: utf-8 -*-
# Copyright: hostnet.netif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Tests for plugins/module_utils/model.py: subsets, globs, sysctl allow-list, kernel rules."""

import itertools
import re

import pytest

from ansible_collections.hostnet.netif.plugins.module_utils import model

ALL = {"links", "addresses", "stats", "sysctl", "routes", "connectivity", "packet_sockets"}
DEFAULT = {"links", "addresses", "routes", "connectivity"}


# ---------------------------------------------------------------------------
# resolve_subsets
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("requested, expected", [
    (None, DEFAULT),
    ([], DEFAULT),
    (["all"], ALL),
    (["min"], {"links"}),
    (["links"], {"links"}),
    (["stats"], {"links", "stats"}),
    (["addresses", "sysctl"], {"links", "addresses", "sysctl"}),
    # exclusions only start from the default set
    (["!stats"], DEFAULT),
    (["!addresses"], {"links", "routes", "connectivity"}),
    (["!routes", "!connectivity"], {"links", "addresses"}),
    (["!all"], {"links"}),
    # links is the minimum and cannot be excluded
    (["!links"], DEFAULT),
    (["!min"], DEFAULT),
    (["all", "!links"], ALL),
    (["all", "!routes"], ALL - {"routes"}),
    (["all", "!stats", "!sysctl", "!packet_sockets"], DEFAULT),
    # like setup: an explicitly named subset survives a broad exclusion
    (["!all", "stats"], {"links", "stats"}),
    (["!all", "addresses", "routes"], {"links", "addresses", "routes"}),
    # comma-separated string, as `-a gather_subset=...` gives it
    ("links,stats", {"links", "stats"}),
    ("all, !routes", ALL - {"routes"}),
    ([" stats "], {"links", "stats"}),
])
def test_resolve_subsets(requested, expected):
    assert model.resolve_subsets(requested) == expected


@pytest.mark.parametrize("requested, offender", [
    (["bogus"], "bogus"),
    (["links", "!bogus"], "!bogus"),
    (["Links"], "Links"),
    (["network"], "network"),
    ([""], ""),
    (["!"], "!"),
])
def test_resolve_subsets_unknown_names_the_value(requested, offender):
    with pytest.raises(ValueError) as err:
        model.resolve_subsets(requested)
    message = str(err.value)
    assert message.startswith("gather_subset:")
    assert repr(offender) in message
    # the message lists what is allowed
    for name in sorted(ALL):
        assert name in message


@pytest.mark.parametrize("requested", [[1], [None], [["links"]]])
def test_resolve_subsets_rejects_non_strings(requested):
    with pytest.raises(ValueError, match="gather_subset: entries must be strings"):
        model.resolve_subsets(requested)


# ---------------------------------------------------------------------------
# interface names and globs
# ---------------------------------------------------------------------------
INPUT, KERNEL = model.interface_name_error, model.kernel_name_error


@pytest.mark.parametrize("check, name, problem", [
    (INPUT, "eth0", None),
    (INPUT, "eth0.100", None),
    (INPUT, "br-lan", None),
    (INPUT, "a" * 15, None),
    (INPUT, "\u00fcber", None),                      # 5 bytes in UTF-8
    (INPUT, "", "1 to 15 bytes"),
    (INPUT, "a" * 16, "1 to 15 bytes"),
    (INPUT, "\u00fc" * 8, "1 to 15 bytes"),          # 8 characters, 16 bytes
    (INPUT, ".", "'.' or '..'"),
    (INPUT, "..", "'.' or '..'"),
    (INPUT, "a/b", "'/'"),
    (INPUT, "eth0:1", "':'"),
    (INPUT, "eth 0", "whitespace"),
    (INPUT, "eth\t0", "whitespace"),
    (INPUT, "eth\x000", "NUL"),
    (INPUT, "a\u3000b", "whitespace"),
    (INPUT, None, "string"),
    (INPUT, 3, "string"),
    # the reader's check: what the kernel accepts (measured: ip link add) passes
    (KERNEL, "a\u2028b", None), (KERNEL, "a\x85b", None), (KERNEL, "a\u3000b", None),
    (KERNEL, "a\x1cb", None), (KERNEL, "a\udcffb", None), (KERNEL, "a\\b", None),
    (KERNEL, "a\x01b", None), (KERNEL, "", "1 to 15 bytes"), (KERNEL, "a" * 16, "1 to 15 bytes"),
    (KERNEL, "..", "'.'"), (KERNEL, "a/b", "'/'"), (KERNEL, "a:b", "':'"),
    (KERNEL, "a b", "whitespace"), (KERNEL, "a\tb", "whitespace"), (KERNEL, "a\x0bb", "whitespace"),
    (KERNEL, "a\x00b", "NUL"), (KERNEL, None, "string"),
])
def test_interface_name_error(check, name, problem):
    result = check(name)
    if problem is None:
        assert result is None
    else:
        assert result is not None and problem in result


@pytest.mark.parametrize("name, shown", [
    ("eth0", "eth0"), ("br-lan.5", "br-lan.5"), ("\u00fcber", "\u00fcber"),
    ("a\u2028b", "a\\u2028b"), ("a\x85b", "a\\u0085b"), ("a\u3000b", "a\\u3000b"),
    ("a\x1cb", "a\\x1cb"), ("a\udcffb", "a\\xffb"), ("a\\xffb", "a\\\\xffb"),
    ("a\U000e0001", "a\\U000e0001"),
])
def test_display_name(name, shown):
    assert model.display_name(name) == shown
    assert model.name_is_plain(name) == (name == shown)


@pytest.mark.parametrize("alias, shown", [
    ("uplink \"core\" \t<sw-1> caf\u00e9", "uplink \"core\" \t<sw-1> caf\u00e9"),
    ("C:\\path", "C:\\path"), ("\u3000 ok", "\u3000 ok"),
    ("a\x01\\b", "a\\x01\\\\b"), ("a\udcff", "a\\xff"), ("a\u2028", "a\\u2028"),
])
def test_display_alias(alias, shown):
    assert model.display_alias(alias) == shown


@pytest.mark.parametrize("pattern, problem", [
    ("eth*", None),
    ("eth[0-9]", None),
    ("veth?", None),
    ("[!v]*", None),
    ("eth0.100", None),
    ("", "non-empty"),
    (None, "non-empty"),
    ("eth[0", "unclosed"),
    ("[", "unclosed"),
    ("eth\t*", "control"),
    ("eth\n", "control"),
    ("e" * 65, "longer than 64"),
])
def test_glob_error(pattern, problem):
    result = model.glob_error(pattern)
    if problem is None:
        assert result is None
    else:
        assert result is not None and problem in result


NAMES = ["eth0", "eth0.100", "eth0x100", "eth0-100", "eth0_100", "ETH0", "veth12", "br-lan",
         "br.lan", "brXlan", "eth1"]


@pytest.mark.parametrize("patterns, matched", [
    (["eth0"], {"eth0"}),
    # '.' and '-' are literal characters, not regex syntax
    (["eth0.100"], {"eth0.100"}),
    (["br-lan"], {"br-lan"}),
    (["br.lan"], {"br.lan"}),
    (["eth0.*"], {"eth0.100"}),
    (["eth*"], {"eth0", "eth0.100", "eth0x100", "eth0-100", "eth0_100", "eth1"}),
    # case-sensitive, whole-name
    (["ETH*"], {"ETH0"}),
    (["eth"], set()),
    (["eth?"], {"eth0", "eth1"}),
    (["eth[01]"], {"eth0", "eth1"}),
    (["br[.-]lan"], {"br-lan", "br.lan"}),
    (["veth*", "br-lan"], {"veth12", "br-lan"}),
])
def test_compile_globs_matches_exact_names(patterns, matched):
    regex = model.compile_globs(patterns)
    assert {name for name in NAMES if regex.match(name)} == matched


def test_compile_globs_empty_is_none():
    assert model.compile_globs([]) is None
    assert model.compile_globs(None) is None


# ---------------------------------------------------------------------------
# classify (pure part; sysfs wireless detection is tested in test_reader.py)
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("link, wireless, expected", [
    ({"link_type": "loopback"}, False, ("loopback", "loopback")),
    ({"link_type": "ether"}, False, ("ethernet", "ethernet")),
    ({"link_type": "ether"}, True, ("wifi", "wifi")),
    ({"link_type": "ieee802.11/radiotap"}, False, ("wifi", "wifi")),
    ({"link_type": "ether", "linkinfo": {"info_kind": "veth"}}, False, ("veth", "ethernet")),
    ({"link_type": "ether", "linkinfo": {"info_slave_kind": "bond"}}, False, ("ethernet", "ethernet")),
    ({"link_type": "none", "linkinfo": {"info_kind": "tun", "info_data": {"type": "tun"}}}, False,
     ("tun", "virtual")),
    ({"link_type": "ether", "linkinfo": {"info_kind": "tun", "info_data": {"type": "tap"}}}, False,
     ("tap", "ethernet")),
    ({"link_type": "none", "linkinfo": {"info_kind": "wireguard"}}, False, ("wireguard", "virtual")),
    ({"link_type": "ppp"}, False, ("ppp", "ppp")),
    ({"link_type": "can"}, False, ("can", "can")),
    ({"link_type": "infiniband"}, False, ("infiniband", "infiniband")),
    ({"link_type": "slip"}, False, ("slip", "slip")),
    ({"link_type": "ipip", "linkinfo": {"info_kind": "ipip"}}, False, ("ipip", "virtual")),
    ({"link_type": "fancy_new"}, False, ("fancy_new", "unknown")),
    ({}, False, ("other", "unknown")),
])
def test_classify(link, wireless, expected):
    assert model.classify(link, wireless=wireless) == expected


# ---------------------------------------------------------------------------
# sysctl allow-list
# ---------------------------------------------------------------------------
def test_parse_sysctl_keys_splits_and_dedupes():
    per_iface, host = model.parse_sysctl_keys([
        "ipv4.rp_filter", "ipv6.accept_ra", "net.ipv4.tcp_syncookies", "ipv4.rp_filter",
        "ipv4.log_martians", "net.ipv4.tcp_syncookies", "ipv6.forwarding",
    ])
    assert per_iface == {"ipv4": ["rp_filter", "log_martians"], "ipv6": ["accept_ra", "forwarding"]}
    assert host == ["net.ipv4.tcp_syncookies"]


def test_parse_sysctl_keys_empty():
    assert model.parse_sysctl_keys([]) == ({"ipv4": [], "ipv6": []}, [])


def test_default_sysctl_keys_are_allowed():
    per_iface, host = model.parse_sysctl_keys(model.DEFAULT_SYSCTL_KEYS)
    assert len(per_iface["ipv4"]) + len(per_iface["ipv6"]) + len(host) == len(model.DEFAULT_SYSCTL_KEYS)


@pytest.mark.parametrize("bad", [
    "ipv4.../x",
    "ipv4.conf/all",
    "../../etc",
    "../../etc/shadow",
    "ipv4.rp_filter/../../../etc/passwd",
    "ipv4../rp_filter",
    "ipv4./rp_filter",
    "ipv4.conf.all.rp_filter",
    "ipv4.",
    "ipv4",
    "ipv5.rp_filter",
    "IPV4.rp_filter",
    "ipv4.RP_FILTER",
    "ipv4.rp_filter\n",
    " ipv4.rp_filter",
    "ipv4.not_a_key",
    "ipv6.rp_filter",
    "net.ipv4.conf.eth0.rp_filter",
    "net.ipv4.ip_forward/../../x",
    "/proc/sys/net/ipv4/ip_forward",
    "net.ipv4.tcp_syncookies.",
    "kernel.core_pattern",
    "",
])
@pytest.mark.parametrize("position", [0, 2])
def test_parse_sysctl_keys_rejects_with_index(bad, position):
    keys = ["ipv4.rp_filter", "net.ipv4.ip_forward"]
    keys.insert(position, bad)
    with pytest.raises(ValueError) as err:
        model.parse_sysctl_keys(keys)
    message = str(err.value)
    assert message.startswith("sysctl_keys[%d]: " % position)
    assert repr(bad) in message


@pytest.mark.parametrize("bad", [5, None, ["ipv4.rp_filter"], {"ipv4": "rp_filter"}])
def test_parse_sysctl_keys_rejects_non_strings(bad):
    with pytest.raises(ValueError, match=r"^sysctl_keys\[1\]: expected a string"):
        model.parse_sysctl_keys(["ipv4.rp_filter", bad])


def test_allow_list_cannot_form_a_path():
    """Every allow-listed name is a plain word: nothing that can climb out of conf/<iface>/."""
    for family, keys in model.CONF_KEYS.items():
        for key in keys:
            assert re.match(r"^[a-z0-9_]+$", key), (family, key)
    for key in model.HOST_KEYS:
        assert re.match(r"^net(\.[a-z0-9_]+)+$", key), key


# ---------------------------------------------------------------------------
# effective values
# ---------------------------------------------------------------------------
def _or(iface, all_, forwarding):
    return int(bool(all_) or bool(iface))


def _and(iface, all_, forwarding):
    return int(bool(all_) and bool(iface))


def _max(iface, all_, forwarding):
    return max(all_, iface)


def _own(iface, all_, forwarding):
    return iface


def _rx_redirects(iface, all_, forwarding):
    if forwarding:
        return _and(iface, all_, forwarding)
    return _or(iface, all_, forwarding)


# Written from include/linux/inetdevice.h (IN_DEV_* macros), not from model.py.
KERNEL_IPV4_RULES = {
    # IN_DEV_ORCONF: conf/all || conf/<iface>
    "accept_local": _or,
    "src_valid_mark": _or,
    "log_martians": _or,
    "proxy_arp": _or,
    "proxy_arp_pvlan": _or,
    "shared_media": _or,
    "send_redirects": _or,
    "secure_redirects": _or,
    "promote_secondaries": _or,
    "route_localnet": _or,
    "ignore_routes_with_linkdown": _or,
    "arp_filter": _or,
    # IN_DEV_ANDCONF: conf/all && conf/<iface>
    "accept_source_route": _and,
    "bootp_relay": _and,
    "mc_forwarding": _and,
    # IN_DEV_MAXCONF: max(conf/all, conf/<iface>)
    "rp_filter": _max,
    "arp_accept": _max,
    "arp_announce": _max,
    "arp_ignore": _max,
    "arp_notify": _max,
    # IN_DEV_RX_REDIRECTS: AND when the interface forwards, OR when it does not
    "accept_redirects": _rx_redirects,
}

VALUES = (0, 1, 2)


@pytest.mark.parametrize("key", model.IPV4_CONF_KEYS)
def test_effective_value_ipv4(key):
    """The value the kernel uses for an IPv4 per-interface key.

    Kernel semantics (include/linux/inetdevice.h, Documentation/networking/ip-sysctl.rst):

    * OR  (IN_DEV_ORCONF): accept_local, src_valid_mark, log_martians, proxy_arp,
      proxy_arp_pvlan, shared_media, send_redirects, secure_redirects,
      promote_secondaries, route_localnet, ignore_routes_with_linkdown, arp_filter
      -> 1 if conf/all or conf/<iface> is non-zero, else 0.
    * AND (IN_DEV_ANDCONF): accept_source_route, bootp_relay, mc_forwarding
      -> 1 if both are non-zero, else 0.
    * MAX (IN_DEV_MAXCONF): rp_filter, arp_accept, arp_announce, arp_ignore, arp_notify
      -> the larger of the two.
    * accept_redirects (IN_DEV_RX_REDIRECTS): AND when conf/<iface>/forwarding is on,
      OR when it is off.
    * everything else (forwarding, tag, medium_id, ...) -> conf/<iface> alone.
    """
    rule = KERNEL_IPV4_RULES.get(key, _own)
    wrong = []
    for iface, all_, forwarding in itertools.product(VALUES, VALUES, (0, 1)):
        expected = rule(iface, all_, forwarding)
        got = model.effective_value("ipv4", key, iface, all_, forwarding)
        # the procfs reader hands over ints; strings from sysfs text must work too
        got_text = model.effective_value("ipv4", key, str(iface), str(all_), str(forwarding))
        if got != expected or int(got_text) != expected:
            wrong.append(((iface, all_, forwarding), expected, got, got_text))
    assert not wrong, "%s: (iface, all, forwarding) -> expected, got, got_from_text: %r" % (key, wrong)


def test_kernel_rule_table_only_names_allowed_keys():
    assert set(KERNEL_IPV4_RULES) <= set(model.IPV4_CONF_KEYS)


def _v6_forwarding(iface, all_, forwarding, force):
    return 1 if (all_ or force) else 0


def _v6_accept_ra(iface, all_, forwarding, force):
    return 0 if (forwarding and iface != 2) else iface


def _v6_accept_redirects(iface, all_, forwarding, force):
    return 0 if forwarding else iface


def _v6_source_route(iface, all_, forwarding, force):
    return min(iface, all_)


# The kernel's IPv6 rules, written out independently of model.IPV6_COMBINE
# (kernel functions ip6_forward, ipv6_accept_ra, rt6_do_redirect,
# ipv6_rthdr_rcv) and
# proven by packets in tests/integration/test_kernel_effective.py (accept_source_route: by the
# source only, see that test).
KERNEL_IPV6_RULES = {
    "forwarding": _v6_forwarding,
    "accept_ra": _v6_accept_ra,
    "accept_redirects": _v6_accept_redirects,
    "accept_source_route": _v6_source_route,
}


@pytest.mark.parametrize("key", model.IPV6_CONF_KEYS)
def test_effective_value_ipv6(key):
    """IPv6: forwarding = all OR the interface's force_forwarding (its own forwarding
    does not forward); accept_ra = 0 when the interface forwards and accept_ra < 2;
    accept_redirects = 0 when the interface forwards; accept_source_route = MIN;
    everything else the interface alone."""
    wrong = []
    for iface, all_, forwarding, force in itertools.product((-1, 0, 1, 2), (-1, 0, 1, 2), (0, 1),
                                                            (0, 1, None)):
        rule = KERNEL_IPV6_RULES.get(key)
        expected = rule(iface, all_, forwarding, force or 0) if rule else iface
        got = model.effective_value("ipv6", key, iface, all_, forwarding, force)
        got_text = model.effective_value("ipv6", key, str(iface), str(all_), str(forwarding),
                                         None if force is None else str(force))
        if got != expected or (rule and int(got_text) != expected):
            wrong.append(((iface, all_, forwarding, force), expected, got, got_text))
    assert not wrong, "%s: (iface, all, forwarding, force) -> expected, got, got_from_text: %r" % (
        key, wrong)


@pytest.mark.parametrize("all_,own,force,expected", [
    (1, 0, 0, 1),     # all=1 forwards on an interface whose own forwarding is 0
    (0, 1, 0, 0),     # the interface's own forwarding=1 forwards nothing
    (0, 0, 1, 1),     # force_forwarding forwards on that interface alone
    (0, 1, None, 0),  # a kernel without force_forwarding: all alone
])
def test_ipv6_forwarding_is_all_or_force_forwarding(all_, own, force, expected):
    assert model.effective_value("ipv6", "forwarding", own, all_, None, force) == expected


@pytest.mark.parametrize("key,extra", [
    ("ipv4.accept_redirects", ("forwarding",)), ("ipv6.accept_redirects", ("forwarding",)),
    ("ipv6.accept_ra", ("forwarding",)), ("ipv6.forwarding", ("force_forwarding",)),
    ("ipv6.accept_source_route", ()), ("ipv4.rp_filter", ()), ("ipv6.autoconf", ()),
])
def test_effective_inputs_name_the_other_keys_a_rule_reads(key, extra):
    family, dummy, name = key.partition(".")
    assert model.effective_inputs(family, name) == extra
    assert set(extra) <= set(model.CONF_KEYS[family])


def test_uses_all():
    assert model.uses_all("ipv6", "accept_source_route")
    assert model.uses_all("ipv6", "forwarding")
    assert not model.uses_all("ipv6", "accept_ra")
    assert not model.uses_all("ipv6", "accept_redirects")
    assert not model.uses_all("ipv6", "autoconf")
    assert model.uses_all("ipv4", "accept_redirects")
    assert not model.uses_all("ipv4", "forwarding")


@pytest.mark.parametrize("key, iface, all_, forwarding", [
    ("accept_ra", 1, 0, None),
    ("accept_redirects", 1, 0, None),
    ("accept_source_route", 0, None, 0),
    ("accept_source_route", None, 0, 0),
    ("forwarding", 0, None, 0),
])
def test_effective_value_ipv6_unknown_input_is_none(key, iface, all_, forwarding):
    assert model.effective_value("ipv6", key, iface, all_, forwarding) is None


@pytest.mark.parametrize("key, iface, all_, forwarding", [
    ("rp_filter", None, 1, 0),
    ("rp_filter", 1, None, 0),
    ("log_martians", "garbage", 1, 0),
    ("accept_source_route", 1, "", 0),
    ("accept_redirects", 1, 1, None),
    ("accept_redirects", 1, 1, "x"),
])
def test_effective_value_unknown_input_is_none(key, iface, all_, forwarding):
    assert model.effective_value("ipv4", key, iface, all_, forwarding) is None


@pytest.mark.parametrize("key", ["forwarding", "tag", "medium_id", "disable_xfrm"])
def test_effective_value_own_keys_ignore_all(key):
    assert model.effective_value("ipv4", key, 0, 1) == 0
    assert model.effective_value("ipv4", key, None, 1) is None
    assert model.effective_value("ipv4", key, 1, None) == 1
