"""Tests of the namespace lab itself (tests/lab): build, reach over SSH, tear down cleanly.

These checks look at the machine directly (``ip``, /proc) rather than trusting
the lab's own bookkeeping, so a leak in Lab.down() or reap() fails here.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

from tests.integration.helpers import ansible_bin, run_ansible, run_playbook
from tests.lab import CommandError, Lab, LabError, list_labs, reap
from tests.lab import lab as labmod

REPO_ROOT = Path(__file__).resolve().parents[2]
LAB_NET = ipaddress.ip_network("198.18.0.0/15")


# ----------------------------------------------------------------------------- probes

def _sh(*argv: str) -> str:
    return subprocess.run(argv, capture_output=True, text=True, check=True).stdout


def _netns_names() -> list[str]:
    return [line.split()[0] for line in _sh("ip", "netns", "list").splitlines() if line.strip()]


def _root_links() -> list[dict]:
    return json.loads(_sh("ip", "-json", "-details", "link", "show"))


def _live_procs_mentioning(needle: str) -> list[str]:
    """Non-zombie processes whose argv mentions ``needle`` (zombies await init's reaping)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if state != "Z" and needle in argv and int(pid) != os.getpid():
            found.append(f"{pid}: {argv.strip()}")
    return found


def _pid_alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def leftovers(name: str, *dirs: Path) -> dict:
    """Everything of lab ``name`` still on the machine (empty dict == clean)."""
    dirs = [Path(f"/tmp/netif-lab-{name}"), *map(Path, dirs)]
    left = {
        "netns": [n for n in _netns_names() if re.fullmatch(rf"{re.escape(name)}-h\d+", n)],
        "links": [link["ifname"] for link in _root_links()
                  if re.fullmatch(rf"{re.escape(name)}-(?:v\d+|br)", link["ifname"])],
        "dirs": [str(d) for d in dirs if d.exists()],
        "procs": [p for d in dirs for p in _live_procs_mentioning(f"{d}/")],
    }
    return {k: v for k, v in left.items() if v}


def _sshd_pids(lab: Lab) -> list[int]:
    return [int(lab.sshd_pidfile(h).read_text().split()[0]) for h in lab.hosts]


def _tcp_open(ip: str, port: int = 22) -> bool:
    try:
        with socket.create_connection((ip, port), timeout=2) as s:
            return s.recv(4) == b"SSH-"
    except OSError:
        return False


def _unique_name() -> str:
    return "nlt" + secrets.token_hex(2)


# ----------------------------------------------------------------------------- the session lab

def test_topology_names_and_addresses(lab):
    assert lab.subnet.subnet_of(LAB_NET) and lab.subnet.prefixlen == 24
    assert 1 <= lab.subnet.network_address.packed[2] <= 250
    assert len(lab.hosts) == 2
    netns = _netns_names()
    links = {link["ifname"]: link for link in _root_links()}

    bridge = links[lab.bridge]
    assert bridge["linkinfo"]["info_kind"] == "bridge"
    br_addrs = json.loads(_sh("ip", "-json", "addr", "show", "dev", lab.bridge))[0]["addr_info"]
    assert [(a["family"], a["local"], a["prefixlen"]) for a in br_addrs] == [("inet", lab.bridge_ip, 24)]
    assert lab.bridge_ip == str(lab.subnet.network_address + 1)

    for i, h in enumerate(lab.hosts):
        for ifname in (h.name, h.netns, h.veth, lab.bridge):
            assert len(ifname.encode()) <= 15
        assert h.name == h.netns == f"{lab.name}-h{i}" and h.veth == f"{lab.name}-v{i}"
        assert h.ip == str(lab.subnet.network_address + 10 + i)
        assert h.netns in netns
        assert links[h.veth]["master"] == lab.bridge and "UP" in links[h.veth]["flags"]
        # no IPv6 (hence no link-local traffic) on what the lab put in the root namespace
        assert not json.loads(_sh("ip", "-json", "addr", "show", "dev", h.veth))[0]["addr_info"]

        (eth0,) = lab.ip_json(h, "addr", "show", "dev", "eth0")
        assert eth0["operstate"] == "UP"
        assert [(a["family"], a["local"], a["prefixlen"]) for a in eth0["addr_info"]] == [("inet", h.ip, 24)]
        (lo,) = lab.ip_json(h, "addr", "show", "dev", "lo")
        assert "UP" in lo["flags"]
        # every address in the namespace is in 198.18.0.0/15 or loopback
        for link in lab.ip_json(h, "addr", "show"):
            for a in link["addr_info"]:
                addr = ipaddress.ip_address(a["local"])
                assert addr.is_loopback or addr in LAB_NET, (link["ifname"], a)
        assert lab.ip_json(h, "-4", "route", "show", "default") == []  # no default route
        assert _tcp_open(h.ip)


def test_inventory_format(lab):
    text = Path(lab.inventory).read_text()
    assert "[lab]" in text and "[lab:vars]" in text
    proc = subprocess.run([ansible_bin("ansible-inventory"), "-i", lab.inventory, "--list"],
                          check=False, capture_output=True, text=True, env={**os.environ, **lab.env()})
    assert proc.returncode == 0, proc.stderr
    inv = json.loads(proc.stdout)
    assert sorted(inv["lab"]["hosts"]) == sorted(h.name for h in lab.hosts)
    for h in lab.hosts:
        hv = inv["_meta"]["hostvars"][h.name]
        assert hv["ansible_host"] == h.ip
        assert hv["ansible_user"] == "root"
        assert hv["ansible_ssh_private_key_file"] == lab.private_key
        assert hv["ansible_python_interpreter"] == "/usr/bin/python3"
        assert hv["netif_lab_netns"] == h.netns
        # INI values are not %-interpolated: ssh must see a single %C
        assert f"-o ControlPath={lab.workdir}/cp-%C" in hv["ansible_ssh_common_args"]
        for opt in ("StrictHostKeyChecking=no", "UserKnownHostsFile=/dev/null",
                    "ControlMaster=auto", "ControlPersist=60s"):
            assert f"-o {opt}" in hv["ansible_ssh_common_args"]


def test_ansible_ping_over_ssh(lab):
    rc, out, err = run_ansible(lab, "lab", "-m", "ansible.builtin.ping")
    assert rc == 0, out + err
    for h in lab.hosts:
        assert re.search(rf"^{re.escape(h.name)} \| SUCCESS =>", out, re.M), out
    assert out.count('"ping": "pong"') == len(lab.hosts)
    # the connection went through sshd in the host's namespace, from the bridge address
    for h in lab.hosts:
        assert f"from {lab.bridge_ip}" in lab.sshd_log(h).read_text()
    assert list(lab.workdir.glob("cp-*")), "expected ControlPersist sockets in the workdir"


def test_playbook_runs_inside_each_namespace(lab):
    playbook = textwrap.dedent("""\
        - hosts: lab
          gather_facts: false
          tasks:
            - ansible.builtin.command: ip -4 -o addr show dev eth0
              register: addr
              changed_when: false
            - ansible.builtin.assert:
                that:
                  - (ansible_host ~ '/24') in addr.stdout
                  - marker == 'from-extra-vars'
                  - netif_lab_netns == inventory_hostname
        """)
    rc, out, err = run_playbook(lab, playbook, {"marker": "from-extra-vars"})
    assert rc == 0, out + err
    assert re.search(r"ok=2\s+changed=0\s+unreachable=0\s+failed=0", out), out
    assert out.count("ok=2") == len(lab.hosts)
    rc, out, err = run_playbook(lab, playbook, {"marker": "something-else"})
    assert rc == 2 and "Assertion failed" in out, out + err


def test_hosts_reach_each_other(lab):
    h0, h1 = lab.hosts
    assert lab.ping(h0, h1)
    assert lab.ping(h1, h0)
    assert lab.ping(h0, lab.bridge_ip)
    # negative control: an unused address of the lab subnet does not answer
    assert not lab.ping(h0, str(lab.subnet.network_address + 250), timeout=0.5)
    with pytest.raises(LabError):
        lab.ping(h0, "192.0.2.1")  # outside 198.18.0.0/15: refused before any packet


def test_exec_read_write_proc(lab):
    h0, h1 = lab.hosts
    proc = lab.exec(h0, ["ip", "-br", "link", "show", "dev", "eth0"])
    assert isinstance(proc, subprocess.CompletedProcess) and proc.stdout.startswith("eth0")
    with pytest.raises(TypeError):
        lab.exec(h0, "ip link")
    with pytest.raises(subprocess.CalledProcessError) as info:
        lab.exec(h0, ["ip", "link", "show", "dev", "nosuchdev"])
    assert "nosuchdev" in str(info.value)
    assert lab.exec(h0, ["false"], check=False).returncode == 1
    assert lab.exec(0, ["true"]).returncode == 0 and lab.exec(h1.name, ["true"]).returncode == 0

    path = "/proc/sys/net/ipv4/conf/eth0/forwarding"
    before = lab.read_proc(h1, path)
    root_fwd = Path("/proc/sys/net/ipv4/ip_forward").read_text().strip()
    lab.write_proc(h0, path, "1")
    try:
        assert lab.read_proc(h0, path) == "1"
        assert lab.read_proc(h1, path) == before  # per-namespace
        assert Path("/proc/sys/net/ipv4/ip_forward").read_text().strip() == root_fwd
    finally:
        lab.write_proc(h0, path, before)
    assert lab.read_proc(h0, "sys/net/ipv4/conf/eth0/forwarding") == before
    assert lab.read_proc(h0, "/sys/class/net/eth0/operstate") == "up"  # /sys of the namespace


def test_interface_helpers(lab):
    h = lab.hosts[1]
    names = ["tva", "tvb", "tbr0", "tmv0", "tvx0", "tifb0"]
    try:
        lab.add_veth_pair(h, "tva", "tvb")
        lab.add_bridge(h, "tbr0")
        lab.add_macvlan(h, "tmv0", "tva", mode="bridge")
        lab.add_vxlan(h, "tvx0", 42, local=h.ip, parent="eth0")
        lab.add_ifb(h, "tifb0")
        lab.add_address(h, "tbr0", f"198.19.{lab.subnet.network_address.packed[2]}.1/24")
        links = {link["ifname"]: link for link in lab.ip_json(h, "-details", "addr", "show")}
        assert links["tva"]["linkinfo"]["info_kind"] == "veth"
        assert links["tvb"]["linkinfo"]["info_kind"] == "veth"
        assert links["tbr0"]["linkinfo"]["info_kind"] == "bridge"
        assert links["tmv0"]["linkinfo"]["info_kind"] == "macvlan"
        assert links["tmv0"]["linkinfo"]["info_data"]["mode"] == "bridge"
        assert links["tmv0"]["link"] == "tva"
        vx = links["tvx0"]["linkinfo"]
        assert vx["info_kind"] == "vxlan"
        assert vx["info_data"]["id"] == 42 and vx["info_data"]["port"] == 4789
        assert vx["info_data"]["local"] == h.ip and vx["info_data"]["link"] == "eth0"
        assert links["tifb0"]["linkinfo"]["info_kind"] == "ifb"
        for n in names:
            assert "UP" in links[n]["flags"], n
            assert not [a for a in links[n]["addr_info"] if a["family"] == "inet6"], n
        # created only inside that namespace
        assert not set(names) & {link["ifname"] for link in _root_links()}
        assert not set(names) & {link["ifname"] for link in lab.ip_json(lab.hosts[0], "link", "show")}
        # the lab refuses addresses outside 198.18.0.0/15 and bad names, before running anything
        with pytest.raises(LabError):
            lab.add_vxlan(h, "tvx1", 43, remote="10.1.2.3")
        with pytest.raises(LabError):
            lab.add_address(h, "tbr0", "192.168.1.1/24")
        with pytest.raises(LabError):
            lab.add_bridge(h, "a-name-that-is-too-long")
        with pytest.raises(CommandError):
            lab.add_bridge(h, "tbr0")  # already exists: ip's error surfaces
        assert "tvx1" not in {link["ifname"] for link in lab.ip_json(h, "link", "show")}
    finally:
        for n in ("tmv0", "tvx0", "tva", "tbr0", "tifb0"):
            lab.del_link(h, n)
    assert set(names).isdisjoint(link["ifname"] for link in lab.ip_json(h, "link", "show"))


# ----------------------------------------------------------------------------- lifecycle

def test_name_validation():
    with pytest.raises(LabError):
        Lab(name="bad-name")
    with pytest.raises(LabError):
        Lab(name="waytoolongname", hosts=2)  # waytoolongname-br is 17 bytes
    with pytest.raises(LabError):
        Lab(hosts=0)
    assert re.fullmatch(r"nl[0-9a-f]{4}", Lab().name)


def test_down_after_controlpersist_removes_everything(lab):
    other = Lab(hosts=1).up()
    try:
        assert not other.subnet.overlaps(lab.subnet)
        rc, out, err = run_ansible(other, "all", "-m", "ansible.builtin.ping")
        assert rc == 0, out + err
        masters = [p for p in _live_procs_mentioning(f"{other.workdir}/cp-") if "ssh" in p]
        assert masters, "ansible should have left a ControlPersist master running"
        sshd = _sshd_pids(other)
        assert all(_pid_alive(p) for p in sshd)
    finally:
        other.down()
    assert leftovers(other.name) == {}
    assert not any(_pid_alive(int(m.split(":")[0])) for m in masters)
    assert not any(_pid_alive(p) for p in sshd)
    other.down()  # idempotent
    assert leftovers(other.name) == {}
    # the session lab is untouched
    assert all(h.netns in _netns_names() for h in lab.hosts) and lab.ping(0, 1)


def test_failure_mid_up_tears_down(monkeypatch):
    started = []
    real_start = Lab._start_sshd

    def flaky_start(self, h):
        if h.index == 1:
            raise RuntimeError("injected sshd failure")
        real_start(self, h)
        started.append(int(self.sshd_pidfile(h).read_text()) if self.sshd_pidfile(h).exists() else None)

    monkeypatch.setattr(Lab, "_start_sshd", flaky_start)
    lab = Lab(hosts=2)
    with pytest.raises(RuntimeError, match="injected sshd failure"):
        lab.up()
    assert lab.is_up is False
    assert leftovers(lab.name) == {}
    assert not any(_pid_alive(p) for p in started if p)


@pytest.mark.parametrize("fake, message", [
    ("#!/bin/sh\necho 'fake sshd: bad config' >&2\nexit 255\n", r"exited at start-up with rc 255(.|\n)*fake sshd: bad config"),
    ("#!/bin/sh\nexec sleep 30\n", r"did not come up within 1.0s"),
])
def test_sshd_failure_gives_clear_error_and_cleans_up(monkeypatch, fake, message):
    fake_sshd = Path(tempfile.mkdtemp(prefix="nlfake")) / "sshd"
    try:
        fake_sshd.write_text(fake)
        fake_sshd.chmod(0o755)
        monkeypatch.setattr(labmod, "SSHD", str(fake_sshd))
        lab = Lab(hosts=1, ssh_timeout=1.0)
        with pytest.raises(LabError, match=message):
            lab.up()
        assert leftovers(lab.name) == {}
        assert not _live_procs_mentioning(str(fake_sshd))
    finally:
        shutil.rmtree(fake_sshd.parent, ignore_errors=True)


def test_custom_workdir_is_removed_but_existing_parent_kept():
    parent = Path(tempfile.mkdtemp(prefix="nlw"))  # short: ssh control sockets live in it
    try:
        with Lab(hosts=1, workdir=parent) as lab:
            assert lab.workdir == parent / lab.name and lab.workdir.is_dir()
            assert Path(lab.inventory).is_file() and lab.state_file.is_file()
            assert _tcp_open(lab.hosts[0].ip)
        assert parent.is_dir()
        assert leftovers(lab.name, lab.workdir) == {}
    finally:
        shutil.rmtree(parent, ignore_errors=True)
    with pytest.raises(LabError, match="too long"):
        Lab(workdir="/tmp/" + "x" * 80)


def test_cli_up_list_down():
    name = _unique_name()
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    cli = [sys.executable, "-m", "tests.lab"]
    try:
        up = subprocess.run([*cli, "up", "--hosts", "1", "--name", name], cwd=REPO_ROOT,
                            check=False, capture_output=True, text=True, env=env, timeout=60)
        assert up.returncode == 0, up.stderr
        inventory, dummy, state_text = up.stdout.partition("\n")
        state = json.loads(state_text)
        assert inventory == f"/tmp/netif-lab-{name}/inventory.ini" == state["inventory"]
        assert Path(f"/tmp/netif-lab-{name}/state.json").is_file()
        # the CLI process has exited; the lab must still be up
        assert _tcp_open(state["hosts"][0]["ip"])
        listed = json.loads(subprocess.run([*cli, "list"], cwd=REPO_ROOT, capture_output=True,
                                           text=True, env=env, check=True).stdout)
        assert any(entry["name"] == name and entry["source"] == "state" for entry in listed)
        dup = subprocess.run([*cli, "up", "--hosts", "1", "--name", name], cwd=REPO_ROOT,
                             check=False, capture_output=True, text=True, env=env, timeout=60)
        assert dup.returncode == 1 and "in use" in dup.stderr
        assert _tcp_open(state["hosts"][0]["ip"])  # the failed duplicate did not harm it
        down = subprocess.run([*cli, "down", "--name", name], cwd=REPO_ROOT,
                              check=False, capture_output=True, text=True, env=env, timeout=60)
        assert down.returncode == 0 and f"removed {name}" in down.stdout, down.stderr
        assert leftovers(name) == {}
    finally:
        reap(name)


def test_make_lab_ansible_cfg_is_all_a_user_needs():
    """``make lab`` (CLI ``up --ansible-cfg``): the printed export alone makes ``ansible all -m ping``
    and the collection's modules work; the ansible.cfg goes with the lab."""
    name = _unique_name()
    cli = [sys.executable, "-m", "tests.lab"]
    try:
        up = subprocess.run([*cli, "up", "--hosts", "2", "--name", name, "--ansible-cfg"], cwd=REPO_ROOT,
                            check=False, capture_output=True, text=True, timeout=90)
        assert up.returncode == 0, up.stderr
        match = re.search(r"export ANSIBLE_CONFIG=(\S+) PATH=(\S+):\$PATH", up.stdout)
        assert match, up.stdout
        cfg = match.group(1)
        assert cfg == f"/tmp/netif-lab-{name}/ansible.cfg" and Path(cfg).is_file()
        assert "make lab-down" in up.stdout and f"{name}-h1" in up.stdout
        # only what the user is told to export: no ANSIBLE_* from this test run
        env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
        env.update(ANSIBLE_CONFIG=cfg, PATH=f"{match.group(2)}:{env.get('PATH', '')}")
        ping = subprocess.run(["ansible", "all", "-m", "ping"], cwd="/", capture_output=True, text=True,
                              env=env, timeout=120, stdin=subprocess.DEVNULL, check=False)
        assert ping.returncode == 0 and ping.stdout.count("SUCCESS") == 2, ping.stdout + ping.stderr
        facts = subprocess.run(["ansible", f"{name}-h0", "-m", "hostnet.netif.interface_facts",
                                "-a", "interfaces=eth0"], cwd="/", capture_output=True, text=True,
                               env=env, timeout=120, stdin=subprocess.DEVNULL, check=False)
        assert facts.returncode == 0 and '"eth0"' in facts.stdout, facts.stdout + facts.stderr
        down = subprocess.run([*cli, "down", "--name", name], cwd=REPO_ROOT, check=False,
                              capture_output=True, text=True, timeout=60)
        assert down.returncode == 0, down.stderr
        assert leftovers(name) == {} and not Path(cfg).exists()
    finally:
        reap(name)


def test_reap_by_convention_when_state_is_gone():
    name = _unique_name()
    try:
        lab = Lab(name=name, hosts=2).up()
        lab.detach()  # as if the creating process had died
        sshd = _sshd_pids(lab)
        shutil.rmtree(lab.state_dir)  # state file, keys, pidfiles: all gone
        left = leftovers(name)
        assert len(left["netns"]) == 2 and len(left["links"]) == 3 and len(left["procs"]) == 2
        assert all(_pid_alive(p) for p in sshd)
        assert any(entry["name"] == name and entry["source"] == "orphan" for entry in list_labs())
        assert reap(name) == [name]
        assert leftovers(name) == {}
        assert not any(_pid_alive(p) for p in sshd)
        assert reap(name) == []
    finally:
        reap(name)


def test_atexit_cleans_up_after_crashed_process():
    name = _unique_name()
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(REPO_ROOT)!r})
        from tests.lab import Lab
        lab = Lab(name={name!r}, hosts=1).up()
        print(lab.hosts[0].ip, flush=True)
        raise RuntimeError("simulated crash of a test process")
        """)
    try:
        proc = subprocess.run([sys.executable, "-c", script], check=False, capture_output=True, text=True, timeout=60)
        assert proc.returncode == 1 and "simulated crash" in proc.stderr
        assert proc.stdout.startswith("198.18.")
        assert leftovers(name) == {}
    finally:
        reap(name)


def _etc_left(name: str) -> list[str]:
    return sorted(str(p) for p in Path("/etc/netns").glob(f"{name}-h*"))


def test_per_host_etc_is_the_hosts_own_and_goes_with_the_lab():
    name = _unique_name()
    root_sysctl = set(os.listdir("/etc/sysctl.d"))
    lab = Lab(name=name, hosts=1, etc=True).up()
    try:
        h = lab.hosts[0]
        etc = lab.etc_dir(h)
        assert etc == Path(f"/etc/netns/{h.netns}")
        (etc / "sysctl.d" / "10-lab.conf").write_text("net.ipv4.ip_forward = 1\n")
        # the namespace sees the host's file; a file written inside lands in the host's /etc
        assert lab.exec(h, ["ls", "/etc/sysctl.d"]).stdout.split() == ["10-lab.conf"]
        lab.exec(h, ["tee", "/etc/netplan/90-inside.yaml"], input="network: {}\n")
        assert (etc / "netplan" / "90-inside.yaml").exists()
        assert not Path("/etc/netplan/90-inside.yaml").exists()
        assert set(os.listdir("/etc/sysctl.d")) == root_sysctl
        # over SSH too (a module's view)
        out = subprocess.run(lab.ssh_argv(h) + ["ls", "/etc/sysctl.d"], capture_output=True,
                             text=True, timeout=30, check=True).stdout
        assert out.split() == ["10-lab.conf"]
        # a reboot forgets runtime state, keeps /etc, applies sysctl.d inside the namespace only
        lab.add_bridge(h, "rt0")
        root_forward = Path("/proc/sys/net/ipv4/ip_forward").read_text()
        lab.reboot(h, networkd=False)
        assert "rt0" not in {link["ifname"] for link in lab.ip_json(h, "link", "show")}
        assert lab.read_proc(h, "sys/net/ipv4/ip_forward") == "1"
        assert Path("/proc/sys/net/ipv4/ip_forward").read_text() == root_forward
        assert _tcp_open(h.ip)
    finally:
        lab.down()
    assert leftovers(name) == {} and _etc_left(name) == []


def test_reap_removes_per_host_etc_by_convention():
    name = _unique_name()
    try:
        lab = Lab(name=name, hosts=2, etc=True).up()
        lab.detach()
        shutil.rmtree(lab.state_dir)
        assert len(_etc_left(name)) == 2
        assert reap(name) == [name]
        assert leftovers(name) == {} and _etc_left(name) == []
    finally:
        reap(name)
