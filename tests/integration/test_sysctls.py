"""hostnet.netif.sysctls against a real lab host over SSH, checked by reading /proc inside the
namespace (``sysctl -a`` / ``cat``), never with the module's own reading.

Every changing state runs ``--check --diff`` (nothing in /proc may change, a diff must be
there), for real with ``--diff``, and again (``changed=false``). The interfaces have dots in
their names (``v-<tag>.1``). The persist file goes to a directory of the lab's work directory
(``HOSTNET_NETIF_SYSCTL_DIR``), never to /etc/sysctl.d, and the lab's namespace (with its
``all``/``default`` values) is removed with the lab.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess

import pytest

from tests.integration.helpers import run_ansible, run_playbook

MODULE = "hostnet.netif.sysctls"


def module(lab, host, args, *flags):
    """Run the module ad hoc; return (result dict with "failed", whole stdout)."""
    rc, out, err = run_ansible(lab, host.name, "-m", MODULE, "-a", json.dumps(args), *flags)
    lines = out.splitlines()
    for line_no, line in enumerate(lines):
        if line.startswith(host.name + " | ") and " => " in line:
            result = json.loads("\n".join([line.split(" => ", 1)[1]] + lines[line_no + 1:]))
            result["failed"] = line.split(" | ", 1)[1].startswith("FAILED")
            return result, out
    raise AssertionError("no result in ansible output rc=%s\n%s\n%s" % (rc, out[-3000:], err[-3000:]))


def playbook(lab, host, tasks, directory, *flags):
    """Run ``tasks`` (each a module-args dict, registered r0, r1, ...) with the persist
    directory in the environment; return the list of results."""
    out_path = os.path.join(str(lab.workdir), "results-%s.json" % secrets.token_hex(4))
    body = ""
    for index, args in enumerate(tasks):
        body += ("    - %s: %s\n      register: r%d\n      ignore_errors: true\n"
                 % (MODULE, json.dumps(args), index))
    names = ", ".join("'r%d': r%d" % (i, i) for i in range(len(tasks)))
    text = ("- hosts: %s\n  gather_facts: false\n  environment:\n"
            "    HOSTNET_NETIF_SYSCTL_DIR: %s\n  tasks:\n%s"
            "    - ansible.builtin.copy:\n        content: \"{{ {%s} | to_json }}\"\n"
            "        dest: %s\n      delegate_to: localhost\n"
            % (host.name, json.dumps(directory), body, names, json.dumps(out_path)))
    rc, out, err = run_playbook(lab, text, None, *flags)
    assert os.path.exists(out_path), "playbook rc=%s\n%s\n%s" % (rc, out[-3000:], err[-3000:])
    with open(out_path) as handle:
        data = json.load(handle)
    os.unlink(out_path)
    return [data["r%d" % i] for i in range(len(tasks))], out


@pytest.fixture(scope="module")
def rig(lab_factory):
    lab = lab_factory(hosts=1)
    host = lab.hosts[0]
    tag = secrets.token_hex(2)
    x1, x2 = "v-%s.1" % tag, "v-%s.2" % tag
    lab.add_veth_pair(host, x1, x2)
    directory = os.path.join(str(lab.workdir), "sysctl.d-%s" % tag)
    os.mkdir(directory)
    yield {"lab": lab, "host": host, "x1": x1, "x2": x2, "tag": tag, "dir": directory}
    lab.exec(host, ["ip", "link", "del", x1], check=False)
    shutil.rmtree(directory)


def conf(rig):
    """Every net.ipv4/ipv6.conf value in the namespace, as `sysctl -a` prints it."""
    proc = rig["lab"].exec(rig["host"], ["sysctl", "-a"], check=False)
    values = {}
    for line in proc.stdout.splitlines():
        key, sep, value = line.partition(" = ")
        if sep and key.startswith(("net.ipv4.conf.", "net.ipv6.conf.")):
            values[key] = value
    assert values, proc.stderr
    return values


def proc(rig, family, name, key):
    return int(rig["lab"].read_proc(rig["host"], "/proc/sys/net/%s/conf/%s/%s" % (family, name, key)))


def three_runs(rig, args):
    lab, host = rig["lab"], rig["host"]
    before = conf(rig)
    checked, out = module(lab, host, args, "--check", "--diff")
    assert checked["changed"] is True and not checked["failed"], checked
    assert "--- before" in out and "+++ after" in out, out
    assert conf(rig) == before, "check mode changed /proc"
    done, out = module(lab, host, args, "--diff")
    assert done["changed"] is True and done["commands"] == checked["commands"], (checked, done)
    assert "--- before" in out and "+++ after" in out
    again, dummy = module(lab, host, args)
    assert again["changed"] is False and again["commands"] == [], again
    return done


def test_every_changing_state(rig):
    x1, x2 = rig["x1"], rig["x2"]
    default = dict((k, proc(rig, f, "default", k)) for f, k in (
        ("ipv4", "rp_filter"), ("ipv4", "arp_ignore"), ("ipv4", "arp_announce"),
        ("ipv4", "proxy_arp"), ("ipv6", "accept_ra")))
    # merged, on a dotted interface and on all
    done = three_runs(rig, {"config": [
        {"name": x1, "ipv4": {"rp_filter": 2, "arp_ignore": 1}, "ipv6": {"accept_ra": 0}},
        {"name": "all", "ipv4": {"log_martians": 1}}]})
    assert "sysctl -w net.ipv4.conf.%s.rp_filter=2" % x1.replace(".", "/") in done["commands"]
    assert (proc(rig, "ipv4", x1, "rp_filter"), proc(rig, "ipv4", x1, "arp_ignore"),
            proc(rig, "ipv6", x1, "accept_ra"), proc(rig, "ipv4", "all", "log_martians")) \
        == (2, 1, 0, 1)
    # replaced: the keys not given return to conf/default; all is not listed, stays
    three_runs(rig, {"state": "replaced", "config": [{"name": x1, "ipv4": {"arp_announce": 2}}]})
    assert proc(rig, "ipv4", x1, "arp_announce") == 2
    assert proc(rig, "ipv4", x1, "rp_filter") == default["rp_filter"]
    assert proc(rig, "ipv4", x1, "arp_ignore") == default["arp_ignore"]
    assert proc(rig, "ipv6", x1, "accept_ra") == default["accept_ra"]
    assert proc(rig, "ipv4", "all", "log_martians") == 1
    # overridden in scope v-<tag>.*: x2 as listed, x1 back to conf/default, all untouched
    three_runs(rig, {"state": "overridden", "scope": ["v-%s.*" % rig["tag"]],
                     "config": [{"name": x2, "ipv4": {"proxy_arp": 1}}]})
    assert proc(rig, "ipv4", x2, "proxy_arp") == 1
    assert proc(rig, "ipv4", x1, "arp_announce") == default["arp_announce"]
    assert proc(rig, "ipv4", "all", "log_martians") == 1
    # deleted: the named key returns to conf/default (the value given is ignored)
    three_runs(rig, {"state": "deleted", "config": [{"name": x2, "ipv4": {"proxy_arp": 1}}]})
    assert proc(rig, "ipv4", x2, "proxy_arp") == default["proxy_arp"]


def test_gathered_parsed_rendered(rig):
    lab, host, x1 = rig["lab"], rig["host"], rig["x1"]
    lab.write_proc(host, "/proc/sys/net/ipv4/conf/%s/rp_filter" % x1, "1")
    gathered, dummy = module(lab, host, {"state": "gathered", "scope": [x1]})
    (item,) = gathered["gathered"]
    truth = conf(rig)
    assert item["name"] == x1
    for family in ("ipv4", "ipv6"):
        for key, value in item[family].items():
            assert str(value) == truth["net.%s.conf.%s.%s" % (family, x1.replace(".", "/"), key)]
    assert item["ipv4"]["rp_filter"] == 1 and len(item["ipv4"]) >= 25 and len(item["ipv6"]) >= 35
    capture = lab.exec(host, ["sysctl", "-a"], check=False).stdout
    parsed, dummy = module(lab, host, {"state": "parsed", "running_config": capture,
                                       "scope": [x1]})
    assert parsed["parsed"] == gathered["gathered"]
    rendered, dummy = module(lab, host, {"state": "rendered", "running_config": capture, "config": [
        {"name": x1, "ipv4": {"rp_filter": 1, "arp_ignore": 2}}]})
    assert rendered["rendered"] == ["sysctl -w net.ipv4.conf.%s.arp_ignore=2" % x1.replace(".", "/")]
    assert proc(rig, "ipv4", x1, "arp_ignore") != 2


def test_persist_file(rig):
    lab, host, x1, directory = rig["lab"], rig["host"], rig["x1"], rig["dir"]
    name = "90-test-%s.conf" % rig["tag"]
    path = os.path.join(directory, name)
    task = {"persist": True, "persist_file": name, "config": [
        {"name": x1, "ipv4": {"rp_filter": 2}}, {"name": "default", "ipv4": {"log_martians": 1}}]}
    (first, second), out = playbook(lab, host, [task, task], directory, "--diff")
    assert first["changed"] is True and second["changed"] is False, (first, second)
    assert first["persist"] == {"path": path, "changed": True}
    assert "+++ after: %s" % path in out  # the file's diff under --diff
    with open(path) as handle:
        text = handle.read()
    assert text.splitlines()[1:] == ["net.ipv4.conf.default.log_martians = 1",
                                     "-net.ipv4.conf.%s.rp_filter = 2" % x1.replace(".", "/")]
    assert oct(os.stat(path).st_mode & 0o777) == "0o644"
    assert [f for f in os.listdir(directory) if f.startswith(".")] == []  # no temp file left
    # the file works: procps reads it, the dot in the name escaped as '/'
    lab.write_proc(host, "/proc/sys/net/ipv4/conf/%s/rp_filter" % x1, "0")
    applied = lab.exec(host, ["sysctl", "-p", path], check=False)
    assert applied.returncode == 0, applied.stderr
    assert proc(rig, "ipv4", x1, "rp_filter") == 2
    # deleted with persist drops the line (the runtime value returns to conf/default too)
    delete = {"state": "deleted", "persist": True, "persist_file": name,
              "config": [{"name": x1, "ipv4": {"rp_filter": 0}}]}
    (gone,), dummy = playbook(lab, host, [delete], directory)
    assert gone["changed"] is True, gone
    with open(path) as handle:
        assert handle.read().splitlines()[1:] == ["net.ipv4.conf.default.log_martians = 1"]
    assert proc(rig, "ipv4", x1, "rp_filter") == proc(rig, "ipv4", "default", "rp_filter")
    os.unlink(path)


def test_failed_persist_write_restores_runtime_values(rig):
    lab, host, x1 = rig["lab"], rig["host"], rig["x1"]
    blocked = os.path.join(rig["dir"], "blocked")
    os.mkdir(blocked)
    # an immutable directory refuses the temporary file even to root
    if subprocess.run(["chattr", "+i", blocked], check=False, capture_output=True).returncode:
        os.rmdir(blocked)
        pytest.skip("chattr +i is not supported on this filesystem")
    try:
        before = conf(rig)
        value = 1 if proc(rig, "ipv4", x1, "arp_ignore") != 1 else 2
        (result,), dummy = playbook(lab, host, [{"persist": True, "config": [
            {"name": x1, "ipv4": {"arp_ignore": value}}]}], blocked)
    finally:
        subprocess.run(["chattr", "-i", blocked], check=True)
    os.rmdir(blocked)
    assert result.get("failed") is True, result
    assert "could not write %s" % os.path.join(blocked, "90-hostnet-netif.conf") in result["msg"]
    assert result["restored"] is True
    assert conf(rig) == before


def test_guard_refuses_resetting_the_session_interface(rig):
    lab, host = rig["lab"], rig["host"]
    lab.write_proc(host, "/proc/sys/net/ipv4/conf/eth0/proxy_arp", "1")
    before = conf(rig)
    result, dummy = module(lab, host, {"state": "replaced", "config": [
        {"name": "eth0", "ipv4": {"rp_filter": proc(rig, "ipv4", "eth0", "rp_filter")}}]})
    assert result["failed"] is True, result
    assert "reset ipv4.proxy_arp of eth0" in result["msg"] and "force: true" in result["msg"]
    assert conf(rig) == before
    lab.write_proc(host, "/proc/sys/net/ipv4/conf/eth0/proxy_arp", "0")


@pytest.mark.parametrize("redirects_before", ["1", "0"])
def test_forwarding_is_written_before_accept_redirects(rig, redirects_before):
    """A remediation {forwarding: 0, accept_redirects: 0} on ``all`` of a router.

    Writing conf/all/forwarding 1 -> 0 makes the kernel set conf/all/accept_redirects to 1
    (devinet.c inet_forward_change). Before the fix accept_redirects (sorted first) was
    written before forwarding, or skipped when already 0; the forwarding write then left it
    at 1, verify failed and the task was rolled back."""
    lab, host = rig["lab"], rig["host"]
    base = "/proc/sys/net/ipv4/conf/all/"
    lab.write_proc(host, base + "forwarding", "1")
    lab.write_proc(host, base + "accept_redirects", redirects_before)
    try:
        done, dummy = module(lab, host, {"config": [
            {"name": "all", "ipv4": {"accept_redirects": 0, "forwarding": 0}}]})
        assert not done["failed"], done
        assert done["commands"][0] == "sysctl -w net.ipv4.conf.all.forwarding=0"
        assert done["commands"][-1] == "sysctl -w net.ipv4.conf.all.accept_redirects=0"
        assert (proc(rig, "ipv4", "all", "forwarding"), proc(rig, "ipv4", "all", "accept_redirects")) == (0, 0)
        again, dummy = module(lab, host, {"config": [
            {"name": "all", "ipv4": {"accept_redirects": 0, "forwarding": 0}}]})
        assert again["changed"] is False, again
    finally:
        lab.write_proc(host, base + "forwarding", "0")
        lab.write_proc(host, base + "accept_redirects", "1")
