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

A bad file is one host with an error, never a failed audit: unreadable, not
JSON, nested too deeply for the parser, larger than ``max_bytes`` (checked
before reading, default 64 MiB), or a symbolic link that leads out of the
directory (not followed; a link to another file inside it is read).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import json
import os
import re
import stat

DEFAULT_MAX_BYTES = 64 * 1024 * 1024
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


def _size_text(count):
    return "%.1f MiB" % (count / 1048576.0) if count >= 1048576 else "%d bytes" % count


def _read_file(path, mode, real_directory, max_bytes):
    """(bytes, None) of one cache file, or (None, why not): links out of the directory are
    not followed, the size is checked before reading, only regular files are read.
    ``mode`` is the entry's own (lstat) mode."""
    if stat.S_ISLNK(mode):
        target = os.path.realpath(path)
        if os.path.dirname(target) != real_directory:
            return None, "is a symbolic link to %s, outside the cache directory: not followed" % target
        path = target
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return None, "is a symbolic link (replaced while reading): not followed"
        return None, "cannot read: %s" % (exc.strerror or exc)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return None, "is not a regular file"
        if info.st_size > max_bytes:
            return None, ("is %s, over the size limit of %s (fact_cache_max_size); not read"
                          % (_size_text(info.st_size), _size_text(max_bytes)))
        with os.fdopen(fd, "rb") as handle:
            fd = None
            data = handle.read(info.st_size + 1)
            if len(data) > info.st_size:  # it grew since fstat: read on, up to the limit
                data += handle.read(max_bytes + 1 - len(data))
    except (IOError, OSError) as exc:
        return None, "cannot read: %s" % (exc.strerror or exc)
    finally:
        if fd is not None:
            os.close(fd)
    if len(data) > max_bytes:
        return None, "grew over the size limit of %s while being read; not read" % _size_text(max_bytes)
    return data, None


def _parse(text):
    """(data, None) or (None, why): JSON that is too deep for the parser is a problem too."""
    try:
        return json.loads(text), None
    except RecursionError:
        return None, "JSON nested too deeply to read"
    except ValueError as exc:
        return None, "%s" % exc


def read_fact_cache(directory, prefix="", max_bytes=DEFAULT_MAX_BYTES):
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
    real_directory = os.path.realpath(directory)
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
        try:
            mode = os.lstat(path).st_mode
        except OSError:
            continue  # gone since the listing
        if stat.S_ISDIR(mode) or (stat.S_ISLNK(mode) and os.path.isdir(path)):
            continue
        files += 1
        match = _WRAPPED.match(key)
        host = match.group(2) if match else key
        wrapped = False
        data, problem = _read_file(path, mode, real_directory, max_bytes)
        if data is not None:
            data, problem = _parse(data.decode("utf-8", "surrogateescape"))
            if problem is not None:
                problem = "not JSON: %s" % problem
        if isinstance(data, dict) and list(data) == [PAYLOAD]:
            wrapped = match is not None
            payload = data[PAYLOAD]
            if isinstance(payload, str):
                data, problem = _parse(payload)
            else:
                data, problem = None, "expected a JSON text, found %s" % type(payload).__name__
            if problem is not None:
                data, problem = None, "payload is not JSON: %s" % problem
            elif TYPE_KEY in payload:  # only tagged values pay for the walk
                try:
                    data = untag(data)
                except RecursionError:
                    data, problem = None, "payload nested too deeply to read"
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
                           "problems_total": len(problems), "reasons": reasons,
                           "max_bytes": max_bytes}
