# -*- coding: utf-8 -*-
# Copyright: hostnet.netif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Small helpers the audit action plugins share: plain data, groups, lookup dirs."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import os
from collections.abc import Mapping


def plain(value):
    """Ansible variable values (tagged/lazy containers) -> plain dict/list/str/int.

    The engine walks facts documents many times per host; plain containers keep
    that cheap and keep Ansible's templating out of the evaluation.
    """
    if isinstance(value, Mapping):
        return dict((str(key), plain(item)) for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value
    return value


def gathered_facts(result):
    """(netif facts, None) from the registered interface_facts result of this run, or (None, why).

    The role registers the gathering with ``failed_when: false`` (so an unreachable or
    failing host is still reported): ``failed`` is then false even when the module failed,
    so a result counts as gathered only when it holds the facts document.
    """
    if not isinstance(result, Mapping):
        return None, "no gathering result of this run (found %s)" % type(result).__name__
    message = " ".join(str(result.get("msg") or "").split())
    # "MODULE FAILURE" alone is no reason: the interpreter's own words are in module_stderr
    said = str(result.get("module_stderr") or result.get("module_stdout") or "").strip()
    if said:
        said = " ".join(said.splitlines()[-1].split())
        message = "%s (%s)" % (message, said[:300]) if message else said[:300]
    if result.get("unreachable"):
        return None, "host unreachable: %s" % (message or "no message")
    if result.get("skipped"):
        return None, "gathering was skipped%s" % (
            ": %s" % result.get("skip_reason") if result.get("skip_reason") else "")
    facts = result.get("ansible_facts")
    facts = facts.get("netif") if isinstance(facts, Mapping) else None
    if not isinstance(facts, Mapping):
        return None, "gathering failed: %s" % (message or "the gathering task returned no netif facts")
    return facts, None


def host_groups(task_vars):
    """The host's inventory groups, 'all' included."""
    groups = list(task_vars.get("group_names") or [])
    if "all" not in groups:
        groups.append("all")
    return groups


def groups_by_host(task_vars, hosts=None):
    """{host: [groups]} from the inventory's ``groups`` variable, for ``hosts`` (or all)."""
    wanted = set(hosts) if hosts is not None else None
    out = {}
    for group, members in (task_vars.get("groups") or {}).items():
        for host in members or ():
            if wanted is None or host in wanted:
                out.setdefault(host, []).append(str(group))
    for host in (wanted or ()):
        out.setdefault(host, ["all"])
    return out


def base_dirs(loader, task):
    """Where relative policy and waiver paths are looked up: playbook dir, role files (cwd last)."""
    dirs = []
    basedir = loader.get_basedir() if loader is not None else None
    if basedir:
        dirs.append(basedir)
    role = getattr(task, "_role", None)
    role_path = getattr(role, "_role_path", None)
    if role_path:
        dirs.append(os.path.join(role_path, "files"))
    return dirs


def task_policy(action, params, result):
    """The policy an audit task names (baselines or files next to the play or role),
    or None with ``result`` marked failed and every schema error listed."""
    from ansible_collections.hostnet.netif.plugins.plugin_utils.audit import engine

    try:
        return engine.load_policy(plain(params["policy"]), plain(params["waivers"]),
                                  base_dirs(action._loader, action._task))
    except engine.PolicyError as exc:
        result.update(failed=True, msg=str(exc), errors=exc.errors)
        return None
