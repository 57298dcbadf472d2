#!/usr/bin/env bash
# Sourced by the gates that need the pinned tools of .ci/tools-requirements.txt
# (yamllint, antsibull-changelog, ansible-builder, bindep): makes sure
# .build/tools-venv holds exactly them, plus ansible-core at the project venv's
# version, and puts its bin/ first on PATH.  A venv of its own, like
# ansible-lint's (.ci/lint.sh), so the project's .venv stays lean.
#   usage: . .ci/tools-venv.sh   (needs ROOT and BIN set; sets TVENV)
# shellcheck shell=bash
: "${ROOT:?}" "${BIN:?}"
TVENV=$ROOT/.build/tools-venv
mkdir -p "$ROOT/.build"
exec 8>"$ROOT/.build/tools-venv.lock"   # one installer at a time per checkout
flock 8
_tools_core=$("$BIN/python" -c 'from ansible.release import __version__; print(__version__)')
_tools_want="$(grep -v '^#' "$ROOT/.ci/tools-requirements.txt" | xargs) ansible-core==$_tools_core"
if [ "$(cat "$TVENV/.stamp" 2>/dev/null || true)" != "$_tools_want" ]; then
  echo "tools: installing $_tools_want into $TVENV"
  rm -rf "$TVENV"
  "$BIN/python" -m venv "$TVENV"
  # shellcheck disable=SC2086  # a list of requirements
  if ! "$TVENV/bin/python" -m pip install --disable-pip-version-check $_tools_want >"$TVENV.log" 2>&1; then
    tail -n 30 "$TVENV.log" >&2; rm -rf "$TVENV"
    echo "tools: installing $_tools_want failed (log: $TVENV.log)" >&2; exit 1
  fi
  echo "$_tools_want" >"$TVENV/.stamp"
fi
flock -u 8
exec 8>&-
export PATH="$TVENV/bin:$PATH"
unset _tools_core _tools_want
