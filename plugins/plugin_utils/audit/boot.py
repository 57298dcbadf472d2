# -*- coding: utf-8 -*-
# Copyright: hostnet.netif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Boot rules: will the host come back the same, and still safe, after a reboot?

``evaluate(policy, ctx, keep_passes)`` is the engine's per-host hook: it judges
the policy's ``scope: boot`` rules on one HostContext (runtime facts plus
``ansible_facts.netif.boot``) and returns ``(findings, {rule: passes})``.

Checks (``check:`` of a boot rule):

``interface_drift``  runtime versus boot per interface: existence, mtu, mac,
                     admin state, master, static addresses
``sysctl_drift``     per key, the EFFECTIVE value now versus after a reboot
``two_managers``     more than one network manager configures one interface
``unreadable``       a boot configuration file that could not be read
``baseline``         the host and interface rules of other policies (the CIS
                     baseline) judged on the boot values: a rule that passes
                     now and fails after a reboot is a finding (``phase: boot``)

Boot value of a per-interface sysctl (what the kernel really does at boot):
systemd-sysctl applies sysctl.d early; a device that exists then (NICs, lo)
keeps the kernel's built-in value unless a file names it (explicitly or by a
glob); a device created later (by networkd/NetworkManager, or at run time)
copies ``conf/default``, and udev's 99-systemd.rules re-applies the keys that
name it explicitly or by glob. Writing ``conf/all/forwarding`` (or
``net.ipv4.ip_forward``) sets every interface's ``forwarding``. The engine's
combining rules (model.effective_value) then give the effective value. A value
no file decides (only kernel defaults, or a key the network manager sets per
link) is not judged: the kernel's default differs by distribution, and in a
network namespace IPv4 inherits the initial namespace's values.

Each finding names the files to change (``files``) and carries ``boot_fix``:
the machine-usable fix to apply the boot value now (``revert``) or to keep the
runtime value across reboots (``persist``); ``remediation_plan`` merges them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fnmatch
import ipaddress
import os

from ansible_collections.hostnet.netif.plugins.module_utils import model

CHECKS = ("interface_drift", "sysctl_drift", "two_managers", "unreadable", "baseline")
ATTRIBUTES = ("existence", "mtu", "mac", "admin_state", "master", "addresses")
# kinds that only a configuration (or a person) creates: one that exists now and
# that no boot configuration creates is gone after a reboot
PERSISTENT_KINDS = ("bridge", "bond", "team", "vlan", "macvlan", "ipvlan", "vxlan", "geneve",
                    "dummy", "vrf", "wireguard", "gre", "gretap", "ipip", "sit", "ip6tnl")
# kinds that exist before systemd-sysctl runs (drivers, lo): conf/default does not reach them
_EARLY_KINDS = frozenset(("ethernet", "wifi", "loopback", "infiniband", "can", "ppp", "other"))
# keys networkd and NetworkManager set per link they manage (IPv4ProxyARP=, IPv6AcceptRA=,
# IPv6PrivacyExtensions=, ...; IPForward= sets conf/all, which sysctl.d files also decide)
_MANAGER_KEYS = {"ipv4": frozenset(("proxy_arp",)),
                 "ipv6": frozenset(("accept_ra", "disable_ipv6", "use_tempaddr", "autoconf",
                                    "addr_gen_mode", "proxy_ndp", "hop_limit", "mtu"))}
# The kernel's built-in values (net/ipv4/devinet.c ipv4_devconf_dflt, net/ipv6/addrconf.c
# ipv6_devconf_dflt); conf/all differs where _KERNEL_ALL says so.
_KERNEL_DEFAULT = {
    "ipv4": {"forwarding": 0, "send_redirects": 1, "accept_redirects": 1, "secure_redirects": 1,
             "shared_media": 1, "accept_source_route": 1, "log_martians": 0, "rp_filter": 0,
             "proxy_arp": 0, "arp_ignore": 0, "arp_announce": 0, "arp_filter": 0, "arp_accept": 0,
             "arp_notify": 0, "route_localnet": 0, "bootp_relay": 0, "accept_local": 0},
    "ipv6": {"forwarding": 0, "accept_ra": 1, "accept_redirects": 1, "accept_source_route": 0,
             "disable_ipv6": 0, "autoconf": 1, "use_tempaddr": 0, "force_forwarding": 0},
}
_KERNEL_ALL = {"ipv4": {"accept_source_route": 0}, "ipv6": {}}
_HOST_ALIASES = {"net.ipv4.ip_forward": "net.ipv4.conf.all.forwarding",
                 "net.ipv4.conf.all.forwarding": "net.ipv4.ip_forward"}
PERSIST_FILE = "zz-hostnet-netif-boot.conf"
PERSIST_UNAVAILABLE = "persist needs hostnet.netif 0.2 persistence (interfaces/addresses persist)"

_UNKNOWN = object()
_NO_BLOCK = {}


# ---------------------------------------------------------------------------
# boot sysctl values
# ---------------------------------------------------------------------------
def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return value


def _how(name, inputs):
    return "; ".join(value.text("conf/%s/%s" % (target or name, key)) for target, key, value in inputs)


def _files(inputs):
    return [value.record["file"] for _target, _key, value in inputs if value.record is not None]


def _where(record):
    return "%s line %s" % (record["file"], record["line"])


class BootSysctl:
    """boot.sysctl, looked up by dotted key (globs the target did not expand matched here)."""

    def __init__(self, records):
        self.records = records if isinstance(records, dict) else {}
        self.patterns = [(key, rec) for key, rec in self.records.items()
                         if isinstance(rec, dict) and rec.get("glob") == key]

    def get(self, dotted):
        record = self.records.get(dotted)
        if record is not None and record.get("glob") != dotted:
            return record
        for pattern, rec in self.patterns:
            if fnmatch.fnmatchcase(dotted, pattern.replace("/", ".")):
                return rec
        return None


def conf_key(family, target, key):
    return "net.%s.conf.%s.%s" % (family, target.replace(".", "/"), key)


class Value:
    """A boot value with where it comes from: ``record`` (a file) or ``how`` (text)."""

    __slots__ = ("value", "record", "how")

    def __init__(self, value, record=None, how=None):
        self.value = value
        self.record = record
        self.how = how

    def text(self, name):
        if self.record is not None and self.how:
            return "%s %s (%s: %s)" % (name, self.value, self.how, _where(self.record))
        if self.record is not None:
            return "%s %s (%s)" % (name, self.value, _where(self.record))
        return "%s %s (%s)" % (name, self.value, self.how)


class HostBoot:
    """The boot side of one host: boot values computed once, on demand.

    Interfaces no sysctl.d key names get the same boot values as every other
    interface of their class (created before or after systemd-sysctl, managed
    or not): values are computed once per class, which keeps hosts with
    thousands of interfaces cheap.
    """

    def __init__(self, ctx):
        self.ctx = ctx
        self.boot = ctx.facts.get("boot") or {}
        self.interfaces = self.boot.get("interfaces") or {}
        self.sysctl = BootSysctl(self.boot.get("sysctl"))
        self._raw_cache = {}
        self.effective_cache = {}
        self._all_cache = {}
        self._classes = {}
        named = set()
        for dotted in self.sysctl.records:
            parts = dotted.split(".")
            if len(parts) == 5 and parts[2] == "conf":
                named.add(parts[3].replace("/", "."))
        self.named = None if self.sysctl.patterns else named

    def created_late(self, name):
        """Whether ``name`` appears after systemd-sysctl (so conf/default reaches it)."""
        record = self.interfaces.get(name)
        if record is not None and record.get("kind"):
            return True
        iface = self.ctx.facts["interfaces"].get(name)
        kind = (iface or {}).get("kind")
        return kind not in _EARLY_KINDS

    def class_of(self, name):
        cls = self._classes.get(name)
        if cls is None:
            if self.named is None or name in self.named:
                cls = ("name", name)
            else:
                cls = ("class", self.created_late(name),
                       bool((self.interfaces.get(name) or {}).get("manager")))
            self._classes[name] = cls
        return cls

    def all_value(self, family, key):
        cached = self._all_cache.get((family, key), _UNKNOWN)
        if cached is not _UNKNOWN:
            return cached
        record = self.sysctl.get(conf_key(family, "all", key))
        if record is None and family == "ipv4" and key == "forwarding":
            record = self.sysctl.get("net.ipv4.ip_forward")
        if record is not None:
            value = Value(_int(record["value"]), record)
        else:
            default = _KERNEL_ALL[family].get(key, _KERNEL_DEFAULT[family].get(key))
            value = None if default is None else Value(default, how="kernel default")
        self._all_cache[(family, key)] = value
        return value

    def raw(self, family, name, key):
        """conf/<name>/<key> after a reboot, or None when the audit cannot tell."""
        index = (family, self.class_of(name), key)
        cached = self._raw_cache.get(index, _UNKNOWN)
        if cached is _UNKNOWN:
            cached = self._raw_cache[index] = self._raw(family, name, key)
        return cached

    def _raw(self, family, name, key):
        record = self.sysctl.get(conf_key(family, name, key))
        if record is not None:
            return Value(_int(record["value"]), record)
        if key == "forwarding":
            # writing conf/all/forwarding sets every interface's forwarding
            record = self.sysctl.get(conf_key(family, "all", key))
            if record is None and family == "ipv4":
                record = self.sysctl.get("net.ipv4.ip_forward")
            if record is not None:
                return Value(_int(record["value"]), record, "set with conf/all/forwarding")
        late = self.created_late(name)
        if late:
            record = self.sysctl.get(conf_key(family, "default", key))
            if record is not None:
                return Value(_int(record["value"]), record, "copied from conf/default, created after sysctl.d")
        manager = (self.interfaces.get(name) or {}).get("manager")
        if manager and key in _MANAGER_KEYS[family]:
            return None
        default = _KERNEL_DEFAULT[family].get(key)
        if default is None:
            return None
        return Value(default, how="kernel default" + ("" if late else ", present before sysctl.d"))

    def effective(self, family, name, key):
        """(effective value, [(target, key, Value)]) after a reboot; value None when undecided.

        ``target`` is None for the interface itself, ``all`` for conf/all.
        Undecided too when no input comes from a file: the kernel's defaults are
        not the audit's to guess (distributions and namespaces change them).
        """
        index = (family, self.class_of(name), key)
        cached = self.effective_cache.get(index)
        if cached is None:
            cached = self.effective_cache[index] = self._effective(family, name, key)
        return cached

    def _effective(self, family, name, key):
        own = self.raw(family, name, key)
        if own is None:
            return None, []
        inputs = [(None, key, own)]
        from_file = own.record is not None
        all_value = None
        if model.uses_all(family, key):
            all_value = self.all_value(family, key)
            if all_value is None:
                return None, []
            inputs.append(("all", key, all_value))
            from_file = from_file or all_value.record is not None
        forwarding = force = None
        for extra in model.effective_inputs(family, key):
            other = self.raw(family, name, extra)
            if other is None:
                return None, []
            inputs.append((None, extra, other))
            from_file = from_file or other.record is not None
            if extra == "forwarding":
                forwarding = other.value
            else:
                force = other.value
        if not from_file:
            return None, []
        value = model.effective_value(family, key, own.value,
                                      None if all_value is None else all_value.value, forwarding, force)
        return value, inputs

    def host_value(self, dotted):
        record = self.sysctl.get(dotted)
        if record is None and dotted in _HOST_ALIASES:
            record = self.sysctl.get(_HOST_ALIASES[dotted])
        return None if record is None else Value(_int(record["value"]), record)


def _runtime_effective(ctx, iface, family, key):
    block = iface.get("sysctl") if isinstance(iface, dict) else None
    if not isinstance(block, dict):
        return None
    effective = (block.get("effective") or {}).get(family) or {}
    if key in effective:
        return effective[key]
    raw = block.get(family) or {}
    if key not in raw:
        return None
    host = ctx.facts.get("sysctl") or {}
    all_value = host.get(conf_key(family, "all", key))
    if model.uses_all(family, key) and all_value is None:
        return None
    return model.effective_value(family, key, raw[key], all_value, raw.get("forwarding"),
                                 raw.get("force_forwarding"))


# ---------------------------------------------------------------------------
# findings
# ---------------------------------------------------------------------------
def _finding(rule, ctx, interface, status, expected, actual, detail, files=(), fix=None):
    finding = {"host": ctx.host, "interface": interface, "rule": rule.id, "title": rule.title,
               "severity": rule.severity, "status": status, "expected": expected, "actual": actual,
               "detail": detail, "phase": "boot"}
    if files:
        finding["files"] = sorted(set(files))
    if fix:
        finding["boot_fix"] = fix
    return finding


def _addresses(iface):
    out = set()
    for entry in iface.get("addresses") or ():
        if entry.get("scope") in ("link", "host") or "permanent" not in (entry.get("flags") or ()):
            continue
        out.add(_cidr("%s/%s" % (entry.get("address"), entry.get("prefixlen"))))
    return out


def _cidr(text):
    try:
        return str(ipaddress.ip_interface(str(text).strip()))
    except ValueError:
        return str(text)


def _scope(rule, name, iface):
    return rule.select.interface_matches(name, iface)


def _interface_drift(rule, ctx, hb):
    params = rule.parameters
    wanted = frozenset(params.get("attributes") or ATTRIBUTES)
    persistent = frozenset(params.get("persistent_kinds") or PERSISTENT_KINDS)
    with_addresses = "addresses" in wanted and "addresses" in ctx.gathered
    runtime = ctx.facts["interfaces"]
    findings = []
    for name in sorted(set(runtime) | set(hb.interfaces)):
        iface = runtime.get(name)
        record = hb.interfaces.get(name)
        if not isinstance(iface, dict):
            iface = None
        if not _scope(rule, name, iface if iface is not None else {"kind": (record or {}).get("kind")}):
            continue
        if record is None:
            if iface is not None and "existence" in wanted and iface.get("kind") in persistent:
                findings.append(_finding(
                    rule, ctx, name, "fail", {"exists": False}, {"exists": True},
                    "%s: a %s that exists now but that no boot configuration creates: it is gone "
                    "after a reboot; add a configuration for it (e.g. /etc/systemd/network/%s.netdev "
                    "and .network) or delete it" % (name, iface.get("kind"), name),
                    files=["/etc/systemd/network/%s.netdev" % name]))
            continue
        sources = list(record.get("sources") or [])
        where = ", ".join(sources) or record.get("manager")
        if iface is None:
            if "existence" in wanted:
                findings.append(_finding(
                    rule, ctx, name, "fail", {"exists": True}, {"exists": False},
                    "%s: %s configures it at boot (%s)%s, but it does not exist now"
                    % (name, record.get("manager"), where,
                       " and creates it as a %s" % record["kind"] if record.get("kind") else ""),
                    files=sources))
            continue
        expected, actual, parts = {}, {}, []
        revert, persist = {}, {}

        def drift(attribute, boot_value, now_value, text):
            expected[attribute] = boot_value
            actual[attribute] = now_value
            parts.append(text)

        if "mtu" in wanted and record.get("mtu") is not None and record["mtu"] != iface.get("mtu"):
            drift("mtu", record["mtu"], iface.get("mtu"), "mtu %s now, %s after a reboot"
                  % (iface.get("mtu"), record["mtu"]))
            revert["mtu"], persist["mtu"] = record["mtu"], iface.get("mtu")
        if "mac" in wanted and record.get("mac") is not None and record["mac"] != iface.get("mac"):
            drift("mac", record["mac"], iface.get("mac"), "mac %s now, %s after a reboot"
                  % (iface.get("mac"), record["mac"]))
            revert["mac"], persist["mac"] = record["mac"], iface.get("mac")
        up = iface.get("admin_state") == "up"
        if "admin_state" in wanted and bool(record.get("enabled")) != up:
            boot_state = "up" if record.get("enabled") else "down"
            drift("admin_state", boot_state, iface.get("admin_state"), "admin state %s now, %s after a reboot"
                  % (iface.get("admin_state"), boot_state))
            revert["enabled"], persist["enabled"] = bool(record.get("enabled")), up
        if "master" in wanted and (record.get("master") or None) != (iface.get("master") or None):
            drift("master", record.get("master"), iface.get("master"), "master %s now, %s after a reboot"
                  % (iface.get("master") or "none", record.get("master") or "none"))
            revert["master"], persist["master"] = record.get("master") or "", iface.get("master") or ""
        address_fix = None
        if with_addresses:
            boot_set = set(_cidr(a) for a in record.get("addresses") or ())
            now_set = _addresses(iface)
            if boot_set != now_set:
                drift("addresses", sorted(boot_set), sorted(now_set),
                      "static addresses %s now, %s after a reboot"
                      % (", ".join(sorted(now_set)) or "none", ", ".join(sorted(boot_set)) or "none"))
                address_fix = {"revert": {"name": name, "addresses": sorted(boot_set)},
                               "persist": {"name": name, "addresses": sorted(now_set)}}
        if not parts:
            continue
        fix = {}
        if revert:
            fix["revert"] = {"interfaces": dict(revert, name=name)}
            fix["persist"] = {"interfaces": dict(persist, name=name)}
        if address_fix:
            fix.setdefault("revert", {})["addresses"] = address_fix["revert"]
            fix.setdefault("persist", {})["addresses"] = address_fix["persist"]
        findings.append(_finding(
            rule, ctx, name, "fail", expected, actual,
            "%s: %s; the boot configuration is %s (%s): change it to keep the runtime values, "
            "or apply its values now" % (name, "; ".join(parts), where, record.get("manager")),
            files=sources, fix=fix))
    return findings


def drift_keys(rule):
    """(per-interface [(family, key)], host [dotted]) a sysctl_drift rule compares."""
    per_iface, host = model.parse_sysctl_keys(rule.parameters.get("keys") or model.DEFAULT_SYSCTL_KEYS)
    return [(family, key) for family in ("ipv4", "ipv6") for key in per_iface[family]], host


def _sysctl_fix(family, name, key, hb, ctx, iface):
    """revert: the boot values of the inputs now; persist: the runtime values into sysctl.d."""
    revert, persist = {}, {}
    block = (iface.get("sysctl") or {}).get(family) or {}
    host = ctx.facts.get("sysctl") or {}
    targets = [(name, key)]
    if model.uses_all(family, key):
        targets.append(("all", key))
    targets.extend((name, extra) for extra in model.effective_inputs(family, key))
    for target, item in targets:
        now = host.get(conf_key(family, "all", item)) if target == "all" else block.get(item)
        boot_value = hb.all_value(family, item) if target == "all" else hb.raw(family, target, item)
        if boot_value is None or now is None or _int(now) == boot_value.value:
            continue
        revert.setdefault(target, {}).setdefault(family, {})[item] = boot_value.value
        persist.setdefault(target, {}).setdefault(family, {})[item] = _int(now)
    return revert, persist


def _sysctl_drift(rule, ctx, hb):
    findings = []
    if "sysctl" not in ctx.gathered:
        return [_finding(rule, ctx, None, "error", "runtime sysctls", None,
                         "sysctl drift needs gather_subset 'sysctl', which was not gathered")]
    per_iface, host_keys = drift_keys(rule)
    host = ctx.facts.get("sysctl") or {}
    for dotted in host_keys:
        boot_value = hb.host_value(dotted)
        now = host.get(dotted)
        if boot_value is None or now is None or _int(now) == boot_value.value:
            continue
        findings.append(_finding(
            rule, ctx, None, "fail", boot_value.value, now,
            "%s is %s now, %s after a reboot (%s): change that file to keep %s"
            % (dotted, now, boot_value.value, _where(boot_value.record), now),
            files=[boot_value.record["file"]]))
    cache = hb.effective_cache
    for name, iface in ctx.interfaces:
        if not _scope(rule, name, iface):
            continue
        cls = hb.class_of(name)
        block = iface.get("sysctl")
        effective = (block.get("effective") if isinstance(block, dict) else None) or _NO_BLOCK
        for family, key in per_iface:
            now = (effective.get(family) or _NO_BLOCK).get(key)
            if now is None:
                now = _runtime_effective(ctx, iface, family, key)
                if now is None:
                    continue
            boot_value = cache.get((family, cls, key)) or hb.effective(family, name, key)
            value = boot_value[0]
            if value is None or now == value or _int(now) == value:
                continue
            inputs = boot_value[1]
            files = _files(inputs)
            how = _how(name, inputs)
            revert, persist = _sysctl_fix(family, name, key, hb, ctx, iface)
            fix = {}
            if revert:
                fix = {"revert": {"sysctls": revert}, "persist": {"sysctls": persist}}
            findings.append(_finding(
                rule, ctx, name, "fail", value, now,
                "%s: effective %s.%s is %s now, %s after a reboot (%s); change %s to keep %s, "
                "or apply the boot value now" % (name, family, key, now, value, how,
                                                 " / ".join(sorted(set(files))), now),
                files=files, fix=fix))
    return findings


def _two_managers(rule, ctx, hb):
    findings = []
    for name in sorted(hb.interfaces):
        record = hb.interfaces[name]
        others = record.get("also_configured_by") or []
        if not others:
            continue
        iface = ctx.facts["interfaces"].get(name) or {"kind": record.get("kind")}
        if not _scope(rule, name, iface):
            continue
        managers = [record.get("manager")] + list(others)
        findings.append(_finding(
            rule, ctx, name, "fail", "one manager", managers,
            "%s is configured by %s: at boot they race for it; %s wins this audit's prediction "
            "(%s); remove the configuration of %s" % (
                name, " and ".join(managers), record.get("manager"),
                ", ".join(record.get("sources") or []), " and ".join(others)),
            files=record.get("sources") or []))
    return findings


def _unreadable(rule, ctx, hb):
    findings = []
    for entry in hb.boot.get("errors") or ():
        findings.append(_finding(
            rule, ctx, None, "fail", "a readable configuration file", entry.get("path"),
            "%s: %s; the prediction of the next boot leaves it out" % (entry.get("path"), entry.get("reason")),
            files=[entry.get("path")]))
    return findings


class _BootView:
    """A HostContext whose sysctl values are the boot values (for the engine's _judge)."""

    __slots__ = ("host", "groups", "facts", "ok", "problem", "gathered", "interfaces", "_addresses")

    def __init__(self, ctx, facts):
        self.host, self.groups, self.facts = ctx.host, ctx.groups, facts
        self.ok, self.problem, self.gathered, self._addresses = True, None, ctx.gathered, None
        self.interfaces = ()


def _baseline_rules(rule, policy):
    names = rule.parameters.get("policies")
    out = []
    for other in policy.host_rules + policy.interface_rules:
        if other.fact is None or other.fact.sysctl_key is None:
            continue
        if names is None and other.policy == rule.policy or names is not None and other.policy not in names:
            continue
        out.append(other)
    return out


def _boot_iface(hb, name, iface, family_keys):
    """The sysctl block after a reboot: boot values where files decide them, runtime raw
    values elsewhere (for ``when`` conditions only: rules are judged on decided facts)."""
    runtime = iface.get("sysctl") if isinstance(iface.get("sysctl"), dict) else {}
    block = {"ipv4": dict(runtime.get("ipv4") or {}), "ipv6": dict(runtime.get("ipv6") or {}),
             "effective": {"ipv4": {}, "ipv6": {}}}
    sources = {}
    for family, key in family_keys:
        own = hb.raw(family, name, key)
        if own is not None and own.record is not None:
            block[family][key] = own.value
            sources[(family, key, False)] = [(None, key, own)]
        value, inputs = hb.effective(family, name, key)
        if value is not None:
            block["effective"][family][key] = value
            sources[(family, key, True)] = inputs
    return block, sources


def _fails_after_reboot(other, ctx, view, name, iface, boot_iface):
    """The engine's failing finding of ``other`` on the boot values when it passes now, else None."""
    from ansible_collections.hostnet.netif.plugins.plugin_utils.audit import engine  # pylint: disable=import-outside-toplevel

    judge, passed = engine._judge, engine._PASS  # pylint: disable=protected-access
    if judge(other, ctx, name, iface, False) is not passed:
        return None
    then = judge(other, view, name, boot_iface, False)
    if then is passed or then is None or then["status"] != "fail":
        return None
    return then


def _baseline(rule, policy, ctx, hb):
    rules = _baseline_rules(rule, policy)
    if not rules:
        return []
    host_values = {}
    host_sources = {}
    for other in rules:
        if other.scope == "host":
            dotted = other.fact.keys[1]
            value = hb.host_value(dotted)
            if value is not None:
                host_values[dotted] = value.value
                host_sources[dotted] = value
    # host keys no file decides keep their runtime value in the view: they are not judged
    view = _BootView(ctx, dict(ctx.facts, sysctl=dict(ctx.facts.get("sysctl") or {}, **host_values)))
    findings = []
    keys = sorted(set(o.fact.effective or tuple(o.fact.sysctl_key.split(".", 1))
                      for o in rules if o.scope == "interface"))
    groups = ctx.groups
    for other in rules:
        if not (other.select.any_host or other.select.host_matches(ctx.host, groups)):
            continue
        if other.scope == "host":
            if other.fact.keys[1] not in host_values:
                continue
            then = _fails_after_reboot(other, ctx, view, None, None, None)
            if then is None:
                continue
            dotted = other.fact.keys[1]
            findings.append(_at_boot(rule, other, ctx, None, then, [(dotted, None, host_sources[dotted])]))
    interface_rules = [o for o in rules if o.scope == "interface"
                       and (o.select.any_host or o.select.host_matches(ctx.host, groups))]
    if not interface_rules:
        return findings
    for name, iface in ctx.interfaces:
        boot_iface = sources = None
        for other in interface_rules:
            if not other.select.interface_matches(name, iface):
                continue
            ref = other.fact
            wanted = ref.effective or tuple(ref.sysctl_key.split(".", 1))
            # a value the boot leaves as it is now gets the same verdict: judged only where it moves
            if ref.effective is not None:
                then_value = hb.effective(wanted[0], name, wanted[1])[0]
                now_value = _runtime_effective(ctx, iface, wanted[0], wanted[1])
            else:
                boot_raw = hb.raw(wanted[0], name, wanted[1])
                then_value = None if boot_raw is None or boot_raw.record is None else boot_raw.value
                now_value = ((iface.get("sysctl") or {}).get(wanted[0]) or {}).get(wanted[1])
            if then_value is None or now_value is None or _int(now_value) == then_value:
                continue
            if boot_iface is None:
                block, sources = _boot_iface(hb, name, iface, keys)
                boot_iface = dict(iface, sysctl=block)
            used = sources.get(wanted + (ref.effective is not None,))
            if used is None:
                continue
            then = _fails_after_reboot(other, ctx, view, name, iface, boot_iface)
            if then is None:
                continue
            persist = _sysctl_fix(wanted[0], name, wanted[1], hb, ctx, iface)[1]
            findings.append(_at_boot(rule, other, ctx, name, then, used,
                                     {"persist": {"sysctls": persist}} if persist else None))
    return findings


def _at_boot(rule, other, ctx, name, judged, inputs, fix=None):
    files = _files(inputs)
    how = _how(name, inputs) if name is not None else "; ".join(
        value.text(target) for target, _key, value in inputs)
    finding = _finding(
        rule, ctx, name, "fail", judged["expected"], judged["actual"],
        "%s passes now and fails after a reboot: %s (boot values: %s); change %s"
        % (other.id, judged["detail"].split("; ")[0], how, " / ".join(sorted(set(files)))),
        files=files, fix=fix)
    finding["base_rule"] = other.id
    finding["severity"] = other.severity
    return finding


def evaluate(policy, ctx, keep_passes=False):
    """(findings, {rule: passes}) of the boot rules of ``policy`` on one host.

    ``ctx`` is an engine.HostContext with usable facts. A host without the
    ``boot`` subset gets one error finding per boot rule saying what to gather.
    """
    rules = policy.boot_rules
    if not rules:
        return [], {}
    groups = ctx.groups
    findings, passed = [], {}
    hb = None
    for rule in rules:
        if not (rule.select.any_host or rule.select.host_matches(ctx.host, groups)):
            continue
        if "boot" not in ctx.gathered or not isinstance(ctx.facts.get("boot"), dict):
            findings.append(_finding(rule, ctx, None, "error", "boot facts", None,
                                     "%s needs gather_subset 'boot', which was not gathered (gathered: %s)"
                                     % (rule.id, ", ".join(sorted(ctx.gathered)))))
            continue
        if hb is None:
            hb = HostBoot(ctx)
        if rule.check == "baseline":
            found = _baseline(rule, policy, ctx, hb)
        else:
            found = _CHECKS[rule.check](rule, ctx, hb)
        if found:
            findings.extend(found)
        elif keep_passes:
            findings.append(_finding(rule, ctx, None, "pass", None, None,
                                     "%s: nothing to report" % rule.check))
        else:
            passed[rule.id] = passed.get(rule.id, 0) + 1
    return findings, passed


_CHECKS = {"interface_drift": _interface_drift, "sysctl_drift": _sysctl_drift,
           "two_managers": _two_managers, "unreadable": _unreadable}


def required(policy):
    """(subsets, sysctl keys) the boot rules of ``policy`` need gathered."""
    subsets, keys = set(), set()
    for rule in policy.boot_rules:
        subsets.add("boot")
        if rule.check == "interface_drift" and "addresses" in (rule.parameters.get("attributes") or ATTRIBUTES):
            subsets.add("addresses")
        if rule.check == "sysctl_drift":
            per_iface, host = drift_keys(rule)
            for family, key in per_iface:
                keys.add("%s.%s" % (family, key))
                keys.update("%s.%s" % (family, extra) for extra in model.effective_inputs(family, key))
            keys.update(host)
    return subsets, keys


def remediation_plan(findings):
    """{"revert": {interfaces, addresses, sysctls}, "persist": {...}, "persist_file"} for failing
    boot findings that carry a machine-usable fix (the others stay manual)."""
    plans = {}
    for mode in ("revert", "persist"):
        interfaces, addresses, conf = {}, {}, {}
        for finding in findings:
            if finding.get("status") != "fail" or not finding.get("boot_fix"):
                continue
            part = finding["boot_fix"].get(mode) or {}
            if part.get("interfaces"):
                interfaces.setdefault(part["interfaces"]["name"], {}).update(part["interfaces"])
            if part.get("addresses"):
                addresses[part["addresses"]["name"]] = part["addresses"]
            for target, families in (part.get("sysctls") or {}).items():
                for family, values in families.items():
                    conf.setdefault(target, {}).setdefault(family, {}).update(values)
        plans[mode] = {
            "interfaces": [interfaces[name] for name in sorted(interfaces)],
            "addresses": [addresses[name] for name in sorted(addresses)],
            "sysctls": [dict(conf[name], name=name) for name in sorted(conf)],
        }
    plans["persist_file"] = PERSIST_FILE
    return plans


def module_has_option(path, option):
    """Whether the module file at ``path`` documents ``option``, doc fragments included
    (the setters' persistence arrives with hostnet.netif 0.2)."""
    # pylint: disable=import-outside-toplevel
    from ansible.parsing.plugin_docs import read_docstring
    from ansible.plugins.loader import fragment_loader
    from ansible.utils.plugin_docs import get_docstring

    if not path or not os.path.isfile(path):
        return False
    try:
        doc = get_docstring(path, fragment_loader, collection_name="hostnet.netif", is_module=True)[0]
    except Exception:  # pylint: disable=broad-except
        # fragments that cannot be loaded here: the module's own DOCUMENTATION still tells
        try:
            doc = read_docstring(path).get("doc")
        except Exception:  # an unreadable module cannot persist  # pylint: disable=broad-except
            return False
    return isinstance(doc, dict) and option in (doc.get("options") or {})
