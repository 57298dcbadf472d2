#!/usr/bin/env bash
# Changelog gate and release, with antsibull-changelog pinned in
# .build/tools-venv (.ci/tools-requirements.txt).
#
#   .ci/changelog.sh          lint: changelogs/config.yaml and every fragment
#                             (antsibull-changelog lint); changelogs/changelog.yaml
#                             when there is one (lint-changelog-yaml --strict);
#                             names the fragments not yet in a release.
#   .ci/changelog.sh release  (re)generate the release of galaxy.yml's version in
#                             changelogs/changelog.yaml and CHANGELOG.rst from the
#                             fragments (keep_fragments: true, so a fragment added,
#                             edited or removed since shows up on the next run).
#                             Env: RELEASE_DATE=YYYY-MM-DD (default: today).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${VENV_BIN:-$ROOT/.venv/bin}
[ -x "$BIN/python" ] || { echo "changelog: $BIN/python not found (run 'make venv')" >&2; exit 1; }
MODE=${1:-lint}
T0=$SECONDS
# shellcheck source=.ci/tools-venv.sh
. "$ROOT/.ci/tools-venv.sh"
exec 9>"$ROOT/.build/changelog.lock"   # one run at a time per checkout
flock 9
cd "$ROOT"
export NO_COLOR=1 ANSIBLE_NOCOLOR=1 PYTHONDONTWRITEBYTECODE=1

read -r NAMESPACE NAME VERSION < <("$BIN/python" - galaxy.yml <<'PYEOF'
import sys, yaml
with open(sys.argv[1]) as f:
    g = yaml.safe_load(f)
print(g["namespace"], g["name"], g["version"])
PYEOF
)
[ -n "${VERSION:-}" ] || { echo "changelog: cannot read namespace, name and version from galaxy.yml" >&2; exit 1; }

# Fragments that no release of changelogs/changelog.yaml lists yet.
pending() {
  "$TVENV/bin/python" - <<'PYEOF'
import os, yaml
names = sorted(n for n in os.listdir("changelogs/fragments")
               if n.endswith((".yml", ".yaml")) and not n.startswith("."))
try:
    with open("changelogs/changelog.yaml") as f:
        data = yaml.safe_load(f) or {}
except FileNotFoundError:
    data = {}
known = {n for r in (data.get("releases") or {}).values() for n in r.get("fragments") or []}
print(" ".join(n for n in names if n not in known))
PYEOF
}

case "$MODE" in
  lint)
    rc=0
    echo "changelog: antsibull-changelog $(antsibull-changelog --version)"
    antsibull-changelog lint || rc=1
    if [ -f changelogs/changelog.yaml ]; then
      antsibull-changelog lint-changelog-yaml --strict changelogs/changelog.yaml || rc=1
    fi
    n=$(find changelogs/fragments -maxdepth 1 -type f \( -name '*.yml' -o -name '*.yaml' \) | wc -l)
    waiting=$(pending)
    if [ -n "$waiting" ]; then
      echo "changelog: not yet in changelogs/changelog.yaml (run 'make changelog' before publishing): $waiting"
    fi
    echo "changelog: $n fragments$([ -f changelogs/changelog.yaml ] && echo ' and changelog.yaml') $([ "$rc" -eq 0 ] && echo passed || echo FAILED) in $((SECONDS - T0))s"
    exit "$rc"
    ;;
  release)
    # ansible-doc (of the project venv's ansible-core) lists the plugins, roles
    # and playbooks new in this release; antsibull-changelog puts a copy of the
    # collection on its --playbook-dir, so nothing installed can stand in.
    export ANSIBLE_COLLECTIONS_PATH=$ROOT/.build/changelog-empty ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false
    mkdir -p "$ANSIBLE_COLLECTIONS_PATH"
    unset ANSIBLE_CONFIG
    args=(release --version "$VERSION" --update-existing --refresh-fragments without-archives
          --reload-plugins --ansible-doc-bin "$BIN/ansible-doc")
    [ -n "${RELEASE_DATE:-}" ] && args+=(--date "$RELEASE_DATE")
    antsibull-changelog "${args[@]}"
    # A release's first run leaves out the trivial sections that a refresh keeps:
    # refresh once more, so every run of this target ends at the same files.
    antsibull-changelog generate --refresh-fragments without-archives
    rm -f changelogs/.plugin-cache.yaml   # a cache; --reload-plugins rebuilds it
    antsibull-changelog lint-changelog-yaml --strict changelogs/changelog.yaml
    echo "changelog: release $VERSION of $NAMESPACE.$NAME in changelogs/changelog.yaml and CHANGELOG.rst ($((SECONDS - T0))s)"
    ;;
  *)
    echo "usage: $0 [lint|release]" >&2; exit 2 ;;
esac
