# -*- coding: utf-8 -*-
# Copyright: hostnet.netif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ansible-doc renders every plugin and role of the collection, without a warning.

Run by .ci/doc-check.sh with the collection (a staged copy) on
ANSIBLE_COLLECTIONS_PATH:

    python .ci/doc_check.py COLLECTION_DIR NAMESPACE.NAME

What is checked, found from the files (no hard-coded list):
  * ``ansible-doc --metadata-dump`` loads the documentation of every plugin and
    role of the collection with no error or warning;
  * every file under plugins/<type>/ (modules, lookups, callbacks, inventory, ...)
    is a plugin ansible-doc knows; every filter/test file yields documented
    filters/tests;
  * every action plugin has module documentation of the same name (the module
    file or a docs-only module), so ``ansible-doc -t module`` covers it;
  * every role under roles/ has an argument spec (meta/argument_specs.yml), so
    ``ansible-doc -t role`` covers it;
  * ``ansible-doc -t <type> <fqcn>`` renders each of them (one process per type;
    a failing batch is re-run one plugin at a time to name the culprit) with
    exit status 0, nothing on stderr, no [WARNING]/[ERROR]/UNDOCUMENTED, and the
    plugin's header in the text.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

# Plugin types that are one plugin per file (plugins/<dir>/<name>.py), by directory.
PER_FILE_TYPES = {
    "modules": "module",
    "become": "become",
    "cache": "cache",
    "callback": "callback",
    "cliconf": "cliconf",
    "connection": "connection",
    "httpapi": "httpapi",
    "inventory": "inventory",
    "lookup": "lookup",
    "netconf": "netconf",
    "shell": "shell",
    "strategy": "strategy",
    "vars": "vars",
}
# Jinja2 plugin types: one file may hold many plugins (docs in <name>.yml sidecars).
JINJA_TYPES = {"filter": "filter", "test": "test"}
# Directories under plugins/ that hold no plugins ansible-doc documents.
NOT_DOCUMENTED_DIRS = {"action", "module_utils", "plugin_utils", "doc_fragments", "terminal", "__pycache__"}
NOISE = re.compile(r"\[(WARNING|ERROR|DEPRECATION WARNING)\]|UNDOCUMENTED")


class Checker:
    def __init__(self, root, collection, ansible_doc):
        self.root = root
        self.collection = collection
        self.ansible_doc = ansible_doc
        self.problems = []
        self.rendered = {}

    def problem(self, message):
        self.problems.append(message)
        print("  FAIL " + message)

    def fqcn(self, name):
        return "%s.%s" % (self.collection, name)

    def run_doc(self, args):
        proc = subprocess.run([self.ansible_doc] + args, check=False, capture_output=True, text=True)
        return proc.returncode, proc.stdout, proc.stderr

    # ------------------------------------------------------------------ discovery
    def plugin_files(self, directory):
        """Plugin names from plugins/<directory>/ (sub-directories give dotted names)."""
        base = os.path.join(self.root, "plugins", directory)
        names = set()
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = [d for d in dirnames if d != "__pycache__"]
            for filename in filenames:
                stem, ext = os.path.splitext(filename)
                if ext not in (".py", ".yml", ".yaml") or stem == "__init__":
                    continue
                rel = os.path.relpath(os.path.join(dirpath, stem), base)
                names.add(rel.replace(os.sep, "."))
        return names

    def roles(self):
        base = os.path.join(self.root, "roles")
        if not os.path.isdir(base):
            return set()
        return {d for d in os.listdir(base) if os.path.isdir(os.path.join(base, d)) and not d.startswith(".")}

    def metadata_dump(self):
        rc, out, err = self.run_doc(["--metadata-dump", "--no-fail-on-errors", self.collection])
        if rc != 0 or err.strip():
            self.problem("ansible-doc --metadata-dump %s: exit %d\n%s" % (self.collection, rc, err.strip()))
        try:
            return json.loads(out)["all"]
        except (ValueError, KeyError) as exc:
            self.problem("ansible-doc --metadata-dump printed no usable JSON: %s" % exc)
            return {}

    # ------------------------------------------------------------------ checks
    def expected(self, dump):
        """{plugin type: set of fqcn} that must render, after the cross-checks."""
        prefix = self.collection + "."
        known = {ptype: {k for k in entries if k.startswith(prefix)} for ptype, entries in dump.items()}
        for ptype, entries in dump.items():
            for name, entry in entries.items():
                if name.startswith(prefix) and isinstance(entry, dict) and "error" in entry:
                    self.problem("%s %s: %s" % (ptype, name, entry["error"]))
        want = {}
        plugins_dir = os.path.join(self.root, "plugins")
        present = sorted(d for d in os.listdir(plugins_dir) if os.path.isdir(os.path.join(plugins_dir, d))) \
            if os.path.isdir(plugins_dir) else []
        for directory in present:
            if directory in PER_FILE_TYPES:
                ptype = PER_FILE_TYPES[directory]
                for name in sorted(self.plugin_files(directory)):
                    fqcn = self.fqcn(name)
                    if fqcn not in known.get(ptype, set()):
                        self.problem("plugins/%s/%s: ansible-doc does not know %s %s" % (directory, name, ptype, fqcn))
                    want.setdefault(ptype, set()).add(fqcn)
            elif directory in JINJA_TYPES:
                ptype = JINJA_TYPES[directory]
                found = known.get(ptype, set())
                if self.plugin_files(directory) and not found:
                    self.problem("plugins/%s/ has files but ansible-doc finds no %s plugin in them" % (directory, ptype))
                want.setdefault(ptype, set()).update(found)
            elif directory not in NOT_DOCUMENTED_DIRS:
                self.problem("plugins/%s/: a plugin directory this check does not know; add it to .ci/doc_check.py" % directory)
        modules = want.get("module", set())
        for name in sorted(self.plugin_files("action")) if "action" in present else []:
            if self.fqcn(name) not in modules:
                self.problem("plugins/action/%s.py: no module documentation of the same name "
                             "(plugins/modules/%s.py, a docs-only module)" % (name, name))
        for role in sorted(self.roles()):
            fqcn = self.fqcn(role)
            if fqcn not in known.get("role", set()):
                self.problem("roles/%s: no argument spec (roles/%s/meta/argument_specs.yml), so ansible-doc -t role "
                             "cannot document it" % (role, role))
            else:
                entry_points = (dump["role"][fqcn] or {}).get("entry_points") or {}
                for ep_name, ep in sorted(entry_points.items()):
                    if not (ep or {}).get("short_description"):
                        self.problem("roles/%s: entry point %s has no short_description" % (role, ep_name))
                want.setdefault("role", set()).add(fqcn)
        for ptype, names in want.items():
            for fqcn in names:
                entry = dump.get(ptype, {}).get(fqcn)
                doc = (entry or {}).get("doc") if ptype != "role" else None
                if isinstance(doc, dict) and not doc.get("short_description"):
                    self.problem("%s %s: no short_description" % (ptype, fqcn))
        return want

    @staticmethod
    def header(ptype, fqcn):
        if ptype == "role":
            return re.compile(r"^> ROLE: \*?%s\*? " % re.escape(fqcn), re.M)
        return re.compile(r"^> %s %s " % (re.escape(ptype.upper()), re.escape(fqcn)), re.M)

    def render_ok(self, ptype, names, rc, out, err):
        reasons = []
        if rc != 0:
            reasons.append("exit status %d" % rc)
        if err.strip():
            reasons.append("stderr: " + err.strip())
        noise = sorted(set(m.group(0) for m in NOISE.finditer(out)))
        if noise:
            reasons.append("output has " + ", ".join(noise))
        for fqcn in names:
            if not self.header(ptype, fqcn).search(out):
                reasons.append("no '> %s %s' header in the output" % (ptype.upper(), fqcn))
        return reasons

    def render(self, ptype, names):
        names = sorted(names)
        rc, out, err = self.run_doc(["-t", ptype] + names)
        if not self.render_ok(ptype, names, rc, out, err):
            for fqcn in names:
                print("  ok   ansible-doc -t %s %s" % (ptype, fqcn))
            return
        for fqcn in names:  # name the culprit(s)
            rc, out, err = self.run_doc(["-t", ptype, fqcn])
            reasons = self.render_ok(ptype, [fqcn], rc, out, err)
            if reasons:
                self.problem("ansible-doc -t %s %s: %s" % (ptype, fqcn, "; ".join(reasons)))
            else:
                print("  ok   ansible-doc -t %s %s" % (ptype, fqcn))

    def list_ok(self, ptype):
        rc, out, err = self.run_doc(["-t", ptype, "--list", "--json", self.collection])
        if ptype == "role":
            # ansible-core lists a role's description as UNDOCUMENTED unless its
            # argument_specs sit in meta/main.yml (it reads galaxy_info only
            # then); the rendering below checks roles fully.
            out = out.replace('"UNDOCUMENTED"', '""')
        reasons = self.render_ok(ptype, [], rc, out, err)
        if reasons:
            self.problem("ansible-doc -t %s --list %s: %s" % (ptype, self.collection, "; ".join(reasons)))

    def main(self):
        dump = self.metadata_dump()
        want = self.expected(dump)
        count = 0
        for ptype in sorted(want):
            if want[ptype]:
                self.list_ok(ptype)
                self.render(ptype, want[ptype])
                count += len(want[ptype])
        if self.problems:
            print("doc-check: %d problem(s) in %d plugin(s)/role(s)" % (len(self.problems), count))
            return 1
        if count == 0:
            print("doc-check: found no plugin or role to document")
            return 1
        print("doc-check: %d plugin(s)/role(s) render with no warning (%s)"
              % (count, ", ".join("%s: %d" % (t, len(n)) for t, n in sorted(want.items()))))
        return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: doc_check.py COLLECTION_DIR NAMESPACE.NAME")
    ansible_doc = os.path.join(os.path.dirname(sys.executable), "ansible-doc")
    if not os.path.exists(ansible_doc):
        ansible_doc = "ansible-doc"
    sys.exit(Checker(sys.argv[1], sys.argv[2], ansible_doc).main())
