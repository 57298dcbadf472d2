#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hostnet.netif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: addresses
short_description: Set the IPv4 and IPv6 addresses of Linux network interfaces
version_added: 0.1.0
description:
  - Adds, changes and removes interface addresses in the resource-module style
    (O(state=merged), V(replaced), V(overridden), V(deleted), V(gathered), V(rendered), V(parsed)).
  - The whole change is one C(ip -batch) process of C(address add), C(address replace) and
    C(address del) lines under a per-network-namespace lock. The host is then read again
    and every requested address verified; on any failure the previous addresses are
    restored and the task fails with the failing line and the kernel's message.
  - Addresses are compared as values, not text. On the controller every spelling is
    normalised with netaddr (C(198.18.1.1/255.255.255.0) is C(198.18.1.1/24); IPv6 in any
    case or compression is RFC 5952 text) and the target compares parsed addresses, so an
    equal address never causes a change.
  - An IPv4 address is identified by address and prefix length (C(198.18.1.1/24) and
    C(198.18.1.1/25) are two addresses, as for the kernel); an IPv6 address by the address
    alone (a new prefix length replaces the address).
  - Only the attributes an entry gives are compared. Lifetimes (and the IPv6 C(noprefixroute)
    and C(nodad) flags) are changed in place with C(address replace); any other difference
    deletes the address and adds it again.
  - Kernel-made addresses are left alone unless an item lists them (V(replaced), V(overridden)
    and V(deleted) without O(config[].addresses) never remove them). They are IPv6 link-local
    addresses (C(fe80::/10)), IPv6 privacy (C(temporary)) addresses, and C(127.0.0.1/8) and
    C(::1/128) on the loopback device.
  - Removing the address that carries the Ansible SSH session, giving it a finite
    C(valid_lft), adding the controller's own address, or adding on another interface a
    prefix of the controller's subnet more specific than the session's is refused unless
    O(force=true) (see O(force)).
author:
  - hostnet.netif maintainers (@hostnet)
requirements:
  - iproute2 4.14 or newer (C(ip -json), C(ip -batch)) on the target
  - Python 3.8 or newer on the target (standard library only)
  - jsonschema and netaddr on the controller
extends_documentation_fragment:
  - hostnet.netif.resource
  - hostnet.netif.resource.persist
attributes:
  check_mode:
    support: full
    description: Computes the same plan and returns it in C(commands) (with O(persist=true) also the
      files, in C(files)); nothing is changed.
  diff_mode:
    support: full
    description: Returns the affected interfaces' addresses before and after as YAML, and with
      O(persist=true) one diff per changed file.
  platform:
    support: full
    platforms: [posix]
    description: Linux only.
options:
  config:
    description:
      - One item per interface. An item naming an interface that does not exist fails the
        task before any change (with O(state=deleted) it is skipped with a warning). In check
        mode such an item is planned as if an earlier task of the play had created the
        interface, with a warning that says so.
      - O(state=merged) adds the listed addresses that are missing and fixes the given
        attributes of those that exist; other addresses stay.
      - O(state=replaced) makes the interface's addresses exactly the list (kernel-made ones
        stay); O(state=overridden) does that for every listed interface and removes every
        address (but kernel-made ones) from the interfaces in O(scope) that are not listed.
      - O(state=deleted) removes the listed addresses (attributes are ignored; absent ones are
        fine), or every address but kernel-made ones when an item has no
        O(config[].addresses).
    type: list
    elements: dict
    suboptions:
      name:
        description: Interface name (1 to 15 bytes; no C(/), C(:), whitespace; not C(.) or C(..)).
        type: str
        required: true
      addresses:
        description:
          - The addresses. Each is either a string C(address/prefixlen) (the prefix may be a
            dotted netmask for IPv4) or a dict with the keys below.
          - "C(address): C(address/prefixlen), or the bare address together with C(prefixlen)."
          - "C(prefixlen): prefix length (0-32 for IPv4, 0-128 for IPv6)."
          - "C(broadcast): IPv4 broadcast address, or C(+) for the subnet's broadcast address."
          - "C(peer): address of the other end of a point-to-point link (the prefix length then
            belongs to the peer, as with C(ip address add ... peer))."
          - "C(label): IPv4 label; the interface name or the interface name, a colon and up to
            15 bytes in all (C(eth0:web))."
          - "C(scope): IPv4 scope, one of C(global), C(site), C(link), C(host) (the kernel
            derives IPv6 scope from the address)."
          - "C(valid_lft), C(preferred_lft): lifetimes in seconds or C(forever) (the default).
            A finite C(valid_lft) without C(preferred_lft) uses it for both; C(preferred_lft: 0)
            deprecates the address. Lifetimes count down, so they compare as forever, finite
            or zero: an address that already has a finite lifetime is not refreshed."
          - "C(noprefixroute): do not create the prefix route."
          - "C(nodad): IPv6 only; skip duplicate address detection."
        type: list
        elements: raw
notes:
  - Deleting a primary IPv4 address makes the kernel delete the secondary addresses of its
    subnet as well (unless C(promote_secondaries) is set); secondaries the task keeps are
    put back with C(address replace) in the same batch, so C(commands) may show such lines.
  - Addresses with finite lifetimes added by a DHCP client or SLAAC are managed like any
    other address; the client may add them again later.
  - C(before) and C(after) hold the affected interfaces only.
seealso:
  - module: hostnet.netif.interfaces
  - module: hostnet.netif.interface_facts
"""

EXAMPLES = r"""
- name: Add addresses; existing ones stay (merged)
  hostnet.netif.addresses:
    config:
      - name: eth1
        addresses:
          - 198.18.1.10/24
          - 198.18.1.11/255.255.255.0                   # the same as /24
          - {address: 198.18.1.12/24, label: "eth1:web", broadcast: "+"}
          - {address: "::ffff:198.18.1.10", prefixlen: 120, nodad: true}

- name: "eth1 has exactly these addresses afterwards; fe80:: link-local stays (replaced)"
  hostnet.netif.addresses:
    state: replaced
    config:
      - name: eth1
        addresses: [198.18.1.10/24]

- name: Addresses that expire (DHCP-like); valid_lft alone sets both lifetimes
  hostnet.netif.addresses:
    config:
      - name: eth1
        addresses:
          - {address: 198.18.1.20/24, valid_lft: 3600, preferred_lft: 1800}

- name: Inside lab-*, listed interfaces get exactly their list, all others lose their addresses (overridden)
  hostnet.netif.addresses:
    state: overridden
    scope: ["lab-*"]
    config:
      - name: lab-a
        addresses: [198.18.7.1/24]

- name: Remove two addresses (deleted)
  hostnet.netif.addresses:
    state: deleted
    config:
      - name: eth1
        addresses: [198.18.1.11/24, 198.18.1.12/24]

- name: Remove every address of eth2 but kernel-made ones (deleted without addresses)
  hostnet.netif.addresses:
    state: deleted
    config:
      - name: eth2

- name: Remove every address of the interfaces matching a glob (deleted with scope)
  hostnet.netif.addresses:
    state: deleted
    scope: ["veth-test*"]

- name: Read the addresses in config format
  hostnet.netif.addresses:
    state: gathered
    scope: ["eth*"]
  register: current

- name: Show the ip -batch lines, touching no host
  hostnet.netif.addresses:
    state: rendered
    config:
      - name: eth1
        addresses: [198.18.1.10/24]
  delegate_to: localhost

- name: Turn a captured `ip -json -d addr show` into config, touching no host
  hostnet.netif.addresses:
    state: parsed
    running_config: "{{ lookup('file', 'captures/host1-ip-addr.json') }}"
  delegate_to: localhost
"""

RETURN = r"""
before:
  description: The affected interfaces' addresses before the task, in the O(config) format.
  returned: when O(state) is merged, replaced, overridden or deleted
  type: list
  elements: dict
  sample: [{name: eth1, addresses: [{address: 198.18.1.10/24, broadcast: 198.18.1.255}]}]
after:
  description: The affected interfaces' addresses after the task (predicted in check mode).
  returned: when changed
  type: list
  elements: dict
commands:
  description: The exact C(ip -batch) lines, in the order they run (or would run in check mode).
  returned: when O(state) is merged, replaced, overridden or deleted
  type: list
  elements: str
  sample: ["address del 198.18.1.99/24 dev eth1", "address add 198.18.1.10/24 dev eth1"]
gathered:
  description: The addresses on the host in the O(config) format.
  returned: when O(state=gathered)
  type: list
  elements: dict
rendered:
  description: The C(ip -batch) lines O(state=merged) would run.
  returned: when O(state=rendered)
  type: list
  elements: str
parsed:
  description: O(running_config) in the O(config) format.
  returned: when O(state=parsed)
  type: list
  elements: dict
failed_command:
  description: The C(ip -batch) line the kernel refused.
  returned: when a line of the plan failed
  type: str
restored:
  description: Whether the previous state was restored after a failure.
  returned: on failure after changes started
  type: bool
confirm:
  description:
    - The commit-confirm window of this task (with O(confirm_timeout)). Keys C(armed) (a window
      was armed; false when nothing changed or in check mode), C(window) (its id), C(timeout),
      C(deadline) (UTC, when the watchdog restores unless confirmed), C(remaining), C(armed_by)
      (C(SSH_CONNECTION) of the session that armed it), C(watchdog_pid), C(steps) (tasks of the
      window so far), C(joined) (the task joined O(confirm_window); its caller confirms), and,
      once the action plugin tried to confirm, C(confirmed), C(confirmed_by) (C(SSH_CONNECTION)
      of the new session that confirmed it), C(confirmed_over) and C(attempts).
  returned: when O(confirm_timeout) is set
  type: dict
confirm_log:
  description:
    - What commit-confirm watchdogs did on this host (network namespace) since the last changing
      run, one entry per window that was not confirmed. Keys C(window), C(event) (V(restored) or
      V(restore failed)), C(reason), C(deadline), C(at), C(armed_at), C(armed_by), C(commands)
      (the window's changes), C(restore_commands), C(error). Also given as warnings; reported once.
  returned: when a watchdog acted since the last changing run
  type: list
  elements: dict
files:
  description:
    - With O(persist=true), the files this task wrote, removed or would change (check mode), each
      C(path) and C(changed); a second run with the same input lists none. Files whose C(changed)
      is true are also in C(diff) (one entry per file, with C(before_header)/C(after_header)).
  returned: when O(persist=true) and O(state) is merged, replaced, overridden or deleted
  type: list
  elements: dict
  sample: [{"path": "/etc/systemd/network/50-hostnet-edge0.network", "changed": true}]
recovered:
  description:
    - Set when this run found the journal of an interrupted apply (a task killed while it changed addresses
      in this network namespace) and restored it before its own change (C(changed) is then true).
      Keys C(journal), C(pid), C(started), C(interrupted_commands), C(restore_commands); see the
      user guide, section "An interrupted apply".
  returned: when an interrupted apply was found and restored
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.hostnet.netif.plugins.module_utils import linkfiles, module_glue, resource
from ansible_collections.hostnet.netif.plugins.module_utils.addresses import (
    CONFIG_OPTIONS,
    AddressesResource,
)
from ansible_collections.hostnet.netif.plugins.module_utils.errors import NetifError

ARGUMENT_SPEC = resource.argument_spec(CONFIG_OPTIONS)
ARGUMENT_SPEC.update((key, dict(value)) for key, value in linkfiles.PERSIST_ARGS.items())
REQUIRED_IF = resource.RESOURCE_REQUIRED_IF


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, required_if=REQUIRED_IF,
                           supports_check_mode=True)
    host = resource.module_host(module)
    runner = resource.Runner(AddressesResource(persist=linkfiles.link_files(module.params)),
                             module.params, host=host, check_mode=module.check_mode,
                             diff=module._diff)
    try:
        result = runner.run()
    except NetifError as exc:
        module.fail_json(**exc.to_result())
    module_glue.exit_with(module, result)


if __name__ == "__main__":
    main()
