# -*- coding: utf-8 -*-
# Copyright: hostnet.netif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``interfaces`` resource: link attributes and virtual interfaces (stdlib only).

An item is keyed by ``name``. Link attributes (``LINK_FIELDS``) are compared
as ``planner.link_state`` reads them from the facts; ``kind`` and its fields
(``KIND_FIELDS``) create a virtual interface when it is missing and must
match when it exists (they are fixed at creation: delete and recreate to
change them).

Defaults (what ``replaced`` fills in, ``overridden`` gives unlisted
interfaces in scope, and ``deleted`` restores for the attributes it names):
``enabled: true`` (an interface that exists is meant to be up; down is the
deviation a task asks for), ``alias: ""``, ``promisc: false``,
``allmulticast: false``, ``master: null`` (released), ``group: 0``;
``mac`` the permanent address when the driver reports one (else unchanged);
``mtu`` 1500 (loopback 65536), capped at the parent's MTU for
vlan/macvlan (parent - 50 for vxlan) and at the driver's ``max_mtu``;
``txqueuelen: 1000``, ``multicast: true`` (loopback false) and ``arp: true``
for the kinds whose kernel defaults those are (ethernet, veth, bridge,
macvlan, vxlan, dummy, loopback); other kinds keep those three as they are.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.hostnet.netif.plugins.module_utils import model, planner
from ansible_collections.hostnet.netif.plugins.module_utils import resource as res
from ansible_collections.hostnet.netif.plugins.module_utils.errors import InputError

LINK_FIELDS = planner.LINK_FIELDS
KIND_FIELDS = {
    "veth": ("peer",),
    "bridge": (),
    "dummy": (),
    "bond": ("mode",),
    "macvlan": ("parent", "mode"),
    "vlan": ("parent", "vlan_id"),
    "vxlan": ("vni", "parent", "dstport", "local", "remote"),
}
KIND_REQUIRED = {
    "veth": ("peer",),
    "macvlan": ("parent",),
    "vlan": ("parent", "vlan_id"),
    "vxlan": ("vni",),
}
ALL_KIND_FIELDS = ("peer", "parent", "mode", "vni", "dstport", "local", "remote", "vlan_id")
FIELDS = ("name",) + LINK_FIELDS + ("kind",) + ALL_KIND_FIELDS

# the argspec of one config item (documented in plugins/modules/interfaces.py)
CONFIG_OPTIONS = dict(
    name=dict(type="str", required=True),
    enabled=dict(type="bool"),
    mtu=dict(type="int"),
    mac=dict(type="str"),
    txqueuelen=dict(type="int"),
    alias=dict(type="str"),
    promisc=dict(type="bool"),
    multicast=dict(type="bool"),
    allmulticast=dict(type="bool"),
    arp=dict(type="bool"),
    master=dict(type="str"),
    group=dict(type="int"),
    kind=dict(type="str", choices=list(planner.CREATABLE_KINDS)),
    peer=dict(type="str"),
    parent=dict(type="str"),
    mode=dict(type="str", choices=list(planner.MACVLAN_MODES + planner.BOND_MODES)),
    vni=dict(type="int"),
    dstport=dict(type="int"),
    local=dict(type="str"),
    remote=dict(type="str"),
    vlan_id=dict(type="int"),
)

# kinds whose kernel defaults are txqueuelen 1000, multicast on (loopback off), arp on
_STANDARD_KINDS = frozenset(("ethernet", "veth", "bridge", "macvlan", "vxlan", "dummy",
                             "loopback"))
_DEFAULT_MTU = {"loopback": 65536}


class InterfacesResource(res.Resource):
    name = "interfaces"
    key = "name"
    gather_subset = ("links",)

    def __init__(self, persist=None):
        self.persist = persist  # linkfiles.LinkFiles for persist: true

    # -- reading -------------------------------------------------------------
    def current(self, facts):
        interfaces = facts.get("interfaces") or {}
        return res.Items(((name, planner.item_from_facts(name, iface))
                          for name, iface in interfaces.items()),
                         facts=interfaces, depth=planner.depths(interfaces))

    def to_config(self, item):
        return dict((k, item[k]) for k in FIELDS if k in item and (item[k] is not None or
                                                                   k in ("master",)))

    # -- input ---------------------------------------------------------------
    def desired(self, config, current, state, offline=False, assume_created=False):
        result = {}
        seen = {}
        will_exist = set(current)
        for item in config:
            if isinstance(item, dict) and item.get("kind") and isinstance(item.get("name"), str):
                will_exist.add(item["name"])
                if item.get("kind") == "veth" and isinstance(item.get("peer"), str):
                    will_exist.add(item["peer"])
        deleting = set()
        facts = _facts(current)
        for index, raw in enumerate(config):
            path = "config[%d]" % index
            if not isinstance(raw, dict):
                raise InputError(path, "expected a dict, found %r" % (raw,))
            item = dict((k, v) for k, v in raw.items() if v is not None)
            for key in item:
                if key not in CONFIG_OPTIONS:
                    raise InputError("%s.%s" % (path, key), "no such option")
            name = planner.check_name(item.get("name"), path + ".name")
            if name in seen:
                raise InputError(path + ".name", "%s is listed twice (also %s)" % (name, seen[name]))
            seen[name] = path
            check_values(item, path, creating=state != res.DELETED)
            kind = item.get("kind")
            cur = current.get(name)
            if not offline:
                self._check_against_host(item, path, cur, will_exist, state, facts)
            if state == res.DELETED and kind and cur is not None:
                deleting.add(name)
                if cur.get("kind") == "veth" and cur.get("peer"):
                    deleting.add(cur["peer"])
            result[name] = item
        if state == res.DELETED and not offline:
            for index, (name, item) in enumerate(result.items()):
                if name not in deleting:
                    continue
                for other, iface in sorted(facts.items()):
                    if iface.get("parent") == name and other not in deleting:
                        raise InputError("config[%d].name" % index,
                                         "deleting %s would also delete %s (its lower device is "
                                         "%s); list %s for deletion too" % (name, other, name, other))
        return result

    def _check_against_host(self, item, path, cur, will_exist, state, all_facts):
        name, kind = item["name"], item.get("kind")
        if cur is None:
            if not kind and name not in will_exist:
                raise InputError(path + ".name", "interface %s does not exist; give kind (and its "
                                                 "fields) to create it" % name)
        else:
            if kind and cur.get("kind") != kind:
                raise InputError(path + ".kind", "%s exists and is a %s, not a %s"
                                 % (name, (all_facts.get(name) or {}).get("kind"), kind))
            if kind and state != res.DELETED:
                for field in KIND_FIELDS[kind]:
                    if field in item and item[field] != cur.get(field):
                        if field == "mode" and kind == "macvlan" and cur.get(field) is None:
                            continue
                        raise InputError("%s.%s" % (path, field),
                                         "%s of existing %s is %r, not %r; it is fixed at creation "
                                         "(delete and recreate the interface to change it)"
                                         % (field, name, cur.get(field), item[field]))
            facts = all_facts.get(name) or {}
            mtu = item.get("mtu")
            if mtu is not None and state != res.DELETED:
                low, high = facts.get("min_mtu"), facts.get("max_mtu")
                if low and mtu < low or high and mtu > high:
                    raise InputError(path + ".mtu", "%d is outside what %s accepts (%s..%s)"
                                     % (mtu, name, low, high))
        for field in ("master", "parent"):
            other = item.get(field)
            if other and state != res.DELETED:
                if other == name:
                    raise InputError("%s.%s" % (path, field), "%s cannot be its own %s" % (name, field))
                if other not in will_exist:
                    raise InputError("%s.%s" % (path, field), "%s %s does not exist" % (field, other))

    # -- planning ------------------------------------------------------------
    @staticmethod
    def default(name, field, cur, all_facts):
        """The reset value of ``field`` for interface ``name`` (see the module docstring);
        ``all_facts`` the facts interfaces map."""
        facts = all_facts.get(name) or {}
        kind = facts.get("kind")
        if field == "enabled":
            return True
        if field == "alias":
            return ""
        if field in ("promisc", "allmulticast"):
            return False
        if field == "master":
            return None
        if field == "group":
            return 0
        if field == "mac":
            return facts.get("perm_mac") or cur.get("mac")
        if kind not in _STANDARD_KINDS:
            return cur.get(field)
        if field == "txqueuelen":
            return 1000
        if field == "multicast":
            return kind != "loopback"
        if field == "arp":
            return True
        if field == "mtu":
            mtu = _DEFAULT_MTU.get(kind, 1500)
            parent = (all_facts.get(facts.get("parent") or "") or {}).get("mtu")
            if parent:
                # vxlan over IPv4 takes 50 bytes of its lower device's MTU
                mtu = min(mtu, parent - 50 if kind == "vxlan" else parent)
            high = facts.get("max_mtu")
            if high:
                mtu = min(mtu, high)
            return mtu
        return cur.get(field)

    def _reset_item(self, plan, name, cur, fields, all_facts):
        item = dict(cur)
        for field in fields:
            item[field] = self.default(name, field, cur, all_facts)
        plan.resets[name] = tuple(fields)
        return item

    def target(self, current, desired, state, in_scope):
        plan = res.Plan()
        target = plan.target
        facts = _facts(current)
        for name, want in desired.items():
            cur = current.get(name)
            given = dict((k, want[k]) for k in LINK_FIELDS if k in want)
            if state == res.DELETED:
                if want.get("kind"):
                    if cur is not None:
                        target[name] = None
                    continue
                fields = [k for k in LINK_FIELDS if k in want] or list(LINK_FIELDS)
                target[name] = self._reset_item(plan, name, cur, fields, facts)
                continue
            if cur is None:
                new = dict(want)
                if "master" in new and not new["master"]:
                    new["master"] = None
                target[name] = new
                continue
            if state == res.MERGED:
                # only what is given is planned and verified: a field left out
                # may move with the kernel (a bridge's MTU follows its ports)
                item = dict((k, v) for k, v in cur.items() if k not in LINK_FIELDS)
            else:  # replaced / overridden: everything not given returns to its default
                item = self._reset_item(plan, name, cur, [k for k in LINK_FIELDS if k not in given],
                                        facts)
            item.update(given)
            if "master" in given and not given["master"]:
                item["master"] = None
            target[name] = item
        whole_scope = state == res.OVERRIDDEN or (state == res.DELETED and not desired)
        if whole_scope and in_scope is not None:
            for name in sorted(current):
                if name not in desired and in_scope(name):
                    target[name] = self._reset_item(plan, name, current[name], LINK_FIELDS, facts)
        return plan

    def _depth_of(self, name, target, depth, seen=()):
        if name in depth:
            return depth[name]
        want = target.get(name) or {}
        parent = want.get("parent")
        if not parent or parent in seen or len(seen) > 32:
            return 0
        return self._depth_of(parent, target, depth, seen + (name,)) + 1

    def ops(self, current, plan):
        ops = []
        target = plan.target
        facts = _facts(current)
        depth = getattr(current, "context", {}).get("depth") or {}
        kinds = dict((n, (facts.get(n) or {}).get("kind")) for n in current)
        for name, want in target.items():
            if want and want.get("kind"):
                kinds.setdefault(name, want["kind"])
        deleted = set()
        for name in sorted(target):
            want, cur = target[name], current.get(name)
            depth_now = self._depth_of(name, target, depth)
            if want is None:
                if cur is None or name in deleted:
                    continue
                peer = cur.get("peer") if cur.get("kind") == "veth" else None
                ops.append(planner.link_delete(name, depth_now, also=(peer,) if peer else ()))
                deleted.update((name, peer))
                continue
            fields = dict((k, want[k]) for k in LINK_FIELDS if k in want)
            if cur is None:
                if want.get("kind"):
                    ops.append(planner.link_create(name, want["kind"], want, depth_now))
                ops.extend(planner.attribute_ops(name, want.get("kind") or kinds.get(name), None,
                                                 fields, depth_now, master_kinds=kinds))
                continue
            state = dict((k, cur.get(k)) for k in LINK_FIELDS)
            try:
                ops.extend(planner.attribute_ops(name, kinds.get(name), state, fields, depth_now,
                                                 reset_fields=plan.resets.get(name, ()),
                                                 master_kinds=kinds))
            except InputError:
                if model.name_is_plain(name):
                    raise
                # only scope brings such a name here: config names are checked in desired()
                raise InputError("scope", "%s matches scope and would be reset, but its name is "
                                          "not plain (escaped in the facts), so it is never "
                                          "changed; narrow scope to leave it out" % name)
        return ops

    def verify(self, current, plan):
        problems = planner.describe(self.ops(current, plan))
        for name, want in sorted(plan.target.items()):
            cur = current.get(name)
            if want is None:
                if cur is not None:
                    problems.append("%s still exists" % name)
                continue
            if cur is None:
                problems.append("%s does not exist" % name)
                continue
            kind = want.get("kind")
            if kind:
                if cur.get("kind") != kind:
                    problems.append("%s is a %s, not a %s" % (name, cur.get("kind"), kind))
                for field in KIND_FIELDS[kind]:
                    if field in want and want[field] != cur.get(field):
                        problems.append("%s %s is %r, not %r" % (name, field, cur.get(field),
                                                                 want[field]))
        return problems

    def predicted(self, current, plan):
        facts = dict(_facts(current))
        for name, item in sorted(plan.target.items()):
            record = facts.get(name)
            if item is None:
                facts.pop(name, None)
                if (record or {}).get("kind") == "veth":
                    facts.pop((record.get("kind_data") or {}).get("peer"), None)
                continue
            facts[name] = planner.predicted_record(name, record, item)
            peer = item.get("peer") if item.get("kind") == "veth" else None
            if peer and peer not in facts:
                facts[peer] = planner.predicted_record(peer, None, {"kind": "veth", "peer": name})
        return facts


def _facts(current):
    """The facts interfaces map ``current`` was read from (empty offline)."""
    return getattr(current, "context", {}).get("facts") or {}


def check_values(item, path, creating=True):
    """Stdlib re-check of one item's values (types, ranges, spelling, kind fields)."""
    for field, value in item.items():
        where = "%s.%s" % (path, field)
        if field in ("enabled", "promisc", "multicast", "allmulticast", "arp"):
            planner.check_bool(value, where)
        elif field == "mtu":
            planner.check_int(value, where, planner.MTU_MIN, planner.MTU_MAX)
        elif field in ("txqueuelen", "group"):
            planner.check_int(value, where, 0, planner.U32_MAX)
        elif field == "mac":
            planner.check_mac(value, where)
        elif field == "alias":
            planner.quote_alias(value, where)
        elif field == "master":
            if value != "":
                planner.check_name(value, where)
        elif field in ("peer", "parent"):
            planner.check_name(value, where)
        elif field == "vni":
            planner.check_int(value, where, 0, planner.VNI_MAX)
        elif field == "dstport":
            planner.check_int(value, where, 1, 65535)
        elif field == "vlan_id":
            planner.check_int(value, where, planner.VLAN_ID_MIN, planner.VLAN_ID_MAX)
        elif field == "local":
            planner.check_ip(value, where, multicast=False)
        elif field == "remote":
            planner.check_ip(value, where)
    kind = item.get("kind")
    if kind is None:
        given = [f for f in ALL_KIND_FIELDS if f in item]
        if given:
            raise InputError("%s.%s" % (path, given[0]), "only valid together with kind")
        return
    planner.check_choice(kind, path + ".kind", planner.CREATABLE_KINDS)
    for field in KIND_REQUIRED.get(kind, ()) if creating else ():
        if field not in item:
            raise InputError("%s.%s" % (path, field), "kind %s needs %s" % (kind, field))
    for field in ALL_KIND_FIELDS:
        if field in item and field not in KIND_FIELDS[kind]:
            raise InputError("%s.%s" % (path, field), "is not a field of kind %s (its fields: %s)"
                             % (kind, ", ".join(KIND_FIELDS[kind]) or "none"))
    if "mode" in item:
        modes = planner.BOND_MODES if kind == "bond" else planner.MACVLAN_MODES
        planner.check_choice(item["mode"], path + ".mode", modes)
    if kind == "veth" and item.get("peer") == item["name"]:
        raise InputError(path + ".peer", "a veth cannot be its own peer")
    if kind == "vxlan" and item.get("local") and item.get("remote"):
        if (":" in item["local"]) != (":" in item["remote"]):
            raise InputError(path + ".remote", "local and remote must be the same IP family")
