#!/usr/bin/env bash
# Test-only collections, pinned, into .build/test-collections (never on the collection's own
# ANSIBLE_COLLECTIONS_PATH: only the tests that need them add it).
# community.general: its cache plugins (redis, memcached, yaml, pickle), for the fleet audit's
# fact cache plugin test and the bench.
# Galaxy is not reachable from CI; the `ansible` package on PyPI ships the collection, so it is
# taken out of that wheel (sha256-checked), without installing the package.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/.build/test-collections"
ansible_version=12.2.0        # ships community.general 11.4.1
general_version=11.4.1
wheel_sha256=daafa5c528317f60f68033ad70c59733f4a7548b6255759183cfc7cf422c7fda
manifest="$dest/ansible_collections/community/general/MANIFEST.json"
if [ -f "$manifest" ] && grep -q "\"version\": \"$general_version\"" "$manifest"; then
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$root/.venv/bin/python" -m pip download --quiet --disable-pip-version-check --no-deps \
  "ansible==$ansible_version" -d "$tmp"
wheel="$tmp/ansible-$ansible_version-py3-none-any.whl"
echo "$wheel_sha256  $wheel" | sha256sum -c --quiet
rm -rf "$dest/ansible_collections/community/general"
"$root/.venv/bin/python" - "$wheel" "$dest" <<'PY'
import sys
import zipfile

wheel, dest = sys.argv[1:]
with zipfile.ZipFile(wheel) as archive:
    members = [m for m in archive.namelist() if m.startswith("ansible_collections/community/general/")]
    archive.extractall(dest, members)
print("community.general from %s: %d files into %s" % (wheel.rsplit("/", 1)[-1], len(members), dest))
PY
grep -q "\"version\": \"$general_version\"" "$manifest"
