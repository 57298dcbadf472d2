#!/usr/bin/env bash
# ansible-lint, production profile, --strict, on the collection's Ansible
# content (roles/, playbooks/, extensions/ -- whichever exist), offline, on a
# staged copy put on ANSIBLE_COLLECTIONS_PATH so hostnet.netif.* resolves.
# ansible-lint lives in its own venv (.build/lint-venv), pinned, with the same
# ansible-core as the project's venv.
set -euo pipefail
ANSIBLE_LINT_VERSION=26.10.1
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${VENV_BIN:-$ROOT/.venv/bin}
[ -x "$BIN/python" ] || { echo "lint: $BIN/python not found (run 'make venv')" >&2; exit 1; }
T0=$SECONDS
BUILD=$ROOT/.build
mkdir -p "$BUILD"
exec 9>"$BUILD/lint.lock"   # one run at a time per checkout
flock 9

CORE=$("$BIN/python" -c 'from ansible.release import __version__; print(__version__)')
LVENV=$BUILD/lint-venv
WANT="ansible-lint==$ANSIBLE_LINT_VERSION ansible-core==$CORE"
if [ "$(cat "$LVENV/.stamp" 2>/dev/null || true)" != "$WANT" ]; then
  echo "lint: installing $WANT into $LVENV"
  rm -rf "$LVENV"
  "$BIN/python" -m venv "$LVENV"
  # shellcheck disable=SC2086  # WANT is a list of requirements
  "$LVENV/bin/python" -m pip install --quiet --disable-pip-version-check $WANT
  echo "$WANT" >"$LVENV/.stamp"
fi

read -r NAMESPACE NAME < <("$BIN/python" - "$ROOT/galaxy.yml" <<'PYEOF'
import sys, yaml
with open(sys.argv[1]) as f:
    g = yaml.safe_load(f)
print(g["namespace"], g["name"])
PYEOF
)
[ -n "${NAME:-}" ] || { echo "lint: cannot read namespace and name from galaxy.yml" >&2; exit 1; }
COLLECTIONS=$BUILD/lint
STAGE=$COLLECTIONS/ansible_collections/$NAMESPACE/$NAME
bash "$ROOT/.ci/stage.sh" "$STAGE"
cd "$STAGE"
targets=()
for d in roles playbooks extensions; do
  if [ -d "$d" ] && [ -n "$(find "$d" -type f \( -name '*.yml' -o -name '*.yaml' \) -print -quit)" ]; then
    targets+=("$d")
  fi
done
if [ "${#targets[@]}" -eq 0 ]; then
  echo "lint: skipped: no roles/, playbooks/ or extensions/ content yet"
  exit 0
fi
export ANSIBLE_COLLECTIONS_PATH=$COLLECTIONS PATH="$LVENV/bin:$PATH" NO_COLOR=1
unset ANSIBLE_COLLECTIONS_SCAN_SYS_PATH ANSIBLE_CONFIG
rc=0
version=$(ansible-lint --nocolor --version)
echo "${version%%$'\n'*}"
ansible-lint --offline --strict --profile production --nocolor "${targets[@]}" || rc=$?
echo "lint: ${targets[*]}: $([ "$rc" -eq 0 ] && echo passed || echo FAILED) in $((SECONDS - T0))s"
exit "$rc"
