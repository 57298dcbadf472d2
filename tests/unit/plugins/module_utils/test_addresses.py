# -*- coding: utf-8 -*-
"""addresses resource: normalisation, state semantics (table-driven), ordering, guard and
rollback, on a fake kernel that keeps the address rules the real one has (measured on
Linux 6.18 in a network namespace: see the comments of AddrKernel)."""

import copy
import ipaddress

import pytest

from ansible_collections.hostnet.netif.plugins.module_utils import address_ops as addr_mod
from ansible_collections.hostnet.netif.plugins.module_utils import guard, resource, transaction
from ansible_collections.hostnet.netif.plugins.module_utils.addresses import (
    CONFIG_OPTIONS,
    AddressesResource,
)
from ansible_collections.hostnet.netif.plugins.module_utils.errors import InputError

from netif_fakeip import FakeIp, KernelRefusal, NoSysfs

make = FakeIp.make_link
FOREVER = 4294967295
SSH = "198.18.0.1 50000 198.18.0.10 22"


class AddrKernel(FakeIp):
    """FakeIp with the kernel's address rules.

    * IPv4 identity is (local, prefixlen), IPv6 identity the address ("address already
      assigned" for a second prefix length);
    * a second IPv4 address in a primary's subnet is ``secondary``; deleting the primary
      deletes those secondaries too (promote_secondaries off);
    * ``replace`` changes lifetimes (IPv4) or lifetimes and nodad/noprefixroute (IPv6) only;
    * deleting a peer address needs the peer; IPv6 on a link with disable_ipv6 is refused.
    """

    def _address(self, verb, rest):
        cidr = rest[0]
        opts, flags, i = {}, set(), 1
        while i < len(rest):
            if rest[i] in ("noprefixroute", "nodad"):
                flags.add(rest[i])
                i += 1
                continue
            opts[rest[i]] = rest[i + 1]
            i += 2
        link = self._get(opts["dev"])
        iface = ipaddress.ip_interface(cidr)
        v6 = iface.version == 6
        infos = link["addr_info"]

        def same(info):
            if info["family"] != ("inet6" if v6 else "inet"):
                return False
            if ipaddress.ip_address(info["local"]) != iface.ip:
                return False
            return v6 or info["prefixlen"] == iface.network.prefixlen

        match = [a for a in infos if same(a)]
        if verb == "del":
            if not match or (v6 and match[0]["prefixlen"] != iface.network.prefixlen):
                raise KernelRefusal("RTNETLINK answers: Cannot assign requested address")
            if match[0].get("address") and opts.get("peer") != match[0]["address"]:
                raise KernelRefusal("Error: ipv4: Address not found.")
            doomed = [match[0]]
            if not v6 and not match[0].get("secondary"):
                doomed += [a for a in infos if a.get("secondary") and a["family"] == "inet"
                           and a["prefixlen"] == iface.network.prefixlen
                           and ipaddress.ip_interface("%s/%d" % (a["local"], a["prefixlen"]))
                           .network == iface.network]
            link["addr_info"] = [a for a in infos if not any(a is d for d in doomed)]
            return
        if v6 and link.get("_disable_ipv6"):
            raise KernelRefusal("Error: ipv6: IPv6 is disabled on this device.")
        valid = int(opts.get("valid_lft", FOREVER)) if opts.get("valid_lft") != "forever" else FOREVER
        preferred = (int(opts.get("preferred_lft", FOREVER))
                     if opts.get("preferred_lft") != "forever" else FOREVER)
        if match and verb == "replace":
            info = match[0]
            info["valid_life_time"], info["preferred_life_time"] = valid, preferred
            info.pop("dynamic", None)
            if valid != FOREVER:
                info["dynamic"] = True
            if v6:
                for flag in ("noprefixroute", "nodad"):
                    info.pop(flag, None)
                    if flag in flags:
                        info[flag] = True
            return
        if match:
            raise KernelRefusal("Error: ipv6: address already assigned." if v6 else
                                "RTNETLINK answers: File exists")
        if v6 and any(a["family"] == "inet6" and ipaddress.ip_address(a["local"]) == iface.ip
                      for a in infos):
            raise KernelRefusal("Error: ipv6: address already assigned.")
        # iproute2 prints IPv4-mapped IPv6 with a dotted tail (inet_ntop)
        info = {"family": "inet6" if v6 else "inet", "local": addr_mod.ip_text(iface.ip),
                "prefixlen": iface.network.prefixlen}
        if "peer" in opts:
            info["address"] = opts["peer"]
        if "broadcast" in opts:
            info["broadcast"] = opts["broadcast"]
        info["scope"] = "global" if v6 else opts.get("scope", "global")
        if not v6 and any(a["family"] == "inet" and not a.get("secondary")
                          and a["prefixlen"] == iface.network.prefixlen
                          and ipaddress.ip_interface("%s/%d" % (a["local"], a["prefixlen"]))
                          .network == iface.network for a in infos):
            info["secondary"] = True
        if valid != FOREVER:
            info["dynamic"] = True
        for flag in flags:
            if v6 or flag == "noprefixroute":
                info[flag] = True
        if not v6:
            info["label"] = opts.get("label", opts["dev"])
        info["valid_life_time"], info["preferred_life_time"] = valid, preferred
        infos.append(info)


def v4(local, prefixlen=24, **extra):
    info = {"family": "inet", "local": local, "prefixlen": prefixlen, "scope": "global",
            "label": extra.pop("label", None), "valid_life_time": FOREVER,
            "preferred_life_time": FOREVER}
    info.update(extra)
    if info["label"] is None:
        info.pop("label")
    return info


def v6(local, prefixlen=64, scope="global", **extra):
    info = {"family": "inet6", "local": local, "prefixlen": prefixlen, "scope": scope,
            "valid_life_time": FOREVER, "preferred_life_time": FOREVER}
    info.update(extra)
    return info


def links():
    return [
        make("lo", mtu=65536, flags=["LOOPBACK", "UP", "LOWER_UP"], mac="00:00:00:00:00:00",
             link_type="loopback", addresses=[v4("127.0.0.1", 8, scope="host", label="lo"),
                                              v6("::1", 128, scope="host")]),
        make("eth0", up=True, addresses=[v4("198.18.0.10", label="eth0"),
                                         v6("fe80::1", scope="link")]),
        make("eth1", up=True, addresses=[
            v4("198.18.1.1", label="eth1"), v4("198.18.1.2", label="eth1:b", secondary=True),
            v4("198.18.2.1", label="eth1"),
            v6("::ffff:198.19.7.10", 120), v6("fe80::2", scope="link")]),
        make("eth2", up=True),
        make("eth3", up=True, addresses=[v4("198.18.3.1", label="eth3")]),
    ]


def params(state, config=(), **kwargs):
    result = dict(state=state, config=[dict((k, item.get(k)) for k in CONFIG_OPTIONS)
                                       for item in config],
                  running_config=None, scope=None, force=False)
    result.update(kwargs)
    return result


class Rig:
    def __init__(self, tmp_path, ssh=SSH):
        self.fake = AddrKernel(links(), routes={"198.18.0.1": {
            "dst": "198.18.0.1", "dev": "eth0", "prefsrc": "198.18.0.10"}})
        environ = {"SSH_CONNECTION": ssh} if ssh else {}
        self.host = transaction.Host(self.fake.run, FakeIp.IP, environ=environ, files=NoSysfs())
        self.lock_path = str(tmp_path / "lock")
        self.resource = None

    def run(self, state, config=(), check_mode=False, diff=False, **kwargs):
        lock = transaction.HostLock(self.lock_path, timeout=5)
        self.resource = AddressesResource()
        runner = resource.Runner(self.resource, params(state, config, **kwargs),
                                 host=self.host, check_mode=check_mode, diff=diff, lock=lock)
        return runner.run()

    def addresses(self, name):
        """What the fake kernel holds: {cidr text} (parsed, so spelling does not matter)."""
        return set("%s/%d" % (addr_mod.ip_text(ipaddress.ip_address(a["local"])), a["prefixlen"])
                   for a in self.fake.links[name]["addr_info"])

    def info(self, name, local):
        for item in self.fake.links[name]["addr_info"]:
            if item["local"] == local:
                return item
        return None


@pytest.fixture
def rig(tmp_path):
    return Rig(tmp_path)


ETH1 = {"198.18.1.1/24", "198.18.1.2/24", "198.18.2.1/24", "::ffff:198.19.7.10/120", "fe80::2/64"}


# ---------------------------------------------------------------------------
# normalisation: equal addresses never cause a change
# ---------------------------------------------------------------------------
SPELLINGS = [
    ("198.18.1.1/24", "198.18.1.1/255.255.255.0"),
    ("198.18.1.1/24", {"address": "198.18.1.1", "prefixlen": 24}),
    ("::ffff:198.19.7.10/120", "::FFFF:C613:070A/120"),
    ("::ffff:198.19.7.10/120", "0:0:0:0:0:ffff:c613:70a/120"),
    ("::ffff:198.19.7.10/120", {"address": "::ffff:198.19.7.10", "prefixlen": 120}),
]


@pytest.mark.parametrize("canonical, spelling", SPELLINGS)
def test_spellings_have_one_identity(canonical, spelling):
    a = addr_mod.desired_entry(canonical, "eth1", "x")
    b = addr_mod.desired_entry(spelling, "eth1", "x")
    assert a["_key"] == b["_key"]
    assert a["address"] == b["address"] == canonical


@pytest.mark.parametrize("spelling", [s for dummy, s in SPELLINGS])
def test_other_spellings_of_present_addresses_change_nothing(rig, spelling):
    before = copy.deepcopy(rig.fake.links)
    result = rig.run("merged", [{"name": "eth1", "addresses": [spelling]}])
    assert result["changed"] is False and result["commands"] == []
    assert rig.fake.links == before and rig.fake.batches == []


def test_ipv4_prefix_lengths_are_distinct_addresses(rig):
    result = rig.run("merged", [{"name": "eth1", "addresses": ["198.18.1.1/25"]}])
    assert result["commands"] == ["address add 198.18.1.1/25 dev eth1"]
    assert "198.18.1.1/24" in rig.addresses("eth1") and "198.18.1.1/25" in rig.addresses("eth1")


def test_ipv6_new_prefix_length_replaces_the_address(rig):
    result = rig.run("merged", [{"name": "eth1", "addresses": ["::ffff:198.19.7.10/121"]}])
    assert result["commands"] == ["address del ::ffff:198.19.7.10/120 dev eth1",
                                  "address add ::ffff:198.19.7.10/121 dev eth1"]
    assert "::ffff:198.19.7.10/121" in rig.addresses("eth1")
    assert "::ffff:198.19.7.10/120" not in rig.addresses("eth1")


@pytest.mark.parametrize("raw, path, words", [
    ("198.18.1.1", "x", "no prefix length"),
    ("198.18.1.1/33", "x", "0..32"),
    ("198.18.1.1/255.0.255.0", "x", "not contiguous"),
    ("198.18.1.1/0.0.0.255", "x", "not contiguous"),
    ("198.18.1.1/24; reboot", "x", "prefix length or netmask"),
    ("$(reboot)/24", "x", "expected address/prefixlen"),
    ({"address": "198.18.1.1"}, "x.address", "no prefix length"),
    ({"address": "198.18.1.1/24", "prefixlen": 25}, "x.prefixlen", "disagrees"),
    ({"address": "::1/128", "broadcast": "::2"}, "x.broadcast", "IPv6"),
    ({"address": "::1/128", "label": "eth1"}, "x.label", "IPv4"),
    ({"address": "::1/128", "scope": "host"}, "x.scope", "derives"),
    ({"address": "198.18.1.1/24", "nodad": True}, "x.nodad", "IPv6"),
    ({"address": "198.18.1.1/24", "label": "eth2:x"}, "x.label", "start with eth1:"),
    ({"address": "198.18.1.1/24", "label": "eth1:a b"}, "x.label", "whitespace"),
    ({"address": "198.18.1.1/24", "label": "eth1:01234567890"}, "x.label", "15 bytes"),
    ({"address": "198.18.1.1/24", "scope": "moon"}, "x.scope", "one of"),
    ({"address": "198.18.1.1/24", "peer": "::1"}, "x.peer", "IPv6"),
    ({"address": "198.18.1.1/32", "broadcast": "+"}, "x.broadcast", "no broadcast"),
    ({"address": "198.18.1.1/24", "valid_lft": 0}, "x.valid_lft", "between 1"),
    ({"address": "198.18.1.1/24", "valid_lft": 4294967295}, "x.valid_lft", "between 1"),
    ({"address": "198.18.1.1/24", "valid_lft": "1h"}, "x.valid_lft", "forever"),
    ({"address": "198.18.1.1/24", "valid_lft": 10, "preferred_lft": 20}, "x.preferred_lft",
     "must not exceed"),
    ({"address": "198.18.1.1/24", "valid_lft": 10, "preferred_lft": "forever"},
     "x.preferred_lft", "must not exceed"),
    ({"address": "198.18.1.1/24", "colour": "red"}, "x.colour", "no such option"),
    (["198.18.1.1/24"], "x", "expected an address"),
])
def test_entry_errors_name_the_field(raw, path, words):
    with pytest.raises(InputError) as info:
        addr_mod.desired_entry(raw, "eth1", "x")
    assert info.value.path == path
    assert words in str(info.value)


def test_entry_defaults_and_broadcast_plus():
    entry = addr_mod.desired_entry({"address": "198.18.1.1/24", "broadcast": "+",
                                    "valid_lft": 60}, "eth1", "x")
    assert entry["broadcast"] == "198.18.1.255"
    assert entry["valid_lft"] == entry["preferred_lft"] == 60  # ip would refuse forever > 60
    assert "label" not in entry and "scope" not in entry


# ---------------------------------------------------------------------------
# state semantics, table-driven: (state, config, scope) -> what eth1 holds afterwards
# ---------------------------------------------------------------------------
STATES = [
    ("merged adds missing, keeps others", "merged",
     [{"name": "eth1", "addresses": ["198.18.9.1/24"]}], None,
     {"eth1": ETH1 | {"198.18.9.1/24"}}),
    ("merged with nothing missing", "merged",
     [{"name": "eth1", "addresses": ["198.18.2.1/24"]}], None, {"eth1": ETH1}),
    ("replaced: exactly the list, link-local stays", "replaced",
     [{"name": "eth1", "addresses": ["198.18.2.1/24", "198.18.9.1/24"]}], None,
     {"eth1": {"198.18.2.1/24", "198.18.9.1/24", "fe80::2/64"}}),
    ("replaced with an empty list", "replaced", [{"name": "eth1", "addresses": []}], None,
     {"eth1": {"fe80::2/64"}}),
    ("replaced may list link-local", "replaced",
     [{"name": "eth1", "addresses": ["fe80::2/64"]}], None, {"eth1": {"fe80::2/64"}}),
    ("replaced touches only listed interfaces", "replaced",
     [{"name": "eth2", "addresses": ["198.18.4.1/24"]}], None,
     {"eth1": ETH1, "eth2": {"198.18.4.1/24"}, "eth3": {"198.18.3.1/24"}}),
    ("overridden: unlisted in scope lose all but kernel-made", "overridden",
     [{"name": "eth2", "addresses": ["198.18.4.1/24"]}], ["eth[123]"],
     {"eth1": {"fe80::2/64"}, "eth2": {"198.18.4.1/24"}, "eth3": set(),
      "eth0": {"198.18.0.10/24", "fe80::1/64"}}),
    ("deleted listed (absent ones are fine)", "deleted",
     [{"name": "eth1", "addresses": ["198.18.2.1/24", "198.18.77.1/24",
                                     "::FFFF:198.19.7.10/120"]}], None,
     {"eth1": {"198.18.1.1/24", "198.18.1.2/24", "fe80::2/64"}}),
    ("deleted listed link-local", "deleted",
     [{"name": "eth1", "addresses": ["fe80::2/64"]}], None, {"eth1": ETH1 - {"fe80::2/64"}}),
    ("deleted without addresses: all but link-local", "deleted",
     [{"name": "eth1"}], None, {"eth1": {"fe80::2/64"}, "eth3": {"198.18.3.1/24"}}),
    ("deleted without config: the scope", "deleted", [], ["eth[13]"],
     {"eth1": {"fe80::2/64"}, "eth3": set(), "eth0": {"198.18.0.10/24", "fe80::1/64"}}),
    ("loopback's own addresses are kernel-made", "deleted", [], ["lo"],
     {"lo": {"127.0.0.1/8", "::1/128"}}),
]


@pytest.mark.parametrize("label, state, config, scope, expected", STATES,
                         ids=[s[0] for s in STATES])
def test_state_semantics(rig, label, state, config, scope, expected):
    result = rig.run(state, config, scope=scope)
    for name, wanted in expected.items():
        assert rig.addresses(name) == wanted, name
    assert result["changed"] == bool(result["commands"])
    # idempotent: the same task again changes nothing
    again = rig.run(state, config, scope=scope)
    assert again["changed"] is False and again["commands"] == []


@pytest.mark.parametrize("label, state, config, scope, expected", STATES,
                         ids=[s[0] for s in STATES])
def test_check_mode_changes_nothing_and_predicts(rig, label, state, config, scope, expected):
    before = copy.deepcopy(rig.fake.links)
    result = rig.run(state, config, scope=scope, check_mode=True, diff=True)
    assert rig.fake.links == before and rig.fake.batches == []
    if result["changed"]:
        predicted = dict((item["name"], set(e["address"] for e in item["addresses"]))
                         for item in result["after"])
        for name, wanted in expected.items():
            if name in predicted:
                assert predicted[name] == wanted, name
        assert result["diff"]["before"] != result["diff"]["after"]


def test_secondary_kept_when_its_primary_goes(rig):
    result = rig.run("replaced", [{"name": "eth1", "addresses": [
        {"address": "198.18.1.2/24", "label": "eth1:b"}]}])
    # the kernel takes the secondary along with its primary; the plan puts it back
    assert result["commands"] == [
        "address del 198.18.1.1/24 dev eth1",
        "address del 198.18.2.1/24 dev eth1",
        "address del ::ffff:198.19.7.10/120 dev eth1",
        "address replace 198.18.1.2/24 dev eth1 label eth1:b",
    ]
    assert rig.addresses("eth1") == {"198.18.1.2/24", "fe80::2/64"}
    assert rig.info("eth1", "198.18.1.2")["label"] == "eth1:b"


def test_secondaries_deleted_before_their_primary(rig):
    result = rig.run("deleted", [{"name": "eth1", "addresses": ["198.18.1.1/24",
                                                                "198.18.1.2/24"]}])
    assert result["commands"] == ["address del 198.18.1.2/24 dev eth1",
                                  "address del 198.18.1.1/24 dev eth1"]
    assert rig.addresses("eth1") == ETH1 - {"198.18.1.1/24", "198.18.1.2/24"}


# ---------------------------------------------------------------------------
# attributes: only what is given is compared; in place or delete + add
# ---------------------------------------------------------------------------
def test_label_change_recreates_and_keeps_other_attributes(rig):
    rig.fake.links["eth3"]["addr_info"][0]["broadcast"] = "198.18.3.255"
    result = rig.run("merged", [{"name": "eth3", "addresses": [
        {"address": "198.18.3.1/24", "label": "eth3:web"}]}])
    assert result["commands"] == [
        "address del 198.18.3.1/24 dev eth3",
        "address add 198.18.3.1/24 broadcast 198.18.3.255 dev eth3 label eth3:web"]
    assert rig.info("eth3", "198.18.3.1")["label"] == "eth3:web"
    assert rig.info("eth3", "198.18.3.1")["broadcast"] == "198.18.3.255"


def test_lifetimes_change_in_place_and_compare_by_class(rig):
    task = [{"name": "eth3", "addresses": [{"address": "198.18.3.1/24", "valid_lft": 600,
                                            "preferred_lft": 300}]}]
    result = rig.run("merged", task)
    assert result["commands"] == [
        "address replace 198.18.3.1/24 dev eth3 valid_lft 600 preferred_lft 300"]
    # a kernel counting down is still "finite": no refresh, no change
    rig.info("eth3", "198.18.3.1").update(valid_life_time=598, preferred_life_time=298)
    assert rig.run("merged", task)["changed"] is False
    # forever again is a change; 0 (deprecated) is a class of its own
    back = rig.run("merged", [{"name": "eth3", "addresses": [
        {"address": "198.18.3.1/24", "valid_lft": "forever"}]}])
    assert back["commands"] == ["address replace 198.18.3.1/24 dev eth3"]
    deprecate = rig.run("merged", [{"name": "eth3", "addresses": [
        {"address": "198.18.3.1/24", "preferred_lft": 0}]}])
    assert deprecate["commands"] == [
        "address replace 198.18.3.1/24 dev eth3 valid_lft forever preferred_lft 0"]


def test_ipv6_flags_in_place_ipv4_noprefixroute_recreates(rig):
    six = rig.run("merged", [{"name": "eth1", "addresses": [
        {"address": "::ffff:198.19.7.10/120", "nodad": True, "noprefixroute": True}]}])
    assert six["commands"] == [
        "address replace ::ffff:198.19.7.10/120 dev eth1 noprefixroute nodad"]
    four = rig.run("merged", [{"name": "eth3", "addresses": [
        {"address": "198.18.3.1/24", "noprefixroute": True}]}])
    assert four["commands"] == ["address del 198.18.3.1/24 dev eth3",
                                "address add 198.18.3.1/24 dev eth3 noprefixroute"]
    assert rig.run("merged", [{"name": "eth3", "addresses": [
        {"address": "198.18.3.1/24", "noprefixroute": True}]}])["changed"] is False


def test_peer_addresses_add_and_delete(rig):
    entry = {"address": "198.18.5.1/32", "peer": "198.18.5.2"}
    result = rig.run("merged", [{"name": "eth2", "addresses": [entry]}])
    assert result["commands"] == ["address add 198.18.5.1/32 peer 198.18.5.2 dev eth2"]
    assert rig.run("merged", [{"name": "eth2", "addresses": [entry]}])["changed"] is False
    gone = rig.run("deleted", [{"name": "eth2"}])
    assert gone["commands"] == ["address del 198.18.5.1/32 peer 198.18.5.2 dev eth2"]
    assert rig.addresses("eth2") == set()


def test_unlisted_attributes_are_not_compared(rig):
    # eth1:b label and secondary flag exist on the host; the entry does not mention them
    assert rig.run("replaced", [{"name": "eth1", "addresses": sorted(ETH1)}])["changed"] is False


def test_gathered_round_trips_into_merged(rig):
    rig.run("merged", [{"name": "eth2", "addresses": [
        {"address": "198.18.4.1/24", "label": "eth2:x", "scope": "host", "broadcast": "+",
         "valid_lft": 100, "preferred_lft": 50, "noprefixroute": True},
        {"address": "::ffff:198.19.8.1/120", "nodad": True}]}])
    gathered = rig.run("gathered", scope=["eth*"])["gathered"]
    eth2 = next(item for item in gathered if item["name"] == "eth2")
    assert eth2["addresses"] == [
        {"address": "198.18.4.1/24", "broadcast": "198.18.4.255", "label": "eth2:x",
         "scope": "host", "valid_lft": 100, "preferred_lft": 50, "noprefixroute": True},
        {"address": "::ffff:198.19.8.1/120", "nodad": True}]
    assert rig.run("replaced", gathered)["changed"] is False


# ---------------------------------------------------------------------------
# existence, duplicates, guard, rollback
# ---------------------------------------------------------------------------
def test_missing_interface_fails_before_any_change(rig):
    with pytest.raises(InputError) as info:
        rig.run("merged", [{"name": "eth1", "addresses": ["198.18.9.1/24"]},
                           {"name": "nope0", "addresses": ["198.18.9.2/24"]}])
    assert info.value.path == "config[1].name"
    assert rig.fake.batches == []


def test_deleted_on_missing_interface_warns(rig):
    result = rig.run("deleted", [{"name": "nope0"}])
    assert result["changed"] is False
    assert any("nope0 does not exist" in w for w in result["warnings"])


def test_same_address_twice_in_one_item(rig):
    with pytest.raises(InputError) as info:
        rig.run("merged", [{"name": "eth1", "addresses": [
            "198.18.9.1/24", "198.18.9.1/255.255.255.0"]}])
    assert info.value.path == "config[0].addresses[1]"


def test_ipv6_same_address_two_prefixes_is_a_duplicate(rig):
    with pytest.raises(InputError) as info:
        rig.run("merged", [{"name": "eth1", "addresses": [
            "::ffff:198.19.9.1/120", "::ffff:198.19.9.1/121"]}])
    assert info.value.path == "config[0].addresses[1]"


def test_guard_refuses_removing_the_session_address(rig):
    before = copy.deepcopy(rig.fake.links)
    with pytest.raises(guard.GuardError) as info:
        rig.run("replaced", [{"name": "eth0", "addresses": ["198.18.0.11/24"]}])
    assert "remove 198.18.0.10/24 from eth0" in str(info.value)
    assert rig.fake.links == before and rig.fake.batches == []


def test_guard_allows_other_addresses_on_the_session_interface(rig):
    rig.run("merged", [{"name": "eth0", "addresses": ["198.18.0.11/24"]}])
    result = rig.run("deleted", [{"name": "eth0", "addresses": ["198.18.0.11/24"]}])
    assert result["commands"] == ["address del 198.18.0.11/24 dev eth0"]


def test_force_removes_the_session_address(rig):
    result = rig.run("replaced", [{"name": "eth0", "addresses": ["198.18.0.11/24"]}], force=True)
    assert "address del 198.18.0.10/24 dev eth0" in result["commands"]
    assert rig.addresses("eth0") == {"198.18.0.11/24", "fe80::1/64"}


def test_kernel_refusal_mid_plan_rolls_back(rig):
    rig.fake.links["eth2"]["_disable_ipv6"] = True
    before = copy.deepcopy(rig.fake.links)
    with pytest.raises(transaction.TransactionError) as info:
        rig.run("merged", [{"name": "eth2", "addresses": ["198.18.4.1/24",
                                                          "::ffff:198.19.4.1/120"]}])
    result = info.value.to_result()
    assert result["failed_command"] == "address add ::ffff:198.19.4.1/120 dev eth2"
    assert result["failed_line"] == 2
    assert "IPv6 is disabled" in result["stderr"]
    assert result["restored"] is True
    assert rig.fake.links["eth2"]["addr_info"] == before["eth2"]["addr_info"] == []


def test_rollback_puts_deleted_addresses_back(rig):
    before = rig.addresses("eth1")
    rig.fake.fail_on["198.18.9.1"] = "RTNETLINK answers: Permission denied"
    with pytest.raises(transaction.TransactionError):
        rig.run("replaced", [{"name": "eth1", "addresses": ["198.18.9.1/24"]}])
    assert rig.addresses("eth1") == before


def test_rendered_and_parsed_offline(rig):
    lines = resource.Runner(AddressesResource(), params("rendered", [
        {"name": "eth1", "addresses": ["198.18.9.1/255.255.255.0",
                                       {"address": "::FFFF:198.19.9.1", "prefixlen": 120}]}])).run()
    assert lines["rendered"] == ["address add 198.18.9.1/24 dev eth1",
                                 "address add ::ffff:198.19.9.1/120 dev eth1"]
    import json
    text = json.dumps(list(rig.fake.links.values()))
    parsed = resource.Runner(AddressesResource(), params("parsed", running_config=text,
                                                         scope=["eth1"])).run()["parsed"]
    assert parsed == [{"name": "eth1", "addresses": [
        {"address": "198.18.1.1/24"}, {"address": "198.18.1.2/24", "label": "eth1:b"},
        {"address": "198.18.2.1/24"}, {"address": "::ffff:198.19.7.10/120"},
        {"address": "fe80::2/64"}]}]
    # rendered against the capture plans only what is missing
    again = resource.Runner(AddressesResource(), params("rendered", [
        {"name": "eth1", "addresses": ["198.18.1.1/24", "198.18.9.1/24"]}],
        running_config=text)).run()
    assert again["rendered"] == ["address add 198.18.9.1/24 dev eth1"]


def _attributes(rig, name):
    """Every address of ``name`` with the attributes the kernel reports (lifetimes as class)."""
    result = {}
    for info in rig.fake.links[name]["addr_info"]:
        item = dict(info)
        for field in ("valid_life_time", "preferred_life_time"):
            item[field] = "forever" if item[field] == FOREVER else "finite"
        item.pop("secondary", None)
        result["%s/%d" % (item.pop("local"), item.pop("prefixlen"))] = item
    return result


FAILING_PLANS = [
    ("added address with a finite lifetime is removed again", "eth2", "merged",
     [{"address": "198.18.4.1/24", "valid_lft": 300}, "198.18.44.1/24"], "198.18.44.1"),
    ("deleted scope/noprefixroute/lifetime address comes back as it was", "eth2", "replaced",
     ["198.18.44.1/24"], "198.18.44.1"),
    ("relabelled address gets its old label back", "eth2", "merged",
     [{"address": "198.18.6.1/24", "label": "eth2:new"}, "198.18.44.1/24"], "198.18.44.1"),
]


@pytest.mark.parametrize("label, name, state, entries, fail", FAILING_PLANS,
                         ids=[p[0] for p in FAILING_PLANS])
def test_failed_plan_restores_every_attribute(rig, label, name, state, entries, fail):
    rig.fake.links["eth2"]["addr_info"] = [
        v4("198.18.5.1", scope="host", label="eth2", noprefixroute=True),
        v4("198.18.6.1", label="eth2:old"),
        dict(v4("198.18.7.1", label="eth2", dynamic=True), valid_life_time=500,
             preferred_life_time=100),
        dict(v6("::ffff:198.19.5.1", 120, nodad=True, dynamic=True), valid_life_time=500,
             preferred_life_time=0),
    ]
    before = _attributes(rig, name)
    rig.fake.fail_on[fail] = "RTNETLINK answers: Permission denied"
    with pytest.raises(transaction.TransactionError) as info:
        rig.run(state, [{"name": name, "addresses": entries}])
    assert info.value.to_result()["restored"] is True, str(info.value)
    assert _attributes(rig, name) == before


def test_check_mode_plans_for_an_interface_an_earlier_task_creates(rig):
    """--check: addresses of an interface an earlier task of the play would create are planned
    with a warning naming check mode; a real run still fails on the missing interface."""
    config = [{"name": "br-new", "addresses": ["198.18.7.1/24"]}]
    result = rig.run("merged", config, check_mode=True)
    assert result["changed"] and result["commands"] == ["address add 198.18.7.1/24 dev br-new"]
    assert any(w.startswith("check mode: interface br-new does not exist yet") for w in result["warnings"])
    assert "br-new" not in rig.fake.links
    with pytest.raises(InputError) as info:
        rig.run("merged", config)
    assert info.value.path == "config[0].name" and "does not exist" in str(info.value)
