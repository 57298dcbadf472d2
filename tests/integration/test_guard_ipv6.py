"""The management guard's IPv6 rules on a lab host reached by Ansible over IPv6.

The lab reaches its hosts over IPv4 with IPv6 off; this module adds, for its own lab, IPv6
on the bridge and the host's eth0 (IPv4-compatible ``::198.18.K.x`` addresses: v4-mapped
ones carry no traffic), a second sshd listening on them, and a second inventory:

```
root ns  <lab>-br  ::K.1/121, ::K.250/128  --  eth0 ::K.10/121             host "direct"
            |                                  (host netns)
            +-- <p>b == <p>r ::K.3/121  [router netns, forwarding]
                          <p>x ::K.129/122 == <p>h ::K.130/122 (host netns)
                                              <p>s ::K.200/128 (veth to <p>t) host "routed"
```

("::K.x" is ``::198.18.K.x``; addresses ``nodad``, ``addrgenmode none``, link-local
``fe80::K.x`` only on the router's two interfaces and ``<p>h``, where neighbour discovery
needs one.) The "direct" session goes ::K.1 -> ::K.10 over eth0; the "routed" one
::K.250 -> ::K.200 through the router: the host's route device is ``<p>h`` (via the gateway
::K.129) and the server address sits on ``<p>s``, another interface.

Each rule is proven twice: the premise with ``ip netns exec`` (the change, done directly,
cuts a fresh TCP connection to port 22 over IPv6; or does not), then the guard refusing it
over the real IPv6 session, the host unchanged (``ip -json`` and /proc) and ``ansible -m
ping`` answering over IPv6; what does not cut is let through and the session goes on. The
dynamic route check is shown catching, over IPv6, an interface brought up that holds a more
specific prefix of the controller's.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import time
from types import SimpleNamespace

import pytest

from tests.integration.helpers import run_ansible, without_counters
from tests.integration.test_guard import changed, play
from tests.lab.lab import SSHD, TARGET_PYTHON


@pytest.fixture(scope="module")
def lab(lab_factory):
    return lab_factory(hosts=1)


def sh(argv, netns=None, stdin=None):
    """Run ``argv`` (in ``netns`` when given); fail loudly."""
    prefix = ["ip", "netns", "exec", netns] if netns else []
    proc = subprocess.run(prefix + list(argv), check=False, capture_output=True, text=True,
                          timeout=30, input=stdin)
    assert proc.returncode == 0, (argv, proc.stderr)
    return proc.stdout


def conf_path(name, key):
    return "/proc/sys/net/ipv6/conf/%s/%s" % (name, key)


def write(path, value, netns=None):
    sh(["tee", path], netns, stdin="%s\n" % value)


def read(path, netns=None):
    return sh(["cat", path], netns).strip()


def v6_addresses(v6, name):
    """The IPv6 addresses of ``name`` in the host (ip -json, not the module)."""
    return [entry["local"] for link in v6.lab.ip_json(v6.host, "-6", "addr", "show", "dev", name)
            for entry in link.get("addr_info", [])]


class V6Lab:
    """The lab with IPv6 added: what run_playbook/run_ansible need (its own inventory)."""

    def __init__(self, lab):
        host = lab.hosts[0]
        k = host.ip.split(".")[2]
        self.lab, self.host, self.ns = lab, host, host.netns
        self.workdir = lab.workdir
        self.inventory = str(lab.workdir / "inventory-v6.ini")
        prefix = "g6" + secrets.token_hex(2)
        self.router = "g6r" + secrets.token_hex(3)
        self.dev = SimpleNamespace(br_port=prefix + "b", r_br=prefix + "r", r_host=prefix + "x",
                                   h_router=prefix + "h", holder=prefix + "s",
                                   holder_peer=prefix + "t")
        ip = "::198.18.%s.%%d" % k
        self.ctrl, self.direct, self.r_br = ip % 1, "::" + host.ip, ip % 3
        self.r_host, self.h_router, self.server, self.ctrl_routed = (
            ip % 129, ip % 130, ip % 200, ip % 250)
        self.names = SimpleNamespace(direct=host.name + "-v6", routed=host.name + "-v6r")
        self.sshd = None

    def env(self):
        return dict(self.lab.env(), ANSIBLE_INVENTORY=self.inventory)

    def build(self):
        lab, ns, dev, br = self.lab, self.ns, self.dev, self.lab.bridge
        # the bridge (lab-built, root namespace): no link-local, IPv6 on, the two controller
        # addresses, and the route to the routed server address through the router
        sh(["ip", "link", "set", "dev", br, "addrgenmode", "none"])
        write(conf_path(br, "disable_ipv6"), 0)
        # the router namespace, linked to the bridge and to the host
        sh(["ip", "netns", "add", self.router])
        sh(["ip", "link", "add", dev.br_port, "type", "veth", "peer", "name", dev.r_br,
            "netns", self.router])
        write(conf_path(dev.br_port, "disable_ipv6"), 1)
        sh(["ip", "link", "set", "dev", dev.br_port, "master", br, "up"])
        sh(["ip", "link", "add", dev.r_host, "netns", self.router, "type", "veth", "peer",
            "name", dev.h_router, "netns", ns])
        for name in (dev.r_br, dev.r_host):
            sh(["ip", "link", "set", "dev", name, "addrgenmode", "none"], self.router)
        write("/proc/sys/net/ipv6/conf/all/forwarding", 1, self.router)
        # the server address's own interface (a veth pair: this kernel has no dummy driver)
        sh(["ip", "link", "add", dev.holder, "type", "veth", "peer", "name", dev.holder_peer], ns)
        sh(["ip", "link", "set", "dev", dev.holder_peer, "up"], ns)
        self.configure()
        for name, address, prefix in ((dev.r_br, self.r_br, "/121"),
                                      (dev.r_host, self.r_host, "/122")):
            sh(["ip", "addr", "add", address + prefix, "dev", name, "nodad"], self.router)
            sh(["ip", "addr", "add", link_local(address), "dev", name, "nodad"], self.router)
        for name in ("lo", dev.r_br, dev.r_host):
            sh(["ip", "link", "set", "dev", name, "up"], self.router)
        sh(["ip", "route", "add", self.ctrl_routed + "/128", "dev", dev.r_br], self.router)
        sh(["ip", "route", "add", self.server + "/128", "via", self.h_router], self.router)
        sh(["ip", "addr", "add", self.ctrl + "/121", "dev", br, "nodad"])
        sh(["ip", "addr", "add", self.ctrl_routed + "/128", "dev", br, "nodad"])
        sh(["ip", "route", "add", self.server + "/128", "via", self.r_br, "dev", br, "src",
            self.ctrl_routed])
        self.start_sshd()
        host = self.lab.hosts[0]
        common = ("ansible_user=root ansible_ssh_private_key_file=%s "
                  "ansible_python_interpreter=%s netif_lab_netns=%s"
                  % (lab.private_key, TARGET_PYTHON, host.netns))
        with open(self.inventory, "w") as handle:
            handle.write("\n".join([
                "[lab6]",
                "%s ansible_host=%s %s" % (self.names.direct, self.direct, common),
                "%s ansible_host=%s %s" % (self.names.routed, self.server, common),
                "", "[lab6:vars]", "ansible_connection=ssh",
                "ansible_ssh_common_args='-o StrictHostKeyChecking=no "
                "-o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o IdentitiesOnly=yes "
                "-o ControlMaster=auto -o ControlPersist=60s -o ControlPath=%s "
                # a cut session fails the task in seconds instead of hanging the play
                "-o ServerAliveInterval=2 -o ServerAliveCountMax=3'"
                % lab.control_path, ""]))

    def configure(self):
        """The host's IPv6 side (again after a premise removed it): idempotent."""
        ns, dev = self.ns, self.dev
        for name in ("eth0", dev.h_router, dev.holder):
            sh(["ip", "link", "set", "dev", name, "addrgenmode", "none"], ns)
            write(conf_path(name, "disable_ipv6"), 0, ns)
        sh(["ip", "addr", "replace", self.direct + "/121", "dev", "eth0", "nodad"], ns)
        sh(["ip", "addr", "replace", self.h_router + "/122", "dev", dev.h_router, "nodad"], ns)
        sh(["ip", "addr", "replace", link_local(self.h_router), "dev", dev.h_router, "nodad"], ns)
        sh(["ip", "addr", "replace", self.server + "/128", "dev", dev.holder, "nodad"], ns)
        for name in (dev.h_router, dev.holder):
            sh(["ip", "link", "set", "dev", name, "up"], ns)
        sh(["ip", "route", "replace", self.ctrl_routed + "/128", "via", self.r_host, "dev",
            dev.h_router], ns)

    def start_sshd(self):
        """A second sshd in the host namespace, on the two IPv6 server addresses."""
        text = (self.workdir / "sshd-h0.conf").read_text()
        conf = self.workdir / "sshd-v6.conf"
        conf.write_text(text.replace(
            "ListenAddress %s" % self.host.ip,
            "ListenAddress %s\nListenAddress %s" % (self.direct, self.server)).replace(
                "sshd-h0.pid", "sshd-v6.pid"))
        self.sshd = subprocess.Popen(  # pylint: disable=consider-using-with
            ["ip", "netns", "exec", self.ns, SSHD, "-D", "-f", str(conf),
             "-E", str(self.workdir / "sshd-v6.log")],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 10
        while not (connects(self.direct) and connects(self.server)):
            assert time.monotonic() < deadline, (self.workdir / "sshd-v6.log").read_text()
            time.sleep(0.1)

    def teardown(self):
        """Remove what build() made, by name; each step runs whatever failed before."""
        ns, dev, br = self.ns, self.dev, self.lab.bridge
        steps = []
        if self.sshd is not None:
            steps.append(lambda: (self.sshd.terminate(), self.sshd.wait(10)))
        steps += [
            lambda: sh(["ip", "netns", "del", self.router]),  # its veths and their peers
            lambda: sh(["ip", "link", "del", dev.holder], ns),  # and its peer
            lambda: write(conf_path("eth0", "disable_ipv6"), 1, ns),  # drops the addresses
            lambda: sh(["ip", "link", "set", "dev", "eth0", "addrgenmode", "eui64"], ns),
            lambda: write(conf_path(br, "disable_ipv6"), 1),  # drops addresses and routes
            lambda: sh(["ip", "link", "set", "dev", br, "addrgenmode", "eui64"]),
        ]
        for path in ("sshd-v6.conf", "inventory-v6.ini"):
            steps.append(lambda path=path: os.unlink(str(self.workdir / path)))
        errors = []
        for step in steps:
            try:
                step()
            except (AssertionError, OSError, subprocess.SubprocessError) as exc:
                errors.append(exc)
        # what a failed build() never made is no error
        errors = [exc for exc in errors if not isinstance(exc, FileNotFoundError)
                  and "Cannot find device" not in str(exc) and "No such file" not in str(exc)]
        assert sh(["ip", "-6", "addr", "show", "dev", br]) == ""
        assert self.router not in sh(["ip", "netns", "list"])
        return errors


def link_local(address):
    """fe80:: with the interface id of ``::198.18.K.x``: a neighbour solicitation for a
    packet whose source is not on the outgoing interface (a router forwarding, the host
    answering from the address on <p>s) is sent from a link-local address or not at all."""
    return "fe80::%s/64" % address.lstrip(":")


def connects(address, timeout=1.5):
    """A fresh TCP connection from the root namespace to ``[address]:22`` gets the banner."""
    try:
        with socket.create_connection((address, 22), timeout=timeout) as sock:
            sock.settimeout(timeout)
            return sock.recv(4).startswith(b"SSH-")
    except OSError:
        return False


@pytest.fixture(scope="module")
def v6(lab):
    built = V6Lab(lab)
    try:
        built.build()
        yield built
    finally:
        errors = built.teardown()
        assert not errors, errors


def host_state(v6):
    """What the refused tasks would touch: links and addresses, the IPv6 sysctls of all,
    default and the session interfaces, the routes to the two controller addresses."""
    names = ("all", "default", "eth0", v6.dev.h_router, v6.dev.holder)
    return {
        "addr": without_counters(v6.lab.ip_json(v6.host, "-d", "addr", "show")),
        "conf": dict(("%s.%s" % (name, key), read(conf_path(name, key), v6.ns))
                     for name in names for key in ("disable_ipv6", "hop_limit")),
        "route": [v6.lab.ip_json(v6.host, "route", "get", address)
                  for address in (v6.ctrl, v6.ctrl_routed)],
    }


def sysctl(name, **ipv6):
    return {"hostnet.netif.sysctls": {"config": [{"name": name, "ipv6": ipv6}]}}


def mtu(value):
    return {"hostnet.netif.interfaces": {"config": [{"name": "eth0", "mtu": value}]}}


def ping(v6, name):
    rc, out, err = run_ansible(v6, name, "-m", "ansible.builtin.ping")
    assert rc == 0 and "pong" in out, out + err


def assert_refused(results, cases, session):
    for (task, words), result in zip(cases, results):
        assert result.get("failed") is True, (task, result)
        assert words in result["msg"] and "force: true" in result["msg"], (task, result["msg"])
        assert "would cut the Ansible SSH session %s" % session in result["msg"], result["msg"]
        assert "restored" not in result, result  # refused before any change


def test_premises_with_ip_netns_exec(v6):
    """Done directly (no guard), each refused change cuts a fresh IPv6 connection to port
    22, and what the guard lets through does not."""
    ns, dev = v6.ns, v6.dev
    assert connects(v6.direct) and connects(v6.server)
    try:
        # disable_ipv6 on the session interface / the server address's interface / all
        for name, address in (("eth0", v6.direct), (dev.holder, v6.server)):
            write(conf_path(name, "disable_ipv6"), 1, ns)
            assert v6_addresses(v6, name) == []
            assert not connects(address), name
            v6.configure()
            assert connects(address), name
        write(conf_path("all", "disable_ipv6"), 1, ns)  # writes every interface (and default)
        assert read(conf_path("eth0", "disable_ipv6"), ns) == "1"
        assert not connects(v6.direct) and not connects(v6.server)
        write(conf_path("all", "disable_ipv6"), 0, ns)
        write(conf_path("default", "disable_ipv6"), 1, ns)
        v6.configure()
        # default only concerns interfaces created later: eth0 keeps IPv6
        write(conf_path("default", "disable_ipv6"), 0, ns)
        write(conf_path("default", "disable_ipv6"), 1, ns)
        assert read(conf_path("eth0", "disable_ipv6"), ns) == "0"
        assert connects(v6.direct)
        # MTU under 1280: the kernel removes IPv6 from the interface; 1280 keeps it
        sh(["ip", "link", "set", "dev", "eth0", "mtu", "1279"], ns)
        assert v6_addresses(v6, "eth0") == []
        assert not connects(v6.direct)
        sh(["ip", "link", "set", "dev", "eth0", "mtu", "1280"], ns)
        v6.configure()
        assert connects(v6.direct)
        # hop_limit 1 on the route device: the router drops the replies; direct they arrive
        write(conf_path(dev.h_router, "hop_limit"), 1, ns)
        write(conf_path("eth0", "hop_limit"), 1, ns)
        assert not connects(v6.server)
        assert connects(v6.direct)
    finally:
        sh(["ip", "link", "set", "dev", "eth0", "mtu", "1500"], ns)
        write(conf_path("all", "disable_ipv6"), 0, ns)
        write(conf_path("default", "disable_ipv6"), 1, ns)
        for name in ("eth0", dev.h_router):
            write(conf_path(name, "hop_limit"), 64, ns)
        v6.configure()
    assert connects(v6.direct) and connects(v6.server)


def test_direct_session_cutters_are_refused(v6):
    """Over ::K.1 -> ::K.10 (eth0, no gateway): disable_ipv6 on eth0 and on all, MTU 1279."""
    before = host_state(v6)
    cases = [
        (sysctl("eth0", disable_ipv6=1), "disable IPv6 on eth0"),
        (sysctl("all", disable_ipv6=1), "disable IPv6 on all"),
        (mtu(1279), "set the MTU of eth0 to 1279, below 1280"),
    ]
    results = play(v6, SimpleNamespace(name=v6.names.direct), [task for task, dummy in cases])
    assert_refused(results, cases, "%s -> %s" % (v6.ctrl, v6.direct))
    after = host_state(v6)
    assert after == before, changed(before, after)
    ping(v6, v6.names.direct)


def test_direct_session_lets_through_what_does_not_cut(v6):
    """MTU 1280 on eth0, hop_limit 1 on eth0 (no router in between), disable_ipv6 on
    default: each passes, the route check included, and the tasks after them still run."""
    ns = v6.ns
    write(conf_path("default", "disable_ipv6"), 0, ns)
    tasks = [mtu(1280), sysctl("eth0", hop_limit=1), sysctl("default", disable_ipv6=1)]
    undo = [mtu(1500), sysctl("eth0", hop_limit=64)]
    try:
        results = play(v6, SimpleNamespace(name=v6.names.direct), tasks + [
            {"ansible.builtin.command": {"argv": [
                "cat", "/sys/class/net/eth0/mtu", conf_path("eth0", "hop_limit"),
                conf_path("default", "disable_ipv6"), conf_path("eth0", "disable_ipv6")]}},
            {"ansible.builtin.command": {"argv": ["ip", "-6", "-br", "addr", "show", "dev",
                                                  "eth0"]}}] + undo)
        for task, result in zip(tasks + undo, results[:3] + results[5:]):
            assert result.get("failed") is not True and result["changed"] is True, (task, result)
        assert results[3]["stdout_lines"] == ["1280", "1", "1", "0"]
        assert v6.direct + "/121" in results[4]["stdout"]
    finally:
        sh(["ip", "link", "set", "dev", "eth0", "mtu", "1500"], ns)
        write(conf_path("eth0", "hop_limit"), 64, ns)
        write(conf_path("default", "disable_ipv6"), 1, ns)
    ping(v6, v6.names.direct)


def test_routed_session_cutters_are_refused(v6):
    """Over ::K.250 -> ::K.200 through the router (route device <p>h via ::K.129, server
    address on <p>s): disable_ipv6 on either and hop_limit 1 on <p>h are refused;
    hop_limit 1 on eth0, which the session does not use, passes."""
    dev = v6.dev
    before = host_state(v6)
    cases = [
        (sysctl(dev.h_router, disable_ipv6=1), "disable IPv6 on %s" % dev.h_router),
        (sysctl(dev.holder, disable_ipv6=1), "disable IPv6 on %s" % dev.holder),
        (sysctl(dev.h_router, hop_limit=1),
         "set hop_limit 1 on %s: the session goes through the router %s"
         % (dev.h_router, v6.r_host)),
    ]
    tasks = [task for task, dummy in cases]
    try:
        results = play(v6, SimpleNamespace(name=v6.names.routed), tasks + [
            sysctl("eth0", hop_limit=1), sysctl("eth0", hop_limit=64)])
    finally:
        write(conf_path("eth0", "hop_limit"), 64, v6.ns)
    assert_refused(results, cases, "%s -> %s" % (v6.ctrl_routed, v6.server))
    assert [result["changed"] for result in results[3:]] == [True, True]
    after = host_state(v6)
    assert after == before, changed(before, after)
    ping(v6, v6.names.routed)


def test_direct_session_route_check_restores(v6):
    """The dynamic check over IPv6: bringing up an interface that already holds ::K.5/125,
    more specific than the session's /121, moves the route to the controller; the static
    rules let it through, the route check after the batch catches it and restores."""
    ns, lab, host = v6.ns, v6.lab, v6.host
    down, up = v6.dev.holder[:-1] + "d", v6.dev.holder[:-1] + "u"
    lab.add_veth_pair(host, down, up, up=False)
    try:
        sh(["ip", "link", "set", "dev", down, "addrgenmode", "none"], ns)
        write(conf_path(down, "disable_ipv6"), 0, ns)
        write(conf_path(down, "keep_addr_on_down"), 1, ns)  # the restore's "down" keeps it
        for state in ("up", "down"):  # the first up gives the link its qdisc (see test_guard)
            sh(["ip", "link", "set", "dev", down, state], ns)
        sh(["ip", "link", "set", "dev", up, "up"], ns)
        specific = v6.ctrl[:-1] + "5"
        sh(["ip", "addr", "add", specific + "/125", "dev", down, "nodad"], ns)
        before = host_state(v6)
        result, = play(v6, SimpleNamespace(name=v6.names.direct), [
            {"hostnet.netif.interfaces": {"config": [{"name": down, "enabled": True}]}}])
        assert result.get("failed") is True and result["restored"] is True, result
        assert "the route to the controller %s changed: device eth0 -> %s, source %s -> %s" % (
            v6.ctrl, down, v6.direct, specific) in result["msg"], result["msg"]
        assert "link set dev %s down" % down in result["restore_commands"]
        after = host_state(v6)
        assert after == before, changed(before, after)
        assert [r["dev"] for r in lab.ip_json(host, "route", "get", v6.ctrl)] == ["eth0"]
    finally:
        lab.del_link(host, down, missing_ok=True)
    ping(v6, v6.names.direct)
