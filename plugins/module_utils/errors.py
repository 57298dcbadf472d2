# -*- coding: utf-8 -*-
# Copyright: hostnet.netif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Typed errors shared by the reader, planner and transaction (stdlib only).

Callers decide what to do from the type: bad input is never retried, a
command failure carries the argv, exit code and the kernel's message.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re


def printable(text):
    """``text`` with bytes that are not UTF-8 (surrogateescape) spelled ``\\xNN``.

    Error output of ``ip`` may quote an interface name byte for byte; a module
    result holding a lone surrogate is refused by the controller.
    """
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def type_name(value):
    """The JSON type name of a value (JSON Schema's words: null, boolean, integer, number,
    string, object, array), else its Python type's name. One vocabulary for every error's
    ``found``, on the target and on the controller."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, (list, tuple)):
        return "array"
    return type(value).__name__


class NetifError(Exception):
    """Base class: every error this collection raises on purpose."""

    def to_result(self):
        return {"msg": printable(str(self))}


_EXPECTED_FOUND = re.compile(r"^expected (?P<expected>.+), found (?P<found>.+)$", re.S)


class InputError(NetifError, ValueError):
    """The caller's input is invalid; ``path`` names the field (e.g. config[1].mtu).

    ``to_result`` gives the controller's error shape (plugin_utils/problems.py):
    ``errors: [{path, expected, found, schema_path, line}]``. ``expected`` and
    ``found`` come from the arguments, or from a message of the form
    ``expected X, found Y``; any other message is kept as ``message``.
    """

    def __init__(self, path, message=None, expected=None, found=None):
        self.path = path
        if message is None:
            message = "expected %s, found %s" % (expected, found)
        match = _EXPECTED_FOUND.match(message) if expected is None else None
        if match:
            expected, found = match.group("expected"), match.group("found")
        self.expected = expected
        self.found = found
        self.message = message
        super(InputError, self).__init__("%s: %s" % (path, message) if path else message)

    def as_dict(self):
        out = {"path": self.path or "", "expected": self.expected or "a valid value",
               "found": self.found, "schema_path": "", "line": None}
        if self.expected is None:
            out["message"] = self.message
        return out

    def to_result(self):
        return {"msg": str(self), "errors": [self.as_dict()]}


class CommandError(NetifError):
    """An external command failed or could not be run."""

    def __init__(self, argv, rc, stderr, message=None):
        self.argv = list(argv)
        self.rc = rc
        self.stderr = (stderr or "").strip()
        text = message or "command failed"
        detail = "%s (rc=%s): %s" % (" ".join(self.argv), rc, self.stderr or "no error output")
        super(CommandError, self).__init__("%s: %s" % (text, detail))

    def to_result(self):
        return {"msg": printable(str(self)), "cmd": [printable(word) for word in self.argv],
                "rc": self.rc, "stderr": printable(self.stderr)}


class ParseError(NetifError):
    """Output that should be ``ip -json`` was not what it should be."""

    def __init__(self, source, message):
        self.source = source
        super(ParseError, self).__init__("%s: %s" % (source, message))
