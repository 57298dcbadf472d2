"""The offline audit reads any Ansible cache plugin: a real Redis through community.general.redis.

A redis-server of its own (loopback, a free port, no persistence, in a temp
dir) is filled through the cache plugins themselves: ansible-core's jsonfile
cache written by a real gathering, copied entry by entry into
community.general.redis with ansible's cache_loader. The audit role run
offline on Redis must give the same report as on the jsonfile directory, and
broken entries (bad JSON, a key whose value is gone, a host without netif
facts) are one error host each. community.general comes from
``.ci/test-collections.sh`` (pinned), redis-server from ``.ci/os-deps.sh``.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.integration.test_audit_offline import collection_playbook, gather_into_cache  # noqa: E402

TEST_COLLECTIONS = ROOT / ".build" / "test-collections"
TODAY = "2030-06-15"
PREFIX = "netif_"
KEYSET = "ansible_cache_keys"

COPY = r"""
import sys
from ansible.plugins.loader import init_plugin_loader
init_plugin_loader(sys.argv[1].split(":"))
from ansible.plugins.loader import cache_loader
source = cache_loader.get("ansible.builtin.jsonfile", _uri=sys.argv[2], _prefix="", _timeout=0)
target = cache_loader.get("community.general.redis", _uri=sys.argv[3], _prefix=sys.argv[4], _timeout=0)
for host in source.keys():
    facts = source.get(host)
    for name in sys.argv[5:]:
        target.set(name, facts)
target.set("nonetif", {"ansible_hostname": "nonetif"})
# not target.keys(): ansible-core 2.19's interposer compares the bytes keys Redis returns with a
# str prefix (TypeError); the audit reads the plugin's own keys for that reason
print(sorted(target.__wrapped__.keys()))
"""


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory):
    """A redis-server on 127.0.0.1 (its own port, no RDB/AOF files), stopped afterwards."""
    if not shutil.which("redis-server"):
        pytest.fail("redis-server is missing: run bash .ci/os-deps.sh (make setup)")
    redis = pytest.importorskip("redis")
    workdir = tmp_path_factory.mktemp("redis")
    for attempt in range(5):
        port = _free_port()
        proc = subprocess.Popen(["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "",
                                 "--appendonly", "no", "--dir", str(workdir), "--daemonize", "no",
                                 "--logfile", str(workdir / "redis.log")],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.StrictRedis("127.0.0.1", port, 0)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if client.ping():
                    break
            except redis.exceptions.ConnectionError:
                time.sleep(0.05)
        if proc.poll() is None:
            break
    else:
        pytest.fail("redis-server did not start: %s" % (workdir / "redis.log").read_text()[-2000:])
    try:
        yield client, "127.0.0.1:%d:0" % port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def caches(tmp_path_factory, redis_server):
    """(workdir, jsonfile directory, redis connection, env) holding the same hosts' facts."""
    if not (TEST_COLLECTIONS / "ansible_collections" / "community" / "general").is_dir():
        pytest.fail("community.general is missing: run bash .ci/test-collections.sh (make test-collections)")
    client, connection = redis_server
    workdir = tmp_path_factory.mktemp("cache-plugins")
    gathered = workdir / "gathered"
    gather_into_cache(workdir, gathered)
    paths = [p for p in os.environ.get("ANSIBLE_COLLECTIONS_PATH", "").split(":") if p]
    paths.append(str(TEST_COLLECTIONS))
    env = {"ANSIBLE_COLLECTIONS_PATH": ":".join(paths)}
    hosts = ["localhost", "web1", "web2", "db1"]
    proc = subprocess.run([sys.executable, "-c", COPY, env["ANSIBLE_COLLECTIONS_PATH"], str(gathered), connection,
                           PREFIX] + hosts, capture_output=True, text=True, env=dict(os.environ, **env),
                          check=False, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # broken entries, written as a broken writer would leave them
    client.set(PREFIX + "s1_badjson", "{not json")
    client.zadd(KEYSET, {"s1_badjson": time.time(), "s1_gone": time.time()})  # s1_gone has no value
    # the same facts (and the same broken hosts where a directory can have them) as a jsonfile cache
    directory = workdir / "jsonfile"
    directory.mkdir()
    payload = (gathered / os.listdir(gathered)[0]).read_text()
    for host in hosts:
        (directory / ("s1_" + host)).write_text(payload)
    (directory / "s1_badjson").write_text("{not json")
    (directory / "s1_nonetif").write_text(json.dumps({"__payload__": json.dumps({"ansible_hostname": "x"})}))
    return workdir, directory, connection, env


def audit(workdir, name, fact_cache, env=None):
    reports = workdir / name
    variables = {"netif_audit_fact_cache": fact_cache, "netif_audit_report_dir": str(reports),
                 "netif_audit_formats": ["json"], "netif_audit_today": TODAY}
    rc, out, err = collection_playbook(workdir, variables, env=env)
    assert rc == 0, out + err
    return json.loads((reports / "netif-audit.json").read_text()), out


def comparable(report):
    """The report less what differs by nature: the time it was made, the cache's own error texts."""
    report = dict(report, generated_at=None)
    report["findings"] = [dict(f, detail=None) if f["rule"] == "audit.facts_unavailable" else f
                          for f in report["findings"]]
    return report


def test_a_redis_fact_cache_gives_the_report_of_the_same_jsonfile_cache(caches):
    workdir, directory, connection, env = caches
    plugin = {"plugin": "community.general.redis", "connection": connection, "prefix": PREFIX,
              "timeout": 0}
    from_redis, out = audit(workdir, "redis", plugin, env)
    from_files, dummy = audit(workdir, "jsonfile", str(directory))
    hosts = dict((h["name"], h) for h in from_redis["hosts"])
    assert sorted(hosts) == ["badjson", "db1", "gone", "localhost", "nonetif", "web1", "web2"]
    details = dict((f["host"], f["detail"]) for f in from_redis["findings"] if f["rule"] == "audit.facts_unavailable")
    assert sorted(details) == ["badjson", "gone", "nonetif"]
    assert "fact cache entry s1_badjson: cannot decode" in details["badjson"], details
    assert "fact cache entry s1_gone: gone or expired" in details["gone"], details
    assert "no netif facts" in details["nonetif"], details
    for host in ("localhost", "web1", "web2", "db1"):
        assert hosts[host]["rules"].get("fleet.duplicate_mac") == "fail", hosts[host]["rules"]
    # without the host only Redis can have (a listed key without a value), the reports are the same
    del hosts["gone"]
    redis_view = comparable(from_redis)
    redis_view["hosts"] = [h for h in redis_view["hosts"] if h["name"] != "gone"]
    redis_view["findings"] = [f for f in redis_view["findings"] if f["host"] != "gone"]
    files_view = comparable(from_files)
    assert redis_view["hosts"] == files_view["hosts"]
    assert redis_view["findings"] == files_view["findings"]
    assert "audit fail: 7 host(s)" in out


def test_an_unreachable_redis_fails_the_audit_clearly(caches):
    workdir, dummy, dummy2, env = caches
    port = _free_port()
    rc, out, err = collection_playbook(workdir, {
        "netif_audit_fact_cache": {"plugin": "community.general.redis", "connection": "127.0.0.1:%d:0" % port},
        "netif_audit_report_dir": str(workdir / "never")}, env=env)
    assert rc != 0
    assert "fact_cache plugin community.general.redis: cannot list the hosts" in out, out
    assert not (workdir / "never").exists()
