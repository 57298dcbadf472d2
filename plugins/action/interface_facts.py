# -*- coding: utf-8 -*-
# Copyright: hostnet.netif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller half of interface_facts.

Validates the request before anything reaches a host, and builds the document
offline (touching no host) when ``running_config`` is given.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.plugins.action import ActionBase

from ansible_collections.hostnet.netif.plugins.module_utils import reader
from ansible_collections.hostnet.netif.plugins.module_utils.errors import NetifError
from ansible_collections.hostnet.netif.plugins.modules.interface_facts import (
    ARGUMENT_SPEC,
    request_from_params,
)
from ansible_collections.hostnet.netif.plugins.plugin_utils.action_args import (
    validated_params,
    with_text_running_config,
)


class ActionModule(ActionBase):
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        self._task.args = with_text_running_config(self._task.args)
        params = validated_params(self, result, argument_spec=ARGUMENT_SPEC)
        if params is None:
            return result
        try:
            request = request_from_params(params)
        except ValueError as exc:
            result.update(failed=True, msg=str(exc))
            return result
        if params.get("running_config") is not None:
            try:
                document, warnings = reader.parse_running_config(params["running_config"], request)
            except NetifError as exc:
                result.update(failed=True, **exc.to_result())
                return result
            result.update(changed=False, ansible_facts={"netif": document})
            if warnings:
                result["warnings"] = warnings
            return result
        result.update(self._execute_module(module_name="hostnet.netif.interface_facts",
                                           module_args=self._task.args, task_vars=task_vars))
        return result
