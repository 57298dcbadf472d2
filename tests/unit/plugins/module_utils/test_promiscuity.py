# -*- coding: utf-8 -*-
# Copyright: hostnet.netif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The kernel's promiscuity in the facts: the topology table and the packet sockets.

Rows this kernel can build are proven by behaviour in
tests/integration/test_promiscuity.py and by the captured fixture; bond, team,
Open vSwitch and vlan cannot be created here: their rows are hand-written
``ip -d -json`` objects, labelled, with the expected counts taken from the kernel
source named in each test (not from the reader).
"""

import copy
import os
import struct

import pytest

from ansible_collections.hostnet.netif.plugins.module_utils import planner, reader

import netif_testlib as lib
from netif_testlib import CAPTURED

R = lib.roles()


def link(name, index, promiscuity=0, flags=("BROADCAST", "MULTICAST", "UP", "LOWER_UP"), **extra):
    item = {"ifindex": index, "ifname": name, "flags": list(flags), "mtu": 1500, "operstate": "UP",
            "link_type": "ether", "address": "02:00:00:00:00:%02x" % index,
            "promiscuity": promiscuity, "allmulti": 0}
    item.update(extra)
    return item


def document(links, **kwargs):
    doc, warnings = reader.build_document(links, lib.request(gather_subset=["links"]), [], [], None, **kwargs)
    assert warnings == []
    return doc["interfaces"]


# ---------------------------------------------------------------------------
# captured (real kernel): bridge port, macvlan lower, requested macvlan
# ---------------------------------------------------------------------------
def test_captured_counters_and_explanations():
    doc, dummy = lib.offline_document(CAPTURED)
    ifs = doc["interfaces"]
    port, lower, mv = ifs[R["veth_bridged"]], ifs[R["veth_dotted"]], ifs[R["macvlan"]]
    # the capture: the port's promiscuity is 1 (its bridge); the lower's 2 (the macvlan's
    # unicast address on a veth, which has no unicast filter, and the promiscuous macvlan)
    assert (port["promisc"], port["promisc_requested"], port["promiscuity"]) == (True, False, 1)
    assert port["promisc_explained_by"] == ["port of bridge %s" % R["bridge"]]
    assert (lower["promiscuity"], lower["promiscuity_explained"], lower["promiscuity_unexplained"]) == (2, 2, 0)
    assert (mv["promisc"], mv["promisc_requested"], mv["promiscuity_unexplained"]) == (True, True, 1)
    # bridge ports are allmulti by the kernel (br_add_if: dev_set_allmulti), not by request
    assert (port["allmulti"], port["allmulti_requested"], port["allmulti_count"]) == (True, False, 1)
    assert ifs["lo"]["promisc"] is False and ifs["lo"]["promiscuity_unexplained"] == 0


def test_a_dump_without_counters_says_unknown():
    bare = link("eth0", 2, flags=("BROADCAST", "MULTICAST", "PROMISC", "UP"))
    del bare["promiscuity"], bare["allmulti"]
    facts = document([bare])["eth0"]
    assert facts["promisc"] is None and facts["promiscuity"] is None
    assert facts["promiscuity_unexplained"] is None
    assert facts["promisc_requested"] is True and facts["allmulti"] is None


# ---------------------------------------------------------------------------
# the table
# ---------------------------------------------------------------------------
def bond(mode, promiscuity):
    master = link("bond0", 10, promiscuity, flags=("BROADCAST", "MULTICAST", "MASTER", "UP"),
                  linkinfo={"info_kind": "bond", "info_data": {"mode": mode}})
    slaves = [link(name, index, 1 if promiscuity else 0, master="bond0",
                   linkinfo={"info_slave_kind": "bond", "info_slave_data": {"state": state}})
              for name, index, state in (("eth1", 11, "ACTIVE"), ("eth2", 12, "BACKUP"))]
    return [master] + slaves


@pytest.mark.parametrize("mode, explained", [
    # drivers/net/bonding/bond_main.c bond_set_promiscuity: modes with a primary
    # (bond_uses_primary) pass it to the active slave only, the others to every slave
    ("active-backup", {"eth1": 1, "eth2": 0}),
    ("balance-tlb", {"eth1": 1, "eth2": 0}),
    ("balance-alb", {"eth1": 1, "eth2": 0}),
    ("balance-rr", {"eth1": 1, "eth2": 1}),
    ("802.3ad", {"eth1": 1, "eth2": 1}),
])
def test_hand_written_promiscuous_bond_explains_its_slaves(mode, explained):
    ifs = document(bond(mode, 1))
    for name, count in explained.items():
        assert ifs[name]["promiscuity_explained"] == count, name
    assert ifs["eth1"]["promisc_explained_by"] == ["slave of promiscuous bond bond0"]
    assert ifs["bond0"]["promiscuity_unexplained"] == 1  # a sniffer on the bond fails there


def test_hand_written_quiet_bond_explains_nothing():
    ifs = document(bond("balance-rr", 0))
    assert ifs["eth1"]["promiscuity_explained"] == 0 and ifs["eth2"]["promiscuity_explained"] == 0


def test_hand_written_bond_on_a_bridge_passes_the_promiscuity_down():
    """The bond is a bridge port, so the kernel made it promiscuous, so its slaves too."""
    links = bond("balance-rr", 1)
    links[0].update(master="br0", linkinfo={"info_kind": "bond", "info_data": {"mode": "balance-rr"},
                                            "info_slave_kind": "bridge"})
    links.append(link("br0", 20, linkinfo={"info_kind": "bridge"}))
    ifs = document(links)
    assert [ifs[n]["promiscuity_unexplained"] for n in ("bond0", "eth1", "eth2", "br0")] == [0, 0, 0, 0]


def test_hand_written_team_and_openvswitch_ports():
    # drivers/net/team/team_core.c team_change_rx_flags: every port;
    # net/openvswitch/vport-netdev.c netdev_link: dev_set_promiscuity(dev, 1)
    links = [
        link("team0", 10, 1, linkinfo={"info_kind": "team"}),
        link("eth1", 11, 1, master="team0", linkinfo={"info_slave_kind": "team"}),
        link("ovs-system", 20, 1, linkinfo={"info_kind": "openvswitch"}),
        link("eth3", 21, 1, master="ovs-system", linkinfo={"info_slave_kind": "openvswitch"}),
    ]
    ifs = document(links)
    assert ifs["eth1"]["promisc_explained_by"] == ["port of promiscuous team team0"]
    assert ifs["eth3"]["promisc_explained_by"] == ["port of Open vSwitch ovs-system"]
    assert ifs["eth3"]["promiscuity_unexplained"] == 0
    assert ifs["ovs-system"]["promiscuity_unexplained"] == 1  # nothing explains the datapath itself


@pytest.mark.parametrize("vlan_promiscuity, vlan_mac, vlan_up, explained", [
    # net/8021q/vlan_dev.c vlan_dev_change_rx_flags: a promiscuous vlan raises its parent
    # (since Linux 6.15 also while down; before, only while up: counted, an upper bound);
    # an up vlan with its own MAC adds a unicast address (vlan_dev_open: dev_uc_add)
    (0, "02:00:00:00:00:02", True, 0),
    (1, "02:00:00:00:00:02", True, 1),
    (0, "02:00:00:00:00:99", True, 1),
    (1, "02:00:00:00:00:99", True, 2),
    (1, "02:00:00:00:00:99", False, 1),
    (0, "02:00:00:00:00:99", False, 0),
])
def test_hand_written_vlan_explains_its_parent(vlan_promiscuity, vlan_mac, vlan_up, explained):
    flags = ("BROADCAST", "MULTICAST", "UP", "LOWER_UP") if vlan_up else ("BROADCAST", "MULTICAST")
    links = [link("eth0", 2, explained),
             link("eth0.100", 3, vlan_promiscuity, flags=flags, link="eth0", address=vlan_mac,
                  linkinfo={"info_kind": "vlan", "info_data": {"protocol": "802.1Q", "id": 100}})]
    ifs = document(links)
    assert ifs["eth0"]["promiscuity_explained"] == explained
    assert ifs["eth0"]["promiscuity_unexplained"] == 0


@pytest.mark.parametrize("mode, nopromisc, up, explained", [
    ("passthru", False, True, 1),
    ("passthru", True, True, 0),   # macvlan ... passthru nopromisc (proven in the lab probe)
    ("passthru", False, False, 0),
    ("bridge", False, True, 1),    # the unicast address
    ("vepa", False, True, 1),
    ("bridge", False, False, 0),
])
def test_macvlan_lower(mode, nopromisc, up, explained):
    data = {"mode": mode}
    if nopromisc:
        data["nopromisc"] = True
    flags = ("BROADCAST", "MULTICAST", "UP", "LOWER_UP") if up else ("BROADCAST", "MULTICAST")
    links = [link("la", 2, explained, linkinfo={"info_kind": "veth"}),
             link("mv", 3, flags=flags, link="la", linkinfo={"info_kind": "macvlan", "info_data": data})]
    assert document(links)["la"]["promiscuity_explained"] == explained


@pytest.mark.parametrize("promiscuity, up, explained", [
    # drivers/net/macsec.c macsec_dev_open: dev_uc_add(real_dev) always, and the
    # promiscuity of an up macsec device (macsec_dev_change_rx_flags)
    (0, True, 1), (1, True, 2), (1, False, 0),
])
def test_hand_written_macsec_explains_its_lower(promiscuity, up, explained):
    flags = ("BROADCAST", "MULTICAST", "UP", "LOWER_UP") if up else ("BROADCAST", "MULTICAST")
    links = [link("eth0", 2, explained),
             link("macsec0", 3, promiscuity, flags=flags, link="eth0", address="02:00:00:00:00:02",
                  linkinfo={"info_kind": "macsec", "info_data": {"sci": "0x1"}})]
    assert document(links)["eth0"]["promiscuity_explained"] == explained


def test_many_macvlans_add_one_unicast_promiscuity():
    """uc_promisc is one flag per device: three macvlans on one lower explain 1, not 3."""
    links = [link("la", 2, 1)] + [
        link("mv%d" % i, 3 + i, link="la", linkinfo={"info_kind": "macvlan", "info_data": {"mode": "bridge"}})
        for i in range(3)]
    ifs = document(links)
    assert ifs["la"]["promiscuity_explained"] == 1


def test_lower_in_another_namespace_is_not_attributed():
    links = [link("la", 2), link("mv", 3, link="la", link_netnsid=0,
                                 linkinfo={"info_kind": "macvlan", "info_data": {"mode": "passthru"}})]
    assert document(links)["la"]["promiscuity_explained"] == 0


def test_a_sniffer_on_a_bridge_port_is_unexplained():
    links = [link("br0", 2, linkinfo={"info_kind": "bridge"}),
             link("p1", 3, 2, master="br0", linkinfo={"info_kind": "veth", "info_slave_kind": "bridge"})]
    assert document(links)["p1"]["promiscuity_unexplained"] == 1


def test_a_request_counts_even_where_the_topology_is_an_upper_bound():
    """A NIC with unicast filtering is not promiscuous for its macvlan; its request must still fail."""
    links = [link("eth0", 2, 1, flags=("BROADCAST", "MULTICAST", "PROMISC", "UP", "LOWER_UP")),
             link("mv", 3, link="eth0", linkinfo={"info_kind": "macvlan", "info_data": {"mode": "bridge"}})]
    facts = document(links)["eth0"]
    assert facts["promiscuity_explained"] == 1 and facts["promiscuity_unexplained"] == 1


def test_filtering_by_name_keeps_the_explanation():
    """The upper device is not reported, but it still explains its lower device."""
    links = [link("la", 2, 1), link("mv", 3, link="la",
                                    linkinfo={"info_kind": "macvlan", "info_data": {"mode": "passthru"}})]
    doc, dummy = reader.build_document(links, lib.request(gather_subset=["links"], interfaces=["la"]),
                                       [], [], None)
    assert list(doc["interfaces"]) == ["la"]
    assert doc["interfaces"]["la"]["promiscuity_unexplained"] == 0


# ---------------------------------------------------------------------------
# the setter compares the requested flag
# ---------------------------------------------------------------------------
def test_link_state_reads_the_request_not_the_kernel():
    doc, dummy = lib.offline_document(CAPTURED)
    port = doc["interfaces"][R["veth_bridged"]]
    assert port["promisc"] is True and port["allmulti"] is True
    state = planner.link_state(port)
    assert state["promisc"] is False and state["allmulticast"] is False
    # facts from before promisc_requested: the flags (ip's request) decide
    old = copy.deepcopy(port)
    for key in ("promisc_requested", "allmulti_requested"):
        del old[key]
    assert planner.link_state(old)["promisc"] is False


# ---------------------------------------------------------------------------
# packet sockets
# ---------------------------------------------------------------------------
PACKET_HEADER = "sk               RefCnt Type Proto  Iface R Rmem   User   Inode\n"


def fake_proc(tmp_path, rows, holders):
    """/proc with net/packet ``rows`` and ``holders`` {pid: (comm, {fd: target})}."""
    lib.write_file(str(tmp_path / "net" / "packet"), PACKET_HEADER + "".join(
        "0000000078c146a5 3      %d    %04x   %d     1 0      %d      %d \n" % row for row in rows))
    for pid, (comm, fds) in holders.items():
        lib.write_file(str(tmp_path / str(pid) / "comm"), comm + "\n")
        os.makedirs(str(tmp_path / str(pid) / "fd"))
        for fd, target in fds.items():
            os.symlink(target, str(tmp_path / str(pid) / "fd" / str(fd)))
    os.makedirs(str(tmp_path / "self"))
    return str(tmp_path)


def test_read_packet_sockets_matches_inodes_to_processes(tmp_path):
    proc = fake_proc(tmp_path, [(3, 3, 3, 0, 100), (2, 0x88cc, 0, 0, 200)], {
        41: ("tcpdump", {3: "socket:[100]", 4: "/dev/null"}),
        42: ("lldpd", {7: "socket:[200]"}),
        43: ("forked", {5: "socket:[100]"}),
        44: ("other", {1: "socket:[999]", 2: "pipe:[100]"}),
    })
    sockets, known, warnings = reader.read_packet_sockets(proc, diag=lambda: {100: [(3, "promisc")]})
    assert known is True and warnings == []
    assert sockets == [
        {"inode": 100, "type": "raw", "protocol": 3, "ifindex": 3, "user": 0,
         "memberships": [(3, "promisc")],
         "processes": [{"pid": 41, "comm": "tcpdump"}, {"pid": 43, "comm": "forked"}]},
        {"inode": 200, "type": "dgram", "protocol": 0x88cc, "ifindex": 0, "user": 0,
         "memberships": [], "processes": [{"pid": 42, "comm": "lldpd"}]},
    ]


def test_no_packet_socket_means_no_scan(tmp_path):
    proc = fake_proc(tmp_path, [], {41: ("x", {3: "socket:[100]"})})

    def diag():
        raise AssertionError("no socket: no netlink dump")
    assert reader.read_packet_sockets(proc, diag=diag) == ([], True, [])


def test_without_packet_diag_memberships_are_unknown(tmp_path):
    proc = fake_proc(tmp_path, [(3, 3, 2, 0, 100)], {41: ("tcpdump", {3: "socket:[100]"})})
    links = [link("eth0", 2, 1)]
    sockets = reader.read_packet_sockets(proc, diag=lambda: None)
    assert sockets[1] is False
    ifs = document(links, packet_sockets=None)
    assert "packet_sockets" not in ifs["eth0"]
    doc, dummy = reader.build_document(links, lib.request(gather_subset=["links", "packet_sockets"]),
                                       [], [], None, sockets)
    assert doc["interfaces"]["eth0"]["packet_sockets"][0]["promisc"] is None
    assert doc["packet_sockets"]["memberships_known"] is False


def test_sockets_are_attributed_by_binding_and_by_membership(tmp_path):
    # 100: bound to every interface, promiscuous on eth1 (PACKET_MR_PROMISC names one ifindex)
    # 200: bound to eth0, no membership; 300: bound to every interface, no membership
    proc = fake_proc(tmp_path, [(3, 3, 0, 0, 100), (3, 3, 2, 0, 200), (2, 3, 0, 0, 300)],
                     {41: ("tcpdump", {3: "socket:[100]"})})
    sockets = reader.read_packet_sockets(proc, diag=lambda: {100: [(3, "promisc"), (3, "allmulti")]})
    links = [link("eth0", 2), link("eth1", 3, 1)]
    doc, dummy = reader.build_document(links, lib.request(gather_subset=["links", "packet_sockets"]),
                                       [], [], None, sockets)
    eth0, eth1 = doc["interfaces"]["eth0"], doc["interfaces"]["eth1"]
    assert [(s["inode"], s["bound"], s["promisc"]) for s in eth0["packet_sockets"]] == [(200, True, False)]
    assert [(s["inode"], s["bound"], s["promisc"], s["allmulti"]) for s in eth1["packet_sockets"]] == [
        (100, False, True, True)]
    assert [s["inode"] for s in doc["packet_sockets"]["unbound"]] == [300]
    assert doc["packet_sockets"]["total"] == 3
    assert eth1["promiscuity_unexplained"] == 1


def test_a_known_socket_counts_even_where_the_topology_is_an_upper_bound(tmp_path):
    """eth0 has a macvlan (explained 1, upper bound) and promiscuity 1: the socket decides."""
    proc = fake_proc(tmp_path, [(3, 3, 2, 0, 100)], {41: ("tcpdump", {3: "socket:[100]"})})
    sockets = reader.read_packet_sockets(proc, diag=lambda: {100: [(2, "promisc")]})
    links = [link("eth0", 2, 1),
             link("mv", 3, link="eth0", linkinfo={"info_kind": "macvlan", "info_data": {"mode": "bridge"}})]
    request = lib.request(gather_subset=["links", "packet_sockets"])
    doc, dummy = reader.build_document(links, request, [], [], None, sockets)
    assert doc["interfaces"]["eth0"]["promiscuity_unexplained"] == 1
    doc, dummy = reader.build_document(links, lib.request(gather_subset=["links"]), [], [], None)
    assert doc["interfaces"]["eth0"]["promiscuity_unexplained"] == 0  # the documented upper bound


def test_live_packet_diag_is_none_or_a_mapping():
    """On this machine: the real netlink dump parses (or the kernel lacks packet_diag)."""
    result = reader._packet_diag()  # pylint: disable=protected-access
    assert result is None or isinstance(result, dict)


def _diag_message(inode, mclist):
    """One packet_diag_msg as the kernel writes it (linux/packet_diag.h), with a MCLIST attribute."""
    items = b"".join(struct.pack("=IIHH32s", ifindex, count, mr_type, 0, b"") for ifindex, count, mr_type in mclist)
    attr = struct.pack("=HH", 4 + len(items), 1) + items
    body = struct.pack("=BBHI8x", 17, 3, 0x0300, inode) + attr
    return struct.pack("=IHHII", 16 + len(body), 20, 2, 1, 0) + body


def test_parse_packet_diag_reads_memberships():
    memberships = {}
    # mr_type 1 = PACKET_MR_PROMISC, 2 = PACKET_MR_ALLMULTI, 0 = PACKET_MR_MULTICAST (ignored)
    data = _diag_message(70, [(3, 1, 1), (4, 2, 2), (5, 1, 0)]) + _diag_message(71, [])
    assert reader.parse_packet_diag(data, memberships) is False
    assert memberships == {70: [(3, "promisc"), (4, "allmulti")], 71: []}
    done = struct.pack("=IHHII", 20, 3, 2, 1, 0) + b"\0\0\0\0"
    assert reader.parse_packet_diag(done, memberships) is True


def test_parse_packet_diag_refuses_an_error_and_a_truncated_read():
    with pytest.raises(ValueError):
        reader.parse_packet_diag(struct.pack("=IHHII", 36, 2, 0, 1, 0) + b"\0" * 20, {})
    with pytest.raises(ValueError):
        reader.parse_packet_diag(_diag_message(70, [(3, 1, 1)])[:40], {})
    with pytest.raises(ValueError):
        reader.parse_packet_diag(b"", {})
