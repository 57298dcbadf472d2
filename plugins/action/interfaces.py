# -*- coding: utf-8 -*-
# Copyright: hostnet.netif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller half of hostnet.netif.interfaces.

Validates the task against ``interfaces.schema.json`` and the module's
argspec, normalises MACs and VXLAN addresses with netaddr, rejects duplicate
names, and runs ``rendered``/``parsed`` without contacting the host.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

try:
    import netaddr
except ImportError:  # normalize.ip_address() reports the missing library first
    netaddr = None

from ansible_collections.hostnet.netif.plugins.module_utils import model, planner
from ansible_collections.hostnet.netif.plugins.module_utils.errors import InputError
from ansible_collections.hostnet.netif.plugins.module_utils.interfaces import InterfacesResource
from ansible_collections.hostnet.netif.plugins.modules.interfaces import (
    ARGUMENT_SPEC,
    REQUIRED_IF,
)
from ansible_collections.hostnet.netif.plugins.plugin_utils import normalize
from ansible_collections.hostnet.netif.plugins.plugin_utils.resource_action import (
    ResourceActionBase,
)


class ActionModule(ResourceActionBase):
    MODULE = "hostnet.netif.interfaces"
    SCHEMA = "interfaces"
    ARGUMENT_SPEC = ARGUMENT_SPEC
    REQUIRED_IF = REQUIRED_IF
    CLEARABLE = ("alias", "master")
    resource = staticmethod(InterfacesResource)

    def normalize_item(self, item, path):
        for field in ("name", "peer", "parent", "master"):
            value = item.get(field)
            if isinstance(value, str) and value:
                problem = model.interface_name_error(value)
                if problem:
                    raise normalize.NormalizeError("%s.%s" % (path, field), "interface name %r %s"
                                                   % (value, problem))
        if isinstance(item.get("alias"), str):
            try:
                planner.quote_alias(item["alias"], path + ".alias")
            except InputError as exc:
                raise normalize.NormalizeError(exc.path, str(exc)[len(exc.path) + 2:])
        if item.get("mac") is not None:
            item["mac"] = normalize.mac(item["mac"], path + ".mac")
        for field in ("local", "remote"):
            if item.get(field) is not None:
                item[field] = normalize.ip_address(item[field], "%s.%s" % (path, field))
        if item.get("local") is not None and netaddr.IPAddress(item["local"]).is_multicast():
            raise normalize.NormalizeError(path + ".local", "%s is a multicast address; local "
                                                            "must be unicast" % item["local"])
        return item
