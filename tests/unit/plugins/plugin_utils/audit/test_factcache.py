# -*- coding: utf-8 -*-
# Copyright: hostnet.netif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading a jsonfile fact cache: the layout ansible-core itself writes, and the legacy one."""

import json
import os
import subprocess
import sys

import pytest

from ansible_collections.hostnet.netif.plugins.plugin_utils.audit.factcache import read_fact_cache

DOC = {"schema_version": 1, "gather_subset": ["links"], "interfaces": {}, "summary": {}}


def ansible_writes_cache(directory, prefix, hosts):
    """Let ansible-core's own jsonfile cache plugin write ``netif`` for ``hosts``."""
    ansible = os.path.join(os.path.dirname(sys.executable), "ansible")
    if not os.path.exists(ansible):
        pytest.skip("ansible not next to %s" % sys.executable)
    env = dict(os.environ, ANSIBLE_CACHE_PLUGIN="jsonfile", ANSIBLE_CACHE_PLUGIN_CONNECTION=str(directory),
               ANSIBLE_CACHE_PLUGIN_PREFIX=prefix, ANSIBLE_LOCALHOST_WARNING="False",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="False")
    inventory = ",".join(hosts) + ","
    proc = subprocess.run([ansible, "-i", inventory, "all", "-c", "local", "-m", "ansible.builtin.set_fact",
                           "-a", json.dumps({"netif": DOC, "cacheable": True})],
                          capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_reads_what_ansible_core_writes(tmp_path):
    # set_fact values carry 2.19 data tags in the cache; the reader drops them
    ansible_writes_cache(tmp_path, "netif_", ["web1", "db.example"])
    (tmp_path / "unrelated").write_text("{}")
    facts, info = read_fact_cache(str(tmp_path), "netif_")
    assert sorted(facts) == ["db.example", "web1"]
    assert facts["web1"] == DOC and facts["db.example"] == DOC
    assert info["problems"] == [] and info["hosts"] == 2


def test_without_a_prefix_every_file_is_a_host(tmp_path):
    for host in ("web1", "web2"):
        (tmp_path / ("s1_" + host)).write_text(json.dumps({"__payload__": json.dumps({"netif": DOC})}))
    facts, info = read_fact_cache(str(tmp_path))
    assert facts == {"web1": DOC, "web2": DOC} and info["files"] == 2


def test_reads_the_legacy_layout_and_prefers_the_current_one(tmp_path):
    (tmp_path / "old").write_text(json.dumps({"ansible_netif": DOC}))
    newer = dict(DOC, gather_subset=["links", "addresses"])
    (tmp_path / "both").write_text(json.dumps({"netif": DOC}))
    (tmp_path / "s1_both").write_text(json.dumps({"__payload__": json.dumps({"netif": newer})}))
    facts, info = read_fact_cache(str(tmp_path))
    assert facts["old"] == DOC
    assert facts["both"] == newer
    assert info["problems"] == []


def test_unusable_files_become_hosts_without_facts_with_a_reason(tmp_path):
    (tmp_path / "s1_broken").write_text("{not json")
    (tmp_path / "s1_nonetif").write_text(json.dumps({"__payload__": json.dumps({"distribution": "Debian"})}))
    (tmp_path / "s1_badpayload").write_text(json.dumps({"__payload__": "{"}))
    (tmp_path / ".hidden").write_text("x")
    os.mkdir(str(tmp_path / "subdir"))
    facts, info = read_fact_cache(str(tmp_path))
    assert facts == {"broken": None, "nonetif": None, "badpayload": None}
    assert "not JSON" in info["reasons"]["broken"]
    assert "no netif facts" in info["reasons"]["nonetif"]
    assert "payload is not JSON" in info["reasons"]["badpayload"]
    assert info["problems_total"] == 3


def test_a_missing_directory_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError) as info:
        read_fact_cache(str(tmp_path / "nope"))
    assert "cannot list" in str(info.value)
