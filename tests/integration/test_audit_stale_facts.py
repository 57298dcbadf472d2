"""The audit role never judges facts an earlier run left in the fact cache (issue #8).

With a jsonfile fact cache on, a host whose gathering fails still has
``ansible_facts.netif`` - the cache's copy from the last good run. Two lab
hosts are made compliant and audited once (the cache now holds their facts);
then h0's eth0 is put in promiscuous mode and h0's Python is made unreachable
for Ansible (its inventory interpreter points at a path that does not exist, as
when python3 is removed from a host), so the next gathering fails for real. The
report must show h0 as one ``error`` finding carrying the gathering's own
reason - not the cache's stale "pass" - and leave h0 out of the fleet checks.
A last run with h0's interpreter back proves the planted promiscuous mode is
found when the gathering works.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.integration.helpers import run_playbook  # noqa: E402
from tests.integration.test_audit_lab import PLAYBOOK, TODAY, make_compliant  # noqa: E402

BROKEN_PYTHON = "/nonexistent/netif-test/python3"


def audit(lab, cache, report_dir, *args):
    env = {"ANSIBLE_CACHE_PLUGIN": "jsonfile", "ANSIBLE_CACHE_PLUGIN_CONNECTION": str(cache),
           "ANSIBLE_CACHE_PLUGIN_TIMEOUT": "86400"}
    rc, out, err = run_playbook(lab, PLAYBOOK, {"netif_audit_report_dir": str(report_dir),
                                                "netif_audit_today": TODAY,
                                                "netif_audit_formats": ["json"]},
                                *args, env=env, timeout=300)
    assert rc == 0, out[-4000:] + err[-4000:]
    with open(report_dir / "netif-audit.json", encoding="utf-8") as handle:
        return json.load(handle)


def cached_netif(cache, host):
    """The netif document the jsonfile cache holds for ``host`` (2.19+ or older layout)."""
    for path in cache.iterdir():
        if path.name == host or path.name.endswith("_" + host):
            data = json.loads(path.read_text())
            if "__payload__" in data:
                data = json.loads(data["__payload__"])
            return data.get("netif") or data.get("ansible_netif")
    return None


def test_a_failed_gathering_is_an_error_not_the_cached_facts(lab_factory, tmp_path):
    lab = lab_factory(hosts=2)
    h0, h1 = (h.name for h in lab.hosts)
    for host in lab.hosts:
        make_compliant(lab, host)
    cache = tmp_path / "cache"
    cache.mkdir()

    first = audit(lab, cache, tmp_path / "first")
    assert dict((h["name"], h["status"]) for h in first["hosts"]) == {h0: "pass", h1: "pass"}
    stale = cached_netif(cache, h0)
    assert stale is not None and stale["interfaces"]["eth0"]["promisc"] is False

    lab.exec(h0, ["ip", "link", "set", "dev", "eth0", "promisc", "on"])
    link = lab.ip_json(h0, "-d", "link", "show", "dev", "eth0")[0]
    assert link["promiscuity"] >= 1  # the kernel's word, not the module's reading
    broken = tmp_path / "broken-python.ini"
    broken.write_text("[lab]\n%s ansible_python_interpreter=%s\n" % (h0, BROKEN_PYTHON))

    second = audit(lab, cache, tmp_path / "second", "-i", str(broken))
    hosts = dict((h["name"], h) for h in second["hosts"])
    assert hosts[h0]["status"] == "error", hosts[h0]
    assert hosts[h0]["counts"]["fail"] == 0 and hosts[h0]["counts"]["pass"] == 0, hosts[h0]["counts"]
    mine = [f for f in second["findings"] if f["host"] == h0]
    assert [(f["rule"], f["status"]) for f in mine] == [("audit.facts_unavailable", "error")], mine
    assert mine[0]["detail"].startswith("no facts: gathering failed: ")
    assert BROKEN_PYTHON in mine[0]["detail"], mine[0]["detail"]
    assert hosts[h1]["status"] == "pass"
    # the cache still held the stale document the old role judged (a "pass" for promisc)
    assert cached_netif(cache, h0)["interfaces"]["eth0"]["promisc"] is False

    third = audit(lab, cache, tmp_path / "third")
    found = sorted((f["host"], f["rule"], f["interface"], f["status"]) for f in third["findings"])
    assert found == [(h0, "cis_network.promiscuous_interfaces", "eth0", "fail")], found
