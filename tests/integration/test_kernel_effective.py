"""The kernel's combining rules, proven by packets: what the kernel does on an interface
equals ``sysctl.effective`` as the collection reports it.

Facts come from the collection's reader (``reader.gather``, the code ``interface_facts``
runs) executed inside the namespace with ``ip netns exec NS python3 -c``, importing the
collection from ``.build/collections``. Packets are stdlib raw sockets (AF_PACKET) opened
inside the namespaces with setns(2) through ctypes, so one test process sends on one
namespace while it listens on another.

Each test builds its own namespaces (unique prefix ``ke<hex>-``, removed by name in a
``finally``): ``dut`` (the device under test) has interfaces x1..xN whose veth peers
w1..wN live in ``wire`` (no addresses there: frames are crafted and captured on them),
and where forwarding is judged, a ``srv`` namespace sits behind dut's ``xs``. One
interface per combination of per-interface values, one facts gather per ``conf/all``
combination. Sysctls are written through /proc inside the namespaces (``sysctl -w``),
``conf/all/forwarding`` always first: its write changes other keys.

Addresses: 198.18.0.0/15, IPv4-compatible ``::198.18.x.y`` for IPv6 traffic and
``fe80::c612:...`` link-local where the kernel requires link-local (router
advertisements, redirects). Nothing leaves the namespaces.
"""

from __future__ import annotations

import ctypes
import errno
import gzip
import ipaddress
import json
import os
import secrets
import shutil
import socket
import struct
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
COLLECTIONS = REPO_ROOT / ".build" / "collections"
IP = shutil.which("ip") or "ip"
CLONE_NEWNET = 0x40000000
ETH_P_ALL, ETH_P_IP, ETH_P_ARP, ETH_P_IPV6 = 0x0003, 0x0800, 0x0806, 0x86DD
PACKET_OUTGOING = 4
PORT = 40999
SETTLE = 0.5  # seconds for the kernel to react to a frame (veth delivery is immediate)


def _libc():
    libc = ctypes.CDLL(None, use_errno=True)
    libc.setns.argtypes = (ctypes.c_int, ctypes.c_int)
    return libc


pytestmark = pytest.mark.skipif(not (COLLECTIONS / "ansible_collections" / "hostnet" / "netif").exists(),
                                reason="needs the collection under .build/collections (make collection)")


# ---------------------------------------------------------------------------
# namespaces
# ---------------------------------------------------------------------------
def run(argv, check=True):
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    if check and proc.returncode != 0:
        raise AssertionError("%s failed (rc=%s): %s" % (argv, proc.returncode, proc.stderr.strip()))
    return proc


@contextmanager
def inside(ns):
    """Run the block with this thread in namespace ``ns`` (sockets made here stay there)."""
    libc = _libc()
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    target = os.open("/run/netns/%s" % ns, os.O_RDONLY)
    try:
        if libc.setns(target, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns into %s" % ns)
        yield
    finally:
        back = libc.setns(home, CLONE_NEWNET)
        os.close(target)
        os.close(home)
        if back != 0:
            raise OSError(ctypes.get_errno(), "setns back to the test's namespace")


def mac(side, i):
    return "02:c6:12:%02x:%02x:%02x" % (side, i, side)


def v4(i, host):
    return "198.18.%d.%d" % (i, host)


def v6(i, host):
    return "::198.18.%d.%d" % (i, host)


def ll(*parts):
    """fe80::c612:<id>, the id made from 198.18 octets (``ll(1, 2)`` -> fe80::c612:102)."""
    return "fe80::c612:%s" % "".join("%x" % p if n == 0 else "%02x" % p for n, p in enumerate(parts))


_FACTS = r"""
import json, subprocess, sys
sys.path.insert(0, sys.argv[1])
from ansible_collections.hostnet.netif.plugins.module_utils import reader
def run(argv):
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    out, err = proc.communicate()
    return proc.returncode, out, err
request = reader.GatherRequest(gather_subset=["sysctl"], sysctl_keys=json.loads(sys.argv[2]))
doc, warnings = reader.gather(reader.IpRunner(sys.argv[3], run), request)
print(json.dumps({"doc": doc, "warnings": warnings}))
"""


class Rig:
    """dut with x1..xN (peers w1..wN in wire) and optionally srv behind dut's xs."""

    def __init__(self, count, server=False):
        tag = "ke%s-" % secrets.token_hex(3)
        self.dut, self.wire, self.srv = tag + "dut", tag + "wire", (tag + "srv" if server else None)
        self.count = count
        self.made = []
        self.sockets = []

    def __enter__(self):
        try:
            self._build()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc):
        for sock in self.sockets:
            sock.close()
        for ns in reversed(self.made):
            run([IP, "netns", "del", ns], check=False)
        left = [ns for ns in self.made if os.path.exists("/run/netns/%s" % ns)]
        assert not left, "namespaces left behind: %s" % left

    def _build(self):
        for ns in (self.dut, self.wire, self.srv):
            if ns is None:
                continue
            run([IP, "netns", "add", ns])
            self.made.append(ns)
            run([IP, "-n", ns, "link", "set", "lo", "up"])
        # no automatic IPv6 addresses or DAD on dut (tests add what they need); wire has no IP at all
        self.sysctl(self.dut, [("net.ipv6.conf.default.addr_gen_mode", 1), ("net.ipv6.conf.default.accept_dad", 0),
                               ("net.ipv6.conf.default.router_solicitations", 0)])
        self.sysctl(self.wire, [("net.ipv6.conf.all.disable_ipv6", 1), ("net.ipv6.conf.default.disable_ipv6", 1)])
        pairs = [("x%d" % i, mac(0, i), self.wire, "w%d" % i, mac(1, i)) for i in range(1, self.count + 1)]
        if self.srv:
            self.sysctl(self.srv, [("net.ipv6.conf.default.accept_dad", 0)])
            pairs.append(("xs", mac(0, 100), self.srv, "s0", mac(2, 100)))
        for name, address, peer_ns, peer, peer_address in pairs:
            run([IP, "-n", self.dut, "link", "add", name, "address", address, "type", "veth",
                 "peer", "name", peer, "address", peer_address, "netns", peer_ns])
            run([IP, "-n", self.dut, "link", "set", name, "up"])
            run([IP, "-n", peer_ns, "link", "set", peer, "up"])
        if self.srv:
            self.ip(self.dut, "addr", "add", "198.18.100.1/24", "dev", "xs")
            self.ip(self.dut, "addr", "add", "::198.18.100.1/120", "dev", "xs", "nodad")
            # neighbour solicitations for forwarded packets leave from a link-local address
            self.ip(self.dut, "addr", "add", "%s/64" % ll(100, 1), "dev", "xs", "nodad")
            self.ip(self.srv, "addr", "add", "198.18.100.2/24", "dev", "s0")
            self.ip(self.srv, "addr", "add", "::198.18.100.2/120", "dev", "s0", "nodad")
            self.sysctl(self.srv, [("net.ipv4.conf.all.rp_filter", 0), ("net.ipv4.conf.s0.rp_filter", 0),
                                   ("net.ipv4.conf.all.accept_source_route", 1),
                                   ("net.ipv4.conf.s0.accept_source_route", 1)])

    # -- configuration ---------------------------------------------------------
    def ip(self, ns, *args):
        return run([IP, "-n", ns] + list(args))

    def sysctl(self, ns, pairs):
        """Write (key, value) pairs in order through /proc inside ``ns``."""
        argv = [IP, "netns", "exec", ns, "sysctl", "-q", "-w"]
        argv += ["%s=%s" % (key, value) for key, value in pairs]
        run(argv)
        for key, value in pairs:  # read back: the test proves nothing if a write did not land
            got = run([IP, "netns", "exec", ns, "sysctl", "-n", key]).stdout.strip()
            assert got == str(value), "%s: %s=%s did not stick (reads %s)" % (ns, key, value, got)

    def conf(self, family, all_values, per_iface, forwarding_all=None):
        """Set conf/all (forwarding first) and then each x<i> (forwarding first)."""
        pairs = []
        if forwarding_all is not None:
            pairs.append(("net.%s.conf.all.forwarding" % family, forwarding_all))
        pairs += [("net.%s.conf.all.%s" % (family, k), v) for k, v in all_values.items()]
        for name, values in per_iface.items():
            order = sorted(values, key=lambda k: (k not in ("forwarding", "force_forwarding"), k))
            pairs += [("net.%s.conf.%s.%s" % (family, name, k), values[k]) for k in order]
        self.sysctl(self.dut, pairs)

    def facts(self, keys):
        """The facts document of dut, built by the collection's reader inside the namespace."""
        proc = run([IP, "netns", "exec", self.dut, sys.executable, "-c", _FACTS, str(COLLECTIONS),
                    json.dumps(keys), IP])
        result = json.loads(proc.stdout)
        assert result["warnings"] == [], result["warnings"]
        return result["doc"]

    # -- packets -----------------------------------------------------------------
    def packet_socket(self, ns, ifname):
        with inside(ns):
            sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
            sock.bind((ifname, 0))
        sock.setblocking(False)
        self.sockets.append(sock)
        return sock

    def udp_socket(self, ns, family=socket.AF_INET, address=None, port=PORT):
        with inside(ns):
            sock = socket.socket(family, socket.SOCK_DGRAM)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind((address or ("::" if family == socket.AF_INET6 else "0.0.0.0"), port))
        sock.setblocking(False)
        self.sockets.append(sock)
        return sock

    def wire_socket(self, i):
        return self.packet_socket(self.wire, "w%d" % i)

    def route_get(self, family, address):
        out = run([IP, "-n", self.dut, "-j", family, "route", "get", address]).stdout
        return json.loads(out)[0]


def effective(doc, name, family, key):
    return doc["interfaces"][name]["sysctl"]["effective"][family][key]


def received(sock):
    """Every frame/datagram waiting on ``sock`` (incoming only, for packet sockets)."""
    out = []
    while True:
        try:
            data, address = sock.recvfrom(65535)
        except BlockingIOError:
            return out
        if sock.family == socket.AF_PACKET and address[2] == PACKET_OUTGOING:
            continue
        out.append((data, address))


def drain(*socks):
    for sock in socks:
        received(sock)


# ---------------------------------------------------------------------------
# packet building (RFC 791/792/826/8200/4443/4861); no scapy
# ---------------------------------------------------------------------------
def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def eth(dst, src, ethertype, payload):
    return bytes.fromhex(dst.replace(":", "")) + bytes.fromhex(src.replace(":", "")) + \
        struct.pack("!H", ethertype) + payload


def ipv4(src, dst, proto, payload, options=b"", ttl=64):
    ihl = 5 + len(options) // 4
    header = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, 4 * ihl + len(payload), 0x1234, 0, ttl, proto, 0,
                         socket.inet_aton(src), socket.inet_aton(dst)) + options
    header = header[:10] + struct.pack("!H", checksum(header)) + header[12:]
    return header + payload


def udp4(data, sport=PORT, dport=PORT):
    return struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data  # checksum 0: none (IPv4)


def icmp4(kind, code, rest, payload):
    body = struct.pack("!BBH", kind, code, 0) + rest + payload
    return body[:2] + struct.pack("!H", checksum(body)) + body[4:]


def ipv6(src, dst, next_header, payload, hop_limit=64):
    return struct.pack("!IHBB16s16s", 6 << 28, len(payload), next_header, hop_limit,
                       socket.inet_pton(socket.AF_INET6, src), socket.inet_pton(socket.AF_INET6, dst)) + payload


def _pseudo6(src, dst, next_header, payload):
    return socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst) + \
        struct.pack("!IxxxB", len(payload), next_header) + payload


def udp6(src, dst, data, sport=PORT, dport=PORT):
    body = struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data
    return body[:6] + struct.pack("!H", checksum(_pseudo6(src, dst, 17, body)) or 0xFFFF) + body[8:]


def icmp6(src, dst, kind, code, body):
    message = struct.pack("!BBH", kind, code, 0) + body
    return message[:2] + struct.pack("!H", checksum(_pseudo6(src, dst, 58, message))) + message[4:]


def arp(op, sha, spa, tha, tpa):
    return struct.pack("!HHBBH6s4s6s4s", 1, ETH_P_IP, 6, 4, op, bytes.fromhex(sha.replace(":", "")),
                       socket.inet_aton(spa), bytes.fromhex(tha.replace(":", "")), socket.inet_aton(tpa))


def parse_arp(frame):
    """(op, sender ip, target ip) of an ARP frame, else None."""
    if len(frame) < 42 or struct.unpack("!H", frame[12:14])[0] != ETH_P_ARP:
        return None
    op = struct.unpack("!H", frame[20:22])[0]
    return op, socket.inet_ntoa(frame[28:32]), socket.inet_ntoa(frame[38:42])


def icmp4_types(frames):
    kinds = []
    for frame, dummy in frames:
        if struct.unpack("!H", frame[12:14])[0] == ETH_P_IP and frame[23] == 1:
            ihl = (frame[14] & 0x0F) * 4
            kinds.append(frame[14 + ihl])
    return kinds


def payloads(sock):
    return set(data for data, dummy in received(sock))


# ---------------------------------------------------------------------------
# forwarding: IPv4 (the arriving interface's own value), IPv6 (all OR force_forwarding)
# ---------------------------------------------------------------------------
def test_forwarding_ipv4_and_ipv6():
    """IPv4: a packet is forwarded when the interface it arrives on forwards (conf/all and the
    egress interface do not matter). IPv6: when conf/all/forwarding or the arriving
    interface's force_forwarding is 1; the interface's own forwarding=1 forwards nothing.
    Before the fix the IPv6 facts said the interface's own forwarding (the issue's case: all=1
    with every interface 0 forwarded packets and the audit passed)."""
    count = 4
    with Rig(count, server=True) as rig:
        for i in range(1, count + 1):
            rig.ip(rig.dut, "addr", "add", "%s/24" % v4(i, 1), "dev", "x%d" % i)
            rig.ip(rig.dut, "addr", "add", "%s/120" % v6(i, 1), "dev", "x%d" % i, "nodad")
        rig.sysctl(rig.dut, [("net.ipv4.conf.all.rp_filter", 0)]
                   + [("net.ipv4.conf.x%d.rp_filter" % i, 0) for i in range(1, count + 1)])
        server4 = rig.udp_socket(rig.srv)
        server6 = rig.udp_socket(rig.srv, socket.AF_INET6)
        wires = dict((i, rig.wire_socket(i)) for i in range(1, count + 1))

        def send_all(tag):
            drain(server4, server6)
            for i, sock in wires.items():
                data = ("%s-%d" % (tag, i)).encode()
                sock.send(eth(mac(0, i), mac(1, i), ETH_P_IP,
                              ipv4(v4(i, 2), "198.18.100.2", 17, udp4(data))))
                sock.send(eth(mac(0, i), mac(1, i), ETH_P_IPV6,
                              ipv6(v6(i, 2), v6(100, 2), 17, udp6(v6(i, 2), v6(100, 2), data))))
            time.sleep(SETTLE)
            got4, got6 = payloads(server4), payloads(server6)
            return (set(i for i in wires if ("%s-%d" % (tag, i)).encode() in got4),
                    set(i for i in wires if ("%s-%d" % (tag, i)).encode() in got6))

        keys = ["ipv4.forwarding", "ipv6.forwarding"]
        seen6 = set()
        # (all forwarding, {x<i>: (own forwarding, force_forwarding)}); xs (egress) never forwards
        for scenario, (all_fwd, own) in enumerate([
                (0, {1: (0, 0), 2: (1, 0), 3: (0, 1), 4: (1, 1)}),
                (1, {1: (0, 0), 2: (1, 0), 3: (0, 1), 4: (1, 1)})]):
            for family in ("ipv4", "ipv6"):
                per = dict(("x%d" % i, {"forwarding": fwd}) for i, (fwd, force) in own.items())
                if family == "ipv6":
                    for i, (fwd, force) in own.items():
                        per["x%d" % i]["force_forwarding"] = force
                per["xs"] = {"forwarding": 0}
                rig.conf(family, {}, per, forwarding_all=all_fwd)
            doc = rig.facts(keys)
            forwarded4, forwarded6 = send_all("s%d" % scenario)
            expected4 = set(i for i in wires if effective(doc, "x%d" % i, "ipv4", "forwarding") == 1)
            expected6 = set(i for i in wires if effective(doc, "x%d" % i, "ipv6", "forwarding") == 1)
            assert forwarded4 == expected4 == set(i for i, (fwd, force) in own.items() if fwd), \
                (scenario, forwarded4, expected4)
            assert forwarded6 == expected6, (scenario, forwarded6, expected6)
            seen6.add(frozenset(forwarded6))
        # the IPv6 rule is all OR force_forwarding: x3/x4 (force) always, everyone when all=1
        assert seen6 == {frozenset({3, 4}), frozenset({1, 2, 3, 4})}, seen6


# ---------------------------------------------------------------------------
# IPv4 redirects received: accept_redirects (AND if forwarding else OR), secure_redirects
# (OR), shared_media (OR)
# ---------------------------------------------------------------------------
# x<i>: own values and whether the new gateway is on the interface's subnet
REDIRECT_PROFILES = {
    1: dict(forwarding=0, accept_redirects=0, shared_media=1, secure_redirects=0, onlink=True),
    2: dict(forwarding=0, accept_redirects=1, shared_media=1, secure_redirects=0, onlink=True),
    3: dict(forwarding=1, accept_redirects=0, shared_media=1, secure_redirects=0, onlink=True),
    4: dict(forwarding=1, accept_redirects=1, shared_media=1, secure_redirects=0, onlink=True),
    5: dict(forwarding=0, accept_redirects=1, shared_media=0, secure_redirects=0, onlink=True),
    6: dict(forwarding=0, accept_redirects=1, shared_media=0, secure_redirects=1, onlink=True),
    7: dict(forwarding=0, accept_redirects=1, shared_media=0, secure_redirects=0, onlink=False),
    8: dict(forwarding=0, accept_redirects=1, shared_media=1, secure_redirects=0, onlink=False),
}
REDIRECT_ALL = [
    dict(accept_redirects=0, secure_redirects=0, shared_media=0),
    dict(accept_redirects=1, secure_redirects=1, shared_media=0),
    dict(accept_redirects=1, secure_redirects=0, shared_media=1),
]


def test_ipv4_redirects_received():
    """An ICMP redirect from the current gateway is taken (``ip route get`` shows the new
    gateway) exactly as net/ipv4/route.c __ip_do_redirect decides from the effective values:
    accept_redirects must be on; with shared_media the new gateway only has to be unicast,
    without it it must be on the interface's subnet and, with secure_redirects, already a
    gateway of a route (ours never is)."""
    with Rig(len(REDIRECT_PROFILES)) as rig:
        wires = {}
        for i, profile in REDIRECT_PROFILES.items():
            name = "x%d" % i
            rig.ip(rig.dut, "addr", "add", "%s/24" % v4(i, 2), "dev", name)
            rig.ip(rig.dut, "neigh", "replace", v4(i, 1), "lladdr", mac(1, i), "dev", name, "nud", "permanent")
            new_gw = v4(i, 3) if profile["onlink"] else v4(150 + i, 3)
            rig.ip(rig.dut, "neigh", "replace", new_gw, "lladdr", mac(3, i), "dev", name, "nud", "permanent")
            rig.ip(rig.dut, "route", "add", "198.18.%d.0/24" % (200 + i), "via", v4(i, 1), "dev", name)
            wires[i] = rig.wire_socket(i)
        rig.sysctl(rig.dut, [("net.ipv4.conf.all.rp_filter", 0)]
                   + [("net.ipv4.conf.x%d.rp_filter" % i, 0) for i in REDIRECT_PROFILES])
        keys = ["ipv4.%s" % k for k in ("forwarding", "accept_redirects", "secure_redirects", "shared_media")]
        outcomes = set()
        for scenario, all_values in enumerate(REDIRECT_ALL, 1):
            per = dict(("x%d" % i, dict((k, v) for k, v in p.items() if k != "onlink"))
                       for i, p in REDIRECT_PROFILES.items())
            rig.conf("ipv4", all_values, per, forwarding_all=0)
            doc = rig.facts(keys)
            for i, profile in REDIRECT_PROFILES.items():
                new_gw = v4(i, 3) if profile["onlink"] else v4(150 + i, 3)
                dest = "198.18.%d.%d" % (200 + i, 10 + scenario)
                assert rig.route_get("-4", dest).get("gateway") == v4(i, 1)
                # an echo reply inside: icmp_err hands that to ipv4_redirect without a socket (others go
                # to ping_err, which needs a ping socket)
                inner = ipv4(v4(i, 2), dest, 1, struct.pack("!BBHHH", 0, 0, 0, 1, scenario))
                redirect = icmp4(5, 1, socket.inet_aton(new_gw), inner)
                wires[i].send(eth(mac(0, i), mac(1, i), ETH_P_IP, ipv4(v4(i, 1), v4(i, 2), 1, redirect)))
            time.sleep(SETTLE)
            for i, profile in REDIRECT_PROFILES.items():
                name = "x%d" % i
                new_gw = v4(i, 3) if profile["onlink"] else v4(150 + i, 3)
                dest = "198.18.%d.%d" % (200 + i, 10 + scenario)
                taken = rig.route_get("-4", dest).get("gateway") == new_gw
                accept = effective(doc, name, "ipv4", "accept_redirects")
                shared = effective(doc, name, "ipv4", "shared_media")
                secure = effective(doc, name, "ipv4", "secure_redirects")
                expected = bool(accept) and (bool(shared) or (profile["onlink"] and not secure))
                assert taken == expected, (scenario, name, all_values, profile,
                                           {"accept": accept, "shared": shared, "secure": secure})
                outcomes.add((i, taken))
        # the table is not trivial: x1 follows conf/all (OR, not forwarding), x4 too (AND,
        # forwarding), x3 never (AND with its own 0), x2 always (OR with its own 1); secure
        # (x6) and off-link without shared_media (x7) refuse when conf/all does not override
        assert {(1, True), (1, False), (4, True), (4, False), (2, True), (3, False), (5, True),
                (6, False), (7, False), (8, True)} <= outcomes, outcomes
        assert (3, True) not in outcomes and (2, False) not in outcomes, outcomes


# ---------------------------------------------------------------------------
# IPv4 redirects sent: send_redirects (OR)
# ---------------------------------------------------------------------------
def test_ipv4_send_redirects():
    """A forwarding host that sends a packet back out the interface it came in on sends an
    ICMP redirect when send_redirects is on for conf/all OR the interface."""
    count = 2
    with Rig(count) as rig:
        wires = {}
        for i in range(1, count + 1):
            name = "x%d" % i
            rig.ip(rig.dut, "addr", "add", "%s/24" % v4(i, 1), "dev", name)
            rig.ip(rig.dut, "neigh", "replace", v4(i, 2), "lladdr", mac(1, i), "dev", name, "nud", "permanent")
            rig.ip(rig.dut, "neigh", "replace", v4(i, 3), "lladdr", mac(3, i), "dev", name, "nud", "permanent")
            rig.ip(rig.dut, "route", "add", "198.18.%d.0/24" % (200 + i), "via", v4(i, 3), "dev", name)
            wires[i] = rig.wire_socket(i)
        rig.sysctl(rig.dut, [("net.ipv4.conf.all.rp_filter", 0)]
                   + [("net.ipv4.conf.x%d.rp_filter" % i, 0) for i in wires])
        seen = set()
        for scenario, all_send in enumerate((0, 1), 1):
            per = dict(("x%d" % i, {"forwarding": 1, "send_redirects": i - 1}) for i in wires)
            rig.conf("ipv4", {"send_redirects": all_send}, per, forwarding_all=1)
            doc = rig.facts(["ipv4.send_redirects", "ipv4.forwarding"])
            drain(*wires.values())
            for i, sock in wires.items():
                dest = "198.18.%d.%d" % (200 + i, 10 + scenario)
                sock.send(eth(mac(0, i), mac(1, i), ETH_P_IP, ipv4(v4(i, 2), dest, 17, udp4(b"redirect-me"))))
            time.sleep(SETTLE)
            for i, sock in wires.items():
                frames = received(sock)
                forwarded = any(frame[0:6] == bytes.fromhex(mac(3, i).replace(":", "")) for frame, dummy in frames)
                assert forwarded, "x%d did not forward the packet back out (scenario %d)" % (i, scenario)
                sent = 5 in icmp4_types(frames)
                assert sent == bool(effective(doc, "x%d" % i, "ipv4", "send_redirects")), (scenario, i)
                seen.add((i, all_send, sent))
        assert seen == {(1, 0, False), (2, 0, True), (1, 1, True), (2, 1, True)}, seen


# ---------------------------------------------------------------------------
# IPv4 source routing: accept_source_route (AND), with an LSRR option
# ---------------------------------------------------------------------------
def test_ipv4_accept_source_route():
    """A packet to dut with a loose source route on to srv is forwarded to srv only when
    accept_source_route is on for conf/all AND the arriving interface."""
    count = 2
    with Rig(count, server=True) as rig:
        wires = {}
        for i in range(1, count + 1):
            rig.ip(rig.dut, "addr", "add", "%s/24" % v4(i, 1), "dev", "x%d" % i)
            wires[i] = rig.wire_socket(i)
        rig.sysctl(rig.dut, [("net.ipv4.conf.all.rp_filter", 0)]
                   + [("net.ipv4.conf.x%d.rp_filter" % i, 0) for i in wires])
        server = rig.udp_socket(rig.srv)
        seen = set()
        for all_value in (0, 1):
            per = dict(("x%d" % i, {"accept_source_route": i - 1}) for i in wires)
            rig.conf("ipv4", {"accept_source_route": all_value}, per, forwarding_all=1)
            doc = rig.facts(["ipv4.accept_source_route"])
            drain(server)
            for i, sock in wires.items():
                # LSRR (type 0x83), length 7, pointer 4, one hop left: srv; then end of options
                options = struct.pack("!BBB4sB", 0x83, 7, 4, socket.inet_aton("198.18.100.2"), 0)
                data = ("lsrr-%d-%d" % (all_value, i)).encode()
                sock.send(eth(mac(0, i), mac(1, i), ETH_P_IP, ipv4(v4(i, 2), v4(i, 1), 17, udp4(data), options)))
            time.sleep(SETTLE)
            got = payloads(server)
            for i in wires:
                arrived = ("lsrr-%d-%d" % (all_value, i)).encode() in got
                assert arrived == bool(effective(doc, "x%d" % i, "ipv4", "accept_source_route")), (all_value, i)
                seen.add((all_value, i, arrived))
        assert seen == {(0, 1, False), (0, 2, False), (1, 1, False), (1, 2, True)}, seen


# ---------------------------------------------------------------------------
# reverse path filtering: rp_filter (MAX; 1 strict, 2 loose)
# ---------------------------------------------------------------------------
def _far_interface(rig, index):
    """x<index> carries 198.18.150.0/24 (via a permanent neighbour): the route back to
    sources there leaves by another interface than the one packets arrive on."""
    name = "x%d" % index
    rig.ip(rig.dut, "addr", "add", "%s/24" % v4(index, 1), "dev", name)
    rig.ip(rig.dut, "neigh", "replace", v4(index, 2), "lladdr", mac(1, index), "dev", name, "nud", "permanent")
    rig.ip(rig.dut, "route", "add", "198.18.150.0/24", "via", v4(index, 2), "dev", name)


def test_ipv4_rp_filter():
    """UDP to dut's own address: with a source routed back through another interface it is
    dropped only in strict mode (1); with a source that has no route at all in strict and
    loose mode (2); rp_filter 0 takes both. The mode is MAX(conf/all, interface)."""
    values = (0, 1, 2)
    with Rig(len(values) + 1) as rig:
        far = len(values) + 1
        _far_interface(rig, far)
        wires = {}
        for i in range(1, len(values) + 1):
            rig.ip(rig.dut, "addr", "add", "%s/24" % v4(i, 1), "dev", "x%d" % i)
            wires[i] = rig.wire_socket(i)
        listener = rig.udp_socket(rig.dut)
        seen = set()
        for all_value in values:
            per = dict(("x%d" % i, {"rp_filter": values[i - 1]}) for i in wires)
            per["x%d" % far] = {"rp_filter": 0}
            rig.conf("ipv4", {"rp_filter": all_value, "log_martians": 0, "accept_local": 0},
                     dict((n, dict(v, log_martians=0)) for n, v in per.items()))
            doc = rig.facts(["ipv4.rp_filter"])
            drain(listener)
            for i, sock in wires.items():
                for kind, source in (("other-way", "198.18.150.%d" % i), ("no-route", "198.18.160.%d" % i)):
                    data = ("rp-%d-%d-%s" % (all_value, i, kind)).encode()
                    sock.send(eth(mac(0, i), mac(1, i), ETH_P_IP, ipv4(source, v4(i, 1), 17, udp4(data))))
            time.sleep(SETTLE)
            got = payloads(listener)
            for i in wires:
                mode = effective(doc, "x%d" % i, "ipv4", "rp_filter")
                assert mode == max(all_value, values[i - 1])
                other_way = ("rp-%d-%d-other-way" % (all_value, i)).encode() in got
                no_route = ("rp-%d-%d-no-route" % (all_value, i)).encode() in got
                assert (other_way, no_route) == (mode != 1, mode == 0), (all_value, i, mode)
                seen.add(mode)
        assert seen == {0, 1, 2}


# ---------------------------------------------------------------------------
# martians logged: log_martians (OR), read from the kernel log
# ---------------------------------------------------------------------------
class KernelLog:
    """New records of /dev/kmsg since construction."""

    def __init__(self):
        self.fd = os.open("/dev/kmsg", os.O_RDONLY | os.O_NONBLOCK)
        os.lseek(self.fd, 0, os.SEEK_END)

    def lines(self):
        out = []
        while True:
            try:
                record = os.read(self.fd, 8192)
            except BlockingIOError:
                return out
            except OSError as exc:
                if exc.errno == errno.EPIPE:  # overwritten meanwhile: continue with what is there
                    continue
                raise
            out.append(record.decode("utf-8", "replace").split(";", 1)[-1].strip())

    def close(self):
        os.close(self.fd)


def _kernel_log_reason():
    try:
        log = KernelLog()
    except OSError as exc:
        return "the kernel log (/dev/kmsg) is not readable here: %s" % exc
    log.close()
    return None


def test_ipv4_log_martians():
    """A packet dropped by rp_filter is logged ("martian source ... on dev x<i>") when
    log_martians is on for conf/all OR the arriving interface."""
    reason = _kernel_log_reason()
    if reason:
        pytest.skip(reason)
    count = 2
    with Rig(count + 1) as rig:
        _far_interface(rig, count + 1)
        wires = {}
        for i in range(1, count + 1):
            rig.ip(rig.dut, "addr", "add", "%s/24" % v4(i, 1), "dev", "x%d" % i)
            wires[i] = rig.wire_socket(i)
        seen = set()
        for all_value in (0, 1):
            per = dict(("x%d" % i, {"log_martians": i - 1, "rp_filter": 1}) for i in wires)
            rig.conf("ipv4", {"log_martians": all_value, "rp_filter": 1}, per)
            doc = rig.facts(["ipv4.log_martians"])
            expected = dict((i, bool(effective(doc, "x%d" % i, "ipv4", "log_martians"))) for i in wires)
            logged = {}
            # the kernel rate-limits these messages (net_ratelimit: 10 per 5 s, shared by the
            # whole machine): one retry after the window for a line that should be there
            for attempt in range(2):
                log = KernelLog()
                try:
                    for i, sock in wires.items():
                        source = "198.18.160.%d" % (10 * all_value + i + attempt * 100)
                        sock.send(eth(mac(0, i), mac(1, i), ETH_P_IP, ipv4(source, v4(i, 1), 17, udp4(b"m"))))
                    time.sleep(SETTLE)
                    lines = log.lines()
                finally:
                    log.close()
                for i in wires:
                    source = "198.18.160.%d" % (10 * all_value + i + attempt * 100)
                    line = "martian source %s from %s, on dev x%d" % (v4(i, 1), source, i)
                    logged[i] = logged.get(i, False) or any(line in text for text in lines)
                if all(logged[i] for i in wires if expected[i]):
                    break
                time.sleep(5.1)
            assert logged == expected, (all_value, logged, expected)
            seen.update((all_value, i, logged[i]) for i in wires)
        assert seen == {(0, 1, False), (0, 2, True), (1, 1, True), (1, 2, True)}, seen


# ---------------------------------------------------------------------------
# ARP: arp_ignore (MAX), arp_filter (OR), proxy_arp (OR), arp_announce (MAX)
# ---------------------------------------------------------------------------
ARP_KEYS = ("arp_ignore", "arp_filter", "proxy_arp", "arp_announce")
ARP_PROFILES = {1: (0, 0, 0, 0), 2: (1, 0, 1, 1), 3: (2, 0, 0, 2), 4: (0, 1, 1, 0), 5: (0, 0, 0, 1),
                6: (1, 1, 0, 0)}
ARP_ALL = [(0, 0, 0, 0), (1, 0, 1, 2), (2, 1, 0, 1)]


def test_ipv4_arp():
    """ARP requests (unicast to dut's interface, so proxy replies are not delayed):
    - for dut's address on another interface: answered only with arp_ignore 0;
    - for the interface's own address from a sender outside its subnet: not with
      arp_ignore 2, and not with arp_filter when the route back to the sender does not
      leave by this interface (none, or another interface);
    - for an address dut routes by another interface: answered (proxy) with proxy_arp;
    and the ARP request dut itself sends for a neighbour, for a packet whose source is its
    address on another interface, carries that address only with arp_announce 0."""
    with Rig(len(ARP_PROFILES) + 1) as rig:
        far = len(ARP_PROFILES) + 1
        _far_interface(rig, far)
        other = v4(far, 1)  # dut's address on another interface
        wires = {}
        for i in ARP_PROFILES:
            rig.ip(rig.dut, "addr", "add", "%s/24" % v4(i, 1), "dev", "x%d" % i)
            wires[i] = rig.wire_socket(i)
        rig.sysctl(rig.dut, [("net.ipv4.conf.all.rp_filter", 0)]
                   + [("net.ipv4.conf.x%d.rp_filter" % i, 0) for i in list(wires) + [far]])
        seen = dict((key, set()) for key in ARP_KEYS)
        for scenario, all_values in enumerate(ARP_ALL, 1):
            per = dict(("x%d" % i, dict(zip(ARP_KEYS, values), forwarding=1)) for i, values in ARP_PROFILES.items())
            per["x%d" % far] = dict(zip(ARP_KEYS, (0, 0, 0, 0)), forwarding=1)
            rig.conf("ipv4", dict(zip(ARP_KEYS, all_values)), per, forwarding_all=1)
            doc = rig.facts(["ipv4.%s" % key for key in ARP_KEYS])
            drain(*wires.values())
            requests = {}
            for i, sock in wires.items():
                requests[i] = {
                    "other_address": (v4(i, 2), other),
                    "own_from_nowhere": ("198.18.77.%d" % i, v4(i, 1)),
                    "own_from_other_way": ("198.18.150.%d" % (10 + i), v4(i, 1)),
                    "proxy": (v4(i, 2), "198.18.150.%d" % (100 + i)),
                }
                for sender, target in requests[i].values():
                    sock.send(eth(mac(0, i), mac(1, i), ETH_P_ARP,
                                  arp(1, mac(1, i), sender, "00:00:00:00:00:00", target)))
            time.sleep(SETTLE)
            replies = {}
            for i, sock in wires.items():
                replies[i] = set((p[1], p[2]) for p in (parse_arp(f) for f, dummy in received(sock))
                                 if p and p[0] == 2)
            # dut's own ARP request for a new neighbour, for a packet sourced from `other`
            with inside(rig.dut):
                sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                sender.bind((other, 0))
                for i in wires:
                    sender.sendto(b"announce", (v4(i, 40 + scenario), PORT))
            finally:
                sender.close()
            time.sleep(SETTLE)
            for i, sock in wires.items():
                name = "x%d" % i
                ignore, filtered, proxy, announce = (effective(doc, name, "ipv4", key) for key in ARP_KEYS)
                got = dict((what, (target, sender) in replies[i]) for what, (sender, target) in requests[i].items())
                want = {
                    "other_address": ignore == 0,
                    "own_from_nowhere": ignore in (0, 1) and not filtered,
                    "own_from_other_way": ignore in (0, 1) and not filtered,
                    "proxy": bool(proxy),
                }
                assert got == want, (scenario, name, (ignore, filtered, proxy, announce))
                sources = set(p[1] for p in (parse_arp(f) for f, dummy in received(sock))
                              if p and p[0] == 1 and p[2] == v4(i, 40 + scenario))
                assert sources == {other if announce == 0 else v4(i, 1)}, (scenario, name, announce, sources)
                for key, value in zip(ARP_KEYS, (ignore, filtered, proxy, announce)):
                    seen[key].add(value)
        assert seen == {"arp_ignore": {0, 1, 2}, "arp_filter": {0, 1}, "proxy_arp": {0, 1},
                        "arp_announce": {0, 1, 2}}, seen


# ---------------------------------------------------------------------------
# route_localnet (OR), accept_local (OR): local delivery of odd addresses
# ---------------------------------------------------------------------------
def test_ipv4_route_localnet_and_accept_local():
    """UDP to 127.0.0.1 arriving on an interface is delivered only with route_localnet
    (else a martian destination); UDP whose source is one of dut's own addresses only with
    accept_local (else a martian source). Both are conf/all OR the interface."""
    profiles = {1: (0, 0), 2: (1, 0), 3: (0, 1)}  # (route_localnet, accept_local)
    with Rig(len(profiles) + 1) as rig:
        far = len(profiles) + 1
        rig.ip(rig.dut, "addr", "add", "%s/24" % v4(far, 1), "dev", "x%d" % far)
        wires = {}
        for i in profiles:
            rig.ip(rig.dut, "addr", "add", "%s/24" % v4(i, 1), "dev", "x%d" % i)
            wires[i] = rig.wire_socket(i)
        listener = rig.udp_socket(rig.dut)
        seen = set()
        for all_values in ((0, 0), (1, 0), (0, 1)):
            per = dict(("x%d" % i, {"route_localnet": lnet, "accept_local": local, "rp_filter": 0})
                       for i, (lnet, local) in profiles.items())
            rig.conf("ipv4", {"route_localnet": all_values[0], "accept_local": all_values[1], "rp_filter": 0}, per)
            doc = rig.facts(["ipv4.route_localnet", "ipv4.accept_local"])
            drain(listener)
            tag = "%d%d" % all_values
            for i, sock in wires.items():
                sock.send(eth(mac(0, i), mac(1, i), ETH_P_IP,
                              ipv4(v4(i, 2), "127.0.0.1", 17, udp4(("lnet-%s-%d" % (tag, i)).encode()))))
                sock.send(eth(mac(0, i), mac(1, i), ETH_P_IP,
                              ipv4(v4(far, 1), v4(i, 1), 17, udp4(("local-%s-%d" % (tag, i)).encode()))))
            time.sleep(SETTLE)
            got = payloads(listener)
            for i in wires:
                name = "x%d" % i
                localnet = ("lnet-%s-%d" % (tag, i)).encode() in got
                local = ("local-%s-%d" % (tag, i)).encode() in got
                assert localnet == bool(effective(doc, name, "ipv4", "route_localnet")), (all_values, name)
                assert local == bool(effective(doc, name, "ipv4", "accept_local")), (all_values, name)
                seen.add((all_values, i, localnet, local))
        assert ((0, 0), 1, False, False) in seen and ((1, 0), 1, True, False) in seen
        assert ((0, 1), 1, False, True) in seen and ((0, 0), 2, True, False) in seen
        assert ((0, 0), 3, False, True) in seen


# ---------------------------------------------------------------------------
# arp_accept (MAX), arp_notify (MAX)
# ---------------------------------------------------------------------------
def test_ipv4_arp_accept_and_arp_notify():
    """A gratuitous ARP from an unknown neighbour creates a neighbour entry with arp_accept 1,
    with 2 only for a sender in the interface's subnet, never with 0. A MAC change makes dut
    announce its address (gratuitous ARP) when arp_notify is 1. Both are MAX(all, interface)."""
    profiles = {1: (0, 0), 2: (1, 1), 3: (2, 0)}  # (arp_accept, arp_notify)
    with Rig(len(profiles)) as rig:
        wires = {}
        for i in profiles:
            rig.ip(rig.dut, "addr", "add", "%s/24" % v4(i, 1), "dev", "x%d" % i)
            wires[i] = rig.wire_socket(i)
        seen = set()
        for scenario, all_values in enumerate(((0, 0), (1, 1), (2, 0)), 1):
            per = dict(("x%d" % i, {"arp_accept": acc, "arp_notify": notify}) for i, (acc, notify) in profiles.items())
            rig.conf("ipv4", {"arp_accept": all_values[0], "arp_notify": all_values[1]}, per)
            doc = rig.facts(["ipv4.arp_accept", "ipv4.arp_notify"])
            drain(*wires.values())
            senders = {}
            for i, sock in wires.items():
                senders[i] = {"in_subnet": v4(i, 50 + scenario), "outside": "198.18.77.%d" % (10 * scenario + i)}
                for sender in senders[i].values():
                    sock.send(eth("ff:ff:ff:ff:ff:ff", mac(1, i), ETH_P_ARP,
                                  arp(1, mac(1, i), sender, "00:00:00:00:00:00", sender)))
            time.sleep(SETTLE)
            for i in wires:
                name = "x%d" % i
                accept = effective(doc, name, "ipv4", "arp_accept")
                neighbours = json.loads(rig.ip(rig.dut, "-j", "-4", "neigh", "show", "dev", name).stdout)
                known = set(n["dst"] for n in neighbours)
                got = dict((what, address in known) for what, address in senders[i].items())
                assert got == {"in_subnet": accept in (1, 2), "outside": accept == 1}, (scenario, name, accept, known)
            drain(*wires.values())
            for i in wires:  # a new MAC also flushes the neighbour table of the interface
                rig.ip(rig.dut, "link", "set", "x%d" % i, "address", mac(4 + scenario, i))
            time.sleep(SETTLE)
            for i, sock in wires.items():
                name = "x%d" % i
                accept = effective(doc, name, "ipv4", "arp_accept")
                notify = effective(doc, name, "ipv4", "arp_notify")
                announced = any(p and p[0] == 1 and p[1] == p[2] == v4(i, 1)
                                for p in (parse_arp(f) for f, dummy in received(sock)))
                assert announced == bool(notify), (scenario, name, notify)
                seen.add((accept, notify))
        assert set(a for a, n in seen) == {0, 1, 2} and set(n for a, n in seen) == {0, 1}, seen


# ---------------------------------------------------------------------------
# IPv6 router advertisements: accept_ra (0 where the interface forwards, unless 2)
# ---------------------------------------------------------------------------
RA_PROFILES = dict((n, (fwd, ra)) for n, (fwd, ra) in
                   enumerate(((0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)), 1))


def test_ipv6_accept_ra():
    """A router advertisement (from a link-local source, hop limit 255) installs a default
    route when the interface's own accept_ra is on and, if its own forwarding is 1, is 2.
    conf/all/accept_ra and conf/all/forwarding play no part."""
    with Rig(len(RA_PROFILES)) as rig:
        wires = dict((i, rig.wire_socket(i)) for i in RA_PROFILES)
        seen = set()
        for scenario, (all_fwd, all_ra) in enumerate(((0, 0), (1, 2)), 1):
            per = dict(("x%d" % i, {"forwarding": fwd, "accept_ra": ra, "accept_ra_defrtr": 1})
                       for i, (fwd, ra) in RA_PROFILES.items())
            rig.conf("ipv6", {"accept_ra": all_ra}, per, forwarding_all=all_fwd)
            doc = rig.facts(["ipv6.accept_ra", "ipv6.forwarding"])
            routers = {}
            for i, sock in wires.items():
                router = ll(scenario, i)
                routers[i] = router
                body = struct.pack("!BBHII", 64, 0, 1800, 0, 0) + struct.pack("!BB6s", 1, 1, bytes.fromhex(
                    mac(1, i).replace(":", "")))
                frame = eth("33:33:00:00:00:01", mac(1, i), ETH_P_IPV6,
                            ipv6(router, "ff02::1", 58, icmp6(router, "ff02::1", 134, 0, body), hop_limit=255))
                sock.send(frame)
            time.sleep(SETTLE)
            routes = json.loads(rig.ip(rig.dut, "-j", "-6", "route", "show", "default").stdout)
            for i in wires:
                installed = any(r.get("gateway") == routers[i] and r.get("dev") == "x%d" % i for r in routes)
                value = effective(doc, "x%d" % i, "ipv6", "accept_ra")
                assert installed == bool(value), (scenario, i, RA_PROFILES[i], value, routes)
                seen.add((RA_PROFILES[i], installed))
        assert seen == {((0, 0), False), ((0, 1), True), ((0, 2), True), ((1, 0), False), ((1, 1), False),
                        ((1, 2), True)}, seen


# ---------------------------------------------------------------------------
# IPv6 redirects: accept_redirects (0 where the interface forwards; conf/all not used)
# ---------------------------------------------------------------------------
def test_ipv6_accept_redirects():
    """An ND redirect from the current next hop (link-local, hop limit 255) is taken
    (``ip -6 route get`` shows the new next hop) when the interface's own accept_redirects is
    1 and its own forwarding is 0."""
    profiles = {1: (0, 0), 2: (0, 1), 3: (1, 0), 4: (1, 1)}  # (forwarding, accept_redirects)
    with Rig(len(profiles)) as rig:
        wires = {}
        for i in profiles:
            name = "x%d" % i
            rig.ip(rig.dut, "addr", "add", "%s/64" % ll(i, 2), "dev", name, "nodad")
            rig.ip(rig.dut, "addr", "add", "%s/120" % v6(i, 2), "dev", name, "nodad")
            rig.ip(rig.dut, "-6", "neigh", "replace", ll(i, 1), "lladdr", mac(1, i), "dev", name, "nud",
                   "permanent", "router")
            rig.ip(rig.dut, "-6", "route", "add", "::198.18.%d.0/120" % (200 + i), "via", ll(i, 1), "dev", name)
            wires[i] = rig.wire_socket(i)
        seen = set()
        for scenario, (all_fwd, all_redirects) in enumerate(((0, 0), (1, 1)), 1):
            per = dict(("x%d" % i, {"forwarding": fwd, "accept_redirects": red}) for i, (fwd, red) in profiles.items())
            rig.conf("ipv6", {"accept_redirects": all_redirects}, per, forwarding_all=all_fwd)
            doc = rig.facts(["ipv6.accept_redirects"])
            for i, sock in wires.items():
                dest = "::198.18.%d.%d" % (200 + i, 10 + scenario)
                assert rig.route_get("-6", dest).get("gateway") == ll(i, 1)
                target_option = struct.pack("!BB6s", 2, 1, bytes.fromhex(mac(3, i).replace(":", "")))
                body = b"\0\0\0\0" + socket.inet_pton(socket.AF_INET6, ll(i, 3)) + \
                    socket.inet_pton(socket.AF_INET6, dest) + target_option
                message = icmp6(ll(i, 1), ll(i, 2), 137, 0, body)
                sock.send(eth(mac(0, i), mac(1, i), ETH_P_IPV6, ipv6(ll(i, 1), ll(i, 2), 58, message, hop_limit=255)))
            time.sleep(SETTLE)
            for i in wires:
                dest = "::198.18.%d.%d" % (200 + i, 10 + scenario)
                taken = rig.route_get("-6", dest).get("gateway") == ll(i, 3)
                value = effective(doc, "x%d" % i, "ipv6", "accept_redirects")
                assert taken == bool(value), (scenario, i, profiles[i], value)
                seen.add((profiles[i], taken))
        assert seen == {((0, 0), False), ((0, 1), True), ((1, 0), False), ((1, 1), False)}, seen


# ---------------------------------------------------------------------------
# IPv6 source routing: accept_source_route (MIN) — observable only with Mobile IPv6
# ---------------------------------------------------------------------------
def _kernel_config(option):
    try:
        with gzip.open("/proc/config.gz", "rt") as handle:
            for line in handle:
                if line.startswith(option + "="):
                    return line.strip().split("=", 1)[1]
    except OSError:
        return None
    return "n"


def test_ipv6_accept_source_route():
    """accept_source_route >= 0 accepts only routing header type 2 (Mobile IPv6), < 0 none.
    Without CONFIG_IPV6_MIP6 every routing header with segments left is answered with an
    ICMPv6 parameter problem whatever the value (net/ipv6/exthdrs.c ipv6_rthdr_rcv), so the
    setting changes nothing a packet can show; the facts still say MIN (unit-tested)."""
    config = _kernel_config("CONFIG_IPV6_MIP6")
    if config in (None, "n"):
        pytest.skip("CONFIG_IPV6_MIP6 is %s on this kernel: routing header type 2 is refused whatever "
                    "accept_source_route says, nothing to observe" % ("unknown" if config is None else "not set"))
    pytest.skip("CONFIG_IPV6_MIP6=%s: a type 2 routing header test is not written yet (this lab's kernel "
                "lacks MIP6, so it could not be verified)" % config)


def test_helpers_build_valid_checksums():
    """The hand-built headers carry checksums the kernel accepts (guards the other tests'
    negative results against malformed packets)."""
    header = ipv4("198.18.1.2", "198.18.1.1", 17, udp4(b"x"))
    assert checksum(header[:20]) == 0
    message = icmp6("fe80::1", "ff02::1", 134, 0, b"\0" * 12)
    assert checksum(_pseudo6("fe80::1", "ff02::1", 58, message)) == 0
    assert ipaddress.ip_address(v6(1, 2)).packed[-4:] == socket.inet_aton("198.18.1.2")
    assert ll(1, 2) == "fe80::c612:102"
