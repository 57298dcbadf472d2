# -*- coding: utf-8 -*-
# Copyright: hostnet.netif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read an Ansible fact cache: a ``jsonfile`` directory directly, any other cache plugin through ansible.

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

import bisect
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


def _decode(data, problem, wrapped_name, defer=False):
    """(facts dict, problem, wrapped) from a cache entry already parsed from its outer JSON.

    ``wrapped_name``: the entry's name had the 2.19 ``s<schema>_`` form.
    ``defer``: a payload text is returned as a Payload, parsed by its load().
    """
    wrapped = False
    if isinstance(data, dict) and list(data) == [PAYLOAD]:
        wrapped = wrapped_name
        payload = data[PAYLOAD]
        if defer and isinstance(payload, str):
            return Payload(payload), None, wrapped
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
    return data, problem, wrapped


NO_NETIF = "no netif facts (gather hostnet.netif.interface_facts with fact caching on)"


def _outcome(doc, problem, what):
    """(facts or None, reason or None, problem entry or None) of one host's chosen entry."""
    if doc is None and problem is None:
        problem = NO_NETIF
    if problem is None:
        return doc, None, None
    return (None, "fact cache %s: %s" % (what if what.startswith("entry") else "file %s" % what, problem),
            "%s: %s" % (what, problem))


class Payload:
    """A host's 2.19 cache payload (a JSON text), parsed where the host is evaluated: in a worker
    process when the audit has them (this parse is most of the cost of reading a cache)."""

    __slots__ = ("text", "what")

    def __init__(self, text, what=None):
        self.text = text
        self.what = what  # the entry's name, set by Tally.host

    def load(self):
        """(netif facts or None, reason or None, problem entry or None): what Tally.host gives for
        an entry parsed at once; the entry goes to Tally.record."""
        data, problem, dummy = _decode({PAYLOAD: self.text}, None, True)
        return _outcome(_netif(data) if problem is None else None, problem, self.what)


class Tally:
    """What a read found: files, hosts, problems (counted; the first 100 by host kept in ``info``,
    in host order whenever they are recorded)."""

    LISTED = 100

    def __init__(self):
        self.info = dict(files=0, hosts=0, problems=[], problems_total=0)
        self._listed = []

    def record(self, host, entry):
        """Count one host's problem (``entry``: "what: problem")."""
        self.info["problems_total"] += 1
        if len(self._listed) >= self.LISTED and host >= self._listed[-1][0]:
            return
        bisect.insort(self._listed, (host, entry))
        del self._listed[self.LISTED:]
        self.info["problems"] = [text for dummy, text in self._listed]

    def host(self, name, doc, problem, what):
        """(host, facts or None, reason or None) after counting; a Payload ``doc`` stays one, in
        place of the facts (its problems are recorded when it is loaded)."""
        self.info["hosts"] += 1
        if isinstance(doc, Payload):
            doc.what = what
            return name, doc, None
        doc, reason, entry = _outcome(doc, problem, what)
        if entry is not None:
            self.record(name, entry)
        return name, doc, reason


def iter_fact_cache(directory, prefix="", max_bytes=DEFAULT_MAX_BYTES, tally=None, defer=False):
    """Yield (host, netif facts or None, reason or None), one host at a time, hosts sorted.

    Only one host's facts are in memory at once. ``tally`` (a Tally), when
    given, counts what was read (``tally.info``: what read_fact_cache
    returns). ``defer``: a 2.19 entry's facts are a Payload, parsed by its
    ``load()`` where the host is evaluated. Raises ValueError when the
    directory cannot be listed.
    """
    try:
        names = os.listdir(directory)
    except OSError as exc:
        raise ValueError("fact_cache %s: cannot list the directory: %s" % (directory, exc.strerror or exc))
    real_directory = os.path.realpath(directory)
    tally = tally or Tally()
    tally.info.update(directory=directory, prefix=prefix, max_bytes=max_bytes)
    # a host's current (s<schema>_<host>) and legacy (<host>) files are read together
    by_host = {}
    for name in names:
        if name.startswith(".") or not name.startswith(prefix) or name == prefix:
            continue
        key = name[len(prefix):]
        match = _WRAPPED.match(key)
        by_host.setdefault(match.group(2) if match else key, []).append(name)
    tally.info["hosts_listed"] = len(by_host)
    for candidates in (by_host[host] for host in sorted(by_host)):
        results = {}
        wrapped_hosts = set()
        for name in sorted(candidates):
            key = name[len(prefix):]
            path = os.path.join(directory, name)
            try:
                mode = os.lstat(path).st_mode
            except OSError:
                continue  # gone since the listing
            if stat.S_ISDIR(mode) or (stat.S_ISLNK(mode) and os.path.isdir(path)):
                continue
            tally.info["files"] += 1
            match = _WRAPPED.match(key)
            data, problem = _read_file(path, mode, real_directory, max_bytes)
            if data is not None:
                data, problem = _parse(data.decode("utf-8", "surrogateescape"))
                if problem is not None:
                    problem = "not JSON: %s" % problem
            host = match.group(2) if match else key
            outer = data
            data, problem, wrapped = _decode(data, problem, match is not None, defer)
            if outer is not None and not (isinstance(outer, dict) and list(outer) == [PAYLOAD]):
                host = key  # an old-style file is named by the host alone
            if host in wrapped_hosts and not wrapped:
                continue  # the current-format entry of this host wins over a legacy one
            results[host] = (data if isinstance(data, Payload) else _netif(data), problem, name)
            if wrapped:
                wrapped_hosts.add(host)
        for host in sorted(results):
            doc, problem, name = results[host]
            yield tally.host(host, doc, problem, name)


def read_fact_cache(directory, prefix="", max_bytes=DEFAULT_MAX_BYTES):
    """Return (facts_by_host, info) of a jsonfile cache directory, every host in memory.

    ``facts_by_host`` maps every host found to its netif facts document, or to
    None when its file is unreadable or holds no netif facts (the audit reports
    those hosts as errors, with ``info["reasons"][host]`` as the detail).
    ``info`` also counts files and lists the first 100 problems.
    """
    tally = Tally()
    facts_by_host = {}
    reasons = {}
    for host, doc, reason in iter_fact_cache(directory, prefix, max_bytes, tally):
        facts_by_host[host] = doc
        if reason is not None:
            reasons[host] = reason
    tally.info["reasons"] = reasons
    return facts_by_host, tally.info


# ---------------------------------------------------------------------------
# any cache plugin (community.general.redis, memcached, mongodb, yaml, pickle ...)
# ---------------------------------------------------------------------------
FILE_PLUGINS = ("jsonfile", "ansible.builtin.jsonfile")
OPTION_NAMES = {"connection": "_uri", "prefix": "_prefix", "timeout": "_timeout"}


def plugin_options(options):
    """The cache plugin's own option names from ours (connection -> _uri ...); others pass as they are."""
    out = {}
    for key, value in (options or {}).items():
        if value is None:
            continue
        out[OPTION_NAMES.get(key, key)] = value
    return out


def _text(key):
    return key.decode("utf-8", "surrogateescape") if isinstance(key, bytes) else str(key)


def _size(value):
    if isinstance(value, (str, bytes)):
        return len(value)
    if isinstance(value, dict) and isinstance(value.get(PAYLOAD), str):
        return len(value[PAYLOAD])
    return 0


def _refuse_write(*args, **kwargs):
    raise KeyError("the audit does not write to the fact cache")


def read_only(plugin):
    """Turn off, on this plugin instance, the writes some cache plugins make while reading.

    community.general.redis and .memcached: ``get`` deletes a listed key whose
    value is gone, and ``keys`` first drops the keys older than ``_timeout``
    from the key set (memcached rewrites its whole key set, one value, on
    every call: a gathering writing at the same time can lose its keys). Here
    ``set``/``delete``/``flush`` raise KeyError (so such a ``get`` reports the
    key as gone) and ``_expire_keys`` does nothing: every listed key is read.
    """
    for name in ("set", "delete", "flush"):
        if callable(getattr(plugin, name, None)):
            setattr(plugin, name, _refuse_write)
    if callable(getattr(plugin, "_expire_keys", None)):
        plugin._expire_keys = lambda: None
    return plugin


class PluginCache:
    """Read every host of any Ansible cache plugin, one host at a time.

    Loaded with ansible's ``cache_loader`` (so the plugin's documented
    options, environment variables and collections work as for a play).
    The audit never writes or deletes an entry: file-based plugins are read
    through their ``_load`` with this module's checks (links, size) in front,
    because their ``get`` deletes a file it cannot parse; other plugins
    through ``get``, with the plugin's in-memory copy dropped after each host
    and its writes on reading turned off (``read_only``).
    Keys are read from the plugin itself (a Redis key set holds bytes), both
    the 2.19 ``s<schema>_<host>`` keys and legacy ``<host>`` ones.
    """

    LOOKAHEAD = 16

    def __init__(self, name, options=None, max_bytes=DEFAULT_MAX_BYTES):
        from ansible.plugins.loader import cache_loader
        from ansible.errors import AnsibleError

        self.name = name
        self.max_bytes = max_bytes
        try:
            plugin = cache_loader.get(name, **plugin_options(options))
        except AnsibleError as exc:
            raise ValueError("fact_cache plugin %s: %s" % (name, exc))
        except Exception as exc:  # a plugin's own connection or import error
            raise ValueError("fact_cache plugin %s: %s: %s" % (name, type(exc).__name__, exc))
        self.plugin = read_only(getattr(plugin, "__wrapped__", plugin))
        if hasattr(self.plugin, "_get_cache_file_name"):
            try:
                if self.plugin.get_option("_prefix") is None:  # file plugins: no prefix is ""
                    self.plugin.set_option("_prefix", "")
            except KeyError:
                pass

    def keys(self):
        try:
            keys = self.plugin.keys()
        except Exception as exc:
            raise ValueError("fact_cache plugin %s: cannot list the hosts: %s: %s"
                             % (self.name, type(exc).__name__, exc))
        return [_text(key) for key in keys]

    def _entry(self, key):
        """(the entry as the plugin decodes its outer layer, problem)."""
        plugin = self.plugin
        loader = getattr(plugin, "_load", None)
        path_of = getattr(plugin, "_get_cache_file_name", None)
        if loader is not None and path_of is not None:
            path = path_of(key)
            try:
                mode = os.lstat(path).st_mode
            except OSError as exc:
                return None, "cannot read: %s" % (exc.strerror or exc)
            data, problem = _read_file(path, mode, os.path.realpath(os.path.dirname(path)), self.max_bytes)
            if problem is not None:
                return None, problem
            try:
                return loader(path), None
            except RecursionError:
                return None, "nested too deeply to read"
            except Exception as exc:
                return None, "cannot decode: %s" % exc
        try:
            value = plugin.get(key)
        except KeyError:
            return None, "gone or expired since the listing"
        except RecursionError:
            return None, "nested too deeply to read"
        except Exception as exc:
            return None, "cannot decode: %s: %s" % (type(exc).__name__, exc)
        finally:
            memory = getattr(plugin, "_cache", None)
            if isinstance(memory, dict):
                memory.pop(key, None)
        if _size(value) > self.max_bytes:
            return None, "is over the size limit of %s (fact_cache_max_size)" % _size_text(self.max_bytes)
        return value, None

    def __iter__(self):
        return self.hosts()

    def hosts(self, tally=None, defer=False):
        """Yield (host, netif facts or None, reason or None), hosts sorted; see iter_fact_cache
        (``defer`` applies to a host with one entry: of several, the first good one is chosen)."""
        tally = tally or Tally()
        tally.info.update(plugin=self.name, max_bytes=self.max_bytes)
        by_host = {}
        for key in self.keys():
            match = _WRAPPED.match(key)
            by_host.setdefault(match.group(2) if match else key, []).append(key)
        tally.info["hosts_listed"] = len(by_host)
        for host, entries in self._prefetched(by_host):
            chosen = None
            for key, data, problem in entries:
                tally.info["files"] += 1
                data, problem, wrapped = _decode(data, problem, _WRAPPED.match(key) is not None,
                                                 defer and len(entries) == 1)
                if chosen is None or (chosen[1] is not None and problem is None):
                    chosen = (data, problem, key)
                if wrapped and problem is None:
                    break  # the current-format entry wins over a legacy one
            data, problem, key = chosen
            if not isinstance(data, Payload):
                data = _netif(data) if problem is None else None
            yield tally.host(host, data, problem, "entry %s" % key)

    def _read_host(self, keys):
        """[(key, entry, problem)] of one host's keys, the current-format key first."""
        out = []
        for key in sorted(keys, key=lambda k: _WRAPPED.match(k) is None):
            data, problem = self._entry(key)
            out.append((key, data, problem))
            if problem is None and _WRAPPED.match(key) is not None:
                break
        return out

    def _prefetched(self, by_host):
        """(host, entries) in sorted host order, read LOOKAHEAD hosts ahead in a thread: a network
        cache's round trips overlap the evaluation of the hosts before (bounded memory)."""
        from collections import deque
        from concurrent.futures import ThreadPoolExecutor

        hosts = iter(sorted(by_host))
        pending = deque()
        with ThreadPoolExecutor(max_workers=1) as pool:
            for host in hosts:
                pending.append((host, pool.submit(self._read_host, by_host[host])))
                if len(pending) >= self.LOOKAHEAD:
                    break
            while pending:
                host, future = pending.popleft()
                following = next(hosts, None)
                if following is not None:
                    pending.append((following, pool.submit(self._read_host, by_host[following])))
                yield host, future.result()
