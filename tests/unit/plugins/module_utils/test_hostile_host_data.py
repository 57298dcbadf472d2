# -*- coding: utf-8 -*-
# Copyright: hostnet.netif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Host data that must never break a read: names and aliases the kernel accepts.

The ``ip -json`` text here is written the way iproute2 6.1 prints it (measured
in a namespace): names and aliases byte for byte, only tab/newline/CR/backspace/
formfeed, ``"`` and ``\\`` escaped; other control characters raw and bytes that
are not UTF-8 as they are. Before the fix the strict JSON parse failed on the
raw controls, the name check refused U+2028/U+0085/U+3000/\\x1c, and a \\xff name
reached the controller as a lone surrogate (refused there).
"""

import json
import re

import pytest

from ansible_collections.hostnet.netif.plugins.module_utils import model, planner, reader
from ansible_collections.hostnet.netif.plugins.module_utils import resource, transaction
from ansible_collections.hostnet.netif.plugins.module_utils.errors import (
    CommandError,
    InputError,
)
from ansible_collections.hostnet.netif.plugins.module_utils.interfaces import (
    CONFIG_OPTIONS,
    InterfacesResource,
)

import netif_testlib as lib
from netif_fakeip import FakeIp, NoSysfs

# kernel name bytes -> the key the facts must use (docs/facts.md)
HOSTILE_NAMES = [
    (b"a\xe2\x80\xa8b", "a\\u2028b"),    # U+2028 LINE SEPARATOR
    (b"a\xc2\x85b", "a\\u0085b"),        # U+0085 NEXT LINE (C1)
    (b"a\xe3\x80\x80b", "a\\u3000b"),    # U+3000 IDEOGRAPHIC SPACE
    (b"a\x1cb", "a\\x1cb"),              # FS, whitespace to Python, not to the kernel
    (b"a\x01b", "a\\x01b"),
    (b"a\x7fb", "a\\x7fb"),
    (b"a\xffb", "a\\xffb"),              # not UTF-8
    (b"a\\xffb", "a\\\\xffb"),           # a literal backslash: must not collide with the above
    (b"a\xc3\xbfb", "a\u00ffb"),         # U+00FF is printable: kept exactly
]
ALIAS = b"x\x01y\x1b\x07\xff\tq\\\"\x85\xc2\x85"   # as `ip link set dev d0 alias` got it


def _json_bytes(raw):
    """A JSON string literal the way iproute2's json_writer prints it."""
    out = b'"'
    for byte in bytearray(raw):
        char = bytes([byte])
        out += {b"\t": b"\\t", b"\n": b"\\n", b"\r": b"\\r", b"\f": b"\\f", b"\b": b"\\b",
                b"\\": b"\\\\", b'"': b'\\"'}.get(char, char)
    return out + b'"'


def _link_bytes(index, name, alias=None, master=None, label=None):
    parts = [b'"ifindex":%d' % index, b'"ifname":' + _json_bytes(name),
             b'"flags":["BROADCAST","MULTICAST","UP","LOWER_UP"]', b'"mtu":1500',
             b'"qdisc":"noqueue"', b'"operstate":"UP"', b'"group":"default"', b'"txqlen":1000',
             b'"link_type":"ether"', b'"address":"02:00:00:00:00:%02x"' % index,
             b'"linkinfo":{"info_kind":"bridge"}']
    if master is not None:
        parts.append(b'"master":' + _json_bytes(master))
    if alias is not None:
        parts.append(b'"ifalias":' + _json_bytes(alias))
    addr = b""
    if label is not None:
        addr = (b'{"family":"inet","local":"198.18.0.%d","prefixlen":24,"scope":"global",'
                b'"label":' % index) + _json_bytes(label) + \
            b',"valid_life_time":4294967295,"preferred_life_time":4294967295}'
    parts.append(b'"addr_info":[' + addr + b"]")
    return b"{" + b",".join(parts) + b"}"


def hostile_dump():
    """Bytes of ``ip -json -d addr show`` on a host with every hostile name and alias."""
    links = [_link_bytes(1, b"eth0", alias=ALIAS, master=b"a\xffb", label=b"eth0")]
    for number, (raw, dummy) in enumerate(HOSTILE_NAMES, 2):
        label = raw if raw == b"a\x1cb" else None
        links.append(_link_bytes(number, raw, label=label))
    return b"[" + b",".join(links) + b"]\n"


def _decoded(raw):
    return raw.decode("utf-8", "surrogateescape")   # what module_glue.command_runner hands over


def _strict_utf8_json(document):
    """What the controller accepts: JSON text that encodes to UTF-8 without surrogates."""
    return json.dumps(document, ensure_ascii=False).encode("utf-8")


# ---------------------------------------------------------------------------
# parsing
# ---------------------------------------------------------------------------
def test_the_dump_is_what_broke_the_strict_parse():
    with pytest.raises(ValueError, match="Invalid control character"):
        json.loads(_decoded(hostile_dump()))


@pytest.mark.parametrize("as_bytes", [False, True], ids=["text", "bytes"])
def test_parse_ip_json_accepts_raw_controls_and_non_utf8(as_bytes):
    raw = hostile_dump()
    links = reader.parse_ip_json(raw if as_bytes else _decoded(raw), "ip -json -d addr show")
    names = [link["ifname"] for link in links]
    assert names == ["eth0"] + [_decoded(raw) for raw, dummy in HOSTILE_NAMES]
    assert links[0]["ifalias"] == _decoded(ALIAS)


def test_parse_error_quotes_output_as_ascii():
    with pytest.raises(Exception) as info:
        reader.parse_ip_json(_decoded(b"junk \xff\x01"), "src")
    _strict_utf8_json({"msg": str(info.value)})
    assert "\\xff" in str(info.value) or "\\udcff" in str(info.value)


# ---------------------------------------------------------------------------
# the facts document
# ---------------------------------------------------------------------------
def _gather(tmp_path, **kwargs):
    host = lib.FakeHost(tmp_path)
    for raw, dummy in [(b"eth0", None)] + HOSTILE_NAMES:
        name = _decoded(raw)
        host.add_interface(name)
        host.set_conf("ipv4", name, "rp_filter", 2)
    for scope in ("all", "default"):
        host.set_conf("ipv4", scope, "rp_filter", 0)
    dump = _decoded(hostile_dump())
    ip = reader.IpRunner("/sbin/ip", lambda argv: (0, dump if "addr" in argv else "[]", ""))
    kwargs.setdefault("gather_subset", ["all"])
    kwargs.setdefault("sysctl_keys", ["ipv4.rp_filter"])
    return reader.gather(ip, lib.request(**kwargs), host.files())


def test_gather_represents_every_name_losslessly(tmp_path):
    document, warnings = _gather(tmp_path)
    assert warnings == []
    interfaces = document["interfaces"]
    assert sorted(interfaces) == sorted(["eth0"] + [key for dummy, key in HOSTILE_NAMES])
    for raw, key in HOSTILE_NAMES:
        facts = interfaces[key]
        assert facts["name"] == key
        if key == _decoded(raw):   # plain: exact, no hex
            assert "name_hex" not in facts
        else:
            assert bytes.fromhex(facts["name_hex"]) == raw
        # sysfs and procfs were read under the kernel's name, not the escaped key
        assert facts["sysctl"]["ipv4"]["rp_filter"] == 2
    assert "name_hex" not in interfaces["eth0"]


def test_gather_escapes_alias_master_and_label(tmp_path):
    document, dummy = _gather(tmp_path)
    eth0 = document["interfaces"]["eth0"]
    assert eth0["alias"] == "x\\x01y\\x1b\\x07\\xff\\x09q\\\\\"\\x85\\u0085"
    assert bytes.fromhex(eth0["alias_hex"]) == ALIAS
    assert eth0["master"] == "a\\xffb" and eth0["master"] in document["interfaces"]
    assert document["interfaces"]["a\\x1cb"]["addresses"][0]["label"] == "a\\x1cb"
    assert eth0["addresses"][0]["label"] == "eth0"


def test_gathered_document_is_strict_utf8_and_valid(tmp_path):
    document, dummy = _gather(tmp_path)
    text = _strict_utf8_json(document).decode("utf-8")
    assert not re.search("[\x00-\x1f\x7f-\x9f\u2028\u2029]", text.replace("\\", ""))
    from ansible_collections.hostnet.netif.plugins.plugin_utils import validate
    assert validate.problems(document, validate.load_schema("facts")) == []


def test_offline_running_config_reads_hostile_capture():
    document, warnings = reader.parse_running_config(_decoded(hostile_dump()),
                                                     lib.request(gather_subset=["links"]))
    assert "a\\xffb" in document["interfaces"] and warnings == []
    _strict_utf8_json(document)


def test_plain_names_and_aliases_are_untouched():
    document, dummy = lib.offline_document(lib.CAPTURED)
    for link in lib.fixture_json(lib.CAPTURED):
        facts = document["interfaces"][link["ifname"]]
        assert facts["alias"] == link.get("ifalias")
        assert "name_hex" not in facts and "alias_hex" not in facts


@pytest.mark.parametrize("texts", [
    ["a\\xffb", _decoded(b"a\xffb")],
    ["a\\u0085b", _decoded(b"a\x85b"), _decoded(b"a\xc2\x85b")],
    ["a\\\\b", "a\\b"],
    ["\\x01", "\x01"],
])
def test_escape_text_is_injective_and_printable(texts):
    escaped = [model.escape_text(text) for text in texts]
    assert len(set(escaped)) == len(texts)
    for text in escaped:
        assert text.isprintable()
        text.encode("utf-8")


def test_globs_match_the_facts_spelling(tmp_path):
    document, warnings = _gather(tmp_path, interfaces=["a\\x*"], gather_subset=["links"])
    assert sorted(document["interfaces"]) == ["a\\x01b", "a\\x1cb", "a\\x7fb", "a\\xffb"]
    assert warnings == []


# ---------------------------------------------------------------------------
# item 6: a literal name that matches nothing
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("include, warned", [
    (["eht0"], ["eht0"]),
    (["eth0"], []),
    (["eth*", "nosuch?"], []),
    (["eth0", "lo0", "a[0]"], ["lo0"]),
    (["a\\xffb"], []),
])
def test_literal_interface_name_that_matches_nothing_warns(include, warned):
    document, warnings = reader.parse_running_config(_decoded(hostile_dump()),
                                                     lib.request(interfaces=include))
    assert [w for w in warnings if "names no interface" in w] == \
        ['interfaces: "%s" names no interface on this host (no glob characters, so it matches '
         'only that exact name)' % name for name in warned]


def test_literal_name_filtered_by_kind_does_not_warn():
    document, warnings = reader.parse_running_config(
        _decoded(hostile_dump()), lib.request(interfaces=["eth0"], kinds=["vxlan"]))
    assert document["interfaces"] == {} and warnings == []


# ---------------------------------------------------------------------------
# setters: refuse to change what the planner cannot quote
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", [key for raw, key in HOSTILE_NAMES if key != _decoded(raw)]
                         + [_decoded(raw) for raw, key in HOSTILE_NAMES if key != _decoded(raw)])
def test_escaped_and_raw_hostile_names_are_refused_for_changes(name):
    with pytest.raises(InputError) as info:
        planner.link_set(name, "mtu", 1400, path="config[2]")
    assert info.value.path == "config[2].name"


@pytest.mark.parametrize("char", ["\x01", "\x08", "\x0e", "\x1b", "\x1f", "\x7f", "\x85", "\x9f",
                                  "\u2028", "\u2029", "\x00", "\x0b", "\x0c",
                                  _decoded(b"\xff")])
def test_alias_with_control_characters_is_refused(char):
    with pytest.raises(InputError) as info:
        planner.quote_alias("to" + char + "core", "config[0].alias")
    assert info.value.path == "config[0].alias"


def test_alias_with_tab_is_still_accepted():
    assert planner.quote_alias("to\tcore", "config[0].alias") == '"to\tcore"'


@pytest.mark.parametrize("field, value", [
    ("local", "fe80::1%a b"), ("local", "fe80::1%x#y"), ("remote", "fe80::1%eth0"),
    ("remote", "fe80::1%a\nlink delete dev eth0"), ("local", " 198.18.0.1"),
])
def test_vxlan_zone_ids_are_refused_on_the_target(field, value):
    params = {"vni": 42, field: value}
    with pytest.raises(InputError) as info:
        planner.link_create("vx0", "vxlan", params, path="config[1]")
    assert info.value.path == "config[1].%s" % field


def test_command_error_result_is_strict_utf8():
    error = CommandError(["ip", _decoded(b"a\xffb")], 1, _decoded(b'Cannot find device "a\xffb"'))
    result = error.to_result()
    _strict_utf8_json(result)
    assert "a\\xffb" in result["stderr"] and "a\\xffb" in result["msg"]


# ---------------------------------------------------------------------------
# a whole setter task on a host with hostile names and aliases
# ---------------------------------------------------------------------------
class IpStyleFake(FakeIp):
    """FakeIp whose dump prints names and aliases byte for byte, like iproute2."""

    def run(self, argv, data=None):
        rc, out, err = super(IpStyleFake, self).run(argv, data)
        if list(argv[1:]) == ["-json", "-d", "addr", "show"] and rc == 0:
            out = re.sub(r"\\u00([01][0-9a-f]|7f)", lambda m: chr(int(m.group(1), 16)),
                         json.dumps(json.loads(out), ensure_ascii=False))
        return rc, out, err


def _rig():
    make = FakeIp.make_link
    links = [make("eth0", up=True), make("eth1", up=True),
             make(_decoded(b"a\xffb"), "bridge", up=True, mac="02:00:00:00:00:ff"),
             make("a\x1cb", "bridge", up=True)]
    links[1]["ifalias"] = "bad\x01alias\x1b"
    fake = IpStyleFake(links)
    return fake, transaction.Host(fake.run, FakeIp.IP, environ={}, files=NoSysfs())


def _run(host, state, config, **kwargs):
    params = dict(state=state, config=[dict((k, item.get(k)) for k in CONFIG_OPTIONS)
                                       for item in config],
                  running_config=None, scope=None, force=False)
    params.update(kwargs)
    lock = transaction.HostLock("/tmp/hostnet-netif-unit-hostile-%d.lock" % id(host), timeout=5)
    return resource.Runner(InterfacesResource(), params, host=host, lock=lock).run()


def test_setter_on_another_interface_succeeds_and_results_are_utf8():
    fake, host = _rig()
    result = _run(host, "merged", [{"name": "eth0", "mtu": 1400}])
    assert result["changed"] and result["commands"] == ["link set dev eth0 mtu 1400"]
    assert fake.links["eth0"]["mtu"] == 1400
    _strict_utf8_json(result)


def test_failed_task_restores_on_a_host_with_raw_controls():
    fake, host = _rig()
    fake.fail_on["mtu 1300"] = "Error: mtu refused"
    with pytest.raises(transaction.TransactionError) as info:
        _run(host, "merged", [{"name": "eth0", "mtu": 1400}, {"name": "eth1", "mtu": 1300}])
    assert info.value.restore_error is None
    assert fake.links["eth0"]["mtu"] == 1500


def test_setting_an_alias_with_controls_is_refused_and_host_unchanged():
    fake, host = _rig()
    before = json.dumps(fake.links, sort_keys=True)
    with pytest.raises(InputError) as info:
        _run(host, "merged", [{"name": "eth0", "alias": "x\x01y"}])
    assert info.value.path == "config[0].alias"
    assert json.dumps(fake.links, sort_keys=True) == before and fake.batches == []


def test_gathered_lists_hostile_interfaces():
    fake, host = _rig()
    result = _run(host, "gathered", [])
    names = [item["name"] for item in result["gathered"]]
    assert names == sorted(["eth0", "eth1", "a\\xffb", "a\\x1cb"])
    eth1 = [item for item in result["gathered"] if item["name"] == "eth1"][0]
    assert eth1["alias"] == "bad\\x01alias\\x1b"
    _strict_utf8_json(result)


def test_overridden_refuses_to_reset_a_hostile_name_in_scope():
    fake, host = _rig()
    fake.links[_decoded(b"a\xffb")]["mtu"] = 1400   # not at its default: a reset would change it
    with pytest.raises(InputError) as info:
        _run(host, "overridden", [{"name": "eth0"}], scope=["*"])
    assert info.value.path == "scope" and "a\\xffb" in str(info.value)
    assert fake.batches == []


def test_overridden_leaves_hostile_names_alone_when_nothing_changes():
    fake, host = _rig()
    result = _run(host, "overridden", [{"name": "eth0", "mtu": 1400}], scope=["eth*", "a*"])
    assert sorted(result["commands"]) == ['link set dev eth0 mtu 1400',
                                          'link set dev eth1 alias ""']


# ---------------------------------------------------------------------------
# the audit can judge such names (docs/facts.md shows this rule)
# ---------------------------------------------------------------------------
NAME_RULE = {"schema_version": 1, "name": "site", "rules": [{
    "id": "site.interface_name_plain", "title": "Interface names are plain", "severity": "medium",
    "rationale": "R", "remediation": {"text": "rename the interface"}, "scope": "interface",
    "fact": "name_hex", "expect": {"absent": True}}]}


def test_audit_flags_exactly_the_escaped_names(tmp_path):
    from ansible_collections.hostnet.netif.plugins.plugin_utils.audit import engine
    document, dummy = _gather(tmp_path)
    policy = engine.load_policy([NAME_RULE])
    findings = engine.evaluate_host(policy, "h1", ["all"], document, "2030-01-01")
    failed = sorted(f["interface"] for f in findings if f["status"] == "fail")
    assert failed == sorted(key for raw, key in HOSTILE_NAMES if key != _decoded(raw))
    _strict_utf8_json(findings)


def test_restore_puts_back_an_escaped_alias_byte_for_byte():
    """Changing a control-character alias and failing later: the exact bytes come back,
    not the escaped spelling (which would read back equal and hide the loss)."""
    fake, host = _rig()
    fake.links["eth1"]["ifalias"] = _decoded(b"bad\x01alias\x1b\xff")
    fake.fail_on["mtu 1300"] = "Error: mtu refused"
    with pytest.raises(transaction.TransactionError) as info:
        _run(host, "merged", [{"name": "eth1", "alias": "clean"}, {"name": "eth0", "mtu": 1300}])
    assert info.value.restore_error is None
    assert fake.links["eth1"]["ifalias"] == _decoded(b"bad\x01alias\x1b\xff")
    result = info.value.to_result()
    _strict_utf8_json(result)
    assert any("bad\x01alias\x1b\\xff" in line for line in result["restore_commands"])
