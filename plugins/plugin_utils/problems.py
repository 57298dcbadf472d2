# -*- coding: utf-8 -*-
# Copyright: hostnet.netif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One error shape for every controller-side entry point.

A :class:`Problem` is one thing wrong with the input: ``path`` (``config[1].mtu``,
``rules[3].expect.equals``), ``expected``, ``found`` (a short JSON rendering of
the value), ``schema_path`` (where in the JSON Schema, when a schema said so) and
``line`` (for YAML files). Setters, policies, waivers and fact-cache entries all
report with it: as text ``config[0].mtu: expected a number <= 65536, found 70000``
and as data ``{"path": ..., "expected": ..., "found": ..., "schema_path": ..., "line": ...}``
in a task result's ``errors`` list. A check that cannot be phrased as expected
versus found (``the all-zero MAC cannot be assigned``) keeps its sentence in
``message``, which then replaces "expected ..., found ..." in the text.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import difflib
import json
import re

from ansible_collections.hostnet.netif.plugins.module_utils.errors import type_name

FOUND_LIMIT = 80
TOP_LEVEL = "(top level)"
FORMATS = {"date": "a date YYYY-MM-DD", "regex": "a valid regular expression"}


class Problem:
    """One validation error (see the module docstring)."""

    __slots__ = ("path", "expected", "found", "schema_path", "line", "message")

    def __init__(self, path, expected, found, schema_path="", line=None, message=None):
        self.path = path or ""
        self.expected = expected
        self.found = found
        self.schema_path = schema_path or ""
        self.line = line
        self.message = message

    def where(self):
        text = self.path or TOP_LEVEL
        return "%s (line %d)" % (text, self.line) if self.line else text

    def __str__(self):
        if self.message:
            return "%s: %s" % (self.where(), self.message)
        return "%s: expected %s, found %s" % (self.where(), self.expected, self.found)

    def __repr__(self):
        return "Problem(%r)" % str(self)

    def as_dict(self):
        out = {"path": self.path, "expected": self.expected, "found": self.found,
               "schema_path": self.schema_path, "line": self.line}
        if self.message:
            out["message"] = self.message
        return out


class ProblemsError(ValueError):
    """Input with one or more problems; ``head`` says what was being read."""

    def __init__(self, problems, head=""):
        self.problems = list(problems)
        self.head = head
        super(ProblemsError, self).__init__(render(self.problems, head))

    @property
    def errors(self):
        """The problems as data (the ``errors`` list of a task result)."""
        return [p.as_dict() for p in self.problems]

    def to_result(self):
        return {"failed": True, "msg": str(self), "errors": self.errors}


def failure(path, expected, found):
    """A failed task result for one bad argument: ``failed``, ``msg`` and ``errors``."""
    return ProblemsError([Problem(path, expected, found)]).to_result()


def render(problems, head=""):
    """One readable text: ``head: problem`` or ``head (N problems):`` and one per line."""
    problems = list(problems)
    if len(problems) == 1:
        return "%s: %s" % (head, problems[0]) if head else str(problems[0])
    if not head:
        return "; ".join(str(p) for p in problems)
    return "%s (%d problems):\n  %s" % (head, len(problems), "\n  ".join(str(p) for p in problems))


def format_path(parts):
    """('config', 1, 'mtu') -> 'config[1].mtu'."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += "[%d]" % part
        else:
            text += ("." if text else "") + str(part)
    return text


def shorten(value, limit=FOUND_LIMIT):
    """A value as short JSON text (what error messages show as ``found``)."""
    try:
        text = json.dumps(value, sort_keys=True, default=str)
    except RecursionError:
        text = "<%s nested too deeply to show>" % type_name(value)
    except (TypeError, ValueError):  # keys that do not sort
        text = json.dumps(value, default=str)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def closest(name, names):
    """The name of ``names`` closest to ``name`` (difflib), or None."""
    if not isinstance(name, str):
        return None
    found = difflib.get_close_matches(name, [str(n) for n in names], n=1, cutoff=0.6)
    return found[0] if found else None


def one_of(name, names):
    """``one of a, b, c``, with ``(did you mean 'x'?)`` when ``name`` is close to one."""
    near = closest(name, names)
    listed = "one of %s" % ", ".join(sorted(str(n) for n in names))
    return "%s (did you mean %r?)" % (listed, near) if near else listed


_SENTENCE = re.compile(r"^expected (?P<expected>.+), found (?P<found>.+)$", re.S)


def from_message(path, message, value):
    """A Problem from a check's sentence: ``expected X, found Y`` is split into its parts;
    any other sentence is kept as ``message`` (``found`` is then the value)."""
    match = _SENTENCE.match(message or "")
    if match:
        return Problem(path, match.group("expected"), match.group("found"))
    return Problem(path, "a valid value", shorten(value), message=message)


# ---------------------------------------------------------------------------
# jsonschema errors -> Problems
# ---------------------------------------------------------------------------
def _described(error):
    return error.schema.get("description") if isinstance(error.schema, dict) else None


def expected_text(error):
    """What a failed jsonschema keyword asked for, in words."""
    validator, value = error.validator, error.validator_value
    if validator == "type":
        return "a value of type %s" % (" or ".join(value) if isinstance(value, list) else value)
    if validator == "enum":
        return "one of %s" % ", ".join(json.dumps(v) for v in value)
    if validator == "const":
        return json.dumps(value)
    if validator in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        return "a number %s %s" % ({"minimum": ">=", "maximum": "<=", "exclusiveMinimum": ">",
                                    "exclusiveMaximum": "<"}[validator], value)
    if validator == "minLength":
        return "at least %d character%s" % (value, "" if value == 1 else "s")
    if validator == "maxLength":
        return "at most %d characters" % value
    if validator == "pattern":
        return _described(error) or "text matching %s" % value
    if validator == "minItems":
        return "at least %d item%s" % (value, "" if value == 1 else "s")
    if validator == "maxItems":
        return "at most %d item%s" % (value, "" if value == 1 else "s")
    if validator == "minProperties":
        return "at least %d key%s" % (value, "" if value == 1 else "s")
    if validator == "uniqueItems":
        return "items that differ from each other"
    if validator == "not":
        return _described(error) or "something else"
    if validator == "format":
        return FORMATS.get(value, "a valid %s" % value)
    return error.message


def from_schema_error(error, prefix=()):
    """Turn one jsonschema ValidationError into Problems (descending into oneOf/anyOf)."""
    path = list(prefix) + list(error.absolute_path)
    schema_path = "/".join(str(p) for p in error.absolute_schema_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = sorted((error.schema.get("properties") or {}).keys())
        extra = sorted(k for k in error.instance if k not in allowed)
        out = []
        for key in extra:
            near = closest(key, allowed)
            hint = "; did you mean %r?" % near if near else ""
            out.append(Problem(format_path(path + [key]),
                               "no such option%s (allowed: %s)" % (hint, ", ".join(allowed)),
                               shorten(error.instance[key]), schema_path))
        return out
    if error.validator == "required":
        instance = error.instance if isinstance(error.instance, dict) else {}
        missing = [k for k in error.validator_value if k not in instance]
        hint = " (%s)" % _described(error) if _described(error) else ""
        return [Problem(format_path(path + [key]), "the field to be set%s" % hint, "nothing",
                        schema_path) for key in missing]
    if error.validator in ("oneOf", "anyOf") and error.context:
        # the branch that got furthest (deepest path, fewest schema steps) says the most
        best = sorted(error.context, key=lambda e: (-len(list(e.absolute_path)),
                                                    len(list(e.absolute_schema_path))))
        for sub in best:
            if list(sub.absolute_path) == list(best[0].absolute_path):
                found = from_schema_error(sub, prefix)
                if found:
                    return found[:1]
        return [Problem(format_path(path), error.message, shorten(error.instance), schema_path)]
    if error.validator == "not" and error.validator_value == {}:
        described = _described(error)
        return [Problem(format_path(path), "no such option here (%s)" % described if described
                        else "no such option", shorten(error.instance), schema_path)]
    return [Problem(format_path(path), expected_text(error), shorten(error.instance), schema_path)]


def schema_problems(validator, instance, prefix=(), lines=None):
    """Every Problem ``validator`` (a jsonschema validator) finds in ``instance``, sorted by path.

    ``lines`` (a callable: path parts -> line or None) adds YAML line numbers.
    """
    found = []
    seen = set()
    for error in validator.iter_errors(instance):
        for problem in from_schema_error(error, prefix):
            key = (problem.path, problem.expected)
            if key in seen:
                continue
            seen.add(key)
            if lines is not None:
                problem.line = lines(list(prefix) + list(error.absolute_path)
                                     + _tail(problem.path, error))
            found.append(problem)
    found.sort(key=lambda p: p.path)
    return found


def _tail(path, error):
    """The key a required/additionalProperties problem added below the error's own path."""
    if error.validator in ("required", "additionalProperties") and "." in path:
        return [path.rsplit(".", 1)[1]]
    return []
