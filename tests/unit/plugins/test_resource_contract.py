# -*- coding: utf-8 -*-
"""Schema, argspec and DOCUMENTATION of every resource module agree.

A resource module is any module in plugins/modules whose argspec is built by
``module_utils.resource.argument_spec`` (it has ``config`` items and the common
``state``/``running_config``/``scope``/``force`` options). New ones (addresses,
sysctls) are picked up automatically. For each, the options documented (after
merging the shared doc fragment), the argspec and the JSON Schema must name the
same options with the same types, choices/enums, required flags and defaults —
for the top level and for the ``config`` suboptions.
"""

import copy
import glob
import importlib
import json
import os

import pytest
import yaml

from ansible_collections.hostnet.netif.plugins.doc_fragments.resource import ModuleDocFragment
from ansible_collections.hostnet.netif.plugins.module_utils import resource
from ansible_collections.hostnet.netif.plugins.module_utils.errors import type_name

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
MODULE_DIR = os.path.join(ROOT, "plugins", "modules")
SCHEMA_DIR = os.path.join(ROOT, "plugins", "plugin_utils", "schemas")

TYPE_MAP = {"str": "string", "int": "integer", "bool": "boolean", "list": "array",
            "dict": "object", "float": "number", "path": "string", "raw": None}


def resource_modules():
    found = []
    for path in sorted(glob.glob(os.path.join(MODULE_DIR, "*.py"))):
        name = os.path.splitext(os.path.basename(path))[0]
        if name.startswith("_"):
            continue
        module = importlib.import_module("ansible_collections.hostnet.netif.plugins.modules." + name)
        spec = getattr(module, "ARGUMENT_SPEC", None)
        if isinstance(spec, dict) and "config" in spec and all(k in spec for k in resource.RESOURCE_COMMON_ARGS):
            found.append(name)
    return found


RESOURCE_MODULES = resource_modules()


def test_interfaces_is_a_resource_module():
    assert "interfaces" in RESOURCE_MODULES


def documented_options(module):
    doc = yaml.safe_load(module.DOCUMENTATION)
    options = copy.deepcopy(doc.get("options") or {})
    fragments = doc.get("extends_documentation_fragment") or []
    if isinstance(fragments, str):
        fragments = [fragments]
    assert "hostnet.netif.resource" in fragments, "resource modules extend hostnet.netif.resource"
    for name in fragments:
        if not name.startswith("hostnet.netif.resource"):
            continue
        attribute = name[len("hostnet.netif.resource."):].upper() or "DOCUMENTATION"
        fragment = yaml.safe_load(getattr(ModuleDocFragment, attribute))["options"]
        # ansible's merge_fragment: the module's keys win over the fragment's, one level deep
        for key, value in fragment.items():
            merged = copy.deepcopy(value)
            merged.update(options.get(key) or {})
            options[key] = merged
    return options


def load_schema(name):
    with open(os.path.join(SCHEMA_DIR, "%s.schema.json" % name)) as handle:
        return json.load(handle)


def resolve(schema, node):
    """Follow $ref (local only)."""
    while isinstance(node, dict) and "$ref" in node:
        parts = node["$ref"].lstrip("#/").split("/")
        target = schema
        for part in parts:
            target = target[part]
        node = target
    return node


def schema_types(schema, node):
    node = resolve(schema, node)
    types = set()
    if "type" in node:
        types.update(node["type"] if isinstance(node["type"], list) else [node["type"]])
    if "enum" in node:
        types.update(type_name(v) for v in node["enum"])
    if "const" in node:
        types.add(type_name(node["const"]))
    for key in ("anyOf", "oneOf"):
        for sub in node.get(key, []):
            types |= schema_types(schema, sub)
    return types


def schema_enum(schema, node):
    node = resolve(schema, node)
    if "enum" in node:
        return set(node["enum"])
    return None


def compare(name, documented, spec, schema):
    """Every disagreement as a sentence (empty list when all agree)."""
    problems = []
    props = schema["properties"]

    def check_level(where, docs, argspec, schema_props, schema_required):
        public = set(k for k in argspec if not k.startswith("_"))
        if set(docs) != public:
            problems.append("%s: documented %s vs argspec %s" % (where, sorted(docs), sorted(public)))
        if set(schema_props) != public:
            problems.append("%s: schema %s vs argspec %s" % (where, sorted(schema_props), sorted(public)))
        for key in sorted(public & set(docs) & set(schema_props)):
            arg, doc, prop = argspec[key], docs[key], schema_props[key]
            here = "%s.%s" % (where, key) if where else key
            arg_type = arg.get("type", "str")
            if doc.get("type", "str") != arg_type:
                problems.append("%s: documented type %s, argspec %s" % (here, doc.get("type"), arg_type))
            wanted = TYPE_MAP.get(arg_type)
            types = schema_types(schema, prop) - {"null"}
            if wanted and types != {wanted}:
                problems.append("%s: schema types %s, argspec %s" % (here, sorted(types), arg_type))
            if doc.get("elements") != arg.get("elements"):
                problems.append("%s: documented elements %s, argspec %s"
                                % (here, doc.get("elements"), arg.get("elements")))
            choices = set(arg["choices"]) if "choices" in arg else None
            if (set(doc["choices"]) if "choices" in doc else None) != choices:
                problems.append("%s: documented choices %s, argspec %s"
                                % (here, doc.get("choices"), arg.get("choices")))
            enum = schema_enum(schema, prop)
            if enum != choices:
                problems.append("%s: schema enum %s, argspec choices %s"
                                % (here, sorted(enum or []), sorted(choices or [])))
            if bool(doc.get("required")) != bool(arg.get("required")):
                problems.append("%s: documented required %s, argspec %s"
                                % (here, doc.get("required"), arg.get("required")))
            if bool(arg.get("required")) != (key in schema_required):
                problems.append("%s: schema required %s, argspec %s"
                                % (here, key in schema_required, arg.get("required")))
            if doc.get("default") != arg.get("default"):
                problems.append("%s: documented default %r, argspec %r"
                                % (here, doc.get("default"), arg.get("default")))

    check_level("", documented, spec, props, set(schema.get("required", [])))
    item_schema = resolve(schema, props["config"]["items"])
    check_level("config", documented["config"].get("suboptions") or {},
                spec["config"]["options"], item_schema["properties"],
                set(item_schema.get("required", [])))
    if schema.get("additionalProperties") is not False or item_schema.get("additionalProperties") is not False:
        problems.append("%s: schema must set additionalProperties: false" % name)
    return problems


@pytest.mark.parametrize("name", RESOURCE_MODULES)
def test_schema_argspec_and_docs_agree(name):
    module = importlib.import_module("ansible_collections.hostnet.netif.plugins.modules." + name)
    problems = compare(name, documented_options(module), module.ARGUMENT_SPEC, load_schema(name))
    assert problems == []


@pytest.mark.parametrize("name", RESOURCE_MODULES)
def test_common_options_come_from_one_place(name):
    module = importlib.import_module("ansible_collections.hostnet.netif.plugins.modules." + name)
    for key, value in resource.RESOURCE_COMMON_ARGS.items():
        assert module.ARGUMENT_SPEC[key] == value
    assert module.REQUIRED_IF == resource.RESOURCE_REQUIRED_IF
    doc = yaml.safe_load(module.DOCUMENTATION)
    for key in resource.RESOURCE_COMMON_ARGS:
        assert key not in (doc.get("options") or {}), "%s documented twice" % key


@pytest.mark.parametrize("name", RESOURCE_MODULES)
def test_action_plugin_exists_and_uses_the_schema(name):
    action = importlib.import_module("ansible_collections.hostnet.netif.plugins.action." + name)
    assert action.ActionModule.SCHEMA == name
    assert action.ActionModule.MODULE == "hostnet.netif." + name


@pytest.mark.parametrize("name", RESOURCE_MODULES)
def test_listed_in_action_group(name):
    with open(os.path.join(ROOT, "meta", "runtime.yml")) as handle:
        runtime = yaml.safe_load(handle)
    assert name in runtime["action_groups"]["netif"]


# the checker itself must catch drift, or the tests above prove nothing
DRIFTS = [
    ("schema loses an item property", lambda d, s, sc: sc["$defs"]["item"]["properties"].pop("mtu")),
    ("schema type changes", lambda d, s, sc: sc["$defs"]["item"]["properties"]["mtu"].update(type="string")),
    ("argspec choice added", lambda d, s, sc: s["config"]["options"]["kind"]["choices"].append("tun")),
    ("doc required dropped", lambda d, s, sc: d["config"]["suboptions"]["name"].pop("required")),
    ("doc option missing", lambda d, s, sc: d["config"]["suboptions"].pop("alias")),
    ("top-level default differs", lambda d, s, sc: s["force"].update(default=True)),
    ("schema state enum differs", lambda d, s, sc: sc["properties"]["state"]["enum"].pop()),
    ("schema required differs", lambda d, s, sc: sc["$defs"]["item"]["required"].append("mtu")),
    ("additionalProperties allowed", lambda d, s, sc: sc["$defs"]["item"].pop("additionalProperties")),
]


@pytest.mark.parametrize("label, mutate", DRIFTS, ids=[d[0] for d in DRIFTS])
def test_checker_detects_drift(label, mutate):
    from ansible_collections.hostnet.netif.plugins.modules import interfaces
    docs = documented_options(interfaces)
    spec = copy.deepcopy(interfaces.ARGUMENT_SPEC)
    schema = load_schema("interfaces")
    mutate(docs, spec, schema)
    assert compare("interfaces", docs, spec, schema) != []
