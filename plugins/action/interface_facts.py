# -*- coding: utf-8 -*-
# Copyright: hostnet.netif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller half of interface_facts.

Validates the request before anything reaches a host, and builds the document
offline (touching no host) when ``running_config`` is given.  For the opt-in
``boot`` subset it parses netplan YAML the target could not (no PyYAML there)
and, offline, reads captured boot files given in ``boot_files``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil
import tempfile

from ansible.plugins.action import ActionBase

from ansible_collections.hostnet.netif.plugins.module_utils import bootconf, reader
from ansible_collections.hostnet.netif.plugins.module_utils.errors import NetifError
from ansible_collections.hostnet.netif.plugins.modules.interface_facts import (
    ARGUMENT_SPEC,
    request_from_params,
)
from ansible_collections.hostnet.netif.plugins.plugin_utils.action_args import (
    validated_params,
    with_text_running_config,
)


class ActionModule(ActionBase):
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        self._task.args = with_text_running_config(self._task.args)
        params = validated_params(self, result, argument_spec=ARGUMENT_SPEC)
        if params is None:
            return result
        try:
            request = request_from_params(params)
        except ValueError as exc:
            result.update(failed=True, msg=str(exc))
            return result
        boot_files = params.get("boot_files")
        if boot_files and params.get("running_config") is None:
            result.update(failed=True, msg="boot_files: only used with running_config (offline)")
            return result
        if params.get("running_config") is not None:
            try:
                document, warnings = reader.parse_running_config(params["running_config"], request)
                if "boot" in request.subsets:
                    document["boot"], boot_warnings = offline_boot(boot_files or {}, document,
                                                                   request.wants_name)
                    warnings.extend(boot_warnings)
            except (NetifError, ValueError) as exc:
                result.update(failed=True, msg=str(exc))
                return result
            result.update(changed=False, ansible_facts={"netif": document})
            if warnings:
                result["warnings"] = warnings
            return result
        args = dict((k, v) for k, v in self._task.args.items() if k != "boot_files")
        result.update(self._execute_module(module_name="hostnet.netif.interface_facts",
                                           module_args=args, task_vars=task_vars))
        boot = ((result.get("ansible_facts") or {}).get("netif") or {}).get("boot")
        if isinstance(boot, dict) and "netplan_pending" in boot:
            warnings = bootconf.complete(boot, bootconf.yaml_loader(), request.wants_name)
            if warnings:
                result["warnings"] = list(result.get("warnings") or []) + warnings
        return result


def offline_boot(boot_files, document, wants=None):
    """The boot document from captured files {absolute path: text}, read like a host's."""
    root = tempfile.mkdtemp(prefix="netif-boot-")
    try:
        for path, text in sorted(boot_files.items()):
            parts = str(path).split("/")
            if not str(path).startswith("/") or ".." in parts or "\0" in str(path):
                raise ValueError("boot_files: %r is not an absolute path without '..'" % (path,))
            if not isinstance(text, str):
                raise ValueError("boot_files[%s]: expected the file's text" % path)
            target = os.path.join(root, str(path).lstrip("/"))
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(target, "w") as handle:
                handle.write(text)
            if "/NetworkManager/" in path:
                os.chmod(target, 0o600)  # captured keyfiles: the mode is not part of a capture
        known = sorted(document.get("interfaces") or {})
        files = bootconf.ConfFiles(root)
        return bootconf.gather_boot(files, known, None, bootconf.yaml_loader(), wants)
    finally:
        shutil.rmtree(root, ignore_errors=True)
