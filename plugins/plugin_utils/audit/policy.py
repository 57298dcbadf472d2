# -*- coding: utf-8 -*-
# Copyright: hostnet.netif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Audit policies: load (shipped baseline, file or dict), validate, compile.

A policy is validated against ``schemas/policy.schema.json`` and then checked
for what a schema cannot say (unique rule ids, parseable fact paths, sysctl keys
on the allow-list, waivers naming existing rules). Every problem names its
place in the file, e.g. ``rules[3].expect.equals (line 42)``, with what was
expected and what was found. Compiled rules are plain objects the engine can
evaluate over thousands of hosts without re-parsing anything.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import fnmatch
import hashlib
import json
import os
import re

try:
    import jsonschema
    import netaddr
except ImportError as exc:  # load_policy() reports it; the controller needs both
    jsonschema = netaddr = None
    IMPORT_ERROR = exc
else:
    IMPORT_ERROR = None

from ansible.module_utils.common.yaml import SafeLoader, yaml_load
from yaml import YAMLError

from ansible_collections.hostnet.netif.plugins.module_utils import model
from ansible_collections.hostnet.netif.plugins.plugin_utils.audit import factpath
from ansible_collections.hostnet.netif.plugins.plugin_utils.problems import (
    Problem,
    ProblemsError,
    format_path,
    one_of,
    schema_problems,
    shorten,
    type_name,
)

HERE = os.path.dirname(os.path.abspath(__file__))
BASELINE_DIR = os.path.join(HERE, "baselines")
SCHEMA_DIR = os.path.join(os.path.dirname(HERE), "schemas")
POLICY_SCHEMA = os.path.join(SCHEMA_DIR, "policy.schema.json")

SEVERITIES = ("info", "low", "medium", "high", "critical")
SEVERITY_RANK = dict((name, rank) for rank, name in enumerate(SEVERITIES))
STATUSES = ("pass", "fail", "waived", "error")
DEFAULT_POLICY = ("cis_network", "fleet")

# Findings the engine makes about the audit itself (not from a policy rule).
RULE_FACTS_UNAVAILABLE = "audit.facts_unavailable"
RULE_WAIVER_EXPIRED = "audit.waiver_expired"
INTERNAL_RULES = {
    RULE_FACTS_UNAVAILABLE: {
        "title": "Facts are available for the host",
        "severity": "high",
        "scope": "host",
        "rationale": "A host whose facts could not be gathered or read was not audited at all.",
        "remediation": {"text": "Make the host reachable (or its fact cache entry readable) and audit again."},
        "references": {},
    },
    RULE_WAIVER_EXPIRED: {
        "title": "Waivers are current",
        "severity": "medium",
        "scope": "host",
        "rationale": "An expired waiver no longer waives; the exception it granted needs review.",
        "remediation": {"text": "Fix the waived finding, or renew the waiver with a new expiry date and reason."},
        "references": {},
    },
}

_SCHEMA = None


class PolicyError(ProblemsError):
    """A policy or waiver list is invalid; ``problems`` lists each problem (``errors``: as data).

    ``what`` says which kind of file it is (``audit policy``, ``waiver file``, ``waivers``).
    """

    def __init__(self, source, problems, what="audit policy"):
        self.source = source
        self.what = what
        head = "invalid %s %s" % (what, source) if source else "invalid %s" % what
        super(PolicyError, self).__init__(problems, head)


def schema():
    global _SCHEMA
    if _SCHEMA is None:
        with open(POLICY_SCHEMA, encoding="utf-8") as handle:
            _SCHEMA = json.load(handle)
    return _SCHEMA


def shipped_baselines():
    """Names of the baselines shipped in baselines/ (file stem)."""
    return sorted(name[:-4] for name in os.listdir(BASELINE_DIR) if name.endswith(".yml"))


# ---------------------------------------------------------------------------
# paths and messages
# ---------------------------------------------------------------------------
class _Lines:
    """Maps a path inside a YAML file to a line number (only when reporting errors)."""

    def __init__(self, text):
        self.root = None
        if text is None:
            return
        try:
            self.root = SafeLoader(text).get_single_node()
        except YAMLError:  # a file that parsed once parses again; never hide the real error
            self.root = None

    def line(self, parts):
        node = self.root
        if node is None:
            return None
        for part in parts:
            if hasattr(node, "value") and isinstance(part, int) and isinstance(node.value, list) \
                    and node.tag.endswith(":seq"):
                if part >= len(node.value):
                    break
                node = node.value[part]
            elif hasattr(node, "value") and isinstance(node.value, list) and node.tag.endswith(":map"):
                for key, value in node.value:
                    if getattr(key, "value", None) == part:
                        node = value
                        break
                else:
                    break
            else:
                break
        return node.start_mark.line + 1


class _Problems:
    """The problems of one file, each with its YAML line when the file has one."""

    def __init__(self, prefix, lines):
        self.prefix = list(prefix)
        self.lines = lines
        self.items = []

    def add(self, parts, expected, found, message=None):
        parts = self.prefix + list(parts)
        line = self.lines.line(list(parts)) if self.lines else None
        self.items.append(Problem(format_path(parts), expected, found, line=line, message=message))

    def extend_schema(self, validator, instance, prefix=()):
        """Every schema problem of ``instance`` (at ``prefix`` below this file's own prefix)."""
        found = schema_problems(validator, instance, self.prefix + list(prefix),
                                self.lines.line if self.lines else None)
        self.items.extend(found)
        return found


# ---------------------------------------------------------------------------
# normalisation before validation
# ---------------------------------------------------------------------------
def _plain(value):
    """YAML/Ansible values -> JSON types (dates become ISO strings)."""
    if isinstance(value, dict):
        return dict((str(k) if not isinstance(k, str) else k, _plain(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, datetime.datetime):
        return value.date().isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, str):
        return str(value)
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return value


# ---------------------------------------------------------------------------
# compiled pieces
# ---------------------------------------------------------------------------
def _same(actual, expected):
    """Equality that keeps booleans apart from 0/1 and compares '1' with 1."""
    if isinstance(actual, bool) or isinstance(expected, bool):
        return isinstance(actual, bool) and isinstance(expected, bool) and actual == expected
    if isinstance(expected, (int, float)) and isinstance(actual, str):
        try:
            return float(actual.strip()) == expected
        except ValueError:
            return False
    if isinstance(actual, (int, float)) and isinstance(expected, str):
        try:
            return float(expected.strip()) == actual
        except ValueError:
            return False
    return actual == expected


def _number(value):
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            try:
                return float(value.strip())
            except ValueError:
                return None
    return None


_NONE = ()


class Expectation:
    """Expect operators compiled to (name, argument, test) triples; all must hold."""

    ORDER = ("equals", "not_equals", "in", "not_in", "min", "max", "absent", "present",
             "matches", "contains", "not_contains")

    def __init__(self, spec):
        self.spec = dict((k, spec[k]) for k in self.ORDER if k in spec)
        self.checks = []
        for name, arg in self.spec.items():
            if name == "matches":
                arg = re.compile(arg)
            self.checks.append((name, arg))
        self.text = self.describe()
        # one integer operator on an integer value (most sysctl rules): no generic loop
        self._int_op = None
        if len(self.checks) == 1:
            name, arg = self.checks[0]
            if name in ("equals", "min", "max") and type(arg) is int:  # not bool  # pylint: disable=unidiomatic-typecheck
                self._int_op = (name, arg)

    def failures(self, value):
        """Return the operators ``value`` violates (empty list = holds).

        ``value`` is factpath.MISSING for a key that is not in the document.
        """
        if self._int_op is not None and type(value) is int:  # not bool  # pylint: disable=unidiomatic-typecheck
            name, arg = self._int_op
            if name == "equals":
                ok = value == arg
            elif name == "min":
                ok = value >= arg
            else:
                ok = value <= arg
            return _NONE if ok else [name]
        missing = value is factpath.MISSING or value is None
        bad = []
        for name, arg in self.checks:
            if name == "absent":
                ok = missing
            elif name == "present":
                ok = not missing
            elif missing:
                ok = name in ("not_equals", "not_in", "not_contains") and not (
                    name == "not_equals" and arg is None)
            elif name == "equals":
                ok = _same(value, arg)
            elif name == "not_equals":
                ok = not _same(value, arg)
            elif name == "in":
                ok = any(_same(value, item) for item in arg)
            elif name == "not_in":
                ok = not any(_same(value, item) for item in arg)
            elif name in ("min", "max"):
                number = _number(value)
                ok = number is not None and (number >= arg if name == "min" else number <= arg)
            elif name == "matches":
                ok = isinstance(value, (str, int, float)) and not isinstance(value, bool) \
                    and arg.search(str(value)) is not None
            elif name == "contains":
                ok = isinstance(value, (list, tuple)) and any(_same(v, arg) for v in value) \
                    or isinstance(value, str) and isinstance(arg, str) and arg in value
            else:  # not_contains
                ok = not (isinstance(value, (list, tuple)) and any(_same(v, arg) for v in value)
                          or isinstance(value, str) and isinstance(arg, str) and arg in value)
            if not ok:
                bad.append(name)
        return bad

    def describe(self):
        parts = []
        for name, arg in self.spec.items():
            if name in ("absent", "present"):
                parts.append(name)
            else:
                parts.append("%s %s" % (name.replace("_", " "), json.dumps(arg, default=str)))
        return " and ".join(parts)


class Selector:
    """Which hosts and interfaces a rule looks at."""

    def __init__(self, spec):
        spec = spec or {}
        self.hosts = list(spec.get("hosts") or [])
        self.exclude_hosts = list(spec.get("exclude_hosts") or [])
        self.include = model.compile_globs(spec.get("interfaces") or [])
        self.exclude = model.compile_globs(spec.get("exclude_interfaces") or [])
        self.kinds = frozenset(spec.get("kinds") or [])
        self.exclude_kinds = frozenset(spec.get("exclude_kinds") or [])
        self.flags = frozenset(spec.get("flags") or [])
        self.exclude_flags = frozenset(spec.get("exclude_flags") or [])
        self.any_host = not self.hosts and not self.exclude_hosts
        self.spec = spec

    @staticmethod
    def _any(patterns, host, groups):
        for pattern in patterns:
            if pattern in groups or fnmatch.fnmatchcase(host, pattern):
                return True
        return False

    def host_matches(self, host, groups):
        if self.hosts and not self._any(self.hosts, host, groups):
            return False
        return not (self.exclude_hosts and self._any(self.exclude_hosts, host, groups))

    def interface_matches(self, name, iface):
        if self.include is not None and not self.include.match(name):
            return False
        if self.exclude is not None and self.exclude.match(name):
            return False
        kind = iface.get("kind")
        if self.kinds and kind not in self.kinds:
            return False
        if self.exclude_kinds and kind in self.exclude_kinds:
            return False
        if self.flags or self.exclude_flags:
            flags = iface.get("flags") or ()
            if self.flags and not self.flags.issubset(flags):
                return False
            if self.exclude_flags and not self.exclude_flags.isdisjoint(flags):
                return False
        return True


class Rule:
    """One compiled rule."""

    def __init__(self, spec, policy_name):
        self.spec = spec
        self.policy = policy_name
        self.id = spec["id"]
        self.title = spec["title"]
        self.severity = spec["severity"]
        self.severity_rank = SEVERITY_RANK[self.severity]
        self.rationale = spec["rationale"]
        self.remediation = spec["remediation"]
        self.references = spec.get("references") or {}
        self.scope = spec["scope"]
        self.enabled = spec.get("enabled", True)
        self.select = Selector(spec.get("select"))
        self.check = spec.get("check")
        self.parameters = spec.get("parameters") or {}
        fact_scope = "interface" if self.scope in ("interface", "boot") else "host"
        self.fact = factpath.FactRef(spec["fact"], fact_scope) if "fact" in spec else None
        self.expect = Expectation(spec["expect"]) if "expect" in spec else None
        self.when = []
        for cond in spec.get("when") or []:
            ops = dict((k, v) for k, v in cond.items() if k != "fact")
            self.when.append((factpath.FactRef(cond["fact"], fact_scope), Expectation(ops)))
        self.drift_values = []
        if self.check == "drift":
            for value in self.parameters.get("values") or DEFAULT_DRIFT_VALUES:
                scope = value.get("scope", "interface")
                ref = factpath.FactRef(value["fact"], scope)
                self.drift_values.append((ref, model.compile_globs(value.get("interfaces") or [])))

    def catalog_entry(self):
        """What reports print about the rule (no per-host data)."""
        entry = {
            "title": self.title,
            "severity": self.severity,
            "scope": self.scope,
            "policy": self.policy,
            "rationale": self.rationale,
            "remediation": self.remediation,
            "references": self.references,
        }
        if self.fact is not None:
            entry["fact"] = self.fact.text
            entry["expect"] = self.expect.spec
        if self.check:
            entry["check"] = self.check
        return entry


DEFAULT_DRIFT_VALUES = (
    {"fact": "mtu", "scope": "interface"},
)


class Waiver:
    def __init__(self, spec, index, origin):
        self.spec = spec
        self.index = index
        self.origin = origin
        self.rule = spec["rule"]
        self.hosts = list(spec.get("hosts") or [])
        self.interfaces = model.compile_globs(spec.get("interfaces") or [])
        self.reason = spec["reason"]
        self.expires = (datetime.date.fromisoformat(spec["expires"])
                        if spec.get("expires") else None)

    def expired(self, today):
        return self.expires is not None and today > self.expires

    def host_matches(self, host, groups):
        return not self.hosts or Selector._any(self.hosts, host, groups)

    def interface_matches(self, name):
        if self.interfaces is None:
            return True
        return name is not None and self.interfaces.match(name) is not None

    def summary(self):
        out = {"reason": self.reason, "expires": self.spec.get("expires"), "source": self.origin}
        for key in ("owner", "ticket"):
            if self.spec.get(key):
                out[key] = self.spec[key]
        return out


class Policy:
    """Rules of one or more policy documents plus waivers, ready to evaluate."""

    def __init__(self, documents, waivers, sources):
        self.documents = documents
        self.sources = sources
        self.names = [doc["name"] for doc in documents]
        self.rules = []
        self.reference_sources = {}
        for doc in documents:
            self.reference_sources.update(doc.get("reference_sources") or {})
            for spec in doc["rules"]:
                rule = Rule(spec, doc["name"])
                if rule.enabled:
                    self.rules.append(rule)
        self.rules_by_id = dict((rule.id, rule) for rule in self.rules)
        self.host_rules = [r for r in self.rules if r.scope == "host"]
        self.interface_rules = [r for r in self.rules if r.scope == "interface"]
        self.fleet_rules = [r for r in self.rules if r.scope == "fleet"]
        self.boot_rules = [r for r in self.rules if r.scope == "boot"]
        self.waivers = waivers
        self.waivers_by_rule = {}
        for waiver in waivers:
            self.waivers_by_rule.setdefault(waiver.rule, []).append(waiver)
        canonical = json.dumps({"policies": documents, "waivers": [w.spec for w in waivers]},
                               sort_keys=True, default=str)
        self.digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    def catalog(self):
        out = dict((rule.id, rule.catalog_entry()) for rule in self.rules)
        for rule_id, entry in INTERNAL_RULES.items():
            out[rule_id] = dict(entry, policy="audit")
        return out

    def describe(self):
        return {"names": self.names, "sources": self.sources, "digest": self.digest,
                "rules": len(self.rules), "waivers": len(self.waivers),
                "reference_sources": self.reference_sources}


# ---------------------------------------------------------------------------
# loading
# ---------------------------------------------------------------------------
def _read_source(source, base_dirs):
    """Return (document, label, yaml_text or None) for a baseline name, path or dict."""
    if isinstance(source, dict):
        return _plain(source), "(inline policy)", None
    if not isinstance(source, str) or not source.strip():
        raise PolicyError(None, [Problem("policy", "a shipped baseline name (%s), a file path or a "
                                         "policy mapping" % ", ".join(shipped_baselines()),
                                         shorten(source))])
    source = str(source)
    path = None
    if re.match(r"^[a-z][a-z0-9_]*$", source) and os.path.isfile(os.path.join(BASELINE_DIR, source + ".yml")):
        path = os.path.join(BASELINE_DIR, source + ".yml")
    else:
        candidates = [source] if os.path.isabs(source) else [os.path.join(d, source) for d in base_dirs]
        for candidate in candidates:
            if os.path.isfile(candidate):
                path = candidate
                break
        if path is None:
            raise PolicyError(None, [Problem("policy", "a shipped baseline, %s, or a policy file "
                                             "(looked in %s)" % (one_of(source, shipped_baselines()),
                                                                 ", ".join(candidates)),
                                             "%r (no such baseline or file)" % source)])
    document, text = _read_yaml(path)
    return _plain(document), path, text


def _read_yaml(path, what="audit policy"):
    """(document, text) of a YAML file; PolicyError naming the file otherwise."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except (IOError, OSError, UnicodeError) as exc:
        raise PolicyError(path, [Problem("", "a readable UTF-8 file", getattr(exc, "strerror", None)
                                         or str(exc))], what)
    try:
        return yaml_load(text), text
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        reason = " ".join(str(getattr(exc, "problem", None) or exc).split())
        raise PolicyError(path, [Problem("", "valid YAML", reason,
                                         line=mark.line + 1 if mark is not None else None)], what)


def _rule_index(path):
    match = re.match(r"^(rules|waivers)\[(\d+)\]", path)
    return (match.group(1), int(match.group(2))) if match else None


def _check_document(document, label, seen, problems):
    """Every problem of one policy document, into ``problems`` (schema, then what a schema
    cannot say: fact paths, globs, sysctl keys, duplicate ids) for each rule the schema
    accepted; ``seen`` maps rule ids to the file that defined them."""
    if not isinstance(document, dict):
        problems.add([], "a mapping with schema_version, name and rules", type_name(document))
        return
    validator = jsonschema.Draft202012Validator(schema(), format_checker=jsonschema.FormatChecker())
    found = problems.extend_schema(validator, document)
    broken = set(_rule_index(p.path) for p in found)
    rules = document.get("rules")
    for index, spec in enumerate(rules if isinstance(rules, list) else []):
        if ("rules", index) in broken:
            continue
        _check_rule(spec, ["rules", index], problems)
        if spec["id"] in seen:
            problems.add(["rules", index, "id"], "a rule id not used before (%s defines it)"
                         % seen[spec["id"]], repr(spec["id"]))
        elif spec["id"] in INTERNAL_RULES:
            problems.add(["rules", index, "id"], "a rule id outside the audit's own (%s)"
                         % ", ".join(sorted(INTERNAL_RULES)), repr(spec["id"]))
        else:
            seen[spec["id"]] = label
    waivers = document.get("waivers")
    for index, spec in enumerate(waivers if isinstance(waivers, list) else []):
        if ("waivers", index) not in broken:
            _check_waiver_globs(spec, ["waivers", index], problems)


def _check_globs(patterns, where, problems):
    for index, pattern in enumerate(patterns or []):
        error = model.glob_error(pattern)
        if error:
            problems.add(where + [index], "a usable interface glob (this one %s)" % error, shorten(pattern))


def _check_rule(spec, where, problems):
    scope = spec["scope"]
    fact_scope = "interface" if scope == "interface" else "host"
    select = spec.get("select") or {}
    for key in ("interfaces", "exclude_interfaces"):
        _check_globs(select.get(key), where + ["select", key], problems)
    if scope == "boot":
        _check_boot_parameters(spec.get("parameters") or {}, where + ["parameters"], problems)
    if scope == "host":
        for key in ("interfaces", "exclude_interfaces", "kinds", "exclude_kinds", "flags", "exclude_flags"):
            if key in select:
                problems.add(where + ["select", key], "no interface selector (a host-scope rule selects "
                             "hosts only)", shorten(select[key]))
    for key, place in (("fact", where + ["fact"]),):
        if key in spec:
            try:
                factpath.FactRef(spec[key], fact_scope)
            except factpath.PathError as exc:
                problems.add(place, exc.expected, exc.found)
    for index, cond in enumerate(spec.get("when") or []):
        try:
            factpath.FactRef(cond["fact"], fact_scope)
        except factpath.PathError as exc:
            problems.add(where + ["when", index, "fact"], exc.expected, exc.found)
        _check_expect(cond, where + ["when", index], problems)
    if "expect" in spec:
        _check_expect(spec["expect"], where + ["expect"], problems)
    _check_remediation(spec["remediation"], where + ["remediation"], problems)
    params = spec.get("parameters") or {}
    for index, network in enumerate(params.get("ignore_networks") or []):
        try:
            netaddr.IPNetwork(network)
        except (netaddr.AddrFormatError, ValueError, TypeError) as exc:
            problems.add(where + ["parameters", "ignore_networks", index],
                         "a CIDR such as 198.18.0.0/15", "%s (%s)" % (shorten(network), exc))
    for index, value in enumerate(params.get("values") or []):
        try:
            factpath.FactRef(value["fact"], value.get("scope", "interface"))
        except factpath.PathError as exc:
            problems.add(where + ["parameters", "values", index, "fact"], exc.expected, exc.found)
        _check_globs(value.get("interfaces"), where + ["parameters", "values", index, "interfaces"], problems)


def _check_boot_parameters(params, where, problems):
    keys = params.get("keys")
    for index, key in enumerate(keys or []):
        try:
            model.parse_sysctl_keys([key])
        except ValueError:
            problems.add(where + ["keys", index], "a sysctl_keys entry: ipv4.<key>, ipv6.<key> of the "
                         "allow-list or a host key (%s)" % one_of(key, model.HOST_KEYS), shorten(key))


def _check_expect(spec, where, problems):
    if "min" in spec and "max" in spec and spec["min"] > spec["max"]:
        problems.add(where + ["min"], "min <= max (%s), or nothing can pass" % spec["max"],
                     shorten(spec["min"]))
    if "absent" in spec and "present" in spec:
        problems.add(where + ["absent"], "absent or present, not both (nothing can pass)",
                     "both")
    if "matches" in spec:
        try:
            re.compile(spec["matches"])
        except re.error as exc:
            problems.add(where + ["matches"], "a valid regular expression",
                         "%s (%s)" % (shorten(spec["matches"]), exc))


def _check_remediation(spec, where, problems):
    sysctls = spec.get("sysctls") or {}
    for family in ("ipv4", "ipv6"):
        for key in sysctls.get(family) or {}:
            if key not in model.CONF_KEYS[family]:
                problems.add(where + ["sysctls", family, key], "an allowed per-interface sysctl, %s"
                             % one_of(key, model.CONF_KEYS[family]), "%s.%s (not allowed)" % (family, key))
    for key in sysctls.get("host") or {}:
        if key not in model.HOST_KEYS:
            problems.add(where + ["sysctls", "host", key], one_of(key, model.HOST_KEYS), shorten(key))


def _check_waiver_globs(spec, where, problems):
    _check_globs(spec.get("interfaces"), where + ["interfaces"], problems)


def _unknown_rule(rule_id, known):
    return "a rule id of the policy, %s" % one_of(rule_id, known), repr(rule_id)


def _load_waivers(waivers, base_dirs, known):
    """Waivers given apart from the policy: a list, a mapping with ``waivers``, or a YAML file.

    Returns a list of Waiver; raises PolicyError (a waiver error, not a policy error)
    naming e.g. ``waivers[2].expires`` and listing every problem of the list at once.
    """
    label, text, data, what = "", None, waivers, "waivers"
    if isinstance(waivers, str):
        path = waivers if os.path.isabs(waivers) else None
        for base in ([] if path else base_dirs):
            if os.path.isfile(os.path.join(base, waivers)):
                path = os.path.join(base, waivers)
                break
        if not path or not os.path.isfile(path):
            raise PolicyError(None, [Problem("waivers", "an existing waiver file (looked in %s)"
                                             % ", ".join(base_dirs), repr(waivers))], "waivers")
        what = "waiver file"
        data, text = _read_yaml(path, what)
        label = path
    data = _plain(data)
    if isinstance(data, dict) and list(data) == ["waivers"]:
        items, prefix = data["waivers"], ["waivers"]
    else:
        items, prefix = data, ([] if text is not None else ["waivers"])
    problems = _Problems(prefix, _Lines(text))
    if items is None:
        return []
    if not isinstance(items, list):
        problems.add([], "a list of waivers", type_name(items))
        raise PolicyError(label, problems.items, what)
    validator = jsonschema.Draft202012Validator(
        {"$ref": "#/$defs/waiver", "$defs": schema()["$defs"]}, format_checker=jsonschema.FormatChecker())
    for index, spec in enumerate(items):
        if problems.extend_schema(validator, spec, [index]):
            continue
        _check_waiver_globs(spec, [index], problems)
        if spec["rule"] not in known:
            problems.add([index, "rule"], *_unknown_rule(spec["rule"], known))
    if problems.items:
        raise PolicyError(label, problems.items, what)
    return [Waiver(spec, index, label or "waivers") for index, spec in enumerate(items)]


def load_policy(sources=None, waivers=None, base_dirs=None):
    """Load and compile a Policy.

    ``sources``: a shipped baseline name, a file path, a policy mapping, or a
    list of those (None = the default cis_network + fleet). ``waivers``: a list
    of waiver mappings or a YAML file of them, added to the policies' own.
    ``base_dirs``: where relative paths are looked up (default: cwd).
    Raises PolicyError listing every problem with its path.
    """
    if IMPORT_ERROR is not None:
        raise PolicyError(None, [Problem("", "the jsonschema and netaddr Python libraries on the controller",
                                         str(IMPORT_ERROR))])
    base_dirs = list(base_dirs or []) + [os.getcwd()]
    if sources is None:
        sources = list(DEFAULT_POLICY)
    if not isinstance(sources, (list, tuple)):
        sources = [sources]
    if not sources:
        raise PolicyError(None, [Problem("policy", "at least one policy", "[]")])
    documents = []
    waiver_objects = []
    seen = {}
    for source in sources:
        document, label, text = _read_source(source, base_dirs)
        problems = _Problems([], _Lines(text))
        _check_document(document, label, seen, problems)
        documents.append((document, label, problems))
    known = set(seen)
    for document, label, problems in documents:  # a policy's waivers may name any policy's rules
        waivers_of = document.get("waivers") if isinstance(document, dict) else None
        for index, spec in enumerate(waivers_of if isinstance(waivers_of, list) else []):
            if isinstance(spec, dict) and isinstance(spec.get("rule"), str) and spec["rule"] not in known \
                    and not any(p.path.startswith("waivers[%d]" % index) for p in problems.items):
                problems.add(["waivers", index, "rule"], *_unknown_rule(spec["rule"], known))
    for document, label, problems in documents:
        if problems.items:
            raise PolicyError(label, problems.items)
        for index, spec in enumerate(document.get("waivers") or []):
            waiver_objects.append(Waiver(spec, index, label))
    if waivers:
        waiver_objects.extend(_load_waivers(waivers, base_dirs, known))
    return Policy([entry[0] for entry in documents], waiver_objects, [entry[1] for entry in documents])
