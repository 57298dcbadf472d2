#!/usr/bin/env bash
# `ansible-test sanity`, locally (no containers), on a staged copy of the
# collection, offline but for the package index.
#
#  1. ansible-test wants .../ansible_collections/<namespace>/<name> as its
#     working directory (os.getcwd(), so no symlink): the tree is copied to
#     .build/sanity/ansible_collections/<namespace>/<name> by .ci/stage.sh.
#  2. ansible-test bootstraps pip in every test venv with a get-pip.py it
#     downloads from a host this machine cannot reach; it takes
#     ~/.ansible/test/cache/get_pip_<X_Y>.py instead when present, so
#     .ci/get_pip_standin.py (ensurepip + pip install) is put there.
#  3. Every sanity test runs on the controller Python (the venv's, 3.11).
#  4. The target-side tests (compile, import) run again on every other Python
#     ansible-core supports on targets (3.8 ... 3.13) that is on this machine
#     (PATH, pyenv); a missing one is skipped with the reason printed.
#  5. Tests that cannot run here are skipped explicitly, with the reason.
#
# Env: SANITY_ARGS  extra arguments for the main ansible-test run
#      (for example SANITY_ARGS="--test pylint").
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${VENV_BIN:-$ROOT/.venv/bin}
PY=$BIN/python
ANSIBLE_TEST=$BIN/ansible-test
[ -x "$ANSIBLE_TEST" ] || { echo "sanity: $ANSIBLE_TEST not found (run 'make venv')" >&2; exit 1; }

T0=$SECONDS
step() { printf '\n== sanity: %s (%ds)\n' "$*" "$((SECONDS - T0))"; }
skipped=()
skip() { # skip TEST REASON  -- skip a test of the main run, saying why
  skipped+=("$1: $2")
  SKIP_ARGS+=(--skip-test "$1")
}
SKIP_ARGS=()

mkdir -p "$ROOT/.build"
# One sanity run at a time in this checkout (the stage and the venvs are shared).
exec 9>"$ROOT/.build/sanity.lock"
flock 9

read -r NAMESPACE NAME < <("$PY" - "$ROOT/galaxy.yml" <<'PYEOF'
import sys, yaml
with open(sys.argv[1]) as f:
    g = yaml.safe_load(f)
print(g["namespace"], g["name"])
PYEOF
)
[ -n "${NAME:-}" ] || { echo "sanity: cannot read namespace and name from galaxy.yml" >&2; exit 1; }
STAGE=$ROOT/.build/sanity/ansible_collections/$NAMESPACE/$NAME
PYBIN=$ROOT/.build/sanity/pybin
CONTROLLER=$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')

# ---------------------------------------------------------------- get-pip stand-in
step "pip bootstrap stand-in"
# The pip version(s) ansible-test bootstraps, from ansible-test itself, for
# every Python version it supports (so an ansible-core update needs no edit).
mapfile -t PIP_VERSIONS < <("$PY" - <<'PYEOF'
import re, types
from ansible_test._util.target.common import constants
versions = constants.REMOTE_ONLY_PYTHON_VERSIONS + constants.CONTROLLER_PYTHON_VERSIONS
try:
    from ansible_test._internal.python_requirements import get_venv_packages
    pips = {get_venv_packages(types.SimpleNamespace(version=v))["pip"] for v in versions}
except Exception:  # layout changed: fall back to the source text
    import ansible_test._internal.python_requirements as m
    pips = set(re.findall(r"pip='([0-9.]+)'", open(m.__file__).read()))
print("\n".join(sorted(pips)))
PYEOF
)
[ "${#PIP_VERSIONS[@]}" -gt 0 ] || { echo "sanity: cannot tell which pip ansible-test bootstraps" >&2; exit 1; }
CACHE=$HOME/.ansible/test/cache
mkdir -p "$CACHE"
for v in "${PIP_VERSIONS[@]}"; do
  f=$CACHE/get_pip_${v//./_}.py
  if [ ! -e "$f" ]; then
    cp "$ROOT/.ci/get_pip_standin.py" "$f"; echo "installed stand-in $f"
  elif grep -q 'hostnet.netif get-pip stand-in' "$f"; then
    cmp -s "$ROOT/.ci/get_pip_standin.py" "$f" || { cp "$ROOT/.ci/get_pip_standin.py" "$f"; echo "updated stand-in $f"; }
    echo "using stand-in $f"
  else
    echo "using the real bootstrap script $f"
  fi
done

# ------------------------------------------------------------ tools tests need
step "tools"
if ! command -v shellcheck >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian package shellcheck"
  export DEBIAN_FRONTEND=noninteractive
  { apt-get install -y -qq --no-install-recommends shellcheck >/dev/null 2>&1 ||
    { apt-get update -qq && apt-get install -y -qq --no-install-recommends shellcheck >/dev/null; }; } ||
    echo "could not install shellcheck"
fi
if command -v shellcheck >/dev/null 2>&1; then
  echo "shellcheck: $(command -v shellcheck)"
else
  skip shellcheck "the shellcheck program is not installed and could not be (Debian package shellcheck, needs root)"
fi
# PowerShell is in neither Debian's archive nor PyPI; the collection is for
# Linux and ships no .ps1/.psm1, which pslint would be the only test of.
command -v pwsh >/dev/null 2>&1 ||
  skip pslint "needs PowerShell (pwsh), which is in neither Debian's archive nor PyPI; the collection ships no PowerShell"

# ---------------------------------------------------------------------- stage
step "stage $STAGE"
bash "$ROOT/.ci/stage.sh" "$STAGE"
# The stage lies inside the project's git work tree, where .build is ignored;
# a repository of its own makes ansible-test list the staged files (it asks git).
git -C "$STAGE" init -q
cd "$STAGE"

AT_ARGS=(--color no)
# ---------------------------------------------------------------- other Pythons
# Find a real interpreter for each target Python version (pyenv shims are not:
# they fail for a version that is not the active one).
find_python() {
  local v=$1 c pyenv_root
  pyenv_root=$(pyenv root 2>/dev/null || echo "${PYENV_ROOT:-$HOME/.pyenv}")
  for c in "$(command -v "python$v" 2>/dev/null || true)" \
           "$pyenv_root"/versions/"$v".*/bin/"python$v" \
           /usr/local/bin/"python$v" /usr/bin/"python$v"; do
    if [ -z "$c" ] || [ ! -x "$c" ]; then continue; fi
    case "$c" in */shims/*) continue ;; esac
    "$c" -c 'import sys' >/dev/null 2>&1 || continue
    realpath "$c"; return 0
  done
  return 1
}
mapfile -t TARGET_VERSIONS < <("$PY" -c '
from ansible_test._util.target.common import constants as c
print("\n".join(c.REMOTE_ONLY_PYTHON_VERSIONS + c.CONTROLLER_PYTHON_VERSIONS))')
rm -rf "$PYBIN"; mkdir -p "$PYBIN"
OTHER=()
for v in "${TARGET_VERSIONS[@]}"; do
  [ "$v" = "$CONTROLLER" ] && continue
  if p=$(find_python "$v"); then
    ln -s "$p" "$PYBIN/python$v"; OTHER+=("$v")
  else
    skipped+=("compile, import on Python $v: no python$v interpreter on this machine (PATH, pyenv)")
  fi
done
export PATH="$PYBIN:$PATH"

# ---------------------------------------------------------------- venvs
# Create (first run) or check the test venvs; pip's output goes to a log.
# The first run on a machine creates ~20 venvs (minutes, mostly pip): two lanes,
# the controller's venvs here and the other Pythons' from a second copy of the
# stage (ansible-test keeps scratch files under the working directory).
step "prepare test venvs"
prime() { # prime LOG ARGS...
  local log=$1; shift
  if ! "$ANSIBLE_TEST" sanity "$@" --prime-venvs "${AT_ARGS[@]}" >>"$log" 2>&1; then
    tail -n 60 "$log" >&2; echo "sanity: preparing venvs failed (log: $log)" >&2; return 1
  fi
}
VLOG=$ROOT/.build/sanity/venvs
: >"$VLOG.log"; : >"$VLOG-other.log"
LANE2=$ROOT/.build/sanity-lane2/ansible_collections/$NAMESPACE/$NAME
rm -rf "$ROOT/.build/sanity-lane2"; mkdir -p "$(dirname "$LANE2")"; cp -a "$STAGE" "$LANE2"
(cd "$LANE2" && for v in "${OTHER[@]}"; do prime "$VLOG-other.log" --python "$v" --test compile --test import || exit 1; done) &
lane2=$!
prime "$VLOG.log" --python "$CONTROLLER" "${SKIP_ARGS[@]}" || { wait "$lane2" || true; exit 1; }
wait "$lane2" || exit 1
rm -rf "$ROOT/.build/sanity-lane2"

# ---------------------------------------------------------------- run
rc=0
step "ansible-test sanity --python $CONTROLLER (every test)"
# shellcheck disable=SC2086  # SANITY_ARGS is a list of words on purpose
"$ANSIBLE_TEST" sanity --python "$CONTROLLER" "${AT_ARGS[@]}" "${SKIP_ARGS[@]}" ${SANITY_ARGS:-} || rc=1

if [ -z "${SANITY_ARGS:-}" ]; then
  for v in "${OTHER[@]}"; do
    step "ansible-test sanity --python $v (target side: compile, import)"
    "$ANSIBLE_TEST" sanity --python "$v" --test compile --test import "${AT_ARGS[@]}" || rc=1
  done
fi

step "done"
if [ "${#skipped[@]}" -gt 0 ]; then
  echo "skipped, cannot run here:"
  printf '  - %s\n' "${skipped[@]}"
fi
if [ "$rc" -ne 0 ]; then
  cat >&2 <<'HINTS'
Usual fixes (prefer them to tests/sanity/ignore-*.txt):
  disallowed-name "_"       ansible-test's pylint forbids "_": name it "dummy"
  subprocess-run-check      pass check=True/False to subprocess.run explicitly
  import: No module named   controller-only libraries (jsonschema, netaddr) go in
                            try/except ImportError; fail with a clear message at use
  invalid author            "Name (@github_handle)", e.g. "hostnet.netif maintainers (@hostnet)"
  platform.support          attributes.platform needs "support: full"
  return-syntax-error, "extra keys not allowed"
                            a flow mapping {description: a, b, ...}: quote text with ", " or ": "
  shebang                   "#!/usr/bin/env python" (not python3), or none
HINTS
  echo "sanity: FAILED (results in $STAGE/tests/output)" >&2
else
  echo "sanity: passed in $((SECONDS - T0))s"
fi
exit "$rc"
