# -*- coding: utf-8 -*-
"""Boot-state reader on hand-written files in a temporary root (no host state is read)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest
from netif_testlib import write_under as write

from ansible_collections.hostnet.netif.plugins.module_utils import bootconf, model, reader


def link(root, path, target):
    full = os.path.join(str(root), path.lstrip("/"))
    os.makedirs(os.path.dirname(full), exist_ok=True)
    os.symlink(target, full)


def boot(root, known=(), proc_root=None, yaml=True):
    files = bootconf.ConfFiles(str(root))
    document, warnings = bootconf.gather_boot(files, list(known), proc_root,
                                              bootconf.yaml_loader() if yaml else None)
    return document, warnings


def errors(document):
    return dict((e["path"], e["reason"]) for e in document["errors"])


# --------------------------------------------------------------------------- subsets
def test_boot_is_opt_in_not_part_of_all_or_defaults():
    assert "boot" not in model.resolve_subsets(["all"])
    assert "boot" not in model.resolve_subsets(None)
    assert "boot" in model.resolve_subsets(["all", "boot"])
    assert "boot" in reader.GatherRequest(gather_subset=["boot"]).subsets


# --------------------------------------------------------------------------- sysctl.d
def test_sysctl_masking_order_and_sysctl_conf_last(tmp_path):
    write(tmp_path, "/usr/lib/sysctl.d/50-default.conf", "net.ipv4.conf.all.rp_filter = 2\n")
    write(tmp_path, "/etc/sysctl.d/50-default.conf", "net.ipv4.conf.all.rp_filter = 1\n")
    write(tmp_path, "/usr/lib/sysctl.d/60-late.conf", "net.ipv4.ip_forward = 1\n")
    write(tmp_path, "/run/sysctl.d/10-early.conf", "net.ipv4.ip_forward = 0\nkernel.panic = 3\n")
    write(tmp_path, "/etc/sysctl.conf", "net.ipv4.tcp_syncookies=0\n")
    write(tmp_path, "/etc/sysctl.d/99-z.conf", "net.ipv4.tcp_syncookies=1\n")
    link(tmp_path, "/etc/sysctl.d/99-sysctl.conf", "../sysctl.conf")
    document, _w = boot(tmp_path)
    sysctl = document["sysctl"]
    # /etc masks the /usr/lib file of the same name: its 2 is never applied
    assert sysctl["net.ipv4.conf.all.rp_filter"] == {
        "value": 1, "file": "/etc/sysctl.d/50-default.conf", "line": 1}
    # lexical order of basenames across directories: 60-late (usr/lib) after 10-early (run)
    assert sysctl["net.ipv4.ip_forward"]["file"] == "/usr/lib/sysctl.d/60-late.conf"
    # /etc/sysctl.conf is read last (once, although Debian links it into sysctl.d)
    assert sysctl["net.ipv4.tcp_syncookies"] == {"value": 0, "file": "/etc/sysctl.conf", "line": 1}
    assert "kernel.panic" not in sysctl
    assert document["errors"] == []


def test_sysctl_dev_null_and_empty_file_mask(tmp_path):
    write(tmp_path, "/usr/lib/sysctl.d/50-a.conf", "net.ipv4.ip_forward = 1\n")
    write(tmp_path, "/usr/lib/sysctl.d/50-b.conf", "net.ipv4.tcp_syncookies = 0\n")
    link(tmp_path, "/etc/sysctl.d/50-a.conf", "/dev/null")
    write(tmp_path, "/run/sysctl.d/50-b.conf", "")
    document, _w = boot(tmp_path)
    assert document["sysctl"] == {}
    assert document["errors"] == []


def test_sysctl_dash_slash_and_globs(tmp_path):
    proc = tmp_path / "proc"
    for name in ("all", "default", "eth0", "eth1", "eth1.100"):
        write(proc, "/net/ipv4/conf/%s/rp_filter" % name, "0\n")
    write(tmp_path, "/etc/sysctl.d/10-glob.conf",
          "net.ipv4.conf.*.rp_filter = 2\n-net/ipv4/conf/eth1/rp_filter = 0\n; comment\n# c\n")
    write(tmp_path, "/etc/sysctl.d/20-glob.conf", "net.ipv4.conf.eth*.rp_filter = 1\n")
    document, _w = boot(tmp_path, proc_root=str(proc))
    sysctl = document["sysctl"]
    assert sysctl["net.ipv4.conf.all.rp_filter"]["value"] == 2
    assert sysctl["net.ipv4.conf.all.rp_filter"]["glob"] == "net.ipv4.conf.*.rp_filter"
    # the later glob wins for the names it matches ...
    assert sysctl["net.ipv4.conf.eth0.rp_filter"]["value"] == 1
    # a VLAN-style name keeps its dot as '/' (sysctl's spelling), so keys stay unambiguous
    assert sysctl["net.ipv4.conf.eth1/100.rp_filter"]["value"] == 1
    # ... but an explicit key beats every glob, wherever it comes; '/' keys are normalised
    assert sysctl["net.ipv4.conf.eth1.rp_filter"] == {
        "value": 0, "file": "/etc/sysctl.d/10-glob.conf", "line": 2, "ignore_failure": True}
    # offline (no /proc) the glob stays one entry
    offline, _w = boot(tmp_path)
    assert offline["sysctl"]["net.ipv4.conf.eth*.rp_filter"]["glob"] == "net.ipv4.conf.eth*.rp_filter"


def test_sysctl_bad_line_is_an_error_not_a_failure(tmp_path):
    write(tmp_path, "/etc/sysctl.d/10-bad.conf", "net.ipv4.ip_forward\nnet.ipv4.tcp_syncookies=1\n")
    document, _w = boot(tmp_path)
    assert "line 1: not an assignment" in errors(document)["/etc/sysctl.d/10-bad.conf"]
    assert document["sysctl"]["net.ipv4.tcp_syncookies"]["value"] == 1


# --------------------------------------------------------------------------- networkd
NETDEV = "[NetDev]\nName=br0\nKind=bridge\nMTUBytes=9000\n"


def test_networkd_masking_dropins_and_first_match(tmp_path):
    write(tmp_path, "/usr/lib/systemd/network/10-eth.network",
          "[Match]\nName=eth0\n[Network]\nAddress=198.18.1.1/24\n")
    write(tmp_path, "/etc/systemd/network/10-eth.network",
          "[Match]\nName=eth0\n[Link]\nMTUBytes=1400\n[Network]\nAddress=198.18.2.1/24\nDHCP=ipv6\n")
    write(tmp_path, "/usr/lib/systemd/network/10-eth.network.d/50-mtu.conf", "[Link]\nMTUBytes=1300\n")
    write(tmp_path, "/etc/systemd/network/10-eth.network.d/60-addr.conf",
          "[Network]\nAddress=\nAddress=198.18.3.1/24\n[Address]\nAddress=198.18.4.1/24\n"
          "[Address]\nAddress=198.18.5.1/24\n")
    write(tmp_path, "/etc/systemd/network/20-all.network", "[Match]\nName=eth* veth*\n[Network]\nBridge=br0\n")
    write(tmp_path, "/etc/systemd/network/br0.netdev", NETDEV)
    document, _w = boot(tmp_path, known=["eth0", "eth1", "lo"])
    interfaces = document["interfaces"]
    eth0 = interfaces["eth0"]
    assert eth0["manager"] == "networkd"
    assert eth0["mtu"] == 1300  # the drop-in beats the main file
    # Address= reset the list; each [Address] block adds one
    assert eth0["addresses"] == ["198.18.3.1/24", "198.18.4.1/24", "198.18.5.1/24"]
    assert (eth0["dhcp4"], eth0["dhcp6"]) == (False, True)
    assert eth0["sources"] == ["/etc/systemd/network/10-eth.network",
                               "/usr/lib/systemd/network/10-eth.network.d/50-mtu.conf",
                               "/etc/systemd/network/10-eth.network.d/60-addr.conf"]
    assert eth0["master"] is None  # 10-eth matched first; 20-all never applies to eth0
    assert interfaces["eth1"]["master"] == "br0"
    br0 = interfaces["br0"]
    assert (br0["kind"], br0["mtu"], br0["enabled"]) == ("bridge", 9000, False)  # no .network
    assert "lo" not in interfaces


def test_networkd_dev_null_mask_unevaluated_match_and_link(tmp_path):
    write(tmp_path, "/usr/lib/systemd/network/10-x.network", "[Match]\nName=eth0\n")
    link(tmp_path, "/etc/systemd/network/10-x.network", "/dev/null")
    write(tmp_path, "/etc/systemd/network/30-t.network", "[Match]\nName=eth1\nType=ether\n")
    write(tmp_path, "/etc/systemd/network/40-e.network",
          "[Match]\nName=eth2\n[Link]\nActivationPolicy=down\n")
    write(tmp_path, "/etc/systemd/network/10-e.link",
          "[Match]\nOriginalName=eth2\n[Link]\nMTUBytes=1280\nMACAddress=02:00:C6:12:00:02\n")
    document, _w = boot(tmp_path, known=["eth0", "eth1", "eth2"])
    assert sorted(document["interfaces"]) == ["eth2"]
    assert document["unevaluated"] == [{"path": "/etc/systemd/network/30-t.network", "match": ["Type"]}]
    eth2 = document["interfaces"]["eth2"]
    assert (eth2["mtu"], eth2["mac"], eth2["enabled"]) == (1280, "02:00:c6:12:00:02", False)


def test_networkd_negated_name_and_continuation(tmp_path):
    write(tmp_path, "/etc/systemd/network/10-n.network",
          "[Match]\nName=!eth0\n[Network]\nAddress=198.18.5.1/24 \\\n  \n")
    document, _w = boot(tmp_path, known=["eth0", "eth1"])
    assert sorted(document["interfaces"]) == ["eth1"]


# --------------------------------------------------------------------------- netplan
def test_netplan_merge_order_shadowing_and_masters(tmp_path):
    write(tmp_path, "/lib/netplan/00-base.yaml",
          "network:\n  version: 2\n  ethernets:\n    eth0:\n      addresses: [198.18.1.1/24]\n")
    write(tmp_path, "/etc/netplan/10-a.yaml",
          "network:\n  ethernets:\n    eth0:\n      mtu: 1400\n      addresses: [198.18.1.2/24]\n"
          "  bridges:\n    br0:\n      interfaces: [eth0]\n      dhcp4: true\n")
    write(tmp_path, "/etc/netplan/20-b.yaml", "network:\n  ethernets:\n    eth0:\n      mtu: 1500\n")
    write(tmp_path, "/run/netplan/20-b.yaml", "network:\n  ethernets:\n    eth0:\n      mtu: 9000\n")
    document, warnings = boot(tmp_path)
    eth0 = document["interfaces"]["eth0"]
    assert eth0["mtu"] == 9000  # /run shadows /etc for 20-b, and 20-b comes after 10-a
    assert eth0["addresses"] == ["198.18.1.1/24", "198.18.1.2/24"]  # sequences append
    assert eth0["master"] == "br0"
    assert eth0["sources"] == ["/lib/netplan/00-base.yaml", "/etc/netplan/10-a.yaml",
                               "/run/netplan/20-b.yaml"]
    assert document["interfaces"]["br0"]["dhcp4"] is True
    assert warnings == []


def test_netplan_without_target_yaml_is_finished_on_the_controller(tmp_path):
    write(tmp_path, "/etc/netplan/10-a.yaml", "network:\n  ethernets:\n    eth0:\n      dhcp4: yes\n")
    write(tmp_path, "/etc/systemd/network/10-eth1.network", "[Match]\nName=eth1\n")
    document, _w = boot(tmp_path, yaml=False)
    assert "interfaces" not in document
    assert document["netplan_pending"][0]["path"] == "/etc/netplan/10-a.yaml"
    bootconf.complete(document, bootconf.yaml_loader())
    assert sorted(document["interfaces"]) == ["eth0", "eth1"]
    assert document["interfaces"]["eth0"]["manager"] == "netplan"
    assert "netplan_pending" not in document and "by_manager" not in document


def test_netplan_duplicate_keys_merge_and_veth_warns(tmp_path):
    write(tmp_path, "/etc/netplan/20-dup.yaml",
          "network:\n  ethernets:\n    eth0: {mtu: 1, addresses: [198.18.1.1/24]}\n"
          "  ethernets:\n    eth0: {mtu: 2, addresses: [198.18.2.1/24]}\n    eth1: {mtu: 3}\n")
    write(tmp_path, "/etc/netplan/40-veth.yaml",
          "network:\n  virtual-ethernets:\n    va:\n      peer: vb\n    vb:\n      peer: va\n")
    document, warnings = boot(tmp_path)
    reasons = errors(document)
    # netplan 0.106 applies both occurrences (measured with netplan generate): so do we
    assert "duplicate key 'ethernets' at line 4" in reasons["/etc/netplan/20-dup.yaml"]
    assert sorted(document["interfaces"]) == ["eth0", "eth1", "va", "vb"]
    eth0 = document["interfaces"]["eth0"]
    assert (eth0["mtu"], eth0["addresses"]) == (2, ["198.18.1.1/24", "198.18.2.1/24"])
    assert any("virtual-ethernets" in w and "0.107" in w for w in warnings)


@pytest.mark.parametrize("bad, reason", [
    ("network: [unclosed\n", "invalid YAML"),
    ("- a\n", "not a YAML mapping"),
    ("network:\n  ethernets:\n    x: {mtu: abc}\n", "network.ethernets.x.mtu: invalid unsigned int"),
    ("network:\n  ethernets:\n    x: {addresses: 198.18.1.1/24}\n", "expected a sequence"),
    ("network:\n  ethernet:\n    x: {mtu: 1400}\n", "network: unknown key 'ethernet'"),
])
def test_one_bad_netplan_file_means_no_netplan_at_boot(tmp_path, bad, reason):
    write(tmp_path, "/etc/netplan/10-good.yaml", "network:\n  ethernets:\n    eth0: {mtu: 1400}\n")
    write(tmp_path, "/etc/netplan/90-bad.yaml", bad)
    write(tmp_path, "/etc/systemd/network/10-e.network", "[Match]\nName=eth1\n")
    document, warnings = boot(tmp_path)
    assert reason in errors(document)["/etc/netplan/90-bad.yaml"]
    # netplan generate fails as a whole (measured): the good file does not apply either
    assert sorted(document["interfaces"]) == ["eth1"]
    assert any("netplan generate fails on /etc/netplan/90-bad.yaml" in w for w in warnings)


# --------------------------------------------------------------------------- NetworkManager
KEYFILE = """[connection]
id=lan
type=ethernet
interface-name=eth3
autoconnect=true

[ethernet]
mtu=1450
cloned-mac-address=02:00:C6:12:00:03

[ipv4]
address1=198.18.6.1/24,198.18.6.254
address2=198.18.7.1/24
method=manual

[ipv6]
method=auto
"""


def test_networkmanager_keyfile_and_permissions(tmp_path):
    write(tmp_path, "/etc/NetworkManager/system-connections/lan.nmconnection", KEYFILE, 0o600)
    write(tmp_path, "/etc/NetworkManager/system-connections/open.nmconnection",
          KEYFILE.replace("eth3", "eth4"), 0o644)
    write(tmp_path, "/etc/NetworkManager/system-connections/dup.nmconnection",
          "[connection]\ntype=ethernet\ntype=bridge\n[ipv4]\nmethod=auto\n[connection]\n"
          "interface-name=eth5\n", 0o600)
    write(tmp_path, "/etc/NetworkManager/system-connections/junk.nmconnection",
          "[connection]\ninterface-name=eth6\njunk line\n", 0o600)
    write(tmp_path, "/etc/NetworkManager/system-connections/lan.nmconnection~", KEYFILE, 0o600)
    document, warnings = boot(tmp_path)
    eth3 = document["interfaces"]["eth3"]
    assert eth3["manager"] == "NetworkManager"
    assert (eth3["kind"], eth3["mtu"], eth3["mac"]) == ("ethernet", 1450, "02:00:c6:12:00:03")
    assert eth3["addresses"] == ["198.18.6.1/24", "198.18.7.1/24"]
    assert (eth3["dhcp4"], eth3["dhcp6"], eth3["ipv4_method"]) == (False, True, "manual")
    assert "eth4" not in document["interfaces"]
    assert any("open.nmconnection" in w and "0644" in w for w in warnings)
    # GLib (measured): the last value of a repeated key, repeated groups merged
    assert document["interfaces"]["eth5"]["kind"] == "bridge"
    reasons = [e["reason"] for e in document["errors"] if e["path"].endswith("dup.nmconnection")]
    assert len(reasons) == 2 and "key type appears twice" in reasons[0]
    assert "eth6" not in document["interfaces"]
    assert "NetworkManager ignores the file" in errors(document)[
        "/etc/NetworkManager/system-connections/junk.nmconnection"]


# --------------------------------------------------------------------------- ifupdown
def test_ifupdown_source_and_source_directory(tmp_path):
    write(tmp_path, "/etc/network/interfaces",
          "auto lo\niface lo inet loopback\nsource interfaces.d/*.cfg\nsource-directory more\n"
          "auto br0\niface br0 inet static\n    address 198.18.8.1\n    netmask 255.255.255.0\n"
          "    bridge_ports eth6\n    mtu 1400\n")
    write(tmp_path, "/etc/network/interfaces.d/a.cfg", "allow-hotplug eth6\niface eth6 inet manual\n")
    write(tmp_path, "/etc/network/more/b", "iface eth7 inet dhcp\niface eth7 inet6 auto\n")
    write(tmp_path, "/etc/network/more/skipped.cfg", "iface eth8 inet dhcp\n")  # not run-parts name
    document, _w = boot(tmp_path)
    interfaces = document["interfaces"]
    assert sorted(interfaces) == ["br0", "eth6", "eth7", "lo"]
    br0 = interfaces["br0"]
    assert (br0["kind"], br0["mtu"], br0["addresses"]) == ("bridge", 1400, ["198.18.8.1/24"])
    assert interfaces["eth6"]["master"] == "br0"
    assert interfaces["eth6"]["sources"] == ["/etc/network/interfaces.d/a.cfg"]
    assert (interfaces["eth7"]["dhcp4"], interfaces["eth7"]["dhcp6"], interfaces["eth7"]["enabled"]) \
        == (True, True, False)


def test_two_managers_for_one_interface(tmp_path):
    write(tmp_path, "/etc/systemd/network/10-e.network", "[Match]\nName=eth0\n")
    write(tmp_path, "/etc/network/interfaces", "auto eth0\niface eth0 inet dhcp\n")
    document, _w = boot(tmp_path)
    assert document["interfaces"]["eth0"]["manager"] == "networkd"
    assert document["interfaces"]["eth0"]["also_configured_by"] == ["ifupdown"]


# --------------------------------------------------------------------------- hostile files
def test_hostile_files_are_errors_never_failures(tmp_path):
    d = "/etc/systemd/network"
    with open(write(tmp_path, d + "/10-binary.network", ""), "wb") as handle:
        handle.write(b"[Match]\nName=eth0\x00\x01\n")
    with open(write(tmp_path, d + "/11-huge.network", ""), "wb") as handle:
        handle.write(b"#" * (bootconf.MAX_FILE_BYTES + 1))
    with open(write(tmp_path, d + "/12-latin1.network", ""), "wb") as handle:
        handle.write(b"[Match]\nName=\xe9th0\n")
    link(tmp_path, d + "/13-loop.network", "13-loop.network")
    link(tmp_path, d + "/14-out.network", "/etc/passwd")
    link(tmp_path, d + "/15-dotdot.network", "../../shadow.network")
    write(tmp_path, "/etc/shadow.network", "[Match]\nName=eth9\n")
    os.mkfifo(os.path.join(str(tmp_path), "etc/systemd/network/16-fifo.network"))
    write(tmp_path, d + "/20-good.network", "[Match]\nName=eth1\n")
    document, _w = boot(tmp_path, known=["eth1"])
    reasons = errors(document)
    assert reasons[d + "/10-binary.network"] == "binary file (contains NUL bytes)"
    assert reasons[d + "/11-huge.network"].startswith("larger than")
    assert reasons[d + "/12-latin1.network"].startswith("not UTF-8 text")
    assert "loop" in reasons[d + "/13-loop.network"] or "leads out" in reasons[d + "/13-loop.network"]
    assert "leads out of its directory" in reasons[d + "/14-out.network"]
    assert "leads out of its directory" in reasons[d + "/15-dotdot.network"]
    assert reasons[d + "/16-fifo.network"] == "not a regular file"
    assert sorted(document["interfaces"]) == ["eth1"]


def test_symlink_inside_directory_is_followed(tmp_path):
    write(tmp_path, "/etc/sysctl.d/real.conf.txt", "net.ipv4.ip_forward=1\n")
    link(tmp_path, "/etc/sysctl.d/10-l.conf", "real.conf.txt")
    document, _w = boot(tmp_path)
    assert document["sysctl"]["net.ipv4.ip_forward"]["file"] == "/etc/sysctl.d/10-l.conf"


def test_first_match_mixes_exact_names_and_globs_in_file_order(tmp_path):
    write(tmp_path, "/etc/systemd/network/10-glob.network", "[Match]\nName=a*\n[Link]\nMTUBytes=1001\n")
    write(tmp_path, "/etc/systemd/network/20-exact.network", "[Match]\nName=a1 b1\n[Link]\nMTUBytes=1002\n")
    write(tmp_path, "/etc/systemd/network/30-glob.network", "[Match]\nName=b*\n[Link]\nMTUBytes=1003\n")
    write(tmp_path, "/etc/systemd/network/40-exact.network", "[Match]\nName=b2\n[Link]\nMTUBytes=1004\n")
    document, _w = boot(tmp_path, known=["a1", "b1", "b2"])
    mtus = dict((n, r["mtu"]) for n, r in document["interfaces"].items())
    assert mtus == {"a1": 1001, "b1": 1002, "b2": 1003}


def test_an_unreadable_file_still_masks_the_vendor_file_of_its_name(tmp_path):
    write(tmp_path, "/usr/lib/systemd/network/10-e.network", "[Match]\nName=eth0\n")
    link(tmp_path, "/etc/systemd/network/10-e.network", "/srv/elsewhere.network")
    document, _w = boot(tmp_path, known=["eth0"])
    assert "leads out" in errors(document)["/etc/systemd/network/10-e.network"]
    assert document["interfaces"] == {}  # systemd would use the /etc entry, never the vendor one


def test_a_directory_where_a_file_belongs_is_an_error(tmp_path):
    os.makedirs(os.path.join(str(tmp_path), "etc/network/interfaces"))
    document, _w = boot(tmp_path)
    assert errors(document) == {"/etc/network/interfaces": "a directory, not a file"}


def test_link_files_matched_by_more_than_the_name_are_unevaluated(tmp_path):
    write(tmp_path, "/etc/systemd/network/10-e.network", "[Match]\nName=eth0\n")
    write(tmp_path, "/etc/systemd/network/10-drv.link",
          "[Match]\nOriginalName=eth0\nDriver=virtio_net\n[Link]\nMTUBytes=9000\n")
    write(tmp_path, "/etc/systemd/network/20-udev.link", "[Match]\nType=ether\n[Link]\nMTUBytes=8000\n")
    write(tmp_path, "/etc/systemd/network/30-name.link", "[Match]\nOriginalName=eth*\n[Link]\nMTUBytes=7000\n")
    document, _w = boot(tmp_path, known=["eth0"])
    assert document["interfaces"]["eth0"]["mtu"] == 7000
    assert document["unevaluated"] == [{"path": "/etc/systemd/network/10-drv.link", "match": ["Driver"]}]
