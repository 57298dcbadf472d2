"""hostnet.netif.interfaces against a real lab host over SSH, checked with ip -json.

Every state runs as a real playbook; results are written to files by the
playbook (delegated ``copy``), and what the host looks like is read with
``ip -json`` inside the namespace, never with the module's own reading.
Interfaces carry a random prefix and are deleted by name after each test.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import threading
import time

import pytest

from tests.integration.helpers import netif_state_paths, run_ansible, run_playbook, without_counters


@pytest.fixture(scope="module")
def lab(lab_factory):
    return lab_factory(hosts=1)


@pytest.fixture
def ns(lab):
    """Random-prefixed interface names for one test; deleted by name afterwards."""
    host = lab.hosts[0]
    prefix = "i" + secrets.token_hex(2)
    made = []

    def name(suffix):
        value = "%s%s" % (prefix, suffix)
        assert len(value.encode()) <= 15
        made.append(value)
        return value

    name.prefix = prefix
    name.host = host
    yield name
    errors = []
    for value in reversed(made):
        try:
            lab.del_link(host, value, missing_ok=True)
        except Exception as exc:  # keep deleting the rest
            errors.append("%s: %s" % (value, exc))
    assert not errors, errors


def links(lab, host):
    return {link["ifname"]: link for link in lab.ip_json(host, "-d", "link", "show")}


def settled_links(lab, host, timeout=6.0):
    """links() once operstates stopped moving (a new bridge goes UNKNOWN -> UP on its own)."""
    deadline = time.monotonic() + timeout
    last = without_counters(links(lab, host))
    while time.monotonic() < deadline:
        time.sleep(0.4)
        now = without_counters(links(lab, host))
        if now == last:
            return now
        last = now
    return last


def differences(before, after, path=""):
    """Readable list of what differs between two ip -json structures."""
    if isinstance(before, dict) and isinstance(after, dict):
        found = []
        for key in sorted(set(before) | set(after)):
            found += differences(before.get(key, "<absent>"), after.get(key, "<absent>"),
                                 "%s.%s" % (path, key) if path else key)
        return found
    return [] if before == after else ["%s: %r -> %r" % (path, before, after)]


def play(lab, host, tasks, *args, env=None):
    """Run ``tasks`` (module args of hostnet.netif.interfaces, or full task dicts) in one
    playbook; returns (rc, stdout, stderr, [result of each task])."""
    out_dir = os.path.join(str(lab.workdir), "out-" + secrets.token_hex(3))
    os.makedirs(out_dir)
    body = []
    for index, task in enumerate(tasks):
        if not any("." in key for key in task):  # module args, not a task with an FQCN
            task = {"hostnet.netif.interfaces": task}
        step = dict(task, name="step %d" % index, register="r%d" % index, ignore_errors=True)
        body.append(step)
        body.append({"name": "save step %d" % index, "ansible.builtin.copy": {
            "content": "{{ r%d | to_json }}" % index, "dest": "%s/%d.json" % (out_dir, index)},
            "delegate_to": "localhost", "check_mode": False, "diff": False})
    playbook = json.dumps([{"hosts": host.name, "gather_facts": False, "tasks": body}])
    rc, out, err = run_playbook(lab, playbook + "\n", None, *args, env=env)
    results = []
    for index in range(len(tasks)):
        path = os.path.join(out_dir, "%d.json" % index)
        assert os.path.exists(path), "step %d left no result\n%s\n%s" % (index, out[-3000:], err[-3000:])
        with open(path) as handle:
            results.append(json.load(handle))
    return rc, out, err, results


def ok(result):
    assert not result.get("failed"), json.dumps(result, indent=1)[:3000]
    return result


# ---------------------------------------------------------------------------
def test_create_check_diff_apply_idempotent(lab, ns):
    host = ns.host
    br, va, vb, mv, vx = ns("br"), ns("a"), ns("b"), ns("mv"), ns("vx")
    alias = 'uplink "core" \t<sw-1> caf\u00e9 \u2192 \u7db2'
    config = [
        {"name": br, "kind": "bridge", "enabled": True, "mtu": 1400},
        {"name": va, "kind": "veth", "peer": vb, "master": br, "enabled": True, "mtu": 1400,
         "alias": alias},
        {"name": vb, "enabled": True, "mtu": 1400, "mac": "02-00-5E-10-AB-01", "txqueuelen": 500,
         "group": 7, "promisc": True, "allmulticast": True},
        {"name": mv, "kind": "macvlan", "parent": vb, "mode": "private", "mtu": 1300},
        {"name": vx, "kind": "vxlan", "vni": 4242, "parent": vb, "dstport": 4790,
         "local": "198.18.200.1", "remote": "198.18.200.2", "arp": False},
    ]
    before = links(lab, host)

    rc, out, err, (checked,) = play(lab, host, [{"config": config}], "--check", "--diff")
    ok(checked)
    assert checked["changed"] is True
    assert "link add name %s type bridge" % br in checked["commands"]
    assert links(lab, host).keys() == before.keys(), "check mode created interfaces"
    assert "name: \"%s\"" % br in out, "no --diff output in check mode"

    rc, out, err, (applied,) = play(lab, host, [{"config": config}], "--diff")
    ok(applied)
    assert applied["changed"] is True
    assert applied["commands"] == checked["commands"]
    assert "mtu: 1400" in out and "+" in out, "no diff printed"

    now = links(lab, host)
    assert now[br]["linkinfo"]["info_kind"] == "bridge" and "UP" in now[br]["flags"]
    assert now[va]["linkinfo"]["info_kind"] == "veth" and now[va]["master"] == br
    assert now[va]["ifalias"] == alias and now[va]["mtu"] == 1400
    assert now[vb]["address"] == "02:00:5e:10:ab:01" and now[vb]["txqlen"] == 500
    assert now[vb]["group"] == "7" and {"PROMISC", "ALLMULTI", "UP"} <= set(now[vb]["flags"])
    assert now[mv]["linkinfo"]["info_kind"] == "macvlan" and now[mv]["link"] == vb
    assert now[mv]["linkinfo"]["info_data"]["mode"] == "private" and now[mv]["mtu"] == 1300
    data = now[vx]["linkinfo"]["info_data"]
    assert (data["id"], data["port"], data["local"], data["remote"], data["link"]) == \
        (4242, 4790, "198.18.200.1", "198.18.200.2", vb)
    assert "NOARP" in now[vx]["flags"] and "UP" not in now[vx]["flags"]

    rc, out, err, (again,) = play(lab, host, [{"config": config}])
    assert ok(again)["changed"] is False and again["commands"] == []


def test_merged_leaves_unlisted_fields_to_the_kernel(lab, ns):
    """A bridge listed without an MTU while its only port's MTU drops: the kernel
    lowers the bridge with it, and merged must neither fight nor fail on that."""
    host = ns.host
    br, pa, pb = ns("mb"), ns("ma"), ns("mz")
    lab.add_bridge(host, br)
    lab.add_veth_pair(host, pa, pb)
    lab.exec(host, ["ip", "link", "set", "dev", pa, "master", br])
    task = {"config": [{"name": br, "kind": "bridge"}, {"name": pa, "mtu": 1400}]}
    rc, out, err, results = play(lab, host, [task, task])
    assert ok(results[0])["changed"] is True
    assert ok(results[1])["changed"] is False
    now = links(lab, host)
    assert now[pa]["mtu"] == 1400
    assert now[br]["mtu"] == 1400  # the kernel's doing, not the plan's
    assert now[pa]["master"] == br


def test_release_replaced_overridden_deleted(lab, ns):
    host = ns.host
    br, pa, pb, pc, pd = ns("br"), ns("pa"), ns("pb"), ns("pc"), ns("pd")
    lab.add_bridge(host, br)
    lab.add_veth_pair(host, pa, pb)
    lab.add_veth_pair(host, pc, pd)
    for dev, args in ((pa, ["master", br, "mtu", "1400", "alias", "old a"]),
                      (pb, ["mtu", "1300", "promisc", "on"]),
                      (pc, ["master", br, "txqueuelen", "10"]),
                      (pd, ["down", "alias", "pd alias"])):
        lab.exec(host, ["ip", "link", "set", "dev", dev] + args)
    outside = without_counters(links(lab, host)["eth0"])

    tasks = [
        {"config": [{"name": pa, "master": None, "alias": None}]},                  # release
        {"state": "replaced", "config": [{"name": pb, "mtu": 1450}]},               # replaced
        {"state": "overridden", "scope": [ns.prefix + "p[cd]"],
         "config": [{"name": pc, "mtu": 1420}]},                                     # overridden
        {"state": "deleted", "config": [{"name": br, "kind": "bridge"},
                                        {"name": pa, "mtu": 9000, "enabled": False}]},  # deleted
    ]
    # each task twice: the second run of each must report no change
    doubled = [t for task in tasks for t in (task, task)]
    rc, out, err, results = play(lab, host, doubled)
    for index in range(0, len(results), 2):
        assert ok(results[index])["changed"] is True, (index, results[index])
        assert ok(results[index + 1])["changed"] is False, (index, results[index + 1])

    now = links(lab, host)
    assert br not in now                                       # deleted (kind given)
    assert "master" not in now[pa] and "ifalias" not in now[pa]  # released, alias cleared
    assert now[pa]["mtu"] == 1500 and "UP" in now[pa]["flags"]   # deleted attrs -> defaults
    assert now[pb]["mtu"] == 1450 and "PROMISC" not in now[pb]["flags"]  # replaced
    assert now[pc]["mtu"] == 1420 and now[pc]["txqlen"] == 1000 and "master" not in now[pc]
    assert now[pd]["mtu"] == 1500 and "UP" in now[pd]["flags"] and "ifalias" not in now[pd]
    assert without_counters(now["eth0"]) == outside            # outside scope: untouched


def test_gathered_rendered_parsed(lab, ns):
    host = ns.host
    va, vb = ns("ga"), ns("gb")
    lab.add_veth_pair(host, va, vb)
    lab.exec(host, ["ip", "link", "set", "dev", va, "mtu", "1234", "alias", "g a"])
    capture = lab.exec(host, ["ip", "-json", "-d", "addr", "show"]).stdout
    tasks = [
        {"state": "gathered", "scope": [ns.prefix + "*"]},
        {"state": "rendered", "config": [{"name": va, "mtu": 1500}, {"name": ns("gc"), "kind": "dummy"}]},
        {"state": "parsed", "running_config": capture, "scope": [ns.prefix + "*"]},
    ]
    rc, out, err, (gathered, rendered, parsed) = play(lab, host, tasks)
    truth = links(lab, host)
    items = {item["name"]: item for item in ok(gathered)["gathered"]}
    assert set(items) == {va, vb}
    assert items[va]["mtu"] == truth[va]["mtu"] == 1234 and items[va]["alias"] == "g a"
    assert items[va]["kind"] == "veth" and items[va]["peer"] == vb
    assert items[vb]["mac"] == truth[vb]["address"]
    assert ok(rendered)["rendered"] == ["link add name %sgc type dummy" % ns.prefix,
                                        "link set dev %s mtu 1500" % va]
    assert ns.prefix + "gc" not in links(lab, host)
    assert ok(parsed)["parsed"] == ok(gathered)["gathered"]


def test_kernel_refusal_mid_plan_is_rolled_back_exactly(lab, ns):
    host = ns.host
    br, nb, va, vb, mv = ns("br"), ns("nb"), ns("a"), ns("b"), ns("mv")
    lab.add_bridge(host, br)
    lab.add_veth_pair(host, va, vb)
    lab.exec(host, ["ip", "link", "set", "dev", va, "master", br, "alias", "keep me"])
    deadline = time.monotonic() + 20  # the bridge turns UP once its port forwards
    while links(lab, host)[br]["operstate"] != "UP" and time.monotonic() < deadline:
        time.sleep(0.2)
    before = settled_links(lab, host)
    config = [
        {"name": nb, "kind": "bridge", "enabled": True},
        {"name": va, "master": nb, "alias": "changed", "mtu": 1400},
        {"name": vb, "mtu": 1400, "promisc": True},
        {"name": mv, "kind": "macvlan", "parent": vb, "mtu": 9000},   # > vb's 1400: refused
    ]
    rc, out, err, (result,) = play(lab, host, [{"config": config}])
    assert result.get("failed") is True
    assert result["failed_command"] == "link set dev %s mtu 9000" % mv
    assert "link set dev %s mtu 9000" % mv in result["msg"]
    assert "Invalid argument" in result["msg"] or "mtu" in result["msg"].lower()
    assert result["restored"] is True
    assert differences(before, settled_links(lab, host)) == []


@pytest.mark.parametrize("kind, extra", [("dummy", {}), ("bond", {"mode": "active-backup"}),
                                         ("vlan", {"parent": "eth0", "vlan_id": 42})])
def test_kinds_this_kernel_may_lack(lab, ns, kind, extra):
    host = ns.host
    name = ns(kind[:2])
    probe = ns("pr")
    argv = ["ip", "link", "add"] + (["link", "eth0"] if kind == "vlan" else []) + \
        ["name", probe, "type", kind] + (["id", "9"] if kind == "vlan" else [])
    supported = lab.exec(host, argv, check=False).returncode == 0
    lab.del_link(host, probe, missing_ok=True)
    before = without_counters(links(lab, host))
    rc, out, err, (result,) = play(lab, host, [{"config": [dict(extra, name=name, kind=kind)]}])
    if supported:
        assert ok(result)["changed"] is True
        assert links(lab, host)[name]["linkinfo"]["info_kind"] == kind
        return
    assert result.get("failed") is True and "link add" in result["msg"]
    assert result["restored"] is True
    assert without_counters(links(lab, host)) == before
    pytest.skip("kernel lacks %s: checked the clean failure and rollback only" % kind)


def test_guard_refuses_to_down_the_session_interface(lab, ns, request):
    host = ns.host
    # a deviation from the defaults, so that overridden would have something to reset
    lab.exec(host, ["ip", "link", "set", "dev", "eth0", "alias", "mgmt"])
    request.addfinalizer(lambda: lab.exec(host, ["ip", "link", "set", "dev", "eth0", "alias", ""]))
    before = links(lab, host)["eth0"]
    tasks = [{"config": [{"name": "eth0", "enabled": False}]},
             {"config": [{"name": "eth0", "mac": "02:00:5e:10:00:99"}]},
             {"state": "overridden", "scope": ["eth*"], "config": []}]
    rc, out, err, results = play(lab, host, tasks)
    for result in results:
        assert result.get("failed") is True
        assert "eth0" in result["msg"] and "force: true" in result["msg"]
    now = links(lab, host)["eth0"]
    assert "UP" in now["flags"] and now["address"] == before["address"]
    assert now.get("ifalias") == "mgmt"
    rc, out, err = run_ansible(lab, host.name, "-m", "ansible.builtin.ping")
    assert rc == 0 and "pong" in out


def test_two_runs_serialise_on_the_host_lock(lab, ns):
    host = ns.host
    va, vb, vc, vd = ns("la"), ns("lb"), ns("lc"), ns("ld")
    lab.add_veth_pair(host, va, vb)
    lab.add_veth_pair(host, vc, vd)
    # 1. a held lock makes a run wait: nothing changes while we hold it
    lock_path = netif_state_paths(host.netns)[0]  # one lock per network namespace
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        results = {}
        worker = threading.Thread(target=lambda: results.update(first=play(
            lab, host, [{"config": [{"name": va, "mtu": 1410}]}])))
        worker.start()
        deadline = time.monotonic() + 6
        while time.monotonic() < deadline:
            assert links(lab, host)[va]["mtu"] == 1500, "changed while the lock was held"
            time.sleep(0.3)
        assert worker.is_alive(), "the run finished while the lock was held"
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
    worker.join(60)
    assert ok(results["first"][3][0])["changed"] is True
    assert links(lab, host)[va]["mtu"] == 1410
    # 2. two runs at once both succeed and both changes land
    runs = {}
    threads = [threading.Thread(target=lambda key=key, cfg=cfg: runs.update({key: play(lab, host, cfg)}))
               for key, cfg in (("x", [{"config": [{"name": va, "mtu": 1420}, {"name": vb, "alias": "x"}]}]),
                                ("y", [{"config": [{"name": vc, "mtu": 1430}, {"name": vd, "alias": "y"}]}]))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert ok(runs["x"][3][0])["changed"] and ok(runs["y"][3][0])["changed"]
    now = links(lab, host)
    assert (now[va]["mtu"], now[vb]["ifalias"], now[vc]["mtu"], now[vd]["ifalias"]) == \
        (1420, "x", 1430, "y")
