#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hostnet.netif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: interface_facts
short_description: Gather Linux network-interface facts from one C(ip -json) dump
version_added: 0.1.0
description:
  - Gathers every interface fact that Qt's C(QNetworkInterface) and
    C(QNetworkInformation) expose (flags, Qt-style type, MTU, hardware address,
    addresses with netmask, broadcast, lifetimes, DNS eligibility, reachability)
    and more (kind, parent, master, carrier, per-interface sysctls with the
    effective value the kernel uses) into C(ansible_facts.netif).
  - Costs one C(ip -json -d addr show) process, plus two default-route queries
    for O(gather_subset=routes) or O(gather_subset=connectivity); sysfs is read only
    for non-virtual interfaces and procfs only for the sysctl keys asked for.
    There is no process per interface.
  - Interface names are kept exactly as the kernel spells them, dots and dashes
    included (no C(setup)-style mangling). A name that is not plain (a control
    or other non-printable character, a backslash, bytes that are not UTF-8) is
    escaped and its exact bytes are in C(name_hex); aliases with control
    characters likewise, with C(alias_hex). Gathering never fails because of
    what a host names or labels its interfaces (see docs/facts.md).
  - With O(running_config) the document is built on the controller from
    captured C(ip -json -d addr show) output; no host is contacted.
author:
  - hostnet.netif maintainers (@hostnet)
requirements:
  - iproute2 4.14 or newer (C(ip -json)) on the target
  - Python 3.8 or newer on the target (standard library only)
attributes:
  check_mode:
    support: full
    description: Gathering changes nothing; check mode runs the same code.
  diff_mode:
    support: none
    description: Gathering changes nothing, so there is no diff.
  facts:
    support: full
    description: Returns C(ansible_facts.netif).
  platform:
    support: full
    platforms: [posix]
    description: Linux only.
options:
  gather_subset:
    description:
      - Which parts of the document to gather.
      - V(links) (always gathered, also called V(min)) is one record per interface.
        V(addresses) adds C(addresses[]) to each interface. V(stats) adds
        C(statistics) (adds C(-s) to the dump). V(sysctl) adds per-interface
        C(sysctl) (raw and effective) and host-level C(sysctl). V(routes) adds
        C(default_routes). V(connectivity) adds C(connectivity). V(packet_sockets) adds
        C(packet_sockets) to each interface and the host, the AF_PACKET sockets (sniffers,
        DHCP clients) and the processes holding them (reads C(/proc/net/packet), one netlink
        dump, and the C(/proc/<pid>/fd) links of every process when there is a packet socket).
      - V(all) is every subset. Prefix an entry with C(!) to exclude it; a list of
        C(default_routes). V(connectivity) adds C(connectivity).
      - V(boot) adds C(boot), what the next boot will apply, read from configuration
        files (systemd-networkd, netplan, NetworkManager keyfiles, ifupdown, sysctl.d in
        systemd-sysctl order). It is opt-in (name it explicitly); V(all) does not include it,
        because it reads files rather than the kernel and costs more on hosts with many
        configuration files.
      - V(all) is every subset but V(boot). Prefix an entry with C(!) to exclude it; a list of
        exclusions only (for example V(!addresses)) starts from the default.
      - The default is the fast set, everything but V(stats) and V(sysctl),
        which keeps the returned document lean on hosts with thousands of interfaces.
    type: list
    elements: str
    default: [links, addresses, routes, connectivity]
  interfaces:
    description:
      - Shell-style globs (C(fnmatch)) of interface names to include. Empty means all.
      - Globs match the names as the facts spell them (escaped names included).
        An entry without glob characters (C(*), C(?), C([)) that names no
        interface on the host gives a warning.
      - O(interfaces) and O(exclude) also select the names of C(boot.interfaces).
    type: list
    elements: str
    default: []
  exclude:
    description:
      - Globs of interface names to leave out, applied after O(interfaces).
    type: list
    elements: str
    default: []
  kinds:
    description:
      - Only interfaces of these kinds (for example V(ethernet), V(veth), V(bridge),
        V(vlan), V(loopback), V(wifi)). Empty means all kinds.
    type: list
    elements: str
    default: []
  sysctl_keys:
    description:
      - Which sysctls to read when O(gather_subset) includes V(sysctl).
      - V(ipv4.<key>) and V(ipv6.<key>) read C(/proc/sys/net/<family>/conf/<iface>/<key>)
        for every gathered interface and C(all)/C(default); only keys on the
        collection's allow-list are accepted.
      - Host-wide keys are given by full name, for example V(net.ipv4.tcp_syncookies).
      - The default is the security-relevant set the shipped CIS-derived baseline
        judges (forwarding, rp_filter, redirects, source routing, martians, proxy_arp,
        ARP behaviour, IPv6 router advertisements, syncookies, ICMP broadcast echo
        and bogus error responses).
    type: list
    elements: str
  running_config:
    description:
      - The text of a captured C(ip -json -d addr show) (optionally with C(-s)).
        The document is built offline on the controller and no host is touched;
        sysfs-only facts (driver, speed, duplex) and sysctls are C(null)/absent.
    type: str
  boot_files:
    description:
      - Captured boot configuration files for offline use with O(running_config) and
        O(gather_subset=boot), as a dict of absolute path (for example
        C(/etc/systemd/network/10-eth0.network)) to the file's text. They are read on the
        controller exactly like a host's files; symlinks and file modes are not part of a
        capture, so NetworkManager keyfiles are taken as mode 0600.
    type: dict
notes:
  - C(speed_mbps) and C(duplex) are read for physical, wireless and bond
    interfaces only; virtual interfaces report a nominal speed, returned as C(null).
  - The C(type) field follows Qt's link-layer category (a veth is V(ethernet),
    like Qt reports it); C(kind) tells what the interface really is.
seealso:
  - module: ansible.builtin.setup
"""

EXAMPLES = r"""
- name: Gather the default (fast) interface facts
  hostnet.netif.interface_facts:

- name: Only eth* interfaces, with statistics and the default sysctls
  hostnet.netif.interface_facts:
    interfaces: ["eth*"]
    gather_subset: [all, "!routes"]

- name: Everything but addresses, skipping veth interfaces on a hypervisor
  hostnet.netif.interface_facts:
    gather_subset: ["!addresses"]
    exclude: ["veth*"]

- name: Read two sysctls and one host key
  hostnet.netif.interface_facts:
    gather_subset: [links, sysctl]
    sysctl_keys: [ipv4.rp_filter, ipv6.accept_ra, net.ipv4.tcp_syncookies]

- name: Build the document offline from a capture
  hostnet.netif.interface_facts:
    running_config: "{{ lookup('file', 'captures/host1-ip-addr.json') }}"
  delegate_to: localhost

- name: What the next boot applies (networkd, netplan, NetworkManager, ifupdown, sysctl.d)
  hostnet.netif.interface_facts:
    gather_subset: [links, boot]

- name: The same from captures, on the controller
  hostnet.netif.interface_facts:
    gather_subset: [links, boot]
    running_config: "{{ lookup('file', 'captures/host1-ip-addr.json') }}"
    boot_files:
      /etc/systemd/network/10-eth0.network: "{{ lookup('file', 'captures/host1/10-eth0.network') }}"
  delegate_to: localhost

- name: Show the effective rp_filter of eth0
  ansible.builtin.debug:
    msg: "{{ ansible_facts.netif.interfaces['eth0'].sysctl.effective.ipv4.rp_filter }}"

# Ad hoc:
#   ansible all -m hostnet.netif.interface_facts -a 'interfaces=eth*'
"""

RETURN = r"""
ansible_facts:
  description: Facts added to the host.
  returned: always
  type: dict
  contains:
    netif:
      description: The facts document (JSON Schema C(facts.schema.json) in the collection).
      returned: always
      type: dict
      contains:
        schema_version:
          description: Version of the facts document layout.
          returned: always
          type: int
          sample: 1
        gather_subset:
          description: The subsets that were gathered.
          returned: always
          type: list
          elements: str
          sample: [addresses, connectivity, links, routes]
        interfaces:
          description: >-
            One record per interface, keyed by the exact kernel name, or by its escaped
            spelling when the name is not plain (see C(name_hex)).
          returned: always
          type: dict
          contains:
            name:
              description: >-
                Interface name (IFLA_IFNAME) when it is plain (printable, no backslash);
                else escaped - C(\\) for a backslash, C(\xNN) for a byte that is not
                UTF-8 or a control character below U+0080, C(\uNNNN) for any other
                non-printable character (U+0085, U+2028, U+3000 ...).
              returned: always
              type: str
              sample: eth0
            name_hex:
              description: The kernel name's exact bytes in hex.
              returned: when C(name) is escaped
              type: str
              sample: 61ff62
            alias_hex:
              description: The alias's exact bytes in hex.
              returned: >-
                when C(alias) is escaped (it holds a C0/C1 control character other than tab,
                DEL, U+2028, U+2029 or bytes that are not UTF-8)
              type: str
            index: {description: Interface index., returned: always, type: int, sample: 2}
            alias: {description: "Interface alias (ifalias, Qt humanReadableName) or null.", returned: always, type: str}
            altnames: {description: Alternative names., returned: always, type: list, elements: str}
            kind:
              description: >-
                What the interface is: ethernet, wifi, loopback, veth, bridge, bond, vlan, macvlan,
                vxlan, dummy, tun, tap, wireguard, ifb, ...
              returned: always
              type: str
              sample: veth
            type:
              description: >-
                Qt-style link-layer category: loopback, ethernet, wifi, virtual, ppp, can, slip,
                fddi, ieee1394, phonet, ieee802154, sixlowpan, infiniband, unknown.
              returned: always
              type: str
              sample: ethernet
            flags:
              description: >-
                Interface flags, lowercase IFF_* names (up, running, broadcast, loopback,
                pointtopoint, multicast, promisc, noarp, allmulti, lower_up, dormant, ...).
              returned: always
              type: list
              elements: str
            admin_state: {description: "V(up) when IFF_UP is set, else V(down).", returned: always, type: str}
            oper_state:
              description: >-
                RFC 2863 operational state, lowercase (up, down, unknown, dormant, lowerlayerdown,
                notpresent, testing).
              returned: always
              type: str
            carrier: {description: Whether the interface has carrier (IFF_LOWER_UP)., returned: always, type: bool}
            mtu: {description: MTU in bytes., returned: always, type: int, sample: 1500}
            min_mtu: {description: Smallest MTU the driver accepts (null if unknown)., returned: always, type: int}
            max_mtu: {description: Largest MTU the driver accepts (null if unknown; 0 means no limit reported)., returned: always, type: int}
            txqueuelen: {description: Transmit queue length., returned: always, type: int}
            qdisc: {description: Root queueing discipline., returned: always, type: str}
            group: {description: Interface group., returned: always, type: str}
            mac: {description: "Hardware address, lowercase, colon-separated (null if none).", returned: always, type: str}
            perm_mac: {description: Permanent hardware address when it differs from C(mac) and the driver reports it., returned: always, type: str}
            broadcast_mac: {description: Link-layer broadcast address., returned: always, type: str}
            master: {description: "Name of the bridge/bond this interface is enslaved to, or null.", returned: always, type: str}
            parent: {description: "Lower device (vlan, macvlan, vxlan link), or null.", returned: always, type: str}
            vlan: {description: "C({id, protocol}) for VLAN interfaces, else null.", returned: always, type: dict}
            kind_data:
              description: >-
                Kind-specific settings: veth C({peer, peer_index}), macvlan C({mode}), vxlan C({vni,
                local, remote, group, dstport, parent}), bond C({mode}), tun C({type, owner,
                multi_queue}), vlan C({id, protocol}); null for other kinds.
              returned: always
              type: dict
            link_netns: {description: "Network namespace id of the peer/lower device when it lives in another namespace, or null.", returned: always, type: int}
            driver: {description: "Kernel driver (sysfs for physical devices, the link kind for virtual ones) or null.", returned: always, type: str}
            speed_mbps: {description: "Link speed in Mb/s for physical, wireless and bond interfaces; null when unknown.", returned: always, type: int}
            duplex: {description: V(full) or V(half); null when unknown., returned: always, type: str}
            promisc:
              description: >-
                Whether the kernel has the interface in promiscuous mode (IFF_PROMISC in
                C(/sys/class/net/<name>/flags), that is C(promiscuity) > 0): by request, by a
                packet socket (tcpdump) or by the topology (a bridge port). Null when the
                dump lacks the counter. Before 0.2.0 this was the requested flag, now
                C(promisc_requested).
              returned: always
              type: bool
            promisc_requested:
              description: >-
                Whether promiscuous mode was requested (C(ip link set promisc on)); what C(ip link)
                shows.
              returned: always
              type: bool
            promiscuity: {description: "The kernel's promiscuity counter (C(ip -d link)); null when the dump lacks it.", returned: always, type: int}
            promiscuity_explained:
              description: >-
                How much of C(promiscuity) the topology explains: a bridge or Open vSwitch port, a
                slave of a promiscuous bond or team, the lower device of a macvlan, macsec or
                promiscuous vlan (see docs/facts.md for the table; an upper bound).
              returned: always
              type: int
            promiscuity_unexplained:
              description: >-
                C(promiscuity) minus C(promiscuity_explained), at least the requested flag (and, with
                O(gather_subset=packet_sockets), the sockets holding a promiscuous membership): what the
                audit judges. Null when the dump lacks the counter.
              returned: always
              type: int
            promisc_explained_by:
              description: >-
                What the topology explains, one text per count (V(port of bridge br0)).
              returned: always
              type: list
              elements: str
            allmulti:
              description: >-
                Whether the kernel receives all multicast (IFF_ALLMULTI, the allmulti counter > 0;
                bridge ports have it); null when unknown.
              returned: always
              type: bool
            allmulti_requested: {description: "Whether all-multicast was requested (C(ip link set allmulticast on)).", returned: always, type: bool}
            allmulti_count: {description: "The kernel's allmulti counter (C(ip -d link)); null when the dump lacks it.", returned: always, type: int}
            packet_sockets:
              description: >-
                AF_PACKET sockets bound to the interface or holding a membership on it, with the
                processes that hold them (C(/proc/net/packet), memberships from the kernel's
                packet_diag, holders from the C(socket:[inode]) links in C(/proc/<pid>/fd)).
              returned: when O(gather_subset) includes V(packet_sockets)
              type: list
              elements: dict
              contains:
                inode: {description: Socket inode (the Inode column of /proc/net/packet)., returned: always, type: int}
                type: {description: "V(raw), V(dgram) or V(packet) (the obsolete SOCK_PACKET).", returned: always, type: str}
                protocol: {description: "Ethertype in host order (3 is ETH_P_ALL).", returned: always, type: int}
                bound: {description: Whether the socket is bound to this interface (else it only holds a membership on it)., returned: always, type: bool}
                promisc:
                  description: >-
                    Whether it holds a PACKET_MR_PROMISC membership on this interface; null when the
                    kernel has no packet_diag.
                  returned: always
                  type: bool
                allmulti: {description: "Whether it holds a PACKET_MR_ALLMULTI membership on this interface; null when unknown.", returned: always, type: bool}
                user: {description: Owner uid., returned: always, type: int}
                processes:
                  description: >-
                    C({pid, comm}) of every process holding the socket (empty when none could be
                    read).
                  returned: always
                  type: list
                  elements: dict
            addresses:
              description: Addresses of the interface.
              returned: when O(gather_subset) includes V(addresses)
              type: list
              elements: dict
              contains:
                family: {description: V(ipv4) or V(ipv6)., returned: always, type: str}
                address: {description: The address., returned: always, type: str, sample: 198.18.0.10}
                prefixlen: {description: Prefix length., returned: always, type: int, sample: 24}
                netmask: {description: "Netmask (dotted for IPv4, RFC 5952 for IPv6).", returned: always, type: str, sample: 255.255.255.0}
                broadcast: {description: IPv4 broadcast address or null., returned: always, type: str}
                peer: {description: Peer address of a point-to-point address or null., returned: always, type: str}
                scope: {description: "Address scope (global, site, link, host, or a number).", returned: always, type: str}
                label: {description: IPv4 label or null., returned: always, type: str}
                flags:
                  description: >-
                    Address flags: permanent or dynamic, secondary, temporary, deprecated,
                    tentative, dadfailed, noprefixroute, mngtmpaddr, nodad, optimistic, home,
                    autojoin, stable-privacy.
                  returned: always
                  type: list
                  elements: str
                preferred_lft: {description: Preferred lifetime in seconds; null means forever., returned: always, type: int}
                valid_lft: {description: Valid lifetime in seconds; null means forever., returned: always, type: int}
                dns_eligible: {description: "Qt's rule: false for temporary, deprecated, loopback and link-local addresses.", returned: always, type: bool}
            statistics:
              description: Counters (rx/tx bytes, packets, errors, dropped, rx_multicast, tx_collisions).
              returned: when O(gather_subset) includes V(stats)
              type: dict
            sysctl:
              description: >-
                Per-interface sysctls: C(ipv4) and C(ipv6) hold the raw values of
                C(conf/<iface>/<key>); C(effective) holds the value the kernel uses
                after combining C(conf/all) (OR, AND, MAX or MIN per key) and, for IPv6
                C(forwarding), C(accept_ra) and C(accept_redirects), the interface's
                C(forwarding) and C(force_forwarding) (see docs/facts.md).
              returned: when O(gather_subset) includes V(sysctl)
              type: dict
        default_routes:
          description: Default routes (family, gateway, dev, metric, protocol, table, type).
          returned: when O(gather_subset) includes V(routes)
          type: list
          elements: dict
        connectivity:
          description: >-
            Reachability after QNetworkInformation (C(reachability), C(ipv4), C(ipv6):
            disconnected, local, site or online) and C(transport_medium).
          returned: when O(gather_subset) includes V(connectivity)
          type: dict
        sysctl:
          description: Host-level sysctls by full dotted name, including C(conf.all) and C(conf.default) of the per-interface keys.
          returned: when O(gather_subset) includes V(sysctl)
          type: dict
        packet_sockets:
          description: >-
            C(memberships_known) (false when the kernel has no packet_diag: the sockets'
            C(promisc) and C(allmulti) are then null), C(total) packet sockets of the namespace,
            and C(unbound), the sockets bound to every interface without a membership (they
            see every interface's traffic but make none promiscuous).
          returned: when O(gather_subset) includes V(packet_sockets)
          type: dict
        boot:
          description:
            - What the next boot applies, read from configuration files; nothing is run.
            - Files are read with a size limit (1 MiB), as UTF-8 text, and a symlink is followed
              only inside its own directory (a link to C(/dev/null) or an empty file masks).
          returned: when O(gather_subset) includes V(boot)
          type: dict
          contains:
            interfaces:
              description: >-
                Per interface name: C(manager) (netplan, networkd, NetworkManager or ifupdown; the
                first of these that configures it, the others in C(also_configured_by)),
                C(sources) (the files, drop-ins included), the predicted C(kind), C(mtu), C(mac),
                C(master), C(enabled) (brought up at boot), static C(addresses) (CIDR strings),
                C(dhcp4), C(dhcp6); netplan adds C(netplan_id) and C(renderer), NetworkManager
                C(ipv4_method) and C(ipv6_method).
              returned: always
              type: dict
            sysctl:
              description: >-
                Every C(net.*) key the sysctl.d files set, with C(value), C(file) and C(line) of the
                assignment that wins in systemd-sysctl order (C(/etc), C(/run), C(/usr/local/lib),
                C(/usr/lib) C(sysctl.d), same basename masking, lexical order; C(/etc/sysctl.conf)
                last). A glob key is expanded over the keys the host has (C(glob) names the
                pattern; offline it stays one entry); C(ignore_failure) marks a C(-) prefix.
              returned: always
              type: dict
            errors:
              description: Files that could not be read or parsed (C(path), C(reason)); never a failed gather.
              returned: always
              type: list
              elements: dict
            unevaluated:
              description: >-
                networkd C(.network) and C(.link) files left out of the prediction because they match on keys
                that need udev or the boot itself (Type, Driver, Path, ...): C(path), C(match).
              returned: always
              type: list
              elements: dict
        summary:
          description: Counts of interfaces, up, running, addresses and interfaces per kind.
          returned: always
          type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.hostnet.netif.plugins.module_utils import module_glue, reader
from ansible_collections.hostnet.netif.plugins.module_utils.errors import NetifError

ARGUMENT_SPEC = dict(
    gather_subset=dict(type="list", elements="str", default=list(reader.model.DEFAULT_SUBSETS)),
    interfaces=dict(type="list", elements="str", default=[]),
    exclude=dict(type="list", elements="str", default=[]),
    kinds=dict(type="list", elements="str", default=[]),
    sysctl_keys=dict(type="list", elements="str", no_log=False),
    running_config=dict(type="str"),
    boot_files=dict(type="dict"),
)


def request_from_params(params):
    return reader.GatherRequest(
        gather_subset=params.get("gather_subset"),
        interfaces=params.get("interfaces"),
        exclude=params.get("exclude"),
        kinds=params.get("kinds"),
        sysctl_keys=params.get("sysctl_keys"),
    )


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    try:
        request = request_from_params(module.params)
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    try:
        if module.params["running_config"] is not None:
            document, warnings = reader.parse_running_config(module.params["running_config"], request)
        else:
            ip = reader.IpRunner(module_glue.ip_path(module), module_glue.command_runner(module))
            document, warnings = reader.gather(ip, request)
    except NetifError as exc:
        module.fail_json(**exc.to_result())
    for warning in warnings:
        module.warn(warning)
    module.exit_json(changed=False, ansible_facts={"netif": document})


if __name__ == "__main__":
    main()
