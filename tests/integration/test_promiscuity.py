"""Promiscuity as the kernel has it, with real AF_PACKET sniffers in a lab namespace.

A sniffer is what libpcap/tcpdump does: ``socket(AF_PACKET, SOCK_RAW)``, bind to
the interface, ``PACKET_ADD_MEMBERSHIP`` with ``PACKET_MR_PROMISC``. The kernel
raises the interface's promiscuity and sets IFF_PROMISC in
``/sys/class/net/<if>/flags``, but ``ip link`` flags stay without PROMISC (they
show only the request). Every fact and audit verdict is checked against
``/sys/class/net/*/flags`` and ``ip -d -j link`` inside the namespace, never
against the module's own reading. Each case also proves one row of the
topology table (docs/facts.md): which kinds raise a lower device's counter.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import time

import pytest

from ansible_collections.hostnet.netif.plugins.plugin_utils.audit import engine
from tests.integration.test_interface_facts import facts_via_ansible
from tests.integration.test_interfaces import ok, play

IFF_PROMISC = 0x100
IFF_ALLMULTI = 0x200
RULE = "cis_network.promiscuous_interfaces"

SNIFFER = r"""
import os, socket, struct, sys, time
name = sys.argv[1]
sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))  # ETH_P_ALL
sock.bind((name, 0))
# struct packet_mreq {int mr_ifindex; u16 mr_type; u16 mr_alen; u8 mr_address[8]}
mreq = struct.pack("iHH8s", socket.if_nametoindex(name), 1, 0, b"")  # PACKET_MR_PROMISC
sock.setsockopt(263, 1, mreq)  # SOL_PACKET, PACKET_ADD_MEMBERSHIP
print(os.getpid(), sock.fileno(), flush=True)
time.sleep(600)
"""


class Sniffer:
    """A sniffer process inside the namespace; ``close()`` kills it (the socket goes with it)."""

    def __init__(self, lab, host, ifname):
        self.proc = subprocess.Popen(["ip", "netns", "exec", host.netns, "python3", "-c", SNIFFER, ifname],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline().split()
        if len(line) != 2:
            self.close()
            raise AssertionError("sniffer on %s did not start: %s" % (ifname, self.proc.stderr.read()))
        self.pid, self.fd = int(line[0]), int(line[1])

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)
        self.proc.stdout.close()
        self.proc.stderr.close()


@pytest.fixture(scope="module")
def net(lab_factory):
    """Plain veth pair, a bridge with two veth ports, a veth with promisc requested,
    a macvlan (bridge mode) and a passthru macvlan each on its own veth."""
    lab = lab_factory(hosts=1)
    host = lab.hosts[0]
    tag = secrets.token_hex(2)
    n = dict((key, "%s%s" % (key, tag)) for key in (
        "sa", "sb", "br", "pa", "pb", "qa", "qb", "ra", "rb", "la", "lb", "mv", "ta", "tb", "mp"))
    steps = [
        ["link", "add", n["sa"], "type", "veth", "peer", "name", n["sb"]],
        ["link", "add", n["br"], "type", "bridge"],
        ["link", "add", n["pa"], "type", "veth", "peer", "name", n["pb"]],
        ["link", "add", n["qa"], "type", "veth", "peer", "name", n["qb"]],
        ["link", "set", "dev", n["pa"], "master", n["br"]],
        ["link", "set", "dev", n["qa"], "master", n["br"]],
        ["link", "add", n["ra"], "type", "veth", "peer", "name", n["rb"]],
        ["link", "set", "dev", n["ra"], "promisc", "on"],
        ["link", "add", n["la"], "type", "veth", "peer", "name", n["lb"]],
        ["link", "add", n["mv"], "link", n["la"], "type", "macvlan", "mode", "bridge"],
        ["link", "add", n["ta"], "type", "veth", "peer", "name", n["tb"]],
        ["link", "add", n["mp"], "link", n["ta"], "type", "macvlan", "mode", "passthru"],
    ]
    for step in steps:
        lab.exec(host, ["ip"] + step)
    for key in n:
        lab.exec(host, ["ip", "link", "set", "dev", n[key], "up"])
    return {"lab": lab, "host": host, "n": n}


def kernel_truth(lab, host, allmulti=None):
    """{name: (sysfs IFF_PROMISC, ip -d promiscuity, ip's PROMISC flag)} inside the namespace;
    ``allmulti`` (a dict) receives the same triple for IFF_ALLMULTI."""
    truth = {}
    for link in lab.ip_json(host, "-d", "link", "show"):
        name = link["ifname"]
        flags = int(lab.read_proc(host, "/sys/class/net/%s/flags" % name), 16)
        truth[name] = (bool(flags & IFF_PROMISC), link["promiscuity"], "PROMISC" in link["flags"])
        if allmulti is not None:
            allmulti[name] = (bool(flags & IFF_ALLMULTI), link["allmulti"], "ALLMULTI" in link["flags"])
    return truth


def gather_and_audit(net, subset="links"):
    lab, host = net["lab"], net["host"]
    facts, dummy = facts_via_ansible(lab, host, "gather_subset=%s" % subset)
    allmulti = {}
    truth = kernel_truth(lab, host, allmulti)
    for name, (sys_promisc, promiscuity, requested) in truth.items():
        got = facts["interfaces"][name]
        assert got["promisc"] is sys_promisc, name
        assert got["promiscuity"] == promiscuity, name
        assert got["promisc_requested"] is requested, name
        assert got["promisc"] is (promiscuity > 0), name  # the kernel's invariant
        assert (got["allmulti"], got["allmulti_count"], got["allmulti_requested"]) == allmulti[name], name
    # bridge ports are all-multicast by the kernel (br_add_if), not by request
    assert allmulti[net["n"]["pa"]] == (True, 1, False)
    policy = engine.load_policy(["cis_network"])
    findings = engine.evaluate_host(policy, host.name, ["all"], facts, "2030-01-01")
    verdicts = dict((f["interface"], f) for f in findings if f["rule"] == RULE)
    return facts, truth, verdicts


def test_sniffers_requests_and_topology(net):
    lab, host, n = net["lab"], net["host"], net["n"]
    facts, truth, verdicts = gather_and_audit(net)
    ifs = facts["interfaces"]
    # no sniffer yet: the bridge ports, the macvlan lowers and the request are promiscuous,
    # and only the request fails
    assert truth[n["sa"]] == (False, 0, False)
    assert truth[n["pa"]] == (True, 1, False) and truth[n["qa"]] == (True, 1, False)
    assert truth[n["la"]] == (True, 1, False)  # the macvlan's unicast address (veth: no filter)
    assert truth[n["ta"]] == (True, 1, False)  # passthru
    assert truth[n["ra"]] == (True, 1, True)
    # nothing flows upwards: the bridge and the macvlans over promiscuous devices stay at 0
    assert truth[n["br"]] == (False, 0, False)
    assert truth[n["mv"]] == (False, 0, False) and truth[n["mp"]] == (False, 0, False)
    assert ifs[n["pa"]]["promisc_explained_by"] == ["port of bridge %s" % n["br"]]
    assert ifs[n["ta"]]["promisc_explained_by"] == ["passthru macvlan %s" % n["mp"]]
    assert ifs[n["la"]]["promiscuity_explained"] == 1
    failing = sorted(name for name, f in verdicts.items() if f["status"] != "pass")
    assert failing == [n["ra"]]
    assert "was requested" in verdicts[n["ra"]]["detail"]
    assert "packet socket" not in verdicts[n["ra"]]["detail"]

    sniffers = [Sniffer(lab, host, n[key]) for key in ("sa", "pa", "ra", "mv")]
    try:
        facts, truth, verdicts = gather_and_audit(net, "all")
        ifs = facts["interfaces"]
        # what ip link shows has not changed; the kernel's counters have
        assert truth[n["sa"]] == (True, 1, False)
        assert truth[n["pa"]] == (True, 2, False)
        assert truth[n["ra"]] == (True, 2, True)
        # a promiscuous macvlan makes its lower device promiscuous too (+1): explained
        assert truth[n["mv"]] == (True, 1, False) and truth[n["la"]] == (True, 2, False)
        assert ifs[n["la"]]["promiscuity_explained"] == 2
        assert truth[n["qa"]] == (True, 1, False)  # the other port: no sniffer, still explained
        failing = sorted(name for name, f in verdicts.items() if f["status"] != "pass")
        assert failing == sorted([n["sa"], n["pa"], n["ra"], n["mv"]])
        for key, sniffer in zip(("sa", "pa", "ra", "mv"), sniffers):
            detail = verdicts[n[key]]["detail"]
            assert "pid %d (python3)" % sniffer.pid in detail, detail
            sockets = [s for s in ifs[n[key]]["packet_sockets"] if s["promisc"]]
            assert [s["processes"] for s in sockets] == [[{"pid": sniffer.pid, "comm": "python3"}]]
            assert sockets[0]["bound"] is True and sockets[0]["type"] == "raw"
            # the inode matches /proc/net/packet and the sniffer's fd inside the namespace
            link = lab.exec(host, ["readlink", "/proc/%d/fd/%d" % (sniffer.pid, sniffer.fd)]).stdout.strip()
            assert link == "socket:[%d]" % sockets[0]["inode"]
            assert str(sockets[0]["inode"]) in lab.read_proc(host, "net/packet")
        assert "was requested" in verdicts[n["ra"]]["detail"]
        assert "was requested" not in verdicts[n["pa"]]["detail"]
        assert "port of bridge %s" % n["br"] in verdicts[n["pa"]]["detail"]
        assert ifs[n["pa"]]["promiscuity_unexplained"] == 1
        assert ifs[n["ra"]]["promiscuity_unexplained"] == 2
        assert facts["packet_sockets"]["memberships_known"] is True
        assert facts["packet_sockets"]["total"] == 4

        # without subset packet_sockets the finding still says how to find the process
        facts, truth, verdicts = gather_and_audit(net)
        detail = verdicts[n["sa"]]["detail"]
        assert "ss -0 -p" in detail and "/proc/net/packet" in detail and "packet_sockets" in detail
    finally:
        for sniffer in sniffers:
            sniffer.close()

    # the sniffers are gone: the counters return, the request alone fails again
    deadline = time.time() + 5
    while kernel_truth(lab, host)[n["sa"]][1] and time.time() < deadline:
        time.sleep(0.1)
    facts, truth, verdicts = gather_and_audit(net)
    assert truth[n["sa"]] == (False, 0, False)
    assert truth[n["pa"]] == (True, 1, False)
    assert truth[n["ra"]] == (True, 1, True)
    assert truth[n["la"]] == (True, 1, False)
    assert sorted(name for name, f in verdicts.items() if f["status"] != "pass") == [n["ra"]]


def test_down_macvlan_explains_nothing(net):
    """The macvlan's unicast address, its promiscuity and the passthru promiscuity reach
    the lower device only while the macvlan is up."""
    lab, host, n = net["lab"], net["host"], net["n"]
    try:
        for key in ("mv", "mp"):
            lab.exec(host, ["ip", "link", "set", "dev", n[key], "down"])
        lab.exec(host, ["ip", "link", "set", "dev", n["mv"], "promisc", "on"])
        facts, truth, verdicts = gather_and_audit(net)
        assert truth[n["mv"]] == (True, 1, True)
        assert truth[n["la"]] == (False, 0, False) and truth[n["ta"]] == (False, 0, False)
        assert facts["interfaces"][n["la"]]["promiscuity_explained"] == 0
        assert facts["interfaces"][n["ta"]]["promiscuity_explained"] == 0
        assert verdicts[n["mv"]]["status"] == "fail" and verdicts[n["la"]]["status"] == "pass"
        lab.exec(host, ["ip", "link", "set", "dev", n["mv"], "up"])
        facts, truth, verdicts = gather_and_audit(net)
        assert truth[n["la"]] == (True, 2, False)  # its unicast address and its promiscuity
        assert facts["interfaces"][n["la"]]["promiscuity_unexplained"] == 0
    finally:
        lab.exec(host, ["ip", "link", "set", "dev", n["mv"], "promisc", "off"])
        for key in ("mv", "mp"):
            lab.exec(host, ["ip", "link", "set", "dev", n[key], "up"])


def test_setter_compares_the_requested_flag(net):
    """A bridge port is promiscuous by the kernel: promisc: false is already true of it."""
    lab, host, n = net["lab"], net["host"], net["n"]
    rc, out, err, results = play(lab, host, [
        {"config": [{"name": n["pa"], "promisc": False}], "state": "merged"},
        {"config": [{"name": n["ra"], "promisc": True}], "state": "merged"},
    ])
    assert rc == 0, out[-3000:] + err[-3000:]
    assert ok(results[0])["changed"] is False, json.dumps(results[0])[:2000]
    assert ok(results[1])["changed"] is False, json.dumps(results[1])[:2000]
    assert kernel_truth(lab, host)[n["pa"]] == (True, 1, False)
