# -*- coding: utf-8 -*-
"""planner: op rendering, value re-checks and dependency ordering."""

import ipaddress

import pytest

from ansible_collections.hostnet.netif.plugins.module_utils import planner
from ansible_collections.hostnet.netif.plugins.module_utils.errors import InputError

from netif_fakeip import makeargs


# The planner spells an address the way the target's ipaddress module does. For
# an IPv4-mapped IPv6 address that is ::ffff:c612:1 before Python 3.13 and
# ::ffff:198.18.0.1 from 3.13 on; ip accepts both.
MAPPED1 = str(ipaddress.ip_address("::ffff:198.18.0.1"))
MAPPED2 = str(ipaddress.ip_address("::ffff:198.18.0.2"))


def test_mapped_spelling():
    assert (MAPPED1, MAPPED2) in (("::ffff:c612:1", "::ffff:c612:2"),
                                  ("::ffff:198.18.0.1", "::ffff:198.18.0.2"))


def lines(ops):
    return planner.render(planner.order(ops))


def index_of(rendered, text):
    matches = [i for i, line in enumerate(rendered) if line == text]
    assert len(matches) == 1, (text, rendered)
    return matches[0]


# ---------------------------------------------------------------------------
# rendering of each creatable kind
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("kind, params, expected", [
    ("veth", {"peer": "vb"}, "link add name va type veth peer name vb"),
    ("bridge", {}, "link add name va type bridge"),
    ("dummy", {}, "link add name va type dummy"),
    ("bond", {"mode": "802.3ad"}, "link add name va type bond mode 802.3ad"),
    ("bond", {}, "link add name va type bond"),
    ("macvlan", {"parent": "eth0"}, "link add link eth0 name va type macvlan mode bridge"),
    ("macvlan", {"parent": "eth0", "mode": "vepa"},
     "link add link eth0 name va type macvlan mode vepa"),
    ("vlan", {"parent": "eth0", "vlan_id": 100}, "link add link eth0 name va type vlan id 100"),
    ("vxlan", {"vni": 42}, "link add name va type vxlan id 42 dstport 4789"),
    ("vxlan", {"vni": 42, "dstport": 8472, "parent": "eth0", "local": "198.18.0.1",
               "remote": "198.18.0.2"},
     "link add name va type vxlan id 42 dstport 8472 dev eth0 local 198.18.0.1 remote 198.18.0.2"),
    ("vxlan", {"vni": 7, "remote": "239.1.1.1"},
     "link add name va type vxlan id 7 dstport 4789 group 239.1.1.1"),
    ("vxlan", {"vni": 7, "remote": "0:0:0:0:0:FFFF:198.18.0.2", "local": "::ffff:198.18.0.1"},
     "link add name va type vxlan id 7 dstport 4789 local %s remote %s" % (MAPPED1, MAPPED2)),
])
def test_create_renders(kind, params, expected):
    op = planner.link_create("va", kind, params)
    assert op.render() == expected
    assert op.action == planner.CREATE
    assert "va" in op.creates


def test_veth_create_creates_both_ends():
    assert planner.link_create("va", "veth", {"peer": "vb"}).creates == ("va", "vb")


@pytest.mark.parametrize("kind, params, path", [
    ("veth", {}, "config.peer"),
    ("macvlan", {}, "config.parent"),
    ("vlan", {"parent": "eth0"}, "config.vlan_id"),
    ("vlan", {"parent": "eth0", "vlan_id": 4095}, "config.vlan_id"),
    ("vlan", {"parent": "eth0", "vlan_id": 0}, "config.vlan_id"),
    ("vxlan", {}, "config.vni"),
    ("vxlan", {"vni": 1 << 24}, "config.vni"),
    ("vxlan", {"vni": 1, "dstport": 0}, "config.dstport"),
    ("vxlan", {"vni": 1, "local": "239.0.0.1"}, "config.local"),
    ("vxlan", {"vni": 1, "remote": "not-an-ip"}, "config.remote"),
    ("macvlan", {"parent": "eth0", "mode": "802.3ad"}, "config.mode"),
    ("bond", {"mode": "bridge"}, "config.mode"),
    ("tun", {}, "config.kind"),
    ("veth", {"peer": "a b"}, "config.peer"),
])
def test_create_rejects(kind, params, path):
    with pytest.raises(InputError) as info:
        planner.link_create("va", kind, params)
    assert info.value.path == path


@pytest.mark.parametrize("field, value, expected", [
    ("enabled", True, "link set dev eth1 up"),
    ("enabled", False, "link set dev eth1 down"),
    ("mtu", 9000, "link set dev eth1 mtu 9000"),
    ("mac", "02:00:5e:00:00:01", "link set dev eth1 address 02:00:5e:00:00:01"),
    ("txqueuelen", 500, "link set dev eth1 txqueuelen 500"),
    ("group", 7, "link set dev eth1 group 7"),
    ("alias", "core uplink", 'link set dev eth1 alias "core uplink"'),
    ("alias", 'say "hi"', "link set dev eth1 alias 'say \"hi\"'"),
    ("alias", "", 'link set dev eth1 alias ""'),
    ("promisc", True, "link set dev eth1 promisc on"),
    ("multicast", False, "link set dev eth1 multicast off"),
    ("allmulticast", True, "link set dev eth1 allmulticast on"),
    ("arp", False, "link set dev eth1 arp off"),
    ("master", "br0", "link set dev eth1 master br0"),
    ("master", None, "link set dev eth1 nomaster"),
    ("master", "", "link set dev eth1 nomaster"),
])
def test_link_set_renders(field, value, expected):
    assert planner.link_set("eth1", field, value).render() == expected


@pytest.mark.parametrize("alias", [
    "plain", "with spaces  and\ttab", 'uplink "core" \t<sw-1> caf\u00e9 \u00fcber \u2192 \u7db2',
    "it's", "$(reboot); rm -rf / `id` | & > <", "back\\slash", "",
])
def test_alias_round_trips_through_ip_batch_tokenizer(alias):
    line = planner.link_set("eth1", "alias", alias).render()
    assert makeargs(line) == ["link", "set", "dev", "eth1", "alias", alias]


@pytest.mark.parametrize("alias", [
    "has # hash", "two\nlines", "cr\rhere", "nul\x00", 'both \' and "', "x" * 256,
    "\u00e9" * 128,
])
def test_alias_rejected_when_ip_batch_cannot_carry_it(alias):
    with pytest.raises(InputError) as info:
        planner.link_set("eth1", "alias", alias, path="config[3]")
    assert info.value.path == "config[3].alias"


@pytest.mark.parametrize("name", [
    "", "a" * 16, ".", "..", "a/b", "a b", "a\tb", "a\nb", "a:b", 'a"b', "a'b", "a#b", "a\\b",
    "$(reboot)", "x;reboot", 5, None,
])
def test_names_rejected(name):
    with pytest.raises(InputError) as info:
        planner.link_set(name, "mtu", 1500, path="config[0]")
    assert info.value.path == "config[0].name"


@pytest.mark.parametrize("name", ["eth0", "eth0.100", "br-lan", "v@1", "\u00e9" * 7, "a" * 15])
def test_names_accepted(name):
    assert makeargs(planner.link_set(name, "mtu", 1500).render())[3] == name


@pytest.mark.parametrize("field, value", [
    ("mtu", 67), ("mtu", 65537), ("mtu", "1500"), ("mtu", True), ("mtu", 1.5),
    ("txqueuelen", -1), ("txqueuelen", 1 << 32), ("group", -1),
    ("mac", "01:00:5e:00:00:01"), ("mac", "00:00:00:00:00:00"), ("mac", "ff:ff:ff:ff:ff:ff"),
    ("mac", "02:00:5E:00:00:01"), ("mac", "02-00-5e-00-00-01"), ("mac", "02:00:5e:00:00"),
    ("enabled", "yes"), ("promisc", 1), ("master", "a b"), ("master", "../x"),
    ("bogus", 1),
])
def test_link_set_rejects(field, value):
    with pytest.raises(InputError) as info:
        planner.link_set("eth1", field, value, path="config[2]")
    assert info.value.path == "config[2].%s" % field


def test_address_and_sysctl_ops():
    assert planner.address_op(True, "eth0", "198.18.1.1/24", broadcast="198.18.1.255").render() \
        == "address add 198.18.1.1/24 broadcast 198.18.1.255 dev eth0"
    assert planner.address_op(False, "eth0", "0:0:0:0:0:FFFF:198.18.0.1/120").render() \
        == "address del %s/120 dev eth0" % MAPPED1
    op = planner.SysctlOp("ipv4", "eth0.100", "rp_filter", 1)
    assert op.render() == "sysctl -w net.ipv4.conf.eth0/100.rp_filter=1"
    assert not op.batch and planner.render([op]) == [] and planner.describe([op]) == [op.render()]
    with pytest.raises(InputError):
        planner.SysctlOp("ipv4", "eth0", "../../kernel/panic", 1)
    with pytest.raises(InputError):
        planner.SysctlOp("ipv4", "eth0", "rp_filter", "1 2")


# ---------------------------------------------------------------------------
# ordering
# ---------------------------------------------------------------------------
def test_create_before_enslave_and_up():
    out = lines([
        planner.link_set("va", "enabled", True),
        planner.link_set("va", "master", "br0"),
        planner.link_create("br0", "bridge", {}),
        planner.link_create("va", "veth", {"peer": "vb"}),
    ])
    assert index_of(out, "link add name br0 type bridge") < index_of(out, "link set dev va master br0")
    assert index_of(out, "link add name va type veth peer name vb") \
        < index_of(out, "link set dev va master br0") < index_of(out, "link set dev va up")


def test_parent_created_before_child_and_children_deleted_first():
    out = lines([
        planner.link_create("mv0", "macvlan", {"parent": "eth0.100"}, depth=2),
        planner.link_create("eth0.100", "vlan", {"parent": "eth0", "vlan_id": 100}, depth=1),
        planner.link_create("eth0", "bond", {}, depth=0),
    ])
    assert out == ["link add name eth0 type bond",
                   "link add link eth0 name eth0.100 type vlan id 100",
                   "link add link eth0.100 name mv0 type macvlan mode bridge"]
    out = lines([planner.link_delete("eth0", 0), planner.link_delete("eth0.100", 1),
                 planner.link_delete("mv0", 2)])
    assert out == ["link delete dev mv0", "link delete dev eth0.100", "link delete dev eth0"]


def test_mtu_raise_parent_first_and_lower_child_first():
    raise_ops = [planner.link_set("mv0", "mtu", 9000, depth=1, current_mtu=1500),
                 planner.link_set("eth0", "mtu", 9000, depth=0, current_mtu=1500)]
    assert lines(raise_ops) == ["link set dev eth0 mtu 9000", "link set dev mv0 mtu 9000"]
    lower_ops = [planner.link_set("eth0", "mtu", 1500, depth=0, current_mtu=9000),
                 planner.link_set("mv0", "mtu", 1500, depth=1, current_mtu=9000)]
    assert lines(lower_ops) == ["link set dev mv0 mtu 1500", "link set dev eth0 mtu 1500"]
    # all lowering happens before any raising
    mixed = lines(raise_ops[:1] + lower_ops[1:])
    assert mixed == ["link set dev mv0 mtu 1500", "link set dev mv0 mtu 9000"]


def test_vlan_on_bond_on_new_ports_full_plan():
    ops = [
        planner.link_set("eth0.10", "enabled", True, depth=1),
        planner.link_set("eth0.10", "mtu", 9000, depth=1),
        planner.link_create("eth0.10", "vlan", {"parent": "bond0", "vlan_id": 10}, depth=1),
        planner.link_set("bond0", "mtu", 9000, depth=0, current_mtu=None),
        planner.link_set("bond0", "enabled", True),
        planner.link_create("bond0", "bond", {"mode": "active-backup"}),
    ]
    ops += planner.attribute_ops("eth1", "ethernet", {"enabled": True, "master": None},
                                 {"master": "bond0"}, master_kinds={"bond0": "bond"})
    out = lines(ops)
    assert out == [
        "link add name bond0 type bond mode active-backup",
        "link add link bond0 name eth0.10 type vlan id 10",
        "link set dev eth1 down",
        "link set dev bond0 mtu 9000",
        "link set dev eth0.10 mtu 9000",
        "link set dev eth1 master bond0",
        "link set dev bond0 up",
        "link set dev eth1 up",
        "link set dev eth0.10 up",
    ]


def test_dummy_plan():
    ops = [planner.link_create("d0", "dummy", {})]
    ops += planner.attribute_ops("d0", "dummy", None, {"enabled": True, "mtu": 9000,
                                                       "mac": "02:00:00:00:00:01", "alias": ""})
    assert lines(ops) == ["link add name d0 type dummy",
                          "link set dev d0 address 02:00:00:00:00:01",
                          "link set dev d0 mtu 9000", "link set dev d0 up"]


@pytest.mark.parametrize("kind, expect_down", [("ethernet", True), ("ifb", True), ("veth", False),
                                               ("bridge", False), ("macvlan", False)])
def test_mac_change_takes_down_only_when_needed(kind, expect_down):
    current = {"enabled": True, "mac": "02:00:00:00:00:01"}
    out = lines(planner.attribute_ops("x0", kind, current, {"mac": "02:00:00:00:00:02"}))
    if expect_down:
        assert out == ["link set dev x0 down", "link set dev x0 address 02:00:00:00:00:02",
                       "link set dev x0 up"]
    else:
        assert out == ["link set dev x0 address 02:00:00:00:00:02"]


def test_mac_change_on_down_interface_needs_no_up():
    out = lines(planner.attribute_ops("x0", "ethernet", {"enabled": False, "mac": "02:00:00:00:00:01"},
                                      {"mac": "02:00:00:00:00:02"}))
    assert out == ["link set dev x0 address 02:00:00:00:00:02"]


def test_disable_with_mac_change_stays_down():
    out = lines(planner.attribute_ops("x0", "ethernet", {"enabled": True, "mac": "02:00:00:00:00:01"},
                                      {"mac": "02:00:00:00:00:02", "enabled": False}))
    assert out == ["link set dev x0 down", "link set dev x0 address 02:00:00:00:00:02"]


def test_attribute_ops_unchanged_is_empty():
    state = {"enabled": True, "mtu": 1500, "alias": "", "master": None}
    assert planner.attribute_ops("x0", "veth", state, dict(state)) == []
    # None alias compares as empty
    assert planner.attribute_ops("x0", "veth", state, {"alias": None}) == []


def test_release_before_enslave_elsewhere_and_delete_first():
    ops = [planner.link_set("p1", "master", "br1"), planner.link_set("p2", "master", None),
           planner.link_delete("old", 0)]
    out = lines(ops)
    assert out == ["link delete dev old", "link set dev p2 nomaster", "link set dev p1 master br1"]


def test_order_is_stable_within_phase():
    ops = [planner.link_set("c", "alias", "x"), planner.link_set("a", "alias", "y"),
           planner.link_set("b", "alias", "z")]
    assert [op.dev for op in planner.order(ops)] == ["c", "a", "b"]


def test_depths_follow_parent_chain_and_stop_on_cycles():
    interfaces = {"eth0": {}, "v": {"parent": "eth0"}, "m": {"parent": "v"},
                  "x": {"parent": "y"}, "y": {"parent": "x"}, "z": {"parent": "missing"}}
    depth = planner.depths(interfaces)
    assert depth["eth0"] == 0 and depth["v"] == 1 and depth["m"] == 2 and depth["z"] == 0
    assert depth["x"] < 3 and depth["y"] < 3
