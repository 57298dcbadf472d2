# -*- coding: utf-8 -*-
"""Controller half of hostnet.netif.addresses: JSON Schema errors with paths, netaddr
normalisation (spellings of one address are one address), duplicates."""

import copy

import pytest

from ansible_collections.hostnet.netif.plugins.action.addresses import ActionModule
from ansible_collections.hostnet.netif.plugins.plugin_utils.resource_action import InputProblems


def prepare(args):
    return object.__new__(ActionModule).prepare(copy.deepcopy(args))


def problems(args):
    with pytest.raises(InputProblems) as info:
        prepare(args)
    return dict((p.path, p) for p in info.value.problems)


@pytest.mark.parametrize("raw, normalised", [
    ("198.18.1.1/24", {"address": "198.18.1.1/24"}),
    ("198.18.1.1/255.255.255.0", {"address": "198.18.1.1/24"}),
    ("198.18.1.1/255.255.255.255", {"address": "198.18.1.1/32"}),
    ("::FFFF:C613:070A/120", {"address": "::ffff:198.19.7.10/120"}),
    ("0000:0000:0000:0000:0000:ffff:198.19.7.10/120", {"address": "::ffff:198.19.7.10/120"}),
    ("FE80:0:0:0:0:0:0:1/64", {"address": "fe80::1/64"}),
    ({"address": "198.18.1.1", "prefixlen": 24}, {"address": "198.18.1.1/24"}),
    ({"address": "198.18.1.1/24", "broadcast": "+"},
     {"address": "198.18.1.1/24", "broadcast": "198.18.1.255"}),
    ({"address": "198.18.1.1/32", "peer": "198.18.1.2"},
     {"address": "198.18.1.1/32", "peer": "198.18.1.2"}),
    ({"address": "198.18.1.1/24", "valid_lft": 60},
     {"address": "198.18.1.1/24", "valid_lft": 60, "preferred_lft": 60}),
    ({"address": "198.18.1.1/24", "valid_lft": "forever", "preferred_lft": 0},
     {"address": "198.18.1.1/24", "valid_lft": "forever", "preferred_lft": 0}),
    ({"address": "198.18.1.1/24", "label": "eth0:web", "scope": "host", "noprefixroute": True},
     {"address": "198.18.1.1/24", "label": "eth0:web", "scope": "host", "noprefixroute": True}),
])
def test_normalisation(raw, normalised):
    prepared = prepare({"config": [{"name": "eth0", "addresses": [raw]}]})
    assert prepared["config"][0]["addresses"] == [normalised]


@pytest.mark.parametrize("entries, path, expected", [
    (["198.18.1.1"], "config[0].addresses[0]", "address/prefixlen"),
    (["198.18.1.1/24; reboot"], "config[0].addresses[0]", "address/prefixlen"),
    (["198.18.1.1/24\nlink delete dev eth0"], "config[0].addresses[0]", "address/prefixlen"),
    ([42], "config[0].addresses[0]", "type"),
    ([{"address": "198.18.1.1/24", "scope": "moon"}], "config[0].addresses[0].scope", "one of"),
    ([{"address": "198.18.1.1/24", "valid_lft": 0}], "config[0].addresses[0].valid_lft", ">= 1"),
    ([{"address": "198.18.1.1/24", "valid_lft": "soon"}], "config[0].addresses[0].valid_lft",
     "forever"),
    ([{"address": "198.18.1.1/24", "preferred_lft": 4294967295}],
     "config[0].addresses[0].preferred_lft", "<= 4294967294"),
    ([{"address": "198.18.1.1/24", "label": "eth0 x"}], "config[0].addresses[0].label", "label"),
    ([{"address": "198.18.1.1/24", "colour": "red"}], "config[0].addresses[0].colour",
     "no such option"),
    ([{"prefixlen": 24}], "config[0].addresses[0].address", "the field to be set"),
    ([{"address": "198.18.1.1/24", "prefixlen": 129}], "config[0].addresses[0].prefixlen", "<= 128"),
])
def test_schema_errors_name_the_path(entries, path, expected):
    found = problems({"config": [{"name": "eth0", "addresses": entries}]})
    assert path in found, found
    assert expected in found[path].expected, found[path].as_dict()
    assert found[path].found is not None


@pytest.mark.parametrize("entries, path, words", [
    (["198.18.1.1/24", "198.18.1.1/255.255.255.0"], "config[0].addresses[1]", "same address"),
    (["::ffff:198.19.7.10/120", "::FFFF:C613:70A/121"], "config[0].addresses[1]", "same address"),
    (["198.18.1.1/255.0.255.0"], "config[0].addresses[0]", "not contiguous"),
    ([{"address": "198.18.1.1/255.0.255.0"}], "config[0].addresses[0].address", "not contiguous"),
    ([{"address": "198.18.1.1"}], "config[0].addresses[0].address", "no prefix length"),
    ([{"address": "198.18.1.1", "prefixlen": 24, "broadcast": "+"},
      {"address": "198.18.1.1/24"}], "config[0].addresses[1]", "same address"),
    ([{"address": "198.18.1.1/24", "prefixlen": 25}], "config[0].addresses[0].prefixlen",
     "disagrees"),
    ([{"address": "::ffff:198.19.7.10/120", "scope": "host"}], "config[0].addresses[0].scope",
     "IPv6"),
    ([{"address": "::ffff:198.19.7.10/120", "broadcast": "+"}],
     "config[0].addresses[0].broadcast", "IPv6"),
    ([{"address": "198.18.1.1/24", "nodad": True}], "config[0].addresses[0].nodad", "IPv6"),
    ([{"address": "198.18.1.1/24", "peer": "::1"}], "config[0].addresses[0].peer", "not IPv4"),
    ([{"address": "198.18.1.1/24", "label": "eth1:web"}], "config[0].addresses[0].label",
     "start with eth0:"),
    ([{"address": "198.18.1.1/24", "valid_lft": 10, "preferred_lft": 20}],
     "config[0].addresses[0].preferred_lft", "must not exceed"),
    ([{"address": "198.18.1.1/31", "broadcast": "+"}], "config[0].addresses[0].broadcast",
     "no broadcast"),
])
def test_normalisation_errors_name_the_path(entries, path, words):
    found = problems({"config": [{"name": "eth0", "addresses": entries}]})
    assert path in found, found
    assert words in str(found[path]), str(found[path])


def test_every_problem_is_reported_at_once():
    found = problems({"state": "sideways", "config": [
        {"name": "eth0", "addresses": ["198.18.1.1"]},
        {"name": "eth 1", "addresses": [{"address": "198.18.1.1/24", "scope": "moon"}]}]})
    assert {"state", "config[0].addresses[0]", "config[1].name",
            "config[1].addresses[0].scope"} <= set(found)


def test_duplicate_items():
    found = problems({"config": [{"name": "eth0", "addresses": []}, {"name": "eth0"}]})
    assert "config[1].name" in found


def test_deleted_without_addresses_passes_through():
    prepared = prepare({"state": "deleted", "config": [{"name": "eth0"}]})
    assert prepared["config"] == [{"name": "eth0"}]
