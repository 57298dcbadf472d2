"""Network-namespace test lab for the hostnet.netif collection (stdlib only).

A :class:`Lab` builds, in the root network namespace, one Linux bridge
``<name>-br`` with ``198.18.K.1/24`` and, per host ``i``, a network namespace
``<name>-h<i>`` joined to the bridge by a veth pair (root end ``<name>-v<i>``,
namespace end ``eth0`` with ``198.18.K.(10+i)/24``).  Each namespace runs its
own sshd, so Ansible reaches the hosts over real SSH through an INI inventory
written into the lab's work directory.

Only addresses from 198.18.0.0/15 (RFC 2544 benchmarking range) and loopback
are ever used; IPv6 is disabled on every interface the lab creates (and, via
the namespace's ``default`` sysctl, on every interface later created inside a
namespace) so that no link-local addresses are generated either.

Everything is created by name and recorded (before it is created) in
``/tmp/netif-lab-<name>/state.json``, so :meth:`Lab.down` and :func:`reap` can
remove exactly what a lab built, even when it was only half built or the
process that built it is gone.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import fnmatch
import ipaddress
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable, Sequence

__all__ = [
    "CommandError",
    "Host",
    "Lab",
    "LabError",
    "check_address",
    "list_labs",
    "reap",
    "state_dir",
]

SSHD = "/usr/sbin/sshd"
TARGET_PYTHON = "/usr/bin/python3"
STATE_PREFIX = "/tmp/netif-lab-"
LOCK_PATH = "/tmp/netif-lab.lock"
IFNAMSIZ = 15  # max interface name length in bytes (IFNAMSIZ - 1)
MAX_HOSTS = 200
NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
IFNAME_RE = re.compile(r"^[^\s/:]{1,15}$")
ALLOWED_NETWORKS = (
    ipaddress.ip_network("198.18.0.0/15"),
    ipaddress.ip_network("127.0.0.0/8"),
    ipaddress.ip_network("::1/128"),
)
# Per-host /etc (Lab(etc=True)): `ip netns exec NS` bind-mounts each entry of
# /etc/netns/NS/ over /etc/<entry>, but only when the root's /etc/<entry> exists.
ETC_NETNS = Path("/etc/netns")
ETC_ENTRIES = ("systemd", "netplan", "sysctl.d", "NetworkManager", "network")
ETC_SUBDIRS = ("systemd/network", "netplan", "sysctl.d", "NetworkManager/system-connections",
               "network")
NETWORKD = "/lib/systemd/systemd-networkd"
SYSTEMD_SYSCTL = "/lib/systemd/systemd-sysctl"

# Run inside `ip netns exec NS unshare -m --propagation private`: a private mount
# namespace, so the tmpfs over /run/systemd and the read-only /sys never reach the
# root's mounts.  Starts systemd-networkd, waits until every link it manages is
# configured (or failed), stops it; prints the link states as JSON.
_PY_NETWORKD = r"""
import glob, json, os, shutil, subprocess, sys, time
networkd, generated, timeout = sys.argv[1], sys.argv[2], float(sys.argv[3])
subprocess.run(["mount", "-t", "tmpfs", "tmpfs", "/run/systemd"], check=True)
subprocess.run(["mount", "-o", "remount,ro", "/sys"], check=True)
os.makedirs("/run/systemd/netif", exist_ok=True)
shutil.chown("/run/systemd/netif", "systemd-network", "systemd-network")
if generated and os.path.isdir(generated):
    shutil.copytree(generated, "/run/systemd/network")
proc = subprocess.Popen([networkd], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
states, end, idle_since = {}, time.monotonic() + timeout, None
final = ("configured", "failed", "unmanaged", "linger")
time.sleep(0.3)
while time.monotonic() < end and proc.poll() is None:
    states = {}
    for path in glob.glob("/run/systemd/netif/links/*"):
        fields = dict(line.split("=", 1) for line in open(path).read().splitlines() if "=" in line)
        states[os.path.basename(path)] = fields
    managed = [f for f in states.values() if f.get("NETWORK_FILE")]
    if managed and all(f.get("ADMIN_STATE") in final for f in managed):
        break
    # nothing to manage (no .network matches): give netdevs 2 s to appear, then stop
    if states and not managed and all(f.get("ADMIN_STATE") in final for f in states.values()):
        idle_since = idle_since or time.monotonic()
        if time.monotonic() - idle_since > 2:
            break
    else:
        idle_since = None
    time.sleep(0.1)
proc.terminate()
try:
    _out, err = proc.communicate(timeout=5)
except subprocess.TimeoutExpired:
    proc.kill()
    _out, err = proc.communicate()
print(json.dumps({"links": states, "stderr": err.decode(errors="replace")[-4000:]}))
"""

SSH_OPTS = (
    "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null "
    "-o LogLevel=ERROR -o IdentitiesOnly=yes "
    "-o ControlMaster=auto -o ControlPersist=60s"
)

# ICMP echo written in stdlib Python, used by Lab.ping when iputils' ping is
# not installed (it is not part of a minimal Debian image).
_PY_PING = r"""
import os, socket, struct, sys, time
dst, timeout = sys.argv[1], float(sys.argv[2])
def csum(b):
    if len(b) % 2:
        b += b"\0"
    t = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    t = (t >> 16) + (t & 0xFFFF)
    t += t >> 16
    return ~t & 0xFFFF
ident = os.getpid() & 0xFFFF
payload = b"netif-lab-ping"
hdr = struct.pack("!BBHHH", 8, 0, 0, ident, 1)
pkt = struct.pack("!BBHHH", 8, 0, csum(hdr + payload), ident, 1) + payload
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
s.sendto(pkt, (dst, 0))
end = time.monotonic() + timeout
while True:
    left = end - time.monotonic()
    if left <= 0:
        sys.exit(1)
    s.settimeout(left)
    try:
        data, addr = s.recvfrom(2048)
    except socket.timeout:
        sys.exit(1)
    ihl = (data[0] & 15) * 4
    typ, _c, _s, i, q = struct.unpack("!BBHHH", data[ihl:ihl + 8])
    if typ == 0 and i == ident and q == 1 and addr[0] == dst:
        print("reply from", dst)
        sys.exit(0)
"""


class LabError(RuntimeError):
    """The lab could not be built, used or torn down."""


class CommandError(subprocess.CalledProcessError):
    """A command failed; unlike CalledProcessError its message shows stderr."""

    def __str__(self) -> str:  # pragma: no cover - formatting only
        msg = super().__str__()
        err = (self.stderr or "").strip()
        out = (self.output or "").strip()
        if err:
            msg += f"\nstderr: {err[-2000:]}"
        if out:
            msg += f"\nstdout: {out[-2000:]}"
        return msg


@dataclass(frozen=True)
class Host:
    """One lab host: a network namespace reached over SSH at ``ip``."""

    name: str  # inventory hostname, equal to the namespace name
    netns: str
    ip: str
    index: int
    veth: str  # root-namespace end of the host's veth pair


def state_dir(name: str) -> Path:
    """Directory holding ``state.json`` (and by default the workdir) of lab ``name``."""
    return Path(f"{STATE_PREFIX}{name}")


def check_address(addr: str) -> str:
    """Return ``addr`` if it (an address or CIDR) lies in 198.18.0.0/15 or loopback, else raise."""
    try:
        net = ipaddress.ip_interface(str(addr)).network
    except ValueError as exc:
        raise LabError(f"not an IP address: {addr!r}") from exc
    if not any(net.version == a.version and net.subnet_of(a) for a in ALLOWED_NETWORKS):
        raise LabError(f"address {addr} is outside 198.18.0.0/15 and loopback; the lab refuses it")
    return str(addr)


def _check_ifname(name: str) -> str:
    if not IFNAME_RE.match(name) or len(name.encode()) > IFNAMSIZ or name in (".", ".."):
        raise LabError(f"invalid interface name {name!r} (1..15 bytes, no whitespace, '/' or ':')")
    return name


def _ip() -> str:
    return shutil.which("ip") or "/usr/sbin/ip"


def run(argv: Sequence[str], *, check: bool = True, timeout: float = 60,
        input: str | None = None) -> subprocess.CompletedProcess:
    """Run ``argv`` (a list, never a shell string), capturing text output."""
    if isinstance(argv, (str, bytes)):
        raise TypeError("argv must be a list of arguments, not a string")
    argv = [str(a) for a in argv]
    proc = subprocess.run(argv, check=False, capture_output=True, text=True, timeout=timeout,
                          input=input, stdin=None if input is not None else subprocess.DEVNULL)
    if check and proc.returncode != 0:
        raise CommandError(proc.returncode, argv, proc.stdout, proc.stderr)
    return proc


def _ip_json(*args: str, netns: str | None = None) -> list:
    argv = [_ip()]
    if netns:
        argv += ["-n", netns]
    out = run(argv + ["-json", *args]).stdout.strip()
    return json.loads(out) if out else []


def _netns_list() -> list[str]:
    proc = run([_ip(), "netns", "list"], check=False)
    return [line.split()[0] for line in proc.stdout.splitlines() if line.strip()]


def _root_links() -> list[str]:
    return [link["ifname"] for link in _ip_json("link", "show")]


def _disable_ipv6_root(ifname: str) -> None:
    """Disable IPv6 on a root-namespace interface before it goes up (no link-local traffic)."""
    path = Path(f"/proc/sys/net/ipv6/conf/{ifname}/disable_ipv6")
    with contextlib.suppress(FileNotFoundError):
        path.write_text("1\n")


# --------------------------------------------------------------------------- processes

def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    # state is the first field after the parenthesised comm
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _ancestors() -> set[int]:
    pids, pid = set(), os.getpid()
    while pid > 1:
        pids.add(pid)
        try:
            pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            break
    return pids


def _pids_referencing(paths: Iterable[Path]) -> list[int]:
    """Pids whose argv mentions one of ``paths`` (exactly, or as a directory prefix)."""
    needles = [str(p).rstrip("/") for p in paths]
    if not needles:
        return []
    skip = _ancestors()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) in skip:
            continue
        try:
            argv = Path(f"/proc/{entry}/cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        if any(arg == n or (n + "/") in arg for arg in argv for n in needles):
            found.append(int(entry))
    return found


def _netns_pids(netns: str) -> list[int]:
    proc = run([_ip(), "netns", "pids", netns], check=False)
    return [int(p) for p in proc.stdout.split() if p.isdigit()]


def _kill(pids: Iterable[int], grace: float = 2.0) -> list[int]:
    """SIGTERM ``pids``, SIGKILL whatever is left after ``grace`` seconds; return survivors."""
    pids = [p for p in set(pids) if p != os.getpid()]
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 2.0)):
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            pids = [p for p in pids if _alive(p)]
            if not pids:
                return []
            time.sleep(0.05)
        pids = [p for p in pids if _alive(p)]
    return pids


# --------------------------------------------------------------------------- teardown

def _stop_ssh_masters(dirs: Iterable[Path]) -> None:
    ssh = shutil.which("ssh")
    for d in dirs:
        if not ssh or not d.is_dir():
            continue
        for sock in d.glob("cp-*"):
            with contextlib.suppress(subprocess.TimeoutExpired, OSError):
                run([ssh, "-F", "/dev/null", "-o", f"ControlPath={sock}", "-O", "exit", "lab"],
                    check=False, timeout=5)


def _teardown(netns: Sequence[str], links: Sequence[str], dirs: Sequence[Path]) -> None:
    """Remove a lab's pieces by name, in a safe order; tolerate absent pieces; verify."""
    dirs = [Path(d) for d in dirs]
    # 1. ssh ControlPersist masters (and anything else started with our paths, e.g.
    #    an sshd whose namespace was already unmounted).
    _stop_ssh_masters(dirs)
    survivors = _kill(_pids_referencing(dirs))
    # 2. every process inside the namespaces (sshd and its sessions, test daemons)
    existing_ns = set(_netns_list())
    for ns in netns:
        if ns in existing_ns:
            survivors += _kill(_netns_pids(ns))
    survivors += _kill(_pids_referencing(dirs))  # sessions forked meanwhile
    # 3. namespaces (their interfaces go with them)
    for ns in netns:
        if ns in existing_ns:
            run([_ip(), "netns", "del", ns], check=False)
    # 4. root-side veths and the bridge (veths first)
    present = set(_root_links())
    for link in sorted(links, key=lambda n: n.endswith("-br")):
        if link in present:
            run([_ip(), "link", "del", link], check=False)
    # 5. work directories and per-host /etc (Lab(etc=True))
    for d in dirs:
        shutil.rmtree(d, ignore_errors=True)
    if any(d.parent == ETC_NETNS for d in dirs):
        with contextlib.suppress(OSError):
            ETC_NETNS.rmdir()  # only when no other lab's host is left in it
    # verify; a netns being destroyed can take a moment to release its veth peer
    deadline = time.monotonic() + 5
    while True:
        left_ns = sorted(set(netns) & set(_netns_list()))
        left_links = sorted(set(links) & set(_root_links()))
        left_dirs = [str(d) for d in dirs if d.exists()]
        left_pids = [p for p in survivors if _alive(p)]
        if not (left_ns or left_links or left_dirs or left_pids) or time.monotonic() > deadline:
            break
        for link in left_links:
            run([_ip(), "link", "del", link], check=False)
        for d in left_dirs:
            shutil.rmtree(d, ignore_errors=True)
        time.sleep(0.1)
    if left_ns or left_links or left_dirs or left_pids:
        raise LabError(f"lab teardown left netns={left_ns} links={left_links} "
                       f"dirs={left_dirs} pids={left_pids}")


@contextlib.contextmanager
def _subnet_lock():
    fd = os.open(LOCK_PATH, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _used_networks() -> list:
    nets = []
    for link in _ip_json("addr", "show"):
        for a in link.get("addr_info", []):
            if a.get("family") == "inet":
                nets.append(ipaddress.ip_interface(f"{a['local']}/{a['prefixlen']}").network)
    for route in _ip_json("-4", "route", "show", "table", "all"):
        dst = route.get("dst", "default")
        with contextlib.suppress(ValueError):
            net = ipaddress.ip_network(dst, strict=False)
            if net.prefixlen >= 16:  # ignore default and very wide routes
                nets.append(net)
    return nets


def _pick_subnet() -> ipaddress.IPv4Network:
    used = _used_networks()
    for k in range(1, 251):
        cand = ipaddress.ip_network(f"198.18.{k}.0/24")
        if not any(cand.overlaps(u) for u in used):
            return cand
    raise LabError("no free /24 left in 198.18.1.0 .. 198.18.250.0 on this machine")


# --------------------------------------------------------------------------- the lab

def _load_state(name: str) -> dict | None:
    with contextlib.suppress(OSError, ValueError):
        return json.loads((state_dir(name) / "state.json").read_text())
    return None


class Lab:
    """A set of SSH-reachable hosts, each a network namespace on a shared bridge.

    >>> with Lab(hosts=2) as lab:
    ...     lab.exec(lab.hosts[0], ["ip", "-br", "addr"])
    """

    def __init__(self, name: str | None = None, hosts: int = 2,
                 workdir: str | os.PathLike | None = None, *, ssh_timeout: float = 10.0,
                 etc: bool = False):
        self._random_name = name is None
        if name is None:
            name = "nl" + secrets.token_hex(2)
        if not NAME_RE.match(name):
            raise LabError(f"lab name {name!r} must match {NAME_RE.pattern}")
        if not isinstance(hosts, int) or not 1 <= hosts <= MAX_HOSTS:
            raise LabError(f"hosts must be an int in 1..{MAX_HOSTS}")
        longest = max(f"{name}-br", f"{name}-v{hosts - 1}", f"{name}-h{hosts - 1}", key=len)
        if len(longest.encode()) > IFNAMSIZ:
            raise LabError(f"lab name {name!r} too long: {longest!r} exceeds {IFNAMSIZ} bytes")
        self.name = name
        self.nhosts = hosts
        self._workdir_arg = workdir
        if workdir is None:
            self.workdir = state_dir(name)
        else:
            # a directory that already exists is never taken over (nor removed by down()):
            # the lab works in a fresh subdirectory of it instead
            wd = Path(workdir).resolve()
            self.workdir = wd / name if wd.exists() else wd
            # ssh's ControlPath <workdir>/cp-<40 hex> must fit sun_path (107 bytes + NUL)
            if len(str(self.workdir).encode()) > 63:
                raise LabError(f"workdir {self.workdir} is too long for ssh control sockets (max 63 bytes)")
        self.state_dir = state_dir(name)
        self.ssh_timeout = ssh_timeout
        self.etc = etc
        self.bridge = f"{name}-br"
        self.subnet: ipaddress.IPv4Network | None = None
        self.hosts: list[Host] = []
        self._created: dict[str, list] = {"netns": [], "links": [], "dirs": []}
        self._sshd_procs: dict[int, subprocess.Popen] = {}
        self._owner_pid = os.getpid()
        self._atexit_registered = False
        self.is_up = False

    # ------------------------------------------------------------ paths & properties
    @property
    def inventory(self) -> str:
        return str(self.workdir / "inventory.ini")

    @property
    def private_key(self) -> str:
        return str(self.workdir / "id_ed25519")

    @property
    def control_path(self) -> str:
        return str(self.workdir / "cp-%C")

    @property
    def bridge_ip(self) -> str | None:
        return str(self.subnet.network_address + 1) if self.subnet else None

    @property
    def state_file(self) -> Path:
        return self.state_dir / "state.json"

    def host(self, ref: Host | str | int) -> Host:
        """Resolve a Host object, inventory name/netns name, or index to a Host."""
        if isinstance(ref, Host):
            return ref
        if isinstance(ref, int):
            return self.hosts[ref]
        for h in self.hosts:
            if ref in (h.name, h.netns, h.ip):
                return h
        raise LabError(f"no host {ref!r} in lab {self.name}")

    def sshd_pidfile(self, host: Host | str | int) -> Path:
        return self.workdir / f"sshd-h{self.host(host).index}.pid"

    def sshd_log(self, host: Host | str | int) -> Path:
        return self.workdir / f"sshd-h{self.host(host).index}.log"

    def state(self) -> dict:
        return {
            "name": self.name,
            "workdir": str(self.workdir),
            "state_dir": str(self.state_dir),
            "inventory": self.inventory,
            "private_key": self.private_key,
            "subnet": str(self.subnet) if self.subnet else None,
            "bridge": self.bridge,
            "bridge_ip": self.bridge_ip,
            "hosts": [asdict(h) for h in self.hosts],
            "created": {k: [str(x) for x in v] for k, v in self._created.items()},
            "owner_pid": self._owner_pid,
            "up": self.is_up,
            "etc": self.etc,
        }

    def _write_state(self) -> None:
        if not self.state_dir.is_dir():
            return
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.state(), indent=2) + "\n")
        os.replace(tmp, self.state_file)

    def _record(self, kind: str, item) -> None:
        """Record a piece *before* creating it, so a half-done step is still torn down."""
        if item not in self._created[kind]:
            self._created[kind].append(item)
        self._write_state()

    # ------------------------------------------------------------ lifecycle
    def __enter__(self) -> "Lab":
        return self.up()

    def __exit__(self, *exc) -> None:
        self.down()

    def __repr__(self) -> str:
        return f"Lab(name={self.name!r}, hosts={self.nhosts}, subnet={self.subnet}, up={self.is_up})"

    def up(self) -> "Lab":
        """Build the lab; on any failure tear down what was built and re-raise."""
        if self.is_up:
            return self
        try:
            self._claim_name()
            self._make_keys()
            with _subnet_lock():
                self.subnet = _pick_subnet()
                self._create_bridge()
            self.hosts = [
                Host(name=f"{self.name}-h{i}", netns=f"{self.name}-h{i}",
                     ip=str(self.subnet.network_address + 10 + i), index=i,
                     veth=f"{self.name}-v{i}")
                for i in range(self.nhosts)
            ]
            self._write_state()
            for h in self.hosts:
                if self.etc:
                    self._create_etc(h)
                self._create_host(h)
                if self.etc:
                    self._check_etc(h)
            self._write_inventory()
            os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
            for h in self.hosts:
                self._start_sshd(h)
            for h in self.hosts:
                self._wait_sshd(h)
            self.is_up = True
            self._write_state()
        except BaseException:
            with contextlib.suppress(Exception):
                self.down()
            raise
        return self

    def down(self) -> None:
        """Tear down exactly what this lab built; safe to call repeatedly or when half built."""
        self.is_up = False
        dirs = [Path(d) for d in self._created["dirs"]]
        try:
            _teardown(self._created["netns"], self._created["links"], dirs)
        finally:
            for proc in self._sshd_procs.values():  # reap our sshd children (killed above)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    if proc.poll() is None:
                        proc.kill()
                    proc.wait(timeout=2)
            if self._atexit_registered:
                atexit.unregister(self._atexit)
                self._atexit_registered = False

    def detach(self) -> None:
        """Keep the lab up after this process exits (the CLI's ``up``); reap it by name later."""
        if self._atexit_registered:
            atexit.unregister(self._atexit)
            self._atexit_registered = False

    def _atexit(self) -> None:
        if os.getpid() != self._owner_pid:
            return  # a forked child must not tear down its parent's lab
        with contextlib.suppress(Exception):
            self.down()

    # ------------------------------------------------------------ build steps
    def _claim_name(self) -> None:
        """Claim the name atomically by creating its state dir; refuse names already in use."""
        for _attempt in range(20):
            taken = (set(_netns_list()) & {f"{self.name}-h{i}" for i in range(self.nhosts)}
                     or set(_root_links()) & ({self.bridge} | {f"{self.name}-v{i}" for i in range(self.nhosts)}))
            if not taken:
                try:
                    os.mkdir(self.state_dir, 0o700)
                    break
                except FileExistsError:
                    taken = {str(self.state_dir)}
            if not self._random_name:
                raise LabError(f"lab name {self.name!r} is in use: {sorted(taken)}")
            self.__init__(None, self.nhosts, self._workdir_arg, ssh_timeout=self.ssh_timeout,
                          etc=self.etc)
        else:  # pragma: no cover
            raise LabError("could not find a free lab name")
        self._created["dirs"].append(str(self.state_dir))
        if self.workdir != self.state_dir:
            self._record("dirs", str(self.workdir))
            self.workdir.mkdir(mode=0o700, parents=True, exist_ok=False)
        self._write_state()
        if not self._atexit_registered:
            atexit.register(self._atexit)
            self._atexit_registered = True

    def _make_keys(self) -> None:
        keygen = shutil.which("ssh-keygen") or "/usr/bin/ssh-keygen"
        for path in (self.workdir / "ssh_host_ed25519_key", Path(self.private_key)):
            run([keygen, "-q", "-t", "ed25519", "-N", "", "-C", f"netif-lab-{self.name}", "-f", path])
        pub = Path(self.private_key + ".pub").read_text()
        (self.workdir / "authorized_keys").write_text(pub)
        os.chmod(self.workdir / "authorized_keys", 0o600)

    def _create_bridge(self) -> None:
        ip = _ip()
        self._record("links", self.bridge)
        run([ip, "link", "add", self.bridge, "type", "bridge"])
        _disable_ipv6_root(self.bridge)
        run([ip, "addr", "add", f"{self.bridge_ip}/{self.subnet.prefixlen}", "dev", self.bridge])
        run([ip, "link", "set", self.bridge, "up"])

    def _create_host(self, h: Host) -> None:
        ip = _ip()
        self._record("netns", h.netns)
        run([ip, "netns", "add", h.netns])
        # interfaces created in (or moved into) the namespace from now on get no IPv6
        self.write_proc(h, "/proc/sys/net/ipv6/conf/default/disable_ipv6", "1")
        self._record("links", h.veth)
        run([ip, "link", "add", h.veth, "type", "veth", "peer", "name", "eth0", "netns", h.netns])
        _disable_ipv6_root(h.veth)
        run([ip, "link", "set", h.veth, "master", self.bridge, "up"])
        run([ip, "-n", h.netns, "link", "set", "lo", "up"])
        run([ip, "-n", h.netns, "addr", "add", f"{h.ip}/{self.subnet.prefixlen}", "dev", "eth0"])
        # a MAC made from the address (locally administered), the same after reboot(): the
        # controller's neighbour entry stays right and sshd answers at once
        octets = [int(part) for part in h.ip.split(".")]
        run([ip, "-n", h.netns, "link", "set", "eth0", "address", "02:00:%02x:%02x:%02x:%02x" % tuple(octets)])
        run([ip, "-n", h.netns, "link", "set", "eth0", "up"])

    def etc_dir(self, host: Host | str | int) -> Path:
        """The host's own /etc entries (``Lab(etc=True)``): ``/etc/netns/<netns>``."""
        return ETC_NETNS / self.host(host).netns

    def _create_etc(self, h: Host) -> None:
        if not all(Path("/etc", e).is_dir() for e in ETC_ENTRIES):
            # without the root's /etc/<entry>, ip netns exec binds nothing and the host
            # would see (and write) the root's files: create the missing ones, empty
            for entry in ETC_ENTRIES:
                os.makedirs(Path("/etc", entry), mode=0o755, exist_ok=True)
        top = self.etc_dir(h)
        self._record("dirs", str(top))
        for sub in ETC_SUBDIRS:
            (top / sub).mkdir(mode=0o755, parents=True, exist_ok=True)
        os.chmod(top / "NetworkManager" / "system-connections", 0o700)

    def _check_etc(self, h: Host) -> None:
        """Inside the namespace, each /etc/<entry> must be the host's own directory."""
        inside = self.exec(h, ["stat", "-L", "-c", "%d:%i", *(f"/etc/{e}" for e in ETC_ENTRIES)])
        seen = inside.stdout.split()
        for entry, got in zip(ETC_ENTRIES, seen):
            st = os.stat(self.etc_dir(h) / entry)
            if got != f"{st.st_dev}:{st.st_ino}":
                raise LabError(f"{h.name}: /etc/{entry} inside the namespace is not "
                               f"{self.etc_dir(h) / entry} (bind mount missing)")

    def reboot(self, host: Host | str | int, *, networkd: bool = True, netplan: bool = False,
               sysctl: bool = True, timeout: float = 20.0) -> dict:
        """Boot the host again from its own /etc (``Lab(etc=True)``).

        Returns ``{"links": {ifindex: networkd's state file fields}, "stderr": networkd's
        log tail, "netplan": {"rc", "stderr"} of netplan generate when ``netplan``}``.

        The namespace is deleted (its interfaces and runtime sysctls with it) and made
        again with eth0, its address and sshd. Then, inside the namespace only: the
        sysctl.d files in systemd-sysctl order (``systemd-sysctl --prefix=net``),
        ``netplan generate --root-dir`` into the work directory when ``netplan``, the
        real systemd-networkd until its links are configured (then stopped), and the
        sysctl files once more for the links networkd created (udev does that at a real boot).
        """
        if not self.etc:
            raise LabError("reboot() needs a lab with a per-host /etc: Lab(etc=True)")
        h = self.host(host)
        proc = self._sshd_procs.pop(h.index, None)
        _kill(_netns_pids(h.netns))
        if proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=2)
        run([_ip(), "netns", "del", h.netns])
        deadline = time.monotonic() + 5
        while h.veth in _root_links() and time.monotonic() < deadline:
            time.sleep(0.05)
        self._create_host(h)
        self._check_etc(h)
        if sysctl:
            self.exec(h, [SYSTEMD_SYSCTL, "--prefix=net"])
        generated = ""
        if netplan:
            root = self.workdir / f"netplan-{h.index}"
            shutil.rmtree(root, ignore_errors=True)
            (root / "etc").mkdir(parents=True)
            shutil.copytree(self.etc_dir(h) / "netplan", root / "etc" / "netplan")
            # never without --root-dir (it would write udev rules into the root's /run);
            # a failure is what a real boot gets too: no netplan configuration at all
            proc = run(["netplan", "generate", "--root-dir", str(root)], check=False)
            netplan_result = {"rc": proc.returncode, "stderr": proc.stderr[-4000:]}
            if proc.returncode == 0:
                generated = str(root / "run" / "systemd" / "network")
        states = {}
        if networkd:
            out = self.exec(h, ["unshare", "-m", "--propagation", "private", TARGET_PYTHON, "-c",
                                _PY_NETWORKD, NETWORKD, generated, str(timeout)],
                            timeout=timeout + 30).stdout
            states = json.loads(out)
            if sysctl:
                self.exec(h, [SYSTEMD_SYSCTL, "--prefix=net"])
        if netplan:
            states["netplan"] = netplan_result
        self._start_sshd(h)
        self._wait_sshd(h)
        return states

    def _sshd_config(self, h: Host) -> Path:
        cfg = self.workdir / f"sshd-h{h.index}.conf"
        cfg.write_text("\n".join([
            f"# sshd for lab {self.name} host {h.name} (netns {h.netns})",
            f"ListenAddress {h.ip}",
            "Port 22",
            f"HostKey {self.workdir / 'ssh_host_ed25519_key'}",
            f"PidFile {self.sshd_pidfile(h)}",
            f"AuthorizedKeysFile {self.workdir / 'authorized_keys'}",
            "PermitRootLogin prohibit-password",
            "PubkeyAuthentication yes",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "UsePAM no",
            "StrictModes no",
            "UseDNS no",
            "PrintMotd no",
            "PrintLastLog no",
            "MaxStartups 100:30:200",
            "MaxSessions 50",
            "Subsystem sftp internal-sftp",
            "LogLevel VERBOSE",
            "",
        ]))
        return cfg

    def _start_sshd(self, h: Host) -> None:
        """Start sshd in the host's namespace.

        ``-D`` keeps it from daemonising: it stays this process's child, so down() can
        reap it (an orphaned daemon would linger as a zombie until init reaps it) and an
        sshd that dies at start-up is noticed at once instead of after the timeout.
        """
        cfg = self._sshd_config(h)
        log = self.sshd_log(h)
        with open(log, "ab") as err:  # early errors (before -E takes effect) go here too
            self._sshd_procs[h.index] = subprocess.Popen(
                [_ip(), "netns", "exec", h.netns, SSHD, "-D", "-f", str(cfg), "-E", str(log)],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                start_new_session=True)

    def _wait_sshd(self, h: Host) -> None:
        """Poll (from the root namespace, through the bridge) until sshd answers with a banner."""
        deadline = time.monotonic() + self.ssh_timeout
        proc = self._sshd_procs.get(h.index)
        last = None
        while time.monotonic() < deadline:
            if proc is not None and proc.poll() is not None:
                raise LabError(f"sshd for {h.name} exited at start-up with rc {proc.returncode}\n"
                               f"{self._tail(self.sshd_log(h))}")
            try:
                with socket.create_connection((h.ip, 22), timeout=1) as s:
                    s.settimeout(2)
                    banner = s.recv(64)
                    if banner.startswith(b"SSH-"):
                        return
                    last = f"unexpected banner {banner!r}"
            except OSError as exc:
                last = exc
            time.sleep(0.05)
        raise LabError(f"sshd for {h.name} on {h.ip}:22 did not come up within "
                       f"{self.ssh_timeout}s ({last}); pids in netns: {_netns_pids(h.netns)}\n"
                       f"{self._tail(self.sshd_log(h))}")

    @staticmethod
    def _tail(path: Path, n: int = 40) -> str:
        try:
            lines = path.read_text(errors="replace").splitlines()
        except OSError:
            return f"(no log at {path})"
        return f"--- {path} (last {n} lines) ---\n" + "\n".join(lines[-n:])

    def _write_inventory(self) -> None:
        lines = [f"# hostnet.netif test lab {self.name} (generated; removed with the lab)", "[lab]"]
        for h in self.hosts:
            lines.append(
                f"{h.name} ansible_host={h.ip} ansible_user=root "
                f"ansible_ssh_private_key_file={self.private_key} "
                f"ansible_python_interpreter={TARGET_PYTHON} netif_lab_netns={h.netns}"
            )
        lines += [
            "",
            "[lab:vars]",
            "ansible_connection=ssh",
            # INI inventory values are not %-interpolated: a single %C reaches ssh.
            f"ansible_ssh_common_args='{SSH_OPTS} -o ControlPath={self.control_path}'",
            f"netif_lab_name={self.name}",
            f"netif_lab_bridge_ip={self.bridge_ip}",
            "",
        ]
        Path(self.inventory).write_text("\n".join(lines))

    # ------------------------------------------------------------ using the lab
    def env(self) -> dict[str, str]:
        """Extra environment for ansible/ansible-playbook runs (merge into os.environ)."""
        return {
            "ANSIBLE_INVENTORY": self.inventory,
            "ANSIBLE_HOST_KEY_CHECKING": "False",
            "ANSIBLE_SSH_RETRIES": "3",
            "ANSIBLE_PIPELINING": "True",
            "ANSIBLE_TIMEOUT": "15",
            "ANSIBLE_RETRY_FILES_ENABLED": "False",
            "ANSIBLE_LOCAL_TEMP": str(self.workdir / "ansible-tmp"),
            "ANSIBLE_NOCOLOR": "1",
        }

    def exec(self, host: Host | str | int, argv: Sequence[str], check: bool = True,
             timeout: float = 60, input: str | None = None) -> subprocess.CompletedProcess:
        """Run ``argv`` inside the host's namespace (``ip netns exec NS *argv``); text output."""
        if isinstance(argv, (str, bytes)):
            raise TypeError("argv must be a list of arguments, not a shell string")
        h = self.host(host)
        return run([_ip(), "netns", "exec", h.netns, *argv], check=check, timeout=timeout, input=input)

    def ip_json(self, host: Host | str | int, *args: str):
        """Parsed JSON of ``ip -json ARGS`` inside the host's namespace."""
        out = self.exec(host, ["ip", "-json", *args]).stdout.strip()
        return json.loads(out) if out else []

    def read_proc(self, host: Host | str | int, path: str) -> str:
        """Contents of a /proc or /sys file as seen inside the host's namespace (trailing newline stripped)."""
        if not path.startswith("/"):
            path = "/proc/" + path
        return self.exec(host, ["cat", path]).stdout.rstrip("\n")

    def write_proc(self, host: Host | str | int, path: str, value: str) -> None:
        """Write ``value`` to a /proc or /sys file inside the host's namespace."""
        if not path.startswith("/"):
            path = "/proc/" + path
        run([_ip(), "netns", "exec", self.host(host).netns, "tee", path], input=f"{value}\n")

    def ping(self, src: Host | str | int, dst: Host | str | int, timeout: float = 1.0) -> bool:
        """One ICMP echo from ``src``'s namespace to ``dst`` (a host or an allowed address)."""
        try:
            dst_ip = self.host(dst).ip
        except LabError:
            dst_ip = check_address(str(dst))
        check_address(dst_ip)
        if shutil.which("ping"):
            argv = ["ping", "-n", "-c", "1", "-W", str(max(1, int(timeout))), dst_ip]
        else:
            argv = [TARGET_PYTHON, "-c", _PY_PING, dst_ip, str(timeout)]
        return self.exec(src, argv, check=False, timeout=timeout + 10).returncode == 0

    def ssh_argv(self, host: Host | str | int) -> list[str]:
        """argv prefix to run a command on ``host`` over SSH, as Ansible would."""
        h = self.host(host)
        return ["ssh", "-F", "/dev/null", "-i", self.private_key, *SSH_OPTS.split(),
                "-o", f"ControlPath={self.control_path}", "-o", "BatchMode=yes", f"root@{h.ip}"]

    # ------------------------------------------------------------ interface helpers
    def _link_cmd(self, host, argv: list, up: bool, names: Iterable[str]) -> None:
        h = self.host(host)
        run([_ip(), "-n", h.netns, *argv])
        if up:
            for n in names:
                run([_ip(), "-n", h.netns, "link", "set", n, "up"])

    def add_veth_pair(self, host, a: str, b: str, up: bool = True) -> None:
        _check_ifname(a), _check_ifname(b)
        self._link_cmd(host, ["link", "add", a, "type", "veth", "peer", "name", b], up, (a, b))

    def add_bridge(self, host, name: str, up: bool = True) -> None:
        _check_ifname(name)
        self._link_cmd(host, ["link", "add", name, "type", "bridge"], up, (name,))

    def add_macvlan(self, host, name: str, parent: str, mode: str = "bridge", up: bool = True) -> None:
        _check_ifname(name), _check_ifname(parent)
        self._link_cmd(host, ["link", "add", name, "link", parent, "type", "macvlan", "mode", mode],
                       up, (name,))

    def add_vxlan(self, host, name: str, vni: int, local: str | None = None, dstport: int = 4789,
                  parent: str | None = None, remote: str | None = None, up: bool = True) -> None:
        _check_ifname(name)
        argv = ["link", "add", name, "type", "vxlan", "id", str(int(vni)), "dstport", str(int(dstport))]
        if local is not None:
            argv += ["local", check_address(local)]
        if remote is not None:
            argv += ["remote", check_address(remote)]
        if parent is not None:
            argv += ["dev", _check_ifname(parent)]
        self._link_cmd(host, argv, up, (name,))

    def add_ifb(self, host, name: str, up: bool = True) -> None:
        _check_ifname(name)
        self._link_cmd(host, ["link", "add", name, "type", "ifb"], up, (name,))

    def add_address(self, host, dev: str, cidr: str) -> None:
        """Add an address (198.18.0.0/15 or loopback only) to ``dev`` inside the host."""
        run([_ip(), "-n", self.host(host).netns, "addr", "add", check_address(cidr), "dev", _check_ifname(dev)])

    def del_link(self, host, name: str, missing_ok: bool = True) -> None:
        proc = run([_ip(), "-n", self.host(host).netns, "link", "del", _check_ifname(name)], check=False)
        # "No such device": it vanished between ip's name lookup and the delete
        # (a veth goes with its peer)
        gone = "Cannot find device" in proc.stderr or "No such device" in proc.stderr
        if proc.returncode != 0 and not (missing_ok and gone):
            raise CommandError(proc.returncode, proc.args, proc.stdout, proc.stderr)


# --------------------------------------------------------------------------- by name

def _convention(name: str) -> tuple[list[str], list[str]]:
    ns_re = re.compile(rf"^{re.escape(name)}-h\d+$")
    link_re = re.compile(rf"^{re.escape(name)}-(?:v\d+|br)$")
    return ([n for n in _netns_list() if ns_re.match(n)],
            [n for n in _root_links() if link_re.match(n)])


def _known_names() -> dict[str, str]:
    """Lab names on this machine -> 'state' (has a state file) or 'orphan' (convention only)."""
    names: dict[str, str] = {}
    for d in Path("/tmp").glob("netif-lab-*"):
        n = d.name[len("netif-lab-"):]
        if d.is_dir() and NAME_RE.match(n):
            names[n] = "state" if (d / "state.json").exists() else "orphan"
    for ns in _netns_list():
        m = re.match(r"^([A-Za-z][A-Za-z0-9_]*)-h\d+$", ns)
        if m:
            names.setdefault(m.group(1), "orphan")
    for link in _root_links():
        m = re.match(r"^([A-Za-z][A-Za-z0-9_]*)-(?:v\d+|br)$", link)
        if m:
            names.setdefault(m.group(1), "orphan")
    for etc in ETC_NETNS.glob("*-h*"):
        m = re.match(r"^([A-Za-z][A-Za-z0-9_]*)-h\d+$", etc.name)
        if m:
            names.setdefault(m.group(1), "orphan")
    return names


def list_labs() -> list[dict]:
    """Labs on this machine, from state files and, for orphans, the naming convention."""
    out = []
    for name, kind in sorted(_known_names().items()):
        st = _load_state(name) or {}
        ns, links = _convention(name)
        owner = st.get("owner_pid")
        out.append({
            "name": name,
            "source": kind,
            "subnet": st.get("subnet"),
            "inventory": st.get("inventory"),
            "hosts": [h["name"] for h in st.get("hosts", [])] or ns,
            "netns_present": ns,
            "links_present": links,
            "owner_pid": owner,
            "owner_alive": bool(owner) and _alive(owner),
        })
    return out


def reap(pattern: str) -> list[str]:
    """Tear down every lab whose name matches ``pattern`` (an exact name or a glob).

    Uses the lab's state file when present, else the naming convention
    (``<name>-h<i>`` namespaces, ``<name>-v<i>``/``<name>-br`` links,
    ``/tmp/netif-lab-<name>``).  Returns the names reaped.
    """
    reaped = []
    for name in sorted(n for n in _known_names() if fnmatch.fnmatchcase(n, pattern)):
        st = _load_state(name) or {}
        created = st.get("created", {})
        ns, links = _convention(name)
        netns = list(dict.fromkeys(created.get("netns", []) + ns))
        links = list(dict.fromkeys(created.get("links", []) + links))
        etc_re = re.compile(rf"^{re.escape(name)}-h\d+$")
        etc = [str(p) for p in ETC_NETNS.glob("*-h*") if etc_re.match(p.name)]
        dirs = list(dict.fromkeys(created.get("dirs", []) + etc + [str(state_dir(name))]))
        _teardown(netns, links, [Path(d) for d in dirs])
        reaped.append(name)
    return reaped


if __name__ == "__main__":  # pragma: no cover
    sys.exit("use: python -m tests.lab {up,down,list}")
