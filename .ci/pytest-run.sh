#!/usr/bin/env bash
# Run pytest; "no tests collected" (exit 5) is a failure for us: a suite that
# silently collects nothing must not look green.
set -uo pipefail
"$@"
rc=$?
if [ "$rc" -eq 5 ]; then
  echo "pytest collected no tests in: ${*: -1}" >&2
  exit 1
fi
exit "$rc"
