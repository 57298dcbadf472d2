# -*- coding: utf-8 -*-
# Copyright: hostnet.netif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read an Ansible ``jsonfile`` fact cache directory without ansible's cache plugin.

Layouts written by ansible-core's jsonfile cache (plugins/cache/__init__.py,
BaseFileCacheModule._get_cache_file_name and, since 2.19,
_internal/_plugins/_cache.py PluginInterposer):

* 2.19 and later: file ``<prefix>s<schema>_<host>`` holding
  ``{"__payload__": "<the host's facts as a JSON string>"}``;
* before 2.19: file ``<prefix><host>`` holding the host's facts dict.

``<prefix>`` is ``fact_caching_prefix`` (empty unless configured). The facts
dict holds the ``netif`` key (``ansible_netif`` in old caches) that the audit
reads. Reading is one ``json.load`` per file: a 10,000-host cache is read in
well under a second.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re

_WRAPPED = re.compile(r"^s(\d+)_(.+)$")
PAYLOAD = "__payload__"
TYPE_KEY = "__ansible_type"


def untag(value):
    """Drop ansible-core 2.19's serialized data tags: ``{"__ansible_type": ..., "value": v}`` -> v.

    Facts a module returned are stored plain; values that went through
    set_fact or templating carry tags (Origin, TrustedAsTemplate ...).
    """
    if isinstance(value, dict):
        if TYPE_KEY in value and "value" in value:
            return untag(value["value"])
        return dict((key, untag(item)) for key, item in value.items())
    if isinstance(value, list):
        return [untag(item) for item in value]
    return value


def _netif(data):
    if not isinstance(data, dict):
        return None
    doc = data.get("netif")
    if doc is None:
        doc = data.get("ansible_netif")
    return doc if isinstance(doc, dict) else None


def read_fact_cache(directory, prefix=""):
    """Return (facts_by_host, info).

    ``facts_by_host`` maps every host found to its netif facts document, or to
    None when its file is unreadable or holds no netif facts (the audit reports
    those hosts as errors, with ``info["reasons"][host]`` as the detail).
    ``info`` also counts files and lists the first 100 problems.
    """
    try:
        names = sorted(os.listdir(directory))
    except OSError as exc:
        raise ValueError("fact_cache %s: cannot list the directory: %s" % (directory, exc.strerror or exc))
    facts_by_host = {}
    reasons = {}
    wrapped_hosts = set()
    problems = []
    files = 0
    for name in names:
        if name.startswith(".") or not name.startswith(prefix):
            continue
        key = name[len(prefix):]
        if not key:
            continue
        path = os.path.join(directory, name)
        if not os.path.isfile(path):
            continue
        files += 1
        match = _WRAPPED.match(key)
        host = match.group(2) if match else key
        wrapped = False
        problem = None
        try:
            with open(path, "rb") as handle:
                data = json.loads(handle.read().decode("utf-8", "surrogateescape"))
        except (IOError, OSError) as exc:
            data, problem = None, "cannot read: %s" % (exc.strerror or exc)
        except ValueError as exc:
            data, problem = None, "not JSON: %s" % exc
        if isinstance(data, dict) and list(data) == [PAYLOAD]:
            wrapped = match is not None
            payload = data[PAYLOAD]
            try:
                data = json.loads(payload)
            except (TypeError, ValueError) as exc:
                data, problem = None, "payload is not JSON: %s" % exc
            else:
                if TYPE_KEY in payload:  # only tagged values pay for the walk
                    data = untag(data)
        elif data is not None:
            host = key  # an old-style file is named by the host alone
        if host in wrapped_hosts and not wrapped:
            continue  # the current-format entry of this host wins over a legacy one
        doc = _netif(data)
        if doc is None and problem is None:
            problem = ("no netif facts (gather hostnet.netif.interface_facts with fact "
                       "caching on)")
        if problem is not None:
            problems.append("%s: %s" % (name, problem))
            reasons[host] = "fact cache file %s: %s" % (name, problem)
        else:
            reasons.pop(host, None)
        facts_by_host[host] = doc
        if wrapped:
            wrapped_hosts.add(host)
    return facts_by_host, {"directory": directory, "prefix": prefix, "files": files,
                           "hosts": len(facts_by_host), "problems": problems[:100],
                           "problems_total": len(problems), "reasons": reasons}
