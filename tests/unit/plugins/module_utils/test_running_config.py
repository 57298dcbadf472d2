# -*- coding: utf-8 -*-
"""A malformed ``running_config`` (valid JSON of the wrong shape) is refused with the
field path, on every offline path: the reader, parsed and rendered of interfaces and
addresses, and the sysctls resource's own text parser. Never a bare exception."""

import copy
import json
import random
import re

import pytest

from ansible_collections.hostnet.netif.plugins.module_utils import reader, resource, sysctls
from ansible_collections.hostnet.netif.plugins.module_utils.addresses import AddressesResource
from ansible_collections.hostnet.netif.plugins.module_utils.errors import (
    InputError,
    NetifError,
    ParseError,
)
from ansible_collections.hostnet.netif.plugins.module_utils.interfaces import InterfacesResource

import netif_testlib as lib

CAPTURE = lib.fixture_json(lib.CAPTURED)
ROLES = lib.roles()


def _index(role):
    name = ROLES[role]
    return [link["ifname"] for link in CAPTURE].index(name)


def _address_index(role, family):
    link = CAPTURE[_index(role)]
    return [a["family"] for a in link["addr_info"]].index(family)


def _set(document, steps, value):
    target = document
    for step in steps[:-1]:
        target = target[step]
    if value is _DELETE:
        del target[steps[-1]]
    else:
        target[steps[-1]] = value


_DELETE = object()
LO, VETH, MACVLAN, VXLAN = (_index(r) for r in ("loopback", "veth_dotted", "macvlan", "vxlan"))
V4 = _address_index("veth_dotted", "inet")
V6 = _address_index("veth_dotted", "inet6")

# (id, steps into the capture, the value put there, the path the error names, words it says)
MALFORMED = [
    ("link-is-int", [VETH], 5, "running_config[%d]" % VETH, "found 5"),
    ("link-is-string", [LO], "lo", "running_config[%d]" % LO, 'found "lo"'),
    ("link-is-list", [LO], ["lo"], "running_config[%d]" % LO, "found a list"),
    ("link-is-null", [LO], None, "running_config[%d]" % LO, "found null"),
    ("ifname-int", [VETH, "ifname"], 7, "running_config[%d].ifname" % VETH, "expected a string"),
    ("ifname-missing", [VETH, "ifname"], _DELETE, "running_config[%d].ifname" % VETH, "missing"),
    ("ifname-null", [VETH, "ifname"], None, "running_config[%d].ifname" % VETH, "missing"),
    ("ifindex-string", [LO, "ifindex"], "1", "running_config[%d].ifindex" % LO, 'found "1"'),
    ("ifindex-bool", [LO, "ifindex"], True, "running_config[%d].ifindex" % LO, "found true"),
    ("flags-missing", [LO, "flags"], _DELETE, "running_config[%d].flags" % LO, "missing"),
    ("flags-string", [LO, "flags"], "UP", "running_config[%d].flags" % LO, "expected a list"),
    ("flag-int", [LO, "flags", 0], 1, "running_config[%d].flags[0]" % LO, "expected a string"),
    ("mtu-string", [VETH, "mtu"], "1500", "running_config[%d].mtu" % VETH, "expected an integer"),
    ("mtu-float", [VETH, "mtu"], 1500.5, "running_config[%d].mtu" % VETH, "found 1500.5"),
    ("mtu-object", [VETH, "mtu"], {"v": 1}, "running_config[%d].mtu" % VETH, "found a JSON object"),
    ("operstate-null", [VETH, "operstate"], None, "running_config[%d].operstate" % VETH, "found null"),
    ("mac-int", [VETH, "address"], 17, "running_config[%d].address" % VETH, "expected a string"),
    ("altnames-string", [VETH, "altnames"], "x", "running_config[%d].altnames" % VETH,
     "expected a list"),
    ("alias-list", [VETH, "ifalias"], ["x"], "running_config[%d].ifalias" % VETH, "found a list"),
    ("master-int", [VETH, "master"], 3, "running_config[%d].master" % VETH, "expected a string"),
    ("linkinfo-int", [MACVLAN, "linkinfo"], 5, "running_config[%d].linkinfo" % MACVLAN,
     "expected a JSON object"),
    ("info-kind-list", [MACVLAN, "linkinfo", "info_kind"], ["macvlan"],
     "running_config[%d].linkinfo.info_kind" % MACVLAN, "expected a string"),
    ("info-data-list", [MACVLAN, "linkinfo", "info_data"], [1],
     "running_config[%d].linkinfo.info_data" % MACVLAN, "expected a JSON object"),
    ("macvlan-mode-int", [MACVLAN, "linkinfo", "info_data", "mode"], 4,
     "running_config[%d].linkinfo.info_data.mode" % MACVLAN, "expected a string"),
    ("vxlan-id-string", [VXLAN, "linkinfo", "info_data", "id"], "42",
     "running_config[%d].linkinfo.info_data.id" % VXLAN, "expected an integer"),
    ("addr-info-int", [VETH, "addr_info"], 5, "running_config[%d].addr_info" % VETH,
     "expected a list, found 5"),
    ("addr-info-object", [VETH, "addr_info"], {"local": "198.18.0.1"},
     "running_config[%d].addr_info" % VETH, "found a JSON object"),
    ("address-int", [VETH, "addr_info", V4], 3, "running_config[%d].addr_info[%d]" % (VETH, V4),
     "expected a JSON object"),
    ("address-null", [VETH, "addr_info", V4], None,
     "running_config[%d].addr_info[%d]" % (VETH, V4), "found null"),
    ("family-int", [VETH, "addr_info", V4, "family"], 2,
     "running_config[%d].addr_info[%d].family" % (VETH, V4), "expected a string"),
    ("local-int", [VETH, "addr_info", V4, "local"], 3232235777,
     "running_config[%d].addr_info[%d].local" % (VETH, V4), "expected a string"),
    ("local-not-an-address", [VETH, "addr_info", V4, "local"], "x",
     "running_config[%d].addr_info[%d].local" % (VETH, V4), "expected an IPv4 address"),
    ("local-v6-in-inet", [VETH, "addr_info", V4, "local"], "::ffff:198.18.0.1",
     "running_config[%d].addr_info[%d].local" % (VETH, V4), "expected an IPv4 address"),
    ("local-v4-in-inet6", [VETH, "addr_info", V6, "local"], "198.18.0.1",
     "running_config[%d].addr_info[%d].local" % (VETH, V6), "expected an IPv6 address"),
    ("peer-garbage", [VETH, "addr_info", V4, "address"], "198.18.0.300",
     "running_config[%d].addr_info[%d].address" % (VETH, V4), "found \"198.18.0.300\""),
    ("prefixlen-string", [VETH, "addr_info", V4, "prefixlen"], "24",
     "running_config[%d].addr_info[%d].prefixlen" % (VETH, V4), "expected an integer"),
    ("prefixlen-null", [VETH, "addr_info", V4, "prefixlen"], None,
     "running_config[%d].addr_info[%d].prefixlen" % (VETH, V4), "found null"),
    ("prefixlen-33-v4", [VETH, "addr_info", V4, "prefixlen"], 33,
     "running_config[%d].addr_info[%d].prefixlen" % (VETH, V4), "0 to 32 for inet, found 33"),
    ("prefixlen-negative-v6", [VETH, "addr_info", V6, "prefixlen"], -1,
     "running_config[%d].addr_info[%d].prefixlen" % (VETH, V6), "0 or more, found -1"),
    ("prefixlen-129-v6", [VETH, "addr_info", V6, "prefixlen"], 129,
     "running_config[%d].addr_info[%d].prefixlen" % (VETH, V6), "0 to 128 for inet6"),
    ("max-mtu-negative", [VETH, "max_mtu"], -1, "running_config[%d].max_mtu" % VETH,
     "0 or more, found -1"),
    ("scope-list", [VETH, "addr_info", V4, "scope"], ["global"],
     "running_config[%d].addr_info[%d].scope" % (VETH, V4), "expected a string or an integer"),
    ("lifetime-string", [VETH, "addr_info", V4, "valid_life_time"], "forever",
     "running_config[%d].addr_info[%d].valid_life_time" % (VETH, V4), "expected an integer"),
    ("address-flag-string", [VETH, "addr_info", V4, "secondary"], "yes",
     "running_config[%d].addr_info[%d].secondary" % (VETH, V4), "expected true or false"),
    ("stats-rx-list", [LO, "stats64"], {"rx": [1], "tx": {}}, "running_config[%d].stats64.rx" % LO,
     "expected a JSON object"),
    ("stats-counter-string", [LO, "stats64"], {"rx": {"bytes": "1k"}},
     "running_config[%d].stats64.rx.bytes" % LO, "expected an integer"),
]


def _malformed(steps, value):
    document = copy.deepcopy(CAPTURE)
    _set(document, steps, value)
    return json.dumps(document)


def _offline_runs(text):
    """Every offline entry point that reads an ``ip -json`` capture."""
    def runner(resource_, state, config=()):
        params = dict(state=state, config=list(config), running_config=text, scope=None,
                      force=False)
        return lambda: resource.Runner(resource_, params).run()

    return [
        ("reader", lambda: reader.parse_running_config(text, lib.request(gather_subset=["all"]))),
        ("interfaces parsed", runner(InterfacesResource(), "parsed")),
        ("interfaces rendered", runner(InterfacesResource(), "rendered",
                                       [{"name": ROLES["veth_dotted"], "mtu": 1400}])),
        ("addresses parsed", runner(AddressesResource(), "parsed")),
    ]


def test_the_capture_itself_parses_everywhere():
    for where, run in _offline_runs(json.dumps(CAPTURE)):
        run()  # the unmodified capture goes through every path


@pytest.mark.parametrize("steps, value, path, words",
                         [case[1:] for case in MALFORMED], ids=[case[0] for case in MALFORMED])
def test_malformed_capture_names_the_field(steps, value, path, words):
    text = _malformed(steps, value)
    for where, run in _offline_runs(text):
        with pytest.raises(InputError) as info:
            run()
        assert info.value.path == path, where
        assert str(info.value).startswith(path + ": "), where
        assert words in str(info.value), where


@pytest.mark.parametrize("text, path, words", [
    ('{"ifname": "lo"}', "running_config", "found a JSON object"),
    ('"lo"', "running_config", 'found "lo"'),
    ("5", "running_config", "found 5"),
    ('[{"ifname": "lo", "ifindex": 1, "flags": []}, 7]', "running_config[1]", "found 7"),
    ('[{"ifname": "lo", "ifindex": 1, "flags": [], "addr_info": 5}]',
     "running_config[0].addr_info", "expected a list, found 5"),
])
def test_malformed_small_captures(text, path, words):
    with pytest.raises(InputError) as info:
        reader.parse_running_config(text, lib.request())
    assert info.value.path == path
    assert words in str(info.value)


@pytest.mark.parametrize("text, words", [
    ("not json", "not JSON"),
    ("null", "expected a JSON list"),
])
def test_text_that_is_no_capture_stays_a_parse_error(text, words):
    with pytest.raises(ParseError, match="^running_config: .*" + re.escape(words)):
        reader.parse_running_config(text, lib.request())


def test_random_damage_never_escapes_as_a_bare_exception():
    """Any single value of the capture replaced by any JSON value: a NetifError
    naming running_config, or a document (the damage may be harmless)."""
    values = [5, -1, 0, "x", "", True, None, [], [1], [None], {}, {"a": 1}, 1.5, "1500", 2 ** 70]
    paths = []

    def walk(node, steps):
        if steps:
            paths.append(steps)
        items = node.items() if isinstance(node, dict) else enumerate(node) \
            if isinstance(node, list) else ()
        for key, child in items:
            walk(child, steps + [key])

    walk(CAPTURE, [])
    rnd = random.Random(8)
    refused = 0
    for dummy in range(400):
        text = _malformed(rnd.choice(paths), rnd.choice(values))
        for where, run in _offline_runs(text):
            try:
                run()
            except NetifError as exc:
                refused += 1
                # the capture's field, or (rendered) the config item a damaged capture refuses
                assert re.match(r"(running_config|ip -json addr show|config\[0\])", str(exc)), \
                    (where, exc)
    assert refused > 100


# ---------------------------------------------------------------------------
# sysctls: `sysctl -a` text
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("text, path, words", [
    ("net.ipv4.conf.eth1.rp_filter = 1\nnet.ipv4.conf.eth1.arp_ignore = two\n",
     "running_config line 2", "net.ipv4.conf.eth1.arp_ignore: expected an integer value, found 'two'"),
    ("-net/ipv6/conf/v.1/accept_ra = 1 2\n", "running_config line 1", "found '1 2'"),
    ('[{"ifname": "lo"}]', "running_config", "found JSON"),
    ('  {"eth1": {"rp_filter": 1}}', "running_config", "found JSON"),
])
def test_sysctls_capture_names_the_line(text, path, words):
    params = dict(state="parsed", config=[], running_config=text, scope=None, force=False)
    with pytest.raises(InputError) as info:
        resource.Runner(sysctls.SysctlsResource(), params).run()
    assert info.value.path == path
    assert words in str(info.value)


def test_sysctls_capture_skips_what_it_does_not_manage():
    text = ("net.ipv4.ip_local_port_range = 32768\t60999\n"
            "net.ipv6.conf.eth1.stable_secret = x\n"
            "net.ipv4.conf.eth1.rp_filter = 2\n")
    params = dict(state="parsed", config=[], running_config=text, scope=["eth1"], force=False)
    parsed = resource.Runner(sysctls.SysctlsResource(), params).run()["parsed"]
    assert parsed == [{"name": "eth1", "ipv4": {"rp_filter": 2}}]
