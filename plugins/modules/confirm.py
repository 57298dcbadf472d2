#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hostnet.netif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: confirm
short_description: Confirm a commit-confirm window, so its changes stay
version_added: 0.2.0
description:
  - Confirms the commit-confirm window that C(hostnet.netif.interfaces),
    C(hostnet.netif.addresses) or C(hostnet.netif.sysctls) tasks opened with
    C(confirm_timeout) and C(confirm_window). It removes the window's journal and
    stops its watchdog, so the changes stay.
  - The action plugin first resets the connection (an SSH ControlPersist master
    could hide a cut) and confirms over a new one, retrying until the window's
    deadline; if the host cannot be reached the task fails with C(not confirmed)
    and the watchdog restores the previous state of every task of the window at
    the deadline.
  - A window that already expired, was confirmed already, or never existed on the
    host fails the task clearly. A reboot ends a window (C(/run) is emptied) and the
    boot configuration applies.
  - The setters confirm their own window when O(window) was not given to them; this
    module is for windows spanning several tasks (the C(hostnet.netif.configure)
    role's C(netif_confirm_timeout) uses it).
options:
  window:
    description:
      - The id of the window (the O(hostnet.netif.interfaces#module:confirm_window) the
        tasks were given). Required unless O(armed) is given.
    type: str
  armed:
    description:
      - The C(confirm) result of the window's last task (it has C(window), C(deadline)
        and C(remaining)); with it the action plugin knows how long to keep trying and
        which deadline to name when it fails. A result whose window was not armed
        (nothing changed) makes this task a no-op.
      - With only O(window) the action plugin keeps trying for up to 60 seconds.
    type: dict
author:
  - hostnet.netif maintainers (@hostnet)
notes:
  - Check mode confirms nothing and reports what it would confirm.
"""

EXAMPLES = r"""
- name: Change addresses and sysctls in one window
  hostnet.netif.addresses:
    config: "{{ my_addresses }}"
    confirm_timeout: 60
    confirm_window: "{{ window_id }}"
  register: step1

- name: Then sysctls, in the same window
  hostnet.netif.sysctls:
    config: "{{ my_sysctls }}"
    confirm_timeout: 60
    confirm_window: "{{ window_id }}"
  register: step2

- name: Keep both (over a new connection); else both are restored after 60 s
  hostnet.netif.confirm:
    armed: "{{ step2.confirm if step2.confirm.armed else step1.confirm }}"
"""

RETURN = r"""
confirmed:
  description: True when the window was confirmed; its changes stay.
  returned: success
  type: bool
window:
  description: The window's id.
  returned: always
  type: str
deadline:
  description: When the watchdog would have restored the previous state (UTC).
  returned: success
  type: str
armed_by:
  description: C(SSH_CONNECTION) of the session that armed the window.
  returned: success
  type: str
confirmed_by:
  description: C(SSH_CONNECTION) of the session that confirmed it (a new connection).
  returned: success
  type: str
confirmed_over:
  description: The connection the confirm used.
  returned: success
  type: str
commands:
  description: The commands of every task of the window, now kept.
  returned: success
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.hostnet.netif.plugins.module_utils import confirm
from ansible_collections.hostnet.netif.plugins.module_utils.errors import NetifError

ARGUMENT_SPEC = dict(window=dict(type="str"), armed=dict(type="dict"))


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True,
                           required_one_of=[("window", "armed")])
    window = module.params["window"] or (module.params["armed"] or {}).get("window")
    if module.check_mode:
        module.exit_json(changed=False, window=window, confirmed=False)
    try:
        result = confirm.confirm(window)
    except NetifError as exc:
        module.fail_json(window=window, confirmed=False, **exc.to_result())
    module.exit_json(**result)


if __name__ == "__main__":
    main()
