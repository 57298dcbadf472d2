# -*- coding: utf-8 -*-
"""Every entry of fixtures/hostile_inputs.yml is refused on the controller and on the target.

Controller: the action plugin's ``prepare`` (JSON Schema + netaddr normalisation +
duplicate check). Target: AnsibleModule's argspec, then the stdlib re-check of the
state machine on a fake host (check mode), exactly as the module runs it.
"""

import copy
import os

import pytest
import yaml

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.hostnet.netif.plugins.action.addresses import ActionModule as AddressesAction
from ansible_collections.hostnet.netif.plugins.action.interfaces import ActionModule
from ansible_collections.hostnet.netif.plugins.action.sysctls import ActionModule as SysctlsAction
from ansible_collections.hostnet.netif.plugins.module_utils import resource, transaction
from ansible_collections.hostnet.netif.plugins.module_utils.addresses import AddressesResource
from ansible_collections.hostnet.netif.plugins.module_utils.errors import InputError, NetifError
from ansible_collections.hostnet.netif.plugins.module_utils.interfaces import InterfacesResource
from ansible_collections.hostnet.netif.plugins.module_utils.sysctls import SysctlsResource
from ansible_collections.hostnet.netif.plugins.modules import addresses as addresses_module
from ansible_collections.hostnet.netif.plugins.modules import interfaces as interfaces_module
from ansible_collections.hostnet.netif.plugins.modules import sysctls as sysctls_module
from ansible_collections.hostnet.netif.plugins.plugin_utils.resource_action import InputProblems

from netif_fakeip import FakeIp, NoSysfs

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "..", "..", "fixtures", "hostile_inputs.yml")
with open(CORPUS, encoding="utf-8") as handle:
    ENTRIES = yaml.safe_load(handle)
IDS = [entry["id"] for entry in ENTRIES]
MODULES = {"interfaces": (ActionModule, interfaces_module, InterfacesResource),
           "addresses": (AddressesAction, addresses_module, AddressesResource),
           "sysctls": (SysctlsAction, sysctls_module, SysctlsResource)}


def test_corpus_is_big_and_well_formed():
    assert len(ENTRIES) >= 40
    assert len(set(IDS)) == len(IDS)
    for entry in ENTRIES:
        assert set(entry) <= {"id", "module", "args", "path", "sides", "check_mode"}
        assert set(entry.get("sides", ["action", "module"])) <= {"action", "module"}


def action_for(entry):
    cls = MODULES[entry.get("module", "interfaces")][0]
    return object.__new__(cls)  # prepare() needs no task/connection


def fake_host():
    make = FakeIp.make_link
    fake = FakeIp([
        make("lo", mtu=65536, flags=["LOOPBACK", "UP"], mac="00:00:00:00:00:00",
             link_type="loopback"),
        make("eth0", up=True), make("eth1", up=True, max_mtu=9216),
        make("br0", "bridge", up=True),
        make("va", "veth", parent="vb", master="br0"), make("vb", "veth", parent="va"),
        make("mv0", "macvlan", parent="eth1", info_data={"mode": "bridge"}),
    ])
    return fake, transaction.Host(fake.run, FakeIp.IP, environ={}, files=NoSysfs())


@pytest.mark.parametrize("entry", [e for e in ENTRIES if "action" in e.get("sides", ["action", "module"])],
                         ids=[e["id"] for e in ENTRIES if "action" in e.get("sides", ["action", "module"])])
def test_action_side_rejects_with_path(entry):
    with pytest.raises(InputProblems) as info:
        action_for(entry).prepare(copy.deepcopy(entry["args"]))
    paths = [p.path for p in info.value.problems]
    assert entry["path"] in paths, (paths, str(info.value))
    for problem in info.value.problems:
        assert problem.expected and problem.found is not None


@pytest.mark.parametrize("entry", [e for e in ENTRIES if "module" in e.get("sides", ["action", "module"])],
                         ids=[e["id"] for e in ENTRIES if "module" in e.get("sides", ["action", "module"])])
def test_module_side_rejects_with_path(entry, tmp_path):
    dummy, module, resource_cls = MODULES[entry.get("module", "interfaces")]
    validator = ArgumentSpecValidator(module.ARGUMENT_SPEC, required_if=module.REQUIRED_IF)
    checked = validator.validate(copy.deepcopy(entry["args"]))
    field = entry["path"].split(".")[-1].split("[")[0]
    if checked.error_messages:
        assert any(field in message for message in checked.error_messages), checked.error_messages
        return
    fake, host = fake_host()
    lock = transaction.HostLock(str(tmp_path / "lock"), timeout=2)
    runner = resource.Runner(resource_cls(), checked.validated_parameters, host=host,
                             check_mode=entry.get("check_mode", True), lock=lock)
    with pytest.raises(NetifError) as info:
        runner.run()
    assert isinstance(info.value, InputError), str(info.value)
    assert info.value.path == entry["path"], str(info.value)
    assert fake.batches == []
