# -*- coding: utf-8 -*-
# Copyright: hostnet.netif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Offline stand-in for ansible-test's pip bootstrap script (get-pip.py).

ansible-test bootstraps pip into each virtual environment it creates for a
sanity test by running a ``get-pip.py`` it downloads from a host this machine
cannot reach.  It uses ``~/.ansible/test/cache/get_pip_<X_Y>.py`` instead when
that file exists; ``.ci/sanity.sh`` copies this file there.

Run (through ansible-test's quiet_pip.py) with the interpreter of the new
virtual environment and get-pip's arguments, for example::

    --disable-pip-version-check pip==24.2 --no-setuptools --no-wheel

it installs the interpreter's bundled pip with ``ensurepip`` and then runs
``pip install`` with the same arguments, so the requested pip version comes from
the package index pip is configured for, exactly as get-pip would install it.
"""

from __future__ import absolute_import, division, print_function

import os
import subprocess
import sys

MARKER = "hostnet.netif get-pip stand-in"  # .ci/sanity.sh looks for this line

# get-pip.py options that ``pip install`` does not know.
GET_PIP_ONLY = ("--no-setuptools", "--no-wheel")


def main(argv):
    args = [arg for arg in argv if arg not in GET_PIP_ONLY]
    # ensurepip runs pip with PIP_CONFIG_FILE=/dev/null and without PIP_* from
    # the environment (it installs from its bundled wheel only).  It runs in a
    # child process here so none of that reaches the real install below.
    rc = subprocess.call([sys.executable, "-m", "ensurepip", "--default-pip"])
    if rc != 0:
        sys.stderr.write("get-pip stand-in: ensurepip failed with status %d\n" % rc)
        return rc
    env = dict(os.environ)
    env.pop("PIP_CONFIG_FILE", None)  # never let a /dev/null config hide the index settings
    return subprocess.call([sys.executable, "-m", "pip", "install"] + args, env=env)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
