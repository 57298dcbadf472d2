# -*- coding: utf-8 -*-
"""persist.py on hand-made facts records in a temporary root (nothing of the host is read)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import pytest
from netif_testlib import write_under as write

from ansible_collections.hostnet.netif.plugins.module_utils import bootconf, persist
from ansible_collections.hostnet.netif.plugins.module_utils.errors import InputError

NET = "etc/systemd/network/"


def record(name, kind="ethernet", up=True, mtu=1500, mac="02:00:c6:12:00:01", master=None,
           parent=None, kind_data=None, addresses=(), txqueuelen=1000, alias=None, **extra):
    facts = {"name": name, "kind": kind, "admin_state": "up" if up else "down", "mtu": mtu,
             "mac": mac, "master": master, "parent": parent, "kind_data": kind_data,
             "txqueuelen": txqueuelen, "alias": alias, "flags": ["broadcast", "multicast"] + (["up"] if up else []),
             "group": "default", "addresses": list(addresses)}
    facts.update(extra)
    return facts


def addr(cidr, family=None, flags=("permanent",), broadcast=None, label=None, scope="global",
         valid=None, preferred=None, peer=None):
    address, prefixlen = cidr.split("/")
    family = family or ("ipv6" if ":" in address else "ipv4")
    return {"family": family, "address": address, "prefixlen": int(prefixlen), "broadcast": broadcast,
            "label": label, "scope": scope, "flags": list(flags), "valid_lft": valid,
            "preferred_lft": preferred, "peer": peer}


def plan(backend, after, touched, root):
    return persist.plan_files(backend, after, touched, str(root))


def texts(writes, root):
    return dict((os.path.relpath(path, str(root)), value if value is None else value[0])
                for path, value in writes.items())


def apply(writes):
    for path, value in writes.items():
        if value is None:
            os.unlink(path)
        else:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as handle:
                handle.write(value[0])
            os.chmod(path, value[1])


def unit(text):
    """[(section, key, value)] of a unit text (bootconf's parser)."""
    files = bootconf.ConfFiles("/")
    items = [(s, k, v) for s, k, v, _b in bootconf.parse_unit_text(text, "x", files)]
    assert files.errors == []
    return items


TOPOLOGY = {
    "va": record("va", "veth", mtu=1400, kind_data={"peer": "vb", "peer_index": 5}, txqueuelen=500,
                 alias="uplink to lab", addresses=[addr("198.18.7.1/24", broadcast="198.18.7.255")]),
    "vb": record("vb", "veth", mac="02:00:c6:12:00:02", master="br0", kind_data={"peer": "va"}),
    "br0": record("br0", "bridge", mac="02:00:c6:12:00:03",
                  addresses=[addr("::ffff:198.18.8.1/120"), addr("198.18.8.1/24", label="br0:x",
                                                                  broadcast="198.18.8.255")]),
    "mv0": record("mv0", "macvlan", up=False, parent="va", kind_data={"mode": "bridge"}),
    "vx0": record("vx0", "vxlan", parent="va", kind_data={"vni": 42, "local": "198.18.7.1",
                                                           "remote": "198.18.7.2", "group": None,
                                                           "dstport": 4789, "parent": "va"}),
}


# ---------------------------------------------------------------------------
# networkd
# ---------------------------------------------------------------------------
def test_networkd_every_kind_and_field(tmp_path):
    writes, warnings = plan("networkd", TOPOLOGY, TOPOLOGY, tmp_path)
    assert warnings == []
    got = texts(writes, tmp_path)
    assert sorted(got) == sorted([NET + "50-hostnet-%s.network" % n for n in TOPOLOGY]
                                 + [NET + "50-hostnet-%s.netdev" % n for n in ("va", "br0", "mv0", "vx0")]
                                 + [NET + "50-hostnet-va.link"])
    for text in got.values():
        assert text.startswith("# Managed by hostnet.netif: edits to this file are overwritten")
    assert all(value[1] == 0o644 for value in writes.values())
    assert ("Peer", "Name", "vb") in unit(got[NET + "50-hostnet-va.netdev"])
    assert ("MACVLAN", "Mode", "bridge") in unit(got[NET + "50-hostnet-mv0.netdev"])
    vxlan = unit(got[NET + "50-hostnet-vx0.netdev"])
    assert [i for i in vxlan if i[0] == "VXLAN"] == [
        ("VXLAN", "VNI", "42"), ("VXLAN", "Local", "198.18.7.1"), ("VXLAN", "Remote", "198.18.7.2"),
        ("VXLAN", "DestinationPort", "4789")]
    va = unit(got[NET + "50-hostnet-va.network"])
    for item in [("Match", "Name", "va"), ("Link", "MTUBytes", "1400"),
                 ("Link", "MACAddress", "02:00:c6:12:00:01"), ("Link", "ActivationPolicy", "up"),
                 ("Network", "MACVLAN", "mv0"), ("Network", "VXLAN", "vx0"),
                 ("Network", "LinkLocalAddressing", "no"), ("Network", "ConfigureWithoutCarrier", "yes"),
                 ("Address", "Address", "198.18.7.1/24")]:
        assert item in va
    assert not any(key == "Broadcast" for _s, key, _v in va)  # the default one
    assert ("Network", "Bridge", "br0") in unit(got[NET + "50-hostnet-vb.network"])
    assert ("Link", "ActivationPolicy", "down") in unit(got[NET + "50-hostnet-mv0.network"])
    br0 = unit(got[NET + "50-hostnet-br0.network"])
    assert ("Address", "Address", "::ffff:198.18.8.1/120") in br0
    assert ("Address", "Label", "br0:x") in br0
    link = unit(got[NET + "50-hostnet-va.link"])
    assert ("Match", "OriginalName", "va") in link
    assert ("Link", "TransmitQueueLength", "500") in link and ("Link", "Alias", "uplink to lab") in link


def test_networkd_is_idempotent_and_overwrites_hand_edits(tmp_path):
    writes, _warnings = plan("networkd", TOPOLOGY, TOPOLOGY, tmp_path)
    apply(writes)
    assert plan("networkd", TOPOLOGY, TOPOLOGY, tmp_path) == ({}, [])
    path = os.path.join(str(tmp_path), NET + "50-hostnet-vb.network")
    with open(path, "a") as handle:
        handle.write("MTUBytes=9000\n")
    again, _warnings = plan("networkd", TOPOLOGY, ["vb"], tmp_path)
    assert list(again) == [path]


@pytest.mark.parametrize("field, value, key", [
    ("promisc_requested", True, ("Link", "Promiscuous", "yes")),
    ("allmulti_requested", True, ("Link", "AllMulticast", "yes")),
    ("group", 7, ("Link", "Group", "7")),
])
def test_networkd_link_flags(tmp_path, field, value, key):
    after = {"e0": record("e0", **{field: value})}
    got = texts(plan("networkd", after, ["e0"], tmp_path)[0], tmp_path)
    assert key in unit(got[NET + "50-hostnet-e0.network"])


def test_networkd_multicast_and_arp_off(tmp_path):
    after = {"e0": record("e0", flags=["up", "noarp"])}
    got = unit(texts(plan("networkd", after, ["e0"], tmp_path)[0], tmp_path)[NET + "50-hostnet-e0.network"])
    assert ("Link", "Multicast", "no") in got and ("Link", "ARP", "no") in got


def test_networkd_address_details_and_lifetimes(tmp_path):
    after = {"e0": record("e0", addresses=[
        addr("198.18.9.1/24"),  # no broadcast although /24
        addr("198.18.10.1/24", broadcast="198.18.10.7", scope="link", peer="198.18.10.2"),
        addr("::ffff:198.18.9.1/120", flags=("dynamic", "noprefixroute", "nodad"), valid=300, preferred=0),
        addr("::ffff:198.18.9.2/120", flags=("dynamic",), valid=300, preferred=100),
        addr("::ffff:198.18.9.3/120", flags=("temporary", "dynamic"), valid=300, preferred=100),
    ])}
    writes, warnings = plan("networkd", after, ["e0"], tmp_path)
    got = texts(writes, tmp_path)[NET + "50-hostnet-e0.network"]
    blocks = got.split("[Address]\n")[1:]
    assert blocks[0] == "Address=198.18.9.1/24\nBroadcast=no\n\n"
    assert "Peer=198.18.10.2\nBroadcast=198.18.10.7\nScope=link\n" in blocks[1]
    assert "PreferredLifetime=0\nAddPrefixRoute=no\nDuplicateAddressDetection=none\n" in blocks[2]
    assert len(blocks) == 4  # the temporary (privacy) address is the kernel's
    assert warnings == [
        "persist (networkd): e0.addresses[::ffff:198.18.9.1/120].valid_lft is not persisted: "
        "networkd writes addresses without a valid lifetime (forever)",
        "persist (networkd): e0.addresses[::ffff:198.18.9.2/120].valid_lft is not persisted: "
        "networkd writes addresses without a valid lifetime (forever)",
        "persist (networkd): e0.addresses[::ffff:198.18.9.2/120].preferred_lft is not persisted: "
        "networkd can say only forever or 0 (deprecated)"]


def test_networkd_kernel_link_local_is_not_a_static_address(tmp_path):
    generated = persist._eui64_link_local("02:00:c6:12:00:01")
    assert generated == "fe80::c6ff:fe12:1"
    after = {"e0": record("e0", mac="02:00:c6:12:00:01", addresses=[
        addr(generated + "/64", scope="link"), addr("fe80::c612:101/64", scope="link")])}
    got = unit(texts(plan("networkd", after, ["e0"], tmp_path)[0], tmp_path)[NET + "50-hostnet-e0.network"])
    assert ("Network", "LinkLocalAddressing", "ipv6") in got
    assert [v for s, k, v in got if k == "Address"] == ["fe80::c612:101/64"]


def test_networkd_warns_for_what_it_cannot_say(tmp_path):
    after = {
        "mv1": record("mv1", "macvlan", parent="eth0", kind_data={"mode": "bridge"}),
        "vx1": record("vx1", "vxlan", parent="eth0", kind_data={"vni": 5, "dstport": None}),
        "p0": record("p0", master="brx", alias=" padded"),
        "t0": record("t0", "tun", sysctl={"ipv4": {"rp_filter": 1}, "ipv6": {}}),
    }
    writes, warnings = plan("networkd", after, after, tmp_path)
    got = texts(writes, tmp_path)
    vx1 = unit(got[NET + "50-hostnet-vx1.netdev"])
    assert ("VXLAN", "Independent", "yes") in vx1 and ("VXLAN", "DestinationPort", "8472") in vx1
    assert NET + "50-hostnet-t0.netdev" not in got
    fields = sorted(w.split(" is not persisted")[0] for w in warnings)
    assert fields == ["persist (networkd): mv1.parent", "persist (networkd): p0.alias",
                      "persist (networkd): p0.master", "persist (networkd): t0.kind",
                      "persist (networkd): t0.sysctl", "persist (networkd): vx1.parent"]


def test_networkd_deletion_removes_the_files_and_the_parents_reference(tmp_path):
    apply(plan("networkd", TOPOLOGY, TOPOLOGY, tmp_path)[0])
    after = dict(TOPOLOGY)
    del after["mv0"]
    writes, _warnings = plan("networkd", after, ["mv0"], tmp_path)
    got = texts(writes, tmp_path)
    assert got[NET + "50-hostnet-mv0.netdev"] is None and got[NET + "50-hostnet-mv0.network"] is None
    assert ("Network", "MACVLAN", "mv0") not in unit(got[NET + "50-hostnet-va.network"])
    assert ("Network", "VXLAN", "vx0") in unit(got[NET + "50-hostnet-va.network"])


def test_networkd_deleting_a_veth_end_removes_the_pair(tmp_path):
    pair = dict((n, TOPOLOGY[n]) for n in ("va", "vb", "br0"))
    pair["va"] = dict(pair["va"], addresses=[])
    apply(plan("networkd", pair, pair, tmp_path)[0])
    writes, warnings = plan("networkd", {"br0": pair["br0"]}, ["vb"], tmp_path)
    removed = sorted(os.path.basename(p) for p, v in writes.items() if v is None)
    assert removed == ["50-hostnet-va.link", "50-hostnet-va.netdev", "50-hostnet-va.network",
                       "50-hostnet-vb.network"]
    assert "va's files are removed too" in warnings[0]


def test_networkd_veth_pair_has_one_netdev(tmp_path):
    apply(plan("networkd", TOPOLOGY, ["vb"], tmp_path)[0])
    assert os.path.exists(os.path.join(str(tmp_path), NET + "50-hostnet-vb.netdev"))
    got = texts(plan("networkd", TOPOLOGY, ["va"], tmp_path)[0], tmp_path)
    assert NET + "50-hostnet-va.netdev" not in got  # vb's netdev already creates the pair


# ---------------------------------------------------------------------------
# netplan
# ---------------------------------------------------------------------------
def netplan_doc(writes, root):
    path = os.path.join(str(root), persist.NETPLAN_FILE.lstrip("/"))
    text, mode = writes[path]
    assert mode == 0o600 and text.startswith("# Managed by hostnet.netif")
    return json.loads("\n".join(l for l in text.splitlines() if not l.startswith("#")))["network"]


def test_netplan_every_kind_and_field(tmp_path):
    writes, warnings = plan("netplan", TOPOLOGY, TOPOLOGY, tmp_path)
    network = netplan_doc(writes, tmp_path)
    assert network["bridges"]["br0"]["interfaces"] == ["vb"]
    assert network["bridges"]["br0"]["addresses"] == ["::ffff:198.18.8.1/120", {"198.18.8.1/24": {"label": "br0:x"}}]
    assert "renderer" not in network  # only per device: other interfaces keep their renderer
    assert network["tunnels"]["vx0"] == {
        "renderer": "networkd", "mode": "vxlan", "id": 42, "port": 4789, "local": "198.18.7.1", "remote": "198.18.7.2",
        "link": "va", "mtu": 1500, "macaddress": "02:00:c6:12:00:01", "link-local": [],
        "accept-ra": False, "ignore-carrier": True, "addresses": []}
    assert network["ethernets"]["va"]["mtu"] == 1400
    assert network["ethernets"]["mv0"]["activation-mode"] == "manual"
    text = "\n".join(warnings)
    for field in ("va.kind", "vb.kind", "mv0.kind", "va.alias", "va.txqueuelen"):
        assert "persist (netplan): %s is not persisted" % field in text
    assert "refuses virtual-ethernets" in text


def test_netplan_keeps_other_interfaces_and_is_idempotent(tmp_path):
    apply(plan("netplan", TOPOLOGY, TOPOLOGY, tmp_path)[0])
    assert plan("netplan", TOPOLOGY, TOPOLOGY, tmp_path)[0] == {}
    after = dict(TOPOLOGY, e9=record("e9", mtu=9000, master="br0"))
    network = netplan_doc(plan("netplan", after, ["e9"], tmp_path)[0], tmp_path)
    assert sorted(network["ethernets"]) == ["e9", "mv0", "va", "vb"]
    assert network["bridges"]["br0"]["interfaces"] == ["e9", "vb"]
    # deleting va: its entry goes, and vx0 loses the link netplan would refuse
    after = dict(TOPOLOGY)
    del after["va"]
    network = netplan_doc(plan("netplan", after, ["va"], tmp_path)[0], tmp_path)
    assert "va" not in network["ethernets"] and "link" not in network["tunnels"]["vx0"]


def test_netplan_reads_its_file_back_with_yaml_and_removes_it_when_empty(tmp_path):
    write(tmp_path, persist.NETPLAN_FILE, "network:\n  ethernets:\n    e1: {mtu: 1400}\n", 0o600)
    if bootconf.yaml_loader() is not None:
        writes = plan("netplan", {}, [], tmp_path)[0]
        assert netplan_doc(writes, tmp_path) == {"version": 2, "ethernets": {"e1": {"mtu": 1400}}}
    writes = plan("netplan", {}, ["e1"], tmp_path)[0]
    assert list(writes.values()) == [None]


def test_netplan_unreadable_own_file_is_an_error_naming_it(tmp_path, monkeypatch):
    write(tmp_path, persist.NETPLAN_FILE, "network: {ethernets: [\n", 0o600)
    monkeypatch.setattr(bootconf, "yaml_loader", lambda: None)
    with pytest.raises(persist.PersistError, match="60-hostnet-netif.yaml"):
        plan("netplan", {}, [], tmp_path)


def test_netplan_address_fields_it_cannot_say(tmp_path):
    after = {"e0": record("e0", addresses=[addr("198.18.9.1/24", peer="198.18.9.2", scope="host"),
                                           addr("::ffff:198.18.9.1/120", flags=("nodad",))],
                          flags=["up", "noarp", "promisc"], promisc_requested=True)}
    _writes, warnings = plan("netplan", after, ["e0"], tmp_path)
    fields = sorted(w.split(" is not persisted")[0].split(": ", 1)[1] for w in warnings)
    assert fields == ["e0.addresses[198.18.9.1/24].peer", "e0.addresses[198.18.9.1/24].scope",
                      "e0.addresses[::ffff:198.18.9.1/120].nodad", "e0.arp", "e0.multicast",
                      "e0.promisc"]


# ---------------------------------------------------------------------------
# names, backends
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("backend", persist.BACKENDS)
@pytest.mark.parametrize("name, extra", [
    ("a\\xffb", {"name_hex": "61ff62"}), ("e*", {}), ("!e0", {}), ("e'0", {}), ("a\u2028b", {})])
def test_names_files_cannot_state_are_refused(tmp_path, backend, name, extra):
    with pytest.raises(InputError) as info:
        plan(backend, {name: record(name, **extra)}, [name], tmp_path)
    assert info.value.path == "persist" and repr(name) in str(info.value)


def test_a_bad_master_name_is_refused_too(tmp_path):
    with pytest.raises(InputError, match="br\\*"):
        plan("networkd", {"e0": record("e0", master="br*")}, ["e0"], tmp_path)


def installed(root, *paths):
    for path in paths:
        write(root, path, "")


@pytest.mark.parametrize("files, requested, expected", [
    ((persist.NETWORKD_BINARIES[0],), "auto", "networkd"),
    ((persist.NETWORKD_BINARIES[1], "/usr/sbin/netplan", "/etc/netplan/01.yaml"), "auto", "netplan"),
    ((persist.NETWORKD_BINARIES[1], "/usr/sbin/netplan"), "auto", "networkd"),  # no YAML: networkd
    ((persist.NETWORKD_BINARIES[1], "/usr/sbin/netplan"), "netplan", "netplan"),
    ((persist.NETWORKD_BINARIES[0], "/etc/netplan/01.yaml"), "auto", "networkd"),  # no netplan
    ((persist.NETWORKD_BINARIES[0],), "networkd", "networkd"),
])
def test_choose_backend(tmp_path, files, requested, expected):
    installed(tmp_path, *files)
    assert persist.choose_backend(requested, str(tmp_path)) == expected


@pytest.mark.parametrize("files, requested", [((), "auto"), ((), "networkd"),
                                              ((persist.NETWORKD_BINARIES[0],), "netplan"),
                                              ((persist.NETWORKD_BINARIES[0],), "nmcli")])
def test_choose_backend_refuses(tmp_path, files, requested):
    installed(tmp_path, *files)
    with pytest.raises(InputError) as info:
        persist.choose_backend(requested, str(tmp_path))
    assert info.value.path == "persist_backend"
    assert "networkd" in str(info.value) and "netplan" in str(info.value)


# ---------------------------------------------------------------------------
# foreign configuration
# ---------------------------------------------------------------------------
FOREIGN_TREE = {
    "/usr/lib/systemd/network/99-default.link": "[Match]\nOriginalName=*\n[Link]\nNamePolicy=kernel\n",
    "/usr/lib/systemd/network/80-container-host0.network": "[Match]\nVirtualization=container\n",
    "/etc/systemd/network/10-e.network": "[Match]\nName=e[0-5] x0\n",
    "/etc/systemd/network/20-v.netdev": "[NetDev]\nName=v0\nKind=veth\n[Peer]\nName=v1\n",
    "/etc/systemd/network/30-l.link": "[Match]\nOriginalName=l0\n[Link]\nMTUBytes=1400\n",
    "/run/systemd/network/10-netplan-n1.network": "[Match]\nName=n1\n",
    "/etc/netplan/01-n.yaml": "network:\n  ethernets:\n    n1: {mtu: 1400}\n"
                              "    id0:\n      match: {name: 'm*'}\n      set-name: s0\n",
    "/etc/netplan/02-bad.yaml": "network: {ethernets: [b0\n",
    "/etc/NetworkManager/system-connections/k.nmconnection":
        "[connection]\nid=k\ntype=ethernet\ninterface-name=k0\n",
    "/etc/network/interfaces": "auto i0\niface i0 inet static\n  address 198.18.0.5/24\n",
    # own files (and netplan's output of our own YAML) are not foreign; a drop-in for one is
    "/etc/systemd/network/50-hostnet-o0.network": "[Match]\nName=o0\n",
    "/etc/systemd/network/50-hostnet-o1.network": "[Match]\nName=o1\n",
    "/etc/systemd/network/50-hostnet-o1.network.d/x.conf": "[Link]\nMTUBytes=1\n",
    persist.NETPLAN_FILE: '{"network": {"ethernets": {"o0": {}}}}',
}


def test_foreign_files_of_every_manager(tmp_path):
    for path, text in FOREIGN_TREE.items():
        write(tmp_path, path, text, 0o600)
    names = ["e1", "e9", "v1", "l0", "n1", "m5", "s0", "b0", "k0", "i0", "o0", "o1", "host0", "z0"]
    assert persist.foreign_files(names, str(tmp_path)) == {
        "e1": ["/etc/systemd/network/10-e.network"],
        "v1": ["/etc/systemd/network/20-v.netdev"],
        "l0": ["/etc/systemd/network/30-l.link"],
        "n1": ["/etc/netplan/01-n.yaml"],
        "m5": ["/etc/netplan/01-n.yaml"],
        "s0": ["/etc/netplan/01-n.yaml"],
        "b0": ["/etc/netplan/02-bad.yaml"],  # unparsable: named by a whole-word mention
        "k0": ["/etc/NetworkManager/system-connections/k.nmconnection"],
        "i0": ["/etc/network/interfaces"],
        "o1": ["/etc/systemd/network/50-hostnet-o1.network.d/x.conf"],
    }


def test_own_files_plan_then_foreign_check_is_clean(tmp_path):
    apply(plan("networkd", TOPOLOGY, TOPOLOGY, tmp_path)[0])
    apply(plan("netplan", TOPOLOGY, TOPOLOGY, tmp_path)[0])
    assert persist.foreign_files(TOPOLOGY, str(tmp_path)) == {}


def test_changing_backend_removes_the_other_backends_own_files(tmp_path):
    apply(plan("networkd", TOPOLOGY, TOPOLOGY, tmp_path)[0])
    writes = plan("netplan", TOPOLOGY, ["va", "vb"], tmp_path)[0]
    removed = sorted(os.path.basename(p) for p, v in writes.items() if v is None)
    assert removed == ["50-hostnet-va.link", "50-hostnet-va.netdev", "50-hostnet-va.network",
                       "50-hostnet-vb.network"]
    apply(writes)
    assert sorted(netplan_doc(plan("netplan", TOPOLOGY, TOPOLOGY, tmp_path)[0], tmp_path)["ethernets"]) == [
        "mv0", "va", "vb"]
    apply(plan("netplan", TOPOLOGY, TOPOLOGY, tmp_path)[0])
    writes = plan("networkd", TOPOLOGY, ["vb"], tmp_path)[0]
    network = netplan_doc(writes, tmp_path)
    assert "vb" not in network["ethernets"] and network["bridges"]["br0"]["interfaces"] == []
    apply(writes)
    writes = plan("networkd", TOPOLOGY, TOPOLOGY, tmp_path)[0]
    assert writes[os.path.join(str(tmp_path), persist.NETPLAN_FILE.lstrip("/"))] is None


def test_deleting_a_master_keeps_its_ports_files_even_with_partial_facts(tmp_path):
    after = {"br0": TOPOLOGY["br0"], "vx1": record("vx1", "vxlan", master="br0",
                                                   kind_data={"vni": 7, "dstport": 4789})}
    apply(plan("networkd", after, after, tmp_path)[0])
    writes, warnings = plan("networkd", {}, ["br0"], tmp_path)  # only the touched records given
    assert sorted(os.path.basename(p) for p in writes) == ["50-hostnet-br0.netdev", "50-hostnet-br0.network"]
    assert set(writes.values()) == {None} and warnings == []


def test_a_veth_peer_that_is_not_persisted_is_named(tmp_path):
    _writes, warnings = plan("networkd", TOPOLOGY, ["va"], tmp_path)
    assert warnings == ["persist (networkd): vb.(all fields) is not persisted: created with va, "
                        "but not persisted: networkd leaves a link without .network down and "
                        "unconfigured; persist vb too"]


def test_facts_without_addresses_are_refused(tmp_path):
    facts = dict(TOPOLOGY["va"])
    del facts["addresses"]
    with pytest.raises(persist.PersistError, match="va lack its addresses"):
        plan("networkd", {"va": facts}, ["va"], tmp_path)


def test_ip_scope_names_networkd_lacks_are_numbers(tmp_path):
    after = {"e0": record("e0", addresses=[addr("198.18.9.1/32", scope="site")])}
    got = unit(texts(plan("networkd", after, ["e0"], tmp_path)[0], tmp_path)[NET + "50-hostnet-e0.network"])
    assert ("Address", "Scope", "200") in got


def test_a_veth_pair_always_gets_its_netdev(tmp_path):
    apply(plan("networkd", TOPOLOGY, ["va"], tmp_path)[0])
    os.unlink(os.path.join(str(tmp_path), NET + "50-hostnet-va.netdev"))  # va kept: .network only
    got = texts(plan("networkd", TOPOLOGY, ["vb"], tmp_path)[0], tmp_path)
    assert ("Peer", "Name", "va") in unit(got[NET + "50-hostnet-vb.netdev"])
