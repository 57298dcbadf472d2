# -*- coding: utf-8 -*-
# Copyright: hostnet.netif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller half of hostnet.netif.confirm: reset the connection, confirm over a new one."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible.plugins.action import ActionBase

from ansible_collections.hostnet.netif.plugins.modules.confirm import ARGUMENT_SPEC
from ansible_collections.hostnet.netif.plugins.plugin_utils.action_args import validated_params
from ansible_collections.hostnet.netif.plugins.plugin_utils.confirm import confirm_window


class ActionModule(ActionBase):
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        params = validated_params(self, result, argument_spec=ARGUMENT_SPEC,
                                  required_one_of=[("window", "armed")])
        if params is None:
            return result
        armed = dict(params["armed"] or {})
        window = params["window"] or armed.get("window")
        if not window:
            result.update(failed=True, msg="armed has no window id: pass the confirm result of "
                                           "a task that ran with confirm_timeout")
            return result
        if params["armed"] is not None and not armed.get("armed"):
            result.update(changed=False, confirmed=False, window=window,
                          msg="window %s was not armed (nothing changed): nothing to confirm"
                          % window)
            return result
        if self._task.check_mode:
            result.update(changed=False, confirmed=False, window=window,
                          msg="check mode: window %s would be confirmed" % window)
            return result
        armed["window"] = window
        if "remaining" not in armed:  # only the id: try for as long as the longest window
            armed["remaining"] = 60.0
            armed.setdefault("deadline", "its deadline")
        outcome = confirm_window(self, task_vars, armed, time.monotonic())
        confirmed = outcome["confirm"]
        result.update(changed=bool(confirmed.get("confirmed")), window=window,
                      confirmed=bool(confirmed.get("confirmed")),
                      deadline=armed.get("deadline"), armed_by=armed.get("armed_by"),
                      confirmed_by=confirmed.get("confirmed_by"),
                      confirmed_over=confirmed.get("confirmed_over"))
        if outcome.get("failed"):
            result.update(failed=True, msg=outcome["msg"])
        return result
