# -*- coding: utf-8 -*-
# Copyright: hostnet.netif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``addresses`` resource: IPv4/IPv6 addresses of interfaces (stdlib only).

An item is ``{name, addresses: [entry, ...]}``; an entry is a CIDR string or
a dict with ``address`` (``198.18.1.1/24``; the prefix may instead come from
``prefixlen``) and optional ``broadcast``, ``peer``, ``label``, ``scope``,
``valid_lft``, ``preferred_lft``, ``noprefixroute``, ``nodad``.

Identity is what the kernel uses: an IPv4 address is (address, prefix
length) (``198.18.1.1/24`` and ``198.18.1.1/25`` may coexist), an IPv6
address is the address alone (the kernel refuses a second prefix length).
Both sides are compared as parsed values, so any spelling of the same
address (dotted netmask, upper-case or uncompressed IPv6) is equal.

Only the attributes an entry gives are compared. A difference in
lifetimes (and, for IPv6, in the ``noprefixroute``/``nodad`` flags) is
fixed in place with ``address replace``; a difference in ``broadcast``,
``peer``, ``label``, ``scope`` or the IPv6 prefix length (and the IPv4
``noprefixroute`` flag, which ``replace`` does not change) needs the
address deleted and added again. Lifetimes count down, so they compare by
class: forever, finite, and (preferred only) zero = deprecated; an address
that already has a finite lifetime is not refreshed.

Kernel-made addresses are left alone unless an item lists them: IPv6
link-local (``fe80::/10``), IPv6 privacy (``temporary``) addresses, and
``127.0.0.1/8`` / ``::1/128`` on the loopback device.

Deleting a primary IPv4 address makes the kernel delete the secondaries of
its subnet too (unless ``promote_secondaries`` is set); a secondary the
plan keeps is put back with ``address replace`` (which also covers the
promoted case), and secondaries the plan removes go before their primary.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.hostnet.netif.plugins.module_utils import planner
from ansible_collections.hostnet.netif.plugins.module_utils import resource as res
from ansible_collections.hostnet.netif.plugins.module_utils.address_ops import (
    current_entry,
    desired_entry,
    entry_to_config,
    facts_address,
    interface_ops,
)
from ansible_collections.hostnet.netif.plugins.module_utils.errors import InputError

# the argspec of one config item (documented in plugins/modules/addresses.py)
CONFIG_OPTIONS = dict(
    name=dict(type="str", required=True),
    addresses=dict(type="list", elements="raw"),
)


# ---------------------------------------------------------------------------
# the resource
# ---------------------------------------------------------------------------
class AddressesResource(res.Resource):
    plans_missing_in_check_mode = True
    name = "addresses"
    key = "name"
    gather_subset = ("links", "addresses")

    def __init__(self, persist=None):
        self.persist = persist  # linkfiles.LinkFiles for persist: true

    # -- reading -------------------------------------------------------------
    def current(self, facts):
        interfaces = facts.get("interfaces") or {}
        result = res.Items(facts=interfaces)
        for name, iface in interfaces.items():
            kind = iface.get("kind")
            result[name] = {"name": name, "kind": kind,
                            "addresses": [current_entry(name, kind, fact)
                                          for fact in iface.get("addresses") or []]}
        return result

    def to_config(self, item):
        out = {"name": item["name"]}
        if item.get("addresses") is not None:
            out["addresses"] = [entry_to_config(e, item["name"]) for e in item["addresses"]]
        return out

    # -- input ---------------------------------------------------------------
    def desired(self, config, current, state, offline=False, assume_created=False):
        result = {}
        seen = {}
        for index, raw in enumerate(config):
            path = "config[%d]" % index
            if not isinstance(raw, dict):
                raise InputError(path, "expected a dict, found %r" % (raw,))
            for field in raw:
                if field not in CONFIG_OPTIONS:
                    raise InputError("%s.%s" % (path, field), "no such option")
            name = planner.check_name(raw.get("name"), path + ".name")
            if name in seen:
                raise InputError(path + ".name", "%s is listed twice (also %s)" % (name, seen[name]))
            seen[name] = path
            entries = raw.get("addresses")
            if entries is not None:
                if not isinstance(entries, list):
                    raise InputError(path + ".addresses", "expected a list, found %r" % (entries,))
                checked, keys = [], {}
                for number, value in enumerate(entries):
                    where = "%s.addresses[%d]" % (path, number)
                    entry = desired_entry(value, name, where)
                    if entry["_key"] in keys:
                        raise InputError(where, "%s is the same address as %s (%s)"
                                         % (entry["address"], keys[entry["_key"]][0],
                                            keys[entry["_key"]][1]))
                    keys[entry["_key"]] = (entry["address"], "addresses[%d]" % number)
                    checked.append(entry)
                entries = checked
            elif state in (res.MERGED, res.REPLACED, res.OVERRIDDEN, res.RENDERED):
                entries = []
            result[name] = {"name": name, "addresses": entries, "_path": path}
        if not offline and not assume_created and state != res.DELETED:
            for name, item in result.items():  # input errors first, then the host's
                if name not in current:
                    raise InputError(item["_path"] + ".name", "interface %s does not exist" % name)
        return result

    # -- planning ------------------------------------------------------------
    def target(self, current, desired, state, in_scope):
        """Plan.target: {name: {name, addresses: predicted entries, _exact, _remove}}."""
        plan = res.Plan()
        target = plan.target
        for name, want in desired.items():
            cur = current.get(name)
            if cur is None:
                if state == res.DELETED:
                    plan.warnings.append("interface %s does not exist; nothing to delete" % name)
                    continue
                cur = {"name": name, "kind": None, "addresses": []}  # offline (rendered)
            have = cur["addresses"]
            by_key = dict((e["_key"], e) for e in have)
            if state == res.DELETED:
                if want["addresses"] is None:
                    remove = set(e["_key"] for e in have if not e["_kernel"])
                else:
                    remove = set(e["_key"] for e in want["addresses"])
                kept = [e for e in have if e["_key"] not in remove]
                target[name] = {"name": name, "addresses": kept, "_exact": False,
                                "_remove": remove, "_path": want["_path"]}
                continue
            listed = []
            for entry in want["addresses"]:
                base = by_key.get(entry["_key"])
                if base is not None:
                    merged = dict(base)
                    merged.update(entry)
                    merged["_secondary"] = base["_secondary"]
                    merged["_kernel"] = base["_kernel"]
                    listed.append(merged)
                else:
                    listed.append(dict(entry, _secondary=False, _kernel=False))
            listed_keys = set(e["_key"] for e in listed)
            if state == res.MERGED:
                predicted = [next(e for e in listed if e["_key"] == h["_key"])
                             if h["_key"] in listed_keys else h for h in have]
                predicted += [e for e in listed if e["_key"] not in by_key]
                exact = False
            else:  # replaced / overridden: exactly the list, kernel-made ones kept
                predicted = listed + [h for h in have
                                      if h["_kernel"] and h["_key"] not in listed_keys]
                exact = True
            target[name] = {"name": name, "addresses": predicted, "_exact": exact,
                            "_remove": set(), "_path": want["_path"]}
        whole_scope = state == res.OVERRIDDEN or (state == res.DELETED and not desired)
        if whole_scope and in_scope is not None:
            for name in sorted(current):
                if name in desired or not in_scope(name):
                    continue
                have = current[name]["addresses"]
                remove = set(e["_key"] for e in have if not e["_kernel"])
                if not remove and state == res.DELETED:
                    continue
                target[name] = {"name": name,
                                "addresses": [e for e in have if e["_kernel"]],
                                "_exact": state == res.OVERRIDDEN, "_remove": remove,
                                "_path": "scope"}
        return plan

    def ops(self, current, plan):
        ops = []
        for name in sorted(plan.target):
            want = plan.target[name]
            if want is None:
                continue
            have = (current.get(name) or {}).get("addresses") or []
            ops.extend(interface_ops(name, have, want))
        return ops

    def predicted(self, current, plan):
        facts = dict(current.context.get("facts") or {})
        for name, item in plan.target.items():
            if item is not None and name in facts:
                facts[name] = dict(facts[name], addresses=[facts_address(entry)
                                                           for entry in item["addresses"]])
        return facts
