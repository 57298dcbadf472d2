# -*- coding: utf-8 -*-
# Copyright: hostnet.netif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """Options shared by the resource modules (interfaces, addresses, sysctls).

    The matching argspec is ``RESOURCE_COMMON_ARGS`` in
    ``plugins/module_utils/resource.py``; tests/unit/plugins/test_resource_contract.py
    fails when the two (or a module's JSON Schema) disagree. A module adds
    ``suboptions`` to ``config``; the fragment's description of ``config`` is
    replaced by the module's when it gives one.
    """

    DOCUMENTATION = r"""
options:
  config:
    description:
      - The items to manage. What an item holds is described by its suboptions.
      - Checked on the controller against the module's JSON Schema (the error names
        the field, for example C(config[1].mtu)) and again on the target.
      - Two items for the same key are an error.
    type: list
    elements: dict
  state:
    description:
      - V(merged) sets what each item gives and leaves everything else alone.
      - V(replaced) makes each listed item exactly what is given; attributes it
        does not give return to their defaults.
      - V(overridden) works inside O(scope) only, which it requires; listed items
        are replaced, items in scope that are not listed return to their defaults;
        nothing outside O(scope) is touched.
      - V(deleted) removes what the items name (see the module for what removing
        means); without O(config) it resets every item in O(scope), which it then requires.
      - V(gathered) reads the host and returns C(gathered) in the O(config) format.
      - V(rendered) contacts no host and returns C(rendered), the exact C(ip -batch)
        lines (and C(sysctl -w) writes) O(state=merged) would run, planned against
        O(running_config) when given, else against an empty host.
      - V(parsed) contacts no host and turns O(running_config) into C(parsed), a list
        in the O(config) format.
      - Changing states run under a lock per network namespace, journal the snapshot,
        apply the whole plan as one C(ip -batch) process, read the host again and verify
        every requested value; on any failure they restore the previous state and fail
        with the failing line and the kernel's message. A run that finds the journal of
        an interrupted apply (a killed task) restores it first and returns C(recovered).
    type: str
    choices: [merged, replaced, overridden, deleted, gathered, rendered, parsed]
    default: merged
  running_config:
    description:
      - The text of a captured C(ip -json -d addr show) for O(state=parsed) (required)
        and O(state=rendered) (optional).
    type: str
  scope:
    description:
      - Shell-style globs (C(fnmatch)) of the interface names this task may touch.
      - Required by O(state=overridden) and by O(state=deleted) without O(config).
        When given, every O(config) item must be inside it.
    type: list
    elements: str
  force:
    description:
      - Allow a change that would cut the management session.
      - By default a plan that takes down, deletes, re-addresses, changes the MAC or
        master of, or resets the interface carrying the Ansible SSH session (found
        from C(SSH_CONNECTION) and C(ip route get)) is refused before anything changes,
        and so is a plan that turns ARP off on it, sets an MTU below 576 (IPv4 session)
        or 1280 (IPv6 session) on it or a device below it, gives the session address a
        finite C(valid_lft), adds the controller's own address anywhere or a more
        specific prefix of the controller's subnet on another interface, makes the
        effective C(arp_ignore) (C(max(all, interface))) stop answering ARP for the
        session address, or sets C(disable_ipv6) (or C(hop_limit) 1 when routed) under an
        IPv6 session.
      - After the change, inside the transaction, C(ip route get) to the controller must
        still give the same device and source address; otherwise the change is restored
        and the task fails saying what moved.
      - V(true) skips both checks (the way to move a management path on purpose); a
        forced change that moved the route to the controller is reported as a warning.
    type: bool
    default: false
  confirm_timeout:
    version_added: 0.2.0
    description:
      - Commit-confirm, for cuts nobody predicted (a firewall elsewhere, a switch port, an
        asymmetric route, an MTU black hole). V(0) (the default) turns it off; otherwise
        10 to 3600 seconds.
      - Before the batch the snapshot is kept in a journal under C(/run/hostnet-netif) and a
        detached watchdog process is started on the host. After the module returns, the
        action plugin resets the connection (a multiplexed SSH master could hide a cut)
        and confirms over a new one; if that does not succeed before the deadline, the task
        fails with C(not confirmed) and the watchdog restores the previous state at the
        deadline. The next changing run on the host reports what the watchdog did
        (C(confirm_log)).
      - While a window is open, a change of another window on the same host (network
        namespace) is refused. Check mode arms nothing.
      - C(/run) is emptied by a reboot, so a reboot during a window ends it and the boot
        configuration applies.
      - With C(persist), the watchdog restores the persisted files too (their contents from
        before the window; files the window created are removed), with the runtime state.
    type: int
    default: 0
  confirm_window:
    version_added: 0.2.0
    description:
      - Join the commit-confirm window with this id instead of opening one for this task
        alone. The task arms (or extends) that window and does not confirm it; a later
        C(hostnet.netif.confirm) task with the same O(confirm_window) confirms every task
        of the window at once, and the watchdog restores all of them together if it does
        not come. Each task of the window restarts the countdown of O(confirm_timeout).
      - The C(hostnet.netif.configure) role uses it for O(confirm_timeout) across its steps.
      - Requires O(confirm_timeout). 1 to 64 letters, digits, C(_), C(.) or C(-).
    type: str
notes:
  - Check mode computes the same plan and changes nothing; C(commands) shows it.
  - With C(--diff) the C(diff) holds the affected items before and after as YAML.
  - The management guard needs C(SSH_CONNECTION) in the module's environment; with
    C(become) through sudo keep it in C(env_keep), else the module warns that
    the guard is inactive.
"""

    # persist/persist_backend of interfaces and addresses (argspec: module_utils/linkfiles.py PERSIST_ARGS)
    PERSIST = r"""
options:
  persist:
    description:
      - Also write the files the host boots from, so the state this task verified survives
        a reboot (systemd-networkd files or one netplan file, see O(persist_backend)).
      - A file holds the whole persistent state of each interface the task touches, as the
        host shows it once the change is verified (kind and kind data, MTU, MAC, master,
        enabled, txqueuelen, alias, addresses); deleting an interface removes its files.
        A field the backend cannot express is reported as a warning naming it. The mapping
        of fields to backends is in docs/persistence.md.
      - Only files the collection owns are written (networkd
        C(/etc/systemd/network/50-hostnet-<name>.netdev), C(.network), C(.link); netplan
        C(/etc/netplan/60-hostnet-netif.yaml), mode 0600), each starting with a comment that
        it is managed by hostnet.netif. A file hostnet.netif did not write that already
        configures a touched interface (networkd, netplan, NetworkManager, ifupdown) fails
        the task before any change, naming the file.
      - The files are part of the transaction. They are planned with the runtime changes (shown by
        check mode and, with diff, as one diff per file), written atomically (temporary
        file, fsync, rename) after the runtime is verified, and restored together with the
        runtime on any failure or after an interrupted run. No network service is reloaded
        or restarted, and C(netplan apply) is never run.
      - V(false) changes the running kernel only (a reboot undoes the task).
      - Ignored by O(state=gathered), V(rendered) and V(parsed).
    type: bool
    default: false
  persist_backend:
    description:
      - Which files O(persist=true) writes. V(auto) is V(netplan) when C(/etc/netplan)
        holds YAML files and netplan is installed, otherwise V(networkd).
      - "Both need systemd-networkd on the host (netplan is written with
        C(renderer: networkd)); when the chosen backend is not installed the task fails
        before any change, naming the choices."
    type: str
    choices: [auto, networkd, netplan]
    default: auto
"""
