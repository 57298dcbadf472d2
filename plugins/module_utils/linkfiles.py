# -*- coding: utf-8 -*-
# Copyright: hostnet.netif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``persist: true`` of interfaces and addresses: the networkd/netplan files (stdlib only).

A resource's ``persist`` (see ``resource.Resource.plan_files``): the files are
rendered by ``persist.py`` and written by the task's transaction. Kept out of
``resource.py`` so that modules without these options (sysctls) do not carry
the renderer.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.hostnet.netif.plugins.module_utils import persist
from ansible_collections.hostnet.netif.plugins.module_utils import resource as res
from ansible_collections.hostnet.netif.plugins.module_utils.errors import InputError

# ``persist`` of interfaces and addresses (sysctls has its own: persist_file in sysctl.d)
PERSIST_ARGS = dict(
    persist=dict(type="bool", default=False),
    persist_backend=dict(type="str", default="auto", choices=list(persist.BACKEND_CHOICES)),
)


class LinkFiles:
    """``persist: true`` of interfaces and addresses: the networkd or netplan files
    (persist.py renders them) holding the whole state of every interface a task
    touches, planned with its ops and written by its transaction. ``root`` is the
    file system the files live in (tests)."""

    def __init__(self, backend="auto", root="/"):
        self.requested = backend
        self.root = root

    def plan(self, facts, touched, plan, refuse_foreign=True):
        """{path: (text, mode) or None}; the backend chosen and foreign files refused here,
        before any change (the second plan, from the verified host, under the same lock,
        skips that read); the renderer's warnings replace ``plan.file_warnings``."""
        backend = persist.choose_backend(self.requested, self.root)
        foreign = persist.foreign_files(touched, self.root) if refuse_foreign else {}
        if foreign:
            raise InputError("persist", "%s already configured by files hostnet.netif did not "
                                        "write (%s); it never edits them: remove the interface "
                                        "from them, or set persist: false" % (
                                            "interface %s is" % ", ".join(sorted(foreign))
                                            if len(foreign) == 1 else
                                            "interfaces %s are" % ", ".join(sorted(foreign)),
                                            "; ".join("%s: %s" % (name, ", ".join(paths))
                                                      for name, paths in sorted(foreign.items()))))
        writes, warnings = persist.plan_files(backend, facts, touched, self.root)
        plan.backend = backend
        plan.file_warnings = list(warnings)
        return writes


def link_files(params, root="/"):
    """The LinkFiles of a task's params (``persist``, ``persist_backend``), or None."""
    if not params.get("persist") or (params.get("state") or res.MERGED) not in res.CHANGING_STATES:
        return None
    return LinkFiles(params.get("persist_backend") or "auto", root)
