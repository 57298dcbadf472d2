#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hostnet.netif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: interfaces
short_description: Set Linux network-interface link attributes and create or delete virtual interfaces
version_added: 0.1.0
description:
  - Sets link attributes (admin state, MTU, MAC, transmit queue length, alias, promiscuous,
    multicast, all-multicast and ARP flags, master, group) of Linux interfaces and creates
    or deletes virtual interfaces (veth, bridge, macvlan, vxlan, vlan, dummy, bond), in the
    resource-module style (O(state=merged), V(replaced), V(overridden), V(deleted),
    V(gathered), V(rendered), V(parsed)).
  - The whole change is one C(ip -batch) process under a per-network-namespace lock,
    ordered so the kernel accepts it (creations before enslaving, parents before children,
    parent MTU raised before a child's and lowered after it, children deleted before
    parents). The host is then read again and every requested value verified; on any
    failure the previous state is restored from a snapshot and the task fails with the
    failing line and the kernel's message.
  - Input is checked on the controller against a JSON Schema and again on the target; errors
    name the field, for example C(config[1].mtu).
  - "Defaults (used by V(replaced) for attributes an item does not give, by V(overridden) for
    interfaces in O(scope) that are not listed, and by V(deleted) for the attributes an item
    names): O(config[].enabled=true) (an existing interface is meant to be up),
    O(config[].alias) empty, O(config[].promisc=false), O(config[].allmulticast=false),
    O(config[].master) none, O(config[].group=0), O(config[].mac) the permanent address
    when the driver reports one (else unchanged), O(config[].mtu) 1500 (loopback 65536;
    capped by the parent's MTU, less 50 for vxlan, and by the driver's maximum), and for ethernet,
    veth, bridge, macvlan, vxlan, dummy and loopback O(config[].txqueuelen=1000),
    O(config[].multicast=true) (loopback false), O(config[].arp=true); other kinds keep
    those three unchanged."
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
    description: Returns the affected items before and after as YAML, and with O(persist=true) one
      diff per changed file.
  platform:
    support: full
    platforms: [posix]
    description: Linux only.
options:
  config:
    description:
      - The interfaces. An item naming an interface that does not exist fails the whole task
        before any change, unless it gives O(config[].kind) (or is the O(config[].peer) of a
        veth item), which creates it.
      - With O(state=deleted) an item that gives O(config[].kind) deletes that virtual
        interface (nothing happens when it is already gone); an item without O(config[].kind)
        returns the attributes it names (all of them when it names none) to their defaults.
    type: list
    elements: dict
    suboptions:
      name:
        description:
          - Interface name (1 to 15 bytes; no C(/), C(:), whitespace; not C(.) or C(..)).
          - Interfaces whose names the facts show escaped (a control or other non-printable
            character, a backslash, bytes that are not UTF-8) are read but never changed;
            so are names with shell or glob metacharacters.
        type: str
        required: true
      enabled:
        description: Administrative state (V(true) is C(up)).
        type: bool
      mtu:
        description: MTU in bytes; must be within the interface's C(min_mtu)..C(max_mtu).
        type: int
      mac:
        description:
          - Unicast, non-zero MAC address in any common spelling (C(02:00:5e:10:00:01),
            C(02-00-5E-10-00-01), C(0200.5e10.0001)); compared in lowercase colon form.
          - Kinds that cannot change the MAC while up are taken down around the change.
        type: str
      txqueuelen:
        description: Transmit queue length.
        type: int
      alias:
        description:
          - Interface alias (C(ifalias), at most 255 bytes). An empty string or V(null) clears it.
          - Spaces, tabs and non-ASCII text are fine; C(#), line breaks and a value with both
            C(') and C(") cannot be carried by C(ip -batch) and are rejected.
          - Control characters other than tab (C0, DEL, C1) and U+2028/U+2029 are rejected, because
            C(ip -json) would print them raw and the facts show such an alias escaped.
        type: str
      promisc:
        description:
          - Promiscuous mode as requested with C(ip link set promisc), compared with the
            facts' C(promisc_requested). The kernel may be promiscuous without a request (a
            bridge port, a packet sniffer); V(false) leaves that alone and reports no change.
        type: bool
      multicast:
        description: The MULTICAST flag.
        type: bool
      allmulticast:
        description: The ALLMULTI flag (receive all multicast).
        type: bool
      arp:
        description: ARP on the interface (V(false) sets NOARP).
        type: bool
      master:
        description:
          - Bridge or bond to enslave the interface to. An empty string or V(null) releases it.
          - A bond port is taken down while it is enslaved.
        type: str
      group:
        description: Interface group number (0 is C(default)).
        type: int
      kind:
        description:
          - Create the interface with this kind when it is missing; when it exists its kind
            must match. The kind's fields below are fixed at creation.
          - With O(state=deleted) the interface is deleted.
          - Kinds the kernel lacks fail with the kernel's message (and nothing is left changed).
        type: str
        choices: [veth, bridge, macvlan, vxlan, vlan, dummy, bond]
      peer:
        description: Name of the other end (O(config[].kind=veth), required).
        type: str
      parent:
        description: Lower device (required for V(macvlan) and V(vlan); optional for V(vxlan)).
        type: str
      mode:
        description:
          - Mode for V(macvlan) (private, vepa, bridge (default), passthru, source)
            or V(bond) (balance-rr, active-backup, balance-xor, broadcast, 802.3ad,
            balance-tlb, balance-alb).
        type: str
        choices: [private, vepa, bridge, passthru, source, balance-rr, active-backup,
                  balance-xor, broadcast, 802.3ad, balance-tlb, balance-alb]
      vni:
        description: VXLAN network identifier, 0 to 16777215 (V(vxlan), required).
        type: int
      dstport:
        description: VXLAN UDP destination port (V(vxlan)); default 4789 (IANA).
        type: int
      local:
        description: VXLAN local (source) IP address (V(vxlan)); an IPv6 zone id (C(%eth0)) is rejected.
        type: str
      remote:
        description:
          - VXLAN remote (V(vxlan)); a unicast address becomes C(remote), a multicast
            address becomes the multicast C(group). (O(config[].group) is the
            interface group, so the multicast group is given here.)
        type: str
      vlan_id:
        description: 802.1Q VLAN id, 1 to 4094 (V(vlan), required).
        type: int
notes:
  - O(state=overridden) and O(state=deleted) without O(config) act only inside O(scope);
    they reset attributes but never delete interfaces that are not listed with a kind.
  - C(before) and C(after) hold the affected interfaces only (not the whole host), which keeps
    results small on hosts with thousands of interfaces.
  - Kernels without dummy, vlan or bond support refuse those kinds; the task then fails
    with the kernel's message and leaves the host as it was.
  - On the interface carrying the Ansible SSH session, C(arp=false) and an MTU below 576
    (IPv4 session) or 1280 (IPv6 session) are refused unless O(force=true), besides
    taking it down, deleting it or changing its MAC or master; bringing up an interface
    that moves the route to the controller is undone by the route check (see O(force)).
seealso:
  - module: hostnet.netif.interface_facts
"""

EXAMPLES = r"""
- name: Set MTU and alias, bring up (merged)
  hostnet.netif.interfaces:
    config:
      - name: eth1
        mtu: 9000
        alias: "uplink to core sw-1"
        enabled: true

- name: Create a bridge and a veth pair, enslave one end
  hostnet.netif.interfaces:
    config:
      - {name: br-lab, kind: bridge, enabled: true}
      - {name: veth-a, kind: veth, peer: veth-b, master: br-lab, enabled: true}
      - {name: veth-b, enabled: true, mtu: 1400}

- name: Create a macvlan, a VLAN and a VXLAN
  hostnet.netif.interfaces:
    config:
      - {name: mv0, kind: macvlan, parent: eth1, mode: bridge}
      - {name: eth1.100, kind: vlan, parent: eth1, vlan_id: 100}
      - {name: vx42, kind: vxlan, vni: 42, parent: eth1, remote: 198.18.7.2, local: 198.18.7.1}

- name: Release a port from its bridge and clear its alias
  hostnet.netif.interfaces:
    config:
      - {name: veth-a, master: null, alias: null}

- name: eth1 becomes exactly this; everything not given returns to its default (replaced)
  hostnet.netif.interfaces:
    state: replaced
    config:
      - {name: eth1, mtu: 9000}

- name: Inside veth-lab*, listed ones as given, the rest reset to defaults (overridden)
  hostnet.netif.interfaces:
    state: overridden
    scope: ["veth-lab*"]
    config:
      - {name: veth-lab1, mtu: 1400}

- name: Delete a virtual interface and reset eth1's MTU and alias to defaults
  hostnet.netif.interfaces:
    state: deleted
    config:
      - {name: br-lab, kind: bridge}
      - {name: eth1, mtu: 9000, alias: ""}

- name: Read the interfaces in config format
  hostnet.netif.interfaces:
    state: gathered
    scope: ["eth*"]
  register: current

- name: Show the ip -batch lines for a change, touching no host
  hostnet.netif.interfaces:
    state: rendered
    config:
      - {name: eth1, mtu: 9000}
  delegate_to: localhost

- name: Turn a captured `ip -json -d addr show` into config, touching no host
  hostnet.netif.interfaces:
    state: parsed
    running_config: "{{ lookup('file', 'captures/host1-ip-addr.json') }}"
  delegate_to: localhost
"""

RETURN = r"""
before:
  description: The affected interfaces before the task, in the O(config) format.
  returned: when O(state) is merged, replaced, overridden or deleted
  type: list
  elements: dict
  sample: [{name: eth1, enabled: true, mtu: 1500, mac: "02:00:5e:10:00:01", txqueuelen: 1000,
            alias: "", promisc: false, multicast: true, allmulticast: false, arp: true,
            master: null, group: 0}]
after:
  description: The affected interfaces after the task (predicted in check mode).
  returned: when changed
  type: list
  elements: dict
commands:
  description: The exact C(ip -batch) lines, in the order they run (or would run in check mode).
  returned: when O(state) is merged, replaced, overridden or deleted
  type: list
  elements: str
  sample: ["link set dev eth1 mtu 9000", "link set dev eth1 alias \"uplink to core sw-1\""]
gathered:
  description: The interfaces on the host in the O(config) format.
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
    - Set when this run found the journal of an interrupted apply (a task killed while it changed interfaces
      in this network namespace) and restored it before its own change (C(changed) is then true).
      Keys C(journal), C(pid), C(started), C(interrupted_commands), C(restore_commands); see the
      user guide, section "An interrupted apply".
  returned: when an interrupted apply was found and restored
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.hostnet.netif.plugins.module_utils import linkfiles, module_glue, resource
from ansible_collections.hostnet.netif.plugins.module_utils.errors import NetifError
from ansible_collections.hostnet.netif.plugins.module_utils.interfaces import (
    CONFIG_OPTIONS,
    InterfacesResource,
)

ARGUMENT_SPEC = resource.argument_spec(CONFIG_OPTIONS)
ARGUMENT_SPEC.update((key, dict(value)) for key, value in linkfiles.PERSIST_ARGS.items())
REQUIRED_IF = resource.RESOURCE_REQUIRED_IF


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, required_if=REQUIRED_IF,
                           supports_check_mode=True)
    host = resource.module_host(module)
    runner = resource.Runner(InterfacesResource(persist=linkfiles.link_files(module.params)),
                             module.params, host=host, check_mode=module.check_mode,
                             diff=module._diff)
    try:
        result = runner.run()
    except NetifError as exc:
        module.fail_json(**exc.to_result())
    module_glue.exit_with(module, result)


if __name__ == "__main__":
    main()
