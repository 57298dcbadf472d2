# -*- coding: utf-8 -*-
# Copyright: hostnet.netif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Evaluate a policy on facts documents: per host, across the fleet, into a report.

Public API (every entry point of the collection calls these):

``load_policy(sources, waivers)``   -> Policy (policy.py; raises PolicyError)
``required_subsets(policy)``        -> {"gather_subset": [...], "sysctl_keys": [...]}
``evaluate_host(policy, host, groups, facts, today)`` -> [finding, ...]
``fleet(policy, facts_by_host, groups_by_host, today)`` -> [finding, ...]
``build_report(policy, host_findings, fleet_findings, groups_by_host)`` -> report dict
``run(policy, sources, groups_by_host, today)`` -> report dict: the one evaluation loop
``audit(policy, facts_by_host, groups_by_host, today)`` -> report dict (run() on a mapping)
``summarize(findings, passed)`` -> {"status", "counts", "rules"} of one host (reports and the
audit action alike)

A source (``HostSource``) is one host's facts document, its boot facts (in the
document), or findings already evaluated (a live audit's registered result).
``run`` evaluates one host at a time and keeps only what the fleet checks read
(``FleetView``), so a streamed source never holds every host's facts at once.

A finding is a dict: host, interface (None for host scope), rule, title,
severity, status (exactly pass / fail / waived / error), expected, actual,
detail, references; fleet findings add ``involved`` (every host and interface
of the problem, capped, with ``involved_total``); waived ones add ``waiver``.
A fact that is missing because its subset or sysctl key was not gathered is
an ``error`` finding with a detail saying what to gather, never a pass.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import itertools
import json
import os
import pickle
import re
import tempfile
from collections import deque

from ansible_collections.hostnet.netif.plugins.module_utils import model
from ansible_collections.hostnet.netif.plugins.plugin_utils.audit import boot, factpath, factshape, promiscuity
from ansible_collections.hostnet.netif.plugins.plugin_utils.audit.policy import (  # noqa: F401 (re-exported API)  # pylint: disable=unused-import
    INTERNAL_RULES,
    RULE_FACTS_UNAVAILABLE,
    RULE_WAIVER_EXPIRED,
    SEVERITIES,
    SEVERITY_RANK,
    STATUSES,
    Policy,
    PolicyError,
    load_policy,
)

MISSING = factpath.MISSING
REPORT_SCHEMA_VERSION = 1

# worst first when rolling findings up to one status per host / rule
STATUS_RANK = {"pass": 0, "waived": 1, "error": 2, "fail": 3}


def audit_date(today=None):
    """The date waiver expiry is judged against: a date, an ISO string, or None for today.

    Raises ValueError for a string that is not YYYY-MM-DD.
    """
    if today is None:
        return datetime.date.today()
    if isinstance(today, datetime.datetime):
        return today.date()
    if isinstance(today, datetime.date):
        return today
    return datetime.date.fromisoformat(str(today))


class HostContext:
    """One host's facts document, checked once and indexed for the rules."""

    __slots__ = ("host", "groups", "facts", "ok", "problem", "gathered", "interfaces",
                 "_addresses", "macs")

    def __init__(self, host, groups, facts):
        self.host = host
        self.groups = frozenset(groups or ())
        self.facts = facts
        self.problem = None
        self.gathered = frozenset()
        self.interfaces = ()
        self._addresses = None
        self.macs = None  # slim contexts: the MACs apart from interfaces' shared dicts (pack_macs)
        if facts is None:
            self.problem = "no facts: the host was unreachable or gathering failed"
        elif not isinstance(facts, dict):
            self.problem = "facts are %s, not a facts document (ansible_facts.netif)" % type(facts).__name__
        elif not isinstance(facts.get("interfaces"), dict):
            self.problem = "facts document has no 'interfaces' mapping (is it ansible_facts.netif?)"
        elif facts.get("schema_version") != model.SCHEMA_VERSION:
            self.problem = ("facts document schema_version %r is not the supported %d"
                            % (facts.get("schema_version"), model.SCHEMA_VERSION))
        elif not isinstance(facts.get("gather_subset"), list):
            self.problem = "facts document has no gather_subset list"
        else:
            self.problem = factshape.problem(facts)
            if self.problem is not None:
                self.problem = "malformed facts document: %s" % self.problem
        if self.problem is None:
            self.gathered = frozenset(facts["gather_subset"]) | {"links"}
            self.interfaces = tuple((name, iface) for name, iface in sorted(facts["interfaces"].items())
                                    if isinstance(iface, dict))
        self.ok = self.problem is None

    def slim(self, view):
        """A context that keeps only what ``view`` (the fleet rules) reads; the facts are released."""
        out = HostContext.__new__(HostContext)
        out.host, out.ok, out.problem = self.host, self.ok, self.problem
        out.groups, out.gathered = view.intern(self.groups), view.intern(self.gathered)
        out._addresses = None
        out.macs = None
        out.facts = view.host_part(self.facts) if self.ok else None
        if not view.interfaces:
            out.interfaces = ()
        elif view.split_mac:
            # an interface's MAC is unique, the rest mostly alike: one shared dict for the
            # alike part, the MACs in a tuple beside (fleet.duplicate_mac reads them there)
            out.macs = pack_macs(iface.get("mac") for name, iface in self.interfaces)
            out.interfaces = tuple((view.intern(name), view.interface_part(iface, shared=True))
                                   for name, iface in self.interfaces)
        else:
            out.interfaces = tuple((view.intern(name), view.interface_part(iface))
                                   for name, iface in self.interfaces)
        return out


_MAC_TEXT = re.compile(r"^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$")  # a MAC as duplicate_mac compares it (lower case)
NO_MAC = bytes(6)


def pack_macs(values):
    """Interfaces' MACs as 6 bytes each, in order: the MAC where the value is one in the form
    ``aa:bb:cc:dd:ee:ff`` (any case), else six zero bytes (the zero MAC, which duplicate_mac
    skips as it skips a value that is no MAC). 6 bytes instead of a string object (66 bytes)
    and its tuple slot: two million MACs in 12 MB, not 150."""
    out = bytearray()
    for value in values:
        if isinstance(value, str):
            value = value.lower()
            if _MAC_TEXT.match(value):
                out += bytes.fromhex(value.replace(":", ""))
                continue
        out += NO_MAC
    return bytes(out)


_CANONICAL = json.JSONEncoder(sort_keys=True, default=str, separators=(",", ":")).encode


class FleetView:
    """What the fleet rules of a policy read from a host: a projection of its facts.

    The fleet checks run after every host was evaluated, so their input is
    kept for the whole audit. Keeping whole documents costs kilobytes per
    interface; this keeps only the paths the fleet rules read (selectors'
    kind and flags, MAC, MTU, the address fields, drift values and the raw
    sysctls their effective values are computed from) and shares equal
    values between hosts (one ``sysctl`` block object for a thousand alike
    interfaces).
    """

    _ADDRESS = {"address": None, "prefixlen": None, "family": None, "scope": None}
    _UNIQUE = frozenset(("mac", "addresses"))

    def __init__(self, policy):
        iface, host = {}, {}
        rules = policy.fleet_rules
        self.interfaces = bool(rules)
        if rules:
            iface.update(kind=None, flags=None)
        for rule in rules:
            if rule.check in ("duplicate_address", "mtu_mismatch", "prefix_mismatch"):
                iface["addresses"] = dict(self._ADDRESS)
            if rule.check == "mtu_mismatch":
                iface["mtu"] = None
            if rule.check == "duplicate_mac":
                iface["mac"] = None
            for ref, dummy in rule.drift_values:
                self._add(iface if ref.scope == "interface" else host, ref.keys)
                if ref.effective is not None:
                    family, key = ref.effective
                    for extra in (key, "forwarding", "force_forwarding"):
                        self._add(iface, ["sysctl", family, extra])
                    self._add(host, ["sysctl", "net.%s.conf.all.%s" % (family, key)])
        # MACs apart unless a drift value reads them too
        self.split_mac = "mac" in iface and not any(
            ref.scope == "interface" and ref.keys[0] == "mac" for rule in rules for ref, dummy in rule.drift_values)
        if self.split_mac:
            del iface["mac"]
        self._iface, self._host = iface, host
        self._memo = {}

    @staticmethod
    def _add(trie, keys):
        for position, key in enumerate(keys):
            last = position == len(keys) - 1
            if key in trie and trie[key] is None:
                return  # the whole value is kept already
            if last:
                trie[key] = None
            else:
                trie = trie.setdefault(key, {})

    @classmethod
    def _project(cls, value, trie):
        if trie is None:
            return value
        if isinstance(value, list):
            if any(isinstance(key, int) for key in trie):
                return value
            return [cls._project(item, trie) for item in value]
        if not isinstance(value, dict):
            return value
        return dict((key, cls._project(value[key], sub)) for key, sub in trie.items() if key in value)

    def intern(self, value):
        """One shared object for equal values (read-only from here on)."""
        if isinstance(value, (dict, list)):
            return self._memo.setdefault(("json", _CANONICAL(value)), value)
        try:
            return self._memo.setdefault((type(value), value), value)
        except TypeError:
            return value

    def interface_part(self, iface, shared=False):
        """The projected interface; ``shared``: one object for equal projections (no MAC in it)."""
        out = {}
        key = []
        for name, sub in self._iface.items():
            if name in iface:
                value = self._project(iface[name], sub)
                if name in self._UNIQUE:
                    key.append((name, _CANONICAL(value) if shared else None))
                else:
                    value = self.intern(value)
                    key.append((name, id(value)))  # interned: equal values are one object
                out[name] = value
        if not shared:
            return out
        return self._memo.setdefault(("iface",) + tuple(key), out)

    def host_part(self, facts):
        out = {}
        for key, sub in self._host.items():
            if key in facts:
                out[key] = self.intern(self._project(facts[key], sub))
        return out

    def _interface_again(self, part):
        return self.interface_part(part, shared=self.split_mac)

    def adopt(self, ctx, seen):
        """A slim context made by a worker process (slim() with the worker's own view) with this
        view's shared objects: equal values become one object across the fleet, as if slim(self)
        had made it. ``seen`` ({id: (worker object, ours)}) is shared by the contexts of one
        chunk, whose equal values arrive as one object: each is projected once per chunk."""
        def again(value, make):
            hit = seen.get(id(value))
            if hit is None:
                hit = seen[id(value)] = (value, make(value))
            return hit[1]

        ctx.groups = again(ctx.groups, self.intern)
        ctx.gathered = again(ctx.gathered, self.intern)
        if ctx.facts is not None:
            ctx.facts = self.host_part(ctx.facts)
        ctx.interfaces = tuple((again(name, self.intern), again(part, self._interface_again))
                               for name, part in ctx.interfaces)
        return ctx


# ---------------------------------------------------------------------------
# looking facts up
# ---------------------------------------------------------------------------
def _sysctl_block(ctx, iface):
    return (iface if iface is not None else ctx.facts).get("sysctl")


def _effective_fallback(ref, ctx, iface):
    """Compute an effective value from raw values when the document lacks ``effective``."""
    family, key = ref.effective
    block = iface.get("sysctl") if iface is not None else None
    host = ctx.facts.get("sysctl")
    if not isinstance(block, dict) or not isinstance(host, dict):
        return MISSING
    raw = (block.get(family) or {})
    if key not in raw:
        return MISSING
    all_value = host.get("net.%s.conf.all.%s" % (family, key), MISSING)
    if model.uses_all(family, key) and all_value is MISSING:
        return MISSING
    # force_forwarding left out of a document counts as 0 (its default, and
    # the value of kernels before 6.17, which lack the key)
    return model.effective_value(family, key, raw[key], None if all_value is MISSING else all_value,
                                 raw.get("forwarding"), raw.get("force_forwarding"))


def lookup(ref, ctx, name=None, iface=None):
    """Return (value, error). ``value`` may be MISSING (absent key); ``error`` a detail string."""
    if ref.subset not in ctx.gathered:
        return MISSING, ("%s needs gather_subset '%s', which was not gathered (gathered: %s)"
                         % (ref.text, ref.subset, ", ".join(sorted(ctx.gathered))))
    root = iface if ref.scope == "interface" else ctx.facts
    value = factpath.resolve(root, ref.keys)
    if ref.sysctl_key is None:
        return value, None
    where = ("%s of %s" % (ref.sysctl_key, name)) if ref.scope == "interface" else ref.keys[-1]
    if value is MISSING and ref.effective is not None:
        value = _effective_fallback(ref, ctx, iface)
    if value is MISSING:
        block = _sysctl_block(ctx, iface if ref.scope == "interface" else None)
        if not isinstance(block, dict):
            return MISSING, ("sysctls were not read for %s (the document was built without "
                             "procfs, e.g. offline from running_config)" % (name or ctx.host))
        return MISSING, ("sysctl %s was not gathered; add %s to sysctl_keys"
                         % (where, ref.sysctl_key))
    if value is None:
        return None, ("the kernel did not report %s (null: the key does not exist on this "
                      "kernel or IPv6 is disabled)" % where)
    return value, None


def explain_effective(ref, ctx, name, iface):
    """Say how the kernel arrived at an effective value (for failure details)."""
    family, key = ref.effective
    block = iface.get("sysctl") if isinstance(iface, dict) else None
    own = (block or {}).get(family) or {}
    raw = own.get(key, "?")
    how = model.COMBINE.get(family, {}).get(key)
    if how is None:
        return "the kernel uses conf/%s/%s alone (%s)" % (name, key, raw)
    all_value = (ctx.facts.get("sysctl") or {}).get("net.%s.conf.all.%s" % (family, key), "?")
    forwarding = own.get("forwarding")
    forwards = ("%s forwards (conf/%s/forwarding 1)" % (name, name) if forwarding
                else "%s does not forward" % name)
    if how == "all_or_force":
        return ("packets arriving on %s are forwarded when conf/all/forwarding (%s) or "
                "conf/%s/force_forwarding (%s) is 1; conf/%s/forwarding (%s) alone forwards "
                "nothing" % (name, all_value, name, own.get("force_forwarding", "?"), name, raw))
    if how in ("router_needs_2", "router_ignores"):
        if forwarding is None:
            return ("the kernel uses conf/%s/%s (%s) unless %s forwards (conf/%s/forwarding "
                    "not gathered); conf/all is not used" % (name, key, raw, name, name))
        if not forwarding:
            return ("the kernel uses conf/%s/%s alone (%s) because %s; conf/all is not used"
                    % (name, key, raw, forwards))
        if how == "router_needs_2":
            return ("%s, so router advertisements are accepted only with accept_ra 2 "
                    "(conf/%s/accept_ra is %s); conf/all is not used" % (forwards, name, raw))
        return "%s, so the kernel ignores redirects there (conf/%s/accept_redirects is %s)" % (
            forwards, name, raw)
    why = ""
    if how == "redirects":
        if forwarding is None:
            how, why = "AND or OR", " (AND when the interface forwards, OR when it does not)"
        else:
            how = "and" if forwarding else "or"
            why = " because %s" % forwards
    return ("the kernel combines conf/all (%s) and conf/%s (%s) with %s%s"
            % (all_value, name, raw, how.upper(), why))


# ---------------------------------------------------------------------------
# findings
# ---------------------------------------------------------------------------
def make_finding(rule, host, interface, status, expected, actual, detail):
    """A finding dict (references are added by with_references, once per result)."""
    return {
        "host": host,
        "interface": interface,
        "rule": rule.id,
        "title": rule.title,
        "severity": rule.severity,
        "status": status,
        "expected": expected,
        "actual": None if actual is MISSING else actual,
        "detail": detail,
    }


def with_references(policy, findings):
    """Add each finding's rule references (for per-host results; reports keep them in ``rules``)."""
    catalog = policy.catalog()
    for finding in findings:
        finding["references"] = (catalog.get(finding["rule"]) or {}).get("references", {})
    return findings


class _InternalRule:
    def __init__(self, rule_id):
        spec = INTERNAL_RULES[rule_id]
        self.id = rule_id
        self.title = spec["title"]
        self.severity = spec["severity"]
        self.references = spec["references"]


_NO_FACTS = _InternalRule(RULE_FACTS_UNAVAILABLE)
_EXPIRED = _InternalRule(RULE_WAIVER_EXPIRED)


def _value_text(value):
    if value is MISSING:
        return "absent"
    kind = type(value)
    if kind is int:
        return str(value)
    if value is None:
        return "null"
    if kind is bool:
        return "true" if value else "false"
    return json.dumps(value, default=str, ensure_ascii=False)


def _conditions(rule, ctx, name, iface):
    """(applies, error) for the rule's ``when`` conditions."""
    for ref, expectation in rule.when:
        value, error = lookup(ref, ctx, name, iface)
        if error is not None and value is MISSING:
            return False, "cannot decide whether the rule applies: %s" % error
        if expectation.failures(value):
            return False, None
    return True, None


_PASS = "pass"


def _judge(rule, ctx, name, iface, keep_passes):
    """A finding, None (rule does not apply) or _PASS (passed, not kept)."""
    if rule.when:
        applies, error = _conditions(rule, ctx, name, iface)
        if error is not None:
            return make_finding(rule, ctx.host, name, "error", rule.expect.spec, MISSING, error)
        if not applies:
            return None
    value, error = lookup(rule.fact, ctx, name, iface)
    if error is None and rule.fact.text in promiscuity.FACTS:
        error = promiscuity.unknown(value)
    if error is not None:
        return make_finding(rule, ctx.host, name, "error", rule.expect.spec, value,
                            error if name is None else "%s: %s" % (name, error))
    if not rule.expect.failures(value):
        if not keep_passes:
            return _PASS
        return make_finding(rule, ctx.host, name, "pass", rule.expect.spec, value,
                            "%s is %s" % (rule.fact.text, _value_text(value)) if name is None
                            else "%s: %s is %s" % (name, rule.fact.text, _value_text(value)))
    detail = "%s is %s, expected %s" % (rule.fact.text, _value_text(value), rule.expect.text)
    if name is not None:
        detail = "%s: %s" % (name, detail)
        if rule.fact.effective is not None:
            detail += "; " + explain_effective(rule.fact, ctx, name, iface)
        elif rule.fact.text in promiscuity.FACTS:
            detail += "; " + promiscuity.explain(name, iface)
    return make_finding(rule, ctx.host, name, "fail", rule.expect.spec, value, detail)


def _apply_waivers(policy, findings, host, groups, today, report_expired):
    """Turn matching fails into ``waived``; add a finding per expired waiver of the host."""
    if not policy.waivers:
        return findings
    active = {}
    expired = []
    for waiver in policy.waivers:
        if not waiver.host_matches(host, groups):
            continue
        if waiver.expired(today):
            expired.append(waiver)
        else:
            active.setdefault(waiver.rule, []).append(waiver)
    if active:
        for finding in findings:
            if finding["status"] != "fail":
                continue
            for waiver in active.get(finding["rule"], ()):
                if waiver.interface_matches(finding["interface"]):
                    finding["status"] = "waived"
                    finding["waiver"] = waiver.summary()
                    finding["detail"] += "; waived: %s" % waiver.reason
                    break
    if report_expired:
        for waiver in expired:
            covered = sum(1 for f in findings if f["rule"] == waiver.rule and f["status"] == "fail"
                          and waiver.interface_matches(f["interface"]))
            finding = make_finding(
                _EXPIRED, host, None, "fail", "expires on or after %s" % today.isoformat(),
                waiver.spec.get("expires"),
                "waiver %d of %s for rule %s (%s) expired on %s and no longer waives; "
                "%d failing finding(s) of that rule on this host"
                % (waiver.index, waiver.origin, waiver.rule, waiver.reason,
                   waiver.spec.get("expires"), covered))
            finding["waiver"] = dict(waiver.summary(), rule=waiver.rule)
            findings.append(finding)
    return findings


def _evaluate(policy, ctx, today, keep_passes, missing_reason=None):
    """(findings, passed) for one host; ``passed`` counts passes per rule when not kept."""
    host = ctx.host
    if not ctx.ok:
        detail = ctx.problem
        if missing_reason and ctx.facts is None:
            detail = "no facts: %s" % missing_reason
        findings = [make_finding(_NO_FACTS, host, None, "error", "a facts document", None, detail)]
        return _apply_waivers(policy, findings, host, ctx.groups, today, True), {}
    findings = []
    passed = {}
    append = findings.append
    groups = ctx.groups
    for rule in policy.host_rules:
        if rule.select.any_host or rule.select.host_matches(host, groups):
            outcome = _judge(rule, ctx, None, None, keep_passes)
            if outcome is _PASS:
                passed[rule.id] = passed.get(rule.id, 0) + 1
            elif outcome is not None:
                append(outcome)
    interfaces = ctx.interfaces
    for rule in policy.interface_rules:
        select = rule.select
        if not (select.any_host or select.host_matches(host, groups)):
            continue
        for name, iface in interfaces:
            if select.interface_matches(name, iface):
                outcome = _judge(rule, ctx, name, iface, keep_passes)
                if outcome is _PASS:
                    passed[rule.id] = passed.get(rule.id, 0) + 1
                elif outcome is not None:
                    alias = iface.get("alias")
                    if alias:
                        outcome["alias"] = alias
                    append(outcome)
    if policy.boot_rules:
        found, counted = boot.evaluate(policy, ctx, keep_passes)
        findings.extend(found)
        for rule_id, count in counted.items():
            passed[rule_id] = passed.get(rule_id, 0) + count
    return _apply_waivers(policy, findings, host, groups, today, True), passed


def evaluate_host(policy, host, groups, facts, today=None, missing_reason=None):
    """Findings of the host and interface rules of ``policy`` on one facts document.

    ``facts`` is ``ansible_facts.netif`` (None when the host has none: one
    error finding). ``groups`` are the host's inventory groups (selectors and
    waivers match them). ``today`` (date or ISO string) decides waiver expiry.
    ``missing_reason`` says why there are no facts (e.g. the gathering error).
    Every finding is returned, passes included.
    """
    ctx = facts if isinstance(facts, HostContext) else HostContext(host, groups, facts)
    return _evaluate(policy, ctx, audit_date(today), True, missing_reason)[0]


def evaluate_host_counted(policy, host, groups, facts, today=None, missing_reason=None):
    """Like evaluate_host, but passes are counted: (findings that did not pass, {rule: passes}).

    Keeps per-host results small on hosts with thousands of interfaces;
    build_report takes the counts as ``passed``.
    """
    ctx = facts if isinstance(facts, HostContext) else HostContext(host, groups, facts)
    return _evaluate(policy, ctx, audit_date(today), False, missing_reason)


def fleet(policy, facts_by_host, groups_by_host=None, today=None, passed=None):
    """Findings of the fleet rules of ``policy`` across ``{host: facts}``.

    Hosts without usable facts are left out (evaluate_host reports them).
    Linear in the number of interfaces: every check indexes with hash maps.
    With ``passed`` (a dict), passes are counted there ({host: {rule: n}})
    rule by rule instead of returned: a pass finding per host and fleet rule
    is half a million dicts on 100,000 hosts.
    """
    from ansible_collections.hostnet.netif.plugins.plugin_utils.audit import fleet as fleet_checks

    today = audit_date(today)
    groups_by_host = groups_by_host or {}
    contexts = []
    for host, facts in facts_by_host.items():
        ctx = facts if isinstance(facts, HostContext) else HostContext(host, groups_by_host.get(host), facts)
        if ctx.ok:
            contexts.append(ctx)
    findings = []
    for rule in policy.fleet_rules:
        members = [ctx for ctx in contexts if rule.select.host_matches(ctx.host, ctx.groups)]
        found = fleet_checks.CHECKS[rule.check](rule, members)
        if passed is None:
            findings.extend(found)
            continue
        for finding in found:
            if finding["status"] == "pass":
                tally = passed.setdefault(finding["host"], {})
                tally[rule.id] = tally.get(rule.id, 0) + 1
            else:
                findings.append(finding)
    if policy.waivers:
        by_host = {}
        for finding in findings:
            by_host.setdefault(finding["host"], []).append(finding)
        groups = dict((ctx.host, ctx.groups) for ctx in contexts)
        for host, items in by_host.items():
            _apply_waivers(policy, items, host, groups.get(host, frozenset()), today, False)
    return findings


def required_subsets(policy):
    """What interface_facts must gather for ``policy``: gather_subset and sysctl_keys."""
    subsets = {"links"}
    keys = set()
    for rule in policy.rules:
        refs = [rule.fact] + [ref for ref, dummy in rule.when] + [ref for ref, dummy in rule.drift_values]
        for ref in refs:
            if ref is None:
                continue
            subsets.add(ref.subset)
            if ref.sysctl_key:
                keys.add(ref.sysctl_key)
            if ref.effective is not None:
                # the inputs of the kernel's rule too, so details can name their values
                family, key = ref.effective
                keys.update("%s.%s" % (family, extra) for extra in model.effective_inputs(family, key))
        if rule.check in ("duplicate_address", "mtu_mismatch", "prefix_mismatch"):
            subsets.add("addresses")
    boot_subsets, boot_keys = boot.required(policy)
    subsets.update(boot_subsets)
    keys.update(boot_keys)
    if keys:
        subsets.add("sysctl")
    else:
        subsets.discard("sysctl")
    return {"gather_subset": sorted(subsets), "sysctl_keys": sorted(keys)}


def remediation_plan(policy, findings):
    """Machine-usable fixes for the failing findings of one host.

    Returns ``{"sysctls": [{"name": target, "ipv4": {...}, "ipv6": {...}}],
    "host_sysctls": {dotted: value}, "interfaces": [{"name": ..., <interfaces
    config keys>}], "manual": [rule ids]}``. A per-interface sysctl fix is set
    on conf/all and conf/default as well as on the failing interface, because
    the kernel combines them (OR / MAX) or new interfaces copy them; rules
    whose remediation is text only are listed in ``manual``.
    """
    conf = {}
    host = {}
    interfaces = {}
    manual = set()
    for finding in findings:
        if finding["status"] != "fail":
            continue
        rule = policy.rules_by_id.get(finding["rule"])
        if rule is None or finding.get("boot_fix"):
            continue  # boot drift: boot.remediation_plan
        remedy = rule.remediation
        sysctls = remedy.get("sysctls") or {}
        done = False
        for family in ("ipv4", "ipv6"):
            values = sysctls.get(family)
            if not values:
                continue
            done = True
            targets = ["all", "default"]
            if finding["interface"] is not None:
                targets.append(finding["interface"])
            for target in targets:
                conf.setdefault(target, {}).setdefault(family, {}).update(values)
        if sysctls.get("host"):
            host.update(sysctls["host"])
            done = True
        if remedy.get("interfaces") and finding["interface"] is not None:
            interfaces.setdefault(finding["interface"], {}).update(remedy["interfaces"])
            done = True
        if not done:
            manual.add(rule.id)
    return {
        "sysctls": [dict(conf[name], name=name) for name in sorted(conf)],
        "host_sysctls": host,
        "interfaces": [dict(interfaces[name], name=name) for name in sorted(interfaces)],
        "manual": sorted(manual),
    }


# ---------------------------------------------------------------------------
# the report
# ---------------------------------------------------------------------------
def _empty_counts():
    return {"pass": 0, "fail": 0, "waived": 0, "error": 0}


def _utc_now():
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat().replace(
        "+00:00", "Z")


def summarize(findings, passed=None):
    """One host's roll-up: ``status`` (worst), ``counts`` by status, worst status per rule.

    ``passed`` ({rule: count}) adds passes that were counted instead of kept.
    The audit action's result and every report's host entries come from here.
    """
    counts = _empty_counts()
    rules = {}
    status = "pass"
    rank_of = STATUS_RANK
    for finding in findings:
        current = finding["status"]
        counts[current] += 1
        rule_id = finding["rule"]
        previous = rules.get(rule_id)
        rank = rank_of[current]
        if previous is None or rank_of[previous] < rank:
            rules[rule_id] = current
        if rank_of[status] < rank:
            status = current
    for rule_id, count in (passed or {}).items():
        counts["pass"] += count
        rules.setdefault(rule_id, "pass")
    return {"status": status, "counts": counts, "rules": rules}


class FindingSpool:
    """Each host's findings and pass counts on disk (a temporary file), read back one host at a time.

    What keeps an audit of 100,000 hosts with millions of failing findings
    from holding them all: only an offset per host stays in memory. pickle is
    safe here: the file is unlinked from the start (TemporaryFile, mode 0600)
    and only this process writes and reads it.
    """

    def __init__(self):
        self._file = tempfile.TemporaryFile(prefix="netif-audit-")
        self._where = {}
        self._end = 0
        self._unflushed = False

    def put(self, host, data):
        """Store ``spooled(findings, passed)`` (made here or in a worker process)."""
        self._file.write(data)
        self._where[host] = (self._end, len(data))
        self._end += len(data)
        self._unflushed = True

    def get(self, host):
        """(findings, passed) of ``host``; ([], {}) for a host never put.

        Reads with pread (no shared file offset), so a forked report writer
        and its parent can read the same spool at once."""
        where = self._where.get(host)
        if where is None:
            return [], {}
        if self._unflushed:
            self._file.flush()
            self._unflushed = False
        return pickle.loads(os.pread(self._file.fileno(), where[1], where[0]))

    def __iter__(self):
        return iter(self._where)

    def close(self):
        self._file.close()


class ListedFindings:
    """The report's ``findings`` read from a FindingSpool on each iteration (re-iterable, lazy).

    Same findings in the same order as build_report's in-memory list: by
    host, then rule, then interface; fleet findings merged into their host.
    """

    def __init__(self, spool, hosts, fleet_by_host, include_passed):
        self.spool = spool
        self.hosts = hosts
        self.fleet_by_host = fleet_by_host
        self.include_passed = include_passed

    def __iter__(self):
        return self.of_hosts(None)

    def of_hosts(self, wanted):
        """The findings of the hosts in ``wanted`` only (None: all), in report order: a writer that
        shows a few hosts reads only theirs."""
        for host in self.hosts:
            if wanted is not None and host not in wanted:
                continue
            yield from _listed(self.spool.get(host)[0] + self.fleet_by_host.get(host, []),
                               self.include_passed)


def findings_of(report, hosts):
    """The report's listed findings of ``hosts`` (a set), read from disk only for them when spooled."""
    findings = report["findings"]
    if isinstance(findings, ListedFindings):
        return findings.of_hosts(hosts)
    return (finding for finding in findings if finding["host"] in hosts)


def _listed(findings, include_passed):
    out = []
    for finding in findings:
        if finding["status"] != "pass" or include_passed:
            if "references" in finding:  # the rules catalog carries them once
                finding = dict(finding)
                del finding["references"]
            out.append(finding)
    out.sort(key=lambda f: (f["rule"], f["interface"] or ""))
    return out


def build_report(policy, host_findings, fleet_findings=(), groups_by_host=None, generated_at=None,
                 include_passed=False, today=None, passed=None, spool=None, fleet_passed=None):
    """The canonical report (report.schema.json) from per-host and fleet findings.

    ``host_findings`` is ``{host: [findings]}`` with an entry for EVERY audited
    host (an unreachable host carries its facts_unavailable error). Findings
    that passed are rolled up into per-host and per-rule counts and the
    host x rule matrix; with ``include_passed`` they are listed too.
    ``passed`` is ``{host: {rule: count}}`` for passes that were counted
    instead of kept as findings (bulk audits).
    With a FindingSpool (``spool``), ``host_findings`` and ``passed`` are read
    from it one host at a time and the report's ``findings`` is a
    ListedFindings (iterable, read from the spool again by each writer).
    ``fleet_passed`` ({host: {rule: count}}) are fleet passes counted by fleet().
    """
    fleet_passed = fleet_passed or {}
    groups_by_host = groups_by_host or {}
    passed = passed or {}
    catalog = policy.catalog()
    fleet_by_host = {}
    for finding in fleet_findings:
        fleet_by_host.setdefault(finding["host"], []).append(finding)
    if spool is not None:
        names = set(spool)
    else:
        names = set(host_findings)
    names.update(fleet_by_host)
    names.update(fleet_passed)
    shared = {}
    totals = _empty_counts()
    by_severity = dict((name, 0) for name in SEVERITIES)
    rule_counts = dict((rule_id, _empty_counts()) for rule_id in catalog)
    hosts = []
    hosts_by_status = _empty_counts()
    ordered = []
    order = sorted(names)
    for host in order:
        if spool is not None:
            findings, tally = spool.get(host)
        else:
            findings, tally = host_findings.get(host, []), passed.get(host)
        findings = findings + fleet_by_host.get(host, [])
        if host in fleet_passed:
            tally = dict(tally or {})
            for rule_id, count in fleet_passed[host].items():
                tally[rule_id] = tally.get(rule_id, 0) + count
        entry = summarize(findings, tally)
        # alike hosts share their groups, counts and rules objects (read-only from here on)
        groups = sorted(groups_by_host.get(host) or ())
        entry = {"name": host, "groups": shared.setdefault(("g",) + tuple(groups), groups),
                 "status": entry["status"],
                 "counts": shared.setdefault(("c",) + tuple(entry["counts"].values()), entry["counts"]),
                 "rules": shared.setdefault(("r",) + tuple(sorted(entry["rules"].items())), entry["rules"])}
        hosts.append(entry)
        hosts_by_status[entry["status"]] += 1
        for status, count in entry["counts"].items():
            totals[status] += count
        for finding in findings:
            status = finding["status"]
            counts = rule_counts.get(finding["rule"])
            if counts is None:
                counts = rule_counts[finding["rule"]] = _empty_counts()
            counts[status] += 1
            if status == "fail" or status == "error":
                by_severity[finding["severity"]] += 1
        for rule_id, count in (tally or {}).items():
            rule_counts[rule_id]["pass"] += count
        if spool is None:
            ordered.extend(_listed(findings, include_passed))
    if spool is not None:
        ordered = ListedFindings(spool, order, fleet_by_host, include_passed)
    if totals["fail"]:
        result = "fail"
    elif totals["error"]:
        result = "error"
    else:
        result = "pass"
    return {
        "schema_version": REPORT_SCHEMA_VERSION,
        "generator": "hostnet.netif audit",
        "generated_at": generated_at or _utc_now(),
        "audit_date": audit_date(today).isoformat(),
        "policy": policy.describe(),
        "summary": {
            "result": result,
            "hosts": len(hosts),
            "hosts_by_status": hosts_by_status,
            "findings": totals,
            "failed_by_severity": by_severity,
            "rules": rule_counts,
        },
        "rules": catalog,
        "hosts": hosts,
        "findings_listed": "all" if include_passed else "not_passed",
        "findings": ordered,
    }


class HostSource:
    """One host to audit: its facts (with boot facts inside), or findings already evaluated.

    ``facts`` is ``ansible_facts.netif``, a HostContext, or None (then
    ``missing_reason`` says why). ``findings`` is ``(findings, {rule: passes})``
    when the host was evaluated already (a live audit's registered result);
    its facts then only feed the fleet checks. ``groups`` None: from the
    ``groups_by_host`` given to run(). ``load`` (in place of ``facts``):
    an object whose ``load()`` gives (facts, missing_reason, problem entry),
    called where the host is evaluated (a worker process: factcache.Payload).
    """

    __slots__ = ("host", "facts", "groups", "missing_reason", "findings", "load")

    def __init__(self, host, facts, groups=None, missing_reason=None, findings=None, load=None):
        self.host = host
        self.facts = facts
        self.groups = groups
        self.missing_reason = missing_reason
        self.findings = findings
        self.load = load


def cache_sources(entries, groups_of):
    """HostSources of a fact cache reader's ``(host, facts or a deferred load, reason)`` entries
    (factcache.iter_fact_cache / PluginCache.hosts; a deferred load is a factcache.Payload);
    ``groups_of(host)`` gives each host's groups."""
    for host, doc, reason in entries:
        if hasattr(doc, "load"):
            yield HostSource(host, None, groups=groups_of(host), load=doc)
        else:
            yield HostSource(host, doc, groups=groups_of(host), missing_reason=reason)


WORKER_CHUNK = 64  # hosts per task sent to a worker process
DEFAULT_WORKERS_MAX = 4


def spooled(findings, passed):
    """One host's findings and pass counts as FindingSpool stores them."""
    return pickle.dumps((findings, passed), pickle.HIGHEST_PROTOCOL)


def _evaluated(policy, source, groups, today, include_passed):
    """(findings and passes, context, problem entry of a deferred load or None) of one source."""
    facts, missing_reason, noted = source.facts, source.missing_reason, None
    if source.load is not None:
        facts, missing_reason, noted = source.load.load()
    ctx = facts if isinstance(facts, HostContext) else HostContext(source.host, groups, facts)
    if source.findings is not None and not include_passed:
        return source.findings, ctx, noted
    return _evaluate(policy, ctx, today, include_passed, missing_reason), ctx, noted


def _grouped(sources, groups_by_host):
    """(source, its groups) of every source; a source's own groups are recorded for the report."""
    for source in sources:
        if source.groups is not None:
            groups_by_host[source.host] = source.groups
        yield source, groups_by_host.get(source.host)


def _in_process(policy, pairs, today, include_passed, view):
    """(host, outcome, context, problem entry) of each source; streamed (a ``view``): the
    outcome spooled and the context slim, as a worker gives them; else both whole."""
    for source, groups in pairs:
        outcome, ctx, noted = _evaluated(policy, source, groups, today, include_passed)
        if view is not None:
            outcome, ctx = spooled(*outcome), ctx.slim(view)
        yield source.host, outcome, ctx, noted


_WORKER = {}


def _worker_start(policy, today, include_passed):
    """A worker process's set-up: inherited through fork, never pickled."""
    _WORKER.update(policy=policy, today=today, include_passed=include_passed)


def _worker_chunk(chunk):
    """In a worker process: [(host, spooled findings, slim context, problem entry)] of a chunk of
    (source, groups)."""
    policy, today, include_passed = _WORKER["policy"], _WORKER["today"], _WORKER["include_passed"]
    view = FleetView(policy)  # one per chunk: what it shares travels once in the chunk's pickle
    out = []
    for source, groups in chunk:
        (findings, passed), ctx, noted = _evaluated(policy, source, groups, today, include_passed)
        out.append((source.host, spooled(findings, passed), ctx.slim(view), noted))
    return out


def _chunks(pairs, size):
    chunk = []
    for pair in pairs:
        chunk.append(pair)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _in_workers(policy, pairs, today, include_passed, view, workers):
    """Like _in_process, the hosts evaluated by ``workers`` forked processes, WORKER_CHUNK hosts a
    task, at most two tasks per worker read ahead (bounded memory), results taken in the order
    the sources came (the report is the one _in_process gives, byte for byte). A fleet of one
    chunk is evaluated here (the idle workers only cost their fork)."""
    from concurrent.futures import ProcessPoolExecutor
    import multiprocessing

    pending = deque()
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"),
                             initializer=_worker_start, initargs=(policy, today, include_passed)) as pool:
        # every worker is forked now, before a source is read: a reader's thread (PluginCache's
        # read-ahead) is not running yet, so none of its locks can be copied held
        pool.submit(os.getpid).result()
        chunks = _chunks(pairs, WORKER_CHUNK)
        first = next(chunks, None)
        second = next(chunks, None)
        if second is None:
            yield from _in_process(policy, first or (), today, include_passed, view)
            return
        for chunk in itertools.chain((first, second), chunks):
            pending.append(pool.submit(_worker_chunk, chunk))
            if len(pending) > 2 * workers:
                yield from _adopted(view, pending.popleft())
        while pending:
            yield from _adopted(view, pending.popleft())


def _adopted(view, future):
    from concurrent.futures.process import BrokenProcessPool

    try:
        results = future.result()
    except BrokenProcessPool as exc:
        raise ValueError("an audit worker process ended before its hosts were evaluated (killed, out of "
                         "memory?): %s; workers: 1 evaluates every host in the controller process" % exc)
    seen = {}
    for host, data, ctx, noted in results:
        yield host, data, view.adopt(ctx, seen), noted


def usable_workers(workers=None):
    """Worker processes for an audit: ``workers`` (0 or None: one per CPU this process may use, at most 4),
    1 (no pool) where fork is not available."""
    import multiprocessing

    if "fork" not in multiprocessing.get_all_start_methods():
        return 1
    if not workers:
        try:
            workers = len(os.sched_getaffinity(0))
        except AttributeError:
            workers = os.cpu_count() or 1
        # this process (reading, the fleet view, the spool) does about a third of the work:
        # beyond a few workers it is the limit
        workers = min(workers, DEFAULT_WORKERS_MAX)
    return max(1, int(workers))


def run(policy, sources, groups_by_host=None, today=None, include_passed=False, generated_at=None,
        stream=True, progress=None, workers=1, on_problem=None):
    """The one evaluation loop: every host of ``sources`` (HostSource), then the fleet checks.

    One host at a time: its per-host findings are evaluated (or taken as
    given) and, with ``stream``, written to a FindingSpool while only what
    the fleet checks read is kept (FleetView), so neither the facts nor the
    findings of a large fleet are all in memory; the report's ``findings``
    is then an iterable read back from the spool (reports.write_reports and
    every writer take it).
    ``stream=False`` keeps every HostContext (same report, byte for byte).
    ``workers`` > 1 (with ``stream``): hosts are evaluated in that many
    forked processes while this one reads the sources and keeps the fleet
    view; same report, byte for byte (see _in_workers).
    ``progress(hosts done)`` is called after each host, ``on_problem(host,
    entry)`` for a source's deferred load that found a problem (in host
    order, in this process: factcache.Tally.record).
    """
    today = audit_date(today)
    groups_by_host = dict(groups_by_host or {})
    view = FleetView(policy) if stream else None
    spool = FindingSpool() if stream else None
    host_findings = {}
    passed = {}
    contexts = {}
    pairs = _grouped(sources, groups_by_host)
    if stream and workers > 1:
        evaluated = _in_workers(policy, pairs, today, include_passed, view, workers)
    else:
        evaluated = _in_process(policy, pairs, today, include_passed, view)
    for host, outcome, ctx, noted in evaluated:
        if noted is not None and on_problem is not None:
            on_problem(host, noted)
        if spool is not None:
            spool.put(host, outcome)
        else:
            host_findings[host], passed[host] = outcome
        contexts[host] = ctx
        if progress is not None:
            progress(len(contexts))
    fleet_passed = {} if stream and not include_passed else None
    fleet_findings = fleet(policy, contexts, groups_by_host, today, passed=fleet_passed)
    contexts = None
    return build_report(policy, host_findings, fleet_findings, groups_by_host,
                        generated_at=generated_at, include_passed=include_passed, today=today,
                        passed=passed, spool=spool, fleet_passed=fleet_passed)


def audit(policy, facts_by_host, groups_by_host=None, today=None, include_passed=False,
          generated_at=None, missing_reasons=None, stream=False, workers=1):
    """Evaluate every host of ``{host: facts}`` and the fleet checks; return the report (see run()).

    ``missing_reasons`` ({host: text}) explains hosts whose facts are None.
    Passing host and interface findings are counted, not kept, unless
    ``include_passed``: memory and time stay proportional to the problems.
    """
    missing_reasons = missing_reasons or {}
    sources = (HostSource(host, facts, missing_reason=missing_reasons.get(host))
               for host, facts in facts_by_host.items())
    return run(policy, sources, groups_by_host, today, include_passed, generated_at, stream=stream,
               workers=workers)


def fail_on_reached(report, threshold):
    """(reached, message) for a fail_on severity ('never' = never)."""
    if not threshold or threshold == "never":
        return False, None
    floor = SEVERITY_RANK[threshold]
    hit = dict((name, count) for name, count in report["summary"]["failed_by_severity"].items()
               if SEVERITY_RANK[name] >= floor and count)
    if not hit:
        return False, None
    return True, ("audit found failing or unverifiable findings at or above severity %s: %s"
                  % (threshold, ", ".join("%d %s" % (hit[name], name) for name in reversed(SEVERITIES)
                                          if name in hit)))
