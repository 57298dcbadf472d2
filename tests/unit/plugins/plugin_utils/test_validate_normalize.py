# -*- coding: utf-8 -*-
"""plugin_utils.validate / normalize and the resource action's pipeline."""

import json
from unittest import mock

import pytest

from ansible_collections.hostnet.netif.plugins.action.interfaces import ActionModule
from ansible_collections.hostnet.netif.plugins.plugin_utils import normalize, validate
from ansible_collections.hostnet.netif.plugins.plugin_utils.resource_action import InputProblems


# ---------------------------------------------------------------------------
# validate
# ---------------------------------------------------------------------------
def test_format_path():
    assert validate.format_path(["config", 1, "mtu"]) == "config[1].mtu"
    assert validate.format_path([]) == ""
    assert validate.format_path(["scope", 0]) == "scope[0]"


def test_collects_every_error_with_paths_expected_and_found():
    args = {"config": [{"name": "eth1", "mtu": 10}, {"name": "x", "mac": 5, "bogus": True}],
            "state": "nope"}
    problems = validate.problems(args, validate.load_schema("interfaces"))
    by_path = dict((p.path, p) for p in problems)
    assert set(by_path) >= {"config[0].mtu", "config[1].mac", "config[1].bogus", "state"}
    assert by_path["config[0].mtu"].expected == "a number >= 68"
    assert by_path["config[0].mtu"].found == "10"
    assert "integer" not in by_path["config[1].mac"].expected
    assert "string" in by_path["config[1].mac"].expected
    with pytest.raises(validate.SchemaError) as info:
        validate.validate(args, "interfaces")
    assert len(info.value.errors) == len(problems) and "config[0].mtu" in str(info.value)


def test_schemas_are_valid_draft_2020_12():
    schema = validate.load_schema("interfaces")
    assert schema["$schema"].endswith("2020-12/schema")
    assert schema["additionalProperties"] is False
    assert schema["$defs"]["item"]["additionalProperties"] is False


@pytest.mark.parametrize("item", [
    {"name": "v0", "kind": "veth", "peer": "v1"},
    {"name": "m0", "kind": "macvlan", "parent": "eth0", "mode": "vepa"},
    {"name": "e.5", "kind": "vlan", "parent": "eth0", "vlan_id": 5},
    {"name": "x0", "kind": "vxlan", "vni": 0, "remote": "239.1.1.1", "dstport": 4789},
    {"name": "b0", "kind": "bond", "mode": "802.3ad"},
    {"name": "d0", "kind": "dummy"},
    {"name": "br0", "kind": "bridge", "alias": None, "master": None},
    {"name": "eth0", "alias": "", "master": ""},
])
def test_valid_items(item):
    assert validate.problems({"config": [item]}, validate.load_schema("interfaces")) == []


def test_deleted_needs_no_kind_fields():
    schema = validate.load_schema("interfaces")
    item = {"name": "v0", "kind": "veth"}
    assert validate.problems({"state": "deleted", "config": [item]}, schema) == []
    assert [p.path for p in validate.problems({"config": [item]}, schema)] == ["config[0].peer"]


# ---------------------------------------------------------------------------
# normalize
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("value, expected", [
    ("02:00:5E:10:00:01", "02:00:5e:10:00:01"), ("02-00-5e-10-00-01", "02:00:5e:10:00:01"),
    ("0200.5e10.0001", "02:00:5e:10:00:01"), ("02005e100001", "02:00:5e:10:00:01"),
])
def test_mac(value, expected):
    assert normalize.mac(value, "p") == expected


@pytest.mark.parametrize("value", ["01:00:5e:00:00:01", "00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff",
                                   "33:33:00:00:00:01", "zz", "", " 02:00:5e:10:00:01", None,
                                   "02:00:5e:10:00:01:02:03"])
def test_mac_rejects(value):
    with pytest.raises(normalize.NormalizeError) as info:
        normalize.mac(value, "config[0].mac")
    assert info.value.path == "config[0].mac"


@pytest.mark.parametrize("value, expected", [
    ("198.18.1.1/255.255.255.0", "198.18.1.1/24"), ("198.18.1.1/24", "198.18.1.1/24"),
    ("198.18.1.1/255.255.255.255", "198.18.1.1/32"), ("198.18.1.1/0.0.0.0", "198.18.1.1/0"),
    ("0:0:0:0:0:FFFF:198.18.0.1/120", "::ffff:198.18.0.1/120"),
    ("0000::ffff:c612:0001/120", "::ffff:198.18.0.1/120"),
    # RFC 5952: of two equally long zero runs the first is compressed
    ("fe80:0:0:0:1:0:0:0/64", "fe80::1:0:0:0/64"), ("::ffff:198.18.0.1/128", "::ffff:198.18.0.1/128"),
])
def test_interface_cidr(value, expected):
    assert normalize.interface_cidr(value, "p") == expected


@pytest.mark.parametrize("value", ["198.18.1.1", "198.18.1.1/33", "198.18.1.1/255.0.255.0",
                                   "198.18.1.1/abc", "1.2.3/24", "198.018.1.1/24",
                                   "::ffff:198.18.0.1/129", "::ffff:198.18.0.1/ffff::", "x/24", "1.2.3.4/24/1"])
def test_interface_cidr_rejects(value):
    with pytest.raises(normalize.NormalizeError):
        normalize.interface_cidr(value, "p")


def test_network_and_ip():
    assert normalize.network("198.18.1.9/255.255.255.0", "p") == "198.18.1.0/24"
    assert normalize.network("::FFFF:198.18.0.9/120", "p") == "::ffff:198.18.0.0/120"
    assert normalize.ip_address("::FFFF:C612:0001", "p") == "::ffff:198.18.0.1"
    with pytest.raises(normalize.NormalizeError):
        normalize.ip_address("198.18.0.1/32", "p")


# ---------------------------------------------------------------------------
# the action plugin
# ---------------------------------------------------------------------------
def bare_action():
    return object.__new__(ActionModule)


def test_prepare_normalises_and_clears():
    prepared = bare_action().prepare({"config": [
        {"name": "eth1", "mac": "02-00-5E-10-00-01", "alias": None, "master": None},
        {"name": "vx0", "kind": "vxlan", "vni": 1, "remote": "::FFFF:198.18.0.2"}]})
    assert prepared["config"][0] == {"name": "eth1", "mac": "02:00:5e:10:00:01", "alias": "",
                                     "master": ""}
    assert prepared["config"][1]["remote"] == "::ffff:198.18.0.2"


def test_prepare_collects_all_normalisation_errors():
    with pytest.raises(InputProblems) as info:
        bare_action().prepare({"config": [{"name": "a", "mac": "01:00:00:00:00:01"},
                                          {"name": "b", "mac": "00:00:00:00:00:00"}]})
    assert [p.path for p in info.value.problems] == ["config[0].mac", "config[1].mac"]


def make_action(args, check_mode=False):
    task = mock.MagicMock()
    task.args = args
    task.async_val = 0
    task.check_mode = check_mode
    task.diff = False
    play_context = mock.MagicMock(check_mode=check_mode)
    action = ActionModule(task, mock.MagicMock(), play_context, loader=None,
                          templar=mock.MagicMock(), shared_loader_obj=None)
    action._execute_module = mock.MagicMock(side_effect=AssertionError("host contacted"))
    action._low_level_execute_command = mock.MagicMock(side_effect=AssertionError("host contacted"))
    return action


def test_rendered_and_parsed_contact_no_host():
    action = make_action({"state": "rendered", "config": [
        {"name": "eth1", "mtu": 9000, "mac": "0200.5e10.0001"}]})
    result = action.run(task_vars={})
    assert not result.get("failed"), result
    assert result["rendered"] == ["link set dev eth1 address 02:00:5e:10:00:01",
                                  "link set dev eth1 mtu 9000"]
    text = json.dumps([{"ifname": "eth1", "ifindex": 2, "flags": ["UP"], "mtu": 1500,
                        "operstate": "UP", "address": "02:00:5e:10:00:01", "txqlen": 1000,
                        "group": "default", "link_type": "ether"}])
    action = make_action({"state": "parsed", "running_config": text})
    result = action.run(task_vars={})
    assert result["parsed"] == [{"name": "eth1", "enabled": True, "mtu": 1500,
                                 "mac": "02:00:5e:10:00:01", "txqueuelen": 1000, "alias": "",
                                 "promisc": False, "multicast": False, "allmulticast": False,
                                 "arp": True, "master": None, "group": 0}]


def test_run_fails_with_errors_list_and_no_host_contact():
    result = make_action({"config": [{"name": "eth1", "mtu": 1}]}).run(task_vars={})
    assert result["failed"] is True
    assert result["errors"][0]["path"] == "config[0].mtu"
    assert "config[0].mtu" in result["msg"]
