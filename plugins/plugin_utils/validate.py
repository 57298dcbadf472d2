# -*- coding: utf-8 -*-
# Copyright: hostnet.netif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""JSON Schema validation (Draft 2020-12) with errors a user can act on (controller side).

Every error names the data path in the form the module documents
(``config[1].mtu``), what was expected and what was found; all errors are
collected, not just the first. Schemas live in ``schemas/<name>.schema.json``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

try:
    from jsonschema import Draft202012Validator
    HAS_JSONSCHEMA = True
    JSONSCHEMA_IMPORT_ERROR = None
except ImportError as exc:  # the action plugin reports it
    HAS_JSONSCHEMA = False
    JSONSCHEMA_IMPORT_ERROR = exc

SCHEMA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "schemas")
_CACHE = {}


class SchemaError(ValueError):
    """Validation failed; ``errors`` is the list of :class:`Problem`."""

    def __init__(self, errors):
        self.errors = list(errors)
        super(SchemaError, self).__init__(
            "%d invalid value%s: %s" % (len(self.errors), "" if len(self.errors) == 1 else "s",
                                        "; ".join(str(e) for e in self.errors)))


class Problem:
    """One validation error: ``path`` (config[1].mtu), ``expected``, ``found``."""

    def __init__(self, path, expected, found, schema_path="", message=None):
        self.path = path
        self.expected = expected
        self.found = found
        self.schema_path = schema_path
        self.message = message

    def __str__(self):
        if self.message:  # a sentence that already says what is wrong with which value
            return "%s: %s" % (self.path or "(top level)", self.message)
        return "%s: expected %s, found %s" % (self.path or "(top level)", self.expected, self.found)

    def as_dict(self):
        return {"path": self.path, "expected": self.expected, "found": self.found,
                "schema_path": self.schema_path}


def load_schema(name):
    """The parsed schema ``schemas/<name>.schema.json`` (cached)."""
    if name not in _CACHE:
        path = os.path.join(SCHEMA_DIR, "%s.schema.json" % name)
        with open(path, "r") as handle:
            schema = json.load(handle)
        if HAS_JSONSCHEMA:
            Draft202012Validator.check_schema(schema)
        _CACHE[name] = schema
    return _CACHE[name]


def format_path(parts):
    """('config', 1, 'mtu') -> 'config[1].mtu'."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += "[%d]" % part
        else:
            text += ("." if text else "") + str(part)
    return text


def _found(value):
    text = json.dumps(value, sort_keys=True, default=str)
    if len(text) > 80:
        text = text[:77] + "..."
    return text


def _expected(error):
    validator, value = error.validator, error.validator_value
    if validator == "type":
        return "a value of type %s" % (" or ".join(value) if isinstance(value, list) else value)
    if validator == "enum":
        return "one of %s" % ", ".join(json.dumps(v) for v in value)
    if validator == "const":
        return json.dumps(value)
    if validator == "minimum":
        return "a number >= %s" % value
    if validator == "maximum":
        return "a number <= %s" % value
    if validator == "exclusiveMinimum":
        return "a number > %s" % value
    if validator == "exclusiveMaximum":
        return "a number < %s" % value
    if validator == "minLength":
        return "at least %d character%s" % (value, "" if value == 1 else "s")
    if validator == "maxLength":
        return "at most %d characters" % value
    if validator == "pattern":
        description = error.schema.get("description") if isinstance(error.schema, dict) else None
        return description or "text matching %s" % value
    if validator == "required":
        return "the field to be set"
    if validator == "minItems":
        return "at least %d item%s" % (value, "" if value == 1 else "s")
    if validator == "not":
        described = error.schema.get("description") if isinstance(error.schema, dict) else None
        return described or "something else"
    if validator == "format":
        return "a valid %s" % value
    return error.message


def _problems(error):
    """Turn one jsonschema error into Problems (descending into oneOf/anyOf)."""
    path = list(error.absolute_path)
    schema_path = "/".join(str(p) for p in error.absolute_schema_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = set((error.schema.get("properties") or {}).keys())
        extra = sorted(k for k in error.instance if k not in allowed)
        return [Problem(format_path(path + [key]),
                        "no such option (allowed: %s)" % ", ".join(sorted(allowed)),
                        _found(error.instance[key]), schema_path) for key in extra]
    if error.validator == "required":
        missing = [k for k in error.validator_value if k not in (error.instance or {})]
        hint = ""
        if isinstance(error.schema, dict) and error.schema.get("description"):
            hint = " (%s)" % error.schema["description"]
        return [Problem(format_path(path + [key]), "the field to be set%s" % hint, "nothing",
                        schema_path) for key in missing]
    if error.validator in ("oneOf", "anyOf") and error.context:
        # report the branch that got furthest (deepest path, fewest errors)
        best = sorted(error.context, key=lambda e: (-len(list(e.absolute_path)),
                                                    len(list(e.absolute_schema_path))))
        result = []
        for sub in best:
            if list(sub.absolute_path) == list(best[0].absolute_path):
                result.extend(_problems(sub))
        return result[:1] if result else [Problem(format_path(path), error.message,
                                                  _found(error.instance), schema_path)]
    if error.validator == "not" and error.validator_value == {}:
        described = error.schema.get("description") if isinstance(error.schema, dict) else None
        return [Problem(format_path(path), "no such option here (%s)" % described if described
                        else "no such option", _found(error.instance), schema_path)]
    return [Problem(format_path(path), _expected(error), _found(error.instance), schema_path)]


def problems(instance, schema):
    """All Problems of ``instance`` against ``schema``, sorted by path."""
    if not HAS_JSONSCHEMA:
        raise RuntimeError("the jsonschema Python library is needed on the controller: %s"
                           % JSONSCHEMA_IMPORT_ERROR)
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    found = []
    seen = set()
    for error in validator.iter_errors(instance):
        for problem in _problems(error):
            key = (problem.path, problem.expected)
            if key not in seen:
                seen.add(key)
                found.append(problem)
    found.sort(key=lambda p: p.path)
    return found


def validate(instance, name_or_schema):
    """Raise SchemaError listing every problem; ``name_or_schema`` a schema name or dict."""
    schema = load_schema(name_or_schema) if isinstance(name_or_schema, str) else name_or_schema
    found = problems(instance, schema)
    if found:
        raise SchemaError(found)
    return instance
