# -*- coding: utf-8 -*-
# Copyright: hostnet.netif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Typed errors shared by the reader, planner and transaction (stdlib only).

Callers decide what to do from the type: bad input is never retried, a
command failure carries the argv, exit code and the kernel's message.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


def printable(text):
    """``text`` with bytes that are not UTF-8 (surrogateescape) spelled ``\\xNN``.

    Error output of ``ip`` may quote an interface name byte for byte; a module
    result holding a lone surrogate is refused by the controller.
    """
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


class NetifError(Exception):
    """Base class: every error this collection raises on purpose."""

    def to_result(self):
        return {"msg": printable(str(self))}


class InputError(NetifError, ValueError):
    """The caller's input is invalid; ``path`` names the field (e.g. config[1].mtu)."""

    def __init__(self, path, message):
        self.path = path
        super(InputError, self).__init__("%s: %s" % (path, message) if path else message)


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
