"""hostnet.netif.addresses against a real lab host over SSH, checked with ``ip -json`` inside
the namespace (never with the module's own reading).

Every changing state runs three times: ``--check --diff`` (the host must not change and a
diff must be there), for real with ``--diff``, and again (``changed=false``). The lab keeps
IPv6 off; the first veth of the pair gets it back so link-local and IPv4-mapped IPv6
addresses exist. Only 198.19.0.0/16 (inside 198.18.0.0/15) and IPv4-mapped IPv6 are used.
"""

from __future__ import annotations

import ipaddress
import json
import random
import secrets

import pytest

from tests.integration.helpers import run_ansible


def module(lab, host, args, *flags):
    """Run hostnet.netif.addresses ad hoc; return (result dict, whole stdout)."""
    rc, out, err = run_ansible(lab, host.name, "-m", "hostnet.netif.addresses",
                               "-a", json.dumps(args), *flags)
    for line_no, line in enumerate(out.splitlines()):
        if line.startswith(host.name + " | ") and " => " in line:
            body = "\n".join([line.split(" => ", 1)[1]] + out.splitlines()[line_no + 1:])
            result = json.loads(body)
            # the callback prints the status instead of the "failed" key
            result["failed"] = line.split(" | ", 1)[1].startswith("FAILED")
            return result, out
    raise AssertionError("no result in ansible output rc=%s\n%s\n%s" % (rc, out[-3000:], err[-3000:]))


@pytest.fixture(scope="module")
def rig(lab_factory):
    lab = lab_factory(hosts=1)
    host = lab.hosts[0]
    tag = "t" + secrets.token_hex(2)
    net = random.randint(1, 254)
    names = {k: tag + k for k in "abcd"}
    lab.add_veth_pair(host, names["a"], names["b"])
    lab.add_veth_pair(host, names["c"], names["d"])
    # IPv6 back on for a (link-local appears once it is up again); c and d keep it off
    lab.write_proc(host, "/proc/sys/net/ipv6/conf/%s/disable_ipv6" % names["a"], "0")
    yield {"lab": lab, "host": host, "names": names, "tag": tag, "net": net}
    for name in (names["a"], names["c"]):  # the peers go with them
        lab.exec(host, ["ip", "link", "del", name], check=False)
    assert not [l for l in lab.ip_json(host, "link", "show") if l["ifname"].startswith(tag)]


def addresses(rig, name):
    """{cidr: ip -json addr_info} of one interface; IPv6 spelled by ipaddress for comparison."""
    result = {}
    for link in rig["lab"].ip_json(rig["host"], "addr", "show", "dev", name):
        for info in link.get("addr_info", []):
            ip = ipaddress.ip_address(info["local"])
            result["%s/%d" % (ip, info["prefixlen"])] = info
    return result


def cidrs(rig, name):
    return set(addresses(rig, name))


def v6(text):
    iface = ipaddress.ip_interface(text)
    return "%s/%d" % (iface.ip, iface.network.prefixlen)


def link_local(rig, name):
    return set(c for c in cidrs(rig, name) if c.startswith("fe80:"))


def three_runs(rig, args, again_args=None):
    """--check --diff (host unchanged), real --diff, again (``again_args``: the same task
    spelled differently); returns the real run's result."""
    lab, host = rig["lab"], rig["host"]
    before = dict((n, cidrs(rig, n)) for n in rig["names"].values())
    checked, out = module(lab, host, args, "--check", "--diff")
    assert checked["changed"] is True, checked
    assert "--- before" in out and "+++ after" in out, out
    assert dict((n, cidrs(rig, n)) for n in rig["names"].values()) == before, "check mode changed"
    done, out = module(lab, host, args, "--diff")
    assert done["changed"] is True and done["commands"] == checked["commands"], (checked, done)
    assert "--- before" in out and "+++ after" in out
    again, dummy = module(lab, host, again_args or args)
    assert again["changed"] is False and again["commands"] == [], again
    return done


def test_every_changing_state(rig):
    n, net = rig["names"], rig["net"]
    a, b = n["a"], n["b"]
    mapped = "::ffff:198.19.%d.10/120" % net
    # merged: netmask spelling, label + broadcast, IPv6 with nodad, a finite lifetime;
    # the second run spells every address differently and must change nothing
    entries = [{"address": "198.19.%d.2/24" % net, "label": a + ":x", "broadcast": "+"},
               {"address": "198.19.%d.3/24" % net, "valid_lft": 3600, "preferred_lft": 1800}]
    done = three_runs(rig, {"config": [
        {"name": a, "addresses": ["198.19.%d.1/255.255.255.0" % net,
                                  {"address": mapped, "nodad": True}] + entries},
        {"name": b, "addresses": ["198.19.%d.20/24" % net]}]}, again_args={"config": [
            {"name": a, "addresses": [
                "198.19.%d.1/24" % net,
                {"address": "0:0:0:0:0:FFFF:C613:%04X" % (net * 256 + 10), "prefixlen": 120,
                 "nodad": True}] + entries},
            {"name": b, "addresses": ["198.19.%d.20/255.255.255.0" % net]}]})
    got = addresses(rig, a)
    assert set(got) - link_local(rig, a) == {
        "198.19.%d.1/24" % net, "198.19.%d.2/24" % net, v6(mapped), "198.19.%d.3/24" % net}
    assert got["198.19.%d.2/24" % net]["label"] == a + ":x"
    assert got["198.19.%d.2/24" % net]["broadcast"] == "198.19.%d.255" % net
    assert got[v6(mapped)].get("nodad") is True
    assert 1790 <= got["198.19.%d.3/24" % net]["valid_life_time"] <= 3600
    assert cidrs(rig, b) == {"198.19.%d.20/24" % net}
    assert len(done["commands"]) == 5

    assert link_local(rig, a), "the kernel made no fe80:: address on %s" % a
    kernel_made = link_local(rig, a)
    # replaced: exactly the list; the kernel's link-local stays
    three_runs(rig, {"state": "replaced", "config": [
        {"name": a, "addresses": ["198.19.%d.1/24" % net, "198.19.%d.4/24" % net]}]})
    assert cidrs(rig, a) == {"198.19.%d.1/24" % net, "198.19.%d.4/24" % net} | kernel_made
    assert cidrs(rig, b) == {"198.19.%d.20/24" % net}

    # overridden in scope t<tag>[ab]: b is unlisted and loses its addresses; c, d out of scope
    lab, host = rig["lab"], rig["host"]
    lab.exec(host, ["ip", "addr", "add", "198.19.%d.30/24" % net, "dev", n["c"]])
    three_runs(rig, {"state": "overridden", "scope": [rig["tag"] + "[ab]"], "config": [
        {"name": a, "addresses": ["198.19.%d.1/24" % net]}]})
    assert cidrs(rig, a) == {"198.19.%d.1/24" % net} | kernel_made
    assert cidrs(rig, b) == set()
    assert cidrs(rig, n["c"]) == {"198.19.%d.30/24" % net}

    # deleted: an item without addresses loses all but kernel-made ones, an item with
    # addresses loses those (absent ones and other spellings are fine)
    for last in (5, 6):
        lab.exec(host, ["ip", "addr", "add", "198.19.%d.%d/24" % (net, last), "dev", a])
    lab.exec(host, ["ip", "addr", "add", "198.19.%d.31/24" % net, "dev", n["c"]])
    three_runs(rig, {"state": "deleted", "config": [
        {"name": a},
        {"name": n["c"], "addresses": ["198.19.%d.30/255.255.255.0" % net,
                                       "198.19.%d.99/24" % net]}]})
    assert cidrs(rig, a) == kernel_made
    assert cidrs(rig, n["c"]) == {"198.19.%d.31/24" % net}
    lab.exec(host, ["ip", "addr", "flush", "dev", n["c"]])


def test_gathered_parsed_rendered(rig):
    lab, host, n, net = rig["lab"], rig["host"], rig["names"], rig["net"]
    lab.exec(host, ["ip", "addr", "add", "198.19.%d.40/24" % net, "dev", n["d"],
                    "label", n["d"] + ":g"])
    lab.exec(host, ["ip", "addr", "add", "198.19.%d.41/32" % net, "peer", "198.19.%d.42" % net,
                    "dev", n["d"]])
    gathered, dummy = module(lab, host, {"state": "gathered", "scope": [n["d"]]})
    assert gathered["changed"] is False
    truth = addresses(rig, n["d"])
    assert gathered["gathered"] == [{"name": n["d"], "addresses": [
        {"address": "198.19.%d.40/24" % net, "label": n["d"] + ":g"},
        {"address": "198.19.%d.41/32" % net, "peer": "198.19.%d.42" % net}]}]
    assert set(truth) == {"198.19.%d.40/24" % net, "198.19.%d.41/32" % net}
    capture = lab.exec(host, ["ip", "-json", "-d", "addr", "show"]).stdout
    parsed, dummy = module(lab, host, {"state": "parsed", "running_config": capture,
                                       "scope": [n["d"]]})
    assert parsed["parsed"] == gathered["gathered"]
    rendered, dummy = module(lab, host, {"state": "rendered", "running_config": capture, "config": [
        {"name": n["d"], "addresses": ["198.19.%d.40/255.255.255.0" % net,
                                       "198.19.%d.43/24" % net]}]})
    assert rendered["rendered"] == ["address add 198.19.%d.43/24 dev %s" % (net, n["d"])]
    assert "198.19.%d.43/24" % net not in cidrs(rig, n["d"])
    lab.exec(host, ["ip", "addr", "flush", "dev", n["d"]])


def test_kernel_refusal_rolls_back_the_whole_plan(rig):
    lab, host, n, net = rig["lab"], rig["host"], rig["names"], rig["net"]
    c = n["c"]
    assert lab.read_proc(host, "/proc/sys/net/ipv6/conf/%s/disable_ipv6" % c) == "1"
    before = addresses(rig, c)
    result, dummy = module(lab, host, {"config": [{"name": c, "addresses": [
        "198.19.%d.50/24" % net, "::ffff:198.19.%d.50/120" % net]}]})
    assert result.get("failed") is True, result
    assert result["failed_command"] == "address add ::ffff:198.19.%d.50/120 dev %s" % (net, c)
    assert result["failed_line"] == 2 and "IPv6 is disabled" in result["stderr"]
    assert result["restored"] is True
    assert "restored to its state before the task" in result["msg"]
    assert addresses(rig, c) == before  # the IPv4 address of line 1 is gone again


def test_guard_refuses_the_session_address(rig):
    lab, host = rig["lab"], rig["host"]
    session = "%s/24" % host.ip
    assert session in cidrs(rig, "eth0")
    result, dummy = module(lab, host, {"state": "deleted", "config": [
        {"name": "eth0", "addresses": [session]}]})
    assert result.get("failed") is True, result
    assert "refusing to remove %s from eth0" % session in result["msg"]
    assert "force: true" in result["msg"]
    assert session in cidrs(rig, "eth0")
