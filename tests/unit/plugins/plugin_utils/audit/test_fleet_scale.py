# -*- coding: utf-8 -*-
# Copyright: hostnet.netif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fleet scale (issue #12): one evaluation loop, streamed, from any cache plugin.

Streamed (facts released after each host, the fleet checks fed from
FleetView's projection, findings spooled to disk and read back by each
writer) and in-memory runs write byte-identical reports in every format; every cache plugin is read through ansible's cache_loader with the
guarantees of the jsonfile reader (bad entries are error hosts, nothing is
ever deleted from the cache).
"""

import copy
import io
import json
import os
import time

import pytest

from ansible_collections.hostnet.netif.plugins.plugin_utils.audit import console, engine, factcache, reports

import audit_testlib as lib

TODAY = "2030-06-15"
POLICY = engine.load_policy(["cis_network", "fleet"])


def fleet_docs(count):
    """{host: facts} with everything the fleet checks look at: duplicate addresses and MACs,
    MTU and prefix mismatches, drift, hosts without facts, a malformed document."""
    docs = {}
    for index in range(count):
        net, host = divmod(index, 200)
        eth0 = lib.interface("eth0", mac="02:00:00:%02x:%02x:%02x" % (index >> 16, (index >> 8) & 255, index & 255),
                             mtu=9000 if index % 97 == 0 else 1500,
                             addresses=[lib.address("198.18.%d.%d/%d" % (net, host + 1,
                                                                         25 if index % 89 == 0 else 24))])
        eth1 = lib.interface("eth1", mac="02:01:00:00:00:%02x" % (index % 7 == 0),
                             addresses=[lib.address("::ffff:198.19.0.%d/120" % (1 + index % 40))])
        lo = lib.interface("lo", kind="loopback", mtu=65536, mac="00:00:00:00:00:00",
                           flags=["loopback", "up", "lower_up", "running"],
                           addresses=[lib.address("127.0.0.1/8", "host")])
        doc = lib.compliant_host([lo, eth0, eth1])
        if index % 13 == 0:
            lib.set_all(doc, "ipv4", "rp_filter", 0)
            lib.set_sysctls(doc, "eth0", ipv4={"rp_filter": 0})
            lib.recompute(doc)
        docs["h%05d" % index] = doc
    if count > 4:
        docs["h00003"] = None
        docs["h00004"]["interfaces"]["eth0"]["addresses"] = 5
    return docs


def groups_of(docs):
    return dict((host, ["all", "g%d" % (int(host[1:]) // 50)]) for host in docs)


MODES = (("in memory", False, 1), ("streamed", True, 1), ("streamed, 2 workers", True, 2))


@pytest.mark.parametrize("include_passed", [False, True])
def test_streamed_in_memory_and_parallel_reports_are_byte_identical(include_passed, tmp_path):
    # 2,000 hosts: every fleet check finds something, so the projection is exercised by all of
    # them; with 2 workers, 32 chunks of 64 hosts are evaluated in forked processes
    count = 2000 if not include_passed else 300
    docs = fleet_docs(count)
    texts = {}
    for mode, stream, workers in MODES:
        report = engine.audit(POLICY, docs, groups_of(docs), TODAY, include_passed=include_passed,
                              generated_at="2030-06-15T00:00:00Z", missing_reasons={"h00003": "unreachable"},
                              stream=stream, workers=workers)
        assert isinstance(report["findings"], engine.ListedFindings if stream else list)
        # every writer, the streamed findings read back from the spool by each; a small
        # detail_limit so the HTML and Markdown summaries cut the list
        texts[mode] = dict((fmt, reports.render(report, fmt, detail_limit=150)) for fmt in reports.FORMATS)
        if workers > 1:  # the files, written by two processes at once, are the same texts
            paths = reports.write_reports(report, str(tmp_path), detail_limit=150, workers=workers)
            for fmt, path in paths.items():
                with open(path, encoding="utf-8") as handle:
                    assert handle.read() == texts[mode][fmt], fmt
    for mode, dummy, dummy in MODES[1:]:
        for fmt in reports.FORMATS:
            assert texts[mode][fmt] == texts["in memory"][fmt], (mode, fmt)
    report = json.loads(texts["in memory"]["json"])
    failing = set(f["rule"] for f in report["findings"] if f["status"] == "fail")
    assert {"fleet.duplicate_address", "fleet.duplicate_mac", "fleet.mtu_mismatch", "fleet.prefix_mismatch",
            "fleet.drift"} <= failing, failing
    assert report["summary"]["hosts"] == count


def test_workers_evaluate_in_other_processes(monkeypatch):
    """The pool is really used (a chunk's hosts are evaluated in a forked process), and a fleet of
    one chunk is evaluated here, without forking."""
    pids = set()
    real = engine._evaluate

    def spy(*args, **kwargs):
        pids.add(os.getpid())
        return real(*args, **kwargs)

    monkeypatch.setattr(engine, "_evaluate", spy)  # inherited by the forked workers
    docs = fleet_docs(engine.WORKER_CHUNK)
    engine.audit(POLICY, docs, groups_of(docs), TODAY, stream=True, workers=2)
    assert pids == {os.getpid()}
    seen = []
    real_evaluated = engine._evaluated

    def evaluated_spy(*args):
        outcome, ctx, dummy = real_evaluated(*args)
        return outcome, ctx, ("pid", os.getpid())  # comes back as a problem entry

    monkeypatch.setattr(engine, "_evaluated", evaluated_spy)
    docs = fleet_docs(3 * engine.WORKER_CHUNK)
    engine.run(POLICY, (engine.HostSource(h, d) for h, d in docs.items()), groups_of(docs), TODAY, workers=2,
               on_problem=lambda host, entry: seen.append(entry[1]))
    assert len(seen) == len(docs) and os.getpid() not in seen


def test_a_killed_worker_is_a_clear_error(monkeypatch):
    real_evaluated = engine._evaluated

    def killed(*args):
        if args[1].host == "h00100":
            os.kill(os.getpid(), 9)  # in a worker: as the OOM killer would
        return real_evaluated(*args)

    monkeypatch.setattr(engine, "_evaluated", killed)
    docs = fleet_docs(3 * engine.WORKER_CHUNK)
    with pytest.raises(ValueError, match="an audit worker process ended .* workers: 1 evaluates"):
        engine.audit(POLICY, docs, groups_of(docs), TODAY, stream=True, workers=2)


def test_a_failing_report_writer_process_is_an_error_naming_it(tmp_path, monkeypatch):
    docs = fleet_docs(10)
    report = engine.audit(POLICY, docs, groups_of(docs), TODAY, stream=True)

    def broken(report, detail_limit):
        raise ValueError("junit writer broke")

    monkeypatch.setattr(reports.junit, "chunks", broken)  # the forked writer inherits it
    with pytest.raises(OSError, match="ValueError: junit writer broke"):
        reports.write_reports(report, str(tmp_path), workers=2)
    assert (tmp_path / "netif-audit.json").exists()  # the other process's report was written
    assert not [name for name in os.listdir(tmp_path) if name.startswith(".netif-audit-")]


def test_usable_workers():
    assert engine.usable_workers(3) == 3
    assert engine.usable_workers(0) == min(len(os.sched_getaffinity(0)), 4)


def test_the_projection_keeps_only_what_fleet_rules_read():
    doc = fleet_docs(1)["h00000"]
    ctx = engine.HostContext("h", ["all"], doc).slim(engine.FleetView(POLICY))
    eth0 = dict(ctx.interfaces)["eth0"]
    assert set(eth0) == {"kind", "flags", "mtu", "addresses", "sysctl"}
    names = [name for name, dummy in ctx.interfaces]
    at = 6 * names.index("eth0")  # MACs apart, 6 bytes each
    assert ctx.macs[at:at + 6].hex(":") == doc["interfaces"]["eth0"]["mac"].lower()
    assert engine.pack_macs(["02:AB:00:00:00:01", None, "02-ab-00-00-00-01", "x", 5]) == (
        bytes.fromhex("02ab00000001") + bytes(24))  # not a MAC: the zero MAC, which is never compared
    assert set(eth0["addresses"][0]) == {"address", "prefixlen", "family", "scope"}
    assert set(eth0["sysctl"]["ipv4"]) <= {"rp_filter", "forwarding", "force_forwarding"}
    assert set(ctx.facts) == {"sysctl"} and len(ctx.facts["sysctl"]) <= 3


def test_equal_values_are_one_object_across_hosts():
    docs = fleet_docs(3)
    view = engine.FleetView(POLICY)
    slim = [engine.HostContext(h, ["all"], docs[h]).slim(view) for h in ("h00001", "h00002")]
    first, second = (dict(ctx.interfaces)["eth1"] for ctx in slim)
    assert first["sysctl"] is second["sysctl"] and first["flags"] is second["flags"]
    loopbacks = [dict(ctx.interfaces)["lo"] for ctx in slim]
    assert loopbacks[0] is loopbacks[1]  # the whole interface, when nothing in it is the host's own
    assert slim[0].groups is slim[1].groups


def test_summarize_is_the_hosts_roll_up_of_the_report():
    docs = fleet_docs(20)
    report = engine.audit(POLICY, docs, groups_of(docs), TODAY)
    host = next(h for h in report["hosts"] if h["name"] == "h00013")
    findings, passed = engine.evaluate_host_counted(POLICY, "h00013", ["all", "g0"], docs["h00013"], TODAY)
    rollup = engine.summarize(findings, passed)
    assert rollup["status"] == "fail" and rollup["counts"]["fail"] >= 1
    own = dict((rule, status) for rule, status in host["rules"].items() if not rule.startswith("fleet."))
    assert rollup["rules"] == own


# -- any cache plugin --------------------------------------------------------------------------
def write_jsonfile(directory, docs):
    for host, doc in docs.items():
        payload = json.dumps({"netif": doc} if doc is not None else {"other": 1})
        (directory / ("s1_" + host)).write_text(json.dumps({"__payload__": payload}))


def test_the_jsonfile_plugin_reads_what_the_directory_reader_reads(tmp_path):
    docs = fleet_docs(30)
    write_jsonfile(tmp_path, docs)
    (tmp_path / "s1_broken").write_text("{not json")
    direct = list(factcache.iter_fact_cache(str(tmp_path)))
    tally = factcache.Tally()
    cache = factcache.PluginCache("jsonfile", {"connection": str(tmp_path), "timeout": 0})
    via_plugin = list(cache.hosts(tally))
    info = tally.info
    assert [h for h, d, r in via_plugin] == [h for h, d, r in direct] == sorted(list(docs) + ["broken"])
    assert [d for h, d, r in via_plugin] == [d for h, d, r in direct]
    broken = dict((h, r) for h, d, r in via_plugin)["broken"]
    assert broken.startswith("fact cache entry s1_broken: cannot decode"), broken
    assert (tmp_path / "s1_broken").exists()  # the plugin's own get() would have deleted it
    # (no prefix given: a file plugin's None prefix is read as "", not a TypeError when listing)
    assert info["hosts"] == 31 and info["problems_total"] == 2  # broken + h00003 without netif


def test_payloads_parsed_in_workers_give_the_report_and_problems_of_a_plain_read(tmp_path):
    """What fleet_report does (payloads parsed where the host is evaluated, 2 workers) against a
    plain read: the same report byte for byte, the same problems listed in the same order."""
    docs = fleet_docs(300)
    write_jsonfile(tmp_path, docs)
    (tmp_path / "s1_h00007").write_text(json.dumps({"__payload__": "{not json"}))  # bad payload
    (tmp_path / "s1_h00150").write_text(json.dumps({"__payload__": json.dumps({"netif": 3})}))
    (tmp_path / "s1_h00200").write_text("{not json")  # bad outer JSON: found while reading
    (tmp_path / "s1_h00280").write_text(json.dumps({"__payload__": json.dumps({"netif": {"interfaces": 5}})}))
    groups = groups_of(docs)
    results = []
    for defer, workers in ((False, 1), (True, 1), (True, 2)):
        tally = factcache.Tally()
        entries = factcache.iter_fact_cache(str(tmp_path), tally=tally, defer=defer)
        if defer:
            entries = list(entries)
            assert sum(isinstance(doc, factcache.Payload) for h, doc, r in entries) == 299
        report = engine.run(POLICY, engine.cache_sources(entries, groups.get), None, TODAY,
                            generated_at="2030-06-15T00:00:00Z", workers=workers, on_problem=tally.record)
        results.append((reports.render(report, "json"), tally.info))
    assert results[0] == results[1] == results[2]
    info = results[0][1]
    assert info["problems_total"] == 4 and [p.split(":")[0] for p in info["problems"]] == [
        "s1_h00003", "s1_h00007", "s1_h00150", "s1_h00200"]  # h00280: malformed, found by the audit
    errors = [f for f in json.loads(results[0][0])["findings"] if f["status"] == "error"]
    assert sorted(f["host"] for f in errors) == ["h00003", "h00004", "h00007", "h00150", "h00200", "h00280"]


def test_the_tally_lists_the_first_problems_by_host_whatever_the_order_they_come_in():
    tally = factcache.Tally()
    tally.LISTED = 3
    for host in ("h5", "h2", "h9", "h1", "h7", "h3"):
        tally.record(host, "%s: bad" % host)
    assert tally.info["problems"] == ["h1: bad", "h2: bad", "h3: bad"]
    assert tally.info["problems_total"] == 6


class FakeRedis:
    """What community.general.redis looks like to the reader: bytes keys, get() decodes JSON."""

    def __init__(self, entries):
        self.entries = entries
        self._cache = {}

    def keys(self):
        return [key.encode() for key in self.entries]

    def get(self, key):
        if key not in self.entries:
            raise KeyError(key)
        value = json.loads(self.entries[key])
        self._cache[key] = value
        return value


def test_broken_entries_of_a_plugin_are_one_error_host_each():
    doc = lib.compliant_host()
    entries = {
        "s1_good": json.dumps({"__payload__": json.dumps({"netif": doc})}),
        "s1_badjson": "{not json",
        "s1_nonetif": json.dumps({"__payload__": json.dumps({"ansible_hostname": "x"})}),
        "s1_wrongtype": json.dumps({"__payload__": json.dumps({"netif": dict(doc, interfaces={"eth0": {
            "name": "eth0", "mtu": "big"}})})}),
        "s1_deep": json.dumps({"__payload__": "[" * 100000 + "]" * 100000}),
        "legacy": json.dumps({"netif": doc}),
    }
    cache = factcache.PluginCache.__new__(factcache.PluginCache)
    cache.name, cache.max_bytes, cache.plugin = "fake.redis", 10 ** 8, FakeRedis(entries)
    read = dict((h, (d, r)) for h, d, r in cache.hosts())
    assert read["good"][0] == doc and read["legacy"][0] == doc
    assert "not JSON" in read["badjson"][1] or "cannot decode" in read["badjson"][1]
    assert "no netif facts" in read["nonetif"][1]
    assert "nested too deeply" in read["deep"][1]
    assert cache.plugin._cache == {}  # nothing kept once a host is read
    report = engine.run(POLICY, (engine.HostSource(h, d, missing_reason=r) for h, (d, r) in sorted(read.items())),
                        None, TODAY)
    status = dict((h["name"], h["status"]) for h in report["hosts"])
    assert [h for h, s in sorted(status.items()) if s == "error"] == ["badjson", "deep", "nonetif", "wrongtype"]
    detail = next(f["detail"] for f in report["findings"] if f["host"] == "wrongtype")
    assert "mtu" in detail
    # deferred (as fleet_report reads): payloads parsed in the workers, the same report and problems
    plain_tally = factcache.Tally()
    list(cache.hosts(tally=plain_tally))
    tally = factcache.Tally()
    entries = list(cache.hosts(tally=tally, defer=True))
    assert sorted(h for h, d, r in entries if isinstance(d, factcache.Payload)) == [
        "deep", "good", "nonetif", "wrongtype"]
    deferred = engine.run(POLICY, engine.cache_sources(entries, lambda host: None), None, TODAY, workers=2,
                          generated_at=report["generated_at"], on_problem=tally.record)
    assert reports.render(deferred, "json") == reports.render(report, "json")
    assert tally.info == plain_tally.info


def test_a_host_with_a_current_and_a_legacy_entry_is_read_at_once():
    """A current entry that cannot be read falls back to the legacy one, parsed at once (of two
    entries the first good one is chosen); a readable current entry is deferred."""
    doc = lib.compliant_host()
    cache = factcache.PluginCache.__new__(factcache.PluginCache)
    cache.name, cache.max_bytes = "fake.redis", 10 ** 8
    cache.plugin = FakeRedis({"s1_web": "{broken", "web": json.dumps({"netif": doc}),
                              "s1_db": json.dumps({"__payload__": json.dumps({"netif": doc})}),
                              "db": json.dumps({"netif": {}})})
    read = list(cache.hosts(defer=True))
    assert read[1] == ("web", doc, None)
    assert read[0][0] == "db" and read[0][1].load() == (doc, None, None)


class FakeKeysetCache:
    """community.general.memcached (and .redis) as they read: a key set of insertion times, held
    in the store itself; keys() first drops the keys older than the timeout by rewriting the key
    set (when the timeout is not 0), get() deletes a listed key whose value is gone."""

    def __init__(self, store, timeout):
        self.store = store  # the server: {"ansible_cache_keys": {key: time}, "netif_" + key: value}
        self._timeout = timeout
        self._cache = {}
        self._keys = dict(store["ansible_cache_keys"])

    def _expire_keys(self):
        if self._timeout > 0:
            oldest = time.time() - self._timeout
            self._keys = dict((k, t) for k, t in self._keys.items() if t >= oldest)
            self.store["ansible_cache_keys"] = dict(self._keys)

    def keys(self):
        self._expire_keys()
        return list(self._keys)

    def get(self, key):
        if key not in self._cache:
            value = self.store.get("netif_" + key)
            if value is None:
                self.delete(key)
                raise KeyError(key)
            self._cache[key] = value
        return self._cache[key]

    def set(self, key, value):
        self.store["netif_" + key] = value

    def delete(self, key):
        self._cache.pop(key, None)
        self.store.pop("netif_" + key, None)
        del self._keys[key]
        self.store["ansible_cache_keys"] = dict(self._keys)

    def flush(self):
        self.store.clear()


def test_a_plugin_cannot_write_to_its_cache_while_the_audit_reads_it(monkeypatch):
    from ansible.plugins.loader import cache_loader

    doc = lib.compliant_host()
    now = time.time()
    store = {"ansible_cache_keys": {"s1_new": now, "s1_old": now - 10 * 86400, "s1_gone": now},
             "netif_s1_new": {"__payload__": json.dumps({"netif": doc})},
             "netif_s1_old": {"__payload__": json.dumps({"netif": doc})}}
    before = copy.deepcopy(store)
    loaded = {}

    def get(name, **options):
        loaded.update(options)
        return FakeKeysetCache(store, options["_timeout"])

    monkeypatch.setattr(cache_loader, "get", get)
    cache = factcache.PluginCache("fake.memcached", {"connection": "127.0.0.1:11211", "timeout": 86400})
    assert loaded == {"_uri": "127.0.0.1:11211", "_timeout": 86400}
    read = dict((h, (d, r)) for h, d, r in cache.hosts())
    assert store == before  # neither the expiry nor the get of a key without a value wrote
    assert read["new"] == (doc, None)
    assert read["old"] == (doc, None)  # audited as cached, whatever its age
    assert read["gone"] == (None, "fact cache entry s1_gone: gone or expired since the listing")
    for write in (lambda: cache.plugin.set("x", {}), lambda: cache.plugin.delete("s1_new"), cache.plugin.flush):
        with pytest.raises(KeyError):
            write()
    assert store == before


def test_an_unknown_plugin_is_a_clear_error():
    with pytest.raises(ValueError, match="no.such"):
        factcache.PluginCache("no.such.cache", {})


# -- progress ----------------------------------------------------------------------------------
class Tty(io.StringIO):
    def isatty(self):
        return True


def test_progress_shows_done_total_rate_and_eta_on_a_terminal_only():
    now = [0.0]
    stream = Tty()
    progress = console.Progress(lambda: 1000, stream=stream, after=2.0, clock=lambda: now[0])
    progress.update(10)
    assert stream.getvalue() == ""  # short audits stay quiet
    now[0] = 4.0
    progress.update(400)
    assert "400/1000 hosts (40%), 100 hosts/s, ETA 6s" in stream.getvalue()
    progress.done()
    piped = io.StringIO()
    quiet = console.Progress(lambda: 1000, stream=piped, after=0, clock=lambda: now[0])
    now[0] = 10.0
    quiet.update(999)
    assert piped.getvalue() == ""
    assert os.environ.get("CI") is None or not piped.isatty()


def test_expired_waivers_are_read_back_from_the_spool():
    # console.expired_waivers reads only the hosts whose rules include audit.waiver_expired
    policy = engine.load_policy(["cis_network", "fleet"], waivers=[
        {"rule": "cis_network.ipv4_rp_filter", "hosts": ["h00013", "h00026"], "reason": "old router",
         "expires": "2030-06-01"}])
    docs = fleet_docs(40)
    got = []
    for stream in (False, True):
        report = engine.audit(policy, docs, groups_of(docs), TODAY, stream=stream)
        got.append(console.expired_waivers(report))
    assert got[0] == got[1] and got[0][0]["hosts"] == ["h00013", "h00026"], got
