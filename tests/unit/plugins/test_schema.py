# -*- coding: utf-8 -*-
# Copyright: hostnet.netif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The facts document, its JSON Schema and the module's RETURN documentation agree."""

import copy
import json
import os

import jsonschema
import pytest
import yaml

from ansible_collections.hostnet.netif.plugins.module_utils import reader
from ansible_collections.hostnet.netif.plugins.modules import interface_facts

import netif_testlib as lib
from netif_testlib import CAPTURED, FakeHost

SCHEMA_PATH = os.path.join(os.path.dirname(os.path.abspath(reader.__file__)), os.pardir,
                           "plugin_utils", "schemas", "facts.schema.json")


@pytest.fixture(scope="module")
def schema():
    with open(SCHEMA_PATH, encoding="utf-8") as handle:
        data = json.load(handle)
    jsonschema.Draft202012Validator.check_schema(data)
    return data


@pytest.fixture(scope="module")
def validator(schema):
    return jsonschema.Draft202012Validator(schema)


def _errors(validator, document):
    return ["%s: %s" % ("/".join(str(p) for p in e.absolute_path), e.message)
            for e in validator.iter_errors(document)]


SUBSETS = [["all"], ["min"], None, ["!addresses"], ["stats"], ["links", "sysctl"]]


@pytest.mark.parametrize("subset", SUBSETS, ids=[",".join(s) if s else "default" for s in SUBSETS])
@pytest.mark.parametrize("fixture", lib.ADDR_FIXTURES)
def test_fixture_documents_validate(validator, tmp_path, fixture, subset):
    """Every fixture, every subset, with a fake host so sysfs and sysctl parts are filled in."""
    links = lib.fixture_json(fixture)
    host = FakeHost(tmp_path)
    for link in links:
        host.add_interface(link["ifname"], speed=1000, duplex="full")
        for family, key in (("ipv4", "rp_filter"), ("ipv4", "forwarding"), ("ipv4", "accept_redirects"),
                            ("ipv6", "accept_ra")):
            host.set_conf(family, link["ifname"], key, 1)
    for which in ("all", "default"):
        host.set_conf("ipv4", which, "rp_filter", 2)
        host.set_conf("ipv4", which, "forwarding", 0)
        host.set_conf("ipv4", which, "accept_redirects", 0)
        host.set_conf("ipv6", which, "accept_ra", 0)
    host.set_host("net.ipv4.ip_local_port_range", "32768\t60999")
    request = lib.request(gather_subset=subset, sysctl_keys=[
        "ipv4.rp_filter", "ipv4.accept_redirects", "ipv4.arp_ignore", "ipv6.accept_ra",
        "net.ipv4.ip_local_port_range", "net.ipv4.tcp_syncookies"])
    document, warnings = reader.build_document(links, request, lib.fixture_json(lib.ROUTE4),
                                               lib.fixture_json(lib.ROUTE6), host.files())
    assert warnings == []
    assert _errors(validator, document) == []
    # and the document survives a JSON round trip unchanged (what Ansible does to it)
    assert json.loads(json.dumps(document)) == document


@pytest.mark.parametrize("fixture", lib.ADDR_FIXTURES)
def test_offline_documents_validate(validator, fixture):
    document, dummy = lib.offline_document(fixture, routes=True)
    assert _errors(validator, document) == []


def _break(document, path, value):
    target = document
    for key in path[:-1]:
        target = target[key]
    if value is _DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return document


_DELETE = object()
LO = ["interfaces", "lo"]
BREAKAGES = [
    ("mtu-as-string", LO + ["mtu"], "65536"),
    ("index-zero", LO + ["index"], 0),
    ("kind-missing", LO + ["kind"], _DELETE),
    ("unknown-interface-key", LO + ["colour"], "blue"),
    ("type-not-in-enum", LO + ["type"], "quantum"),
    ("mac-uppercase", LO + ["mac"], "AA:BB:CC:DD:EE:FF"),
    ("carrier-as-string", LO + ["carrier"], "yes"),
    ("flags-duplicated", LO + ["flags"], ["up", "up"]),
    ("prefixlen-too-big", LO + ["addresses", 0, "prefixlen"], 129),
    ("lifetime-negative", LO + ["addresses", 0, "valid_lft"], -1),
    ("lifetime-over-64-bit", LO + ["addresses", 0, "valid_lft"], 2 ** 64),
    ("address-family", LO + ["addresses", 0, "family"], "ipx"),
    ("address-extra-key", LO + ["addresses", 0, "zone"], "x"),
    ("dns-eligible-missing", LO + ["addresses", 0, "dns_eligible"], _DELETE),
    ("schema-version", ["schema_version"], 2),
    ("unknown-top-level", ["extra"], {}),
    ("summary-missing", ["summary"], _DELETE),
    ("reachability", ["connectivity", "reachability"], "maybe"),
    ("vlan-id-too-big", LO + ["vlan"], {"id": 5000, "protocol": "802.1Q"}),
    ("name-too-long", ["interfaces", "a" * 61], None),
]


@pytest.mark.parametrize("path, value", [b[1:] for b in BREAKAGES], ids=[b[0] for b in BREAKAGES])
def test_broken_documents_fail(validator, path, value):
    document, dummy = lib.offline_document(CAPTURED, routes=True)
    assert _errors(validator, document) == []
    if path == ["interfaces", "a" * 61]:
        value = copy.deepcopy(document["interfaces"]["lo"])
    broken = _break(copy.deepcopy(document), path, value)
    assert _errors(validator, broken), "schema accepted %s" % (path,)


def test_large_64_bit_lifetime_is_valid(validator):
    document, dummy = lib.offline_document(CAPTURED)
    document["interfaces"]["lo"]["addresses"][0]["valid_lft"] = 2 ** 40
    assert _errors(validator, document) == []


# ---------------------------------------------------------------------------
# RETURN documentation vs schema
# ---------------------------------------------------------------------------
def _return_fields(return_doc):
    netif = return_doc["ansible_facts"]["contains"]["netif"]["contains"]
    interface = netif["interfaces"]["contains"]
    address = interface["addresses"]["contains"]
    return {"document": set(netif), "interface": set(interface), "address": set(address)}


def _schema_fields(schema):
    return {
        "document": set(schema["properties"]),
        "interface": set(schema["$defs"]["interface"]["properties"]),
        "address": set(schema["$defs"]["address"]["properties"]),
    }


def doc_schema_mismatches(return_doc, schema):
    """Every field one side has and the other lacks, as readable lines."""
    documented, specified = _return_fields(return_doc), _schema_fields(schema)
    problems = []
    for level in ("document", "interface", "address"):
        for name in sorted(specified[level] - documented[level]):
            problems.append("%s.%s is in the schema but not in RETURN" % (level, name))
        for name in sorted(documented[level] - specified[level]):
            problems.append("%s.%s is in RETURN but not in the schema" % (level, name))
    return problems


@pytest.fixture(scope="module")
def return_doc():
    return yaml.safe_load(interface_facts.RETURN)


def test_return_doc_matches_schema(return_doc, schema):
    assert doc_schema_mismatches(return_doc, schema) == []


@pytest.mark.parametrize("level, path", [
    ("document", ["properties"]),
    ("interface", ["$defs", "interface", "properties"]),
    ("address", ["$defs", "address", "properties"]),
])
def test_field_only_in_schema_is_caught(return_doc, schema, level, path):
    changed = copy.deepcopy(schema)
    target = changed
    for key in path:
        target = target[key]
    target["undocumented_field"] = {"type": "string"}
    assert doc_schema_mismatches(return_doc, changed) == [
        "%s.undocumented_field is in the schema but not in RETURN" % level]


@pytest.mark.parametrize("level", ["document", "interface", "address"])
def test_field_only_in_return_is_caught(return_doc, schema, level):
    changed = copy.deepcopy(return_doc)
    netif = changed["ansible_facts"]["contains"]["netif"]["contains"]
    target = {"document": netif,
              "interface": netif["interfaces"]["contains"],
              "address": netif["interfaces"]["contains"]["addresses"]["contains"]}[level]
    target["phantom_field"] = {"description": "x", "returned": "always", "type": "str"}
    assert doc_schema_mismatches(changed, schema) == ["%s.phantom_field is in RETURN but not in the schema" % level]


def test_documents_use_every_documented_field(return_doc):
    """What the reader produces with every subset is exactly what RETURN documents."""
    document, dummy = lib.offline_document(CAPTURED, routes=True, gather_subset=["all"])
    fields = _return_fields(return_doc)
    # offline there is no host, so the host-level sysctl block and the packet sockets
    # (procfs) are the documented keys missing; boot is opt-in (not in all) and has its own
    # test in tests/unit/plugins/action/test_interface_facts_boot.py
    assert set(document) == fields["document"] - {"sysctl", "packet_sockets", "boot"}
    # name_hex / alias_hex appear only for names and aliases that are escaped
    # (test_hostile_host_data.py checks them); the capture has none
    for facts in document["interfaces"].values():
        assert set(facts) == fields["interface"] - {"sysctl", "packet_sockets", "name_hex", "alias_hex"}
        for entry in facts["addresses"]:
            assert set(entry) == fields["address"]
