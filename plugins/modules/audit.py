#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hostnet.netif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: audit
short_description: Audit one host's interface facts against a policy (controller side)
version_added: 0.1.0
description:
  - Evaluates the host and interface rules of an audit policy on the host's facts document
    (C(ansible_facts.netif) from M(hostnet.netif.interface_facts)) and returns one finding
    per rule and interface, with status V(pass), V(fail), V(waived) or V(error).
  - Runs entirely on the controller as an action plugin; the host is not contacted.
  - Interface rules judge the effective value the kernel uses (C(sysctl.effective)), which
    combines C(conf/all) and C(conf/<interface>) by the kernel's OR, AND or MAX rule.
  - A fact the policy needs that was not gathered (its subset or sysctl key) gives an
    V(error) finding that says what to gather, never a silent pass.
  - The policy is validated against the collection's JSON Schema (C(policy.schema.json));
    a bad policy fails the task naming the place of each problem (for example
    C(rules[3].expect.equals) and its line) with what was expected and what was found.
  - Fleet checks (duplicate addresses and MACs, MTU and prefix mismatches, drift) need every
    host at once; they run in M(hostnet.netif.fleet_report).
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
    description: Changes nothing on any host in any mode.
  diff_mode:
    support: none
    description: Nothing is changed, so there is no diff.
  platform:
    support: full
    platforms: [posix]
    description: Audits facts gathered from Linux hosts.
options:
  policy:
    description:
      - What to audit against. A shipped baseline name (V(cis_network), V(fleet)), a path to a
        policy YAML file (relative paths are looked up in the playbook directory, then the
        current directory), a policy mapping, or a list of those (rule ids must be unique).
      - See C(docs/audit-guide.md) and C(docs/rules.md) in the collection.
    type: raw
    default: [cis_network, fleet]
  waivers:
    description:
      - Waivers added to the policy's own, as a list of mappings (C(rule), C(hosts), C(interfaces),
        C(reason), C(expires)) or the path of a YAML file holding such a list.
      - A waiver turns matching V(fail) findings into V(waived). After its C(expires) date it no
        longer waives and is itself reported as a failing C(audit.waiver_expired) finding.
    type: raw
  facts:
    description:
      - The facts document to audit. Defaults to the facts of O(gather_result) when that is
        given, else to the host's C(ansible_facts.netif) (which, with fact caching on, may be
        what an earlier run left in the cache).
    type: dict
  gather_result:
    description:
      - The registered result of the M(hostnet.netif.interface_facts) task of this run. When
        given, only the facts it returned are audited; a gathering that failed, was skipped or
        found the host unreachable gives one V(error) finding C(audit.facts_unavailable) with the
        gathering's own message, and the host's C(ansible_facts.netif) (possibly stale, from a
        fact cache) is never used instead.
    type: raw
  groups:
    description:
      - Inventory groups of the host, matched by rule selectors and waivers. Defaults to the
        host's C(group_names) (plus V(all)).
    type: list
    elements: str
  today:
    description:
      - The date (C(YYYY-MM-DD)) waiver expiry is judged against. Defaults to the controller's date.
    type: str
  facts_error:
    description:
      - Why the host has no facts (for example the message of a failed or unreachable gathering
        task); it becomes the detail of the C(audit.facts_unavailable) error finding. When it is
        set no facts are evaluated, neither O(facts) nor C(ansible_facts.netif).
    type: str
  include_passed:
    description:
      - Return passing findings in RV(findings) too. By default they are only counted (RV(passed)),
        which keeps the result small on hosts with thousands of interfaces.
    type: bool
    default: false
  requirements_only:
    description:
      - Only return what the policy needs gathered (C(gather_subset), C(sysctl_keys)); evaluate nothing.
    type: bool
    default: false
notes:
  - Use the role M(hostnet.netif.audit) (or the playbook C(hostnet.netif.audit)) to gather,
    evaluate, aggregate and write the fleet report in one go.
seealso:
  - module: hostnet.netif.fleet_report
  - module: hostnet.netif.interface_facts
"""

EXAMPLES = r"""
- name: What does the default policy need?
  hostnet.netif.audit:
    requirements_only: true
  run_once: true
  register: audit_needs

- name: Gather exactly that
  hostnet.netif.interface_facts:
    gather_subset: "{{ audit_needs.gather_subset }}"
    sysctl_keys: "{{ audit_needs.sysctl_keys }}"

- name: Evaluate the CIS-derived baseline, with a waiver for routers
  hostnet.netif.audit:
    policy: cis_network
    waivers:
      - rule: cis_network.ipv4_forwarding
        hosts: [routers]
        reason: routers forward by design
        expires: "2030-01-31"
  register: audit_host

- name: Show what failed
  ansible.builtin.debug:
    msg: "{{ audit_host.findings | selectattr('status', 'equalto', 'fail') | map(attribute='detail') | list }}"

- name: Audit a captured document with a local policy file
  hostnet.netif.audit:
    policy: policies/datacenter.yml
    facts: "{{ lookup('ansible.builtin.file', 'captures/web1.json') | from_json }}"
  delegate_to: localhost
"""

RETURN = r"""
findings:
  description:
    - One finding per rule (and interface, for interface rules) that applied to the host and did
      not pass (all of them with O(include_passed)).
  returned: unless requirements_only
  type: list
  elements: dict
  contains:
    host: {description: Inventory name of the host., returned: always, type: str}
    interface: {description: Interface name; null for host-scope rules., returned: always, type: str}
    rule: {description: Rule id (stable; see docs/rules.md)., returned: always, type: str, sample: cis_network.ipv4_accept_redirects}
    title: {description: Rule title., returned: always, type: str}
    severity: {description: "info, low, medium, high or critical.", returned: always, type: str}
    status: {description: "Exactly one of pass, fail, waived, error.", returned: always, type: str}
    expected: {description: The rule's expect operators., returned: always, type: raw, sample: {equals: 0}}
    actual: {description: The value found (null when absent)., returned: always, type: raw, sample: 1}
    detail: {description: "What was found, and for effective sysctls how the kernel combined conf/all and the interface.", returned: always, type: str}
    references: {description: "CIS, STIG and OpenSCAP ids of the rule.", returned: always, type: dict}
    waiver: {description: "The waiver that applied (reason, expires, source).", returned: when waived or for audit.waiver_expired, type: dict}
    alias: {description: The interface alias., returned: when the interface has one, type: str}
passed:
  description: Number of passing findings per rule id (when O(include_passed) is false).
  returned: unless requirements_only
  type: dict
  sample: {cis_network.ipv4_rp_filter: 2, cis_network.tcp_syncookies: 1}
summary:
  description: Number of findings per status.
  returned: unless requirements_only
  type: dict
  sample: {pass: 20, fail: 3, waived: 1, error: 0}
status:
  description: "The host's overall status: fail, error, waived or pass (worst first)."
  returned: unless requirements_only
  type: str
remediation:
  description:
    - Machine-usable fixes for the failing findings, in the config format of
      M(hostnet.netif.interfaces) (C(interfaces)) and per sysctl target (C(sysctls),
      C(host_sysctls)); C(manual) lists failing rules that need a human.
    - C(boot) holds the fixes of boot drift (rules of scope V(boot)) in two plans, C(revert)
      (apply the boot values now) and C(persist) (keep the runtime values for the next boot), each
      with C(interfaces), C(addresses) and C(sysctls) in the setters' config format, and
      C(persist_file), the sysctl.d file name the persist plan writes.
  returned: unless requirements_only
  type: dict
gather_subset:
  description: The gather subsets the policy needs (for M(hostnet.netif.interface_facts)).
  returned: always
  type: list
  elements: str
  sample: [addresses, links, sysctl]
sysctl_keys:
  description: The sysctl keys the policy needs (for M(hostnet.netif.interface_facts)).
  returned: always
  type: list
  elements: str
  sample: [ipv4.rp_filter, net.ipv4.tcp_syncookies]
policy:
  description: Names, sources and sha256 digest of the policy used.
  returned: always
  type: dict
facts_error:
  description:
    - Why the host's facts could not be evaluated (the gathering's message); the host then has
      one V(error) finding C(audit.facts_unavailable). M(hostnet.netif.fleet_report) leaves such
      a host's C(ansible_facts.netif) out of the fleet checks.
  returned: when the facts were unavailable
  type: str
  sample: "gathering failed: ip -json -d address show failed (rc=1): ..."
errors:
  description: Each problem of a bad policy or waiver list (path, expected, found, schema_path, line).
  returned: when the policy or the waivers are invalid
  type: list
  elements: dict
  sample: [{path: "rules[0].fact", expected: "a fact of an interface, one of ... (did you mean 'promisc'?)",
            found: "'promsic'", schema_path: "", line: 12}]
remediation_modules:
  description:
    - Whether the setter modules remediation uses are in the installed collection, and
      (C(<name>_persist)) whether they have a C(persist) option.
  returned: always
  type: dict
  sample: {interfaces: true, interfaces_persist: false, addresses: true, addresses_persist: false,
           sysctls: true, sysctls_persist: true}
"""

from ansible.module_utils.basic import AnsibleModule

ARGUMENT_SPEC = dict(
    policy=dict(type="raw", default=["cis_network", "fleet"]),
    waivers=dict(type="raw"),
    facts=dict(type="dict"),
    gather_result=dict(type="raw"),
    groups=dict(type="list", elements="str"),
    today=dict(type="str"),
    facts_error=dict(type="str"),
    include_passed=dict(type="bool", default=False),
    requirements_only=dict(type="bool", default=False),
)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    module.fail_json(msg="hostnet.netif.audit runs on the controller as an action plugin; "
                         "it cannot run as a module on the target (was it called by its file path?)")


if __name__ == "__main__":
    main()
