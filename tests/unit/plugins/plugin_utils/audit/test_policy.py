# -*- coding: utf-8 -*-
# Copyright: hostnet.netif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Policy loading: schema errors name the path (and line) with expected vs found."""

import copy
import re

import pytest

from ansible_collections.hostnet.netif.plugins.plugin_utils.audit import policy as pol
from ansible_collections.hostnet.netif.plugins.plugin_utils.audit.policy import PolicyError, load_policy


def rule(rule_id, scope="interface", **extra):
    out = {"id": rule_id, "title": "T", "severity": "low", "rationale": "R",
           "remediation": {"text": "fix"}, "scope": scope}
    out.update(extra)
    return out


VALID = {
    "schema_version": 1,
    "name": "t",
    "rules": [
        rule("t.a", fact="mtu", expect={"equals": 1500}),
        rule("t.b", scope="host", fact='sysctl["net.ipv4.tcp_syncookies"]', expect={"equals": 1}),
        rule("t.c", scope="fleet", check="duplicate_mac"),
        rule("t.d", fact="promisc", expect={"equals": False}),
    ],
}


def mutate(path, value=None, delete=False):
    doc = copy.deepcopy(VALID)
    node = doc
    for key in path[:-1]:
        node = node[key]
    if delete:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return doc


CASES = [
    # (mutation, where, what)
    (mutate(["rules", 3, "expect", "equals"], {"a": 1}), "rules[3].expect.equals",
     "expected a value of type string or integer or number or boolean or null, found {\"a\": 1}"),
    (mutate(["rules", 0, "severity"], "urgent"), "rules[0].severity", "expected one of \"info\""),
    (mutate(["rules", 1, "title"], delete=True), "rules[1].title", "expected the field to be set, found nothing"),
    (mutate(["rules", 0, "colour"], 1), "rules[0].colour", "expected no such option (allowed: "),
    (mutate(["rules", 2, "fact"], "mtu"), "rules[2].fact", "expected no such option here (fact/expect/when belong to host"),
    (mutate(["rules", 0, "check"], "drift"), "rules[0].check", "no such option here"),
    (mutate(["rules", 2, "check"], delete=True), "rules[2].check", "the field to be set"),
    (mutate(["rules", 0, "expect"], delete=True), "rules[0].expect", "the field to be set"),
    (mutate(["rules", 0, "id"], "Bad Id"), "rules[0].id", "expected text matching"),
    (mutate(["rules", 0, "expect"], {}), "rules[0].expect", "expected at least 1 key, found {}"),
    (mutate(["rules", 0, "expect"], {"matches": "("}), "rules[0].expect.matches", "regular expression"),
    (mutate(["rules", 0, "expect"], {"min": 5, "max": 1}), "rules[0].expect.min", "expected min <= max (1), or nothing can pass, found 5"),
    (mutate(["rules", 0, "expect"], {"in": []}), "rules[0].expect.in", "at least 1 item"),
    (mutate(["rules", 0, "fact"], "sysctl.effective.ipv4.nonsense"), "rules[0].fact",
     "expected an allowed per-interface sysctl key, one of accept_local"),
    (mutate(["rules", 0, "fact"], "mtu..x"), "rules[0].fact", "'mtu..x' (cannot parse at character 5)"),
    (mutate(["rules", 1, "fact"], 'sysctl["net.ipv4.bogus"]'), "rules[1].fact",
     "expected a sysctl the facts module reads, one of net."),
    (mutate(["rules", 1, "fact"], "mtu"), "rules[1].fact",
     "expected a fact of the facts document, one of boot, connectivity"),
    (mutate(["rules", 0, "select"], {"interfaces": ["eth["]}), "rules[0].select.interfaces[0]",
     "unclosed '['"),
    (mutate(["rules", 1, "select"], {"kinds": ["veth"]}), "rules[1].select.kinds",
     "expected no interface selector (a host-scope rule selects hosts only), found [\"veth\"]"),
    (mutate(["rules", 2, "parameters"], {"ignore_macs": 5}), "rules[2].parameters.ignore_macs",
     "expected a value of type array, found 5"),
    (mutate(["rules", 2, "parameters"], {"bogus": 1}), "rules[2].parameters.bogus", "no such option"),
    (mutate(["rules", 0, "remediation", "sysctls"], {"ipv4": {"bogus": 1}}),
     "rules[0].remediation.sysctls.ipv4.bogus", "expected an allowed per-interface sysctl, one of"),
    (mutate(["rules", 0, "remediation", "interfaces"], {"mtu": 10}), "rules[0].remediation.interfaces.mtu",
     "expected a number >= 68, found 10"),
    (mutate(["rules", 0, "references"], {"openscap": ["sysctl_x"]}), "rules[0].references.openscap[0]",
     "expected text matching ^xccdf_"),
    (mutate(["schema_version"], 2), "schema_version", "expected 1, found 2"),
    (mutate(["rules", 1, "id"], "t.a"), "rules[1].id", "expected a rule id not used before ((inline policy) defines it), found 't.a'"),
    (mutate(["rules", 0, "id"], "audit.waiver_expired"), "rules[0].id", "expected a rule id outside the audit's own"),
    (mutate(["waivers"], [{"rule": "t.zzz", "reason": "x"}]), "waivers[0].rule", "expected a rule id of the policy, one of t.a"),
    (mutate(["waivers"], [{"rule": "t.a", "reason": "x", "expires": "2025-13-40"}]), "waivers[0].expires",
     "expected a date YYYY-MM-DD, found \"2025-13-40\""),
    (mutate(["waivers"], [{"rule": "t.a"}]), "waivers[0].reason", "expected the field to be set, found nothing"),
]


@pytest.mark.parametrize("document,where,what", CASES, ids=[c[1] + ":" + c[2][:30] for c in CASES])
def test_schema_and_semantic_errors_name_the_path(document, where, what):
    with pytest.raises(PolicyError) as info:
        load_policy(document)
    text = str(info.value)
    assert where in [e["path"] for e in info.value.errors], text
    assert any(what in str(p) and p.path == where for p in info.value.problems), text


def test_valid_policy_loads_and_compiles():
    policy = load_policy(copy.deepcopy(VALID))
    assert [r.id for r in policy.rules] == ["t.a", "t.b", "t.c", "t.d"]
    assert [r.id for r in policy.interface_rules] == ["t.a", "t.d"]
    assert [r.id for r in policy.host_rules] == ["t.b"]
    assert [r.id for r in policy.fleet_rules] == ["t.c"]
    assert re.match(r"^[0-9a-f]{64}$", policy.digest)


def test_every_problem_is_reported_at_once():
    doc = mutate(["rules", 0, "severity"], "urgent")
    doc["rules"][1]["scope"] = "galaxy"
    with pytest.raises(PolicyError) as info:
        load_policy(doc)
    assert len(info.value.errors) >= 2
    assert "rules[0].severity" in str(info.value) and "rules[1].scope" in str(info.value)


def test_yaml_file_errors_carry_line_numbers(tmp_path):
    path = tmp_path / "policy.yml"
    path.write_text(
        "schema_version: 1\n"               # 1
        "name: t\n"                         # 2
        "rules:\n"                          # 3
        "  - id: t.a\n"                     # 4
        "    title: T\n"                    # 5
        "    severity: low\n"               # 6
        "    rationale: R\n"                # 7
        "    remediation: {text: fix}\n"    # 8
        "    scope: interface\n"            # 9
        "    fact: mtu\n"                   # 10
        "    expect:\n"                     # 11
        "      equals: {a: 1}\n")           # 12
    with pytest.raises(PolicyError) as info:
        load_policy(str(path))
    assert "rules[0].expect.equals (line 12)" in str(info.value)
    assert str(path) in str(info.value)


def test_relative_policy_path_is_found_in_base_dirs(tmp_path):
    import yaml
    (tmp_path / "mine.yml").write_text(yaml.safe_dump(VALID))
    policy = load_policy("mine.yml", base_dirs=[str(tmp_path)])
    assert policy.names == ["t"]


def test_unknown_policy_name_lists_the_shipped_baselines():
    with pytest.raises(PolicyError) as info:
        load_policy("no_such_baseline")
    assert "cis_network" in str(info.value) and "fleet" in str(info.value)


def test_invalid_yaml_is_reported(tmp_path):
    path = tmp_path / "broken.yml"
    path.write_text("rules: [\n")
    with pytest.raises(PolicyError) as info:
        load_policy(str(path))
    assert "expected valid YAML" in str(info.value)
    assert info.value.errors[0]["line"] == 2


def test_separate_waivers_are_validated_with_their_path(tmp_path):
    waivers = [{"rule": "t.a", "reason": "ok", "expires": "2030-01-01"},
               {"rule": "t.a", "reason": "ok", "expires": "tomorrow"}]
    with pytest.raises(PolicyError) as info:
        load_policy(copy.deepcopy(VALID), waivers=waivers)
    assert "waivers[1].expires" in str(info.value)
    path = tmp_path / "waivers.yml"
    path.write_text("waivers:\n  - rule: t.a\n    reason: ok\n  - rule: t.nope\n    reason: x\n")
    with pytest.raises(PolicyError) as info:
        load_policy(copy.deepcopy(VALID), waivers=str(path))
    assert "waivers[1].rule (line 4)" in str(info.value)
    assert "found 't.nope'" in str(info.value)
    assert str(info.value).startswith("invalid waiver file %s" % path)


def test_yaml_dates_in_waivers_are_accepted(tmp_path):
    path = tmp_path / "waivers.yml"
    path.write_text("- rule: t.a\n  reason: ok\n  expires: 2030-01-31\n")  # YAML makes this a date
    policy = load_policy(copy.deepcopy(VALID), waivers=str(path))
    assert str(policy.waivers[0].expires) == "2030-01-31"


def test_disabled_rules_are_not_evaluated():
    doc = copy.deepcopy(VALID)
    doc["rules"][0]["enabled"] = False
    assert "t.a" not in load_policy(doc).rules_by_id


# ---------------------------------------------------------------------------
# shipped baselines
# ---------------------------------------------------------------------------
# The documented, stable rule ids (docs/rules.md). Renaming one breaks users'
# waivers, so this list changes only by adding.
CIS_IDS = [
    "cis_network.ipv4_forwarding", "cis_network.ipv6_forwarding", "cis_network.ipv4_send_redirects",
    "cis_network.ipv4_accept_redirects", "cis_network.ipv6_accept_redirects",
    "cis_network.ipv4_secure_redirects", "cis_network.ipv4_accept_source_route",
    "cis_network.ipv6_accept_source_route", "cis_network.ipv4_log_martians", "cis_network.ipv4_rp_filter",
    "cis_network.ipv6_accept_ra", "cis_network.wireless_interfaces_down",
    "cis_network.promiscuous_interfaces", "cis_network.icmp_echo_ignore_broadcasts",
    "cis_network.icmp_ignore_bogus_error_responses", "cis_network.tcp_syncookies",
    "cis_network.ipv4_send_redirects_default", "cis_network.ipv4_accept_redirects_default",
    "cis_network.ipv6_accept_redirects_default", "cis_network.ipv4_secure_redirects_default",
    "cis_network.ipv4_accept_source_route_default", "cis_network.ipv6_accept_source_route_default",
    "cis_network.ipv4_log_martians_default", "cis_network.ipv4_rp_filter_default",
    "cis_network.ipv6_accept_ra_default",
]
FLEET_IDS = ["fleet.duplicate_address", "fleet.duplicate_mac", "fleet.mtu_mismatch", "fleet.prefix_mismatch",
             "fleet.drift"]
BOOT_IDS = ["boot.interface_drift", "boot.sysctl_drift", "boot.two_managers", "boot.unreadable",
            "boot.baseline_after_reboot"]


def test_shipped_baselines_and_their_stable_ids():
    assert pol.shipped_baselines() == ["boot", "cis_network", "fleet"]
    assert sorted(r.id for r in load_policy("cis_network").rules) == sorted(CIS_IDS)
    assert sorted(r.id for r in load_policy("fleet").rules) == sorted(FLEET_IDS)
    assert sorted(r.id for r in load_policy("boot").rules) == sorted(BOOT_IDS)
    assert load_policy().names == ["cis_network", "fleet"]


@pytest.mark.parametrize("rule_id", CIS_IDS)
def test_cis_rules_carry_well_formed_references(rule_id):
    rule = load_policy("cis_network").rules_by_id[rule_id]
    refs = rule.references
    assert refs.get("openscap"), rule_id
    for ident in refs["openscap"]:
        assert re.match(r"^xccdf_org\.ssgproject\.content_rule_[a-z0-9_]+$", ident), ident
    for ident in refs.get("cis", []):
        assert re.match(r"^3\.[13]\.\d+$", ident), ident
    stig = refs.get("stig", [])
    for ident in stig:
        assert re.match(r"^(RHEL-0[89]-\d{6}|V-\d{6})$", ident), ident
    if stig:  # rule version and vulnerability id come in pairs
        assert sum(1 for i in stig if i.startswith("RHEL-")) == sum(1 for i in stig if i.startswith("V-"))
    assert refs.get("cis") or stig, rule_id


def test_cis_interface_sysctl_rules_judge_the_effective_value():
    for rule in load_policy("cis_network").interface_rules:
        if rule.fact.keys[0] == "sysctl":
            assert rule.fact.keys[1] == "effective", rule.id
            assert rule.fact.sysctl_key is not None


# -- fact names come from the facts schema (issue #8: a typo loaded and passed) ------------
@pytest.mark.parametrize("where, fact, scope, near", [
    (["rules", 3, "fact"], "promsic", "interface", "promisc"),
    (["rules", 0, "fact"], "mtuu", "interface", "mtu"),
    (["rules", 0, "fact"], "sysctl.efective.ipv4.rp_filter", "interface", "effective"),
    (["rules", 0, "fact"], "vlan.idd", "interface", "id"),
    (["rules", 1, "fact"], "conectivity.reachability", "host", "connectivity"),
])
def test_unknown_fact_names_are_load_errors_with_the_closest_name(where, fact, scope, near):
    doc = mutate(where, fact)
    with pytest.raises(PolicyError) as info:
        load_policy(doc)
    (problem,) = info.value.problems
    assert problem.path == pol.format_path(where)
    assert "did you mean %r?" % near in problem.expected, problem
    assert problem.found == repr(fact.split(".")[0]) or fact.split(".")[1] in problem.found


def test_unknown_fact_error_lists_the_valid_names_from_the_facts_schema():
    from ansible_collections.hostnet.netif.plugins.plugin_utils import validate
    with pytest.raises(PolicyError) as info:
        load_policy(mutate(["rules", 3, "fact"], "promsic"))
    names = validate.load_schema("facts")["$defs"]["interface"]["properties"]
    assert all(name in info.value.problems[0].expected for name in names)


def test_unknown_facts_in_when_and_drift_values_are_caught_too():
    doc = copy.deepcopy(VALID)
    doc["rules"][0]["when"] = [{"fact": "knd", "equals": "veth"}]
    doc["rules"].append(rule("t.e", scope="fleet", check="drift",
                             parameters={"values": [{"fact": "mtux", "scope": "interface"}]}))
    with pytest.raises(PolicyError) as info:
        load_policy(doc)
    paths = [p.path for p in info.value.problems]
    assert paths == ["rules[0].when[0].fact", "rules[4].parameters.values[0].fact"], paths
    assert "did you mean 'kind'?" in str(info.value)


def test_a_path_below_a_scalar_or_a_list_is_refused():
    for fact, what in (("mtu.value", "an integer has no keys"), ("addresses.address", "an array has no keys")):
        with pytest.raises(PolicyError) as info:
            load_policy(mutate(["rules", 0, "fact"], fact))
        assert what in str(info.value), str(info.value)


def test_free_form_maps_of_the_schema_accept_any_key():
    doc = mutate(["rules", 0, "fact"], "statistics.rx_bytes")
    doc["rules"][0]["expect"] = {"min": 0}
    assert load_policy(doc).rules[0].fact.text == "statistics.rx_bytes"


def test_every_problem_of_a_file_is_listed_at_once_schema_and_semantic_alike(tmp_path):
    doc = mutate(["rules", 0, "severity"], "urgent")           # schema
    doc["rules"][3]["fact"] = "promsic"                         # fact name
    doc["rules"][1]["select"] = {"kinds": ["veth"]}             # semantic
    doc["rules"][2]["select"] = {"interfaces": ["eth["]}        # glob
    with pytest.raises(PolicyError) as info:
        load_policy(doc)
    paths = sorted(p.path for p in info.value.problems)
    assert paths == ["rules[0].severity", "rules[1].select.kinds", "rules[2].select.interfaces[0]",
                     "rules[3].fact"], str(info.value)
    assert "(4 problems)" in str(info.value)


# -- waiver errors are waiver errors -------------------------------------------------------
def test_inline_waiver_list_errors_are_labelled_waivers_and_all_listed():
    waivers = [{"rule": "t.a"}, {"rule": "t.zzz", "reason": "x"},
               {"rule": "t.a", "reason": "x", "expires": "soon"}]
    with pytest.raises(PolicyError) as info:
        load_policy(copy.deepcopy(VALID), waivers=waivers)
    text = str(info.value)
    assert text.startswith("invalid waivers (3 problems):"), text
    assert "audit policy" not in text
    assert [p.path for p in info.value.problems] == ["waivers[0].reason", "waivers[1].rule", "waivers[2].expires"]


def test_waiver_file_errors_name_the_file_and_lines(tmp_path):
    path = tmp_path / "w.yml"
    path.write_text("- rule: t.a\n  reason: ok\n  expires: soon\n- rule: t.b\n  colour: red\n  reason: x\n")
    with pytest.raises(PolicyError) as info:
        load_policy(copy.deepcopy(VALID), waivers=str(path))
    assert str(info.value).startswith("invalid waiver file %s (2 problems):" % path)
    lines = dict((p["path"], p["line"]) for p in info.value.errors)
    assert lines == {"[0].expires": 3, "[1].colour": 5}, info.value.errors


def test_missing_waiver_file_is_a_waiver_error():
    with pytest.raises(PolicyError) as info:
        load_policy(copy.deepcopy(VALID), waivers="no-such-waivers.yml")
    assert str(info.value).startswith("invalid waivers: waivers: expected an existing waiver file")


def test_a_policy_waiver_naming_no_rule_is_listed_with_the_rule_problems():
    doc = mutate(["rules", 3, "fact"], "promsic")
    doc["waivers"] = [{"rule": "t.zzz", "reason": "x"}]
    with pytest.raises(PolicyError) as info:
        load_policy(doc)
    assert [p.path for p in info.value.problems] == ["rules[3].fact", "waivers[0].rule"], str(info.value)
