"""The audit role and action plugins through ansible-playbook, without a lab.

* offline: a jsonfile fact cache written by ansible-core itself (interface
  facts of this machine, gathered with fact caching on) is copied to several
  host names and audited in one fleet_report call, contacting no host;
* live: this machine over the local connection plus a host that cannot be
  reached; the unreachable one is in the report as an error, never left out;
* bad cache files (nested too deeply, wrong types, a link out of the directory,
  over the size limit) are each one host with an error finding, never a failed audit;
* a broken policy fails the task with the path of the problem in the file, and
  a misspelt fact name with the closest valid one.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.integration.helpers import ansible_bin  # noqa: E402

GATHER = """
- name: Gather what the default audit policy needs, into the fact cache
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Ask the audit what it needs
      hostnet.netif.audit:
        requirements_only: true
      register: needs
    - name: Gather it
      hostnet.netif.interface_facts:
        gather_subset: "{{ needs.gather_subset }}"
        sysctl_keys: "{{ needs.sysctl_keys }}"
"""


def playbook(workdir, text, *args, env=None, inventory="localhost,"):
    path = workdir / ("play-%d.yml" % len(list(workdir.glob("play-*.yml"))))
    path.write_text(text)
    argv = [ansible_bin("ansible-playbook"), "-i", inventory, *args, str(path)]
    full_env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_RETRY_FILES_ENABLED="False",
                    ANSIBLE_LOCALHOST_WARNING="False")
    full_env.update(env or {})
    proc = subprocess.run(argv, capture_output=True, text=True, env=full_env, cwd=str(workdir), timeout=300,
                          check=False)
    return proc.returncode, proc.stdout, proc.stderr


def collection_playbook(workdir, extra_vars, inventory="localhost,", env=None):
    argv = [ansible_bin("ansible-playbook"), "-i", inventory, "-e", json.dumps(extra_vars), "hostnet.netif.audit"]
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="False", **(env or {}))
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=str(workdir), timeout=300,
                          check=False)
    return proc.returncode, proc.stdout, proc.stderr


def gather_into_cache(workdir, cache_dir):
    """This machine's facts, as the default policy needs them, into a jsonfile cache written by ansible-core."""
    rc, out, err = playbook(workdir, GATHER, "-c", "local", "-e", "ansible_python_interpreter=/usr/bin/python3",
                            env={"ANSIBLE_CACHE_PLUGIN": "jsonfile",
                                 "ANSIBLE_CACHE_PLUGIN_CONNECTION": str(cache_dir)})
    assert rc == 0, out + err


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("audit-offline")
    cache_dir = workdir / "cache"
    gather_into_cache(workdir, cache_dir)
    entries = os.listdir(cache_dir)
    assert len(entries) == 1, entries
    source = cache_dir / entries[0]
    # the same facts as three more hosts: every address and MAC is now duplicated
    for host in ("web1", "web2", "db1"):
        shutil.copy(str(source), str(cache_dir / entries[0].replace("localhost", host)))
    (cache_dir / entries[0].replace("localhost", "broken")).write_text("{truncated")
    return workdir, cache_dir


def test_offline_audit_of_a_fact_cache(cache):
    workdir, cache_dir = cache
    reports = workdir / "reports"
    rc, out, err = collection_playbook(workdir, {"netif_audit_fact_cache": str(cache_dir),
                                                 "netif_audit_report_dir": str(reports)})
    assert rc == 0, out + err
    assert "audit fail: 5 host(s)" in out
    assert sorted(os.listdir(reports)) == ["netif-audit.html", "netif-audit.json", "netif-audit.junit.xml",
                                           "netif-audit.md"]
    report = json.loads((reports / "netif-audit.json").read_text())
    hosts = dict((h["name"], h) for h in report["hosts"])
    assert sorted(hosts) == ["broken", "db1", "localhost", "web1", "web2"]
    assert hosts["broken"]["rules"] == {"audit.facts_unavailable": "error"}
    broken = [f for f in report["findings"] if f["host"] == "broken"][0]
    assert "not JSON" in broken["detail"]
    macs = [f for f in report["findings"] if f["rule"] == "fleet.duplicate_mac"]
    assert macs and all(sorted(set(i["host"] for i in f["involved"])) == ["db1", "localhost", "web1", "web2"]
                        for f in macs)


def test_offline_fail_on(cache):
    workdir, cache_dir = cache
    rc, out, err = collection_playbook(workdir, {"netif_audit_fact_cache": str(cache_dir),
                                                 "netif_audit_report_dir": str(workdir / "r2"),
                                                 "netif_audit_fail_on": "high", "netif_audit_formats": ["json"]})
    assert rc != 0
    assert "at or above severity high" in out
    assert os.listdir(workdir / "r2") == ["netif-audit.json"]


def test_live_audit_reports_an_unreachable_host(tmp_path):
    inventory = tmp_path / "inventory.ini"
    inventory.write_text("localhost ansible_connection=local ansible_python_interpreter=/usr/bin/python3\n"
                         "gone ansible_host=127.0.0.1 ansible_port=1 ansible_connection=ssh\n")
    rc, out, err = collection_playbook(tmp_path, {"netif_audit_report_dir": str(tmp_path / "r")},
                                       inventory=str(inventory))
    assert rc == 0, out + err
    report = json.loads((tmp_path / "r" / "netif-audit.json").read_text())
    hosts = dict((h["name"], h) for h in report["hosts"])
    assert sorted(hosts) == ["gone", "localhost"]
    assert hosts["gone"]["status"] == "error"
    gone = [f for f in report["findings"] if f["host"] == "gone"]
    assert [f["rule"] for f in gone] == ["audit.facts_unavailable"]
    assert "127.0.0.1" in gone[0]["detail"] or "ssh" in gone[0]["detail"].lower()
    assert hosts["localhost"]["rules"].get("cis_network.tcp_syncookies") in ("pass", "fail")


POLICY_PLAY = """
- name: Audit with a broken policy
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Evaluate
      hostnet.netif.audit:
        policy: policy.yml
        facts: {schema_version: 1, gather_subset: [links], interfaces: {}, summary: {}}
      register: result
      ignore_errors: true
    - name: Show the errors as data
      ansible.builtin.debug:
        msg: "{{ result.errors | to_json }}"
"""


def audit_with_rule(tmp_path, fact, expect):
    """Run the audit with a one-rule policy file (fact on line 10, expect on 11); the output."""
    (tmp_path / "policy.yml").write_text(
        "schema_version: 1\nname: mine\nrules:\n  - id: mine.rule\n    title: T\n    severity: low\n"
        "    rationale: R\n    remediation: {text: x}\n    scope: interface\n    fact: %s\n"
        "    expect: %s\n" % (fact, expect))
    rc, out, err = playbook(tmp_path, POLICY_PLAY, "-c", "local")
    assert rc == 0, out + err
    assert "...ignoring" in out  # the audit task failed
    return out


def test_a_broken_policy_fails_with_its_path(tmp_path):
    out = audit_with_rule(tmp_path, "mtu", "{equals: [9000]}")
    assert "rules[0].expect.equals (line 11)" in out
    assert "found [9000]" in out


def test_a_misspelt_fact_fails_the_policy_with_the_closest_name(tmp_path):
    out = audit_with_rule(tmp_path, "promsic", "{equals: false}")
    assert "rules[0].fact (line 10): expected a fact of an interface, one of" in out
    assert "(did you mean 'promisc'?), found 'promsic'" in out
    assert '\\"path\\": \\"rules[0].fact\\"' in out and '\\"line\\": 10' in out, out


def test_bad_cache_files_are_error_hosts_not_a_failed_audit(cache, tmp_path):
    dummy, cache_dir = cache
    bad = tmp_path / "cache"
    shutil.copytree(str(cache_dir), str(bad))
    good = sorted(p.name for p in bad.iterdir() if "localhost" in p.name)[0]

    def named(host):
        return good.replace("localhost", host)

    payload = json.loads((bad / good).read_text())
    wrapped = "__payload__" in payload
    facts = json.loads(payload["__payload__"]) if wrapped else payload
    name = sorted(facts["netif"]["interfaces"])[0]
    facts["netif"]["interfaces"][name]["addresses"] = 5
    (bad / named("addr5")).write_text(json.dumps({"__payload__": json.dumps(facts)}) if wrapped
                                      else json.dumps(facts))
    (bad / named("deep")).write_text("[" * 100000 + "]" * 100000)
    outside = tmp_path / "outside.json"
    shutil.copy(str(bad / good), str(outside))
    os.symlink(str(outside), str(bad / named("link")))
    with open(str(bad / named("big")), "wb") as handle:
        handle.truncate(3 * 1024 * 1024)  # sparse; over the 2 MiB limit set below
    if (bad / good).stat().st_size > 2 * 1024 * 1024:
        pytest.skip("this machine's facts document is larger than the 2 MiB limit the test sets")

    reports = tmp_path / "reports"
    rc, out, err = collection_playbook(tmp_path, {"netif_audit_fact_cache": str(bad),
                                                  "netif_audit_fact_cache_max_size": 2,
                                                  "netif_audit_report_dir": str(reports),
                                                  "netif_audit_formats": ["json"]})
    assert rc == 0, out + err
    report = json.loads((reports / "netif-audit.json").read_text())
    hosts = dict((h["name"], h["status"]) for h in report["hosts"])
    for host in ("addr5", "deep", "link", "big", "broken"):
        assert hosts[host] == "error", (host, hosts)
    for host in ("localhost", "web1", "web2", "db1"):
        assert hosts[host] in ("pass", "fail", "waived"), (host, hosts)
    details = dict((f["host"], f["detail"]) for f in report["findings"]
                   if f["rule"] == "audit.facts_unavailable")
    assert "interfaces.%s.addresses: expected a value of type array, found 5" % name in details["addr5"] \
        or ('interfaces["%s"].addresses' % name) in details["addr5"], details["addr5"]
    assert "nested too deeply" in details["deep"]
    assert "outside the cache directory: not followed" in details["link"] and named("link") in details["link"]
    assert "is 3.0 MiB, over the size limit of 2.0 MiB" in details["big"]


TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ?")


def test_worker_processes_inside_ansible_give_the_single_process_reports(cache, tmp_path):
    """fleet_report in ansible-playbook's worker forks its own workers: 200 hosts (4 chunks) with
    a bad payload among them, audited with workers 1 and 2, give the same four reports (less the
    time they were made) and the same cache problems."""
    dummy, cache_dir = cache
    many = tmp_path / "cache"
    many.mkdir()
    good = sorted(p.name for p in cache_dir.iterdir() if "localhost" in p.name)[0]
    text = (cache_dir / good).read_text()
    for index in range(200):
        (many / good.replace("localhost", "h%03d" % index)).write_text(text)
    (many / good.replace("localhost", "h150")).write_text(json.dumps({"__payload__": "{cut"}))
    results = {}
    for workers in (1, 2):
        reports = tmp_path / ("reports-%d" % workers)
        rc, out, err = collection_playbook(tmp_path, {"netif_audit_fact_cache": str(many),
                                                      "netif_audit_report_dir": str(reports),
                                                      "netif_audit_workers": workers,
                                                      "netif_audit_today": "2030-06-15"})
        assert rc == 0, out + err
        assert "audit fail: 200 host(s)" in out, out
        results[workers] = dict((name, TIMESTAMP.sub("T", (reports / name).read_text()))
                                for name in sorted(os.listdir(reports)))
    assert len(results[1]) == 4 and results[1] == results[2]
    report = json.loads(results[2]["netif-audit.json"])
    errors = [f for f in report["findings"] if f["rule"] == "audit.facts_unavailable"]
    assert [f["host"] for f in errors] == ["h150"] and "payload is not JSON" in errors[0]["detail"]
