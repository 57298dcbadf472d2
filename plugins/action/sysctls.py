# -*- coding: utf-8 -*-
# Copyright: hostnet.netif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller half of hostnet.netif.sysctls.

Validates the task against ``sysctls.schema.json`` (allow-listed keys, each
with its value range; the persist file name) and the module's argspec,
checks interface names (``all`` and ``default`` are the two special names),
rejects duplicate names, and runs ``rendered``/``parsed`` (on ``sysctl -a``
text) without contacting the host.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.hostnet.netif.plugins.module_utils import model
from ansible_collections.hostnet.netif.plugins.module_utils.sysctls import (
    SPECIAL,
    SysctlsResource,
    file_name_error,
)
from ansible_collections.hostnet.netif.plugins.modules.sysctls import (
    ARGUMENT_SPEC,
    REQUIRED_IF,
)
from ansible_collections.hostnet.netif.plugins.plugin_utils import normalize
from ansible_collections.hostnet.netif.plugins.plugin_utils.problems import from_message
from ansible_collections.hostnet.netif.plugins.plugin_utils.resource_action import (
    InputProblems,
    ResourceActionBase,
)


class ActionModule(ResourceActionBase):
    MODULE = "hostnet.netif.sysctls"
    SCHEMA = "sysctls"
    ARGUMENT_SPEC = ARGUMENT_SPEC
    REQUIRED_IF = REQUIRED_IF
    resource = staticmethod(SysctlsResource)

    def prepare(self, args):
        prepared = super(ActionModule, self).prepare(args)
        name = prepared.get("persist_file")
        if name is not None:
            problem = file_name_error(name)
            if problem:  # the schema says the same; this is the module's own rule, kept in step
                raise InputProblems([from_message("persist_file", problem, name)])
        return prepared

    def normalize_item(self, item, path):
        name = item.get("name")
        if name not in SPECIAL:
            problem = model.interface_name_error(name)
            if problem:
                raise normalize.NormalizeError(path + ".name", problem)
        return item
