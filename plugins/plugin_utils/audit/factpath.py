# -*- coding: utf-8 -*-
# Copyright: hostnet.netif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fact paths: where in the facts document a rule looks, and what must be gathered.

A path is dotted keys, with bracket-quoted keys for names that contain dots::

    mtu                                   (interface scope: relative to the interface)
    sysctl.effective.ipv4.send_redirects  (the value the kernel uses)
    sysctl["net.ipv4.tcp_syncookies"]     (host scope: relative to the document)

Each path knows the gather subset it needs and, for sysctls, the key that must
be in ``sysctl_keys``, so a fact that was not gathered is reported as an error
instead of passing silently.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.hostnet.netif.plugins.module_utils import model
from ansible_collections.hostnet.netif.plugins.plugin_utils.audit import factshape
from ansible_collections.hostnet.netif.plugins.plugin_utils.problems import one_of, shorten

MISSING = object()

_TOKEN = re.compile(r"""
    (?P<key>[A-Za-z0-9_][A-Za-z0-9_-]*)
  | \[\s*"(?P<dq>[^"\]]+)"\s*\]
  | \[\s*'(?P<sq>[^'\]]+)'\s*\]
""", re.VERBOSE)

# first key of a path -> the gather subset that fills it
_INTERFACE_SUBSETS = {"addresses": "addresses", "statistics": "stats", "sysctl": "sysctl",
                      "packet_sockets": "packet_sockets"}
_HOST_SUBSETS = {
    "interfaces": "links", "summary": "links", "gather_subset": "links",
    "schema_version": "links", "default_routes": "routes",
    "connectivity": "connectivity", "sysctl": "sysctl", "packet_sockets": "packet_sockets",
}


class PathError(ValueError):
    """A fact path that cannot be parsed, names no fact of the facts schema, or names a
    sysctl outside the allow-list; ``expected`` and ``found`` say how."""

    def __init__(self, expected, found):
        self.expected = expected
        self.found = found
        super(PathError, self).__init__("expected %s, found %s" % (expected, found))


def parse(text):
    """Split a path into a tuple of keys; raises PathError."""
    if not isinstance(text, str) or not text.strip():
        raise PathError("a non-empty fact path such as 'mtu' or 'sysctl.effective.ipv4.rp_filter'",
                        shorten(text))
    keys = []
    pos = 0
    expect_key = True
    while pos < len(text):
        if not expect_key and text[pos] == ".":
            pos += 1
            expect_key = True
            continue
        match = _TOKEN.match(text, pos)
        if match is None or (not expect_key and match.group("key")):
            raise PathError("a fact path of dotted keys, with [\"...\"] around keys that contain dots",
                            "%r (cannot parse at character %d)" % (text, pos + 1))
        keys.append(match.group("key") or match.group("dq") or match.group("sq"))
        pos = match.end()
        expect_key = False
    if expect_key:
        raise PathError("a key after the last '.'", repr(text))
    return tuple(keys)


# ---------------------------------------------------------------------------
# which paths exist: read from the facts schema (the contract of the facts module)
# ---------------------------------------------------------------------------
def check_known(keys, scope):
    """Raise PathError unless ``keys`` name a place the facts schema has.

    Interface scope starts at one interface, host scope at the document. An unknown
    key is reported with the names valid there and the closest one (a typo such as
    ``promsic`` would otherwise be "absent" on every host and pass or fail silently).
    """
    root = factshape.root()
    node = root.props["interfaces"].extra if scope == "interface" else root
    walked = []
    for key in keys:
        if key in node.props:
            node = node.props[key]
        elif node.extra is not None:
            node = node.extra
        elif node.types is None or (dict in node.types and not node.props):
            return  # a free-form mapping (kind_data): any key may be there
        elif not node.props:
            kind = factshape.type_text(node.types, null=False)
            raise PathError("a path that ends at %s (%s %s has no keys)"
                            % (render(walked), "an" if kind[0] in "aeiou" else "a", kind),
                            repr(render(walked + [key])))
        else:
            where = render(walked) if walked else ("an interface" if scope == "interface" else "the facts document")
            raise PathError("a fact of %s, %s" % (where, one_of(key, node.props)), repr(key))
        walked.append(key)


def render(keys):
    """The canonical text of a path (inverse of parse)."""
    out = []
    for key in keys:
        if re.match(r"^[A-Za-z0-9_][A-Za-z0-9_-]*$", key):
            out.append(("." if out else "") + key)
        else:
            out.append('["%s"]' % key)
    return "".join(out)


class FactRef:
    """A parsed path plus what gathering it needs.

    ``scope`` is ``interface`` (relative to one interface) or ``host``.
    ``subset`` is the gather subset; ``sysctl_key`` the ``sysctl_keys`` entry
    (``ipv4.rp_filter`` or ``net.ipv4.tcp_syncookies``) or None;
    ``effective`` is (family, key) for ``sysctl.effective.<family>.<key>``.
    """

    __slots__ = ("text", "keys", "scope", "subset", "sysctl_key", "effective")

    def __init__(self, text, scope):
        self.keys = parse(text)
        check_known(self.keys, scope)
        self.text = render(self.keys)
        self.scope = scope
        self.sysctl_key = None
        self.effective = None
        first = self.keys[0]
        if scope == "interface":
            self.subset = _INTERFACE_SUBSETS.get(first, "links")
        else:
            self.subset = _HOST_SUBSETS.get(first)
            if self.subset is None:
                raise PathError("a host-scope fact path starting with one of %s"
                                % ", ".join(sorted(_HOST_SUBSETS)), repr(self.text))
        if first == "sysctl":
            self._sysctl(scope)

    def _sysctl(self, scope):
        keys = self.keys
        if scope == "interface":
            if len(keys) == 4 and keys[1] == "effective":
                family, name = keys[2], keys[3]
                self.effective = (family, name)
            elif len(keys) == 3 and keys[1] in ("ipv4", "ipv6"):
                family, name = keys[1], keys[2]
            else:
                raise PathError("sysctl.<ipv4|ipv6>.<key> or sysctl.effective.<ipv4|ipv6>.<key>",
                                repr(self.text))
            if family not in model.CONF_KEYS or name not in model.CONF_KEYS[family]:
                raise PathError("an allowed per-interface sysctl key, %s"
                                % one_of(name, model.CONF_KEYS.get(family) or ()),
                                "%s.%s (not allowed)" % (family, name))
            self.sysctl_key = "%s.%s" % (family, name)
            return
        if len(keys) != 2:
            raise PathError("sysctl[\"net.<...>\"]", repr(self.text))
        dotted = keys[1]
        if dotted in model.HOST_KEYS:
            self.sysctl_key = dotted
            return
        parts = dotted.split(".")
        if (len(parts) == 5 and parts[0] == "net" and parts[1] in model.CONF_KEYS
                and parts[2] == "conf" and parts[3] in ("all", "default")
                and parts[4] in model.CONF_KEYS[parts[1]]):
            # conf.all / conf.default come with the per-interface key
            self.sysctl_key = "%s.%s" % (parts[1], parts[4])
            return
        raise PathError("a sysctl the facts module reads, %s, or net.<ipv4|ipv6>.conf.<all|default>.<key>"
                        % one_of(dotted, model.HOST_KEYS), "%r (not read)" % dotted)


def resolve(root, keys):
    """Walk ``keys`` from ``root``; MISSING when a key is absent."""
    node = root
    try:
        for key in keys:
            node = node[key]
    except (KeyError, TypeError, IndexError):
        return MISSING
    return node
