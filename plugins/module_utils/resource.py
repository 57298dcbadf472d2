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
``target(current, desired, state, in_scope) -> Plan``
    what each affected item must look like afterwards (``plan.target``: key →
    item, None: absent), the fields reset to defaults and any warnings;
``ops(current, plan) -> [Op]``
    the planner ops that get from ``current`` to ``plan.target``;
``plan_files(current, plan, read) -> {path: text or None}`` (optional)
    the files the task persists to (None: removed), ``read(path)`` giving a
    file's text now (None: absent).

Resources are pure: everything one task decides lives in the :class:`Plan`
(and in the :class:`Items` ``current`` returns), nothing on the instance, so
``plan(current, desired, state, in_scope)`` can be called for any host state.
Verification after applying is ``verify(current_after, plan)``: by default the
ops that would still be needed, so both sides are normalised by the same code.

:class:`Runner` drives the states, one method each: ``merged``/``replaced``/
``overridden``/``deleted`` (:meth:`Runner._change`) read, plan, guard (static
rules) and (outside check mode) apply through one
:class:`~transaction.Transaction` — runtime ops and file writes together —
whose ``check_after_batch`` hook is the guard's dynamic route check;
``gathered`` reads; ``rendered`` plans offline (against ``running_config``
when given, else against nothing); ``parsed`` turns ``running_config`` into
config. The result has ``before``, ``after`` (when changed), ``commands``,
``changed``, ``files`` (when the task persists) and, with ``diff``, a ``diff``
of the affected items (a list with one entry per changed file when files
change).
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
    persist = None  # what persists the task's result (linkfiles.LinkFiles, sysctls.PersistFile)
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
        """A :class:`Plan` with ``target`` (and ``resets``, ``warnings``) filled."""
        raise NotImplementedError

    def ops(self, current, plan):
        raise NotImplementedError

    def plan(self, current, desired, state, in_scope=None):
        """The :class:`Plan` taking ``current`` to what ``desired`` asks under ``state``
        (``ops`` ordered)."""
        plan = self.target(current, desired, state, in_scope)
        plan.ops = planner.order(self.ops(current, plan))
        return plan

    def verify(self, current, plan):
        """What still differs after applying (rendered ops); empty when all is as asked."""
        return planner.describe(self.ops(current, plan))

    def plan_files(self, current, plan, read, after=None):
        """{path: text, (text, mode) or None (remove)} the task writes. ``after`` is the
        facts document read once the runtime is verified (None: plan from the prediction
        :meth:`predicted`). With a ``linkfiles.LinkFiles`` as ``persist``: the networkd or
        netplan files of the interfaces the plan touches; none without ``persist``."""
        if self.persist is None:
            return {}
        facts = after["interfaces"] if after is not None else self.predicted(current, plan)
        return self.persist.plan(facts, self.touched(current, plan), plan,
                                 refuse_foreign=after is None)

    def touched(self, current, plan):
        """Interface names whose persisted state the plan may change (veth peers too)."""
        names = set(self.scope_name(key) for key in plan.target)
        facts = current.context.get("facts", {}) if isinstance(current, Items) else {}
        for name in list(names):
            item, record = plan.target.get(name) or {}, facts.get(name) or {}
            if (item.get("kind") or record.get("kind")) == "veth":
                peer = item.get("peer") or (record.get("kind_data") or {}).get("peer")
                if peer:
                    names.add(peer)
        return sorted(names)

    def predicted(self, current, plan):
        """The facts ``interfaces`` map the plan would leave (check mode's file plan)."""
        raise NotImplementedError

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


class Items(dict):
    """``current``'s items ({key: item}) plus what the resource read from the facts
    alongside them (``context``: e.g. the facts interfaces, depths), so that later
    steps need no state on the resource."""

    def __init__(self, items=(), **context):
        super(Items, self).__init__(items)
        self.context = context


class Plan:
    """What one task does, decided by a resource (nothing is kept on the resource).

    ``target``   {key: item or None} what each affected item must look like after;
    ``ops``      the ordered planner ops (set by :meth:`Resource.plan`);
    ``resets``   {key: fields returned to their defaults};
    ``warnings`` messages for the result;
    ``files``    {path: text or None (remove)} the files the task writes, and
    ``files_before`` {path: text or None (absent)} what they hold now (filled by
    the Runner under the transaction's lock);
    further keyword arguments are resource-specific decisions (sysctls: ``asked``,
    ``persist_set``, ``persist_drop``).
    """

    def __init__(self, target=None, resets=None, warnings=None, **decided):
        self.target = {} if target is None else target
        self.ops = []
        self.resets = {} if resets is None else resets
        self.warnings = [] if warnings is None else warnings
        self.files = {}
        self.file_modes = {}
        self.files_before = {}
        self.file_warnings = []
        self.__dict__.update(decided)

    def set_files(self, files, read):
        """Take ``files`` {path: text, (text, mode) or None} and their texts now (``read``)."""
        self.files, self.file_modes = txn_mod.split_files(files)
        self.files_before = dict((path, read(path)) for path in self.files)

    def changed_files(self):
        """Paths whose text the plan changes, sorted."""
        return sorted(path for path, text in self.files.items()
                      if text != self.files_before.get(path))

    @property
    def changed(self):
        return bool(self.ops) or bool(self.changed_files())


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


def file_diff(path, before, after):
    """An Ansible diff entry for one file (None: absent before / removed after)."""
    return {"before": before or "", "after": after or "",
            "before_header": path if before is not None else "%s (absent)" % path,
            "after_header": path if after is not None else "%s (removed)" % path}


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
        by_state = {PARSED: self._parsed, RENDERED: self._rendered, GATHERED: self._gathered}
        return self._finish(by_state.get(state, self._change)(state, config, in_scope))

    # -- one method per state ------------------------------------------------
    def _parsed(self, state, config, in_scope):
        running_config = self.params.get("running_config")
        if running_config is None:
            raise InputError("running_config", "state=parsed needs running_config")
        current = self.resource.current(self._parse(running_config))
        return {"changed": False, "parsed": self._listed(current, in_scope)}

    def _rendered(self, state, config, in_scope):
        running_config = self.params.get("running_config")
        current = {}
        if running_config is not None:
            current = self.resource.current(self._parse(running_config))
        self._check_scope(config, in_scope)
        desired = self.resource.desired(config, current, MERGED, offline=running_config is None)
        plan = self.resource.plan(current, desired, MERGED, in_scope)
        self.warnings.extend(plan.warnings)
        return {"changed": False, "rendered": planner.describe(plan.ops)}

    def _gathered(self, state, config, in_scope):
        with txn_mod.Transaction(self._online(state), self.resource.gather_subset,
                                 self.resource.sysctl_keys, check_mode=True) as txn:
            current = self.resource.current(txn.read())
            self.warnings.extend(txn.warnings)
        return {"changed": False, "gathered": self._listed(current, in_scope)}

    def _change(self, state, config, in_scope):
        host = self._online(state)
        if state == OVERRIDDEN and in_scope is None:
            raise InputError("scope", "state=overridden needs scope: the interface-name globs it "
                                      "may reset (interfaces outside it are never touched)")
        if state == DELETED and not config and in_scope is None:
            raise InputError("scope", "state=deleted without config needs scope: the "
                                      "interface-name globs whose items it resets")
        window = confirm_mod.Window.from_params(self.params, host.environ)
        with txn_mod.Transaction(host, self.resource.gather_subset, self.resource.sysctl_keys,
                                 check_mode=self.check_mode, lock=self.lock, window=window) as txn:
            facts = txn.read()
            current = self.resource.current(facts)
            plan = self._plan(txn, current, config, state, in_scope)
            session = self._guard(plan, facts)
            after = None
            if plan.changed and not self.check_mode:
                after_facts = txn.apply(
                    plan.ops, lambda facts_after: self.resource.verify(
                        self.resource.current(facts_after), plan),
                    check_after_batch=guard_mod.route_check(session, host, self.force,
                                                            self.warnings.append),
                    files=lambda facts_after: self._files_after(txn, current, plan, facts_after))
                after = self.resource.current(after_facts)
            self.warnings.extend(plan.file_warnings)
            self.warnings.extend(txn.warnings)
            recovered = txn.recovered
            confirm_log = txn.confirm_log
        result = self._changed_result(current, plan, after, recovered)
        lowered = guard_mod.mtu_lowered(plan.ops, session, facts["interfaces"])
        if lowered and after is not None:
            # frames the controller sizes for the old MTU are dropped without an ICMP error on
            # the way in: the connection open now stalls; the action plugin opens a new one
            result["reset_connection"] = True
            self.warnings.append(
                "the MTU of %s, which carries the Ansible SSH session, went down: the connection "
                "is reset after this task so the next one negotiates the smaller segment size"
                % ", ".join(lowered))
        if confirm_log:
            result["confirm_log"] = confirm_log
        if window is not None:
            result["confirm"] = window.result
        return result

    # -- the steps of a change -----------------------------------------------
    @property
    def force(self):
        return bool(self.params.get("force"))

    def _online(self, state):
        if self.host is None:
            raise InputError("state", "state=%s needs a host" % state)
        return self.host

    def _plan(self, txn, current, config, state, in_scope):
        """The task's Plan: runtime ops and the files (read under the lock)."""
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
        plan = self.resource.plan(current, desired, state, in_scope)
        self.warnings.extend(plan.warnings)
        plan.set_files(self.resource.plan_files(current, plan, txn.read_file), txn.read_file)
        return plan

    def _files_after(self, txn, current, plan, after_facts):
        """The files planned again from the verified host (what is written), for apply."""
        plan.set_files(self.resource.plan_files(current, plan, txn.read_file, after=after_facts),
                       txn.read_file)
        return dict((path, (text, plan.file_modes.get(path)))
                    for path, text in plan.files.items())

    def _guard(self, plan, facts):
        """The guard's static rules on the plan; the management session (or None)."""
        session = None
        if not plan.ops or (self.force and self.check_mode):
            return session
        try:
            session = guard_mod.find_session(self.host, facts["interfaces"])
        except NetifError:
            if not self.force:
                raise
            # forced: the session only feeds the route-change warning
        if session is None and not self.force and self.host.environ.get("SSH_CONNECTION") is None:
            self.warnings.append(
                "management guard inactive: SSH_CONNECTION is not set for the module "
                "(local connection, or become reset the environment)")
        guard_mod.check(plan.ops, session, facts["interfaces"], self.force,
                        guard_mod.conf_reader(self.host))
        return session

    def _changed_result(self, current, plan, after, recovered):
        keys = sorted(plan.target)
        result = {"before": self.resource.items(current, keys),
                  "commands": planner.describe(plan.ops), "changed": plan.changed}
        diffs = []
        if plan.ops:
            if after is None:  # check mode: what the plan would leave
                predicted = dict(current)
                predicted.update(plan.target)
                after = dict((k, self._merge_predicted(current.get(k), v))
                             for k, v in predicted.items())
            result["after"] = self.resource.items(after, keys)
            changed_keys = [k for k in keys if current.get(k) != after.get(k)]
            diffs.append({"before": yaml_text(self.resource.items(current, changed_keys)),
                          "after": yaml_text(self.resource.items(after, changed_keys))})
        if self.resource.persist is not None:
            changed = plan.changed_files()
            result["files"] = [{"path": path, "changed": path in changed}
                               for path in sorted(plan.files)]
            diffs.extend(file_diff(path, plan.files_before.get(path), plan.files[path])
                         for path in changed)
        if self.diff:
            if not plan.changed_files():  # the items' diff alone
                result["diff"] = diffs[0] if diffs else {"before": "", "after": ""}
            else:  # a list: the items' (when any changed), then one entry per file
                result["diff"] = [d for d in diffs if d["before"] or d["after"]]
        if recovered is not None:  # an interrupted apply was restored first (a change too)
            result["recovered"] = recovered
            result["changed"] = result["changed"] or bool(recovered["restore_commands"])
        return result

    # -- helpers ---------------------------------------------------------------
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

    def _listed(self, current, in_scope):
        keys = [k for k in current if in_scope is None or in_scope(self.resource.scope_name(k))]
        return self.resource.items(current, keys)

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
