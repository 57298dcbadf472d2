# -*- coding: utf-8 -*-
# Copyright: hostnet.netif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""hostnet.netif.audit: evaluate one host's facts against a policy, on the controller.

Never contacts the host: the facts come from the task (``facts``), from this
run's registered gathering (``gather_result``: a failed one is an error finding
with its message, never a fall-back to cached facts) or the host's
``ansible_facts.netif``. A bad policy fails the task with the path of
every problem in the file.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.plugins.action import ActionBase

from ansible_collections.hostnet.netif.plugins.modules.audit import ARGUMENT_SPEC
from ansible_collections.hostnet.netif.plugins.plugin_utils.audit import boot, engine
from ansible_collections.hostnet.netif.plugins.plugin_utils.audit.hostvars import (
    gathered_facts,
    host_groups,
    plain,
    task_policy,
)
from ansible_collections.hostnet.netif.plugins.plugin_utils.action_args import validated_params
from ansible_collections.hostnet.netif.plugins.plugin_utils.problems import failure


class ActionModule(ActionBase):
    _supports_check_mode = True
    _supports_async = False
    _requires_connection = False

    def _setters(self):
        """Which remediation modules exist in the installed collection (and which can persist)."""
        out = {}
        for name in ("interfaces", "addresses", "sysctls"):
            context = None
            try:
                context = self._shared_loader_obj.module_loader.find_plugin_with_context(
                    "hostnet.netif.%s" % name)
                out[name] = bool(context.resolved)
            except Exception:  # a loader error means: not usable here
                out[name] = False
            out["%s_persist" % name] = out[name] and boot.module_has_option(
                getattr(context, "plugin_resolved_path", None), "persist")
        return out

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        task_vars = task_vars or {}
        params = validated_params(self, result, argument_spec=ARGUMENT_SPEC)
        if params is None:
            return result
        policy = task_policy(self, params, result)
        if policy is None:
            return result
        needs = engine.required_subsets(policy)
        result.update(changed=False, policy=policy.describe(), remediation_modules=self._setters(), **needs)
        if params["requirements_only"]:
            return result
        host = task_vars.get("inventory_hostname") or "localhost"
        groups = params["groups"]
        if groups is None:
            groups = host_groups(task_vars)
        facts, reason = self._facts(params, task_vars)
        try:
            if params["include_passed"]:
                findings = engine.evaluate_host(policy, host, groups, plain(facts), params["today"],
                                                missing_reason=reason)
                passed = {}
            else:
                findings, passed = engine.evaluate_host_counted(policy, host, groups, plain(facts), params["today"],
                                                                missing_reason=reason)
        except ValueError as exc:  # a malformed 'today'
            result.update(failure("today", "a date YYYY-MM-DD", "%r (%s)" % (params["today"], exc)))
            return result
        rollup = engine.summarize(findings, passed)
        result.update(findings=engine.with_references(policy, findings), passed=passed,
                      summary=rollup["counts"], status=rollup["status"],
                      remediation=dict(engine.remediation_plan(policy, findings),
                                       boot=boot.remediation_plan(findings)))
        if facts is None:
            result["facts_error"] = reason or "the host has no ansible_facts.netif"
        return result

    @staticmethod
    def _facts(params, task_vars):
        """(facts, why there are none): an error given, the task's facts, this run's gathering,
        then the host's ansible_facts.netif - never the cache's copy when this run's gathering failed."""
        if params["facts_error"]:
            return None, params["facts_error"]
        if params["facts"] is not None:
            return params["facts"], None
        if params["gather_result"] is not None:
            return gathered_facts(params["gather_result"])
        return (task_vars.get("ansible_facts") or {}).get("netif"), None
