# -*- coding: utf-8 -*-
# Copyright: hostnet.netif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Argument-spec validation shared by every action plugin of the collection."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible.errors import AnsibleActionFail


def validated_params(action, result, **spec):
    """The task's arguments checked against ``spec`` (validate_argument_spec's
    keywords), or None with ``result`` marked failed and the reason in ``msg``."""
    try:
        dummy, params = action.validate_argument_spec(**spec)
    except AnsibleActionFail as exc:  # the message names every bad argument
        result.update(failed=True, msg=str(exc))
        return None
    return params


def with_text_running_config(args):
    """``args`` with ``running_config`` as the text the option documents.

    ansible-core before 2.19 turns a JSON capture read with ``lookup('file')``
    into a list while templating; a str option would then get its Python repr.
    """
    value = args.get("running_config")
    if isinstance(value, (list, dict)):
        args = dict(args, running_config=json.dumps(value))
    return args
