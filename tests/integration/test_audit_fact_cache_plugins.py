"""The offline audit reads any Ansible cache plugin: community.general's redis, memcached, yaml and pickle.

Each cache is filled through the cache plugins themselves: ansible-core's
jsonfile cache written by a real gathering, copied into the plugin under test
with ansible's cache_loader. redis-server and memcached are the test's own
(loopback, a free port, in the foreground, no persistence), stopped
afterwards; yaml and pickle write a temp directory. The audit role run
offline on each cache must give the same report as on a jsonfile directory
holding the same hosts, with the broken entries as one error host each:
``badjson`` (an entry that does not decode), ``gone`` (a listed key without
a value; in a directory, a dangling link) and ``nonetif`` (no netif facts).
The audit leaves every cache as it found it: no write, no delete, no key
set expiry (``db1``'s key set entry is older than the plugins' default
timeout). community.general comes from ``.ci/test-collections.sh``
(pinned), redis-server and memcached from ``.ci/os-deps.sh``, the Python
clients from requirements-dev.txt.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.integration.helpers import (  # noqa: E402
    free_port,
    memcached_argv,
    redis_argv,
    start_server,
    stop_process,
)
from tests.integration.test_audit_offline import collection_playbook, gather_into_cache  # noqa: E402

TEST_COLLECTIONS = ROOT / ".build" / "test-collections"
TODAY = "2030-06-15"
PREFIX = "netif_"
KEYSET = "ansible_cache_keys"  # redis' and memcached's list of keys, with the time each was set
HOSTS = ["localhost", "web1", "web2", "db1"]  # the same gathered facts: every address and MAC duplicated
LONG_AGO = time.time() - 10 * 86400  # older than the plugins' default timeout (86400 s)

FILL = r"""
import json
import sys
from ansible.plugins.loader import init_plugin_loader
init_plugin_loader(sys.argv[1].split(":"))
from ansible.plugins.loader import cache_loader
source = cache_loader.get("ansible.builtin.jsonfile", _uri=sys.argv[2], _prefix="", _timeout=0)
target = cache_loader.get(sys.argv[3], **json.loads(sys.argv[4]))
facts = source.get(source.keys()[0])
for host in sys.argv[5:]:
    target.set(host, facts)
target.set("nonetif", {"ansible_hostname": "nonetif"})
"""


def _client_module(name):
    try:
        return importlib.import_module(name)
    except ImportError:
        pytest.fail("the %s Python client is missing: run make venv (requirements-dev.txt)" % name)


@contextlib.contextmanager
def serving(argv_at, log):
    """``argv_at(port)`` on a free loopback port until the block ends, stopped whatever happens."""
    if not shutil.which(argv_at(0)[0]):
        pytest.fail("%s is missing: run bash .ci/os-deps.sh (make setup)" % argv_at(0)[0])
    try:
        proc, port = start_server(argv_at, log)
    except RuntimeError as exc:
        pytest.fail(str(exc))
    try:
        yield port
    finally:
        stop_process(proc)


@pytest.fixture(scope="module")
def redis_port(tmp_path_factory):
    """A redis-server on 127.0.0.1 (no RDB/AOF files)."""
    workdir = tmp_path_factory.mktemp("redis")
    with serving(redis_argv(workdir), workdir / "redis.log") as port:
        yield port


@pytest.fixture(scope="module")
def memcached_port(tmp_path_factory):
    """A memcached on 127.0.0.1, TCP only."""
    workdir = tmp_path_factory.mktemp("memcached")
    with serving(memcached_argv(), workdir / "memcached.log") as port:
        yield port


class Redis:
    plugin = "community.general.redis"
    wrapped = True  # ansible-core 2.19's s1_<host> keys, {"__payload__": ...} values
    details = {"badjson": "cannot decode", "gone": "gone or expired since the listing"}

    def __init__(self, port):
        self.connection = "127.0.0.1:%d:0" % port
        self.client = _client_module("redis").StrictRedis("127.0.0.1", port, 0)
        self.client.flushdb()

    def add_broken(self):
        self.client.set(PREFIX + "s1_badjson", "{not json")
        self.client.zadd(KEYSET, {"s1_badjson": time.time(), "s1_gone": time.time(), "s1_db1": LONG_AGO})

    def state(self):
        return dict((key, self.client.dump(key)) for key in self.client.keys("*"))


class Memcached:
    plugin = "community.general.memcached"
    wrapped = True
    # python-memcached unpickles the values: a value it cannot decode reads as missing ("gone"),
    # so the entry that does not decode is one whose payload is not JSON
    details = {"badjson": "payload is not JSON", "gone": "gone or expired since the listing"}
    WRITES = ("cmd_set", "cmd_touch", "cmd_flush", "delete_hits", "delete_misses", "incr_hits", "decr_hits")

    def __init__(self, port):
        self.connection = "127.0.0.1:%d" % port
        self.client = _client_module("memcache").Client([self.connection])
        self.client.flush_all()

    def add_broken(self):
        self.client.set(PREFIX + "s1_badjson", {"__payload__": "{not json"})
        keys = self.client.get(KEYSET)  # one value: {key: time set}
        keys.update({"s1_badjson": time.time(), "s1_gone": time.time(), "s1_db1": LONG_AGO})
        assert self.client.set(KEYSET, keys)

    def state(self):
        stats = self.client.get_stats()[0][1]
        return self.client.get(KEYSET), dict((name, stats[name]) for name in self.WRITES)


class Directory:
    """yaml and pickle: a file per key in the directory ``connection``."""

    details = {"badjson": "cannot decode", "gone": "cannot read"}

    def __init__(self, plugin, wrapped, directory):
        self.plugin, self.wrapped, self.connection = plugin, wrapped, str(directory)

    def add_broken(self):
        key = "s1_%s" if self.wrapped else "%s"
        Path(self.connection, PREFIX + key % "badjson").write_text("{not json")
        os.symlink("missing", os.path.join(self.connection, PREFIX + key % "gone"))

    def state(self):
        return sorted((entry.name, entry.stat(follow_symlinks=False).st_mtime_ns,
                       os.readlink(entry.path) if entry.is_symlink() else Path(entry.path).read_bytes())
                      for entry in os.scandir(self.connection))


def reference_directory(directory, gathered):
    """The same hosts, broken ones included, as a jsonfile directory."""
    directory.mkdir()
    payload = (gathered / os.listdir(gathered)[0]).read_text()
    for host in HOSTS:
        (directory / ("s1_" + host)).write_text(payload)
    (directory / "s1_badjson").write_text("{not json")
    (directory / "s1_nonetif").write_text(json.dumps({"__payload__": json.dumps({"ansible_hostname": "x"})}))
    os.symlink("missing", str(directory / "s1_gone"))


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


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    """(workdir, gathered jsonfile cache, env with community.general, report of the jsonfile directory)."""
    if not (TEST_COLLECTIONS / "ansible_collections" / "community" / "general").is_dir():
        pytest.fail("community.general is missing: run bash .ci/test-collections.sh (make test-collections)")
    workdir = tmp_path_factory.mktemp("cache-plugins")
    gathered = workdir / "gathered"
    gather_into_cache(workdir, gathered)
    paths = [p for p in os.environ.get("ANSIBLE_COLLECTIONS_PATH", "").split(":") if p]
    env = {"ANSIBLE_COLLECTIONS_PATH": ":".join(paths + [str(TEST_COLLECTIONS)])}
    reference_directory(workdir / "jsonfile", gathered)
    report, out = audit(workdir, "jsonfile", str(workdir / "jsonfile"))
    assert "audit fail: 7 host(s)" in out
    return workdir, gathered, env, report


@pytest.fixture
def cache(request, fleet, tmp_path):
    """The cache of ``request.param``, filled through its plugin, broken entries added."""
    workdir, gathered, env, dummy = fleet
    if request.param == "redis":
        backend = Redis(request.getfixturevalue("redis_port"))
    elif request.param == "memcached":
        backend = Memcached(request.getfixturevalue("memcached_port"))
    else:  # pickle stores plain keys and values (the plugin is not _persistent)
        backend = Directory("community.general." + request.param, request.param != "pickle", tmp_path / "cache")
    options = {"_uri": backend.connection, "_prefix": PREFIX, "_timeout": 0}
    proc = subprocess.run([sys.executable, "-c", FILL, env["ANSIBLE_COLLECTIONS_PATH"], str(gathered),
                           backend.plugin, json.dumps(options)] + HOSTS,
                          capture_output=True, text=True, env=dict(os.environ, **env), check=False, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    backend.add_broken()
    return backend


@pytest.mark.parametrize("cache", ["redis", "memcached", "yaml", "pickle"], indirect=True)
def test_a_cache_plugin_gives_the_report_of_the_same_jsonfile_cache(fleet, cache):
    workdir, dummy, env, from_files = fleet
    before = cache.state()
    # no timeout: the plugin's default (86400 s), which db1's key set entry is older than
    report, out = audit(workdir, cache.plugin.rsplit(".", 1)[1], {
        "plugin": cache.plugin, "connection": cache.connection, "prefix": PREFIX}, env)
    assert cache.state() == before  # nothing written, deleted or expired
    hosts = dict((h["name"], h) for h in report["hosts"])
    assert sorted(hosts) == ["badjson", "db1", "gone", "localhost", "nonetif", "web1", "web2"]
    details = dict((f["host"], f["detail"]) for f in report["findings"] if f["rule"] == "audit.facts_unavailable")
    assert sorted(details) == ["badjson", "gone", "nonetif"]
    key = "s1_%s" if cache.wrapped else "%s"
    for host, text in sorted(cache.details.items()):
        assert "fact cache entry %s: %s" % (key % host, text) in details[host], details
    assert "no netif facts" in details["nonetif"], details
    for host in HOSTS:
        assert hosts[host]["rules"].get("fleet.duplicate_mac") == "fail", hosts[host]["rules"]
    assert comparable(report)["hosts"] == comparable(from_files)["hosts"]
    assert comparable(report)["findings"] == comparable(from_files)["findings"]
    assert "audit fail: 7 host(s)" in out


@pytest.mark.parametrize("plugin, connection, message", [
    ("community.general.redis", "127.0.0.1:%d:0", "cannot list the hosts"),
    # python-memcached reads an unreachable server as an empty one: no hosts, a failed audit still
    ("community.general.memcached", "127.0.0.1:%d", "no cache entries"),
])
def test_an_unreachable_cache_server_fails_the_audit_clearly(fleet, plugin, connection, message):
    workdir, dummy, env, dummy2 = fleet
    reports = workdir / ("never-" + plugin)
    rc, out, dummy3 = collection_playbook(workdir, {
        "netif_audit_fact_cache": {"plugin": plugin, "connection": connection % free_port()},
        "netif_audit_report_dir": str(reports)}, env=env)
    assert rc != 0
    assert "fact_cache plugin %s: %s" % (plugin, message) in out, out
    assert not reports.exists()
