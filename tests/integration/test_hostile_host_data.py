"""Names and aliases a host may hold never make it unreadable or unmanageable (issue #8).

On a real lab host, interfaces get names the kernel accepts but that are odd
(U+2028, U+0085, U+3000, 0x1c, a byte that is not UTF-8) and aliases with raw
control characters, made with bytes argv (no shell). Then real ansible runs
interface_facts, interfaces tasks on other interfaces (including one that fails
in the kernel, so the re-read and the restore run) and the audit role. Before
the fix every one of them failed on such a host. The host is checked with
``ip -json`` read here (bytes, lenient JSON), never with the module's reading.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess

import pytest

from tests.integration.helpers import run_playbook
from tests.integration.test_interfaces import play

ODD = {  # odd part of the name -> how the facts must spell it (docs/facts.md)
    b"\xe2\x80\xa8": "\\u2028",
    b"\xc2\x85": "\\u0085",
    b"\xe3\x80\x80": "\\u3000",
    b"\x1c": "\\x1c",
    b"\xff": "\\xff",
}
CONTROL_ALIAS = b"ctl\x01\x02\x1b[31m\x0e\x7f\xc2\x85 end"
CONTROL_ALIAS_SHOWN = "ctl\\x01\\x02\\x1b[31m\\x0e\\x7f\\u0085 end"


def _ip(host, *args):
    argv = [b"ip", b"-n", host.netns.encode()] + [a if isinstance(a, bytes) else a.encode() for a in args]
    proc = subprocess.run(argv, capture_output=True, check=False, timeout=30)
    assert proc.returncode == 0, (argv, proc.stderr)
    return proc.stdout


def raw_links(host):
    """{name bytes: link} from ``ip -json -d link show`` read leniently (the test's own reading)."""
    text = _ip(host, "-json", "-d", "link", "show").decode("utf-8", "surrogateescape")
    return {link["ifname"].encode("utf-8", "surrogateescape"): link
            for link in json.loads(text, strict=False)}


def link_state(host):
    """What a task may change, per interface (counters and timers left out)."""
    return {name: {k: link.get(k) for k in ("mtu", "ifalias", "flags", "master", "address", "txqlen")}
            for name, link in raw_links(host).items()}


@pytest.fixture(scope="module")
def lab(lab_factory):
    return lab_factory(hosts=1)


@pytest.fixture(scope="module")
def hostile(lab):
    """Bridges with odd names, plain bridges with control-character aliases; removed by name."""
    host = lab.hosts[0]
    tag = secrets.token_hex(2).encode()
    odd = {b"h" + tag + part + b"z": "h%s%sz" % (tag.decode(), shown) for part, shown in ODD.items()}
    plain = {key: b"h" + tag + key for key in (b"al", b"p1", b"p2")}
    made = []
    try:
        for name in list(odd) + list(plain.values()):
            _ip(host, "link", "add", name, "type", "bridge")
            made.append(name)
        _ip(host, "link", "set", "dev", plain[b"al"], "alias", CONTROL_ALIAS)
        _ip(host, "link", "set", "dev", b"h" + tag + b"\xffz", "alias", CONTROL_ALIAS)
        yield {"host": host, "odd": odd, "plain": {k.decode(): v.decode() for k, v in plain.items()}}
    finally:
        for name in reversed(made):
            subprocess.run([b"ip", b"-n", host.netns.encode(), b"link", b"del", b"dev", name],
                           capture_output=True, check=False, timeout=30)
        left = set(made) & set(raw_links(host))
        assert not left, "left behind: %r" % left


def test_the_host_really_has_the_hostile_names(hostile):
    links = raw_links(hostile["host"])
    assert set(hostile["odd"]) <= set(links)
    assert links[hostile["plain"]["al"].encode()]["ifalias"].encode("utf-8", "surrogateescape") \
        == CONTROL_ALIAS


def test_facts_gather_and_represent_every_name(lab, hostile):
    host, plain = hostile["host"], hostile["plain"]
    tasks = [
        {"hostnet.netif.interface_facts": {"gather_subset": ["all"]}},
        {"hostnet.netif.interface_facts": {"interfaces": [plain["p1"] + "x", plain["p1"]]}},
    ]
    rc, out, err, results = play(lab, host, tasks)
    assert rc == 0, out[-3000:] + err[-3000:]
    assert "ansible_facts" in results[0], results[0]
    facts = results[0]["ansible_facts"]["netif"]["interfaces"]
    for raw, shown in hostile["odd"].items():
        assert facts[shown]["name"] == shown
        assert bytes.fromhex(facts[shown]["name_hex"]) == raw
        assert facts[shown]["kind"] == "bridge" and facts[shown]["sysctl"]["ipv4"]
    al = facts[plain["al"]]
    assert al["alias"] == CONTROL_ALIAS_SHOWN and bytes.fromhex(al["alias_hex"]) == CONTROL_ALIAS
    assert "name_hex" not in facts["eth0"] and "alias_hex" not in facts["eth0"]
    # item 6: the literal name that matches nothing is named in a warning
    assert list(results[1]["ansible_facts"]["netif"]["interfaces"]) == [plain["p1"]]
    assert '"%sx" names no interface on this host' % plain["p1"] in out + err


def test_setters_work_beside_hostile_names_and_refuse_control_aliases(lab, hostile):
    host, plain = hostile["host"], hostile["plain"]
    p1, p2 = plain["p1"], plain["p2"]
    before = link_state(host)
    tasks = [
        # refused before anything changes, naming the field
        {"name": p1, "alias": "x\x01y"},
        # the kernel refuses a bridge in a bridge after the MTU and alias changes: re-read +
        # restore, which must put the control-character alias back byte for byte
        {"config": [{"name": p1, "mtu": 1400}, {"name": plain["al"], "alias": "clean"},
                    {"name": p2, "master": p1}]},
    ]
    rc, out, err, results = play(lab, host, [{"hostnet.netif.interfaces": {"config": [tasks[0]]}},
                                             {"hostnet.netif.interfaces": tasks[1]}])
    refused, restored = results
    assert refused.get("failed") and "config[0].alias" in refused["msg"], refused
    assert restored.get("failed") and restored.get("restored") is True, restored
    assert [line for line in restored["restore_commands"] if " alias " in line] == \
        ['link set dev %s alias "%s"' % (plain["al"], CONTROL_ALIAS.decode("utf-8", "surrogateescape"))]
    assert link_state(host) == before   # ifalias compared as the kernel's bytes
    rc, out, err, results = play(lab, host, [{"config": [{"name": p1, "mtu": 1400, "alias": "ok\tnow"}]}])
    assert rc == 0 and results[0]["changed"], out[-3000:] + err[-3000:]
    after = raw_links(host)[p1.encode()]
    assert after["mtu"] == 1400 and after["ifalias"] == "ok\tnow"


def test_setter_refuses_to_change_an_escaped_name(lab, hostile):
    host = hostile["host"]
    shown = hostile["odd"][[raw for raw in hostile["odd"] if raw.endswith(b"\xffz")][0]]
    before = link_state(host)
    rc, out, err, results = play(lab, host, [{"config": [{"name": shown, "mtu": 1400}]}])
    assert results[0].get("failed") and "config[0].name" in results[0]["msg"], results[0]
    assert link_state(host) == before


def test_audit_role_judges_the_host(lab, hostile, tmp_path):
    name_rule = {"schema_version": 1, "name": "site", "rules": [{
        "id": "site.interface_name_plain", "title": "Interface names are plain",
        "severity": "medium", "rationale": "R", "remediation": {"text": "rename it"},
        "scope": "interface", "fact": "name_hex", "expect": {"absent": True}}]}
    playbook = "- hosts: lab\n  gather_facts: false\n  roles:\n    - role: hostnet.netif.audit\n"
    rc, out, err = run_playbook(lab, playbook, {"netif_audit_report_dir": str(tmp_path),
                                                "netif_audit_policy": ["cis_network", name_rule]},
                                timeout=300)
    assert rc == 0, out[-3000:] + err[-3000:]
    with open(os.path.join(str(tmp_path), "netif-audit.json"), encoding="utf-8") as handle:
        report = json.load(handle)
    assert [f for f in report["findings"] if f["status"] == "error"] == []
    flagged = sorted(f["interface"] for f in report["findings"]
                     if f["rule"] == "site.interface_name_plain" and f["status"] == "fail")
    assert flagged == sorted(hostile["odd"].values())
