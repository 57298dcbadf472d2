#!/usr/bin/env bash
# Copy the collection's source tree -- the files git tracks plus the untracked
# ones it does not ignore, exactly what a commit would hold -- into DEST (made
# anew).  Gates that must not see local clutter (.venv, .build, caches, reports)
# or need a particular path (ansible-test wants .../ansible_collections/NS/NAME)
# run on such a copy.
#   usage: .ci/stage.sh DEST
set -euo pipefail
dest=${1:?usage: stage.sh DEST}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
dest=$(realpath -m "$dest")
case "$root/" in
  "$dest"/*) echo "stage.sh: refusing to replace $dest: it holds the source tree" >&2; exit 2 ;;
esac
rm -rf "$dest"
mkdir -p "$dest"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1 \
   && [ "$(git rev-parse --show-toplevel)" = "$root" ]; then
  # --deduplicate: a file with unstaged changes is listed once; files deleted in
  # the work tree but still tracked are skipped.
  git ls-files -z --cached --others --exclude-standard --deduplicate \
    | while IFS= read -r -d '' f; do
        if [ -e "$f" ] || [ -L "$f" ]; then printf '%s\0' "$f"; fi
      done \
    | tar --null --no-recursion -T - -cf - \
    | tar -xf - -C "$dest"
else
  # Not a git checkout (an unpacked archive): everything but local state.
  tar --exclude=./.git --exclude=./.venv --exclude=./.build --exclude=./tests/output \
      --exclude='__pycache__' --exclude='*.pyc' --exclude=./.pytest_cache -cf - . \
    | tar -xf - -C "$dest"
fi
