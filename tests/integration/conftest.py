"""Integration-test fixtures: real network-namespace labs reached over SSH.

Imports are always package-qualified from the repository root
(``from tests.lab import Lab``, ``from tests.integration.helpers import ...``);
the root is put on sys.path here, so no ``__init__.py`` is needed under tests/.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from tests.integration.helpers import run_ansible, run_playbook  # noqa: E402,F401  # pylint: disable=unused-import
from tests.lab import Lab  # noqa: E402

HERE = Path(__file__).resolve().parent


def _unavailable_reason() -> str | None:
    if os.geteuid() != 0:
        return "integration lab needs root (network namespaces, veth, bridge, sshd)"
    ip = shutil.which("ip")
    if not ip:
        return "integration lab needs iproute2's `ip` command"
    try:
        proc = subprocess.run([ip, "netns", "list"], check=False, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"`ip netns` unavailable: {exc}"
    if proc.returncode != 0:
        return f"`ip netns` unavailable: {proc.stderr.strip()}"
    return None


LAB_UNAVAILABLE = _unavailable_reason()


def pytest_collection_modifyitems(config, items):
    if not LAB_UNAVAILABLE:
        return
    skip = pytest.mark.skip(reason=LAB_UNAVAILABLE)
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(skip)


# A SIGTERM (CI timeout, kill) should unwind through fixture teardown like Ctrl-C,
# so labs are removed; Lab also registers an atexit handler for normal exits.
if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
    def _sigterm(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, _sigterm)


@pytest.fixture(scope="session")
def lab_factory():
    """Make labs: ``lab_factory(hosts=N, **Lab kwargs)``; all are torn down at session end."""
    labs: list[Lab] = []

    def make(hosts: int = 1, **kwargs) -> Lab:
        lab = Lab(hosts=hosts, **kwargs)
        labs.append(lab)
        return lab.up()  # up() removes what it built if it fails

    yield make
    errors = []
    for lab in reversed(labs):
        try:
            lab.down()
        except Exception as exc:  # keep tearing the others down
            errors.append(f"{lab.name}: {exc}")
    if errors:
        raise RuntimeError("lab teardown failed: " + "; ".join(errors))


@pytest.fixture(scope="session")
def lab():
    """A session-wide lab with 2 hosts."""
    with Lab(hosts=2) as lab:
        yield lab
