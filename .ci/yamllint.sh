#!/usr/bin/env bash
# yamllint, strict (a warning fails too), with the repository's .yamllint, on
# every YAML file a commit would hold (roles, playbooks, extensions, changelogs,
# meta, galaxy.yml, plugin data, tests): the files git tracks plus the
# untracked ones it does not ignore.  yamllint comes pinned from
# .ci/tools-requirements.txt in .build/tools-venv.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${VENV_BIN:-$ROOT/.venv/bin}
[ -x "$BIN/python" ] || { echo "yamllint: $BIN/python not found (run 'make venv')" >&2; exit 1; }
T0=$SECONDS
# shellcheck source=.ci/tools-venv.sh
. "$ROOT/.ci/tools-venv.sh"
cd "$ROOT"
files=()
if git rev-parse --is-inside-work-tree >/dev/null 2>&1 && [ "$(git rev-parse --show-toplevel)" = "$ROOT" ]; then
  while IFS= read -r -d '' f; do
    [ -e "$f" ] && files+=("$f")
  done < <(git ls-files -z --cached --others --exclude-standard --deduplicate -- \
             '*.yml' '*.yaml' '.yamllint' '.ansible-lint')
else   # an unpacked archive: yamllint walks the tree (ignore-from-file: .gitignore)
  files=(.)
fi
[ "${#files[@]}" -gt 0 ] || { echo "yamllint: no YAML files found" >&2; exit 1; }
rc=0
yamllint --strict --format parsable -c "$ROOT/.yamllint" "${files[@]}" || rc=$?
echo "yamllint: $(yamllint --version): ${#files[@]} files $([ "$rc" -eq 0 ] && echo passed || echo FAILED) in $((SECONDS - T0))s"
exit "$rc"
