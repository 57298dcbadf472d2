# -*- coding: utf-8 -*-
# Copyright: hostnet.netif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Management guard: never cut the session Ansible is talking through (stdlib only).

``SSH_CONNECTION`` (``client_ip client_port server_ip server_port``) in the
module's environment names the session. ``ip -json route get <client_ip>``
gives the interface the replies leave through (the *route device*) and the
source address; the interface holding ``server_ip`` is protected too, and so
are the lower devices the session depends on (the parent chain of a
vlan/macvlan, the ports of a bond, the non-virtual ports of a bridge).

Two layers, both skipped by ``force: true``:

**Static rules** (:func:`check`, before anything changes, in check mode too).
A plan is refused when it would

- take a protected interface down, delete it (or its veth peer), change its
  MAC or master, reset it (overridden/deleted defaults), or remove a session
  address;
- turn ARP off on the route device: with ``IFF_NOARP`` the kernel neither
  answers ARP for its addresses nor resolves the controller (neighbour entries
  become NOARP and carry the interface's own MAC); lab: a neighbour with an
  empty ARP cache no longer reaches the host, the issue's task hung;
- set the MTU of a protected interface below 576 (IPv4 session: the datagram
  size every IPv4 host must accept, RFC 791; the controller's stack does not
  take a path MTU below 552, ``net.ipv4.route.min_pmtu``) or below 1280 (IPv6
  session: the kernel removes IPv6 from an interface under 1280). Lab: MTU 68
  on the session interface cuts a fresh SSH connection, 200 does not; 576 is
  the floor an operator can rely on across real paths, not a measured edge.
  Upper devices follow a lower device's MTU (bridge, vlan), hence all
  protected interfaces;
- give a session address a finite ``valid_lft``: the kernel deletes the
  address when it runs out, after the task has ended (lab: an address with
  ``valid_lft 2`` is gone 3 s later). A finite ``preferred_lft`` alone only
  deprecates it, which keeps existing connections and incoming ones;
- add the controller's own address (as an address or a peer) on any
  interface: the kernel routes it as local from then on (lab: ``ip route get``
  gives ``local ... dev lo``);
- add, on another interface than the route device, an address whose prefix
  route contains the controller and is more specific than the connected
  prefix the session uses (any prefix when the session goes via a gateway):
  longest-prefix match moves the replies there (lab: 198.18.K.5/25 on another
  interface takes the /24's traffic to 198.18.K.1). An equal prefix does not
  (the kernel appends the second route; lab: the route stays on eth0), nor
  does ``noprefixroute``;
- make the effective ``arp_ignore`` of the route device, ``max(all,
  <device>)``, one that stops answering the ARP requests for the session's
  server address (kernel ``arp_ignore()``; each case checked in the lab by a
  TCP connect from a neighbour with an empty ARP cache): 8 never answers; 1
  answers only for addresses on the interface the request came in on; 2 also
  only requesters (the controller, or the gateway when the session is
  routed) inside that address's subnet; 3 does not answer for scope-host
  addresses; 4-7 are reserved and answer like 0. So 1/2/3 are refused only
  when the session's addressing makes them cut (server address on another
  interface, requester outside its subnet, scope host);
- under an IPv6 session, set ``disable_ipv6`` to 1 on the route device, the
  interface holding the server address, or ``all`` (writing ``all`` disables
  every interface; ``default`` only affects interfaces created later); or set
  ``hop_limit`` 1 on the route device when the session goes through a gateway
  (the socket's packets take the interface's hop limit, the router drops them).
  Lab, over an IPv6 session (``::198.18.K.x``, direct and through a router
  namespace): each of these, and an MTU of 1279 (the addresses go), cuts a fresh
  connection to port 22; ``default``, MTU 1280 and ``hop_limit`` 1 without a
  gateway do not.

Not refused, on purpose: ``arp_filter`` (answers when the reply would leave
through the interface the request came in on, which the session's symmetric
route already guarantees; a changed route is the dynamic check's business)
and ``arp_announce`` (it picks the source of the host's own ARP requests, in
the target's subnet when it can); both checked in the lab with
``all`` = 1/2: the neighbour and a fresh SSH connection still get through.
Nor ``rp_filter``: strict mode drops what arrives on an interface the reverse
route does not leave through, and the session's reverse route is the route
device, which the dynamic check holds in place.

**Dynamic check** (:func:`route_check`, a hook the transaction runs after the
batch and the sysctl writes, before verifying). ``ip route get <client>``
must still give the device and source address it gave before; otherwise the
transaction restores the snapshot and the task fails naming what changed.
It catches what the plan does not say itself: an interface brought up that
already holds a more specific prefix, ``ipv6 forwarding`` purging the default
routers learned from RAs (kernel ``addrconf_fixup_forwarding``), a more specific address on the route device that
changes the source (connections the host opens to the controller, and ACLs
keyed on the management address, would change). It protects against cuts
that do not kill the session's TCP connection at once: the check is a local
command, run before the module replies, so the restore happens whether or not
a packet got through meanwhile. A change that cuts the connection *and* the
host's command channel at once cannot be reported by anybody; that is what
the static rules are for.

``force: true`` skips both layers: it is how a management path is moved on
purpose (re-addressing, a new management interface), which the dynamic check
would otherwise always undo. A forced change that moved the route gets a
warning saying from where to where. Delayed cuts (SLAAC addresses expiring
after ``autoconf`` 0, RA routes after ``accept_ra`` 0) are not predicted.

Limitation: with ``become`` through sudo the environment is usually reset and
``SSH_CONNECTION`` is missing; the guard then reports that it could not find
the session (a warning) and protects nothing. Keep ``SSH_CONNECTION`` in
sudo's ``env_keep`` to have the guard with become.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

from ansible_collections.hostnet.netif.plugins.module_utils import model, planner, reader
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
# the least MTU a protected interface may get, by the session's IP version
MIN_MTU = {4: 576, 6: 1280}
ARP_IGNORE_SILENT = 8
_MTU_ACTIONS = (planner.MTU_LOWER, planner.MTU_RAISE)
FORCE_HINT = ("Set force: true to override if you have another way into the host "
              "(a console, another management path)")


class GuardError(NetifError):
    """The plan would cut the management session."""


class Session:
    """The management session: protected interface names and addresses.

    ``route_dev``/``route_src``/``gateway`` are what ``ip route get <client>``
    gave before the change (the dynamic check compares against them).
    """

    def __init__(self, client, server, interfaces, addresses, route_dev=None, route_src=None,
                 gateway=None):
        self.client = client
        self.server = server
        self.interfaces = set(interfaces)
        self.addresses = set(addresses)
        self._ips = set(ip for ip in (_ip(text) for text in self.addresses) if ip is not None)
        self.route_dev = route_dev
        self.route_src = route_src
        self.gateway = gateway
        client_ip = ipaddress.ip_address(client)
        mapped = getattr(client_ip, "ipv4_mapped", None)
        self.version = 4 if mapped is not None else client_ip.version

    def holds(self, text):
        """Whether the address (or CIDR) ``text`` is one of the session's addresses, in any
        spelling (``ip`` writes ``::198.18.0.10`` what Python writes ``::c612:a``)."""
        ip = _ip(text)
        return ip is not None and ip in self._ips

    def is_client(self, text):
        ip = _ip(text)
        return ip is not None and ip == _ip(self.client)

    def describe(self):
        return "the Ansible SSH session %s -> %s" % (self.client, self.server)

    def route_now(self, host):
        """(device, source) of ``ip route get <client>`` now; (None, None) when there is none."""
        try:
            routes = host.ip().json(["route", "get", self.client])
        except NetifError:
            return None, None  # "Network is unreachable": no route at all
        for route in routes:
            return model.display_name(route.get("dev")), route.get("prefsrc")
        return None, None

    def route_problem(self, host):
        """What changed in the route to the controller since the session was found, or None."""
        if self.route_dev is None:
            return None
        dev, src = self.route_now(host)
        if (dev, src) == (self.route_dev, self.route_src):
            return None
        changes = []
        if dev != self.route_dev:
            changes.append("device %s -> %s" % (self.route_dev, dev or "none (unreachable)"))
        if src != self.route_src:
            changes.append("source %s -> %s" % (self.route_src, src or "none"))
        return "the route to the controller %s changed: %s" % (self.client, ", ".join(changes))


def _ip(text):
    """ip_address of an address or CIDR text (zone and prefix dropped), or None."""
    try:
        return ipaddress.ip_address((text or "").split("/")[0].split("%")[0])
    except ValueError:
        return None


def parse_ssh_connection(value):
    """(client_ip, server_ip) from SSH_CONNECTION, or None when absent/malformed.

    The addresses keep sshd's spelling (inet_ntop's, as ``ip`` prints them): an
    IPv4-compatible ``::198.18.0.1`` is not rewritten to Python's ``::c612:1``.
    Compare them with :func:`_ip`, never as text.
    """
    if not value:
        return None
    parts = value.split()
    if len(parts) != 4:
        return None
    client, server = parts[0].split("%")[0], parts[2].split("%")[0]
    if _ip(client) is None or _ip(server) is None:
        return None
    return client, server


def find_session(host, interfaces):
    """The Session carried by this host, or None when there is no SSH session.

    ``interfaces`` is the facts ``interfaces`` map (with addresses).
    """
    pair = parse_ssh_connection(host.environ.get("SSH_CONNECTION"))
    if pair is None:
        return None
    client, server = pair
    server_ip = _ip(server)
    names, addresses = set(), {server}
    route_dev = route_src = gateway = None
    routes = host.ip().json(["route", "get", client])
    for route in routes:
        dev = model.display_name(route.get("dev"))  # spelled as the facts' keys are
        if dev:
            names.add(dev)
        if route.get("prefsrc"):
            addresses.add(route["prefsrc"])
        if route_dev is None:
            route_dev, route_src, gateway = dev, route.get("prefsrc"), route.get("gateway")
    for name, iface in interfaces.items():
        for entry in iface.get("addresses") or []:
            if _ip(entry.get("address")) == server_ip:
                names.add(name)
    return Session(client, server, _with_lower_devices(names, interfaces), addresses,
                   route_dev, route_src, gateway)


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


def _network(text):
    """ip_network of an address or CIDR text (host bits allowed), or None."""
    try:
        return ipaddress.ip_interface(text).network
    except ValueError:
        return None


def _word_after(words, key):
    if key in words:
        index = list(words).index(key)
        if index + 1 < len(words):
            return words[index + 1]
    return None


def _server_entries(session, interfaces):
    """(interface name, facts address entry) holding the session's server address."""
    server = _ip(session.server)
    for name, iface in interfaces.items():
        for entry in iface.get("addresses") or []:
            if _ip(entry.get("address")) == server:
                yield name, entry


def _session_prefixlen(session, interfaces):
    """Prefix length of the connected route carrying the session (0 when via a gateway)."""
    if session.gateway:
        return 0
    client = ipaddress.ip_address(session.client)
    best = 0
    iface = interfaces.get(session.route_dev) or {}
    for entry in iface.get("addresses") or []:
        network = _network("%s/%s" % (entry.get("address"), entry.get("prefixlen")))
        if network is not None and network.version == client.version and client in network:
            best = max(best, network.prefixlen)
    return best


# ---------------------------------------------------------------------------
# static rules: each returns the reasons (texts) one op would cut the session
# ---------------------------------------------------------------------------
def _interface_rules(op, session):
    """Existing-interface dangers: down, delete, MAC, master, resets, ARP off, tiny MTU."""
    targets = set([op.dev]) | set(op.deletes)
    hit = sorted(targets & session.interfaces)
    if not hit:
        return []
    name = hit[0]
    if op.action in _DANGER:
        return ["%s %s" % (_DANGER[op.action], name)]
    if op.reset:
        return ["reset %s of %s to its default" % (op.field, name)]
    if op.action == planner.SET and op.field == "arp" and op.value is False \
            and op.dev == session.route_dev:
        return ["turn ARP off on %s: it would stop answering ARP (neighbour discovery) for "
                "%s and stop resolving the next hop to %s" % (op.dev, session.server,
                                                              session.client)]
    floor = MIN_MTU[session.version]
    if op.action in _MTU_ACTIONS and op.value is not None and op.value < floor:
        return ["set the MTU of %s to %s, below %d, the least an IPv%d path must carry"
                % (op.dev, op.value, floor, session.version)]
    return []


def _address_rules(op, session, interfaces):
    """Address removals and additions that cut the session."""
    if op.action == planner.ADDR_DEL:
        if session.holds(op.address):
            return ["remove %s from %s" % (op.address, op.dev)]
        return []
    if op.action != planner.ADDR_ADD:
        return []
    reasons = []
    client = ipaddress.ip_address(session.client)
    peer = _word_after(op.words, "peer")
    if session.is_client(op.address) or session.is_client(peer):
        reasons.append("add the controller's own address %s on %s: the host would route it "
                       "to itself" % (session.client, op.dev))
    elif op.dev != session.route_dev and "noprefixroute" not in op.words:
        threshold = _session_prefixlen(session, interfaces)
        for text in (op.address, peer):
            network = _network(text) if text else None
            if network is None or network.version != client.version or client not in network:
                continue
            if network.prefixlen > threshold:
                reasons.append(
                    "add %s on %s: its prefix route %s is more specific than the /%d the "
                    "session uses via %s, so the replies to %s would leave through %s"
                    % (op.address, op.dev, network, threshold, session.route_dev,
                       session.client, op.dev))
                break
    valid = _word_after(op.words, "valid_lft")
    if valid not in (None, "forever") and session.holds(op.address):
        reasons.append("give the session address %s a finite valid_lft (%s s): the kernel "
                       "deletes it when that runs out, after this task" % (op.address, valid))
    return reasons


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def arp_ignore_cut(value, session, interfaces):
    """Why an effective arp_ignore ``value`` on the route device stops the controller's
    ARP requests for the server address from being answered, or None."""
    if value == ARP_IGNORE_SILENT:
        return "the host would answer no ARP request at all"
    if value not in (1, 2, 3):
        return None  # 0 answers; 4-7 are reserved and answer like 0
    entries = list(_server_entries(session, interfaces))
    if value == 3:
        if any(entry.get("scope") == "host" for dummy, entry in entries):
            return "%s has scope host, which arp_ignore 3 does not answer for" % session.server
        return None
    on_dev = [entry for name, entry in entries if name == session.route_dev]
    if not on_dev:
        return ("%s is not on %s, and arp_ignore %d answers only for addresses of the "
                "interface the request came in on" % (session.server, session.route_dev, value))
    if value == 2:
        requester = ipaddress.ip_address(session.gateway or session.client)
        for entry in on_dev:
            network = _network("%s/%s" % (entry.get("address"), entry.get("prefixlen")))
            if network is not None and requester in network:
                return None
        return ("the requester %s is outside the subnet of %s, and arp_ignore 2 answers "
                "only requesters inside it" % (requester, session.server))
    return None


def _sysctl_rules(ops, session, interfaces, conf):
    sysctl_ops = [op for op in ops if op.action == planner.SYSCTL]
    if not sysctl_ops:
        return []
    reasons = []
    dev = session.route_dev
    dev_flags = (interfaces.get(dev) or {}).get("flags") or ()
    if session.version == 4 and dev and "noarp" not in dev_flags:
        planned = {}
        for op in sysctl_ops:
            if op.family == "ipv4" and op.key == "arp_ignore" and op.dev in ("all", dev):
                planned[op.dev] = _int(op.value)
        if planned:
            current = dict((name, _int(conf("ipv4", name, "arp_ignore")) if conf else None)
                           for name in ("all", dev))
            before = max(current["all"] or 0, current[dev] or 0)
            after = max(planned.get("all", current["all"]) or 0,
                        planned.get(dev, current[dev]) or 0)
            why = arp_ignore_cut(after, session, interfaces) if after != before else None
            if why and not arp_ignore_cut(before, session, interfaces):
                where = " and ".join("%s=%s" % (name, value) for name, value in sorted(
                    planned.items()))
                reasons.append("set arp_ignore %s, making %s's effective arp_ignore "
                               "max(all, %s) = %d: %s" % (where, dev, dev, after, why))
    if session.version == 6:
        holders = set([dev]) | set(name for name, dummy in _server_entries(session, interfaces))
        for op in sysctl_ops:
            if op.family != "ipv6":
                continue
            if op.key == "disable_ipv6" and _int(op.value) == 1 and op.dev in holders | {"all"}:
                reasons.append("disable IPv6 on %s: the kernel removes its IPv6 addresses "
                               "and routes, %s included" % (op.dev, session.server))
            elif op.key == "hop_limit" and _int(op.value) == 1 and op.dev == dev \
                    and session.gateway:
                reasons.append("set hop_limit 1 on %s: the session goes through the router "
                               "%s, which drops replies whose hop limit runs out"
                               % (dev, session.gateway))
    return reasons


def violations(ops, session, interfaces, conf=None):
    """Reasons ``ops`` would cut ``session`` (empty list when safe).

    ``conf(family, name, key)`` reads a current per-interface sysctl (the
    effective arp_ignore needs the value of the side the plan does not set).
    """
    if session is None:
        return []
    reasons = []
    for op in ops:
        for reason in _interface_rules(op, session) + _address_rules(op, session, interfaces):
            if reason not in reasons:
                reasons.append(reason)
    reasons.extend(_sysctl_rules(ops, session, interfaces, conf))
    return reasons


def conf_reader(host):
    """``conf(family, name, key)`` for :func:`violations`, reading the host's /proc."""
    files = host.files if host.files is not None else reader.HostFiles()

    def conf(family, name, key):
        try:
            return files.conf_values(family, name, [key]).get(key)
        except reader.Vanished:
            return None
    return conf


def check(ops, session, interfaces, force, conf=None):
    """Raise GuardError when ``ops`` would cut the session and ``force`` is not set."""
    if force:
        return
    reasons = violations(ops, session, interfaces, conf)
    if reasons:
        raise GuardError(
            "refusing to %s: that would cut %s (via %s); nothing was changed. %s"
            % ("; ".join(reasons), session.describe(), ", ".join(sorted(session.interfaces)),
               FORCE_HINT))


def route_check(session, host, force=False, warn=None):
    """The ``check_after_batch`` hook of Transaction.apply, or None without a session.

    After the change ``ip route get <client>`` must still give the same device
    and source; otherwise GuardError (the transaction restores). With ``force``
    the change stays and ``warn`` gets what moved.
    """
    if session is None or session.route_dev is None:
        return None

    def check_route():
        problem = session.route_problem(host)
        if problem is None:
            return
        if force:
            if warn is not None:
                warn("force: true kept a change of the management path: %s" % problem)
            return
        raise GuardError(
            "refusing the change: after it %s, which would cut %s; the static rules did "
            "not predict it, the dynamic check caught it. %s, or to move the management "
            "path on purpose" % (problem, session.describe(), FORCE_HINT))
    return check_route


def mtu_lowered(ops, session, interfaces):
    """Session interfaces whose MTU ``ops`` lower (sorted), empty without a session.

    Not a cut the guard refuses (a new connection works), but the connection open
    now keeps the segment size it negotiated: the controller's full-size frames
    are dropped on the way in, no ICMP error reports it, and the connection
    stalls on the next large transfer (measured on the lab: a task setting eth0's
    MTU to 576 left the next task's module transfer hanging).
    """
    if session is None:
        return []
    names = set()
    for op in ops:
        if op.field != "mtu" or op.dev not in session.interfaces:
            continue
        before = (interfaces.get(op.dev) or {}).get("mtu")
        if isinstance(op.value, int) and isinstance(before, int) and op.value < before:
            names.add(op.dev)
    return sorted(names)
