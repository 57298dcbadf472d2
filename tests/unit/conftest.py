"""Unit tests import the collection as ``ansible_collections.hostnet.netif``.

The Makefile links the checkout into .build/collections; make that link here
too so ``pytest tests/unit`` works on its own.
"""
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLLECTIONS = os.path.join(ROOT, ".build", "collections")
LINK = os.path.join(COLLECTIONS, "ansible_collections", "hostnet", "netif")

if not os.path.exists(LINK):
    os.makedirs(os.path.dirname(LINK), exist_ok=True)
    os.symlink(ROOT, LINK)
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")

# shared helpers (tests/unit/netif_testlib.py) importable from every test directory
UNIT = os.path.dirname(os.path.abspath(__file__))
if UNIT not in sys.path:
    sys.path.insert(0, UNIT)


@pytest.fixture(scope="session")
def _state_dir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("state") / "netif")


@pytest.fixture(autouse=True)
def _private_state_dir(_state_dir, monkeypatch):
    """A transaction made without an explicit lock keeps its lock and journal in a
    temporary directory, never in the host's /run/hostnet-netif."""
    from ansible_collections.hostnet.netif.plugins.module_utils import transaction
    monkeypatch.setattr(transaction, "STATE_DIR", _state_dir)
