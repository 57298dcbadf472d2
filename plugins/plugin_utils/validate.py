# -*- coding: utf-8 -*-
# Copyright: hostnet.netif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""JSON Schema validation (Draft 2020-12) with errors a user can act on (controller side).

Every error names the data path in the form the module documents
(``config[1].mtu``), what was expected and what was found; all errors are
collected, not just the first. The error shape is plugin_utils/problems.py. Schemas live in ``schemas/<name>.schema.json``.
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

# re-exported: callers import the error shape from validate
from ansible_collections.hostnet.netif.plugins.plugin_utils.problems import (  # noqa: F401 pylint: disable=unused-import
    Problem,
    ProblemsError,
    format_path,
    schema_problems,
)

SCHEMA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "schemas")
_CACHE = {}


class SchemaError(ProblemsError):
    """Validation failed; ``errors`` is the list of problems as data, ``problems`` the objects."""

    def __init__(self, problems):
        super(SchemaError, self).__init__(problems, "invalid input")


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


def problems(instance, schema):
    """All Problems of ``instance`` against ``schema``, sorted by path."""
    if not HAS_JSONSCHEMA:
        raise RuntimeError("the jsonschema Python library is needed on the controller: %s"
                           % JSONSCHEMA_IMPORT_ERROR)
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    return schema_problems(validator, instance)


def validate(instance, name_or_schema):
    """Raise SchemaError listing every problem; ``name_or_schema`` a schema name or dict."""
    schema = load_schema(name_or_schema) if isinstance(name_or_schema, str) else name_or_schema
    found = problems(instance, schema)
    if found:
        raise SchemaError(found)
    return instance
