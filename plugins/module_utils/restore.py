# -*- coding: utf-8 -*-
# Copyright: hostnet.netif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The restore plan: ops taking interfaces back to a snapshot (stdlib only).

Used by the transaction after a failed apply and when it recovers the journal
of an interrupted one. It sits below the resources and the transaction
(planner, address_ops), so the transaction imports no resource.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.hostnet.netif.plugins.module_utils import address_ops as addr, planner
from ansible_collections.hostnet.netif.plugins.module_utils.errors import NetifError


def address_ops(name, before, now):
    """Ops putting the addresses of ``name`` back as in ``before`` (facts records; ``now``
    None when the interface was recreated): every attribute, finite lifetimes included;
    kernel-made addresses (IPv6 link-local ...) are left to the kernel."""
    return addr.restore_ops(name, before.get("kind"), before.get("addresses"),
                            (now or {}).get("addresses"))


def restore_plan(before, now, names, created=()):
    """Ops that take the interfaces ``names`` from ``now`` back to ``before``.

    ``before``/``now`` are facts ``interfaces`` maps. Interfaces in ``created``
    that exist now but not before are deleted; interfaces of ``names`` that
    existed before and are gone are recreated (creatable kinds only) with their
    attributes and permanent addresses; the rest get attributes, master and
    permanent addresses put back.
    """
    ops = []
    depth_before = planner.depths(before)
    depth_now = planner.depths(now)
    kinds = dict((n, i.get("kind")) for n, i in before.items())
    handled = set()
    for name in sorted(names):
        if name in handled:
            continue
        old, cur = before.get(name), now.get(name)
        if old is None and cur is not None:
            if name in created:
                peer = (cur.get("kind_data") or {}).get("peer") if cur.get("kind") == "veth" else None
                ops.append(planner.link_delete(name, depth_now.get(name, 0),
                                               also=(peer,) if peer else ()))
                handled.update((name, peer))
            continue
        if old is None:
            continue
        depth = depth_before.get(name, 0)
        if cur is None:
            kind = old.get("kind")
            if kind not in planner.CREATABLE_KINDS:
                raise NetifError("cannot recreate %s: interfaces of kind %s cannot be created"
                                 % (name, kind))
            params = planner.item_from_facts(name, old)
            ops.append(planner.link_create(name, kind, params, depth))
            targets = [name]
            if kind == "veth" and params.get("peer") in before:
                targets.append(params["peer"])
            for target in targets:
                handled.add(target)
                state = planner.link_state(before[target], exact=True)
                ops.extend(planner.attribute_ops(target, before[target].get("kind"), None, state,
                                                 depth_before.get(target, 0), master_kinds=kinds))
                ops.extend(address_ops(target, before[target], None))
            continue
        handled.add(name)
        ops.extend(planner.attribute_ops(name, old.get("kind"), planner.link_state(cur, exact=True),
                                         planner.link_state(old, exact=True), depth,
                                         master_kinds=kinds))
        ops.extend(address_ops(name, old, cur))
    return planner.order(ops)


def affected_names(ops, before):
    """Interfaces a plan can disturb: the ops' devices, what they create/delete,
    veth peers, and the ports of masters/children of parents among them."""
    names = set()
    for op in ops:
        if op.dev and op.dev not in ("all", "default"):
            names.add(op.dev)
        names.update(op.creates)
        names.update(op.deletes)
    for name in list(names):
        iface = before.get(name) or {}
        if iface.get("kind") == "veth":
            peer = (iface.get("kind_data") or {}).get("peer")
            if peer:
                names.add(peer)
    for other, iface in before.items():
        if iface.get("master") in names or iface.get("parent") in names:
            names.add(other)
    return names
