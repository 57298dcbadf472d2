# -*- coding: utf-8 -*-
# Copyright: hostnet.netif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A cheap shape check of a facts document, derived from ``facts.schema.json``.

The audit reads documents it did not make (fact caches, ``facts:`` given to a
task). One wrong type (``addresses: 5``) must make that host an error, not
crash the audit of the whole fleet. Full JSON Schema validation costs about as
much as the audit itself on 10,000 hosts; this check compiles the schema once
into type tables and checks the JSON type of every value the schema describes
(``oneOf``/``anyOf`` branches merged, free-form mappings such as ``kind_data``
not descended, keys the schema does not know accepted). It answers the first
problem found, as a path with expected and found.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.hostnet.netif.plugins.plugin_utils.problems import shorten

_PY_TYPES = {
    "string": (str,), "integer": (int,), "number": (int, float), "boolean": (bool,),
    "null": (type(None),), "object": (dict,), "array": (list,),
}
_JSON_NAMES = {str: "string", int: "integer", float: "number", bool: "boolean",
               type(None): "null", dict: "object", list: "array"}


class _Node:
    """What the schema allows at one place: ``types`` (None = any), children of objects and arrays."""

    __slots__ = ("types", "props", "extra", "items", "leaf")

    def __init__(self):
        self.types = None
        self.props = {}
        self.extra = None
        self.items = None
        self.leaf = True


def _deref(schema, node):
    for dummy in range(20):
        if not (isinstance(node, dict) and "$ref" in node):
            break
        target = schema
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node if isinstance(node, dict) else {}


def _compile(schema, node, depth=0):
    out = _Node()
    branches, pending = [], [node]
    while pending:
        branch = _deref(schema, pending.pop())
        if branch.get("oneOf") or branch.get("anyOf"):
            pending.extend(branch.get("oneOf") or ())
            pending.extend(branch.get("anyOf") or ())
        else:
            branches.append(branch)
    types = set()
    for branch in branches:
        kind = branch.get("type")
        if kind is None and "enum" in branch:
            types.update(type(v) for v in branch["enum"])
        elif kind is None and "const" in branch:
            types.add(type(branch["const"]))
        elif kind is None:
            types = None
            break
        else:
            for name in kind if isinstance(kind, list) else [kind]:
                types.update(_PY_TYPES.get(name, ()))
    out.types = frozenset(types) if types is not None else None
    if depth > 8:
        return out
    for branch in branches:
        for key, sub in (branch.get("properties") or {}).items():
            out.props[key] = _compile(schema, sub, depth + 1)
        extra = branch.get("additionalProperties")
        if isinstance(extra, dict):
            out.extra = _compile(schema, extra, depth + 1)
        if isinstance(branch.get("items"), dict):
            out.items = _compile(schema, branch["items"], depth + 1)
    out.leaf = not (out.props or out.extra or out.items)
    return out


_ROOT = None


def root():
    """The compiled facts schema (also what fact paths of policies are checked against)."""
    global _ROOT
    if _ROOT is None:
        from ansible_collections.hostnet.netif.plugins.plugin_utils import validate

        _ROOT = _compile(validate.load_schema("facts"), validate.load_schema("facts"))
    return _ROOT


_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _render(parts):
    """interfaces["eth0.100"].addresses[0] (keys with dots or dashes in brackets)."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += "[%d]" % part
        elif _PLAIN_KEY.match(part):
            out += ("." if out else "") + part
        else:
            out += '["%s"]' % part
    return out


def type_text(types, null=True):
    """``integer or null`` for a set of Python types."""
    names = sorted(set(_JSON_NAMES.get(t, t.__name__) for t in types if null or t is not type(None)))
    return " or ".join(names) or "null"


def _expected(types):
    return "a value of type %s" % type_text(types)


def _walk(value, node, path):
    """(path, expected, found) of the first value of the wrong type below ``value``, or None.

    Exact ``type()`` checks on purpose: a bool is not a number here (isinstance would say it
    is), and this runs for every value of every host of a fleet."""
    # pylint: disable=unidiomatic-typecheck
    if type(value) is dict:
        props, extra = node.props, node.extra
        if not props and extra is not None and extra.leaf and extra.types is not None:
            types = extra.types  # a map of scalars (sysctl blocks, statistics): one tight loop
            for key, item in value.items():
                if type(item) not in types:
                    return path + [key], _expected(types), item
            return None
        for key, item in value.items():
            child = props.get(key, extra)
            if child is None:
                continue
            kind = type(item)
            if child.types is not None and kind not in child.types:
                return path + [key], _expected(child.types), item
            if not child.leaf and (kind is dict or kind is list):
                found = _walk(item, child, path + [key])
                if found is not None:
                    return found
    elif type(value) is list and node.items is not None:
        child = node.items
        for index, item in enumerate(value):
            if child.types is not None and type(item) not in child.types:
                return path + [index], _expected(child.types), item
            if not child.leaf and (type(item) is dict or type(item) is list):
                found = _walk(item, child, path + [index])
                if found is not None:
                    return found
    return None


def problem(facts):
    """Why ``facts`` (a dict) does not have the schema's shape, as one line; None when it does."""
    found = _walk(facts, root(), [])
    if found is None:
        return None
    parts, expected, value = found
    return "%s: expected %s, found %s" % (_render(parts), expected, shorten(value))
