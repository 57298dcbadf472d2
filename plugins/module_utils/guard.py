# -*- coding: utf-8 -*-
# Copyright: hostnet.netif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Management guard: never cut the session Ansible is talking through (stdlib only).

``SSH_CONNECTION`` (``client_ip client_port server_ip server_port``) in the
module's environment names the session. ``ip -json route get <client_ip>``
gives the interface the replies leave through and the source address; the
interface holding ``server_ip`` is protected too, and so are the lower
devices the session depends on (the parent chain of a vlan/macvlan, the
ports of a bond, the non-virtual ports of a bridge).

:func:`check` refuses, unless ``force`` is set, a plan that would take a
protected interface down, delete it (or its veth peer), change its MAC or
master, reset it (overridden/deleted defaults), or remove the session's
address. The message names the interface and says how to override.

Limitation: with ``become`` through sudo the environment is usually reset and
``SSH_CONNECTION`` is missing; the guard then reports that it could not find
the session (a warning) and protects nothing. Keep ``SSH_CONNECTION`` in
sudo's ``env_keep`` to have the guard with become.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

from ansible_collections.hostnet.netif.plugins.module_utils import planner
from ansible_collections.hostnet.netif.plugins.module_utils.errors import NetifError

# how each dangerous action is described in the refusal
_DANGER = {
    planner.DOWN: "take down",
    planner.DELETE: "delete",
    planner.MAC: "change the MAC address of",
    planner.ENSLAVE: "enslave",
    planner.RELEASE: "release from its master",
}
_VIRTUAL_PORT_KINDS = frozenset(("veth", "tap", "tun", "macvtap"))


class GuardError(NetifError):
    """The plan would cut the management session."""


class Session:
    """The management session: protected interface names and addresses."""

    def __init__(self, client, server, interfaces, addresses):
        self.client = client
        self.server = server
        self.interfaces = set(interfaces)
        self.addresses = set(addresses)

    def describe(self):
        return "the Ansible SSH session %s -> %s" % (self.client, self.server)


def parse_ssh_connection(value):
    """(client_ip, server_ip) from SSH_CONNECTION, or None when absent/malformed."""
    if not value:
        return None
    parts = value.split()
    if len(parts) != 4:
        return None
    try:
        client = ipaddress.ip_address(parts[0].split("%")[0])
        server = ipaddress.ip_address(parts[2].split("%")[0])
    except ValueError:
        return None
    return str(client), str(server)


def find_session(host, interfaces):
    """The Session carried by this host, or None when there is no SSH session.

    ``interfaces`` is the facts ``interfaces`` map (with addresses).
    """
    pair = parse_ssh_connection(host.environ.get("SSH_CONNECTION"))
    if pair is None:
        return None
    client, server = pair
    names, addresses = set(), {server}
    routes = host.ip().json(["route", "get", client])
    for route in routes:
        if route.get("dev"):
            names.add(route["dev"])
        if route.get("prefsrc"):
            addresses.add(route["prefsrc"])
    for name, iface in interfaces.items():
        for entry in iface.get("addresses") or []:
            if entry.get("address") == server:
                names.add(name)
    return Session(client, server, _with_lower_devices(names, interfaces), addresses)


def _with_lower_devices(names, interfaces):
    protected = set(names)
    queue = list(names)
    while queue:
        name = queue.pop()
        iface = interfaces.get(name) or {}
        lower = []
        if iface.get("parent"):
            lower.append(iface["parent"])
        for other, facts in interfaces.items():
            if facts.get("master") != name:
                continue
            if iface.get("kind") == "bond" or facts.get("kind") not in _VIRTUAL_PORT_KINDS:
                lower.append(other)
        for item in lower:
            if item not in protected:
                protected.add(item)
                queue.append(item)
    return protected


def _address_ip(cidr):
    return (cidr or "").split("/")[0]


def violations(ops, session, interfaces):
    """Reasons ``ops`` would cut ``session`` (empty list when safe)."""
    if session is None:
        return []
    reasons = []
    for op in ops:
        targets = set([op.dev]) | set(op.deletes)
        hit = sorted(targets & session.interfaces)
        if not hit:
            if op.action == planner.ADDR_DEL and _address_ip(op.address) in session.addresses:
                reasons.append("remove %s from %s" % (op.address, op.dev))
            continue
        name = hit[0]
        if op.action in _DANGER:
            reasons.append("%s %s" % (_DANGER[op.action], name))
        elif op.reset:
            reasons.append("reset %s of %s to its default" % (op.field, name))
        elif op.action == planner.ADDR_DEL and _address_ip(op.address) in session.addresses:
            reasons.append("remove %s from %s" % (op.address, op.dev))
    return reasons


def check(ops, session, interfaces, force):
    """Raise GuardError when ``ops`` would cut the session and ``force`` is not set."""
    if force:
        return
    reasons = violations(ops, session, interfaces)
    if reasons:
        names = sorted(session.interfaces & set(op.dev for op in ops) | set(
            name for op in ops for name in op.deletes if name in session.interfaces))
        raise GuardError(
            "refusing to %s: %s carries %s (via %s); nothing was changed. Set force: true to "
            "override if you have another way into the host"
            % ("; ".join(reasons), ", ".join(names) or ", ".join(sorted(session.interfaces)),
               session.describe(), ", ".join(sorted(session.interfaces))))
