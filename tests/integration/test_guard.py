"""The management guard on a real lab host over SSH: the six changes of issue #8 that cut
the session on a lab host are refused without ``force`` and leave the host as it was; a
change the static rules let through (bringing up an interface that already holds a more
specific prefix of the controller's subnet) is caught by the dynamic route check inside
the transaction and undone; changes that do not cut (an equal prefix elsewhere, MTU 576,
arp_ignore 2 with the controller in the subnet) pass. What the host looks like is read
with ``ip -json`` and /proc inside the namespace; the session must still answer afterwards.

One lab, one playbook per test (every task ``ignore_errors``): 8 s on a quiet machine,
30 s under load. The lab's controller is the bridge address 198.18.K.1, the session
address 198.18.K.10/24 on eth0; the spare veth pair holds only addresses of that /24.
"""

from __future__ import annotations

import ipaddress
import json
import os
import secrets

import pytest

from tests.integration.helpers import run_ansible, run_playbook, without_counters


@pytest.fixture(scope="module")
def lab(lab_factory):
    return lab_factory(hosts=1)


@pytest.fixture
def spare(lab):
    """A veth pair: ``down`` (admin down, holding 198.18.K.5/25) and ``up``; deleted after."""
    host = lab.hosts[0]
    prefix = "g" + secrets.token_hex(2)
    down, up = prefix + "d", prefix + "u"
    lab.add_veth_pair(host, down, up, up=False)
    try:
        # up once before it holds the /25: the kernel gives a link its qdisc (noqueue) on
        # the first up and keeps it, which no restore can (or needs to) take back
        for state in ("up", "down"):
            lab.exec(host, ["ip", "link", "set", "dev", down, state])
        lab.exec(host, ["ip", "link", "set", "dev", up, "up"])
        lab.exec(host, ["ip", "address", "add", "%s/25" % offset(lab, 5), "dev", down])
        yield down, up
    finally:
        lab.del_link(host, down, missing_ok=True)


def offset(lab, number):
    return str(ipaddress.ip_address(lab.bridge_ip) - 1 + number)


def host_state(lab, host):
    """Links and addresses (ip -json -d addr), arp_ignore of all/eth0, the route to the
    controller: everything the refused tasks would have touched."""
    return {
        "addr": without_counters(lab.ip_json(host, "-d", "addr", "show")),
        "arp_ignore": [lab.read_proc(host, "/proc/sys/net/ipv4/conf/%s/arp_ignore" % name)
                       for name in ("all", "eth0")],
        "route": lab.ip_json(host, "route", "get", lab.bridge_ip),
    }


def changed(before, after, path="$"):
    """The paths where ``after`` differs from ``before`` (for the assertion message)."""
    if isinstance(before, dict) and isinstance(after, dict):
        return [item for key in sorted(set(before) | set(after))
                for item in changed(before.get(key), after.get(key), "%s.%s" % (path, key))]
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        return [item for index, (b, a) in enumerate(zip(before, after))
                for item in changed(b, a, "%s[%d]" % (path, index))]
    return [] if before == after else ["%s: %r -> %r" % (path, before, after)]


def play(lab, host, tasks):
    """Run ``tasks`` ({module: args}) in one playbook; return each task's result."""
    out_path = os.path.join(str(lab.workdir), "guard-%s.json" % secrets.token_hex(4))
    body = []
    for index, task in enumerate(tasks):
        task = dict(task)
        reconnect = task.pop("reconnect_after", False)
        body.append(dict(task, name="step %d" % index, register="r%d" % index,
                         ignore_errors=True))
        if reconnect:
            body.append({"ansible.builtin.meta": "reset_connection"})
    names = ", ".join("'r%d': r%d" % (i, i) for i in range(len(tasks)))
    body.append({"name": "save", "delegate_to": "localhost", "ansible.builtin.copy": {
        "content": "{{ {%s} | to_json }}" % names, "dest": out_path}})
    playbook = json.dumps([{"hosts": host.name, "gather_facts": False, "tasks": body}])
    rc, out, err = run_playbook(lab, playbook + "\n", None, timeout=240)
    assert os.path.exists(out_path), "rc=%s\n%s\n%s" % (rc, out[-3000:], err[-3000:])
    with open(out_path) as handle:
        data = json.load(handle)
    os.unlink(out_path)
    return [data["r%d" % i] for i in range(len(tasks))]


def test_cutters_are_refused_and_the_route_check_restores(lab, spare):
    host = lab.hosts[0]
    down, up = spare
    session = "%s/24" % host.ip
    before = host_state(lab, host)
    assert [r.get("dev") for r in before["route"]] == ["eth0"]
    cases = [
        ({"hostnet.netif.interfaces": {"config": [{"name": "eth0", "arp": False}]}},
         "turn ARP off on eth0"),
        ({"hostnet.netif.interfaces": {"config": [{"name": "eth0", "mtu": 68}]}},
         "set the MTU of eth0 to 68, below 576"),
        ({"hostnet.netif.addresses": {"config": [{"name": "eth0", "addresses": [
            {"address": session, "valid_lft": 600}]}]}},
         "give the session address %s a finite valid_lft" % session),
        ({"hostnet.netif.sysctls": {"config": [{"name": "eth0", "ipv4": {"arp_ignore": 8}}]}},
         "set arp_ignore eth0=8"),
        ({"hostnet.netif.sysctls": {"config": [{"name": "all", "ipv4": {"arp_ignore": 8}}]}},
         "set arp_ignore all=8"),
        ({"hostnet.netif.addresses": {"config": [{"name": up, "addresses": [
            "%s/32" % lab.bridge_ip]}]}},
         "add the controller's own address %s on %s" % (lab.bridge_ip, up)),
        ({"hostnet.netif.addresses": {"config": [{"name": up, "addresses": [
            "%s/25" % offset(lab, 6)]}]}},
         "is more specific than the /24 the session uses via eth0"),
        # the static rules let this through (an interface brought up); the route check after
        # the batch sees the route to the controller move to the /25 and restores
        ({"hostnet.netif.interfaces": {"config": [{"name": down, "enabled": True}]}},
         "the route to the controller %s changed: device eth0 -> %s, source %s -> %s"
         % (lab.bridge_ip, down, host.ip, offset(lab, 5))),
    ]
    results = play(lab, host, [task for task, dummy in cases])
    for (task, words), result in zip(cases, results):
        assert result.get("failed") is True, (task, result)
        assert words in result["msg"] and "force: true" in result["msg"], (task, result["msg"])
        assert "would cut the Ansible SSH session %s -> %s" % (lab.bridge_ip, host.ip) \
            in result["msg"]
    assert results[-1]["restored"] is True
    assert "link set dev %s down" % down in results[-1]["restore_commands"]
    # the static refusals come before any change: no restore had anything to do
    assert all("restored" not in result for result in results[:-1])
    after = host_state(lab, host)
    assert after == before, changed(before, after)
    rc, out, err = run_ansible(lab, host.name, "-m", "ansible.builtin.ping")
    assert rc == 0 and "pong" in out, out + err


def test_what_does_not_cut_is_let_through(lab, spare):
    """The rules refuse only what cuts: an equal prefix on another interface (the kernel
    keeps the first route), MTU 576 on eth0, arp_ignore 2 with the controller inside the
    session's subnet all pass, the route check included, and the session goes on."""
    host = lab.hosts[0]
    down, up = spare
    before = host_state(lab, host)
    equal = "%s/24" % offset(lab, 7)
    tasks = [
        {"hostnet.netif.addresses": {"config": [{"name": up, "addresses": [equal]}]}},
        # eth0 drops frames above its MTU without an ICMP "fragmentation needed", and the
        # SSH connection opened before the change keeps its 1448-byte MSS, so the next
        # task's module transfer stalled (240 s, then the play died): the setter now has
        # the action plugin reset the connection after lowering the session interface's
        # MTU, and the tasks below run over a new one that negotiates the smaller MSS
        {"hostnet.netif.interfaces": {"config": [{"name": "eth0", "mtu": 576}]}},
        {"hostnet.netif.sysctls": {"config": [{"name": "eth0", "ipv4": {"arp_ignore": 2}}]}},
    ]
    undo = [
        {"hostnet.netif.addresses": {"state": "deleted", "config": [
            {"name": up, "addresses": [equal]}]}},
        {"hostnet.netif.interfaces": {"config": [{"name": "eth0", "mtu": 1500}]}},
        {"hostnet.netif.sysctls": {"config": [{"name": "eth0", "ipv4": {"arp_ignore": 0}}]}},
    ]
    try:
        # the session carries on: the tasks after the changes (and the undo) run over it
        results = play(lab, host, tasks + [
            {"ansible.builtin.command": {"argv": ["ip", "-json", "route", "get", lab.bridge_ip]}},
            {"ansible.builtin.command": {"argv": ["cat", "/proc/sys/net/ipv4/conf/eth0/arp_ignore",
                                                  "/sys/class/net/eth0/mtu"]}}] + undo)
        for task, result in zip(tasks + undo, results[:3] + results[5:]):
            assert result.get("failed") is not True and result["changed"] is True, (task, result)
        assert json.loads(results[3]["stdout"])[0]["dev"] == "eth0"
        assert results[4]["stdout_lines"] == ["2", "576"]
        assert any("connection is reset after this task" in w for w in results[1].get("warnings", []))
    finally:  # whatever the play did not undo
        lab.exec(host, ["ip", "address", "del", equal, "dev", up], check=False)
        lab.exec(host, ["ip", "link", "set", "dev", "eth0", "mtu", "1500"])
        lab.write_proc(host, "/proc/sys/net/ipv4/conf/eth0/arp_ignore", "0")
    assert host_state(lab, host) == before
