"""Unit tests import the collection as ``ansible_collections.hostnet.netif``.

The Makefile links the checkout into .build/collections; make that link here
too so ``pytest tests/unit`` works on its own.
"""
import os
import sys

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
