# -*- coding: utf-8 -*-
# Copyright: hostnet.netif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Commit-confirm on the controller: confirm a window over a NEW connection.

A setter run with ``confirm_timeout`` returns ``confirm`` {armed, window,
deadline, remaining, ...}; :func:`confirm_window` then resets the connection
(an SSH ControlPersist master would otherwise carry the confirm over the very
TCP connection the change may have cut, or hide that it is dead) and runs
``hostnet.netif.confirm`` until it succeeds or the window's time is up. Each
attempt's connect timeout is what is left of the window, and ansible's own
reconnection retries are off (retrying past the deadline proves nothing).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import binascii
import os
import time

from ansible.errors import AnsibleConnectionFailure

CONFIRM_MODULE = "hostnet.netif.confirm"
_MARGIN = 0.5  # seconds: an attempt started later than this before the deadline is pointless


_KEEPALIVE = "-o ServerAliveInterval=1 -o ServerAliveCountMax=3"


def _harden(connection):
    """A connection that notices a cut within seconds and never re-runs a module.

    The reset stops a ControlPersist master started without keepalives; the next
    one gets them, so a module whose replies the change cut off ends in a connection
    failure instead of a wait for TCP to give up. Ansible's reconnection retries
    would run the module again: off."""
    connection.reset()
    if connection.has_option("ssh_extra_args"):
        extra = connection.get_option("ssh_extra_args") or ""
        if "ServerAliveInterval" not in extra:
            connection.set_option("ssh_extra_args", (extra + " " + _KEEPALIVE).strip())
    if connection.has_option("reconnection_retries"):
        connection.set_option("reconnection_retries", 0)


def run_setter(action, module_name, module_args, task_vars, clock=time.monotonic,
               sleep=time.sleep):
    """Run a setter; with ``confirm_timeout`` confirm its window over a new connection
    (unless the task joins a window named by ``confirm_window``: its caller confirms)."""
    timeout = module_args.get("confirm_timeout") or 0
    if not timeout or action._task.check_mode:
        return action._execute_module(module_name=module_name, module_args=module_args,
                                      task_vars=task_vars)
    parent = os.getppid()
    own = module_args.get("confirm_window") is None
    if own:
        module_args = dict(module_args, confirm_window="task-%s"
                           % binascii.hexlify(os.urandom(8)).decode("ascii"))
    _harden(action._connection)
    started = clock()
    try:
        result = action._execute_module(module_name=module_name, module_args=module_args,
                                        task_vars=task_vars)
    except AnsibleConnectionFailure as exc:
        result = {"unreachable": True, "msg": str(exc).strip()}
    if result.get("unreachable"):
        # the change may have cut its own reply: confirm if the host is reachable anew
        left = timeout - (clock() - started)
        armed = {"armed": None, "window": module_args["confirm_window"], "timeout": timeout,
                 "joined": not own, "remaining": left,
                 "deadline": "%s at the latest" % time.strftime(
                     "%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + left))}
        if not own:  # its caller confirms the window, or the watchdog restores all of it
            host = (task_vars or {}).get("inventory_hostname") or action._play_context.remote_addr
            return {"failed": True, "confirm": armed, "msg": (
                "not confirmed: the connection broke while the module ran (%s); %s restores its "
                "state from before window %s at %s unless the window is confirmed" % (
                    result.get("msg"), host, armed["window"], armed["deadline"]))}
        outcome = confirm_window(action, task_vars, armed, clock(), clock=clock,
                                 sleep=sleep, parent=parent)
        if outcome.get("failed"):
            outcome["msg"] += "; the module's own connection broke before it returned (%s)" % (
                result.get("msg"))
        else:
            outcome.update(failed=True, msg=(
                "the connection broke while the module ran (%s); the window was confirmed over "
                "a new connection, so the change stays, but its result was lost"
                % result.get("msg")))
        return outcome
    armed = result.get("confirm") or {}
    if own and armed:
        armed["joined"] = False
    if armed.get("armed") and own and not result.get("failed"):
        result.update(confirm_window(action, task_vars, armed, clock(), clock=clock,
                                     sleep=sleep, parent=parent))
    return result


def _bound_connection(connection, left):
    for name, value in (("timeout", max(1, int(left))), ("reconnection_retries", 0)):
        if connection.has_option(name):
            current = connection.get_option(name)
            if name != "timeout" or current is None or current > value:
                connection.set_option(name, value)


def confirm_window(action, task_vars, armed, returned_at, clock=time.monotonic,
                   sleep=time.sleep, parent=None):
    """Confirm ``armed`` (a setter's ``confirm`` result, read at ``clock()`` =
    ``returned_at``) -> dict to merge into the task result (``confirm`` and, when it
    did not work, ``failed``/``msg``).

    ``parent`` is the pid of ansible's main process when the task started: a worker
    runs in its own session and outlives a killed ansible-playbook, but nobody would
    learn that the change was kept, so it never confirms for a dead run."""
    host = (task_vars or {}).get("inventory_hostname") or action._play_context.remote_addr
    deadline = returned_at + float(armed.get("remaining") or 0)
    outcome = dict(armed)
    errors = []
    attempts = 0
    parent = os.getppid() if parent is None else parent
    while clock() < deadline - _MARGIN:
        if os.getppid() != parent:
            errors.append("ansible's main process (pid %d) is gone" % parent)
            break
        attempts += 1
        try:
            action._connection.reset()
            _bound_connection(action._connection, deadline - clock())
            if os.getppid() != parent:
                errors.append("ansible's main process (pid %d) is gone" % parent)
                break
            result = action._execute_module(module_name=CONFIRM_MODULE,
                                            module_args={"window": armed["window"]},
                                            task_vars=task_vars)
        except AnsibleConnectionFailure as exc:
            errors.append(str(exc).strip())
            sleep(min(1.0, max(0.0, deadline - clock())))
            continue
        if result.get("unreachable"):
            errors.append(str(result.get("msg", "unreachable")).strip())
            sleep(min(1.0, max(0.0, deadline - clock())))
            continue
        outcome["attempts"] = attempts
        if result.get("failed"):
            outcome["confirmed"] = False
            return {"confirm": outcome, "failed": True,
                    "msg": "not confirmed: %s" % result.get("msg")}
        outcome.update(confirmed=True, confirmed_by=result.get("confirmed_by"),
                       confirmed_over="a new %s connection (reset first)"
                       % action._connection.transport)
        return {"confirm": outcome}
    outcome.update(confirmed=False, attempts=attempts)
    return {"confirm": outcome, "failed": True,
            "msg": "not confirmed: %s restores its previous state at %s (the controller could "
                   "not reach it over a new connection: %s)" % (
                       host, armed.get("deadline"),
                       errors[-1] if errors else "no time was left to try")}
