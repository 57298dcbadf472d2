# -*- coding: utf-8 -*-
# Copyright: hostnet.netif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""hostnet.netif.fleet_report: fleet checks + one report for every host, on the controller.

Live: every play host's registered ``hostnet.netif.audit`` result and
``ansible_facts.netif`` come from hostvars (read raw, without templating).
Offline: ``fact_cache`` names a jsonfile fact cache directory, or
``fact_cache_plugin`` any Ansible cache plugin (community.general.redis ...);
every host in it is read and evaluated in this one call, one host at a time,
and no host is contacted. Either way the
result stays small (summary and report paths): the findings are in the files.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import gc

from ansible.plugins.action import ActionBase

from ansible_collections.hostnet.netif.plugins.modules.fleet_report import ARGUMENT_SPEC
from ansible_collections.hostnet.netif.plugins.plugin_utils.audit import console, engine, factcache, reports
from ansible_collections.hostnet.netif.plugins.plugin_utils.audit.hostvars import (
    groups_by_host,
    plain,
    task_policy,
)
from ansible_collections.hostnet.netif.plugins.plugin_utils.action_args import validated_params
from ansible_collections.hostnet.netif.plugins.plugin_utils.problems import failure

FAILING_HOSTS_CAP = 100
WARNED_WAIVERS = 10


def _host_vars(hostvars, host):
    raw_get = getattr(hostvars, "raw_get", None)
    data = raw_get(host) if raw_get is not None else hostvars.get(host)
    return data if isinstance(data, dict) or hasattr(data, "get") else {}


def _registered_findings(registered, policy):
    """(findings, passes per rule) a host registered, when they came from the same policy; else None."""
    if not hasattr(registered, "get") or registered.get("failed") or registered.get("skipped"):
        return None
    described = registered.get("policy") or {}
    if not hasattr(described, "get") or described.get("digest") != policy.digest:
        return None
    findings = registered.get("findings")
    passed = registered.get("passed") or {}
    if not isinstance(findings, list) or not hasattr(passed, "items"):
        return None
    return plain(findings), dict((str(k), int(v)) for k, v in passed.items())


def _facts_error(registered):
    """Why a host's audit result says its facts of this run are unavailable, or None.

    Such a host's ``ansible_facts.netif`` can be an earlier run's copy from the fact
    cache: it is left out of the fleet checks and never evaluated in its place.
    """
    if not hasattr(registered, "get"):
        return None
    reason = registered.get("facts_error")
    return str(reason) if reason else None


class ActionModule(ActionBase):
    _supports_check_mode = True
    _supports_async = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        # The facts of thousands of hosts are millions of long-lived objects; the
        # cyclic collector would scan them again and again (a third of the CPU
        # time of a 10,000-host audit). Nothing here builds reference cycles.
        collecting = gc.isenabled()
        gc.disable()
        try:
            return self._run(tmp, task_vars)
        finally:
            if collecting:
                gc.enable()

    def _run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        task_vars = task_vars or {}
        params = validated_params(self, result, argument_spec=ARGUMENT_SPEC)
        if params is None:
            return result
        policy = task_policy(self, params, result)
        if policy is None:
            return result
        try:
            today = engine.audit_date(params["today"])
        except ValueError as exc:
            result.update(failure("today", "a date YYYY-MM-DD", "%r (%s)" % (params["today"], exc)))
            return result
        if params["detail_limit"] < 0:
            result.update(failure("detail_limit", "0 or more", params["detail_limit"]))
            return result

        if params["workers"] < 0:
            result.update(failure("workers", "0 (one per CPU) or more", params["workers"]))
            return result

        if params["fact_cache_max_size"] < 1:
            result.update(failure("fact_cache_max_size", "1 (MiB) or more", params["fact_cache_max_size"]))
            return result

        offline = bool(params["fact_cache"] or params["fact_cache_plugin"])
        workers = engine.usable_workers(params["workers"]) if offline else 1
        if offline:
            report = self._offline(policy, params, task_vars, today, result, workers)
            if report is None:
                return result
        else:
            report = self._live(policy, params, task_vars, today)

        try:
            paths = reports.write_reports(report, params["report_dir"], params["formats"],
                                          params["detail_limit"], workers=workers)
        except (IOError, OSError) as exc:
            result.update(failed=True, msg="cannot write the reports to %s: %s"
                          % (params["report_dir"], exc.strerror or exc))
            return result
        summary = report["summary"]
        reached, why = engine.fail_on_reached(report, params["fail_on"])
        msg = "\n".join(console.summary_lines(report, paths, params["fail_on"], why))
        expired = console.expired_waivers(report)
        warnings = [console.expired_waiver_text(entry) for entry in expired[:WARNED_WAIVERS]]
        if len(expired) > WARNED_WAIVERS:
            warnings.append("%d more expired waivers: see the report" % (len(expired) - WARNED_WAIVERS))
        if warnings:
            result["warnings"] = result.get("warnings", []) + warnings
        if reached:
            # A failed result is printed whole under `fatal:`: keep it to the summary
            # (the report files hold the rest).
            result.pop("cache", None)
            result.update(failed=True, changed=False, msg=msg, reports=paths,
                          summary=dict((k, v) for k, v in summary.items() if k != "rules"))
            return result
        failing = [h["name"] for h in report["hosts"] if h["status"] in ("fail", "error")]
        result.update(changed=False, summary=summary, reports=paths, policy=report["policy"],
                      failing_hosts=failing[:FAILING_HOSTS_CAP], msg=msg)
        return result

    @staticmethod
    def _offline(policy, params, task_vars, today, result, workers):
        """The report of every host of the fact cache, read and evaluated one host at a time."""
        tally = factcache.Tally()
        max_bytes = params["fact_cache_max_size"] * 1048576
        plugin = params["fact_cache_plugin"]
        options = dict(params["fact_cache_options"] or {})
        directory = params["fact_cache"]
        prefix = params["fact_cache_prefix"] or options.get("prefix") or ""
        if plugin in factcache.FILE_PLUGINS and options.get("connection") and not directory:
            directory = options["connection"]  # jsonfile: read the directory directly, much faster
        try:
            if directory and plugin in (None,) + factcache.FILE_PLUGINS:
                entries = factcache.iter_fact_cache(directory, prefix, max_bytes, tally=tally, defer=True)
                where = "fact_cache %s" % directory
            else:
                if prefix:
                    options["prefix"] = prefix
                cache = factcache.PluginCache(plugin, options, max_bytes)
                entries = cache.hosts(tally=tally, defer=True)
                where = "fact_cache plugin %s" % plugin
            groups = groups_by_host(task_vars)
            sources = engine.cache_sources(entries, lambda host: groups.get(host) or ["all"])
            progress = console.Progress(lambda: tally.info.get("hosts_listed"))
            try:
                report = engine.run(policy, sources, None, today, params["include_passed"],
                                    progress=progress.update, workers=workers,
                                    on_problem=tally.record)
            finally:
                progress.done()
        except ValueError as exc:
            result.update(failed=True, msg=str(exc))
            return None
        if not report["hosts"]:
            result.update(failed=True, msg="%s: no cache entries%s" % (
                where, (" with prefix %r" % prefix) if prefix else ""), cache=tally.info)
            return None
        result["cache"] = tally.info
        return report

    def _live(self, policy, params, task_vars, today):
        hosts = params["hosts"] or task_vars.get("ansible_play_hosts_all") \
            or [task_vars.get("inventory_hostname", "localhost")]
        hosts = [str(h) for h in hosts]
        hostvars = task_vars.get("hostvars") or {}
        groups = groups_by_host(task_vars, hosts)
        return engine.run(policy, self._live_sources(policy, params, hosts, hostvars), groups, today,
                          params["include_passed"])

    @staticmethod
    def _live_sources(policy, params, hosts, hostvars):
        """One HostSource per play host: this run's facts and, when usable, its registered findings."""
        for host in hosts:
            variables = _host_vars(hostvars, host)
            registered = variables.get(params["results_var"]) if hasattr(variables, "get") else None
            reason = _facts_error(registered)
            facts = None
            if reason is None and hasattr(variables, "get"):
                facts = (variables.get("ansible_facts") or {}).get("netif")
            yield engine.HostSource(host, plain(facts), missing_reason=reason,
                                    findings=_registered_findings(registered, policy))
