#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hostnet.netif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: sysctls
short_description: Set per-interface IPv4 and IPv6 sysctls (net.ipv4.conf, net.ipv6.conf) of Linux
version_added: 0.1.0
description:
  - Sets the per-interface kernel parameters under C(/proc/sys/net/ipv4/conf/<name>/) and
    C(/proc/sys/net/ipv6/conf/<name>/), for interfaces and for C(all) and C(default), in the
    resource-module style (O(state=merged), V(replaced), V(overridden), V(deleted),
    V(gathered), V(rendered), V(parsed)).
  - Only the keys of a fixed allow-list can be named, each with its documented range of values
    (for example C(rp_filter) 0-2, C(arp_ignore) 0-8, C(arp_announce) 0-2, C(accept_ra) 0-2,
    switches 0/1, IPv6 C(mtu) 1280-65535, C(hop_limit) 1-255), checked on the controller against
    a JSON Schema (the error names the field, for example C(config[1].ipv4.rp_filter)) and again
    on the target. Key names never become paths unchecked, so there are no path tricks.
  - Values are written under a per-network-namespace lock after the old values are read,
    read back and verified; on any failure every value written is restored and the task
    fails naming the key and the kernel's message.
  - Interface names are used as they are in C(/proc) (C(eth0.100) is
    C(/proc/sys/net/ipv4/conf/eth0.100/)); in C(sysctl) key names and in O(persist_file) a dot
    in an interface name is written C(/) (C(net.ipv4.conf.eth0/100.rp_filter)), as
    sysctl.d(5) says.
  - "Defaults (what V(replaced) gives the keys an item does not name, V(overridden) the interfaces
    in O(scope) that are not listed, and V(deleted) the keys it names): the value in
    C(conf/default), which the kernel copies into an interface when it is created.
    C(mc_forwarding) (read-only), IPv6 C(mtu) (it follows the link MTU) and keys the kernel
    lacks are never reset."
author:
  - hostnet.netif maintainers (@hostnet)
requirements:
  - Python 3.8 or newer on the target (standard library only)
  - iproute2 4.14 or newer (C(ip -json)) on the target, to read the interfaces
  - jsonschema and netaddr on the controller
extends_documentation_fragment:
  - hostnet.netif.resource
attributes:
  check_mode:
    support: full
    description: Computes the same plan (and the new O(persist_file) text) and changes nothing.
  diff_mode:
    support: full
    description: Returns the affected items before and after, and the O(persist_file) diff.
  platform:
    support: full
    platforms: [posix]
    description: Linux only.
options:
  config:
    description:
      - One item per interface, or for V(all) or V(default). An item naming an interface that
        does not exist, or a key this host's kernel lacks, fails the task before any change. In
        check mode an item naming an interface that does not exist yet is planned as if an
        earlier task of the play had created it, with a warning that says so.
      - With O(state=deleted) an item returns the keys it names to their defaults (the values
        given are ignored), every key of a family given as an empty dict, or every key of both
        families when it names neither. V(all) and V(default) have no default and are refused.
      - V(all) and V(default) items set the keys they give under every state; V(replaced) and
        V(overridden) do not reset their other keys, and resets of a whole O(scope) skip them.
    type: list
    elements: dict
    suboptions:
      name:
        description:
          - Interface name (1 to 15 bytes; no C(/), C(:), whitespace; not C(.) or C(..)), or
            V(all) or V(default).
          - Writing C(forwarding) of V(all) changes every interface (the kernel's rule; IPv4
            also sets V(all) C(accept_redirects) to the opposite value, IPv6 1 to 0 clears every
            C(force_forwarding)); a restore after a failure writes the old V(all) value back,
            which does the same. C(forwarding) and C(force_forwarding) are therefore written
            first (V(all) before the rest), and keys of the task such a write changed are
            written after it, so the task's values win.
        type: str
        required: true
      ipv4:
        description:
          - Keys of C(net.ipv4.conf.<name>) and their values (integers).
          - "Allowed: accept_local, accept_redirects, accept_source_route, arp_filter, arp_notify,
            bootp_relay, disable_policy, disable_xfrm, drop_gratuitous_arp,
            drop_unicast_in_l2_multicast, forwarding, ignore_routes_with_linkdown, log_martians,
            promote_secondaries, proxy_arp, proxy_arp_pvlan, route_localnet, secure_redirects,
            send_redirects, shared_media, src_valid_mark (0/1); arp_accept, arp_announce,
            rp_filter (0-2); arp_ignore (0-8); igmpv2_unsolicited_report_interval,
            igmpv3_unsolicited_report_interval (milliseconds, 0-2147483647); medium_id (-1 or
            more); tag (any 32-bit integer). C(mc_forwarding) is read-only."
        type: dict
      ipv6:
        description:
          - Keys of C(net.ipv6.conf.<name>) and their values (integers).
          - "Allowed: accept_ra_defrtr, accept_ra_from_local, accept_ra_mtu, accept_ra_pinfo,
            accept_ra_rtr_pref, accept_redirects, autoconf, disable_ipv6, disable_policy,
            drop_unicast_in_l2_multicast, drop_unsolicited_na, enhanced_dad, force_forwarding,
            forwarding, ignore_routes_with_linkdown, ndisc_notify, proxy_ndp, seg6_enabled,
            suppress_frag_ndisc, use_oif_addrs_only (0/1); accept_dad, accept_ra,
            force_mld_version (0-2); accept_ra_min_hop_limit (0-255);
            accept_ra_rt_info_max_plen, accept_ra_rt_info_min_plen (0-128); accept_source_route,
            keep_addr_on_down (-1-1); addr_gen_mode (0-3); hop_limit (1-255); mtu (1280-65535,
            at most the link MTU); use_tempaddr (-1-2); router_solicitations (-1 or more);
            router_solicitation_delay, router_solicitation_interval (seconds, 0-2147483);
            mldv1_unsolicited_report_interval, mldv2_unsolicited_report_interval (milliseconds,
            multiples of 100 up to 2147483600: the kernel keeps them in jiffies);
            dad_transmits, max_addresses, max_desync_factor, regen_max_retry, temp_prefered_lft,
            temp_valid_lft (0 or more). C(mc_forwarding) is read-only; C(router_probes) is not a
            sysctl of Linux."
        type: dict
  persist:
    description:
      - Also keep the values in O(persist_file) under C(/etc/sysctl.d), so they survive a reboot.
      - The file holds the values tasks with O(persist=true) set; keys a task resets
        (V(replaced), V(overridden), V(deleted)) are removed from it, and it is removed when
        nothing is left. Lines of the file this module does not write are kept.
      - Per-interface lines start with C(-), so systemd-sysctl does not fail at boot for an
        interface that does not exist yet; systemd's udev rules apply them when it appears.
      - The file is replaced atomically (a temporary file in the same directory, then rename).
        When runtime values change too, the file is written after they are verified, and a
        failure to write it restores the runtime values.
      - Ignored by O(state=gathered), V(rendered) and V(parsed).
    type: bool
    default: false
  persist_file:
    description:
      - File name (not a path) in C(/etc/sysctl.d) used by O(persist=true). It must end in
        C(.conf) (sysctl.d reads nothing else) and may not contain C(/) or C(..).
    type: str
    default: 90-hostnet-netif.conf
notes:
  - O(running_config) for V(parsed) and V(rendered) is the text of C(sysctl -a) (or of a
    sysctl.d file), not C(ip -json) output; lines that are not per-interface keys of the
    allow-list are ignored.
  - For tests, the environment variable C(HOSTNET_NETIF_SYSCTL_DIR) on the target replaces
    C(/etc/sysctl.d) with another existing absolute directory.
  - Resetting keys of the interface that carries the Ansible SSH session (V(replaced),
    V(overridden), V(deleted)) is refused unless O(force=true), like every reset by the
    resource modules; so is an C(arp_ignore) on that interface or on C(all) that makes
    the effective value (C(max(all, interface))) stop answering ARP for the session
    address (8 always; 1, 2, 3 when the session's addressing makes them cut), and
    C(disable_ipv6) on it or on C(all) (or C(hop_limit) 1 on it when the session is
    routed) under an IPv6 session.
  - C(before) and C(after) hold the affected items only, with the keys the task read (for
    V(merged) the keys it names; for the other changing states all of them).
seealso:
  - module: hostnet.netif.interface_facts
  - module: hostnet.netif.addresses
"""

EXAMPLES = r"""
- name: Strict reverse-path filtering and no redirects on eth1 and for new interfaces (merged)
  hostnet.netif.sysctls:
    config:
      - name: eth1
        ipv4: {rp_filter: 1, accept_redirects: 0, send_redirects: 0}
        ipv6: {accept_ra: 0, accept_redirects: 0}
      - name: default
        ipv4: {rp_filter: 1, log_martians: 1}

- name: The same, kept across reboots in /etc/sysctl.d/60-edge.conf
  hostnet.netif.sysctls:
    persist: true
    persist_file: 60-edge.conf
    config:
      - name: eth0.100              # written net.ipv4.conf.eth0/100.rp_filter in the file
        ipv4: {rp_filter: 2}

- name: eth1 gets these values; its other keys return to conf/default (replaced)
  hostnet.netif.sysctls:
    state: replaced
    config:
      - name: eth1
        ipv4: {rp_filter: 1, arp_ignore: 1, arp_announce: 2}

- name: Inside veth-*, listed as given, every other interface back to conf/default (overridden)
  hostnet.netif.sysctls:
    state: overridden
    scope: ["veth-*"]
    config:
      - name: veth-a
        ipv4: {proxy_arp: 1}

- name: Return two keys of eth1 to conf/default (deleted; the values given are ignored)
  hostnet.netif.sysctls:
    state: deleted
    config:
      - name: eth1
        ipv4: {proxy_arp: 0, arp_ignore: 0}

- name: Return every key of eth2 to conf/default (deleted without keys)
  hostnet.netif.sysctls:
    state: deleted
    persist: true
    config:
      - name: eth2

- name: Read every per-interface key of the eth* interfaces
  hostnet.netif.sysctls:
    state: gathered
    scope: ["eth*"]
  register: current

- name: Show the sysctl writes merged would make, touching no host
  hostnet.netif.sysctls:
    state: rendered
    config:
      - name: eth1
        ipv4: {rp_filter: 1}
  delegate_to: localhost

- name: Turn captured `sysctl -a` output into config, touching no host
  hostnet.netif.sysctls:
    state: parsed
    running_config: "{{ lookup('file', 'captures/host1-sysctl-a.txt') }}"
    scope: ["eth*", "all"]
  delegate_to: localhost
"""

RETURN = r"""
before:
  description: The affected items before the task, in the O(config) format.
  returned: when O(state) is merged, replaced, overridden or deleted
  type: list
  elements: dict
  sample: [{name: eth1, ipv4: {rp_filter: 0, accept_redirects: 1}}]
after:
  description: The affected items after the task (predicted in check mode).
  returned: when changed
  type: list
  elements: dict
commands:
  description: The writes, in the order they run, spelled as C(sysctl -w) commands.
  returned: when O(state) is merged, replaced, overridden or deleted
  type: list
  elements: str
  sample: ["sysctl -w net.ipv4.conf.eth0/100.rp_filter=1"]
persist:
  description: The O(persist_file) path and whether it changed (or would change in check mode).
  returned: when O(persist=true) and O(state) is merged, replaced, overridden or deleted
  type: dict
  sample: {path: /etc/sysctl.d/90-hostnet-netif.conf, changed: true}
gathered:
  description: The per-interface keys on the host in the O(config) format.
  returned: when O(state=gathered)
  type: list
  elements: dict
rendered:
  description: The writes O(state=merged) would make, as C(sysctl -w) commands.
  returned: when O(state=rendered)
  type: list
  elements: str
parsed:
  description: O(running_config) in the O(config) format.
  returned: when O(state=parsed)
  type: list
  elements: dict
restored:
  description: Whether the previous values were restored after a failure.
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
recovered:
  description:
    - Set when this run found the journal of an interrupted apply (a task killed while it wrote sysctls
      in this network namespace) and restored it before its own change (C(changed) is then true).
      Keys C(journal), C(pid), C(started), C(interrupted_commands), C(restore_commands); see the
      user guide, section "An interrupted apply".
  returned: when an interrupted apply was found and restored
  type: dict
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.hostnet.netif.plugins.module_utils import module_glue, resource
from ansible_collections.hostnet.netif.plugins.module_utils import sysctls
from ansible_collections.hostnet.netif.plugins.module_utils.errors import NetifError

ARGUMENT_SPEC = resource.argument_spec(sysctls.CONFIG_OPTIONS)
ARGUMENT_SPEC.update((key, dict(value)) for key, value in sysctls.EXTRA_ARGS.items())
REQUIRED_IF = resource.RESOURCE_REQUIRED_IF


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, required_if=REQUIRED_IF,
                           supports_check_mode=True)
    host = resource.module_host(module)
    try:
        result = sysctls.run(module.params, host, check_mode=module.check_mode,
                             diff=module._diff, environ=os.environ)
    except NetifError as exc:
        module.fail_json(**exc.to_result())
    module_glue.exit_with(module, result)


if __name__ == "__main__":
    main()
