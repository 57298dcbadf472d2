#!/usr/bin/env bash
# `ansible-galaxy collection build`, clean: built from a staged copy (what git
# would commit, no local state), no warning, and the artifact is checked: it
# holds every plugin/role file, none of the local clutter, and installs offline.
# Output: .build/dist/<namespace>-<name>-<version>.tar.gz, log in .build/build.log.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${VENV_BIN:-$ROOT/.venv/bin}
[ -x "$BIN/ansible-galaxy" ] || { echo "build: $BIN/ansible-galaxy not found (run 'make venv')" >&2; exit 1; }
T0=$SECONDS
BUILD=$ROOT/.build
mkdir -p "$BUILD"
exec 9>"$BUILD/build.lock"   # one run at a time per checkout
flock 9

STAGE=$BUILD/build-src
DIST=$BUILD/dist
LOG=$BUILD/build.log
bash "$ROOT/.ci/stage.sh" "$STAGE"
rm -rf "$DIST" && mkdir -p "$DIST"
export ANSIBLE_NOCOLOR=1 PYTHONDONTWRITEBYTECODE=1
rc=0
(cd "$STAGE" && "$BIN/ansible-galaxy" collection build --output-path "$DIST" .) >"$LOG" 2>&1 || rc=$?
cat "$LOG"
if [ "$rc" -ne 0 ]; then echo "build: ansible-galaxy collection build failed ($rc)" >&2; exit 1; fi
if grep -qiE 'warning|error' "$LOG"; then echo "build: ansible-galaxy printed a warning or error" >&2; exit 1; fi
shopt -s nullglob
tarballs=("$DIST"/*.tar.gz)
[ "${#tarballs[@]}" -eq 1 ] || { echo "build: expected one tarball in $DIST, found ${#tarballs[@]}" >&2; exit 1; }
TARBALL=${tarballs[0]}

# The artifact: every plugin and role file of the source is in it (build_ignore
# must not drop one), and nothing that is local state or a cache.
"$BIN/python" - "$STAGE" "$TARBALL" <<'PYEOF'
import os, sys, tarfile
stage, tarball = sys.argv[1:]
with tarfile.open(tarball) as tf:
    members = {m.name.rstrip("/") for m in tf.getmembers()}
problems = []
for required in ("MANIFEST.json", "FILES.json", "meta/runtime.yml"):
    if required not in members:
        problems.append("missing " + required)
for top in ("plugins", "roles", "playbooks", "meta"):
    for dirpath, dirnames, filenames in os.walk(os.path.join(stage, top)):
        dirnames[:] = [d for d in dirnames if d != "__pycache__"]
        for f in filenames:
            rel = os.path.relpath(os.path.join(dirpath, f), stage)
            if rel not in members and not f.endswith(".pyc"):
                problems.append("missing " + rel)
bad_parts = {".git", ".venv", ".build", "__pycache__", ".pytest_cache", ".tox", "netif-reports"}
for name in sorted(members):
    parts = name.split("/")
    if bad_parts.intersection(parts) or name.startswith("tests/output") or name.endswith((".pyc", ".tar.gz")):
        problems.append("local state in the artifact: " + name)
for p in problems:
    print("build: " + p, file=sys.stderr)
sys.exit(1 if problems else 0)
PYEOF

# It installs offline, without a warning.
INSTALL=$BUILD/build-install
rm -rf "$INSTALL"
if ! out=$(ANSIBLE_COLLECTIONS_PATH=$INSTALL "$BIN/ansible-galaxy" collection install --offline --force -p "$INSTALL" "$TARBALL" 2>&1); then
  echo "$out"; echo "build: the artifact does not install" >&2; exit 1
fi
if grep -qiE 'warning|error' <<<"$out"; then echo "$out"; echo "build: installing the artifact printed a warning" >&2; exit 1; fi
rm -rf "$INSTALL"
echo "build: $(basename "$TARBALL") ($(du -k "$TARBALL" | cut -f1) KiB, $(tar tzf "$TARBALL" | wc -l) entries) built, checked and installed in $((SECONDS - T0))s"
