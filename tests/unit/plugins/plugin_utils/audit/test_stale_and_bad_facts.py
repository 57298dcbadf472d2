# -*- coding: utf-8 -*-
# Copyright: hostnet.netif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Audits never judge stale or partial data (issue #8).

A failed gathering is an error finding with the gathering's message, never an
evaluation of the facts an earlier run left in the fact cache; a bad fact-cache
file (link out of the directory, oversized, nested too deeply, wrong types) is
one host with an error finding, never a crashed audit.
"""

import json
import os
from unittest import mock

import pytest

from ansible_collections.hostnet.netif.plugins.action.audit import ActionModule as AuditAction
from ansible_collections.hostnet.netif.plugins.action.fleet_report import ActionModule as FleetAction
from ansible_collections.hostnet.netif.plugins.plugin_utils.audit import engine, factshape
from ansible_collections.hostnet.netif.plugins.plugin_utils.audit.factcache import read_fact_cache
from ansible_collections.hostnet.netif.plugins.plugin_utils.audit.hostvars import gathered_facts

import audit_testlib as lib

TODAY = "2030-06-15"
GATHER_FAILED = {"changed": False, "failed": False, "failed_when_result": False,
                 "msg": "ip -json -d address show failed (rc=127): ip: command not found"}


def stale_promisc_doc():
    """What the cache holds from an earlier run: an interface promiscuous, every sysctl fine."""
    doc = lib.compliant_host()
    doc["interfaces"]["eth0"]["promisc"] = True
    doc["interfaces"]["eth0"]["flags"].append("promisc")
    return doc


def make(action_class, args):
    task = mock.MagicMock()
    task.args = args
    task.async_val = 0
    task.check_mode = False
    task.diff = False
    task._role = None
    action = action_class(task, mock.MagicMock(), mock.MagicMock(check_mode=False), loader=None,
                          templar=mock.MagicMock(), shared_loader_obj=None)
    action._execute_module = mock.MagicMock(side_effect=AssertionError("host contacted"))
    return action


# -- live: this run's gathering decides -------------------------------------------------------
@pytest.mark.parametrize("registered, reason", [
    (GATHER_FAILED, "gathering failed: ip -json -d address show failed (rc=127): ip: command not found"),
    ({"unreachable": True, "msg": "Failed to connect to the host via ssh: refused"},
     "host unreachable: Failed to connect to the host via ssh: refused"),
    ({"skipped": True, "skip_reason": "Conditional result was False"},
     "gathering was skipped: Conditional result was False"),
    ({"changed": False, "ansible_facts": {}}, "gathering failed: the gathering task returned no netif facts"),
    ({"failed": True, "msg": "MODULE FAILURE\nSee stdout/stderr for the exact error", "rc": 127,
      "module_stderr": "/bin/sh: 1: /nonexistent/python3: not found\n"},
     "gathering failed: MODULE FAILURE See stdout/stderr for the exact error "
     "(/bin/sh: 1: /nonexistent/python3: not found)"),
    (None, "no gathering result of this run (found NoneType)"),
])
def test_gathered_facts_refuses_a_result_without_fresh_facts(registered, reason):
    assert gathered_facts(registered) == (None, reason)


def test_gathered_facts_returns_the_facts_of_this_run():
    doc = lib.compliant_host()
    assert gathered_facts({"changed": False, "ansible_facts": {"netif": doc}}) == (doc, None)


def test_a_failed_gathering_is_an_error_not_the_cached_facts():
    task_vars = {"inventory_hostname": "web1", "group_names": [],
                 "ansible_facts": {"netif": stale_promisc_doc()}}  # the fact cache's copy
    result = make(AuditAction, {"policy": "cis_network", "gather_result": GATHER_FAILED,
                                "today": TODAY}).run(task_vars=task_vars)
    assert not result.get("failed"), result
    assert [(f["rule"], f["status"]) for f in result["findings"]] == [("audit.facts_unavailable", "error")]
    assert "ip: command not found" in result["findings"][0]["detail"]
    assert result["summary"] == {"pass": 0, "fail": 0, "waived": 0, "error": 1}
    assert result["facts_error"].startswith("gathering failed: ")


def test_facts_error_wins_over_the_hosts_cached_facts():
    # before: facts_error only worded the finding when no facts were found; the action
    # fell back to ansible_facts.netif (the cache) and judged it
    task_vars = {"inventory_hostname": "web1", "ansible_facts": {"netif": stale_promisc_doc()}}
    result = make(AuditAction, {"policy": "cis_network", "facts_error": "gathering failed: boom",
                                "today": TODAY}).run(task_vars=task_vars)
    assert result["status"] == "error" and result["summary"]["fail"] == 0, result
    assert result["findings"][0]["detail"] == "no facts: gathering failed: boom"


def test_a_successful_gathering_is_judged_not_the_hosts_variable():
    fresh = lib.compliant_host()
    task_vars = {"inventory_hostname": "web1", "ansible_facts": {"netif": stale_promisc_doc()}}
    result = make(AuditAction, {"policy": "cis_network", "today": TODAY,
                                "gather_result": {"ansible_facts": {"netif": fresh}}}).run(task_vars=task_vars)
    assert result["status"] == "pass" and "facts_error" not in result, result


def test_fleet_report_leaves_a_failed_hosts_cached_facts_out_of_the_fleet_checks(tmp_path):
    good = lib.compliant_host()
    stale = lib.compliant_host()  # same MAC and address as the good host: a duplicate if judged
    audit = make(AuditAction, {"policy": ["cis_network", "fleet"], "today": TODAY,
                               "gather_result": GATHER_FAILED})
    registered = audit.run(task_vars={"inventory_hostname": "web2", "ansible_facts": {"netif": stale}})
    hostvars = {"web1": {"ansible_facts": {"netif": good}},
                "web2": {"ansible_facts": {"netif": stale}, "netif_audit_result": registered}}
    result = make(FleetAction, {"policy": ["cis_network", "fleet"], "today": TODAY, "formats": ["json"],
                                "report_dir": str(tmp_path), "include_passed": True}).run(task_vars={
                                    "hostvars": hostvars, "ansible_play_hosts_all": ["web1", "web2"],
                                    "groups": {"all": ["web1", "web2"]}})
    assert not result.get("failed"), result
    with open(result["reports"]["json"]) as handle:
        report = json.load(handle)
    statuses = dict((h["name"], h["status"]) for h in report["hosts"])
    assert statuses == {"web1": "pass", "web2": "error"}, statuses
    fleet = [f for f in report["findings"] if f["rule"].startswith("fleet.") and f["status"] != "pass"]
    assert fleet == [], fleet


# -- offline: every bad cache file is one error host ------------------------------------------
def wrapped(doc):
    return json.dumps({"__payload__": json.dumps({"netif": doc})})


def test_a_symlink_out_of_the_cache_directory_is_not_followed(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    secret = tmp_path / "outside.json"
    secret.write_text(wrapped(lib.compliant_host()))
    (cache / "s1_inside").write_text(wrapped(lib.compliant_host()))
    os.symlink(str(secret), str(cache / "s1_evil"))
    os.symlink("s1_inside", str(cache / "s1_alias"))  # a link inside the directory is fine
    facts, info = read_fact_cache(str(cache))
    assert facts["evil"] is None
    assert "outside the cache directory: not followed" in info["reasons"]["evil"]
    assert str(secret) in info["reasons"]["evil"]
    assert facts["alias"] == facts["inside"] == lib.compliant_host()


def test_an_oversized_file_is_refused_before_it_is_read(tmp_path):
    big = tmp_path / "s1_big"
    with open(str(big), "wb") as handle:
        handle.truncate(400 * 1024 * 1024)  # sparse: 400 MiB that would take ~870 MiB to parse
    (tmp_path / "s1_small").write_text(wrapped(lib.compliant_host()))
    with mock.patch("json.loads", wraps=json.loads) as loads:
        facts, info = read_fact_cache(str(tmp_path))
    assert facts["big"] is None and facts["small"] is not None
    assert info["reasons"]["big"] == ("fact cache file s1_big: is 400.0 MiB, over the size limit "
                                      "of 64.0 MiB (fact_cache_max_size); not read")
    assert all(len(call.args[0]) < 1024 * 1024 for call in loads.call_args_list)
    facts, info = read_fact_cache(str(tmp_path), max_bytes=100)
    assert "over the size limit of 100 bytes" in info["reasons"]["small"]


def test_deeply_nested_json_is_an_error_host_not_a_crash(tmp_path):
    deep = "[" * 200000 + "]" * 200000
    (tmp_path / "s1_deepfile").write_text(deep)
    (tmp_path / "s1_deeppayload").write_text(json.dumps({"__payload__": deep}))
    facts, info = read_fact_cache(str(tmp_path))
    assert facts == {"deepfile": None, "deeppayload": None}
    assert "nested too deeply" in info["reasons"]["deepfile"]
    assert "nested too deeply" in info["reasons"]["deeppayload"]


def test_a_fifo_is_not_waited_on(tmp_path):
    os.mkfifo(str(tmp_path / "s1_pipe"))
    facts, info = read_fact_cache(str(tmp_path))
    assert facts == {"pipe": None} and "not a regular file" in info["reasons"]["pipe"]


@pytest.mark.parametrize("mutate, where", [
    (lambda d: d["interfaces"]["eth0"].__setitem__("addresses", 5),
     'interfaces.eth0.addresses: expected a value of type array, found 5'),
    (lambda d: d["interfaces"]["eth0"]["addresses"].__setitem__(0, "198.18.0.10/24"),
     'interfaces.eth0.addresses[0]: expected a value of type object, found "198.18.0.10/24"'),
    (lambda d: d["interfaces"]["eth0"].__setitem__("mtu", "1500"),
     'interfaces.eth0.mtu: expected a value of type integer, found "1500"'),
    (lambda d: d["interfaces"]["eth0"]["sysctl"].__setitem__("ipv4", [1]),
     'interfaces.eth0.sysctl.ipv4: expected a value of type object, found [1]'),
    (lambda d: d["interfaces"]["eth0"].__setitem__("flags", "up"),
     'interfaces.eth0.flags: expected a value of type array, found "up"'),
    (lambda d: d["interfaces"].__setitem__("eth0.5", 7),
     'interfaces["eth0.5"]: expected a value of type object, found 7'),
])
def test_wrong_types_in_the_document_make_one_error_host(mutate, where):
    bad = lib.compliant_host()
    mutate(bad)
    assert factshape.problem(bad) == where
    pol = engine.load_policy(["cis_network", "fleet"])
    report = engine.audit(pol, {"bad": bad, "good": lib.compliant_host()}, today=TODAY)
    hosts = dict((h["name"], h["status"]) for h in report["hosts"])
    assert hosts == {"bad": "error", "good": "pass"}, hosts
    (finding,) = [f for f in report["findings"] if f["host"] == "bad"]
    assert finding["rule"] == "audit.facts_unavailable"
    assert finding["detail"] == "malformed facts document: " + where


def test_a_well_formed_document_passes_the_shape_check():
    assert factshape.problem(lib.compliant_host()) is None
    doc = lib.compliant_host()
    doc["interfaces"]["eth0"]["kind_data"] = {"anything": [{"goes": 1}]}  # free-form in the schema
    doc["interfaces"]["eth0"]["future_field"] = {"x": 1}                   # keys the schema lacks
    assert factshape.problem(doc) is None


def test_the_whole_offline_audit_survives_every_bad_file_at_once(tmp_path):
    bad = lib.compliant_host()
    bad["interfaces"]["eth0"]["addresses"] = 5
    (tmp_path / "s1_addr5").write_text(wrapped(bad))
    (tmp_path / "s1_deep").write_text("[" * 100000 + "]" * 100000)
    (tmp_path / "s1_ok").write_text(wrapped(lib.compliant_host()))
    outside = tmp_path.parent / ("outside-%s" % tmp_path.name)
    outside.write_text(wrapped(lib.compliant_host()))
    try:
        os.symlink(str(outside), str(tmp_path / "s1_link"))
        facts, info = read_fact_cache(str(tmp_path))
        report = engine.audit(engine.load_policy(["cis_network", "fleet"]), facts, today=TODAY,
                              missing_reasons=info["reasons"])
    finally:
        outside.unlink()
    hosts = dict((h["name"], h["status"]) for h in report["hosts"])
    assert hosts == {"addr5": "error", "deep": "error", "link": "error", "ok": "pass"}
    details = dict((f["host"], f["detail"]) for f in report["findings"] if f["status"] == "error")
    assert "s1_deep" in details["deep"] and "s1_link" in details["link"]
    assert "interfaces.eth0.addresses" in details["addr5"]
