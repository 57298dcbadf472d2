"""Make the checkout importable and loadable as the collection hostnet.netif.

The Makefile links the checkout into .build/collections; this does the same
when pytest runs on its own, puts it on sys.path (imports of
``ansible_collections.hostnet.netif``) and exports ANSIBLE_COLLECTIONS_PATH
for the ansible processes integration tests start.
"""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS = os.path.join(ROOT, ".build", "collections")
LINK = os.path.join(COLLECTIONS, "ansible_collections", "hostnet", "netif")

if not os.path.lexists(LINK):
    os.makedirs(os.path.dirname(LINK), exist_ok=True)
    os.symlink(ROOT, LINK)
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)
os.environ["ANSIBLE_COLLECTIONS_PATH"] = COLLECTIONS
os.environ.setdefault("ANSIBLE_COLLECTIONS_SCAN_SYS_PATH", "false")
