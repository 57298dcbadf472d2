# -*- coding: utf-8 -*-
# Copyright: hostnet.netif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run interface_facts' main() in-process with ip and the host files faked."""

import contextlib
import importlib
import io
import json

import pytest

from ansible.module_utils import basic

from ansible_collections.hostnet.netif.plugins.module_utils import reader
from ansible_collections.hostnet.netif.plugins.modules import interface_facts

import netif_testlib as lib
from netif_testlib import CAPTURED, CAPTURED_STATS, FakeHost

try:  # ansible-core >= 2.19
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # older ansible-core: module args travel through basic._ANSIBLE_ARGS
    from ansible.module_utils.common.text.converters import to_bytes

    @contextlib.contextmanager
    def patch_module_args(args=None):
        saved = basic._ANSIBLE_ARGS
        basic._ANSIBLE_ARGS = to_bytes(json.dumps({"ANSIBLE_MODULE_ARGS": args or {}}))
        try:
            yield
        finally:
            basic._ANSIBLE_ARGS = saved

IP = "/usr/sbin/ip"
OUTPUTS = {
    ("-d", "addr", "show"): CAPTURED,
    ("-d", "-s", "addr", "show"): CAPTURED_STATS,
    ("-4", "route", "show", "default"): lib.ROUTE4,
    ("-6", "route", "show", "default"): lib.ROUTE6,
}


class FakeIp:
    """Stands in for AnsibleModule.run_command; records every argv."""

    def __init__(self, replies=None):
        self.calls = []
        self.replies = replies or {}

    def __call__(self, args, **kwargs):  # set on the class, called unbound
        assert isinstance(args, list), "commands must be argv lists, got %r" % (args,)
        self.calls.append(args)
        assert args[:2] == [IP, "-json"]
        key = tuple(args[2:])
        if key in self.replies:
            return self.replies[key]
        return 0, lib.fixture_text(OUTPUTS[key]), ""


@pytest.fixture
def host(tmp_path, monkeypatch):
    """Point the module's HostFiles at an empty fake sysfs/procfs tree."""
    fake = FakeHost(tmp_path)
    files = fake.files()  # made before HostFiles is replaced
    monkeypatch.setattr(reader, "HostFiles", lambda *a, **kw: files)
    return fake


def run_module(monkeypatch, args, fake_ip=None, ip_path=IP):
    fake_ip = fake_ip or FakeIp()
    # Importing controller code (action plugins, in other test files) flips
    # ansible-core 2.19's module_utils into controller mode, where warn() goes to
    # the Display instead of the module result; a module runs on a target.
    try:
        internal = importlib.import_module("ansible.module_utils._internal")
    except ImportError:  # ansible-core < 2.19 has no controller mode
        internal = None
    if internal is not None and hasattr(internal, "is_controller"):
        monkeypatch.setattr(internal, "is_controller", False)
    monkeypatch.setattr(basic.AnsibleModule, "run_command", fake_ip)
    monkeypatch.setattr(basic.AnsibleModule, "get_bin_path",
                        lambda self, name, required=False, opt_dirs=None: ip_path if name == "ip" else None)
    out = io.StringIO()
    with patch_module_args(args), contextlib.redirect_stdout(out):
        with pytest.raises(SystemExit) as exit_info:
            interface_facts.main()
    result = json.loads(out.getvalue())
    return exit_info.value.code, result, fake_ip


def warning_texts(result):
    """Warning messages: plain strings before ansible-core 2.19, WarningSummary objects since."""
    texts = []
    for warning in result.get("warnings", []):
        if isinstance(warning, dict):
            warning = (warning.get("event") or {}).get("msg") or warning.get("msg")
        texts.append(warning)
    return texts


def assert_failed(code, result, *needles):
    assert code == 1
    assert result["failed"] is True
    assert "exception" not in result and "Traceback" not in result["msg"]
    for needle in needles:
        assert needle in result["msg"], (needle, result["msg"])


def test_default_gather(monkeypatch, host):
    code, result, fake_ip = run_module(monkeypatch, {})
    assert code == 0
    assert result["changed"] is False
    assert "failed" not in result
    document = result["ansible_facts"]["netif"]
    names = set(link["ifname"] for link in lib.fixture_json(CAPTURED))
    assert set(document["interfaces"]) == names
    assert document["gather_subset"] == ["addresses", "connectivity", "links", "routes"]
    assert [r["gateway"] for r in document["default_routes"]] == ["198.18.1.254", "::ffff:198.18.61.254"]
    assert document["connectivity"]["reachability"] == "online"
    assert "sysctl" not in document
    for facts in document["interfaces"].values():
        assert "statistics" not in facts and "sysctl" not in facts
    # one dump, two route queries, no -s
    assert [c[2:] for c in fake_ip.calls] == [["-d", "addr", "show"], ["-4", "route", "show", "default"],
                                              ["-6", "route", "show", "default"]]
    assert "warnings" not in result


def test_all_subsets(monkeypatch, host):
    roles = lib.roles()
    for name in [link["ifname"] for link in lib.fixture_json(CAPTURED)] + ["all", "default"]:
        host.set_conf("ipv4", name, "rp_filter", 2 if name == roles["veth_dotted"] else 1)
    host.set_conf("ipv4", "all", "rp_filter", 0)
    host.set_host("net.ipv4.tcp_syncookies", 1)
    for link in lib.fixture_json(CAPTURED):
        host.add_interface(link["ifname"])
    code, result, fake_ip = run_module(monkeypatch, {
        "gather_subset": ["all"], "sysctl_keys": ["ipv4.rp_filter", "net.ipv4.tcp_syncookies"]})
    assert code == 0, result
    document = result["ansible_facts"]["netif"]
    assert ["-d", "-s", "addr", "show"] in [c[2:] for c in fake_ip.calls]
    dotted = document["interfaces"][roles["veth_dotted"]]
    assert dotted["statistics"]["tx_packets"] > 0
    assert dotted["sysctl"] == {"ipv4": {"rp_filter": 2}, "effective": {"ipv4": {"rp_filter": 2}}}
    assert document["sysctl"] == {"net.ipv4.conf.all.rp_filter": 0, "net.ipv4.conf.default.rp_filter": 1,
                                  "net.ipv4.tcp_syncookies": 1}
    assert "warnings" not in result


def test_filters_and_check_mode(monkeypatch, host):
    roles = lib.roles()
    code, result, dummy = run_module(monkeypatch, {
        "interfaces": [lib.manifest()["prefix"] + "*"], "exclude": ["*dn-?"], "kinds": ["veth", "bridge"],
        "gather_subset": ["!routes", "!connectivity"], "_ansible_check_mode": True})
    assert code == 0
    document = result["ansible_facts"]["netif"]
    assert set(document["interfaces"]) == {roles["veth_dotted"], roles["veth_bridged"], roles["bridge"]}
    assert "default_routes" not in document and "connectivity" not in document


def test_warnings_reach_the_result(monkeypatch, host):
    """An interface without info_kind whose sysfs directory is gone is dropped with a warning."""
    text = lib.fixture_text("handwritten_vlan.json")
    fake_ip = FakeIp({("-d", "addr", "show"): (0, text, "")})
    code, result, dummy = run_module(monkeypatch, {"gather_subset": ["links"]}, fake_ip)
    assert code == 0
    assert set(result["ansible_facts"]["netif"]["interfaces"]) == {"eth0.100"}
    assert any("interface eth0 vanished" in w for w in warning_texts(result))


def test_ip_missing(monkeypatch, host):
    code, result, fake_ip = run_module(monkeypatch, {}, ip_path=None)
    assert_failed(code, result, "'ip' command", "iproute2")
    assert fake_ip.calls == []


def test_ip_fails(monkeypatch, host):
    fake_ip = FakeIp({("-d", "addr", "show"): (1, "", "Cannot open netlink socket: Permission denied\n")})
    code, result, dummy = run_module(monkeypatch, {}, fake_ip)
    assert_failed(code, result, "%s -json -d addr show" % IP, "Cannot open netlink socket: Permission denied",
                  "rc=1")
    assert result["rc"] == 1
    assert result["cmd"] == [IP, "-json", "-d", "addr", "show"]
    assert result["stderr"] == "Cannot open netlink socket: Permission denied"


def test_route_query_fails(monkeypatch, host):
    fake_ip = FakeIp({("-6", "route", "show", "default"): (2, "", "RTNETLINK answers: Address family not supported")})
    code, result, dummy = run_module(monkeypatch, {}, fake_ip)
    assert_failed(code, result, "-6 route show default", "Address family not supported")


@pytest.mark.parametrize("output, needles", [
    # iproute2 before 4.14 ignores -json and prints text
    ("1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN\n", ("-json", "iproute2", "4.14")),
    ('[{"ifindex": 1, "ifname": "lo"', ("-json", "not JSON")),
    ('{"ifindex": 1}', ("-json", "expected a JSON list")),
])
def test_ip_output_not_json(monkeypatch, host, output, needles):
    fake_ip = FakeIp({("-d", "addr", "show"): (0, output, "")})
    code, result, dummy = run_module(monkeypatch, {}, fake_ip)
    assert_failed(code, result, *needles)


@pytest.mark.parametrize("args, needles", [
    ({"gather_subset": ["links", "hardware"]}, ("gather_subset", "'hardware'")),
    ({"gather_subset": ["!bogus"]}, ("gather_subset", "'!bogus'")),
    ({"interfaces": ["eth[0"]}, ("interfaces[0]", "eth[0", "unclosed")),
    ({"exclude": ["veth*", ""]}, ("exclude[1]",)),
    ({"sysctl_keys": ["ipv4.rp_filter", "ipv4.../x"]}, ("sysctl_keys[1]", "ipv4.../x")),
    ({"sysctl_keys": ["../../etc/shadow"]}, ("sysctl_keys[0]",)),
])
def test_bad_arguments(monkeypatch, host, args, needles):
    code, result, fake_ip = run_module(monkeypatch, args)
    assert_failed(code, result, *needles)
    assert fake_ip.calls == [], "nothing may run before the arguments are valid"


@pytest.mark.parametrize("text, needles", [
    ("not json at all", ("running_config", "not JSON")),
    ('{"ifname": "lo"}', ("running_config: expected the list", "found a JSON object")),
    ("[1, 2, 3]", ("running_config[0]: expected a JSON object", "found 1")),
    ('[["lo"]]', ("running_config[0]: expected a JSON object", "found a list")),
    ('[{"ifindex": 1, "flags": []}]', ("running_config[0].ifname: missing",)),
    ('[{"ifindex": 1, "ifname": "", "flags": []}]', ("item 0 has no valid ifname",)),
    ('[{"ifindex": 1, "ifname": "lo"}]', ("running_config[0].flags: missing",)),
])
def test_running_config_invalid(monkeypatch, host, text, needles):
    code, result, fake_ip = run_module(monkeypatch, {"running_config": text})
    assert_failed(code, result, *needles)
    assert fake_ip.calls == []


@pytest.mark.parametrize("fixture", lib.ADDR_FIXTURES)
def test_running_config_offline(monkeypatch, host, fixture):
    code, result, fake_ip = run_module(monkeypatch, {"running_config": lib.fixture_text(fixture)})
    assert code == 0
    assert fake_ip.calls == [], "running_config must not run ip"
    document = result["ansible_facts"]["netif"]
    assert set(document["interfaces"]) == set(link["ifname"] for link in lib.fixture_json(fixture))
    assert document["default_routes"] == []
