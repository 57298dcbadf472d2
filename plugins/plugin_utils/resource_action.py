# -*- coding: utf-8 -*-
# Copyright: hostnet.netif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Base action plugin of the resource modules (controller side).

A module's action plugin is a subclass that names its module, schema,
argspec and resource::

    class ActionModule(ResourceActionBase):
        MODULE = "hostnet.netif.interfaces"
        SCHEMA = "interfaces"
        ARGUMENT_SPEC = ARGUMENT_SPEC           # from the module
        REQUIRED_IF = REQUIRED_IF
        CLEARABLE = ("alias", "master")         # explicit null -> "" (clear)
        resource = staticmethod(InterfacesResource)

        def normalize_item(self, item, path):   # netaddr spelling -> canonical
            ...

``run`` validates the raw task args against the JSON Schema (every problem,
each with its ``config[1].mtu`` path), then against the argspec, normalises
each config item, rejects duplicate keys, and either runs ``rendered`` /
``parsed`` right here (no host is contacted) or sends the normalised args to
the module. A failure returns ``msg`` and ``errors`` (path, expected, found).
With ``confirm_timeout`` the module's window is confirmed over a new
connection afterwards (``plugin_utils/confirm.py``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible.plugins.action import ActionBase

from ansible_collections.hostnet.netif.plugins.module_utils import resource as resource_mod
from ansible_collections.hostnet.netif.plugins.module_utils.errors import NetifError
from ansible_collections.hostnet.netif.plugins.plugin_utils import validate
from ansible_collections.hostnet.netif.plugins.plugin_utils.confirm import run_setter
from ansible_collections.hostnet.netif.plugins.plugin_utils.normalize import NormalizeError
from ansible_collections.hostnet.netif.plugins.plugin_utils.problems import (
    Problem,
    ProblemsError,
    from_message,
    shorten,
)
from ansible_collections.hostnet.netif.plugins.plugin_utils.action_args import (
    validated_params,
    with_text_running_config,
)


class InputProblems(ProblemsError):
    """Collected input problems (problems.Problem objects), shown joined by '; '."""


class ResourceActionBase(ActionBase):
    """Validate → normalise → (offline run | module). Subclasses set the attributes."""

    MODULE = None
    SCHEMA = None
    ARGUMENT_SPEC = None
    REQUIRED_IF = resource_mod.RESOURCE_REQUIRED_IF
    CLEARABLE = ()
    resource = None

    _supports_check_mode = True
    _supports_async = False

    # -- hooks ---------------------------------------------------------------
    def normalize_item(self, item, path):
        """Return ``item`` with values in canonical spelling; raise NormalizeError."""
        return item

    def item_key(self, item):
        """The identity of an item for the duplicate check."""
        return item.get("name")

    # -- the pipeline ----------------------------------------------------------
    def prepare(self, args):
        """Validated, normalised module args from raw task args; raise InputProblems."""
        problems = validate.problems(args, validate.load_schema(self.SCHEMA))
        if problems:
            raise InputProblems(problems)
        prepared = dict(args)
        config = args.get("config")
        if config is not None:
            items, problems, seen = [], [], {}
            for index, raw in enumerate(config):
                path = "config[%d]" % index
                item = dict(raw)
                for field in self.CLEARABLE:
                    if field in item and item[field] is None:
                        item[field] = ""  # explicit null: clear/release ("" on the target)
                try:
                    item = self.normalize_item(item, path)
                except NormalizeError as exc:
                    problems.append(from_message(exc.path, exc.message, _lookup(item, exc.path, path)))
                    continue
                key = self.item_key(item)
                if key in seen:
                    problems.append(Problem(
                        "%s.name" % path, "each item once; %s repeats %s" % (path, seen[key]),
                        shorten(key)))
                else:
                    seen[key] = path
                items.append(item)
            if problems:
                raise InputProblems(problems)
            prepared["config"] = items
        return prepared

    def run(self, tmp=None, task_vars=None):
        result = super(ResourceActionBase, self).run(tmp, task_vars)
        self._task.args = with_text_running_config(self._task.args)
        args = dict(self._task.args)
        try:
            prepared = self.prepare(args)
        except InputProblems as exc:
            result.update(failed=True, msg="invalid %s arguments: %s" % (self.MODULE, exc),
                          errors=exc.errors)
            return result
        params = validated_params(self, result, argument_spec=self.ARGUMENT_SPEC,
                                  required_if=self.REQUIRED_IF)
        if params is None:
            return result
        state = prepared.get("state") or resource_mod.MERGED
        if state in resource_mod.OFFLINE_STATES:
            params = dict(params)
            params["config"] = [dict((k, item.get(k)) for k in self.ARGUMENT_SPEC["config"]["options"])
                                for item in prepared.get("config") or []]
            try:
                runner = resource_mod.Runner(self.resource(), params)
                result.update(runner.run())
            except NetifError as exc:
                result.update(failed=True, **exc.to_result())
            return result
        result.update(run_setter(self, self.MODULE, prepared, task_vars))
        if result.pop("reset_connection", False):
            # the session interface's MTU went down: the connection open now stalls on the next
            # large transfer (full-size frames dropped without an ICMP error), a new one does not
            self._connection.reset()
        return result


_STEP = re.compile(r"\.?([^.\[\]]+)|\[(\d+)\]")


def _lookup(item, path, prefix):
    """The value at ``path`` (``config[0].addresses[1].label``) inside ``item`` (at ``prefix``)."""
    if not path.startswith(prefix):
        return item
    value = item
    for name, index in _STEP.findall(path[len(prefix):]):
        try:
            value = value[int(index)] if index else value[name]
        except (KeyError, IndexError, TypeError):
            return None
    return value
