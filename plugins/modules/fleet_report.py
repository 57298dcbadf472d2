#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hostnet.netif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: fleet_report
short_description: Run the fleet checks and write the audit report for every host (controller side)
version_added: 0.1.0
description:
  - Collects every play host's findings (from M(hostnet.netif.audit), registered under
    O(results_var)) and facts (C(ansible_facts.netif)), runs the fleet checks of the policy
    (duplicate addresses and MACs across hosts, MTU and prefix-length mismatches on one subnet,
    drift from the group majority), and writes one report in each of O(formats) to O(report_dir).
  - Every play host gets an entry in the report, including hosts that were unreachable or whose
    gathering failed (an V(error) finding C(audit.facts_unavailable)).
  - "Offline: with O(fact_cache) (a C(jsonfile) directory) or O(fact_cache_plugin) (any Ansible
    cache plugin, for example C(community.general.redis)) it audits every host of the fact cache
    in this one call, one host at a time, and contacts no host; hosts evaluated this way need not be in
    the play (groups come from the inventory when the host is in it)."
  - Runs entirely on the controller as an action plugin; use it with C(run_once).
  - Fails the task when a V(fail) or V(error) finding reaches O(fail_on), after the reports are written.
    The failed result holds only RV(msg), RV(reports) and RV(summary) without its per-rule counts, so
    the console shows a short summary instead of the whole result; the JSON report holds everything.
  - Each expired waiver is also a warning naming its rule, hosts and expiry date.
author:
  - hostnet.netif maintainers (@hostnet)
requirements:
  - jsonschema and netaddr on the controller
attributes:
  action:
    support: full
    description: Runs on the controller only.
  check_mode:
    support: full
    description: Hosts are never changed; the reports (files on the controller) are written in check mode too.
  diff_mode:
    support: none
    description: Nothing is changed on hosts, so there is no diff.
  platform:
    support: full
    platforms: [posix]
    description: Audits facts gathered from Linux hosts.
options:
  policy:
    description:
      - A shipped baseline name (V(cis_network), V(fleet)), a policy file path, a policy mapping,
        or a list of those. Use the same policy as the M(hostnet.netif.audit) tasks; findings
        registered with another policy are evaluated again.
    type: raw
    default: [cis_network, fleet]
  waivers:
    description: Extra waivers (list of mappings, or a YAML file path); see M(hostnet.netif.audit).
    type: raw
  report_dir:
    description:
      - Directory for the reports (created). Relative paths are relative to the current directory
        of ansible-playbook. Files are C(netif-audit.json), C(netif-audit.junit.xml),
        C(netif-audit.md) and C(netif-audit.html), replaced atomically.
    type: path
    default: netif-reports
  formats:
    description: Which reports to write.
    type: list
    elements: str
    choices: [json, junit, markdown, html]
    default: [json, junit, markdown, html]
  fail_on:
    description:
      - Fail the task when a V(fail) or V(error) finding has this severity or a higher one.
        V(never) only reports.
    type: str
    choices: [never, info, low, medium, high, critical]
    default: never
  fact_cache:
    description:
      - Audit offline from this Ansible C(jsonfile) fact cache directory (the value of
        C(fact_caching_connection)), contacting no host.
      - "Each file holds one host's facts. ansible-core 2.19 and later name it C(<prefix>s1_<host>)
        and wrap the facts as a JSON string under the key C(__payload__); older releases name it
        C(<prefix><host>) and store the facts as they are. Both layouts are read. The facts
        document is the C(netif) key."
    type: path
  fact_cache_plugin:
    description:
      - Audit offline from any Ansible cache plugin, loaded as a play loads it (its collection
        must be installed), for example V(community.general.redis), V(community.general.memcached),
        V(community.mongodb.mongodb), V(community.general.yaml), V(community.general.pickle) or
        V(ansible.builtin.jsonfile). Hosts are read one at a time; the audit never writes or
        deletes an entry.
      - With V(jsonfile) and a C(connection) (or O(fact_cache)) the directory is read directly.
      - A bad entry (not JSON, expired, larger than O(fact_cache_max_size), without C(netif)
        facts or with malformed ones) is one host with an V(error) finding.
    type: str
  fact_cache_options:
    description:
      - The options of O(fact_cache_plugin). V(connection), V(prefix) and V(timeout) are the
        plugin's C(_uri), C(_prefix) and C(_timeout) (C(fact_caching_connection),
        C(fact_caching_prefix), C(fact_caching_timeout)); other keys are passed as they are.
      - "Example for Redis: C({connection: '127.0.0.1:6379:0', prefix: 'ansible_facts', timeout: 0})."
    type: dict
  fact_cache_prefix:
    description: The cache's C(fact_caching_prefix); files without it are ignored.
    type: str
    default: ""
  fact_cache_max_size:
    description:
      - The largest fact cache file read, in MiB; a larger file is not read and its host gets an
        V(error) finding saying so (the size is checked before reading).
      - A bad cache file (unreadable, not JSON, nested too deeply, malformed facts, a symbolic link
        that leads out of the directory) is always one host with an V(error) finding, never a
        failed audit.
    type: int
    default: 64
  workers:
    description:
      - In offline mode, how many processes evaluate hosts (forked from this one, which reads the
        cache and keeps what the fleet checks need); V(0) is one per CPU this process may use, at most 4,
        V(1) evaluates every host in this process. Fleets of up to 64 hosts are evaluated in this
        process too; controllers without C(fork) always use only this one.
      - The reports are the same, byte for byte, whatever the number.
    type: int
    default: 0
    version_added: 0.2.0
  hosts:
    description:
      - Hosts to report on in live mode. Defaults to every host of the play (C(ansible_play_hosts_all)),
        failed and unreachable ones included.
    type: list
    elements: str
  results_var:
    description: Name of the variable each host registered the M(hostnet.netif.audit) result in.
    type: str
    default: netif_audit_result
  today:
    description: The date (C(YYYY-MM-DD)) waiver expiry is judged against. Defaults to the controller's date.
    type: str
  include_passed:
    description: List passing findings in the JSON report too (they are always counted).
    type: bool
    default: false
  detail_limit:
    description: At most this many findings and hosts are listed in the Markdown and HTML reports (the JSON lists all).
    type: int
    default: 2000
notes:
  - Hosts are matched to rule selectors and waivers by inventory name and group names.
seealso:
  - module: hostnet.netif.audit
  - module: hostnet.netif.interface_facts
"""

EXAMPLES = r"""
- name: Write the fleet report for every host of the play
  hostnet.netif.fleet_report:
    report_dir: "{{ playbook_dir }}/reports"
    fail_on: high
  run_once: true

- name: Audit 10,000 hosts from a fact cache without contacting any
  hostnet.netif.fleet_report:
    fact_cache: /var/cache/ansible/facts
    formats: [json, html]
  run_once: true
  delegate_to: localhost

- name: Audit every host of a Redis fact cache
  hostnet.netif.fleet_report:
    fact_cache_plugin: community.general.redis
    fact_cache_options:
      connection: "127.0.0.1:6379:0"
      prefix: ansible_facts
  run_once: true
  delegate_to: localhost
"""

RETURN = r"""
msg:
  description:
    - The console summary, one line each - the O(fail_on) verdict when it is reached, the result with
      host and finding counts, failing findings by severity, the worst failing rules (at most 5),
      every expired waiver (rule, hosts, expiry, reason, file) and the report paths.
  returned: always
  type: str
  sample: |-
    audit fail: 3 host(s) (2 fail, 0 error, 0 waived, 1 pass); findings 4 fail, 0 error, 1 waived, 80 pass
    failing or unverifiable by severity: 2 high, 2 medium
    HTML report: /work/netif-reports/netif-audit.html
summary:
  description:
    - The report's summary (result, host and finding counts, failing findings by severity, per-rule counts).
    - When O(fail_on) is reached, without the per-rule counts (C(rules)).
  returned: always
  type: dict
  sample:
    result: fail
    hosts: 3
    hosts_by_status: {pass: 1, fail: 2, waived: 0, error: 0}
    findings: {pass: 80, fail: 4, waived: 1, error: 0}
    failed_by_severity: {critical: 0, high: 2, medium: 2, low: 0, info: 0}
reports:
  description: Absolute path of each report written, by format.
  returned: always
  type: dict
  sample: {json: /work/netif-reports/netif-audit.json, html: /work/netif-reports/netif-audit.html}
failing_hosts:
  description: Hosts whose status is fail or error (at most 100).
  returned: unless O(fail_on) is reached
  type: list
  elements: str
policy:
  description: Names, sources and sha256 digest of the policy used.
  returned: unless O(fail_on) is reached
  type: dict
cache:
  description: In offline mode, how many cache files were read and which could not be used.
  returned: when O(fact_cache) or O(fact_cache_plugin) is given, unless O(fail_on) is reached
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

ARGUMENT_SPEC = dict(
    policy=dict(type="raw", default=["cis_network", "fleet"]),
    waivers=dict(type="raw"),
    report_dir=dict(type="path", default="netif-reports"),
    formats=dict(type="list", elements="str", choices=["json", "junit", "markdown", "html"],
                 default=["json", "junit", "markdown", "html"]),
    fail_on=dict(type="str", choices=["never", "info", "low", "medium", "high", "critical"], default="never"),
    fact_cache=dict(type="path"),
    fact_cache_plugin=dict(type="str"),
    fact_cache_options=dict(type="dict"),
    fact_cache_prefix=dict(type="str", default=""),
    fact_cache_max_size=dict(type="int", default=64),
    workers=dict(type="int", default=0),
    hosts=dict(type="list", elements="str"),
    results_var=dict(type="str", default="netif_audit_result"),
    today=dict(type="str"),
    include_passed=dict(type="bool", default=False),
    detail_limit=dict(type="int", default=2000),
)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    module.fail_json(msg="hostnet.netif.fleet_report runs on the controller as an action plugin; "
                         "it cannot run as a module on the target (was it called by its file path?)")


if __name__ == "__main__":
    main()
