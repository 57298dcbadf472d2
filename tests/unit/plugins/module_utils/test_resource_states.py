# -*- coding: utf-8 -*-
"""resource.Runner + InterfacesResource: state semantics, table-driven, on a fake kernel."""

import json
import os

import pytest

from ansible_collections.hostnet.netif.plugins.module_utils import guard, resource, transaction
from ansible_collections.hostnet.netif.plugins.module_utils.errors import InputError
from ansible_collections.hostnet.netif.plugins.module_utils.interfaces import (
    CONFIG_OPTIONS,
    InterfacesResource,
)

from netif_fakeip import FakeIp, NoSysfs

make = FakeIp.make_link
SSH = "198.18.0.1 50000 198.18.0.10 22"


def links():
    return [
        make("lo", mtu=65536, flags=["LOOPBACK", "UP", "LOWER_UP"], mac="00:00:00:00:00:00",
             link_type="loopback"),
        make("eth0", up=True, addresses=[{"family": "inet", "local": "198.18.0.10",
                                          "prefixlen": 24, "scope": "global",
                                          "valid_life_time": 4294967295,
                                          "preferred_life_time": 4294967295}]),
        make("eth1", up=True, mtu=9000, permaddr="02:aa:00:00:00:01", mac="02:bb:00:00:00:01",
             max_mtu=9216),
        make("br0", "bridge", up=True),
        make("va", "veth", parent="vb", master="br0", up=True),
        make("vb", "veth", parent="va", up=False),
        make("mv0", "macvlan", parent="eth1", info_data={"mode": "bridge"}, up=True, mtu=9000),
    ]


def params(state, config=(), **kwargs):
    result = dict(state=state, config=[dict((k, item.get(k)) for k in CONFIG_OPTIONS)
                                       for item in config],
                  running_config=None, scope=None, force=False)
    result.update(kwargs)
    return result


class Rig:
    """A fake host; its lock and journal live in ``directory`` (pytest's tmp_path), not in
    /tmp itself (issue #8 item 6: runs left hostnet-netif-unit-*.lock files there)."""

    def __init__(self, directory, ssh=SSH):
        self.lock_path = os.path.join(str(directory), "ns.lock")
        self.fake = FakeIp(links(), routes={"198.18.0.1": {"dst": "198.18.0.1", "dev": "eth0",
                                                           "prefsrc": "198.18.0.10"}})
        environ = {"SSH_CONNECTION": ssh} if ssh else {}
        self.host = transaction.Host(self.fake.run, FakeIp.IP, environ=environ, files=NoSysfs())

    def run(self, state, config=(), check_mode=False, diff=False, **kwargs):
        lock = transaction.HostLock(self.lock_path, timeout=5)
        runner = resource.Runner(InterfacesResource(), params(state, config, **kwargs),
                                 host=self.host, check_mode=check_mode, diff=diff, lock=lock)
        return runner.run()


@pytest.fixture
def rig(tmp_path):
    return Rig(tmp_path)


CASES = [
    # (id, state, config, kwargs, expected commands)
    ("merged-mtu", "merged", [{"name": "eth1", "mtu": 1500}], {},
     ["link set dev mv0 mtu 1500", "link set dev eth1 mtu 1500"][1:]),
    ("merged-nothing-to-do", "merged", [{"name": "eth1", "mtu": 9000, "enabled": True}], {}, []),
    ("merged-create-veth-into-bridge", "merged",
     [{"name": "vc", "kind": "veth", "peer": "vd", "master": "br0", "enabled": True},
      {"name": "vd", "mtu": 1400}], {},
     ["link add name vc type veth peer name vd", "link set dev vd mtu 1400",
      "link set dev vc master br0", "link set dev vc up"]),
    ("merged-release-and-clear", "merged", [{"name": "va", "master": "", "alias": ""}], {},
     ["link set dev va nomaster"]),
    ("merged-alias", "merged", [{"name": "vb", "alias": "to core", "enabled": True}], {},
     ['link set dev vb alias "to core"', "link set dev vb up"]),
    ("replaced-resets-unlisted-attrs", "replaced", [{"name": "va", "mtu": 1400}], {},
     ["link set dev va nomaster", "link set dev va mtu 1400"]),
    ("replaced-eth1-mac-to-perm", "replaced", [{"name": "eth1", "mtu": 9000}], {},
     ["link set dev eth1 down", "link set dev eth1 address 02:aa:00:00:00:01",
      "link set dev eth1 up"]),
    ("overridden-in-scope", "overridden", [{"name": "va", "master": "br0", "enabled": True}],
     {"scope": ["v*"]}, ["link set dev vb up"]),
    ("deleted-virtual", "deleted", [{"name": "mv0", "kind": "macvlan"}], {},
     ["link delete dev mv0"]),
    ("deleted-missing-virtual-is-noop", "deleted", [{"name": "nope0", "kind": "dummy"}], {}, []),
    ("deleted-veth-pair-once", "deleted",
     [{"name": "va", "kind": "veth"}, {"name": "vb", "kind": "veth"}], {},
     ["link delete dev va"]),
    ("deleted-named-attrs-reset", "deleted", [{"name": "eth1", "mtu": 9000, "alias": "x"}], {},
     ["link set dev eth1 mtu 1500"]),
    ("deleted-all-in-scope", "deleted", [], {"scope": ["va"]}, ["link set dev va nomaster"]),
]


@pytest.mark.parametrize("state, config, kwargs, expected",
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_state_plans(rig, state, config, kwargs, expected):
    result = rig.run(state, config, check_mode=True, **kwargs)
    assert result["commands"] == expected
    assert result["changed"] is bool(expected)
    assert rig.fake.batches == []  # check mode touched nothing


@pytest.mark.parametrize("state, config, kwargs, expected",
                         [c[1:] for c in CASES if c[0] != "merged-mtu"],
                         ids=[c[0] for c in CASES if c[0] != "merged-mtu"])
def test_states_apply_then_are_idempotent(rig, state, config, kwargs, expected):
    first = rig.run(state, config, **kwargs)
    assert first["commands"] == expected
    assert first["changed"] is bool(expected)
    if expected:
        assert rig.fake.batches[-1] == "\n".join(expected) + "\n"
    second = rig.run(state, config, **kwargs)
    assert second["changed"] is False and second["commands"] == []


def test_merged_mtu_lowers_child_first_when_both_change(rig):
    result = rig.run("merged", [{"name": "eth1", "mtu": 1500}, {"name": "mv0", "mtu": 1500}])
    assert result["commands"] == ["link set dev mv0 mtu 1500", "link set dev eth1 mtu 1500"]
    assert rig.fake.links["eth1"]["mtu"] == 1500 and rig.fake.links["mv0"]["mtu"] == 1500


def test_overridden_touches_nothing_outside_scope(rig):
    before = json.dumps(rig.fake.links["eth1"], sort_keys=True)
    rig.run("overridden", [{"name": "vb", "enabled": False}], scope=["v*"])
    assert json.dumps(rig.fake.links["eth1"], sort_keys=True) == before
    assert "master" not in rig.fake.links["va"]


def test_result_before_after_and_diff(rig):
    result = rig.run("merged", [{"name": "vb", "mtu": 1400}], diff=True)
    assert [i["mtu"] for i in result["before"]] == [1500]
    assert [i["mtu"] for i in result["after"]] == [1400]
    assert "mtu: 1500" in result["diff"]["before"] and "mtu: 1400" in result["diff"]["after"]
    assert result["diff"]["before"].startswith('- name: "vb"')


def test_check_mode_predicts_after_and_diff(rig):
    result = rig.run("merged", [{"name": "vb", "mtu": 1400}], check_mode=True, diff=True)
    assert result["after"][0]["mtu"] == 1400 and rig.fake.links["vb"]["mtu"] == 1500
    assert "mtu: 1400" in result["diff"]["after"]


def test_unchanged_has_no_after(rig):
    result = rig.run("merged", [{"name": "vb", "mtu": 1500}], diff=True)
    assert "after" not in result and result["changed"] is False


@pytest.mark.parametrize("state, config, kwargs, path", [
    ("merged", [{"name": "ghost0", "mtu": 1500}], {}, "config[0].name"),
    ("merged", [{"name": "eth1", "mtu": 9500}], {}, "config[0].mtu"),
    ("merged", [{"name": "vb"}, {"name": "vb", "mtu": 1400}], {}, "config[1].name"),
    ("merged", [{"name": "eth1", "kind": "bridge"}], {}, "config[0].kind"),
    ("merged", [{"name": "mv0", "kind": "macvlan", "parent": "eth0"}], {}, "config[0].parent"),
    ("merged", [{"name": "vb", "master": "nobr"}], {}, "config[0].master"),
    ("merged", [{"name": "vb", "master": "vb"}], {}, "config[0].master"),
    ("merged", [{"name": "x0", "kind": "macvlan", "parent": "ghost"}], {}, "config[0].parent"),
    ("merged", [{"name": "x0", "kind": "vlan", "parent": "eth1"}], {}, "config[0].vlan_id"),
    ("merged", [{"name": "x0", "kind": "bridge", "peer": "x1"}], {}, "config[0].peer"),
    ("merged", [{"name": "eth1", "vni": 5}], {}, "config[0].vni"),
    ("deleted", [{"name": "eth1", "kind": "bridge"}], {}, "config[0].kind"),
    ("deleted", [{"name": "eth1", "kind": "dummy"}], {}, "config[0].kind"),
    ("merged", [{"name": "vb", "mtu": 1400}], {"scope": ["eth*"]}, "config[0].name"),
    ("overridden", [], {}, "scope"),
    ("deleted", [], {}, "scope"),
    ("merged", [], {"scope": ["ok", "bad\x01"]}, "scope[1]"),
])
def test_input_errors_before_any_change(rig, state, config, kwargs, path):
    with pytest.raises(InputError) as info:
        rig.run(state, config, **kwargs)
    assert info.value.path == path
    assert rig.fake.batches == []


def test_deleting_parent_with_unlisted_child_is_refused(rig):
    # br0 has ports but no children (ports are released, not deleted): allowed
    result = rig.run("deleted", [{"name": "br0", "kind": "bridge"}], check_mode=True)
    assert result["commands"] == ["link delete dev br0"]
    rig.fake.links["eth1"]["linkinfo"] = {"info_kind": "dummy", "info_data": {}}
    with pytest.raises(InputError) as info:
        rig.run("deleted", [{"name": "eth1", "kind": "dummy"}])
    assert "mv0" in str(info.value) and info.value.path == "config[0].name"


def test_guard_refuses_down_of_session_interface(rig):
    with pytest.raises(guard.GuardError) as info:
        rig.run("merged", [{"name": "eth0", "enabled": False}])
    assert "eth0" in str(info.value) and "force: true" in str(info.value)
    assert rig.fake.batches == []
    result = rig.run("merged", [{"name": "eth0", "enabled": False}], force=True)
    assert result["commands"] == ["link set dev eth0 down"]


@pytest.mark.parametrize("state, config, kwargs", [
    ("merged", [{"name": "eth0", "mac": "02:00:00:00:00:99"}], {}),
    ("merged", [{"name": "eth0", "master": "br0"}], {}),
    ("replaced", [{"name": "eth0", "mtu": 1500}], {}),  # resets its alias? no: resets nothing
    ("overridden", [], {"scope": ["eth*"]}),
])
def test_guard_cases(rig, state, config, kwargs):
    rig.fake.links["eth0"]["ifalias"] = "mgmt"
    with pytest.raises(guard.GuardError):
        rig.run(state, config, **kwargs)
    assert rig.fake.batches == []


def test_guard_allows_mtu_change_on_session_interface(rig):
    assert rig.run("merged", [{"name": "eth0", "mtu": 1400}])["changed"] is True


def test_warns_when_guard_has_no_session(tmp_path):
    rig = Rig(tmp_path, ssh=None)
    result = rig.run("merged", [{"name": "vb", "mtu": 1400}])
    assert any("guard inactive" in w for w in result["warnings"])


def test_gathered_parsed_rendered_roundtrip(rig):
    gathered = rig.run("gathered", scope=["v*", "br0", "mv0"])["gathered"]
    assert [i["name"] for i in gathered] == ["br0", "mv0", "va", "vb"]
    assert gathered[1]["kind"] == "macvlan" and gathered[1]["parent"] == "eth1"
    # feeding gathered back as merged config changes nothing
    assert rig.run("merged", gathered)["changed"] is False
    text = rig.fake.run([FakeIp.IP, "-json", "-d", "addr", "show"])[1]
    parsed = resource.Runner(InterfacesResource(), params("parsed", running_config=text,
                                                          scope=["v*", "br0", "mv0"])).run()
    assert parsed["parsed"] == gathered
    rendered = resource.Runner(InterfacesResource(), params(
        "rendered", [{"name": "vb", "mtu": 1400}, {"name": "n0", "kind": "dummy"}],
        running_config=text)).run()
    assert rendered["rendered"] == ["link add name n0 type dummy", "link set dev vb mtu 1400"]
    offline = resource.Runner(InterfacesResource(), params(
        "rendered", [{"name": "anything", "mtu": 1400, "enabled": True}])).run()
    assert offline["rendered"] == ["link set dev anything mtu 1400", "link set dev anything up"]


def test_rollback_through_runner_on_kernel_refusal(rig):
    before = json.dumps(rig.fake.links, sort_keys=True)
    with pytest.raises(transaction.TransactionError) as info:
        rig.run("merged", [{"name": "nb0", "kind": "bridge", "enabled": True},
                           {"name": "vb", "master": "nb0"},
                           {"name": "mv1", "kind": "macvlan", "parent": "eth0", "mtu": 9000}])
    assert "link set dev mv1 mtu 9000" in str(info.value)
    after = dict(rig.fake.links)
    assert json.dumps(after, sort_keys=True) == before


def test_vlan_bond_dummy_refused_by_kernel_are_rolled_back(rig):
    rig.fake.refuse_vlan = True
    before = json.dumps(rig.fake.links, sort_keys=True)
    with pytest.raises(transaction.TransactionError) as info:
        rig.run("merged", [{"name": "d0", "kind": "dummy", "enabled": True},
                           {"name": "b0", "kind": "bond", "mode": "active-backup"},
                           {"name": "eth1.5", "kind": "vlan", "parent": "eth1", "vlan_id": 5}])
    assert "Unknown device type" in str(info.value)
    assert json.dumps(rig.fake.links, sort_keys=True) == before


class Killed(BaseException):
    """The module dying mid-batch: no restore runs in that process."""


def test_next_run_restores_an_interrupted_apply_and_reports_it(rig):
    original = rig.fake.run

    def dies_after_first_line(argv, data=None):
        if data:
            original(argv, data.split("\n")[0] + "\n")
            raise Killed()
        return original(argv, data)

    rig.host.run = dies_after_first_line
    with pytest.raises(Killed):
        rig.run("deleted", [{"name": "mv0", "kind": "macvlan"}, {"name": "va", "kind": "veth"}])
    rig.host.run = original
    assert "mv0" not in rig.fake.links and "va" in rig.fake.links  # half applied
    check = rig.run("merged", [{"name": "eth1", "mtu": 9000}], check_mode=True)
    assert "recovered" not in check and any("is pending" in w for w in check["warnings"])
    result = rig.run("merged", [{"name": "eth1", "mtu": 9000}])  # nothing to do itself
    assert "mv0" in rig.fake.links and rig.fake.links["mv0"]["link"] == "eth1"
    assert result["changed"] is True and result["commands"] == []
    assert result["recovered"]["interrupted_commands"] == ["link delete dev mv0",
                                                           "link delete dev va"]
    assert result["recovered"]["restore_commands"][0].startswith("link add link eth1 name mv0")
    assert any("was found and restored" in w for w in result["warnings"])
    again = rig.run("merged", [{"name": "eth1", "mtu": 9000}])
    assert again["changed"] is False and "recovered" not in again


def test_resources_keep_no_per_call_state(rig):
    # one instance planned twice for different hosts states: everything a task decides is
    # in its Plan (the old resource kept _facts/_depth/_reset from the last call)
    res = InterfacesResource()
    before = dict(vars(res))
    for config in ([{"name": "eth1", "mtu": 1400}], [{"name": "eth1", "alias": "x"}]):
        lock = transaction.HostLock(rig.lock_path, timeout=5)
        resource.Runner(res, params("replaced", config), host=rig.host, lock=lock).run()
    assert vars(res) == before
    plan = res.plan(res.current({}), {}, "merged")
    assert isinstance(plan, resource.Plan) and plan.ops == [] and plan.files == {}
