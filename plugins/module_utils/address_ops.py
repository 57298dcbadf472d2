# -*- coding: utf-8 -*-
# Copyright: hostnet.netif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Address entries and the ops between two lists of them (stdlib only).

Shared by the ``addresses`` resource (planning) and the transaction's
restore (putting an interface's addresses back), so that neither imports
the other; entry semantics are described in ``addresses.py``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

from ansible_collections.hostnet.netif.plugins.module_utils import planner
from ansible_collections.hostnet.netif.plugins.module_utils.errors import InputError

ENTRY_FIELDS = ("address", "prefixlen", "broadcast", "peer", "label", "scope", "valid_lft",
                "preferred_lft", "noprefixroute", "nodad")
SCOPES = ("global", "site", "link", "host")
FOREVER = "forever"
LIFETIME_MAX = planner.U32_MAX - 1  # 4294967295 is the kernel's "forever"
LABEL_MAX_BYTES = 15

# attribute -> how a difference is fixed ("replace" in place, "recreate" del + add)
_REPLACE_V4 = ("valid_lft", "preferred_lft")
_REPLACE_V6 = ("valid_lft", "preferred_lft", "noprefixroute", "nodad")
_ATTRIBUTES = ("prefixlen", "broadcast", "peer", "label", "scope", "valid_lft",
               "preferred_lft", "noprefixroute", "nodad")


# ---------------------------------------------------------------------------
# entries
# ---------------------------------------------------------------------------
def _parse_cidr(text, path):
    """(ip_interface) from ``addr/prefixlen`` or ``addr/dotted-netmask``; strict."""
    if not isinstance(text, str) or text != text.strip() or text.count("/") != 1:
        raise InputError(path, "expected address/prefixlen (for example 198.18.1.1/24), "
                               "found %r" % (text,))
    address_text, dummy, mask = text.partition("/")
    try:
        address = ipaddress.ip_address(address_text)
    except ValueError:
        raise InputError(path, "expected address/prefixlen, found %r" % (text,))
    limit = address.max_prefixlen
    if mask.isdigit() and len(mask) <= 3:
        prefixlen = int(mask)
        if prefixlen > limit:
            raise InputError(path, "prefix length must be 0..%d, found %d" % (limit, prefixlen))
    elif address.version == 4 and mask.count(".") == 3:
        try:
            bits = int(ipaddress.IPv4Address(mask))
        except ValueError:
            raise InputError(path, "invalid netmask %r in %r" % (mask, text))
        inverted = ~bits & 0xFFFFFFFF
        if inverted & (inverted + 1):
            raise InputError(path, "netmask %s is not contiguous" % mask)
        prefixlen = 32 - inverted.bit_length()
    else:
        raise InputError(path, "invalid prefix length or netmask %r in %r" % (mask, text))
    return ipaddress.ip_interface("%s/%d" % (address, prefixlen))


def _parse_ip(text, path, version):
    if not isinstance(text, str):
        raise InputError(path, "expected an IP address, found %r" % (text,))
    try:
        value = ipaddress.ip_address(text)
    except ValueError:
        raise InputError(path, "expected an IP address, found %r" % (text,))
    if value.version != version:
        raise InputError(path, "%s is IPv%d; the address is IPv%d" % (text, value.version, version))
    return value


def _lifetime(value, path, low):
    if value == FOREVER:
        return FOREVER
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(path, "expected seconds (an integer) or 'forever', found %r" % (value,))
    if not low <= value <= LIFETIME_MAX:
        raise InputError(path, "must be between %d and %d seconds or 'forever', found %d"
                         % (low, LIFETIME_MAX, value))
    return value


def ip_text(ip):
    """Canonical text of an ``ipaddress`` address, spelled as iproute2 and netaddr do
    (RFC 5952; an IPv4-mapped IPv6 address keeps its dotted tail on every Python)."""
    if ip.version == 6 and ip.ipv4_mapped is not None:
        return "::ffff:%s" % ip.ipv4_mapped
    return str(ip)


def key_of(iface):
    """Identity of an address (an ``ipaddress`` interface): see the module docstring."""
    if iface.version == 4:
        return (4, int(iface.ip), iface.network.prefixlen)
    return (6, int(iface.ip))


def desired_entry(raw, name, path):
    """One config entry re-checked with the stdlib -> entry dict (given fields only).

    The entry's ``address`` is ``ip/prefixlen`` text; ``_iface`` is the parsed
    value and ``_key`` its identity.
    """
    # a string entry is its address: errors name the entry, as the controller's do
    address_path = path if isinstance(raw, str) else path + ".address"
    if isinstance(raw, str):
        raw = {"address": raw}
    if not isinstance(raw, dict):
        raise InputError(path, "expected an address/prefixlen string or a dict, found %r" % (raw,))
    for field in raw:
        if field not in ENTRY_FIELDS:
            raise InputError("%s.%s" % (path, field), "no such option (allowed: %s)"
                             % ", ".join(ENTRY_FIELDS))
    given = dict((k, v) for k, v in raw.items() if v is not None)
    text = given.get("address")
    prefixlen = given.get("prefixlen")
    if prefixlen is not None:
        if isinstance(prefixlen, bool) or not isinstance(prefixlen, int) or not 0 <= prefixlen <= 128:
            raise InputError(path + ".prefixlen", "expected 0..128, found %r" % (prefixlen,))
    if isinstance(text, str) and "/" not in text:
        if prefixlen is None:
            raise InputError(address_path, "%r has no prefix length; write it as "
                                           "address/prefixlen or give prefixlen" % (text,))
        text = "%s/%d" % (text, prefixlen)
    iface = _parse_cidr(text, address_path)
    if prefixlen is not None and prefixlen != iface.network.prefixlen:
        raise InputError(path + ".prefixlen", "%d disagrees with the prefix of %s"
                         % (prefixlen, given["address"]))
    version = iface.version
    entry = {"address": "%s/%d" % (ip_text(iface.ip), iface.network.prefixlen), "_iface": iface,
             "_key": key_of(iface), "_path": path}
    if given.get("broadcast") is not None:
        if version != 4:
            raise InputError(path + ".broadcast", "IPv6 has no broadcast address")
        broadcast = given["broadcast"]
        if broadcast == "+":
            if iface.network.prefixlen >= 31:
                raise InputError(path + ".broadcast", "a /%d has no broadcast address"
                                 % iface.network.prefixlen)
            broadcast = str(iface.network.broadcast_address)
        entry["broadcast"] = str(_parse_ip(broadcast, path + ".broadcast", 4))
    if given.get("peer") is not None:
        entry["peer"] = ip_text(_parse_ip(given["peer"], path + ".peer", version))
    if given.get("label") is not None:
        label = given["label"]
        if version != 4:
            raise InputError(path + ".label", "labels exist for IPv4 addresses only")
        planner.check_token(label, path + ".label")
        if label != name and not label.startswith(name + ":"):
            raise InputError(path + ".label", "%r must be %s or start with %s: (the kernel's rule)"
                             % (label, name, name))
        if len(label.encode("utf-8", "surrogateescape")) > LABEL_MAX_BYTES:
            raise InputError(path + ".label", "must be at most %d bytes" % LABEL_MAX_BYTES)
        entry["label"] = label
    if given.get("scope") is not None:
        if version != 4:
            raise InputError(path + ".scope", "the kernel derives the scope of an IPv6 address "
                                              "from the address; scope is for IPv4")
        entry["scope"] = planner.check_choice(given["scope"], path + ".scope", SCOPES)
    for field in ("noprefixroute", "nodad"):
        if field in given:
            entry[field] = planner.check_bool(given[field], "%s.%s" % (path, field))
    if entry.get("nodad") and version != 6:
        raise InputError(path + ".nodad", "duplicate address detection exists for IPv6 only")
    valid = preferred = None
    if "valid_lft" in given:
        valid = _lifetime(given["valid_lft"], path + ".valid_lft", 1)
    if "preferred_lft" in given:
        preferred = _lifetime(given["preferred_lft"], path + ".preferred_lft", 0)
    if valid is not None or preferred is not None:
        valid = FOREVER if valid is None else valid
        if preferred is None:
            preferred = valid  # ip's default would be forever, which a finite valid_lft refuses
        if valid != FOREVER and (preferred == FOREVER or preferred > valid):
            raise InputError(path + ".preferred_lft", "must not exceed valid_lft (%s), found %s"
                             % (valid, preferred))
        entry["valid_lft"], entry["preferred_lft"] = valid, preferred
    return entry


def current_entry(name, kind, fact):
    """One facts address as an entry (every field set) plus internal markers."""
    iface = ipaddress.ip_interface("%s/%d" % (fact["address"], fact["prefixlen"]))
    flags = fact.get("flags") or ()
    entry = {
        "address": "%s/%d" % (fact["address"], fact["prefixlen"]),
        "broadcast": fact.get("broadcast"),
        "peer": fact.get("peer"),
        "label": fact.get("label") if iface.version == 4 else None,
        "scope": fact.get("scope") or "global",
        "valid_lft": FOREVER if fact.get("valid_lft") is None else fact["valid_lft"],
        "preferred_lft": FOREVER if fact.get("preferred_lft") is None else fact["preferred_lft"],
        "noprefixroute": "noprefixroute" in flags,
        "nodad": "nodad" in flags,
        "_iface": iface,
        "_key": key_of(iface),
        "_secondary": "secondary" in flags,
        "_kernel": is_kernel_made(kind, iface, flags),
    }
    return entry


def is_kernel_made(kind, iface, flags=()):
    """Addresses the kernel makes by itself (left alone unless listed)."""
    if iface.version == 6 and (iface.ip.is_link_local or "temporary" in flags):
        return True
    if kind == "loopback":
        return str(iface) in ("127.0.0.1/8", "::1/128")
    return False


def _lifetime_class(value):
    if value == FOREVER or value is None:
        return FOREVER
    return "zero" if value == 0 else "finite"


def differences(want, have):
    """Attributes of ``want`` (given ones) that ``have`` does not match."""
    diffs = []
    for field in _ATTRIBUTES:
        if field not in want:
            continue
        if field == "prefixlen":
            continue
        if field in ("valid_lft", "preferred_lft"):
            if _lifetime_class(want[field]) != _lifetime_class(have.get(field)):
                diffs.append(field)
        elif want[field] != have.get(field):
            diffs.append(field)
    if want["_iface"].version == 6 and want["_iface"].network.prefixlen != \
            have["_iface"].network.prefixlen:
        diffs.append("prefixlen")
    return diffs


def address_line(verb, dev, entry, path="config"):
    """An ``address add|replace|del`` Op for ``entry`` (values re-validated as tokens)."""
    planner.check_name(dev, path + ".name")
    iface = entry["_iface"]
    cidr = planner.check_token(entry["address"], path + ".address")
    words = ["address", verb, cidr]
    if entry.get("peer"):
        words += ["peer", planner.check_token(entry["peer"], path + ".peer")]
    if verb == "del":
        return planner.Op(planner.ADDR_DEL, dev, words + ["dev", dev], field="addresses",
                          value=cidr, address=cidr)
    if entry.get("broadcast"):
        words += ["broadcast", planner.check_token(entry["broadcast"], path + ".broadcast")]
    if iface.version == 4 and entry.get("scope") and entry["scope"] != "global":
        words += ["scope", planner.check_choice(entry["scope"], path + ".scope", SCOPES)]
    words += ["dev", dev]
    if iface.version == 4 and entry.get("label") and entry["label"] != dev:
        words += ["label", planner.check_token(entry["label"], path + ".label")]
    valid, preferred = entry.get("valid_lft", FOREVER), entry.get("preferred_lft", FOREVER)
    if valid != FOREVER or preferred != FOREVER:
        words += ["valid_lft", str(valid), "preferred_lft", str(preferred)]
    if entry.get("noprefixroute"):
        words.append("noprefixroute")
    if entry.get("nodad") and iface.version == 6:
        words.append("nodad")
    return planner.Op(planner.ADDR_ADD, dev, words, field="addresses", value=cidr, address=cidr)


def entry_to_config(entry, name):
    """An entry as it appears in results: ``address`` plus non-default attributes."""
    out = {"address": entry["address"]}
    v4 = entry["_iface"].version == 4
    if entry.get("broadcast"):
        out["broadcast"] = entry["broadcast"]
    if entry.get("peer"):
        out["peer"] = entry["peer"]
    if v4 and entry.get("label") and entry["label"] != name:
        out["label"] = entry["label"]
    if v4 and entry.get("scope") and entry["scope"] != "global":
        out["scope"] = entry["scope"]
    for field in ("valid_lft", "preferred_lft"):
        if field in entry and entry[field] != FOREVER:
            out[field] = entry[field]
    if entry.get("noprefixroute"):
        out["noprefixroute"] = True
    if entry.get("nodad") and not v4:
        out["nodad"] = True
    return out


def facts_address(entry):
    """An entry as the reader's facts record of it (check mode's view after a plan)."""
    iface = entry["_iface"]
    flags = [flag for flag in ("noprefixroute", "nodad") if entry.get(flag)]
    valid = entry.get("valid_lft", FOREVER)
    preferred = entry.get("preferred_lft", FOREVER)
    flags.append("permanent" if valid == FOREVER else "dynamic")
    if preferred == 0:
        flags.append("deprecated")
    return {"family": "ipv%d" % iface.version, "address": ip_text(iface.ip),
            "prefixlen": iface.network.prefixlen, "broadcast": entry.get("broadcast"),
            "peer": entry.get("peer"), "scope": entry.get("scope") or "global",
            "label": entry.get("label"), "flags": flags,
            "valid_lft": None if valid == FOREVER else valid,
            "preferred_lft": None if preferred == FOREVER else preferred}


def interface_ops(name, have, want):
    """Ops taking the addresses ``have`` (current entries) of ``name`` to ``want``
    ({addresses, _exact, _remove, _path}: a target item of the addresses resource)."""
    path = want.get("_path") or "config"
    want_by_key = dict((e["_key"], e) for e in want["addresses"])
    deleting = []
    for entry in have:
        key = entry["_key"]
        if key in want["_remove"] or (want["_exact"] and key not in want_by_key
                                      and not entry["_kernel"]):
            deleting.append(entry)
    recreate, replace = [], []
    for entry in want["addresses"]:
        base = next((h for h in have if h["_key"] == entry["_key"]), None)
        if base is None or entry["_key"] in want["_remove"]:
            continue
        diffs = differences(entry, base)
        if not diffs:
            continue
        in_place = _REPLACE_V4 if entry["_iface"].version == 4 else _REPLACE_V6
        if all(d in in_place for d in diffs):
            replace.append(entry["_key"])
        else:
            recreate.append(entry["_key"])
            deleting.append(base)
    # the kernel deletes an IPv4 primary's same-subnet secondaries with it
    orphaned = set()
    deleted_keys = set(e["_key"] for e in deleting)
    for gone in deleting:
        iface = gone["_iface"]
        if iface.version != 4 or gone["_secondary"]:
            continue
        for other in have:
            if (other["_secondary"] and other["_key"] not in deleted_keys
                    and other["_iface"].version == 4
                    and other["_iface"].network == iface.network
                    and other["_key"] in want_by_key):
                orphaned.add(other["_key"])
    ops = []
    # secondaries first: deleting their primary first would take them along
    for entry in sorted(deleting, key=lambda e: not e["_secondary"]):
        ops.append(address_line("del", name, entry, path))
    have_keys = set(h["_key"] for h in have)
    for entry in want["addresses"]:
        key = entry["_key"]
        if key in want["_remove"]:
            continue
        if key not in have_keys or key in recreate:
            ops.append(address_line("add", name, entry, entry.get("_path") or path))
        elif key in replace or key in orphaned:
            ops.append(address_line("replace", name, entry, entry.get("_path") or path))
    return ops


def restore_ops(name, kind, before, now):
    """Ops taking the addresses of ``name`` from ``now`` back to ``before`` (facts lists).

    Used by the transaction's restore: every attribute comes back (lifetimes,
    scope, label, flags), addresses the plan added go (finite-lifetime ones
    too), kernel-made addresses are left to the kernel.
    """
    have = [current_entry(name, kind, fact) for fact in now or ()]
    want = [entry for entry in (current_entry(name, kind, fact) for fact in before or ())
            if not entry["_kernel"]]
    target = {"name": name, "addresses": want, "_exact": True, "_remove": set(),
              "_path": "restore"}
    return interface_ops(name, have, target)
