"""Helpers for integration tests: run ansible / ansible-playbook against a Lab."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Mapping


def ansible_bin(name: str) -> str:
    """Path of an ansible entry point next to the running interpreter (the venv), else on PATH."""
    candidate = Path(sys.executable).parent / name  # do not resolve(): the venv's python is a symlink
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if found:
        return found
    raise FileNotFoundError(f"{name} not found next to {sys.executable} nor on PATH")


def stop_process(proc, timeout: float = 10) -> None:
    """Terminate ``proc`` (a Popen, or None) if it still runs; kill it when it does not end."""
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


def start_server(argv_at, log, attempts: int = 5, timeout: float = 10):
    """(process, port): ``argv_at(port)`` started in the foreground on a free loopback port and
    accepting connections (a port taken meanwhile: the next one); its output appended to
    ``log``. RuntimeError with the log's tail when it does not start."""
    for dummy in range(attempts):
        port = free_port()
        with open(log, "ab") as out:
            proc = subprocess.Popen(argv_at(port), stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while proc.poll() is None and time.monotonic() < deadline and not _listening(port):
            time.sleep(0.05)
        if proc.poll() is None and _listening(port):
            return proc, port
        stop_process(proc)
    raise RuntimeError("%s did not start: %s" % (argv_at(0)[0], Path(log).read_text(errors="replace")[-2000:]))


def redis_argv(workdir):
    """argv_at(port) of a redis-server on 127.0.0.1 without RDB/AOF files, in the foreground."""
    return lambda port: ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "",
                         "--appendonly", "no", "--dir", str(workdir), "--daemonize", "no"]


def memcached_argv(*extra: str):
    """argv_at(port) of a memcached on 127.0.0.1, TCP only, in the foreground; as root it runs
    as nobody (memcached refuses root)."""
    user = ["-u", "nobody"] if os.geteuid() == 0 else []
    return lambda port: ["memcached", "-l", "127.0.0.1", "-p", str(port), "-U", "0"] + user + list(extra)


def _env(lab, extra: Mapping[str, str] | None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(lab.env())
    if extra:
        env.update(extra)
    return env


def _run(argv: list[str], env: dict[str, str], timeout: float) -> tuple[int, str, str]:
    proc = subprocess.run(argv, check=False, capture_output=True, text=True, env=env, timeout=timeout,
                          stdin=subprocess.DEVNULL)
    return proc.returncode, proc.stdout, proc.stderr


def run_ansible(lab, *args: str, env: Mapping[str, str] | None = None,
                timeout: float = 300) -> tuple[int, str, str]:
    """``ansible -i <lab inventory> *args`` -> (rc, stdout, stderr).

    ``args`` starts with the host pattern, e.g. ``run_ansible(lab, "lab", "-m", "ping")``.
    """
    return _run([ansible_bin("ansible"), "-i", lab.inventory, *args], _env(lab, env), timeout)


def run_playbook(lab, playbook, extra_vars: Mapping | None = None, *args: str,
                 env: Mapping[str, str] | None = None, timeout: float = 600) -> tuple[int, str, str]:
    """``ansible-playbook -i <lab inventory> [-e JSON] *args PLAYBOOK`` -> (rc, stdout, stderr).

    ``playbook`` is a path (str or Path to an existing file) or the YAML text of a
    playbook, which is written to a file in the lab's workdir (removed with the lab).
    """
    if isinstance(playbook, Path) or ("\n" not in playbook and os.path.isfile(playbook)):
        path = str(playbook)
    else:
        fd, path = tempfile.mkstemp(prefix="playbook-", suffix=".yml", dir=lab.workdir)
        with os.fdopen(fd, "w") as fh:
            fh.write(playbook)
    argv = [ansible_bin("ansible-playbook"), "-i", lab.inventory]
    if extra_vars:
        argv += ["-e", json.dumps(dict(extra_vars))]
    argv += [*args, path]
    return _run(argv, _env(lab, env), timeout)


# ip -json fields that move on their own (traffic counters, carrier counts)
COUNTERS = {"stats", "stats64", "carrier_changes", "carrier_up_count", "carrier_down_count"}


def without_counters(value):
    """ip -json -d output minus counters and running timers (they move on their own)."""
    if isinstance(value, dict):
        return {k: without_counters(v) for k, v in value.items()
                if k not in COUNTERS and not k.endswith("_timer")}
    if isinstance(value, list):
        return [without_counters(v) for v in value]
    return value


def run_offline_playbook(lab, tasks: str, workdir: Path) -> dict:
    """Run ``tasks`` (YAML of a task list, 4-space indented) on ``nowhere``, a host nothing
    answers for (198.18.255.254, inside the lab range): passing proves they touch no host.
    Returns ``ansible_facts.netif`` as the play left it."""
    out = Path(workdir) / "offline-netif.json"
    playbook = ("- hosts: nowhere\n  gather_facts: false\n  tasks:\n%s"
                "    - ansible.builtin.copy:\n"
                "        content: \"{{ ansible_facts.netif | to_json }}\"\n"
                "        dest: \"%s\"\n"
                "      delegate_to: localhost\n" % (tasks, out))
    inventory = Path(workdir) / "offline-inv.ini"
    inventory.write_text("nowhere ansible_host=198.18.255.254 ansible_connection=ssh "
                         "ansible_ssh_timeout=2\n")
    rc, stdout, stderr = run_playbook(lab, playbook, None, "-i", str(inventory))
    assert rc == 0, stdout[-3000:] + stderr[-3000:]
    return json.loads(out.read_text())


def netif_state_paths(netns: str) -> tuple[str, str]:
    """(lock, journal) paths of the hostnet.netif transaction inside namespace ``netns``:
    ``/run/hostnet-netif/<netns inode>.lock|.journal`` (the directory made 0700 if missing)."""
    inode = os.stat(os.path.join("/run/netns", netns)).st_ino
    os.makedirs("/run/hostnet-netif", mode=0o700, exist_ok=True)
    base = "/run/hostnet-netif/%d" % inode
    return base + ".lock", base + ".journal"
