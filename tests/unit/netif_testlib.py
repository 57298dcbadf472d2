# -*- coding: utf-8 -*-
# Copyright: hostnet.netif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helpers shared by the unit tests: fixture loading and a fake sysfs/procfs host.

Nothing here computes an expected value; tests derive those themselves.
"""

import glob
import json
import os

from ansible_collections.hostnet.netif.plugins.module_utils import reader

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")

CAPTURED = "captured_addr.json"
CAPTURED_STATS = "captured_addr_stats.json"
ROUTE4 = "captured_route4_default.json"
ROUTE6 = "captured_route6_default.json"
HANDWRITTEN = tuple(sorted(os.path.basename(p)
                           for p in glob.glob(os.path.join(FIXTURES, "handwritten_*.json"))))
ADDR_FIXTURES = (CAPTURED, CAPTURED_STATS) + HANDWRITTEN


def fixture_text(name):
    with open(os.path.join(FIXTURES, name), encoding="utf-8") as handle:
        return handle.read()


def fixture_json(name):
    return json.loads(fixture_text(name))


def manifest():
    return fixture_json("captured_manifest.json")


def roles():
    """Role -> interface name of the current capture (names carry a random prefix)."""
    return manifest()["roles"]


def raw_link(fixture, name):
    for link in fixture_json(fixture):
        if link["ifname"] == name:
            return link
    raise KeyError("%s has no interface %s" % (fixture, name))


def raw_address(fixture, name, local):
    for info in raw_link(fixture, name)["addr_info"]:
        if info["local"] == local:
            return info
    raise KeyError("%s/%s has no address %s" % (fixture, name, local))


def request(**kwargs):
    return reader.GatherRequest(**kwargs)


def offline_document(fixture, routes=False, **kwargs):
    """Facts document from a fixture with no host access (files=None)."""
    kwargs.setdefault("gather_subset", ["all"])
    v4 = fixture_json(ROUTE4) if routes else []
    v6 = fixture_json(ROUTE6) if routes else []
    document, warnings = reader.build_document(fixture_json(fixture), request(**kwargs), v4, v6, None)
    return document, warnings


def write_file(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)


def write_under(root, path, text, mode=0o644):
    """Write the host file ``path`` (``/etc/...``) below a test root; returns the real path."""
    target = os.path.join(str(root), path.lstrip("/"))
    write_file(target, text)
    os.chmod(target, mode)
    return target


class FakeHost:
    """A sysfs (``/sys/class/net``) and procfs (``/proc/sys/net``) tree below ``root``."""

    def __init__(self, root):
        self.sysfs = os.path.join(str(root), "sys", "class", "net")
        self.procfs = os.path.join(str(root), "proc", "sys", "net")
        os.makedirs(self.sysfs, exist_ok=True)
        os.makedirs(self.procfs, exist_ok=True)

    def add_interface(self, name, wireless=False, phy80211=False, driver=None, speed=None,
                      duplex=None):
        base = os.path.join(self.sysfs, name)
        os.makedirs(base, exist_ok=True)
        if wireless:
            os.makedirs(os.path.join(base, "wireless"), exist_ok=True)
        if phy80211:
            target = os.path.join(os.path.dirname(self.sysfs), "ieee80211", "phy0")
            os.makedirs(target, exist_ok=True)
            os.symlink(target, os.path.join(base, "phy80211"))
        if driver:
            driver_dir = os.path.join(os.path.dirname(self.sysfs), "drivers", driver)
            os.makedirs(driver_dir, exist_ok=True)
            os.makedirs(os.path.join(base, "device"), exist_ok=True)
            os.symlink(driver_dir, os.path.join(base, "device", "driver"))
        if speed is not None:
            write_file(os.path.join(base, "speed"), "%s\n" % speed)
        if duplex is not None:
            write_file(os.path.join(base, "duplex"), "%s\n" % duplex)
        return base

    def set_conf(self, family, name, key, value):
        path = os.path.join(self.procfs, family, "conf", name, key)
        write_file(path, "%s\n" % value)
        return path

    def set_host(self, dotted, value):
        parts = dotted.split(".")
        assert parts[0] == "net"
        path = os.path.join(self.procfs, *parts[1:])
        write_file(path, "%s\n" % value)
        return path

    def files(self):
        return reader.HostFiles(sysfs=self.sysfs, procfs=self.procfs)
