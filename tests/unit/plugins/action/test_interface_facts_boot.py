# -*- coding: utf-8 -*-
"""Controller side of gather_subset boot: captured files offline, the facts schema's boot section."""

import json
import os

import jsonschema
import pytest

from ansible_collections.hostnet.netif.plugins.action.interface_facts import offline_boot
from ansible_collections.hostnet.netif.plugins.module_utils import bootconf, reader

SCHEMA_PATH = os.path.join(os.path.dirname(os.path.abspath(reader.__file__)), os.pardir,
                           "plugin_utils", "schemas", "facts.schema.json")

CAPTURE = {
    "/etc/systemd/network/10-eth0.network":
        "[Match]\nName=eth0\n[Link]\nMTUBytes=1400\n[Network]\nAddress=198.18.1.10/24\n",
    "/etc/systemd/network/br0.netdev": "[NetDev]\nName=br0\nKind=bridge\n",
    "/etc/netplan/50-a.yaml": "network:\n  ethernets:\n    eth1:\n      dhcp4: true\n",
    "/etc/NetworkManager/system-connections/x.nmconnection":
        "[connection]\nid=x\ntype=ethernet\ninterface-name=eth2\n[ipv4]\nmethod=auto\n",
    "/etc/network/interfaces": "auto eth3\niface eth3 inet static\n  address 198.18.2.1/24\n",
    "/etc/sysctl.d/10-a.conf": "net.ipv4.conf.*.rp_filter=1\nnet.ipv4.ip_forward = 0\n",
}


@pytest.fixture(scope="module")
def boot_validator():
    with open(SCHEMA_PATH, encoding="utf-8") as handle:
        schema = json.load(handle)
    return jsonschema.Draft202012Validator({"$defs": schema["$defs"], "$ref": "#/$defs/boot"})


def test_offline_capture_gives_a_schema_valid_boot_document(boot_validator):
    boot, warnings = offline_boot(CAPTURE, {"interfaces": {"eth0": {}, "lo": {}}})
    assert sorted(boot["interfaces"]) == ["br0", "eth0", "eth1", "eth2", "eth3"]
    assert {(n, r["manager"]) for n, r in boot["interfaces"].items()} == {
        ("br0", "networkd"), ("eth0", "networkd"), ("eth1", "netplan"),
        ("eth2", "NetworkManager"), ("eth3", "ifupdown")}
    assert boot["sysctl"]["net.ipv4.conf.*.rp_filter"]["glob"] == "net.ipv4.conf.*.rp_filter"
    assert boot["errors"] == []
    assert warnings == []
    problems = [e.message for e in boot_validator.iter_errors(boot)]
    assert problems == []


def test_schema_rejects_what_the_reader_never_returns(boot_validator):
    boot, _w = offline_boot(CAPTURE, {"interfaces": {}})
    boot["interfaces"]["eth0"]["manager"] = "wicked"
    boot["interfaces"]["eth0"]["mtu"] = "1400"
    assert len(list(boot_validator.iter_errors(boot))) == 2


@pytest.mark.parametrize("path", ["etc/sysctl.conf", "/etc/../root/x", "/etc/a\0b"])
def test_offline_refuses_relative_or_escaping_paths(path):
    with pytest.raises(ValueError, match="boot_files"):
        offline_boot({path: "x"}, {})


def test_pending_netplan_without_target_parser_is_completed_like_a_target_parse(tmp_path):
    os.makedirs(str(tmp_path / "etc" / "netplan"))
    (tmp_path / "etc" / "netplan" / "a.yaml").write_text(CAPTURE["/etc/netplan/50-a.yaml"])
    target, _w = bootconf.gather_boot(bootconf.ConfFiles(str(tmp_path)), [], None, None)
    here, _w = bootconf.gather_boot(bootconf.ConfFiles(str(tmp_path)), [], None, bootconf.yaml_loader())
    bootconf.complete(target, bootconf.yaml_loader())
    assert target == here


def test_return_documents_every_boot_key():
    import yaml
    from ansible_collections.hostnet.netif.plugins.modules import interface_facts
    doc = yaml.safe_load(interface_facts.RETURN)
    documented = doc["ansible_facts"]["contains"]["netif"]["contains"]["boot"]["contains"]
    boot, _w = offline_boot(CAPTURE, {"interfaces": {}})
    assert set(boot) == set(documented)


def test_interfaces_and_exclude_globs_apply_to_boot_interfaces():
    request = reader.GatherRequest(gather_subset=["boot"], interfaces=["eth*"], exclude=["eth3"])
    boot, _w = offline_boot(CAPTURE, {"interfaces": {}}, request.wants_name)
    assert sorted(boot["interfaces"]) == ["eth0", "eth1", "eth2"]


def test_a_netplan_id_longer_than_a_kernel_name_is_schema_valid(boot_validator):
    boot, _w = offline_boot({"/etc/netplan/a.yaml": "network:\n  ethernets:\n    uplink-by-mac-address:\n"
                             "      match: {macaddress: '02:00:c6:12:00:01'}\n      mtu: 1400\n"},
                            {"interfaces": {}})
    assert list(boot["interfaces"]) == ["uplink-by-mac-address"]
    assert [e.message for e in boot_validator.iter_errors(boot)] == []
