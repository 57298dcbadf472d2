# -*- coding: utf-8 -*-
# Copyright: hostnet.netif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The resource-module state machine shared by interfaces, addresses and sysctls.

A *resource* is a small :class:`Resource` subclass that knows one kind of
item (an interface's link attributes, its addresses, its sysctls):

``current(facts) -> {key: item}``
    the items as they are, from one facts document (the reader's);
``desired(config, current, state, offline) -> {key: item}``
    the caller's ``config`` re-checked with the stdlib on the target (names,
    ranges, duplicates, existence), raising ``InputError("config[i].field")``;
``target(current, desired, state, in_scope) -> {key: item or None}``
    what each affected item must look like afterwards (None: absent);
``ops(current, target) -> [Op]``
    the planner ops that get from ``current`` to ``target``.

``plan(current, desired, state, in_scope)`` is ``ops(current, target(...))``.
Verification after applying is ``verify(current_after, target)``: by default the
ops that would still be needed, so both sides are normalised by the same code.

:class:`Runner` drives the states: ``merged``/``replaced``/``overridden``/
``deleted`` read, plan, guard (static rules) and (outside check mode) apply
through one :class:`~transaction.Transaction`, whose ``check_after_batch`` hook
is the guard's dynamic route check; ``gathered`` reads; ``rendered`` plans
offline (against ``running_config`` when given, else against nothing);
``parsed`` turns ``running_config`` into config. The result has ``before``,
``after`` (when changed), ``commands``, ``changed`` and, with ``diff``, a
``diff`` of the affected items.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.hostnet.netif.plugins.module_utils import confirm as confirm_mod
from ansible_collections.hostnet.netif.plugins.module_utils import guard as guard_mod
from ansible_collections.hostnet.netif.plugins.module_utils import module_glue
from ansible_collections.hostnet.netif.plugins.module_utils import model, planner, reader
from ansible_collections.hostnet.netif.plugins.module_utils import transaction as txn_mod
from ansible_collections.hostnet.netif.plugins.module_utils.errors import InputError, NetifError

# ---------------------------------------------------------------------------
# state names: the only place they are spelled
# ---------------------------------------------------------------------------
MERGED = "merged"
REPLACED = "replaced"
OVERRIDDEN = "overridden"
DELETED = "deleted"
GATHERED = "gathered"
RENDERED = "rendered"
PARSED = "parsed"
STATES = (MERGED, REPLACED, OVERRIDDEN, DELETED, GATHERED, RENDERED, PARSED)
CHANGING_STATES = (MERGED, REPLACED, OVERRIDDEN, DELETED)
OFFLINE_STATES = (RENDERED, PARSED)

# Options every resource module takes besides ``config`` (documented once in
# doc_fragments/resource.py; community.docker's DOCKER_COMMON_ARGS pattern).
RESOURCE_COMMON_ARGS = dict(
    state=dict(type="str", default=MERGED, choices=list(STATES)),
    running_config=dict(type="str"),
    scope=dict(type="list", elements="str"),
    force=dict(type="bool", default=False),
    confirm_timeout=dict(type="int", default=0),
    confirm_window=dict(type="str"),
)
RESOURCE_REQUIRED_IF = [
    ("state", PARSED, ("running_config",)),
    ("state", OVERRIDDEN, ("scope",)),
]


def argument_spec(config_options):
    """The full argspec of a resource module: ``config`` items plus the common options."""
    spec = dict(config=dict(type="list", elements="dict", options=config_options))
    spec.update((key, dict(value)) for key, value in RESOURCE_COMMON_ARGS.items())
    return spec


def module_host(module):
    """The target Host of a resource module, or None for the offline states."""
    if module.params["state"] in OFFLINE_STATES:
        return None
    return txn_mod.Host(module_glue.command_runner(module), module_glue.ip_path(module),
                        tied_run=module_glue.run_tied)


# ---------------------------------------------------------------------------
# the resource interface
# ---------------------------------------------------------------------------
class Resource:
    """Base class of a resource; subclasses set the class attributes and methods.

    ``name``            resource name (``interfaces``), used in messages;
    ``key``             the config field that identifies an item;
    ``gather_subset``   reader subsets needed by ``current`` (links/addresses
                        are always read by the transaction);
    ``sysctl_keys``     ``ipv4.<key>``/``ipv6.<key>`` sysctls ``current`` needs;
    ``parse_running_config(text)`` (optional method) a facts-like document from
                        ``running_config`` when that is not ``ip -json`` output.
    """

    name = None
    key = "name"
    plans_missing_in_check_mode = False  # desired(assume_created=True) plans for absent interfaces
    gather_subset = ("links",)
    sysctl_keys = ()

    def current(self, facts):
        raise NotImplementedError

    def desired(self, config, current, state, offline=False, assume_created=False):
        """``assume_created`` (check mode): an interface the host lacks is planned as if an
        earlier task of the play creates it, instead of failing (resources that can)."""
        raise NotImplementedError

    def target(self, current, desired, state, in_scope):
        raise NotImplementedError

    def ops(self, current, target):
        raise NotImplementedError

    def plan(self, current, desired, state, in_scope=None):
        """Ordered ops taking ``current`` to what ``desired`` asks under ``state``."""
        return planner.order(self.ops(current, self.target(current, desired, state, in_scope)))

    def verify(self, current, target):
        """What still differs after applying (rendered ops); empty when all is as asked."""
        return planner.describe(self.ops(current, target))

    def scope_name(self, key):
        """The interface name an item key belongs to (scope globs match it)."""
        return key

    def to_config(self, item):
        """An item as it appears in results (drop None-valued optional fields)."""
        return dict((k, v) for k, v in item.items() if v is not None or k == self.key)

    def items(self, mapping, keys=None):
        """Sorted list of result items for ``keys`` (all when None); absent keys skipped."""
        keys = sorted(mapping) if keys is None else sorted(k for k in keys if k in mapping)
        return [self.to_config(mapping[k]) for k in keys if mapping[k] is not None]


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------
def compile_scope(scope):
    """(predicate, globs) for ``scope``; predicate is None when no scope is given."""
    if scope is None:
        return None
    if not isinstance(scope, list) or not scope:
        raise InputError("scope", "expected a non-empty list of interface-name globs")
    for index, pattern in enumerate(scope):
        problem = model.glob_error(pattern)
        if problem:
            raise InputError("scope[%d]" % index, "glob %r %s" % (pattern, problem))
    regex = model.compile_globs(scope)
    return lambda name: bool(regex.match(name))


def yaml_text(items):
    """Deterministic YAML of a list of flat dicts (strings as JSON = YAML double-quoted)."""
    if not items:
        return "[]\n"
    lines = []
    for item in items:
        first = True
        for key in sorted(item, key=lambda k: (k != "name", k)):
            value = item[key]
            if isinstance(value, (dict, list)):
                text = json.dumps(value, sort_keys=True)
            elif value is None:
                text = "null"
            elif isinstance(value, bool):
                text = "true" if value else "false"
            elif isinstance(value, str):
                text = json.dumps(value, ensure_ascii=False)
            else:
                text = str(value)
            lines.append("%s%s: %s" % ("- " if first else "  ", key, text))
            first = False
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------
# the state machine
# ---------------------------------------------------------------------------
class Runner:
    """Runs one resource task.

    ``params``    module params (state, config, running_config, scope, force);
    ``host``      a :class:`~transaction.Host` (None for offline states);
    ``check_mode``/``diff`` the module's flags; ``lock`` an optional
    :class:`~transaction.HostLock` (tests). :meth:`run` returns the result
    dict or raises a NetifError (InputError, GuardError, TransactionError...).
    """

    def __init__(self, resource, params, host=None, check_mode=False, diff=False, lock=None):
        self.resource = resource
        self.params = params
        self.host = host
        self.check_mode = check_mode
        self.diff = diff
        self.lock = lock
        self.warnings = []

    # -- offline ---------------------------------------------------------
    def _parse(self, text):
        parse = getattr(self.resource, "parse_running_config", None)
        if parse is not None:  # a resource whose captures are not `ip -json` (sysctls)
            return parse(text)
        request = reader.GatherRequest(
            gather_subset=sorted(set(self.resource.gather_subset) | {"links"}),
            sysctl_keys=list(self.resource.sysctl_keys))
        document, warnings = reader.parse_running_config(text, request)
        self.warnings.extend(warnings)
        return document

    def run(self):
        state = self.params.get("state") or MERGED
        if state not in STATES:
            raise InputError("state", "expected one of %s, found %r" % (", ".join(STATES), state))
        config = self.params.get("config")
        if config is None:
            config = []
        if not isinstance(config, list):
            raise InputError("config", "expected a list of items")
        in_scope = compile_scope(self.params.get("scope"))
        running_config = self.params.get("running_config")
        result = {"changed": False}

        if state == PARSED:
            if running_config is None:
                raise InputError("running_config", "state=parsed needs running_config")
            current = self.resource.current(self._parse(running_config))
            keys = [k for k in current if in_scope is None or in_scope(self.resource.scope_name(k))]
            result["parsed"] = self.resource.items(current, keys)
            return self._finish(result)

        if state == RENDERED:
            current = {}
            if running_config is not None:
                current = self.resource.current(self._parse(running_config))
            self._check_scope(config, in_scope)
            desired = self.resource.desired(config, current, MERGED,
                                            offline=running_config is None)
            ops = self.resource.plan(current, desired, MERGED, in_scope)
            result["rendered"] = planner.describe(ops)
            return self._finish(result)

        if self.host is None:
            raise InputError("state", "state=%s needs a host" % state)

        if state == GATHERED:
            with txn_mod.Transaction(self.host, self.resource.gather_subset,
                                     self.resource.sysctl_keys, check_mode=True) as txn:
                current = self.resource.current(txn.read())
                self.warnings.extend(txn.warnings)
            keys = [k for k in current if in_scope is None or in_scope(self.resource.scope_name(k))]
            result["gathered"] = self.resource.items(current, keys)
            return self._finish(result)

        if state == OVERRIDDEN and in_scope is None:
            raise InputError("scope", "state=overridden needs scope: the interface-name globs it "
                                      "may reset (interfaces outside it are never touched)")
        if state == DELETED and not config and in_scope is None:
            raise InputError("scope", "state=deleted without config needs scope: the "
                                      "interface-name globs whose items it resets")

        window = confirm_mod.Window.from_params(self.params, self.host.environ)
        with txn_mod.Transaction(self.host, self.resource.gather_subset,
                                 self.resource.sysctl_keys, check_mode=self.check_mode,
                                 lock=self.lock, window=window) as txn:
            facts = txn.read()
            current = self.resource.current(facts)
            self._check_scope(config, in_scope)
            assume_created = (self.check_mode and state != DELETED
                              and self.resource.plans_missing_in_check_mode)
            desired = self.resource.desired(config, current, state, assume_created=assume_created)
            if assume_created:
                for name in sorted(set(desired) - set(current)):
                    self.warnings.append(
                        "check mode: interface %s does not exist yet; planned as if an earlier task "
                        "of the play creates it (a real run fails here if it still does not exist)"
                        % name)
            target = self.resource.target(current, desired, state, in_scope)
            ops = planner.order(self.resource.ops(current, target))
            force = bool(self.params.get("force"))
            session = None
            if ops and not (force and self.check_mode):
                try:
                    session = guard_mod.find_session(self.host, facts["interfaces"])
                except NetifError:
                    if not force:
                        raise
                    # forced: the session only feeds the route-change warning
                if session is None and not force \
                        and self.host.environ.get("SSH_CONNECTION") is None:
                    self.warnings.append(
                        "management guard inactive: SSH_CONNECTION is not set for the module "
                        "(local connection, or become reset the environment)")
                guard_mod.check(ops, session, facts["interfaces"], force,
                                guard_mod.conf_reader(self.host))
            after = None
            if ops and not self.check_mode:
                after_facts = txn.apply(
                    ops, lambda facts_after: self.resource.verify(
                        self.resource.current(facts_after), target),
                    check_after_batch=guard_mod.route_check(session, self.host, force,
                                                            self.warnings.append))
                after = self.resource.current(after_facts)
            self.warnings.extend(txn.warnings)
            recovered = txn.recovered
            if txn.confirm_log:
                result["confirm_log"] = txn.confirm_log
        if window is not None:
            result["confirm"] = window.result

        keys = sorted(target)
        before_items = self.resource.items(current, keys)
        result["before"] = before_items
        result["commands"] = planner.describe(ops)
        result["changed"] = bool(ops)
        if ops:
            if after is None:  # check mode: what the plan would leave
                predicted = dict(current)
                predicted.update(target)
                after_map = dict((k, self._merge_predicted(current.get(k), v))
                                 for k, v in predicted.items())
            else:
                after_map = after
            result["after"] = self.resource.items(after_map, keys)
            if self.diff:
                changed_keys = [k for k in keys if current.get(k) != after_map.get(k)]
                result["diff"] = {
                    "before": yaml_text(self.resource.items(current, changed_keys)),
                    "after": yaml_text(self.resource.items(after_map, changed_keys)),
                }
        elif self.diff:
            result["diff"] = {"before": "", "after": ""}
        if recovered is not None:  # an interrupted apply was restored first (a change too)
            result["recovered"] = recovered
            result["changed"] = result["changed"] or bool(recovered["restore_commands"])
        return self._finish(result)

    @staticmethod
    def _merge_predicted(current_item, target_item):
        if target_item is None or current_item is None:
            return target_item
        merged = dict(current_item)
        merged.update(target_item)
        return merged

    def _check_scope(self, config, in_scope):
        if in_scope is None:
            return
        for index, item in enumerate(config):
            name = item.get("name") if isinstance(item, dict) else None
            if isinstance(name, str) and not in_scope(name):
                raise InputError("config[%d].name" % index,
                                 "%s is outside scope %s; scope limits what this task may touch"
                                 % (name, ", ".join(self.params.get("scope") or [])))

    def _finish(self, result):
        if self.warnings:
            result["warnings"] = list(self.warnings)
        return result
