# -*- coding: utf-8 -*-
# Copyright: hostnet.netif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One error shape for setters, policies, waivers and the target side (issue #8)."""

import pytest

from ansible_collections.hostnet.netif.plugins.module_utils.errors import InputError
from ansible_collections.hostnet.netif.plugins.plugin_utils import problems, validate
from ansible_collections.hostnet.netif.plugins.plugin_utils.audit.policy import PolicyError, load_policy

SHAPE = {"path", "expected", "found", "schema_path", "line"}
VALID_RULE = {"id": "t.a", "title": "T", "severity": "low", "rationale": "R",
              "remediation": {"text": "fix"}, "scope": "interface", "fact": "mtu", "expect": {"equals": 1500}}


def test_setter_message_format_is_kept():
    found = validate.problems({"config": [{"name": "eth0", "mtu": 70000}]}, validate.load_schema("interfaces"))
    assert [str(p) for p in found] == ["config[0].mtu: expected a number <= 65536, found 70000"]


def test_setters_and_policies_use_the_same_record_and_translator():
    setter = validate.problems({"config": [{"name": "eth0", "mtu": "big"}]}, validate.load_schema("interfaces"))
    with pytest.raises(PolicyError) as info:
        load_policy({"schema_version": 1, "name": "t", "rules": [dict(VALID_RULE, severity=5)]})
    policy = info.value.problems
    assert type(setter[0]) is type(policy[0]) is problems.Problem
    assert set(setter[0].as_dict()) == set(info.value.errors[0]) == SHAPE
    # the same jsonschema keyword reads the same in both stacks
    assert setter[0].expected == "a value of type integer"
    assert policy[0].expected.startswith("one of ") and policy[0].found == "5"
    assert policy[0].schema_path.endswith("severity/enum") or "severity" in policy[0].schema_path


def test_policy_file_problems_carry_their_line(tmp_path):
    path = tmp_path / "p.yml"
    path.write_text("schema_version: 1\nname: t\nrules:\n  - id: t.a\n    title: T\n    severity: low\n"
                    "    rationale: R\n    remediation: {text: x}\n    scope: interface\n"
                    "    fact: promsic\n    expect: {equals: false}\n")
    with pytest.raises(PolicyError) as info:
        load_policy(str(path))
    (error,) = info.value.errors
    assert error["path"] == "rules[0].fact" and error["line"] == 10 and error["found"] == "'promsic'"
    assert str(info.value).startswith("invalid audit policy %s: rules[0].fact (line 10): expected " % path)


def test_unknown_option_suggests_the_closest_name():
    (problem,) = validate.problems({"config": [{"name": "eth0", "mtuu": 1500}]}, validate.load_schema("interfaces"))
    assert problem.path == "config[0].mtuu"
    assert problem.expected.startswith("no such option; did you mean 'mtu'? (allowed: ")


def test_a_sentence_keeps_its_words_and_still_has_the_shape():
    split = problems.from_message("config[0].mac", "expected a MAC address, found 'zz'", "zz")
    assert (split.expected, split.found, split.message) == ("a MAC address", "'zz'", None)
    sentence = problems.from_message("config[0].mac", "the all-zero MAC cannot be assigned", "00:00:00:00:00:00")
    assert str(sentence) == "config[0].mac: the all-zero MAC cannot be assigned"
    assert set(sentence.as_dict()) == SHAPE | {"message"}
    assert sentence.found == '"00:00:00:00:00:00"'


def test_target_side_input_error_carries_the_same_fields():
    error = InputError("config[1].mtu", "expected a number <= 65536, found 70000")
    assert str(error) == "config[1].mtu: expected a number <= 65536, found 70000"
    result = error.to_result()
    assert result["msg"] == str(error)
    assert result["errors"] == [{"path": "config[1].mtu", "expected": "a number <= 65536", "found": "70000",
                                 "schema_path": "", "line": None}]
    plain = InputError("config[0].name", "interface eth9 does not exist").to_result()["errors"][0]
    assert set(plain) == SHAPE | {"message"} and plain["message"] == "interface eth9 does not exist"
    built = InputError("x.mtu", expected="an integer", found="'a'")
    assert str(built) == "x.mtu: expected an integer, found 'a'"


def test_many_problems_render_one_per_line_under_a_head():
    items = [problems.Problem("a", "x", "1", line=3), problems.Problem("b", "y", "2")]
    assert problems.render(items, "invalid thing f.yml") == (
        "invalid thing f.yml (2 problems):\n  a (line 3): expected x, found 1\n  b: expected y, found 2")
    assert problems.render(items) == "a (line 3): expected x, found 1; b: expected y, found 2"
    assert problems.failure("today", "a date YYYY-MM-DD", "'soon'") == {
        "failed": True, "msg": "today: expected a date YYYY-MM-DD, found 'soon'",
        "errors": [{"path": "today", "expected": "a date YYYY-MM-DD", "found": "'soon'", "schema_path": "",
                    "line": None}]}


def test_shorten_never_raises():
    deep = []
    for dummy in range(5000):
        deep = [deep]
    assert problems.shorten(deep) == "<array nested too deeply to show>"
    assert problems.shorten({"a": object()}).startswith('{"a": "<object')
    assert problems.shorten({1: "a", "b": 2}) in ('{"1": "a", "b": 2}', '{"b": 2, "1": "a"}')
