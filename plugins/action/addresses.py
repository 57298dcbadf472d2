# -*- coding: utf-8 -*-
# Copyright: hostnet.netif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller half of hostnet.netif.addresses.

Validates the task against ``addresses.schema.json`` and the module's
argspec, normalises every address with netaddr (dotted netmasks become
prefix lengths, IPv6 becomes RFC 5952 text, ``broadcast: +`` becomes the
subnet's broadcast address), turns CIDR strings into dicts, rejects an
address listed twice in one item (also when spelled differently) and
duplicate interface names, and runs ``rendered``/``parsed`` without
contacting the host.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.hostnet.netif.plugins.module_utils import model
from ansible_collections.hostnet.netif.plugins.module_utils.addresses import AddressesResource
from ansible_collections.hostnet.netif.plugins.modules.addresses import (
    ARGUMENT_SPEC,
    REQUIRED_IF,
)
from ansible_collections.hostnet.netif.plugins.plugin_utils import normalize
from ansible_collections.hostnet.netif.plugins.plugin_utils.resource_action import (
    ResourceActionBase,
)

try:
    import netaddr
except ImportError:  # normalize reports the missing library
    netaddr = None


def _family(cidr):
    return 6 if ":" in cidr.split("/")[0] else 4


def normalize_entry(raw, name, path):
    """One address entry (string or dict) -> dict with canonical ``address`` text.

    Returns (entry, identity); identity is what the kernel keys the address
    by: (4, address, prefixlen) or (6, address).
    """
    # a string entry is its address: errors name the entry (the schema does the same)
    address_path = path if isinstance(raw, str) else path + ".address"
    entry = {"address": raw} if isinstance(raw, str) else dict(raw)
    text = entry.get("address")
    prefixlen = entry.pop("prefixlen", None)
    if isinstance(text, str) and "/" not in text:
        if prefixlen is None:
            raise normalize.NormalizeError(address_path, "%r has no prefix length; write it "
                                           "as address/prefixlen or give prefixlen" % (text,))
        text = "%s/%d" % (text, prefixlen)
    cidr = normalize.interface_cidr(text, address_path)
    version = _family(cidr)
    if prefixlen is not None and prefixlen != int(cidr.split("/")[1]):
        raise normalize.NormalizeError(path + ".prefixlen", "%d disagrees with the prefix of %s"
                                       % (prefixlen, entry["address"]))
    entry["address"] = cidr
    network = netaddr.IPNetwork(cidr)
    for field in ("broadcast", "label", "scope"):
        if entry.get(field) is not None and version == 6:
            raise normalize.NormalizeError("%s.%s" % (path, field), {
                "broadcast": "IPv6 has no broadcast address",
                "label": "labels exist for IPv4 addresses only",
                "scope": "the kernel derives the scope of an IPv6 address from the address; "
                         "scope is for IPv4"}[field])
    if entry.get("nodad") and version == 4:
        raise normalize.NormalizeError(path + ".nodad", "duplicate address detection exists "
                                                        "for IPv6 only")
    if entry.get("broadcast") == "+":
        if network.prefixlen >= 31:
            raise normalize.NormalizeError(path + ".broadcast", "a /%d has no broadcast address"
                                           % network.prefixlen)
        entry["broadcast"] = str(network.broadcast)
    elif entry.get("broadcast") is not None:
        entry["broadcast"] = normalize.ip_address(entry["broadcast"], path + ".broadcast")
    if entry.get("peer") is not None:
        entry["peer"] = normalize.ip_address(entry["peer"], path + ".peer")
        if _family(entry["peer"]) != version:
            raise normalize.NormalizeError(path + ".peer", "%s is not IPv%d like the address"
                                           % (entry["peer"], version))
    label = entry.get("label")
    if label is not None and label != name and not label.startswith(name + ":"):
        raise normalize.NormalizeError(path + ".label", "%r must be %s or start with %s: "
                                                        "(the kernel's rule)" % (label, name, name))
    valid, preferred = entry.get("valid_lft"), entry.get("preferred_lft")
    if valid is not None and valid != "forever" and preferred is None:
        entry["preferred_lft"] = preferred = valid
    if valid not in (None, "forever") and (preferred == "forever" or preferred > valid):
        raise normalize.NormalizeError(path + ".preferred_lft", "must not exceed valid_lft (%s), "
                                                                "found %s" % (valid, preferred))
    entry = dict((k, v) for k, v in entry.items() if v is not None)
    identity = (4, int(network.ip), network.prefixlen) if version == 4 else (6, int(network.ip))
    return entry, identity


class ActionModule(ResourceActionBase):
    MODULE = "hostnet.netif.addresses"
    SCHEMA = "addresses"
    ARGUMENT_SPEC = ARGUMENT_SPEC
    REQUIRED_IF = REQUIRED_IF
    resource = staticmethod(AddressesResource)

    def normalize_item(self, item, path):
        name = item.get("name")
        problem = model.interface_name_error(name)
        if problem:
            raise normalize.NormalizeError(path + ".name", problem)
        if item.get("addresses") is None:
            return item
        entries, seen = [], {}
        for index, raw in enumerate(item["addresses"]):
            where = "%s.addresses[%d]" % (path, index)
            entry, identity = normalize_entry(raw, name, where)
            if identity in seen:
                raise normalize.NormalizeError(where, "%s is the same address as %s (%s)" % (
                    entry["address"], seen[identity][0], seen[identity][1]))
            seen[identity] = (entry["address"], "addresses[%d]" % index)
            entries.append(entry)
        item["addresses"] = entries
        return item
