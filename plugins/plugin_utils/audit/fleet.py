# -*- coding: utf-8 -*-
# Copyright: hostnet.netif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fleet checks: problems that only show across hosts.

Every check is one pass over the interfaces into hash maps (address -> members,
MAC -> members, subnet -> members, group -> values), then one pass over the
maps: linear in the number of interfaces, never pairwise over hosts.
prefix_mismatch also looks each address up once per prefix length present in
the fleet (at most 33 for IPv4, 129 for IPv6).

Each failing finding names the problem's members in ``involved`` (host,
interface, value), capped at INVOLVED_CAP with ``involved_total`` telling the
real size; every member gets its own finding, so every host involved is named.
A host that took part and had no problem gets one ``pass`` finding per rule.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fnmatch
import json
import re
import socket

try:
    import netaddr
except ImportError:  # load_policy() reports the missing library before any fleet check runs
    netaddr = None

from ansible_collections.hostnet.netif.plugins.plugin_utils.audit.engine import (
    MISSING,
    NO_MAC,
    lookup,
    make_finding,
    pack_macs,
)

INVOLVED_CAP = 50
_BITS = {4: 32, 6: 128}


class _Entry:
    """One address of one interface, parsed once for every address check."""

    __slots__ = ("host", "name", "iface", "family", "address", "prefixlen", "value", "version", "scope")

    def __init__(self, host, name, iface, family, address, prefixlen, value, version, scope):
        self.host = host
        self.name = name
        self.iface = iface
        self.family = family
        self.address = address
        self.prefixlen = prefixlen
        self.value = value
        self.version = version
        self.scope = scope


def _parse_address(text):
    """(version, integer value, canonical text) or None; inet_pton is ~20x faster than netaddr."""
    try:
        return 4, int.from_bytes(socket.inet_pton(socket.AF_INET, text), "big"), text
    except (OSError, TypeError, ValueError):
        pass
    try:
        packed = socket.inet_pton(socket.AF_INET6, text.split("%", 1)[0])
    except (OSError, TypeError, ValueError, AttributeError):
        return None
    return 6, int.from_bytes(packed, "big"), socket.inet_ntop(socket.AF_INET6, packed)


def _entries(ctx):
    """Every address of the host, parsed once (cached on the context)."""
    if ctx._addresses is None:
        out = []
        for name, iface in ctx.interfaces:
            for item in iface.get("addresses") or ():
                if not isinstance(item, dict):
                    continue
                parsed = _parse_address(item.get("address"))
                if parsed is None:
                    continue
                version, value, canonical = parsed
                prefixlen = item.get("prefixlen")
                if type(prefixlen) is not int or not 0 <= prefixlen <= _BITS[version]:  # not bool  # pylint: disable=unidiomatic-typecheck
                    continue
                out.append(_Entry(ctx.host, name, iface, item.get("family") or "ipv%d" % version,
                                  canonical, prefixlen, value, version, str(item.get("scope", "global"))))
        ctx._addresses = out
    return ctx._addresses


def _mask(version, prefixlen):
    bits = _BITS[version]
    return ((1 << bits) - 1) ^ ((1 << (bits - prefixlen)) - 1)


def _cidr(version, value, prefixlen):
    return "%s/%d" % (netaddr.IPAddress(value, version), prefixlen)


class _AddressFilter:
    def __init__(self, rule):
        params = rule.parameters
        self.select = rule.select
        self.families = frozenset(params.get("families") or ("ipv4", "ipv6"))
        self.scopes = frozenset(params.get("scopes") or ("global",))
        networks = params.get("ignore_networks") or ()
        self.ignore = netaddr.IPSet(networks) if networks else None
        self.skip_host_prefixes = params.get("ignore_host_prefixes", True)

    def entries(self, ctx, host_prefixes=True):
        for entry in _entries(ctx):
            if entry.family not in self.families or entry.scope not in self.scopes:
                continue
            if not host_prefixes and self.skip_host_prefixes and entry.prefixlen == _BITS[entry.version]:
                continue
            if not self.select.interface_matches(entry.name, entry.iface):
                continue
            if self.ignore is not None and netaddr.IPAddress(entry.value, entry.version) in self.ignore:
                continue
            yield entry


def _involved(members):
    """members: list of (host, interface, value) -> (list capped, total)."""
    items = [{"host": h, "interface": i, "value": v} for h, i, v in members[:INVOLVED_CAP]]
    return items, len(members)


def _names(members, limit=8):
    text = ", ".join("%s (%s)" % (h, i) for h, i, dummy in members[:limit])
    if len(members) > limit:
        text += " and %d more" % (len(members) - limit)
    return text


def _fail(rule, host, interface, expected, actual, detail, involved):
    finding = make_finding(rule, host, interface, "fail", expected, actual, detail)
    finding["involved"], finding["involved_total"] = involved
    return finding


def _needs(rule, ctx, subset, findings):
    """Add an error finding and return False when ``subset`` was not gathered."""
    if subset in ctx.gathered:
        return True
    findings.append(make_finding(
        rule, ctx.host, None, "error", None, None,
        "%s needs gather_subset '%s', which was not gathered (gathered: %s)"
        % (rule.check, subset, ", ".join(sorted(ctx.gathered)))))
    return False


def _complete(rule, participants, findings, detail):
    """One pass finding for every participant without a finding of this rule."""
    seen = set(f["host"] for f in findings)
    for host in participants:
        if host not in seen:
            findings.append(make_finding(rule, host, None, "pass", None, None, detail))
    return findings


def _majority(counts):
    """The strictly most common key of a {key: count} map, or None on a tie."""
    ranked = sorted(counts.items(), key=lambda kv: -kv[1])
    if len(ranked) == 1 or ranked[0][1] > ranked[1][1]:
        return ranked[0][0]
    return None


# ---------------------------------------------------------------------------
# the checks
# ---------------------------------------------------------------------------
def duplicate_address(rule, contexts):
    filt = _AddressFilter(rule)
    findings = []
    index = {}
    participants = []
    for ctx in contexts:
        if not _needs(rule, ctx, "addresses", findings):
            continue
        participants.append(ctx.host)
        for entry in filt.entries(ctx):
            index.setdefault((entry.version, entry.value), []).append(entry)
    for (version, value), entries in index.items():
        if len(set(e.host for e in entries)) < 2:
            continue
        members = sorted((e.host, e.name, "%s/%d" % (e.address, e.prefixlen)) for e in entries)
        involved = _involved(members)
        address = entries[0].address
        for host, name, cidr in members:
            findings.append(_fail(
                rule, host, name, "%s on one host only" % address, cidr,
                "%s is configured on %d hosts: %s" % (address, len(set(m[0] for m in members)),
                                                      _names(members)),
                involved))
    return _complete(rule, participants, findings,
                     "no global address of this host is configured on another audited host")


def _own_macs(rule, ctx, ignore_re, skip_local):
    """(interface, MAC as 6 bytes) of the host's interfaces that duplicate_mac compares; a slim
    context's MACs are packed already (engine.pack_macs). The text form is made only where
    needed (``ignore_macs`` globs, findings)."""
    packed = ctx.macs
    for position, (name, iface) in enumerate(ctx.interfaces):
        if packed is not None:
            raw = packed[6 * position:6 * position + 6]
        else:
            raw = pack_macs((iface.get("mac"),))
        if raw == NO_MAC:
            continue
        first = raw[0]
        if first & 1:  # multicast and broadcast addresses are never an interface's own
            continue
        if skip_local and first & 2:
            continue
        if ignore_re is not None and ignore_re.match(raw.hex(":")):
            continue
        if not rule.select.interface_matches(name, iface):
            continue
        yield name, raw


def duplicate_mac(rule, contexts):
    params = rule.parameters
    ignore = [p.lower() for p in params.get("ignore_macs") or ()]
    ignore_re = re.compile("|".join(fnmatch.translate(p) for p in ignore)) if ignore else None
    skip_local = params.get("ignore_locally_administered", False)
    findings = []
    participants = []
    # two passes: first only which MACs are on more than one host (a set of 6-byte MACs, not a
    # member list for each of two million MACs), then the members of those
    seen = set()
    shared = set()
    for ctx in contexts:
        participants.append(ctx.host)
        for raw in set(raw for dummy, raw in _own_macs(rule, ctx, ignore_re, skip_local)):
            if raw in seen:
                shared.add(raw)  # on an earlier host too (one host's own repeats do not count)
            else:
                seen.add(raw)
    seen = None
    index = {}
    if shared:
        for ctx in contexts:
            for name, raw in _own_macs(rule, ctx, ignore_re, skip_local):
                if raw in shared:
                    mac = raw.hex(":")
                    index.setdefault(mac, []).append((ctx.host, name, mac))
    for mac, members in index.items():
        hosts = set(m[0] for m in members)
        if len(hosts) < 2:
            continue  # bridges and VLANs share their port's MAC inside one host
        members.sort()
        involved = _involved(members)
        for host, name, dummy in members:
            findings.append(_fail(rule, host, name, "%s on one host only" % mac, mac,
                                  "MAC %s is used on %d hosts: %s" % (mac, len(hosts), _names(members)),
                                  involved))
    return _complete(rule, participants, findings, "no MAC address of this host is used on another audited host")


def _subnets(filt, contexts, rule, findings):
    """{(version, network, prefixlen): {(host, interface): entry}} and the participants."""
    subnets = {}
    participants = []
    for ctx in contexts:
        if not _needs(rule, ctx, "addresses", findings):
            continue
        participants.append(ctx.host)
        for entry in filt.entries(ctx, host_prefixes=False):
            key = (entry.version, entry.value & _mask(entry.version, entry.prefixlen), entry.prefixlen)
            subnets.setdefault(key, {})[(entry.host, entry.name)] = entry
    return subnets, participants


def mtu_mismatch(rule, contexts):
    filt = _AddressFilter(rule)
    findings = []
    subnets, participants = _subnets(filt, contexts, rule, findings)
    for (version, network, prefixlen), members in subnets.items():
        if len(members) < 2:
            continue
        counts = {}
        for entry in members.values():
            counts[entry.iface.get("mtu")] = counts.get(entry.iface.get("mtu"), 0) + 1
        if len(counts) < 2:
            continue
        cidr = _cidr(version, network, prefixlen)
        majority = _majority(counts)
        bad = sorted((h, i, e.iface.get("mtu")) for (h, i), e in members.items()
                     if majority is None or e.iface.get("mtu") != majority)
        involved = _involved(bad)
        spread = ", ".join("%s x%d" % (mtu, n) for mtu, n in sorted(counts.items(), key=lambda kv: -kv[1]))
        for host, name, mtu in bad:
            if majority is None:
                detail = ("subnet %s has no majority MTU (%s); %s (%s) uses %s"
                          % (cidr, spread, host, name, mtu))
                expected = "one MTU on %s" % cidr
            else:
                detail = ("%s (%s) uses MTU %s on subnet %s where %d of %d interfaces use %s; "
                          "mismatched: %s" % (host, name, mtu, cidr, counts[majority], len(members),
                                              majority, _names(bad)))
                expected = majority
            findings.append(_fail(rule, host, name, expected, mtu, detail, involved))
    return _complete(rule, participants, findings,
                     "every subnet of this host uses one MTU across the audited hosts")


def prefix_mismatch(rule, contexts):
    filt = _AddressFilter(rule)
    findings = []
    subnets, participants = _subnets(filt, contexts, rule, findings)
    lengths = {4: set(), 6: set()}
    for version, dummy, prefixlen in subnets:
        lengths[version].add(prefixlen)
    parent = dict((key, key) for key in subnets)

    def find(key):
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    for key, members in subnets.items():
        version, dummy, prefixlen = key
        for other in lengths[version]:
            if other == prefixlen:
                continue
            for entry in members.values():
                candidate = (version, entry.value & _mask(version, other), other)
                if candidate in parent:
                    root_a, root_b = find(key), find(candidate)
                    if root_a != root_b:
                        parent[root_a] = root_b
    components = {}
    for key in subnets:
        components.setdefault(find(key), []).append(key)
    for keys in components.values():
        if len(set(k[2] for k in keys)) < 2:
            continue
        entries = []
        for key in keys:
            entries.extend(subnets[key].values())
        counts = {}
        for entry in entries:
            counts[entry.prefixlen] = counts.get(entry.prefixlen, 0) + 1
        majority = _majority(counts)
        widest = min(keys, key=lambda k: k[2])
        area = _cidr(widest[0], widest[1], widest[2])
        bad = sorted((e.host, e.name, "%s/%d" % (e.address, e.prefixlen)) for e in entries
                     if majority is None or e.prefixlen != majority)
        involved = _involved(bad)
        spread = ", ".join("/%d x%d" % (p, n) for p, n in sorted(counts.items(), key=lambda kv: -kv[1]))
        for host, name, cidr in bad:
            if majority is None:
                detail = ("%s (%s) has %s in %s, where overlapping subnets use different prefix "
                          "lengths with no majority (%s)" % (host, name, cidr, area, spread))
                expected = "one prefix length in %s" % area
            else:
                detail = ("%s (%s) has %s, which overlaps %s where %d of %d addresses use /%d; "
                          "mismatched: %s" % (host, name, cidr, area, counts[majority], len(entries),
                                              majority, _names(bad)))
                expected = "/%d" % majority
            findings.append(_fail(rule, host, name, expected, cidr, detail, involved))
    return _complete(rule, participants, findings,
                     "no subnet of this host overlaps another audited subnet with a different prefix length")


def _drift_groups(rule, contexts):
    params = rule.parameters
    wanted = set(params.get("groups") or ())
    include_all = params.get("include_all", False)
    groups = {}
    for ctx in contexts:
        for group in ctx.groups:
            if wanted:
                if group not in wanted:
                    continue
            elif group == "ungrouped" or (group == "all" and not include_all):
                continue
            groups.setdefault(group, []).append(ctx)
    return groups


def drift(rule, contexts):
    min_hosts = rule.parameters.get("min_hosts", 3)
    findings = []
    errors = set()
    participants = set()

    def judge(group, label, values, interface_scope):
        # values: {(host, interface): value}
        if len(values) < min_hosts:
            return
        counts = {}
        keyed = {}
        for member, value in values.items():
            key = json.dumps(value, sort_keys=True, default=str)
            keyed[member] = key
            counts[key] = counts.get(key, 0) + 1
        for member in values:
            participants.add(member[0])
        if len(counts) < 2:
            return
        majority = _majority(counts)
        bad = sorted((h, i, values[(h, i)]) for (h, i), key in keyed.items()
                     if majority is None or key != majority)
        involved = _involved(bad)
        spread = ", ".join("%s x%d" % (k, n) for k, n in sorted(counts.items(), key=lambda kv: -kv[1]))
        for host, name, value in bad:
            where = "%s of %s" % (label, name) if interface_scope else label
            if majority is None:
                detail = ("group %s has no majority for %s (%s); %s has %s"
                          % (group, where, spread, host, json.dumps(value, default=str)))
                expected = "one value across group %s" % group
            else:
                detail = ("%s: %s is %s where %d of %d hosts of group %s have %s"
                          % (host, where, json.dumps(value, default=str), counts[majority], len(values),
                             group, majority))
                expected = json.loads(majority)
            findings.append(_fail(rule, host, name, expected, value, detail, involved))

    for group, members in sorted(_drift_groups(rule, contexts).items()):
        if len(members) < min_hosts:
            continue
        for ref, iface_re in rule.drift_values:
            if ref.scope == "host":
                values = {}
                for ctx in members:
                    value, error = lookup(ref, ctx)
                    if error is not None and value is MISSING:
                        if (ctx.host, None, ref.text) not in errors:
                            errors.add((ctx.host, None, ref.text))
                            findings.append(make_finding(rule, ctx.host, None, "error", None, None,
                                                         "drift of %s: %s" % (ref.text, error)))
                    elif value is not MISSING:
                        values[(ctx.host, None)] = value
                judge(group, ref.text, values, False)
                continue
            per_interface = {}
            for ctx in members:
                for name, iface in ctx.interfaces:
                    if not rule.select.interface_matches(name, iface):
                        continue
                    if iface_re is not None and not iface_re.match(name):
                        continue
                    value, error = lookup(ref, ctx, name, iface)
                    if error is not None and value is MISSING:
                        if (ctx.host, name, ref.text) not in errors:
                            errors.add((ctx.host, name, ref.text))
                            findings.append(make_finding(rule, ctx.host, name, "error", None, None,
                                                         "drift of %s: %s" % (ref.text, error)))
                        continue
                    if value is not MISSING:
                        per_interface.setdefault(name, {})[(ctx.host, name)] = value
            for name in sorted(per_interface):
                judge(group, ref.text, per_interface[name], True)
    return _complete(rule, sorted(participants), findings,
                     "the host agrees with the majority of each of its groups")


CHECKS = {
    "duplicate_address": duplicate_address,
    "duplicate_mac": duplicate_mac,
    "mtu_mismatch": mtu_mismatch,
    "prefix_mismatch": prefix_mismatch,
    "drift": drift,
}

__all__ = ["CHECKS", "INVOLVED_CAP"] + list(CHECKS)
