"""Commit-confirm (issue #11) over real SSH to lab hosts.

1. removing the management address (forced) with confirm_timeout 15: the task fails as
   "not confirmed"; within timeout + 5 s the host answers SSH again with its previous
   addresses (ip -json); a confirm of the expired window fails clearly, and the next
   changing run reports what the watchdog did;
2. a normal change with a timeout is confirmed over a NEW connection (another source
   port than the one that armed it), no watchdog is left, the change is still there
   after the deadline;
3. ansible-playbook SIGKILLed as the module arms its window (the module then returns
   to an orphaned worker, which must not confirm for a dead run): the host reverts;
4. two hosts in one play, one cut: only the cut one reverts, the recap says so;
5. the configure role with netif_confirm_timeout, cut at its last step (arp_ignore 8 on
   eth0, the controller's cached neighbour entry dropped): all three steps revert;
6. the same role without a cut: confirmed once at its end, all three steps stay.

Checked inside the namespaces with ip -json and /proc, never with the module's reading.
Every watchdog is killed by pid and the window files removed in finally.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import threading
import time

import pytest

from tests.integration.helpers import ansible_bin, netif_state_paths, run_ansible, without_counters

MARK = b"hostnet-netif-watchdog"


@pytest.fixture(scope="module")
def lab(lab_factory):
    return lab_factory(hosts=2)


def inode(host):
    return os.stat(os.path.join("/run/netns", host.netns)).st_ino


def watchdogs(host):
    """Live (not zombie) watchdog pids in the namespace of ``host``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % entry, "rb") as handle:
                if MARK not in handle.read().split(b"\0"):
                    continue
            with open("/proc/%s/stat" % entry) as handle:
                if handle.read().rsplit(")", 1)[1].split()[0] == "Z":
                    continue
            if os.stat("/proc/%s/ns/net" % entry).st_ino == inode(host):
                found.append(int(entry))
        except OSError:
            continue
    return found


def processes_naming(path):
    """Pids of processes whose argv holds ``path`` (a playbook's workers outlive it)."""
    found = []
    for entry in os.listdir("/proc"):
        try:
            with open("/proc/%s/cmdline" % entry, "rb") as handle:
                if path.encode() in handle.read().split(b"\0"):
                    found.append(int(entry))
        except (OSError, ValueError):
            continue
    return found


@pytest.fixture
def clean(lab):
    """Kill leftover watchdogs by pid and remove window files of the lab's hosts."""
    yield
    for host in lab.hosts:
        for pid in watchdogs(host):
            os.kill(pid, signal.SIGKILL)
        base = "/run/hostnet-netif/%d." % inode(host)
        for name in os.listdir("/run/hostnet-netif"):
            path = "/run/hostnet-netif/" + name
            if path.startswith(base) and not path.endswith(".lock"):
                os.unlink(path)


def addr_state(lab, host):
    return without_counters(lab.ip_json(host, "-d", "addr", "show"))


def playbook(lab, tasks, hosts="all", name="p"):
    """(argv, env, {host: result path}) of a play whose tasks register ``r`` and save it."""
    outs = {h.name: os.path.join(str(lab.workdir),
                                 "%s-%s-%s.json" % (name, h.name, secrets.token_hex(3)))
            for h in lab.hosts}
    book = [{"hosts": hosts, "gather_facts": False, "tasks": tasks + [
        {"name": "save", "ansible.builtin.copy": {
            "content": "{{ r | default({}) | to_json }}",
            "dest": os.path.join(str(lab.workdir), "%s-{{ inventory_hostname }}-out.json" % name)},
         "delegate_to": "localhost"}]}]
    path = os.path.join(str(lab.workdir), "%s-%s.yml" % (name, secrets.token_hex(3)))
    with open(path, "w") as handle:
        json.dump(book, handle)
    env = dict(os.environ)
    env.update(lab.env())
    outs = {h.name: os.path.join(str(lab.workdir), "%s-%s-out.json" % (name, h.name))
            for h in lab.hosts}
    return [ansible_bin("ansible-playbook"), "-i", lab.inventory, path], env, outs


def run(lab, tasks, hosts="all", name="p", timeout=120):
    argv, env, outs = playbook(lab, tasks, hosts, name)
    proc = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=timeout, check=False)
    results = {}
    for host, path in outs.items():
        if os.path.exists(path):
            with open(path) as handle:
                results[host] = json.load(handle)
            os.unlink(path)
    return proc, results


def cut_task(lab, host, timeout):
    """Remove the management address of ``host`` (the guard would refuse it: forced)."""
    address = "%s/%d" % (host.ip, lab.subnet.prefixlen)
    return {"name": "cut", "hostnet.netif.addresses": {
        "state": "deleted", "force": True, "confirm_timeout": timeout,
        "config": [{"name": "eth0", "addresses": [{"address": address}]}]},
        "register": "r", "ignore_errors": True}


def wait_for(predicate, limit):
    """Seconds until ``predicate()`` was true (None when it never was within ``limit``)."""
    start = time.monotonic()
    while time.monotonic() - start < limit:
        if predicate():
            return time.monotonic() - start
        time.sleep(0.2)
    return None


def answers_ssh(lab, host):
    rc, out, err = run_ansible(lab, host.name, "-m", "ansible.builtin.ping",
                               env={"ANSIBLE_TIMEOUT": "2", "ANSIBLE_SSH_RETRIES": "0"},
                               timeout=30)
    return rc == 0


def test_cut_is_not_confirmed_and_reverts(lab, clean):
    host = lab.hosts[0]
    before = addr_state(lab, host)
    start = time.monotonic()
    proc, results = run(lab, [cut_task(lab, host, 15)], hosts=host.name, name="cut")
    result = results[host.name]
    assert result.get("failed") is True, json.dumps(result)[:2000]
    assert result["msg"].startswith("not confirmed: %s restores its previous state at "
                                    % host.name), result["msg"]
    assert result["confirm"]["confirmed"] is False
    # the watchdog restores at the deadline: SSH answers again within timeout + 5 s
    back = wait_for(lambda: host.ip in json.dumps(lab.ip_json(host, "addr", "show", "eth0"))
                    and answers_ssh(lab, host), 15 + 5 - (time.monotonic() - start))
    assert back is not None, "the host did not come back within 20 s"
    assert addr_state(lab, host) == before
    assert not watchdogs(host)
    # a confirm for the expired window fails clearly
    rc, out, err = run_ansible(lab, host.name, "-m", "hostnet.netif.confirm", "-a",
                               "window=%s" % result["confirm"]["window"])
    assert rc != 0 and "window %s expired at" % result["confirm"]["window"] in out, out + err
    assert "restored the previous state" in out
    # the next changing run says what the watchdog did (and takes the log)
    proc, results = run(lab, [{"name": "next", "hostnet.netif.interfaces": {
        "config": [{"name": "eth0", "alias": "after-cut"}]}, "register": "r"}],
        hosts=host.name, name="next")
    log = results[host.name]["confirm_log"]
    assert [e["event"] for e in log] == ["restored"], log
    assert log[0]["reason"] == "not confirmed by the deadline"
    assert any(c.startswith("address add %s/" % host.ip) for c in log[0]["restore_commands"])
    assert "was not confirmed by its deadline" in proc.stdout + proc.stderr
    lab.exec(host, ["ip", "link", "set", "dev", "eth0", "alias", ""])


def test_normal_change_is_confirmed_over_a_new_connection(lab, clean):
    host = lab.hosts[1]
    alias = "cc-" + secrets.token_hex(3)
    try:
        proc, results = run(lab, [{"name": "alias", "hostnet.netif.interfaces": {
            "config": [{"name": "eth0", "alias": alias}], "confirm_timeout": 10},
            "register": "r"}], hosts=host.name, name="ok")
        result = results[host.name]
        assert proc.returncode == 0 and not result.get("failed"), json.dumps(result)[:2000]
        confirm = result["confirm"]
        assert confirm["armed"] is True and confirm["confirmed"] is True
        armed_port, confirmed_port = confirm["armed_by"].split()[1], confirm["confirmed_by"].split()[1]
        assert armed_port != confirmed_port, "confirmed over the connection that armed it"
        assert not watchdogs(host)
        lock, journal = netif_state_paths(host.netns)
        assert not os.path.exists(journal)
        time.sleep(10.5)  # past the deadline
        link = lab.ip_json(host, "link", "show", "dev", "eth0")[0]
        assert link.get("ifalias") == alias
        assert not watchdogs(host)
    finally:
        lab.exec(host, ["ip", "link", "set", "dev", "eth0", "alias", ""])


def test_killed_playbook_reverts(lab, clean):
    host = lab.hosts[0]
    alias = "kill-" + secrets.token_hex(3)
    lock, journal = netif_state_paths(host.netns)
    argv, env, outs = playbook(lab, [{"name": "alias", "hostnet.netif.interfaces": {
        "config": [{"name": "eth0", "alias": alias}], "confirm_timeout": 10},
        "register": "r"}], hosts=host.name, name="kill")
    proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        killed = False
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with open(journal) as handle:
                    record = json.load(handle)
            except (OSError, ValueError):
                time.sleep(0.002)
                continue
            window = record.get("window") or {}
            if window.get("watchdog"):  # armed: the module is about to return
                os.kill(proc.pid, signal.SIGKILL)
                killed = True
                break
            time.sleep(0.002)
        proc.wait(10)
        assert killed, "never saw the module return with an armed window"
        assert os.path.exists(journal), "the confirm came before the kill"
        assert wait_for(lambda: lab.ip_json(host, "link", "show", "dev", "eth0")[0]
                        .get("ifalias") == alias, 5) is not None, "the module did not apply"
        assert wait_for(lambda: not processes_naming(argv[-1]), 10) is not None, \
            "the worker of the killed playbook did not end"
        gone = wait_for(lambda: not lab.ip_json(host, "link", "show", "dev", "eth0")[0]
                        .get("ifalias"), 10 + 5)
        assert gone is not None, "the change was not reverted after the kill: %s %s %s" % (
            watchdogs(host), sorted(os.listdir("/run/hostnet-netif")),
            open(journal).read()[-600:] if os.path.exists(journal) else None)
        assert wait_for(lambda: not watchdogs(host), 3) is not None
        assert not os.path.exists(journal)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pid in processes_naming(argv[-1]):  # its worker runs in a session of its own
            os.kill(pid, signal.SIGKILL)
        lab.exec(host, ["ip", "link", "set", "dev", "eth0", "alias", ""])


def test_two_hosts_one_cut_only_the_cut_one_reverts(lab, clean):
    cut, fine = lab.hosts
    extra = "198.18.%d.%d/32" % (lab.subnet.network_address.packed[2], 220)
    before = addr_state(lab, cut)
    plan = {cut.name: cut_task(lab, cut, 10)["hostnet.netif.addresses"],
            fine.name: {"state": "merged", "confirm_timeout": 10, "config": [
                {"name": "eth0", "addresses": [{"address": extra}]}]}}
    task = {"name": "one cut, one fine", "hostnet.netif.addresses": {
        "state": "{{ plan[inventory_hostname].state }}", "force": True,
        "config": "{{ plan[inventory_hostname].config }}", "confirm_timeout": 10},
        "vars": {"plan": plan}, "register": "r"}
    try:
        start = time.monotonic()
        proc, results = run(lab, [task], name="two")
        recap = proc.stdout[proc.stdout.rfind("PLAY RECAP"):]
        assert "failed=1" in [line for line in recap.splitlines() if cut.name in line][0], recap
        assert "failed=0" in [line for line in recap.splitlines() if fine.name in line][0], recap
        assert "not confirmed: %s restores its previous state" % cut.name in proc.stdout
        assert results[fine.name]["confirm"]["confirmed"] is True
        back = wait_for(lambda: addr_state(lab, cut) == before, 10 + 5 - (time.monotonic() - start))
        assert back is not None, "the cut host did not revert"
        time.sleep(max(0.0, 10.5 - (time.monotonic() - start)))
        assert extra.split("/")[0] in json.dumps(lab.ip_json(fine, "addr", "show", "eth0"))
        assert not watchdogs(cut) and not watchdogs(fine)
    finally:
        lab.exec(fine, ["ip", "addr", "del", extra, "dev", "eth0"], check=False)


def test_configure_role_window_reverts_all_three_steps(lab, clean):
    host = lab.hosts[1]
    prefix = "c" + secrets.token_hex(2)
    va, vb = prefix + "a", prefix + "b"
    spare = "198.18.%d.%d" % (lab.subnet.network_address.packed[2], 200)
    arp_path = "/proc/sys/net/ipv4/conf/eth0/arp_ignore"
    arp_before = lab.read_proc(host, arp_path)
    before = addr_state(lab, host)
    stop = threading.Event()

    def drop_cached_neighbour():
        # arp_ignore 8 stops ARP answers; the controller's cached entry would hide that
        while not stop.is_set():
            if lab.read_proc(host, arp_path) == "8":
                subprocess.run(["ip", "neigh", "del", host.ip, "dev", lab.bridge],
                               capture_output=True, check=False)
                return
            time.sleep(0.005)

    watcher = threading.Thread(target=drop_cached_neighbour)
    watcher.start()
    try:
        start = time.monotonic()
        book = {"name": "configure", "ansible.builtin.include_role": {
            "name": "hostnet.netif.configure"}, "vars": {
            "netif_confirm_timeout": 10,
            "netif_interfaces": [{"name": va, "kind": "veth", "peer": vb, "enabled": True}],
            "netif_addresses": [{"name": va, "addresses": [{"address": spare + "/32"}]}],
            "netif_sysctls": [{"name": "eth0", "ipv4": {"arp_ignore": 8}}],
            "netif_force": True}}
        proc, results = run(lab, [book], hosts=host.name, name="role")
        out = proc.stdout + proc.stderr
        assert proc.returncode != 0, out[-3000:]
        assert "not confirmed: %s restores its previous state at" % host.name in out, out[-3000:]

        def names():
            return {link["ifname"] for link in lab.ip_json(host, "link", "show")}

        back = wait_for(lambda: va not in names() and lab.read_proc(host, arp_path) == arp_before,
                        # each step restarts the countdown; the play ends at the deadline
                        max(5.0, 10 + 5 - (time.monotonic() - start)))
        log = [open("/run/hostnet-netif/" + n).read() for n in os.listdir("/run/hostnet-netif")
               if n.startswith("%d.confirm" % inode(host))]
        assert back is not None, "the role's three steps were not reverted: %s %s %s" % (
            va in names(), lab.read_proc(host, arp_path), log)
        assert vb not in names()
        assert addr_state(lab, host) == before
        assert wait_for(lambda: not watchdogs(host), 3) is not None
        assert answers_ssh(lab, host)
    finally:
        stop.set()
        watcher.join()
        if va in {link["ifname"] for link in lab.ip_json(host, "link", "show")}:
            lab.exec(host, ["ip", "link", "del", va])
        lab.write_proc(host, "sys/net/ipv4/conf/eth0/arp_ignore", arp_before)


def test_configure_role_window_confirmed_keeps_all_three_steps(lab, clean):
    host = lab.hosts[0]
    prefix = "k" + secrets.token_hex(2)
    va, vb = prefix + "a", prefix + "b"
    spare = "198.18.%d.%d" % (lab.subnet.network_address.packed[2], 201)
    try:
        book = {"name": "configure", "ansible.builtin.include_role": {
            "name": "hostnet.netif.configure"}, "vars": {
            "netif_confirm_timeout": 10,
            "netif_interfaces": [{"name": va, "kind": "veth", "peer": vb, "enabled": True}],
            "netif_addresses": [{"name": va, "addresses": [{"address": spare + "/32"}]}],
            "netif_sysctls": [{"name": va, "ipv4": {"rp_filter": 1}}]}}
        proc, results = run(lab, [book], hosts=host.name, name="role-ok")
        out = proc.stdout + proc.stderr
        assert proc.returncode == 0, out[-3000:]
        assert "Confirm the window over a new connection" in out and "not confirmed" not in out
        assert not watchdogs(host)
        assert not os.path.exists(netif_state_paths(host.netns)[1])
        assert spare in json.dumps(lab.ip_json(host, "addr", "show", va))
        assert lab.read_proc(host, "/proc/sys/net/ipv4/conf/%s/rp_filter" % va) == "1"
    finally:
        if va in {link["ifname"] for link in lab.ip_json(host, "link", "show")}:
            lab.exec(host, ["ip", "link", "del", va])


def network_files(lab, host):
    """{name: text} of the host's /etc/systemd/network (its /etc/netns/<ns> entry)."""
    directory = lab.etc_dir(host) / "systemd" / "network"
    return dict((path.name, path.read_text()) for path in sorted(directory.iterdir()))


@pytest.mark.skipif(not os.path.exists("/lib/systemd/systemd-networkd"),
                    reason="systemd-networkd is not installed")
def test_cut_with_persist_reverts_the_runtime_and_the_files(lab_factory):
    """persist: true in a window, two hosts with their own /etc cut in one play: on h0
    the cut rewrites eth0's own .network, on h1 it writes a new .network and removes
    eth0's own .link. Not confirmed, so after the deadline the watchdogs have put back
    the addresses AND the files (old contents back, the new file gone)."""
    lab = lab_factory(hosts=2, etc=True)
    rewritten, created = lab.hosts
    for host, name in ((rewritten, "50-hostnet-eth0.network"), (created, "50-hostnet-eth0.link")):
        # eth0's own files from an earlier persist (the prefix makes them the collection's)
        section = "Network]\nAddress=%s/%d" % (host.ip, lab.subnet.prefixlen) \
            if name.endswith(".network") else "Link]\nAlias=before-the-window"
        (lab.etc_dir(host) / "systemd" / "network" / name).write_text(
            "[Match]\nName=eth0\n\n[%s\n" % section)
    files_before = dict((h.name, network_files(lab, h)) for h in lab.hosts)
    addrs_before = dict((h.name, addr_state(lab, h)) for h in lab.hosts)
    address = "{{ ansible_host }}/%d" % lab.subnet.prefixlen
    task = {"name": "cut with persist", "hostnet.netif.addresses": {
        "state": "deleted", "force": True, "confirm_timeout": 15, "persist": True,
        "persist_backend": "networkd",
        "config": [{"name": "eth0", "addresses": [{"address": address}]}]},
        "register": "r", "ignore_errors": True}
    argv, env, _outs = playbook(lab, [task], name="cutp")
    seen = dict((h.name, []) for h in lab.hosts)

    def restored():
        return all(network_files(lab, h) == files_before[h.name]
                   and addr_state(lab, h) == addrs_before[h.name] for h in lab.hosts)
    try:
        start = time.monotonic()
        proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        while proc.poll() is None:  # what the window wrote, before the watchdog restores it
            for host in lab.hosts:
                files = network_files(lab, host)
                if files != files_before[host.name] and files not in seen[host.name]:
                    seen[host.name].append(files)
            time.sleep(0.1)
        out = proc.stdout.read()
        proc.stdout.close()
        for host in lab.hosts:
            assert "not confirmed: %s restores its previous state at" % host.name in out, out[-3000:]
        during = seen[rewritten.name][-1]  # eth0's .network without the address
        assert sorted(during) == ["50-hostnet-eth0.network"], seen
        assert "\nAddress=" not in during["50-hostnet-eth0.network"], during
        assert sorted(seen[created.name][-1]) == ["50-hostnet-eth0.network"], seen
        back = wait_for(restored, max(5.0, 15 + 5 - (time.monotonic() - start)))
        assert back is not None, "not restored: %s" % dict(
            (h.name, (network_files(lab, h), addr_state(lab, h))) for h in lab.hosts)
        assert wait_for(lambda: not any(watchdogs(h) for h in lab.hosts), 3) is not None
        assert not any(os.path.exists(netif_state_paths(h.netns)[1]) for h in lab.hosts)
    finally:
        for host in lab.hosts:
            for pid in watchdogs(host):
                os.kill(pid, signal.SIGKILL)
            base = "/run/hostnet-netif/%d." % inode(host)
            for name in os.listdir("/run/hostnet-netif"):
                if ("/run/hostnet-netif/" + name).startswith(base) and not name.endswith(".lock"):
                    os.unlink("/run/hostnet-netif/" + name)
        lab.down()  # its /etc/netns/<ns> entries go with it
    assert not any(os.path.exists("/etc/netns/" + h.netns) for h in lab.hosts)
