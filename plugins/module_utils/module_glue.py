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

import os
import signal
import subprocess

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


_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _die_with_parent():
    """A ``preexec_fn`` that makes the child get SIGKILL when this process dies
    (``prctl(PR_SET_PDEATHSIG)``), or None when ctypes/prctl is unavailable.

    libc and prctl are looked up here, before the fork; the child only makes
    two system calls (prctl, getppid), nothing that takes a lock, which is
    what a preexec_fn may do in a single-threaded module. If this process died
    between fork and prctl the signal would never come: getppid() then no
    longer names it, and the child exits before exec.
    """
    try:
        import ctypes
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (ImportError, OSError, AttributeError):
        return None
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong,
                      ctypes.c_ulong]
    prctl.restype = ctypes.c_int
    parent = os.getpid()
    kill = int(signal.SIGKILL)

    def preexec():
        prctl(_PR_SET_PDEATHSIG, kill, 0, 0, 0)
        if os.getppid() != parent:
            os._exit(127)
    return preexec


def run_tied(argv, data, hold_fd):
    """Run ``argv`` with ``data`` on stdin as a child tied to this process:
    it inherits ``hold_fd`` (the host lock, so the lock stays held until the
    child is gone) and is killed when this process dies, so a killed module
    leaves no ``ip -batch`` changing the host behind it. -> (rc, stdout, stderr)

    Not ``module.run_command``: it cannot set up the child (no preexec hook).
    """
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, close_fds=True, pass_fds=(hold_fd,),
                            preexec_fn=_die_with_parent())
    out, err = proc.communicate(data.encode("utf-8", "surrogateescape"))
    return (proc.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"))


def exit_with(module, result, warnings=()):
    """exit_json with the core's warnings given to module.warn: a result key
    ``warnings`` is deprecated since ansible-core 2.19."""
    for warning in list(result.pop("warnings", None) or []) + list(warnings):
        module.warn(warning)
    module.exit_json(**result)
