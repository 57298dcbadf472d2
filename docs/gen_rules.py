#!/usr/bin/env python
# Copyright: hostnet.netif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write docs/rules.md from the shipped audit baselines.

    .venv/bin/python docs/gen_rules.py          # rewrite docs/rules.md
    .venv/bin/python docs/gen_rules.py --check  # exit 1 when it is stale
"""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS = os.path.join(ROOT, ".build", "collections")
LINK = os.path.join(COLLECTIONS, "ansible_collections", "hostnet", "netif")


def main():
    if not os.path.exists(LINK):
        os.makedirs(os.path.dirname(LINK), exist_ok=True)
        os.symlink(ROOT, LINK)
    sys.path.insert(0, COLLECTIONS)
    from ansible_collections.hostnet.netif.plugins.plugin_utils.audit import ruledoc

    path = os.path.join(ROOT, "docs", "rules.md")
    text = ruledoc.render()
    if "--check" in sys.argv[1:]:
        with open(path, encoding="utf-8") as handle:
            if handle.read() != text:
                sys.stderr.write("docs/rules.md is stale: run .venv/bin/python docs/gen_rules.py\n")
                return 1
        return 0
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
