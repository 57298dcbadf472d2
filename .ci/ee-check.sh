#!/usr/bin/env bash
# AWX / Ansible Automation Platform fit, without a container engine:
#
#  1. meta/execution-environment.yml passes ansible-builder's schema and names
#     files that exist (requirements.txt: Python, bindep.txt: system packages);
#     bindep.txt parses (bindep lists what this machine lacks, which is fine).
#  2. The collection is built (staged copy, ansible-galaxy collection build) and
#     an execution-environment definition (ansible-builder version 3) that
#     installs that artifact is turned into a build context by
#     `ansible-builder create` -- which writes files only, no engine.
#  3. The context's own stages are replayed here: its requirements.yml installs
#     the artifact offline, its introspect.py reads the installed collection's
#     dependencies exactly as the image build would, and bindep parses the
#     result as the context's assemble script would.  The combined Python and
#     system requirements must hold every entry of requirements.txt (less
#     ansible-core, which the EE installs itself) and of bindep.txt.
# ansible-builder and bindep come pinned from .ci/tools-requirements.txt
# (.build/tools-venv); work files in .build/ee-check.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${VENV_BIN:-$ROOT/.venv/bin}
[ -x "$BIN/ansible-galaxy" ] || { echo "ee-check: $BIN/ansible-galaxy not found (run 'make venv')" >&2; exit 1; }
T0=$SECONDS
# shellcheck source=.ci/tools-venv.sh
. "$ROOT/.ci/tools-venv.sh"
exec 9>"$ROOT/.build/ee-check.lock"   # one run at a time per checkout
flock 9
export ANSIBLE_NOCOLOR=1 NO_COLOR=1 PYTHONDONTWRITEBYTECODE=1 ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false
unset ANSIBLE_CONFIG
fail() { echo "ee-check: $*" >&2; exit 1; }

read -r NAMESPACE NAME VERSION < <("$BIN/python" - "$ROOT/galaxy.yml" <<'PYEOF'
import sys, yaml
with open(sys.argv[1]) as f:
    g = yaml.safe_load(f)
print(g["namespace"], g["name"], g["version"])
PYEOF
)
[ -n "${VERSION:-}" ] || fail "cannot read namespace, name and version from galaxy.yml"
echo "ee-check: $(ansible-builder --version | head -n 1 | sed 's/^/ansible-builder /'), bindep $("$TVENV/bin/python" -c 'from importlib.metadata import version; print(version("bindep"))') on $NAMESPACE.$NAME $VERSION"

# ---------------------------------------------------- 1. collection metadata
"$TVENV/bin/python" - "$ROOT" <<'PYEOF' || fail "meta/execution-environment.yml is not usable"
import os, sys, yaml
from ansible_builder.ee_schema import validate_schema
root = sys.argv[1]
with open(os.path.join(root, "meta", "execution-environment.yml")) as f:
    meta = yaml.safe_load(f)
validate_schema(dict(meta))   # raises DefinitionError
deps = meta.get("dependencies") or {}
for kind in ("python", "system"):
    path = deps.get(kind)
    if not isinstance(path, str) or os.path.isabs(path) or not os.path.isfile(os.path.join(root, path)):
        sys.exit("dependencies.%s must name a file relative to the collection root, found %r" % (kind, path))
    print("meta/execution-environment.yml: %s dependencies in %s" % (kind, path))
PYEOF

bindep_parses() { # bindep_parses FILE [ARGS...] -- exit 0 or 1 (something missing) is fine
  local file=$1 rc=0 out; shift
  out=$(bindep -f "$file" "$@" 2>&1) || rc=$?
  if [ "$rc" -gt 1 ] || grep -qi 'error' <<<"$out"; then
    echo "$out" >&2; fail "bindep -f $file $* failed ($rc)"
  fi
  echo "bindep -f ${file#"$ROOT"/} $*: $(tr '\n' ' ' <<<"${out:-(none)}")"
}
bindep_parses "$ROOT/bindep.txt" --brief
bindep_parses "$ROOT/bindep.txt" --brief test

# ---------------------------------------------------- 2. artifact and build context
WORK=$ROOT/.build/ee-check
rm -rf "$WORK" && mkdir -p "$WORK/dist" "$WORK/def"
bash "$ROOT/.ci/stage.sh" "$WORK/src"
(cd "$WORK/src" && "$BIN/ansible-galaxy" collection build --output-path "$WORK/dist" .) >"$WORK/build.log" 2>&1 ||
  { cat "$WORK/build.log"; fail "ansible-galaxy collection build failed"; }
TARBALL=$NAMESPACE-$NAME-$VERSION.tar.gz
[ -f "$WORK/dist/$TARBALL" ] || fail "no $TARBALL built"
cp "$WORK/dist/$TARBALL" "$WORK/def/"
CORE_SPEC=$(grep -E '^ansible-core' "$ROOT/requirements.txt" | sed 's/[[:space:]]*#.*//' | head -n 1)
[ -n "$CORE_SPEC" ] || fail "requirements.txt names no ansible-core"
cat >"$WORK/def/requirements.yml" <<YAML
---
collections:
  # relative to /build, where the image build's galaxy stage runs
  - name: collections/$TARBALL
    type: file
YAML
cat >"$WORK/def/execution-environment.yml" <<YAML
---
version: 3
images:
  base_image:
    name: quay.io/centos/centos:stream9
dependencies:
  python_interpreter:
    package_system: python3.11
    python_path: /usr/bin/python3.11
  ansible_core:
    package_pip: "$CORE_SPEC"
  ansible_runner:
    package_pip: ansible-runner
  galaxy: requirements.yml
additional_build_files:
  - src: $TARBALL
    dest: collections
YAML
CONTEXT=$WORK/context
(cd "$WORK/def" && ansible-builder create -f execution-environment.yml -c "$CONTEXT" --output-filename Containerfile -v 1) ||
  fail "ansible-builder create failed"
for f in Containerfile _build/requirements.yml "_build/collections/$TARBALL" _build/scripts/introspect.py _build/scripts/assemble; do
  [ -f "$CONTEXT/$f" ] || fail "the build context lacks $f"
done
for want in 'ansible-galaxy collection install .*-r requirements.yml' 'introspect.py introspect' 'scripts/assemble' \
            "ANSIBLE_INSTALL_REFS=\"$CORE_SPEC ansible-runner\""; do
  grep -qE -- "$want" "$CONTEXT/Containerfile" || fail "the Containerfile has no line matching: $want"
done

# ---------------------------------------------------- 3. the context's stages, replayed
EE=$WORK/ee
mkdir -p "$EE/collections" "$EE/output"
(cd "$CONTEXT/_build" && ANSIBLE_COLLECTIONS_PATH=$EE/collections "$BIN/ansible-galaxy" collection install \
   --offline --force -r requirements.yml --collections-path "$EE/collections") >"$WORK/galaxy.log" 2>&1 ||
  { cat "$WORK/galaxy.log"; fail "the context's requirements.yml does not install the artifact"; }
[ -f "$EE/collections/ansible_collections/$NAMESPACE/$NAME/MANIFEST.json" ] ||
  { cat "$WORK/galaxy.log"; fail "the context's requirements.yml did not install $NAMESPACE.$NAME"; }
"$TVENV/bin/python" "$CONTEXT/_build/scripts/introspect.py" introspect \
   --write-bindep="$EE/output/bindep.txt" --write-pip="$EE/output/requirements.txt" "$EE/collections" >"$WORK/introspect.log" 2>&1 ||
  { cat "$WORK/introspect.log"; fail "introspect.py failed"; }
echo "introspected requirements of the installed artifact:"
sed 's/^/  /' "$EE/output/requirements.txt" "$EE/output/bindep.txt" 2>/dev/null || true
"$TVENV/bin/python" - "$ROOT" "$EE/output" "$NAMESPACE.$NAME" <<'PYEOF' || fail "the execution environment would miss requirements"
import os, re, sys
from packaging.requirements import Requirement
root, out, fqcn = sys.argv[1:]
def entries(path):
    with open(path) as f:
        return [re.sub(r"(^|\s+)#.*$", "", l).strip() for l in f if l.strip() and not l.startswith("#")]
def read(path):
    return entries(path) if os.path.exists(path) else []
problems = []
tag = "  # from collection " + fqcn
got_pip = [l for l in open(os.path.join(out, "requirements.txt")).read().splitlines() if l] \
    if os.path.exists(os.path.join(out, "requirements.txt")) else []
got_sys = [l for l in open(os.path.join(out, "bindep.txt")).read().splitlines() if l] \
    if os.path.exists(os.path.join(out, "bindep.txt")) else []
for line in read(os.path.join(root, "requirements.txt")):
    if line.startswith("-"):
        continue
    if Requirement(line).name.lower() == "ansible-core":
        continue   # the EE's own (dependencies.ansible_core)
    if line + tag not in got_pip:
        problems.append("python requirement %r is not in the EE's requirements" % line)
for line in read(os.path.join(root, "bindep.txt")):
    if line + tag not in got_sys:
        problems.append("system requirement %r is not in the EE's bindep.txt" % line)
for line in got_pip:
    Requirement(line.split("  #")[0])   # every line must be PEP 508, as pip will read it
for p in problems:
    print("ee-check: " + p, file=sys.stderr)
print("%d Python and %d system requirements reach the execution environment" % (len(got_pip), len(got_sys)))
sys.exit(1 if problems else 0)
PYEOF
# The assemble script's bindep calls on the combined file.
bindep_parses "$EE/output/bindep.txt" -l newline
bindep_parses "$EE/output/bindep.txt" -l newline -b epel
bindep_parses "$EE/output/bindep.txt" -b compile
echo "ee-check: passed in $((SECONDS - T0))s (build context: ${CONTEXT#"$ROOT"/})"
