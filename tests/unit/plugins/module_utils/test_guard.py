# -*- coding: utf-8 -*-
"""The management guard: each static rule (table-driven, on planner ops and a Session), how
each setter reaches it (interfaces, addresses, sysctls through resource.Runner), and the
dynamic route check inside the transaction (restore, force)."""

import pytest

from ansible_collections.hostnet.netif.plugins.module_utils import address_ops as addr_mod
from ansible_collections.hostnet.netif.plugins.module_utils import guard, model, planner, resource
from ansible_collections.hostnet.netif.plugins.module_utils import sysctls, transaction
from ansible_collections.hostnet.netif.plugins.module_utils.addresses import AddressesResource
from ansible_collections.hostnet.netif.plugins.module_utils.errors import NetifError
from ansible_collections.hostnet.netif.plugins.module_utils.interfaces import InterfacesResource

from netif_fakeip import FakeIp, NoSysfs
from netif_testlib import FakeHost

make = FakeIp.make_link
CLIENT, SERVER = "198.18.0.1", "198.18.0.10"
SSH = "%s 50000 %s 22" % (CLIENT, SERVER)
V6_CLIENT, V6_SERVER = "::198.18.0.1", "::198.18.0.10"


def fact(address, prefixlen, scope="global"):
    return {"address": address, "prefixlen": prefixlen, "scope": scope,
            "family": "inet6" if ":" in address else "inet"}


def interfaces(server_dev="eth0", server_scope="global", v6=False):
    """Facts ``interfaces``: eth0 carries the session, br0 has eth1 as a port, gx0 is spare."""
    server = [fact(V6_SERVER if v6 else SERVER, 120 if v6 else 24, server_scope)]
    result = {
        "lo": {"kind": "loopback", "flags": ["loopback", "up"], "addresses": [
            fact("127.0.0.1", 8, "host")]},
        "eth0": {"kind": "ethernet", "flags": ["broadcast", "multicast", "up"], "addresses": []},
        "br0": {"kind": "bridge", "flags": ["up"], "addresses": []},
        "eth1": {"kind": "ethernet", "master": "br0", "flags": ["up"], "addresses": []},
        "gx0": {"kind": "veth", "flags": ["up"], "addresses": []},
    }
    result[server_dev]["addresses"] = server
    return result


def session(route_dev="eth0", gateway=None, v6=False, names=("eth0",)):
    return guard.Session(V6_CLIENT if v6 else CLIENT, V6_SERVER if v6 else SERVER, names,
                         [V6_SERVER if v6 else SERVER], route_dev=route_dev,
                         route_src=V6_SERVER if v6 else SERVER, gateway=gateway)


def add(dev, cidr, **extra):
    entry = addr_mod.desired_entry(dict(extra, address=cidr), dev, "config[0].addresses[0]")
    return addr_mod.address_line("add", dev, entry)


def sysctl(family, dev, key, value):
    return planner.SysctlOp(family, dev, key, value, field="%s.%s" % (family, key))


def conf_of(values):
    """conf(family, name, key) over {(name, key): value}; absent keys read 0."""
    return lambda family, name, key: values.get((name, key), 0)


# (id, ops, session kwargs, interfaces kwargs, current sysctls, expected words or None)
STATIC = [
    # interfaces
    ("arp-off-route-dev", [planner.link_set("eth0", "arp", False)], {}, {}, {},
     "turn ARP off on eth0"),
    ("arp-off-bridge-port-ok", [planner.link_set("eth1", "arp", False)],
     {"route_dev": "br0", "names": ("br0", "eth1")}, {"server_dev": "br0"}, {}, None),
    ("arp-on-ok", [planner.link_set("eth0", "arp", True)], {}, {}, {}, None),
    ("mtu-68", [planner.link_set("eth0", "mtu", 68, current_mtu=1500)], {}, {}, {},
     "set the MTU of eth0 to 68, below 576"),
    ("mtu-575", [planner.link_set("eth0", "mtu", 575, current_mtu=1500)], {}, {}, {}, "below 576"),
    ("mtu-576-ok", [planner.link_set("eth0", "mtu", 576, current_mtu=1500)], {}, {}, {}, None),
    ("mtu-lower-device", [planner.link_set("eth1", "mtu", 300, current_mtu=1500)],
     {"route_dev": "br0", "names": ("br0", "eth1")}, {"server_dev": "br0"}, {}, "MTU of eth1"),
    ("mtu-other-ok", [planner.link_set("gx0", "mtu", 68, current_mtu=1500)], {}, {}, {}, None),
    ("mtu-v6-1279", [planner.link_set("eth0", "mtu", 1279, current_mtu=1500)], {"v6": True},
     {"v6": True}, {}, "below 1280, the least an IPv6 path"),
    ("mtu-v6-1280-ok", [planner.link_set("eth0", "mtu", 1280, current_mtu=1500)], {"v6": True},
     {"v6": True}, {}, None),
    # addresses
    ("finite-valid-lft", [add("eth0", SERVER + "/24", valid_lft=300)], {}, {}, {},
     "finite valid_lft (300 s)"),
    ("finite-preferred-only-ok", [add("eth0", SERVER + "/24", preferred_lft=0)], {}, {}, {},
     None),
    ("finite-lft-other-address-ok", [add("eth0", "198.18.0.20/24", valid_lft=300)], {}, {}, {},
     None),
    ("controller-32-elsewhere", [add("gx0", CLIENT + "/32")], {}, {}, {},
     "controller's own address 198.18.0.1 on gx0"),
    ("controller-on-session-dev", [add("eth0", CLIENT + "/24")], {}, {}, {},
     "controller's own address"),
    ("controller-as-peer", [add("gx0", "198.18.0.50/32", peer=CLIENT)], {}, {}, {},
     "controller's own address"),
    ("more-specific-elsewhere", [add("gx0", "198.18.0.5/25")], {}, {}, {},
     "198.18.0.0/25 is more specific than the /24"),
    ("equal-prefix-elsewhere-ok", [add("gx0", "198.18.0.5/24")], {}, {}, {}, None),
    ("less-specific-elsewhere-ok", [add("gx0", "198.18.0.5/16")], {}, {}, {}, None),
    ("more-specific-noprefixroute-ok", [add("gx0", "198.18.0.5/25", noprefixroute=True)],
     {}, {}, {}, None),
    ("more-specific-not-containing-ok", [add("gx0", "198.18.0.200/25")], {}, {}, {}, None),
    ("more-specific-on-route-dev-left-to-dynamic", [add("eth0", "198.18.0.20/25")], {}, {}, {},
     None),
    ("any-prefix-beats-a-gateway", [add("gx0", "198.18.0.5/16")], {"gateway": "198.18.9.1"},
     {}, {}, "more specific than the /0"),
    # sysctls: arp_ignore, effective max(all, dev)
    ("arp-ignore-8-dev", [sysctl("ipv4", "eth0", "arp_ignore", 8)], {}, {}, {},
     "effective arp_ignore max(all, eth0) = 8: the host would answer no ARP"),
    ("arp-ignore-8-all", [sysctl("ipv4", "all", "arp_ignore", 8)], {}, {}, {},
     "set arp_ignore all=8"),
    ("arp-ignore-8-other-dev-ok", [sysctl("ipv4", "gx0", "arp_ignore", 8)], {}, {}, {}, None),
    ("arp-ignore-8-default-ok", [sysctl("ipv4", "default", "arp_ignore", 8)], {}, {}, {}, None),
    ("arp-ignore-lowered-dev-but-all-8", [sysctl("ipv4", "eth0", "arp_ignore", 0)], {}, {},
     {("all", "arp_ignore"): 8}, None),
    ("arp-ignore-dev-8-while-all-8-ok", [sysctl("ipv4", "eth0", "arp_ignore", 8)], {}, {},
     {("all", "arp_ignore"): 8}, None),
    ("arp-ignore-reserved-5-ok", [sysctl("ipv4", "all", "arp_ignore", 5)], {}, {}, {}, None),
    ("arp-ignore-1-server-on-dev-ok", [sysctl("ipv4", "all", "arp_ignore", 1)], {}, {}, {},
     None),
    ("arp-ignore-1-server-elsewhere", [sysctl("ipv4", "all", "arp_ignore", 1)], {},
     {"server_dev": "lo"}, {}, "198.18.0.10 is not on eth0"),
    ("arp-ignore-2-client-in-subnet-ok", [sysctl("ipv4", "eth0", "arp_ignore", 2)], {}, {}, {},
     None),
    ("arp-ignore-2-gateway-outside", [sysctl("ipv4", "eth0", "arp_ignore", 2)],
     {"gateway": "198.18.9.1"}, {}, {}, "requester 198.18.9.1 is outside the subnet"),
    ("arp-ignore-3-global-ok", [sysctl("ipv4", "eth0", "arp_ignore", 3)], {}, {}, {}, None),
    ("arp-ignore-3-scope-host", [sysctl("ipv4", "eth0", "arp_ignore", 3)], {},
     {"server_scope": "host"}, {}, "scope host"),
    ("arp-ignore-v6-session-ok", [sysctl("ipv4", "eth0", "arp_ignore", 8)], {"v6": True},
     {"v6": True}, {}, None),
    ("arp-filter-ok", [sysctl("ipv4", "all", "arp_filter", 1)], {}, {}, {}, None),
    ("arp-announce-ok", [sysctl("ipv4", "all", "arp_announce", 2)], {}, {}, {}, None),
    # sysctls: disable_ipv6
    ("disable-ipv6-v6-dev", [sysctl("ipv6", "eth0", "disable_ipv6", 1)], {"v6": True},
     {"v6": True}, {}, "disable IPv6 on eth0"),
    ("disable-ipv6-v6-all", [sysctl("ipv6", "all", "disable_ipv6", 1)], {"v6": True},
     {"v6": True}, {}, "disable IPv6 on all"),
    ("disable-ipv6-v6-default-ok", [sysctl("ipv6", "default", "disable_ipv6", 1)], {"v6": True},
     {"v6": True}, {}, None),
    ("disable-ipv6-v4-session-ok", [sysctl("ipv6", "all", "disable_ipv6", 1)], {}, {}, {},
     None),
    ("hop-limit-1-routed-v6", [sysctl("ipv6", "eth0", "hop_limit", 1)],
     {"v6": True, "gateway": "::198.18.9.1"}, {"v6": True}, {}, "set hop_limit 1 on eth0"),
    ("hop-limit-1-on-link-ok", [sysctl("ipv6", "eth0", "hop_limit", 1)], {"v6": True},
     {"v6": True}, {}, None),
    ("hop-limit-2-routed-ok", [sysctl("ipv6", "eth0", "hop_limit", 2)],
     {"v6": True, "gateway": "::198.18.9.1"}, {"v6": True}, {}, None),
]


@pytest.mark.parametrize("ops, session_kw, ifaces_kw, current, expected",
                         [c[1:] for c in STATIC], ids=[c[0] for c in STATIC])
def test_static_rules(ops, session_kw, ifaces_kw, current, expected):
    reasons = guard.violations(ops, session(**session_kw), interfaces(**ifaces_kw),
                               conf_of(current))
    if expected is None:
        assert reasons == []
    else:
        assert any(expected in reason for reason in reasons), reasons
        with pytest.raises(guard.GuardError) as info:
            guard.check(ops, session(**session_kw), interfaces(**ifaces_kw), False,
                        conf_of(current))
        text = str(info.value)
        assert "would cut the Ansible SSH session" in text and "force: true" in text
        guard.check(ops, session(**session_kw), interfaces(**ifaces_kw), True, conf_of(current))


def test_no_session_no_reasons():
    assert guard.violations([planner.link_set("eth0", "arp", False)], None, interfaces()) == []


def test_find_session_records_the_route():
    fake = FakeIp([make("eth0", up=True)], routes={CLIENT: {
        "dst": CLIENT, "dev": "eth0", "prefsrc": SERVER, "gateway": "198.18.0.254"}})
    host = transaction.Host(fake.run, FakeIp.IP, environ={"SSH_CONNECTION": SSH},
                            files=NoSysfs())
    found = guard.find_session(host, {"eth0": {"addresses": []}})
    assert (found.route_dev, found.route_src, found.gateway, found.version) == \
        ("eth0", SERVER, "198.18.0.254", 4)
    assert found.route_problem(host) is None
    fake.routes[CLIENT] = {"dst": CLIENT, "dev": "gx0", "prefsrc": "198.18.0.5"}
    assert found.route_problem(host) == ("the route to the controller 198.18.0.1 changed: "
                                         "device eth0 -> gx0, source 198.18.0.10 -> 198.18.0.5")
    del fake.routes[CLIENT]
    assert "device eth0 -> none (unreachable)" in found.route_problem(host)


def test_find_session_matches_ipv6_addresses_in_any_spelling():
    """sshd and ``ip`` write an IPv4-compatible address ``::198.18.0.200``, Python
    ``::c612:c8``: the interface holding the server address is found all the same (before,
    a text comparison missed it and ``disable_ipv6`` on it cut the session, lab-proven in
    tests/integration/test_guard_ipv6.py), and the address rules see every spelling."""
    server = "::198.18.0.200"
    fake = FakeIp([make("eth0", up=True), make("gx0", up=True)], routes={V6_CLIENT: {
        "dst": V6_CLIENT, "dev": "eth0", "prefsrc": V6_SERVER, "gateway": "::198.18.0.254"}})
    host = transaction.Host(fake.run, FakeIp.IP, files=NoSysfs(), environ={
        "SSH_CONNECTION": "%s 50000 %s 22" % (V6_CLIENT, server)})
    facts = {"eth0": {"addresses": [fact(V6_SERVER, 120)]},
             "gx0": {"addresses": [fact(server, 128)]}}
    found = guard.find_session(host, facts)
    assert (found.client, found.server, found.version) == (V6_CLIENT, server, 6)
    assert found.interfaces == {"eth0", "gx0"}
    reasons = guard.violations([sysctl("ipv6", "gx0", "disable_ipv6", 1)], found, facts)
    assert reasons == ["disable IPv6 on gx0: the kernel removes its IPv6 addresses and "
                       "routes, ::198.18.0.200 included"]
    assert found.holds("::c612:c8/128") and found.holds("::C612:A") and found.is_client("::c612:1")
    ops = [planner.address_op(False, "gx0", "::c612:c8/128"),
           planner.address_op(True, "gx0", "::c612:1/128")]
    reasons = guard.violations(ops, found, facts)
    assert len(reasons) == 2 and reasons[0] == "remove ::c612:c8/128 from gx0", reasons
    assert reasons[1].startswith("add the controller's own address ::198.18.0.1 on gx0"), reasons


def test_find_session_spells_an_odd_route_device_as_the_facts_do():
    """A session interface with a name the facts escape (U+2028) is protected under that
    spelling, and the route check after a batch sees no change."""
    odd = "e\u2028x"
    fake = FakeIp([make(odd, up=True)], routes={CLIENT: {"dst": CLIENT, "dev": odd,
                                                         "prefsrc": SERVER}})
    host = transaction.Host(fake.run, FakeIp.IP, environ={"SSH_CONNECTION": SSH},
                            files=NoSysfs())
    key = model.display_name(odd)
    assert key != odd
    found = guard.find_session(host, {key: {"addresses": []}})
    assert key in found.interfaces and found.route_dev == key
    assert found.route_problem(host) is None


# ---------------------------------------------------------------------------
# through the setters: every resource's plan reaches the guard via resource.Runner
# ---------------------------------------------------------------------------
class Rig:
    """A fake host with eth0 carrying the session, a spare veth pair gx0/gx1, and a fake
    /proc tree for the sysctls; ``route_after_batch`` is what ``ip route get`` gives once
    a batch ran (None: unchanged)."""

    def __init__(self, tmp_path):
        links = [make("lo", mtu=65536, flags=["LOOPBACK", "UP", "LOWER_UP"],
                      mac="00:00:00:00:00:00", link_type="loopback"),
                 make("eth0", up=True, addresses=[{
                     "family": "inet", "local": SERVER, "prefixlen": 24, "scope": "global",
                     "valid_life_time": 4294967295, "preferred_life_time": 4294967295}]),
                 make("gx0", "veth", parent="gx1", up=False),
                 make("gx1", "veth", parent="gx0", up=True)]
        self.fake = FakeIp(links, routes={CLIENT: {"dst": CLIENT, "dev": "eth0",
                                                   "prefsrc": SERVER}})
        self.route_after_batch = None
        self.tree = FakeHost(tmp_path / "root")
        for name in ("lo", "eth0", "gx0", "gx1", "all", "default"):
            if name not in ("all", "default"):
                self.tree.add_interface(name)
            self.tree.set_conf("ipv4", name, "arp_ignore", 0)
        self.host = transaction.Host(self.run_ip, FakeIp.IP, environ={"SSH_CONNECTION": SSH},
                                     sysctl=transaction.SysctlIO(self.tree.procfs),
                                     files=self.tree.files())
        self.lock_path = str(tmp_path / "lock")

    def run_ip(self, argv, data=None):
        result = self.fake.run(argv, data)
        if argv[1:] == ["-batch", "-"] and self.route_after_batch is not None:
            # the kernel's route to the controller follows what the batch left
            up = "UP" in self.fake.links["gx0"]["flags"]
            self.fake.routes[CLIENT] = self.route_after_batch if up else {
                "dst": CLIENT, "dev": "eth0", "prefsrc": SERVER}
        return result

    def run(self, resource_obj, config, state="merged", **kwargs):
        params = dict(state=state, config=config, running_config=None, scope=None,
                      force=False)
        params.update(kwargs)
        lock = transaction.HostLock(self.lock_path, timeout=5)
        return resource.Runner(resource_obj, params, host=self.host, lock=lock).run()

    def arp_ignore(self, name):
        return self.tree.files().conf_values("ipv4", name, ["arp_ignore"])["arp_ignore"]


@pytest.fixture
def rig(tmp_path):
    return Rig(tmp_path)


@pytest.mark.parametrize("make_resource, config, words", [
    (InterfacesResource, [{"name": "eth0", "arp": False}], "turn ARP off on eth0"),
    (InterfacesResource, [{"name": "eth0", "mtu": 68}], "MTU of eth0 to 68"),
    (AddressesResource, [{"name": "eth0", "addresses": [
        {"address": SERVER + "/24", "valid_lft": 600}]}], "finite valid_lft"),
    (AddressesResource, [{"name": "gx1", "addresses": [{"address": CLIENT + "/32"}]}],
     "controller's own address"),
    (AddressesResource, [{"name": "gx1", "addresses": [{"address": "198.18.0.5/25"}]}],
     "more specific than the /24"),
    (lambda: sysctls.SysctlsResource({"config": [{"name": "all", "ipv4": {"arp_ignore": 8}}]}),
     [{"name": "all", "ipv4": {"arp_ignore": 8}}], "arp_ignore all=8"),
])
def test_each_setter_reaches_the_static_rules(rig, make_resource, config, words):
    with pytest.raises(guard.GuardError) as info:
        rig.run(make_resource(), config)
    assert words in str(info.value) and "force: true" in str(info.value)
    assert rig.fake.batches == [] and rig.arp_ignore("all") == 0
    # check mode is judged the same way
    with pytest.raises(guard.GuardError):
        resource.Runner(make_resource(), dict(state="merged", config=config, force=False),
                        host=rig.host, check_mode=True).run()


def test_sysctl_arp_ignore_effective_value_counts_the_other_side(rig):
    rig.tree.set_conf("ipv4", "all", "arp_ignore", 8)
    res = sysctls.SysctlsResource({"config": [{"name": "eth0", "ipv4": {"arp_ignore": 1}}]})
    # all=8 already silences ARP (the session would not exist): lowering eth0 is no new cut
    assert rig.run(res, [{"name": "eth0", "ipv4": {"arp_ignore": 1}}])["changed"] is True
    rig.tree.set_conf("ipv4", "all", "arp_ignore", 0)
    res = sysctls.SysctlsResource({"config": [{"name": "eth0", "ipv4": {"arp_ignore": 8}}]})
    with pytest.raises(guard.GuardError):
        rig.run(res, [{"name": "eth0", "ipv4": {"arp_ignore": 8}}])
    assert rig.arp_ignore("eth0") == 1


def test_dynamic_check_restores_a_change_the_static_rules_let_through(rig):
    # gx0 holds a more specific prefix while down; bringing it up moves the route
    rig.fake.links["gx0"]["addr_info"] = [{
        "family": "inet", "local": "198.18.0.5", "prefixlen": 25, "scope": "global",
        "valid_life_time": 4294967295, "preferred_life_time": 4294967295}]
    rig.route_after_batch = {"dst": CLIENT, "dev": "gx0", "prefsrc": "198.18.0.5"}
    with pytest.raises(transaction.TransactionError) as info:
        rig.run(InterfacesResource(), [{"name": "gx0", "enabled": True}])
    text = str(info.value)
    assert "device eth0 -> gx0, source 198.18.0.10 -> 198.18.0.5" in text
    assert "force: true" in text and "restored" in text
    assert isinstance(info.value.cause, guard.GuardError)
    assert rig.fake.batches == ["link set dev gx0 up\n", "link set dev gx0 down\n"]
    assert "UP" not in rig.fake.links["gx0"]["flags"]
    assert rig.fake.routes[CLIENT]["dev"] == "eth0"


def test_force_keeps_the_route_change_and_warns(rig):
    rig.route_after_batch = {"dst": CLIENT, "dev": "gx0", "prefsrc": "198.18.0.5"}
    result = rig.run(InterfacesResource(), [{"name": "gx0", "enabled": True}], force=True)
    assert result["changed"] is True and "UP" in rig.fake.links["gx0"]["flags"]
    assert any("force: true kept a change of the management path" in w and "eth0 -> gx0" in w
               for w in result["warnings"])


def test_dynamic_check_passes_when_the_route_stays(rig):
    result = rig.run(InterfacesResource(), [{"name": "gx0", "enabled": True}])
    assert result["changed"] is True and not result.get("warnings")


def test_transaction_runs_the_hook_after_the_batch_and_sysctl_writes(rig):
    seen = []

    def hook():
        seen.append((len(rig.fake.batches), rig.arp_ignore("gx0")))

    op = sysctl("ipv4", "gx0", "arp_ignore", 2)
    lock = transaction.HostLock(rig.lock_path, timeout=5)
    with transaction.Transaction(rig.host, sysctl_keys=["ipv4.arp_ignore"], lock=lock) as txn:
        txn.read()
        txn.apply([planner.link_set("gx0", "enabled", True), op], lambda facts: [],
                  check_after_batch=hook)
    assert seen == [(1, 2)]


def test_force_tolerates_a_session_whose_route_cannot_be_found(rig):
    del rig.fake.routes[CLIENT]
    with pytest.raises(NetifError) as info:  # unforced: no guard, no change
        rig.run(InterfacesResource(), [{"name": "gx0", "enabled": True}])
    assert "route get" in str(info.value) and rig.fake.batches == []
    result = rig.run(InterfacesResource(), [{"name": "gx0", "enabled": True}], force=True)
    assert result["changed"] is True


def test_mtu_lowered_names_session_interfaces_whose_mtu_goes_down():
    """Lowering the session interface's MTU makes the action plugin reset the connection;
    raising it, or lowering another interface's, does not."""
    found = guard.Session(CLIENT, SERVER, {"eth0"}, {SERVER})
    facts = {"eth0": {"mtu": 1500}, "gx0": {"mtu": 1500}}
    assert guard.mtu_lowered([planner.link_set("eth0", "mtu", 576)], found, facts) == ["eth0"]
    assert guard.mtu_lowered([planner.link_set("eth0", "mtu", 9000)], found, facts) == []
    assert guard.mtu_lowered([planner.link_set("gx0", "mtu", 576)], found, facts) == []
    assert guard.mtu_lowered([planner.link_set("eth0", "mtu", 576)], None, facts) == []
