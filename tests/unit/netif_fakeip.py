# -*- coding: utf-8 -*-
# Copyright: hostnet.netif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A fake ``ip`` for unit tests of the setters: an in-memory kernel.

It answers ``ip -json -d addr show``, ``ip -json route get`` and
``ip -batch -`` (tokenised the way iproute2's getcmdline/makeargs do: ``#``
starts a comment, a word starting with a quote runs to the same quote, no
escapes), applies ``link``/``address`` commands to its links, refuses what
the kernel refuses (a macvlan/vlan MTU above its lower device's, unknown
devices, duplicate names) and can be told to refuse a line (``fail_on``).
"""

import copy
import json

from ansible_collections.hostnet.netif.plugins.module_utils import reader


class KernelRefusal(Exception):
    pass


class NoSysfs(reader.HostFiles):
    """sysfs/procfs of the fake host: no driver, speed or sysctl details."""

    def link_details(self, name, kind):
        return None, None, None, False


def makeargs(line):
    """iproute2 lib/utils.c makeargs() (after getcmdline() cut the comment)."""
    line = line.split("#", 1)[0]
    words, i, n = [], 0, len(line)
    while i < n:
        while i < n and line[i] in " \t\r\n":
            i += 1
        if i >= n:
            break
        if line[i] in "\"'":
            quote = line[i]
            end = line.find(quote, i + 1)
            if end < 0:
                raise ValueError("Unterminated quoted string")
            words.append(line[i + 1:end])
            i = end + 1
        else:
            start = i
            while i < n and line[i] not in " \t\r\n":
                i += 1
            words.append(line[start:i])
    return words


class FakeIp:
    IP = "/sbin/ip"

    def __init__(self, links=(), routes=None):
        self.links = {}
        self.next_index = 1
        for link in links:
            self._insert(copy.deepcopy(link))
        self.routes = routes or {}
        self.fail_on = {}          # substring of a batch line -> kernel message
        self.calls = []            # every argv run
        self.batches = []          # every batch text
        self.fail_dump_after = None

    # -- building ----------------------------------------------------------------
    def _insert(self, link):
        link.setdefault("ifindex", self.next_index)
        self.next_index = max(self.next_index, link["ifindex"]) + 1
        self.links[link["ifname"]] = link

    @staticmethod
    def make_link(name, kind=None, mtu=1500, up=False, mac=None, master=None, parent=None,
                  info_data=None, addresses=(), flags=None, txqlen=1000, min_mtu=68,
                  max_mtu=65535, permaddr=None, link_type="ether"):
        link = {
            "ifname": name,
            "flags": list(flags) if flags is not None else
            (["BROADCAST", "MULTICAST"] + (["UP", "LOWER_UP"] if up else [])),
            "mtu": mtu, "min_mtu": min_mtu, "max_mtu": max_mtu, "txqlen": txqlen,
            "operstate": "UP" if up else "DOWN", "group": "default",
            "link_type": link_type, "address": mac or "02:00:00:00:%02x:%02x" % (
                len(name), sum(bytearray(name.encode())) % 256),
            "broadcast": "ff:ff:ff:ff:ff:ff", "addr_info": list(addresses),
        }
        if permaddr:
            link["permaddr"] = permaddr
        if master:
            link["master"] = master
        if parent:
            link["link"] = parent
        if kind:
            link["linkinfo"] = {"info_kind": kind, "info_data": info_data or {}}
        return link

    # -- the ip command ----------------------------------------------------------
    def run(self, argv, data=None):
        self.calls.append(list(argv))
        args = list(argv[1:])
        if args == ["-json", "-d", "addr", "show"]:
            if self.fail_dump_after is not None:
                if self.fail_dump_after <= 0:
                    return 1, "", "Cannot send dump request: Connection refused"
                self.fail_dump_after -= 1
            return 0, json.dumps(list(self.links.values())), ""
        if args[:3] == ["-json", "route", "get"]:
            route = self.routes.get(args[3])
            if route is None:
                return 2, "", "RTNETLINK answers: Network is unreachable"
            return 0, json.dumps([route]), ""
        if args[:2] == ["-json", "-4"] or args[:2] == ["-json", "-6"]:
            return 0, "[]", ""
        if args == ["-batch", "-"]:
            self.batches.append(data)
            for number, line in enumerate(data.split("\n"), 1):
                try:
                    words = makeargs(line)
                except ValueError as exc:
                    return 1, "", "%s\n" % exc
                if not words:
                    continue
                for needle, message in self.fail_on.items():
                    if needle in line:
                        return 1, "", "%s\nCommand failed -:%d\n" % (message, number)
                try:
                    self.apply(words)
                except KernelRefusal as exc:
                    return 1, "", "%s\nCommand failed -:%d\n" % (exc, number)
            return 0, "", ""
        return 1, "", "fake ip: unsupported %r" % (argv,)

    def _get(self, name):
        if name not in self.links:
            raise KernelRefusal('Cannot find device "%s"' % name)
        return self.links[name]

    def apply(self, words):
        obj, verb, rest = words[0], words[1], words[2:]
        if obj == "link" and verb == "add":
            self._add(rest)
        elif obj == "link" and verb == "delete":
            self._delete(rest[1])
        elif obj == "link" and verb == "set":
            self._set(self._get(rest[1]), rest[2:])
        elif obj == "address":
            self._address(verb, rest)
        else:
            raise KernelRefusal('Object "%s" is unknown' % obj)

    def _add(self, rest):
        opts = {}
        i = 0
        while i < len(rest):
            key = rest[i]
            if key == "peer":
                opts["peer"] = rest[i + 2]
                i += 3
                continue
            opts[key] = rest[i + 1]
            i += 2
        name, kind = opts["name"], opts["type"]
        if name in self.links:
            raise KernelRefusal("RTNETLINK answers: File exists")
        if kind in ("vlan", "bond", "dummy") and getattr(self, "refuse_" + kind, False):
            raise KernelRefusal("Error: Unknown device type.")
        parent = opts.get("link")
        if parent:
            self._get(parent)
        data = {}
        if kind == "vlan":
            data = {"protocol": "802.1Q", "id": int(opts["id"])}
        elif kind == "macvlan":
            data = {"mode": opts.get("mode", "vepa")}
        elif kind == "bond":
            data = {"mode": opts.get("mode", "balance-rr")}
        elif kind == "vxlan":
            data = {"id": int(opts["id"]), "port": int(opts.get("dstport", 8472))}
            for key in ("local", "remote", "group"):
                if key in opts:
                    data[key] = opts[key]
            if "dev" in opts:
                data["link"] = opts["dev"]
        mtu = self.links[parent]["mtu"] if parent else 1500
        link = self.make_link(name, kind, mtu=mtu, parent=parent if kind != "veth" else
                              opts.get("peer"), info_data=data)
        self._insert(link)
        if kind == "veth":
            self._insert(self.make_link(opts["peer"], "veth", parent=name))

    def _delete(self, name):
        link = self._get(name)
        doomed = [name]
        if (link.get("linkinfo") or {}).get("info_kind") == "veth" and link.get("link"):
            doomed.append(link["link"])
        for other, facts in list(self.links.items()):
            kind = (facts.get("linkinfo") or {}).get("info_kind")
            if facts.get("link") == name and kind in ("vlan", "macvlan"):
                doomed.append(other)
            if facts.get("master") == name:
                facts.pop("master")
        for item in doomed:
            self.links.pop(item, None)

    def _flag(self, link, flag, on):
        flags = [f for f in link["flags"] if f != flag]
        if on:
            flags.append(flag)
        link["flags"] = flags

    def _set(self, link, rest):
        i = 0
        while i < len(rest):
            key = rest[i]
            if key in ("up", "down"):
                self._flag(link, "UP", key == "up")
                self._flag(link, "LOWER_UP", key == "up")
                link["operstate"] = "UP" if key == "up" else "DOWN"
                i += 1
                continue
            if key == "nomaster":
                link.pop("master", None)
                i += 1
                continue
            value = rest[i + 1]
            i += 2
            if key == "mtu":
                mtu = int(value)
                kind = (link.get("linkinfo") or {}).get("info_kind")
                parent = link.get("link") if kind in ("macvlan", "vlan") else None
                if parent and mtu > self.links[parent]["mtu"]:
                    raise KernelRefusal("RTNETLINK answers: Invalid argument")
                if not link.get("min_mtu", 0) <= mtu <= (link.get("max_mtu") or 1 << 30):
                    raise KernelRefusal("Error: mtu greater than device maximum.")
                link["mtu"] = mtu
            elif key == "address":
                link["address"] = value
            elif key == "alias":
                if value:
                    link["ifalias"] = value
                else:
                    link.pop("ifalias", None)
            elif key == "master":
                self._get(value)
                link["master"] = value
            elif key == "txqueuelen":
                link["txqlen"] = int(value)
            elif key == "group":
                link["group"] = "default" if value == "0" else value  # ip -json prints a string
            elif key in ("promisc", "allmulticast", "multicast"):
                flag = {"promisc": "PROMISC", "allmulticast": "ALLMULTI",
                        "multicast": "MULTICAST"}[key]
                self._flag(link, flag, value == "on")
            elif key == "arp":
                self._flag(link, "NOARP", value == "off")
            else:
                raise KernelRefusal('Error: either "dev" is duplicate, or "%s" is a garbage.' % key)

    def _address(self, verb, rest):
        cidr = rest[0]
        dev = rest[rest.index("dev") + 1]
        link = self._get(dev)
        address, prefix = cidr.split("/")
        family = "inet6" if ":" in address else "inet"
        infos = link["addr_info"]
        match = [a for a in infos if a["local"] == address and a["prefixlen"] == int(prefix)]
        if verb == "add":
            if match:
                raise KernelRefusal("RTNETLINK answers: File exists")
            info = {"family": family, "local": address, "prefixlen": int(prefix)}
            if "broadcast" in rest:
                info["broadcast"] = rest[rest.index("broadcast") + 1]
            info.update({"scope": "global", "valid_life_time": 4294967295,
                         "preferred_life_time": 4294967295})
            infos.append(info)
        else:
            if not match:
                raise KernelRefusal("RTNETLINK answers: Cannot assign requested address")
            infos.remove(match[0])

    def snapshot(self):
        return copy.deepcopy(self.links)
