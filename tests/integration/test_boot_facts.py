"""gather_subset boot on a lab host with its own /etc, files written by the real tools.

The prediction is checked against the real thing: the host is "rebooted"
(Lab.reboot: fresh namespace, systemd-sysctl --prefix=net, the real
systemd-networkd) and ``ip -json`` / /proc inside the namespace must show what
``boot`` predicted. netplan files are checked by ``netplan generate --root-dir``;
NetworkManager keyfiles come from ``nmcli --offline`` when the installed
network-manager has it (else hand-written, and labelled so in the file).
"""

from __future__ import annotations

import ipaddress
import json
import os
import random
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.integration.helpers import run_ansible, run_offline_playbook
from tests.integration.test_interface_facts import facts_via_ansible

pytestmark = pytest.mark.skipif(not os.path.exists("/lib/systemd/systemd-networkd"),
                                reason="systemd-networkd is not installed")


def _write(path: Path, text: str, mode: int = 0o644) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    os.chmod(path, mode)
    return path


REPO = Path(__file__).resolve().parents[2]


def _ifquery() -> str | None:
    """ifupdown's ifquery: installed, or extracted by .ci/os-deps.sh (never installed there)."""
    extracted = REPO / ".build" / "ifupdown" / "sbin" / "ifquery"
    return shutil.which("ifquery") or (str(extracted) if extracted.exists() else None)


def _nm_keyfile(name: str, cidr: str, mac: str) -> str:
    argv = ["nmcli", "--offline", "connection", "add", "type", "ethernet", "con-name", name,
            "ifname", name, "ipv4.method", "manual", "ipv4.addresses", cidr,
            "ipv6.method", "disabled", "ethernet.mtu", "1380", "ethernet.cloned-mac-address", mac]
    if shutil.which("nmcli"):
        proc = subprocess.run(argv, capture_output=True, text=True, check=False)
        if proc.returncode == 0:
            return proc.stdout
    return ("# hand-written: nmcli --offline is not available here\n"
            f"[connection]\nid={name}\ntype=ethernet\ninterface-name={name}\n\n"
            f"[ethernet]\ncloned-mac-address={mac}\nmtu=1380\n\n"
            f"[ipv4]\naddress1={cidr}\nmethod=manual\n\n[ipv6]\nmethod=disabled\n")


NETPLAN_GOOD = {
    "50-np.yaml": "network:\n  version: 2\n  renderer: networkd\n  ethernets:\n    np0:\n"
                  "      mtu: 9000\n      addresses: [198.19.{n}.1/24]\n",
    # a repeated key: netplan 0.106 applies both occurrences, and so must the reader;
    # link-local: [] or networkd waits for router advertisements before "configured"
    "60-np.yaml": "network:\n  ethernets:\n    np0:\n      mtu: 1400\n  ethernets:\n    np0:\n"
                  "      addresses: [198.19.{n}.2/24]\n  bridges:\n    npbr0:\n"
                  "      interfaces: [np0]\n      mtu: 1280\n      link-local: []\n"
                  "      addresses: [198.19.{m}.1/24]\n",
}
NETPLAN_BAD = "80-bad.yaml"


@pytest.fixture(scope="module")
def host_etc(lab_factory):
    lab = lab_factory(hosts=1, etc=True)
    host = lab.hosts[0]
    etc = lab.etc_dir(host)
    n = random.randint(1, 126)
    tag = "%02x" % random.randint(16, 254)
    mac = f"02:00:c6:13:{tag}:01"
    net = etc / "systemd" / "network"
    _write(net / "10-nb0.netdev", "[NetDev]\nName=nb0\nKind=bridge\nMTUBytes=1400\n")
    _write(net / "10-nb0.network", f"[Match]\nName=nb0\n[Network]\nAddress=198.19.{n}.100/24\n"
           "LinkLocalAddressing=no\nConfigureWithoutCarrier=yes\n")
    _write(net / "20-nv.netdev", f"[NetDev]\nName=nv0\nKind=veth\nMACAddress={mac}\n[Peer]\nName=nv1\n")
    _write(net / "20-nv0.network", f"[Match]\nName=nv0\n[Link]\nMTUBytes=1450\n[Network]\n"
           f"Address=198.18.255.{n}/32\nLinkLocalAddressing=no\n")
    _write(net / "30-nv1.network", "[Match]\nName=nv1 nx*\n[Link]\nMTUBytes=1500\n[Network]\n"
           "Bridge=nb0\nLinkLocalAddressing=no\n")
    _write(net / "30-nv1.network.d" / "50-mtu.conf", "[Link]\nMTUBytes=1400\n")
    _write(net / "40-nd0.netdev", "[NetDev]\nName=nd0\nKind=bridge\nMTUBytes=1320\n")  # no .network
    # hostile files next to them: networkd and the reader must both shrug them off
    with open(_write(net / "70-binary.network", ""), "wb") as handle:
        handle.write(b"[Match]\nName=hx0\x00\xff\n")
    with open(_write(net / "71-huge.network", ""), "wb") as handle:
        handle.write(b"# padding\n" * 110000)
    os.symlink("72-loop.network", net / "72-loop.network")
    os.symlink("/etc/passwd", net / "73-out.network")

    sysctl = etc / "sysctl.d"
    _write(sysctl / "10-a.conf", "net.ipv4.conf.default.rp_filter = 2\nnet.ipv4.conf.all.log_martians=1\n")
    _write(sysctl / "15-glob.conf", "net.ipv4.conf.*.accept_redirects = 0\n"
           "-net/ipv4/conf/nv0/accept_redirects = 1\nnet.ipv4.conf.nv*.arp_ignore = 1\n")
    _write(sysctl / "20-b.conf", "net.ipv4.conf.default.rp_filter = 1\n"
           "net.ipv4.conf.nv1.arp_announce = 1\n")
    _write(sysctl / "30-late-glob.conf", "net.ipv4.conf.*.arp_announce = 2\n")
    # masking across directories needs files in /usr/lib or /run, which are the machine's:
    # the unit tests cover it (test_bootconf.py)

    for name, text in NETPLAN_GOOD.items():
        _write(etc / "netplan" / name, text.format(n=n, m=n + 128), 0o600)
    _write(etc / "netplan" / NETPLAN_BAD, "network: {ethernets: [\n", 0o600)

    keyfile = _nm_keyfile("nm0", f"198.19.{n}.3/24", f"02:00:c6:13:{tag}:02")
    _write(etc / "NetworkManager" / "system-connections" / "nm0.nmconnection", keyfile, 0o600)

    _write(etc / "network" / "interfaces", "source interfaces.d/*\nauto lo\niface lo inet loopback\n")
    _write(etc / "network" / "interfaces.d" / "if0", f"auto if0\niface if0 inet static\n"
           f"    address 198.19.{n}.4\n    netmask 255.255.255.0\n    mtu 1420\n")
    return lab, host, n, mac


def _boot(lab, host):
    facts, _result = facts_via_ansible(lab, host, "gather_subset=links,boot")
    return facts["boot"]


def test_prediction_then_real_networkd_reboot(host_etc):
    lab, host, n, mac = host_etc
    boot = _boot(lab, host)
    interfaces = boot["interfaces"]
    errors = {e["path"]: e["reason"] for e in boot["errors"]}
    d = "/etc/systemd/network"
    assert errors[d + "/70-binary.network"] == "binary file (contains NUL bytes)"
    assert errors[d + "/71-huge.network"].startswith("larger than")
    assert "loop" in errors[d + "/72-loop.network"]
    assert "leads out of its directory" in errors[d + "/73-out.network"]
    assert errors["/etc/netplan/80-bad.yaml"].startswith("invalid YAML")
    assert "duplicate key 'ethernets'" in errors["/etc/netplan/60-np.yaml"]

    predicted = {name: interfaces[name] for name in ("nb0", "nv0", "nv1", "nd0")}
    assert predicted["nd0"]["enabled"] is False  # networkd creates it and leaves it down
    assert {name: r["manager"] for name, r in predicted.items()} == dict.fromkeys(predicted, "networkd")
    assert predicted["nv1"]["sources"][-1] == d + "/30-nv1.network.d/50-mtu.conf"
    assert "eth0" not in interfaces  # no .network matches the lab's own link

    states = lab.reboot(host)
    links = {link["ifname"]: link for link in lab.ip_json(host, "-d", "addr", "show")}
    managed = [s for s in states["links"].values() if s.get("NETWORK_FILE")]
    assert sorted(s["ADMIN_STATE"] for s in managed) == ["configured"] * 3, states
    for name, record in predicted.items():
        link = links[name]
        assert link["mtu"] == record["mtu"], name
        assert link.get("master") == record["master"], name
        assert ("UP" in link["flags"]) == record["enabled"], name
        assert (link["linkinfo"]["info_kind"]) == record["kind"], name
        got = sorted("%s/%s" % (a["local"], a["prefixlen"]) for a in link.get("addr_info", [])
                     if a["family"] == "inet")
        assert got == sorted(record["addresses"]), name
    assert links["nv0"]["address"] == mac == predicted["nv0"]["mac"]
    assert predicted["nv1"]["mtu"] == 1400  # the drop-in, not the main file's 1500


def test_sysctl_prediction_matches_proc_after_reboot(host_etc):
    lab, host, _n, _mac = host_etc
    if "nv1" not in {link["ifname"] for link in lab.ip_json(host, "link", "show")}:
        lab.reboot(host)  # run alone: boot once so networkd's links exist for the globs
    sysctl = _boot(lab, host)["sysctl"]
    assert sysctl["net.ipv4.conf.default.rp_filter"] == {
        "value": 1, "file": "/etc/sysctl.d/20-b.conf", "line": 1}
    assert sysctl["net.ipv4.conf.nv0.accept_redirects"]["value"] == 1  # explicit beats the glob
    # ... even a glob in a later file (systemd-sysctl: explicit settings are never overridden)
    assert sysctl["net.ipv4.conf.nv1.arp_announce"]["value"] == 1
    assert sysctl["net.ipv4.conf.nv0.arp_announce"]["value"] == 2
    assert sysctl["net.ipv4.conf.nv1.accept_redirects"]["glob"] == "net.ipv4.conf.*.accept_redirects"
    checked = 0
    for key, record in sysctl.items():
        path = "/proc/sys/" + "/".join(part.replace("/", ".") for part in key.split("."))
        proc = lab.exec(host, ["cat", path], check=False)
        if proc.returncode != 0:
            continue
        assert proc.stdout.strip() == str(record["value"]), (key, record)
        checked += 1
    assert checked >= 8


def test_netplan_prediction_and_real_netplan_reboot(host_etc):
    lab, host, n, _mac = host_etc
    etc = lab.etc_dir(host) / "netplan"
    # with one unparsable file netplan generate fails as a whole: nothing of netplan applies
    interfaces = _boot(lab, host)["interfaces"]
    assert not any(r["manager"] == "netplan" for r in interfaces.values())
    states = lab.reboot(host, netplan=True)
    assert states["netplan"]["rc"] != 0 and NETPLAN_BAD in states["netplan"]["stderr"]
    assert "npbr0" not in {link["ifname"] for link in lab.ip_json(host, "link", "show")}

    (etc / NETPLAN_BAD).unlink()
    interfaces = _boot(lab, host)["interfaces"]
    # netplan generate --root-dir on the host's files: its networkd output is the truth for np0
    root = Path(tempfile.mkdtemp(prefix="netif-np-", dir=lab.workdir))
    try:
        shutil.copytree(etc, root / "etc" / "netplan")
        subprocess.run(["netplan", "generate", "--root-dir", str(root)], check=True,
                       capture_output=True, text=True)
        generated = (root / "run" / "systemd" / "network" / "10-netplan-np0.network").read_text()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    np0 = interfaces["np0"]
    assert np0["manager"] == "netplan" and np0["master"] == "npbr0"
    assert f"MTUBytes={np0['mtu']}" in generated and np0["mtu"] == 1400
    for cidr in np0["addresses"]:
        assert f"Address={cidr}" in generated
    assert f"Bridge={np0['master']}" in generated
    # npbr0 is created by networkd from netplan's output: the reboot shows it as predicted
    predicted = interfaces["npbr0"]
    states = lab.reboot(host, netplan=True)
    assert states["netplan"]["rc"] == 0, states["netplan"]
    link = {l["ifname"]: l for l in lab.ip_json(host, "-d", "addr", "show")}["npbr0"]
    assert link["linkinfo"]["info_kind"] == predicted["kind"] == "bridge"
    assert link["mtu"] == predicted["mtu"] == 1280
    assert sorted("%s/%s" % (a["local"], a["prefixlen"]) for a in link["addr_info"]
                  if a["family"] == "inet") == predicted["addresses"]


def test_networkmanager_and_ifupdown_predictions(host_etc):
    lab, host, n, _mac = host_etc
    interfaces = _boot(lab, host)["interfaces"]
    nm0 = interfaces["nm0"]
    assert (nm0["manager"], nm0["mtu"], nm0["addresses"], nm0["dhcp4"]) == (
        "NetworkManager", 1380, [f"198.19.{n}.3/24"], False)
    if0 = interfaces["if0"]
    assert (if0["manager"], if0["mtu"], if0["addresses"], if0["enabled"]) == (
        "ifupdown", 1420, [f"198.19.{n}.4/24"], True)
    assert if0["sources"] == ["/etc/network/interfaces.d/if0"]
    ifquery = _ifquery()
    if ifquery is None:
        pytest.skip("ifquery (ifupdown) is not available: the ifupdown files were checked "
                    "against the reader only")
    # ifupdown's own parser, inside the host (its /etc/network): what ifup would bring up
    auto = lab.exec(host, [ifquery, "-i", "/etc/network/interfaces", "-l"]).stdout.split()
    assert sorted(auto) == sorted(name for name, r in interfaces.items()
                                  if r["manager"] == "ifupdown" and r["enabled"])
    options = dict(line.split(": ", 1) for line in
                   lab.exec(host, [ifquery, "-i", "/etc/network/interfaces", "if0"]).stdout.splitlines())
    assert int(options["mtu"]) == if0["mtu"]
    prefix = ipaddress.ip_network("0.0.0.0/%s" % options["netmask"]).prefixlen
    assert [f"{options['address']}/{prefix}"] == if0["addresses"]


def test_target_without_pyyaml_gets_the_same_prediction(host_etc):
    """The target returns netplan texts; the action plugin parses them on the controller."""
    lab, host, _n, _mac = host_etc
    bad = lab.etc_dir(host) / "netplan" / NETPLAN_BAD
    if bad.exists():
        bad.unlink()
    venv = Path(lab.workdir) / "py-no-yaml"
    subprocess.run(["/usr/bin/python3", "-m", "venv", "--without-pip",
                    str(venv)], check=True)
    python = venv / "bin" / "python3"
    assert subprocess.run([str(python), "-c", "import yaml"], capture_output=True,
                          check=False).returncode != 0
    with_yaml = _boot(lab, host)
    rc, out, err = run_ansible(lab, host.name, "-m", "hostnet.netif.interface_facts",
                               "-a", "gather_subset=links,boot",
                               "-e", f"ansible_python_interpreter={python}")
    assert rc == 0, out[-3000:] + err[-3000:]
    without = json.loads(out.partition(" => ")[2])["ansible_facts"]["netif"]["boot"]
    assert "netplan_pending" not in without and "by_manager" not in without
    assert without["interfaces"]["np0"]["manager"] == "netplan"
    assert without == with_yaml


def test_offline_capture_of_the_boot_files_gives_the_live_prediction(host_etc, tmp_path):
    """running_config + boot_files: the controller reads captured files like the host's own."""
    lab, host, _n, _mac = host_etc
    live = _boot(lab, host)
    etc = lab.etc_dir(host)
    files = {}
    for path in sorted(etc.rglob("*")):
        if path.is_symlink() or not path.is_file() or path.stat().st_size > 65536:
            continue  # links and the huge file cannot travel as text; the rest can
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        if "\0" not in text:
            files["/etc/" + str(path.relative_to(etc))] = text
    (tmp_path / "capture.json").write_text(lab.exec(host, ["ip", "-json", "-d", "addr", "show"]).stdout)
    (tmp_path / "files.json").write_text(json.dumps(files))
    offline = run_offline_playbook(lab, """\
    - hostnet.netif.interface_facts:
        gather_subset: [links, boot]
        running_config: "{{ lookup('file', '%(dir)s/capture.json') }}"
        boot_files: "{{ lookup('file', '%(dir)s/files.json') | from_json }}"
""" % {"dir": tmp_path}, tmp_path)["boot"]
    assert offline["interfaces"] == live["interfaces"]
    explicit = {k: v for k, v in live["sysctl"].items() if "glob" not in v}
    assert {k: v for k, v in offline["sysctl"].items() if "glob" not in v} == explicit
