# -*- coding: utf-8 -*-
"""Controller half of hostnet.netif.sysctls: the JSON Schema says what the target checks
(every allow-listed key, each range), errors name config[i].ipv4.key with expected/found."""

import copy
import json
import os

import pytest

from ansible_collections.hostnet.netif.plugins.action.sysctls import ActionModule
from ansible_collections.hostnet.netif.plugins.module_utils import model, sysctls
from ansible_collections.hostnet.netif.plugins.module_utils.errors import InputError
from ansible_collections.hostnet.netif.plugins.plugin_utils import validate
from ansible_collections.hostnet.netif.plugins.plugin_utils.resource_action import InputProblems

SCHEMA = validate.load_schema("sysctls")


def prepare(args):
    return object.__new__(ActionModule).prepare(copy.deepcopy(args))


def problems(args):
    with pytest.raises(InputProblems) as info:
        prepare(args)
    return dict((p.path, p) for p in info.value.problems)


def test_schema_and_target_checks_agree_on_every_key():
    """Same keys, same ranges: a value passes the schema exactly when check_value passes."""
    for family in sysctls.FAMILIES:
        props = SCHEMA["$defs"][family]["properties"]
        assert set(props) == set(model.CONF_KEYS[family])
        assert SCHEMA["$defs"][family]["additionalProperties"] is False
        for key, spec in sysctls.VALUE_SPECS[family].items():
            node = props[key]
            if not spec.get("writable", True):
                assert node.get("not") == {}, key
                continue
            assert node["type"] == "integer"
            assert (node["minimum"], node["maximum"]) == (spec["minimum"], spec["maximum"]), key
            assert node.get("multipleOf") == spec.get("multipleOf"), key
            low, high = spec["minimum"], spec["maximum"]
            for value in (low - 1, low, high, high + 1, True, "1"):
                args = {"config": [{"name": "eth0", family: {key: value}}]}
                schema_ok = not validate.problems(args, SCHEMA)
                try:
                    sysctls.check_value(family, key, value, "x")
                    target_ok = True
                except InputError:
                    target_ok = False
                assert schema_ok == target_ok, (family, key, value)


@pytest.mark.parametrize("config, path, expected, found", [
    ([{"name": "eth0"}, {"name": "eth1", "ipv4": {"rp_filter": 3}}], "config[1].ipv4.rp_filter",
     "a number <= 2", "3"),
    ([{"name": "eth0", "ipv4": {"arp_ignore": -1}}], "config[0].ipv4.arp_ignore",
     "a number >= 0", "-1"),
    ([{"name": "eth0", "ipv6": {"hop_limit": 256}}], "config[0].ipv6.hop_limit",
     "a number <= 255", "256"),
    ([{"name": "eth0", "ipv4": {"rp_filter": "1; reboot"}}], "config[0].ipv4.rp_filter",
     "a value of type integer", '"1; reboot"'),
    ([{"name": "eth0", "ipv4": {"rp_filter": True}}], "config[0].ipv4.rp_filter",
     "a value of type integer", "true"),
    ([{"name": "eth0", "ipv4": {"../../../etc/shadow": 1}}], "config[0].ipv4.../../../etc/shadow",
     "no such option", "1"),
    ([{"name": "eth0", "ipv4": {"conf/all/rp_filter": 1}}], "config[0].ipv4.conf/all/rp_filter",
     "no such option", "1"),
    ([{"name": "eth0", "ipv4": {"accept_ra": 1}}], "config[0].ipv4.accept_ra",
     "no such option", "1"),
    ([{"name": "eth0", "ipv4": {"mc_forwarding": 1}}], "config[0].ipv4.mc_forwarding",
     "read-only", "1"),
    ([{"name": "eth0", "ipv6": {"mldv2_unsolicited_report_interval": 1050}}],
     "config[0].ipv6.mldv2_unsolicited_report_interval", "multiple of 100", "1050"),
    ([{"name": "eth0", "ipv4": ["rp_filter"]}], "config[0].ipv4", "type", '["rp_filter"]'),
    ([{"name": "eth0", "sysctl": {"rp_filter": 1}}], "config[0].sysctl", "no such option",
     '{"rp_filter": 1}'),
    ([{"name": "../../eth0", "ipv4": {"rp_filter": 1}}], "config[0].name", "interface name",
     '"../../eth0"'),
    ([{"name": "eth0;reboot", "ipv4": {"rp_filter": 1}}], "config[0].name", "interface name",
     '"eth0;reboot"'),
])
def test_errors_name_path_expected_found(config, path, expected, found):
    got = problems({"config": config})
    assert path in got, sorted(got)
    assert expected in got[path].expected, got[path].as_dict()
    assert got[path].found == found


@pytest.mark.parametrize("name", ["../x.conf", "a/b.conf", "x..conf", ".x.conf", "x.txt",
                                  "x;reboot.conf", "x y.conf"])
def test_persist_file_refused(name):
    got = problems({"persist": True, "persist_file": name,
                    "config": [{"name": "eth0", "ipv4": {"rp_filter": 1}}]})
    assert "persist_file" in got


def test_accepted_and_duplicates():
    prepared = prepare({"persist": True, "persist_file": "60-edge.conf", "config": [
        {"name": "all", "ipv4": {"rp_filter": 1}}, {"name": "v-x.1", "ipv6": {"accept_ra": 0}}]})
    assert [item["name"] for item in prepared["config"]] == ["all", "v-x.1"]
    got = problems({"config": [{"name": "eth0"}, {"name": "eth0", "ipv4": {"rp_filter": 1}}]})
    assert "config[1].name" in got


def test_schema_file_is_what_the_generator_would_write():
    """The schema is data; keep it formatted (2-space JSON) so diffs stay reviewable."""
    path = os.path.join(validate.SCHEMA_DIR, "sysctls.schema.json")
    with open(path) as handle:
        text = handle.read()
    assert text == json.dumps(json.loads(text), indent=2) + "\n"
