# -*- coding: utf-8 -*-
# Copyright: hostnet.netif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Escaping shared by the report writers.

Host names, interface names, aliases and values come from hosts and inventories
and may hold anything: markup, ``]]>``, quotes, control characters, lone
surrogates. Every writer passes every such string through one of these.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import html
import json
import re

# C0 controls but tab/newline/CR, DEL, C1 controls, surrogates, and the two
# non-characters: invalid (or discouraged) in XML 1.0 and unreadable elsewhere.
_CONTROL = re.compile(u"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_CONTROL_ALL = re.compile(u"[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~$])")


def _visible(match):
    char = match.group(0)
    code = ord(char)
    if code <= 0xFF:
        return "\\x%02x" % code
    return "\\u%04x" % code


def text(value):
    """Any value as a string with control characters made visible (\\x1b)."""
    if value is None:
        return ""
    if not isinstance(value, str):
        value = json.dumps(value, default=str, ensure_ascii=False, sort_keys=True)
    return _CONTROL.sub(_visible, value)


def one_line(value):
    """Like text(), newlines and tabs made visible too."""
    if value is None:
        return ""
    if not isinstance(value, str):
        value = json.dumps(value, default=str, ensure_ascii=False, sort_keys=True)
    return _CONTROL_ALL.sub(_visible, value)


# anything that needs escaping in XML/HTML text or attributes
_SPECIAL = re.compile(u"[&<>\"'\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def xml(value):
    """Text for XML character data and attribute values (quotes escaped too)."""
    if type(value) is str and _SPECIAL.search(value) is None:  # exact str: fast path  # pylint: disable=unidiomatic-typecheck
        return value
    return html.escape(text(value), quote=True)


def xml_attr(value):
    if type(value) is str and _SPECIAL.search(value) is None:  # exact str: fast path  # pylint: disable=unidiomatic-typecheck
        return value
    return html.escape(one_line(value), quote=True)


def html_text(value):
    if type(value) is str and _SPECIAL.search(value) is None:  # exact str: fast path  # pylint: disable=unidiomatic-typecheck
        return value
    return html.escape(text(value), quote=True)


def markdown(value):
    """Inline Markdown: specials backslash-escaped, HTML metacharacters as entities."""
    escaped = _MD_SPECIAL.sub(r"\\\1", one_line(value))
    return html.escape(escaped, quote=False)
