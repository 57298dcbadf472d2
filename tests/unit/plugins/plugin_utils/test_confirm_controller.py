# -*- coding: utf-8 -*-
"""plugin_utils.confirm: reset, then confirm over a new connection, within the window."""

import os

import pytest
from ansible.errors import AnsibleConnectionFailure

from ansible_collections.hostnet.netif.plugins.plugin_utils import confirm


class Connection:
    transport = "ssh"

    def __init__(self):
        self.options = {"timeout": 15, "reconnection_retries": 3, "ssh_extra_args": ""}
        self.resets = 0

    def reset(self):
        self.resets += 1

    def has_option(self, name):
        return name in self.options

    def get_option(self, name):
        return self.options[name]

    def set_option(self, name, value):
        self.options[name] = value


class Action:
    def __init__(self, replies):
        self._connection = Connection()
        self.replies = list(replies)
        self.calls = []

    def _execute_module(self, module_name, module_args, task_vars):
        self.calls.append((module_name, module_args, self._connection.resets))
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return reply


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


ARMED = {"armed": True, "window": "w", "deadline": "2026-01-01T00:00:10Z", "remaining": 5.0,
         "armed_by": "c 40000 h 22"}


def run(action, clock, armed=None, parent=None):
    armed = ARMED if armed is None else armed
    return confirm.confirm_window(action, {"inventory_hostname": "h1"}, dict(armed), clock(),
                                  clock=clock, sleep=clock.sleep,
                                  parent=os.getppid() if parent is None else parent)


def test_confirms_over_a_reset_connection():
    clock = Clock()
    action = Action([{"confirmed": True, "confirmed_by": "c 40002 h 22"}])
    outcome = run(action, clock)
    assert outcome["confirm"]["confirmed"] is True and "failed" not in outcome
    assert outcome["confirm"]["confirmed_by"] == "c 40002 h 22"
    assert action.calls == [("hostnet.netif.confirm", {"window": "w"}, 1)]  # after a reset
    assert action._connection.options["timeout"] == 5  # never waits past the window
    assert action._connection.options["reconnection_retries"] == 0


def test_unreachable_until_the_deadline_fails_naming_the_restore_time():
    clock = Clock()
    action = Action([AnsibleConnectionFailure("ssh: connect timed out")] * 10)
    outcome = run(action, clock)
    assert outcome["failed"] is True
    assert outcome["msg"].startswith("not confirmed: h1 restores its previous state at "
                                     "2026-01-01T00:00:10Z")
    assert "connect timed out" in outcome["msg"] and outcome["confirm"]["confirmed"] is False
    assert 2 <= len(action.calls) <= 5 and clock.now <= 105.0


def test_a_confirm_the_host_refuses_fails_with_its_message():
    clock = Clock()
    action = Action([{"failed": True, "msg": "window w expired at T"}])
    outcome = run(action, clock)
    assert outcome["failed"] and outcome["msg"] == "not confirmed: window w expired at T"


def test_never_confirms_for_a_dead_ansible_playbook():
    clock = Clock()
    action = Action([{"confirmed": True}])
    outcome = run(action, clock, parent=os.getppid() + 100000)
    assert outcome["failed"] and action.calls == []
    assert "main process" in outcome["msg"]


@pytest.mark.parametrize("check_mode, timeout, calls", [(True, 10, 1), (False, 0, 1)])
def test_setter_without_a_window_runs_once(check_mode, timeout, calls):
    action = Action([{"changed": True}])
    action._task = type("Task", (), {"check_mode": check_mode})()
    result = confirm.run_setter(action, "hostnet.netif.interfaces",
                                {"confirm_timeout": timeout}, {})
    assert result == {"changed": True} and len(action.calls) == calls
    assert action._connection.resets == 0


def test_setter_with_a_window_names_it_and_confirms_it():
    action = Action([{"changed": True, "confirm": dict(ARMED, joined=True)},
                     {"confirmed": True, "confirmed_by": "c 40002 h 22"}])
    action._task = type("Task", (), {"check_mode": False})()
    result = confirm.run_setter(action, "hostnet.netif.interfaces", {"confirm_timeout": 10},
                                {"inventory_hostname": "h1"})
    window = action.calls[0][1]["confirm_window"]
    assert window.startswith("task-") and action.calls[0][2] == 1  # reset before the module
    assert "ServerAliveInterval" in action._connection.options["ssh_extra_args"]
    assert result["confirm"]["confirmed"] and result["confirm"]["joined"] is False
    assert action.calls[1][2] == 2  # and again before the confirm


def test_setter_joining_a_window_leaves_the_confirm_to_its_caller():
    action = Action([{"changed": True, "confirm": dict(ARMED, joined=True)}])
    action._task = type("Task", (), {"check_mode": False})()
    result = confirm.run_setter(action, "hostnet.netif.interfaces",
                                {"confirm_timeout": 10, "confirm_window": "role"}, {})
    assert len(action.calls) == 1 and "confirmed" not in result["confirm"]


def test_a_joined_step_whose_connection_broke_fails_naming_the_window():
    action = Action([AnsibleConnectionFailure("Shared connection closed")])
    action._task = type("Task", (), {"check_mode": False})()
    result = confirm.run_setter(action, "hostnet.netif.interfaces",
                                {"confirm_timeout": 10, "confirm_window": "role"},
                                {"inventory_hostname": "h1"})
    assert result["failed"] and len(action.calls) == 1
    assert result["msg"].startswith("not confirmed: the connection broke while the module ran "
                                    "(Shared connection closed); h1 restores its state from "
                                    "before window role at ")


def test_a_task_whose_own_reply_was_cut_tries_a_new_connection_then_fails():
    clock = Clock()
    action = Action([AnsibleConnectionFailure("Shared connection closed")]
                    + [AnsibleConnectionFailure("connect timed out")] * 20)
    action._task = type("Task", (), {"check_mode": False})()
    result = confirm.run_setter(action, "hostnet.netif.interfaces", {"confirm_timeout": 10},
                                {"inventory_hostname": "h1"}, clock=clock, sleep=clock.sleep)
    assert result["failed"] and len(action.calls) >= 2
    assert result["msg"].startswith("not confirmed: h1 restores its previous state at ")
    assert result["msg"].endswith("the module's own connection broke before it returned "
                                  "(Shared connection closed)")
