# -*- coding: utf-8 -*-
# Copyright: hostnet.netif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The only place modules meet AnsibleModule: find ``ip``, run argv lists.

The core (reader, resource, transaction) takes a plain ``run(argv, data=None)
-> (rc, stdout, stderr)`` callable, so it is tested without Ansible; every
module builds that callable here, the same way.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

IP_MISSING = "the 'ip' command (iproute2 >= 4.14) was not found on the target"


def ip_path(module):
    """Path of ``ip`` on the target; fails the module when there is none."""
    path = module.get_bin_path("ip", opt_dirs=["/sbin", "/usr/sbin"])
    if not path:
        module.fail_json(msg=IP_MISSING)
    return path


def command_runner(module):
    """``run(argv, data=None)`` over ``module.run_command``; argv lists only, no shell.

    Output is decoded with ``surrogateescape``: lossless, so an interface name
    or alias that is not UTF-8 keeps its exact bytes (as lone surrogates) for the
    reader, which escapes it before anything reaches the controller (a result
    holding a surrogate is refused there). ``surrogate_then_replace`` did the
    same on Python 3; the handler is spelled out because the reader relies on it.
    """
    def run(argv, data=None):
        if data is None:
            return module.run_command(argv, errors="surrogateescape")
        return module.run_command(argv, data=data, binary_data=True, errors="surrogateescape")
    return run


def exit_with(module, result, warnings=()):
    """exit_json with the core's warnings given to module.warn: a result key
    ``warnings`` is deprecated since ansible-core 2.19."""
    for warning in list(result.pop("warnings", None) or []) + list(warnings):
        module.warn(warning)
    module.exit_json(**result)
