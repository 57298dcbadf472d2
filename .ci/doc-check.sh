#!/usr/bin/env bash
# ansible-doc renders every plugin (modules, action-backed modules, filters,
# tests, lookups, ...) and every role of the collection with no warning.
# Runs on a staged copy (.ci/stage.sh) put alone on ANSIBLE_COLLECTIONS_PATH,
# so no other installed copy of the collection can stand in; the checks
# themselves are in .ci/doc_check.py.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${VENV_BIN:-$ROOT/.venv/bin}
[ -x "$BIN/ansible-doc" ] || { echo "doc-check: $BIN/ansible-doc not found (run 'make venv')" >&2; exit 1; }
T0=$SECONDS

mkdir -p "$ROOT/.build"
exec 9>"$ROOT/.build/doc-check.lock"   # one run at a time per checkout
flock 9

read -r NAMESPACE NAME < <("$BIN/python" - "$ROOT/galaxy.yml" <<'PYEOF'
import sys, yaml
with open(sys.argv[1]) as f:
    g = yaml.safe_load(f)
print(g["namespace"], g["name"])
PYEOF
)
[ -n "${NAME:-}" ] || { echo "doc-check: cannot read namespace and name from galaxy.yml" >&2; exit 1; }
COLLECTIONS=$ROOT/.build/doc-check
STAGE=$COLLECTIONS/ansible_collections/$NAMESPACE/$NAME
bash "$ROOT/.ci/stage.sh" "$STAGE"

export ANSIBLE_COLLECTIONS_PATH=$COLLECTIONS
export ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false
export ANSIBLE_NOCOLOR=1
export PYTHONDONTWRITEBYTECODE=1
unset ANSIBLE_CONFIG
cd "$COLLECTIONS"   # no ansible.cfg here
version=$("$BIN/ansible-doc" --version)
echo "doc-check: ${version%%$'\n'*} on $NAMESPACE.$NAME"
rc=0
"$BIN/python" "$ROOT/.ci/doc_check.py" "$STAGE" "$NAMESPACE.$NAME" || rc=$?
echo "doc-check: $((SECONDS - T0))s"
exit "$rc"
