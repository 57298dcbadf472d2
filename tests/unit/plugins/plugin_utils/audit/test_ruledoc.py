# -*- coding: utf-8 -*-
# Copyright: hostnet.netif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""docs/rules.md is what docs/gen_rules.py makes of the shipped baselines."""

import os

from ansible_collections.hostnet.netif.plugins.plugin_utils.audit import policy, ruledoc

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__)))))))
RULES_MD = os.path.join(ROOT, "docs", "rules.md")


def test_rules_md_is_not_stale():
    with open(RULES_MD, encoding="utf-8") as handle:
        current = handle.read()
    assert current == ruledoc.render(), "docs/rules.md is stale: run .venv/bin/python docs/gen_rules.py"


def test_rules_md_documents_every_rule_id():
    with open(RULES_MD, encoding="utf-8") as handle:
        text = handle.read()
    for name in policy.shipped_baselines():
        for rule in policy.load_policy(name).rules:
            assert "### %s\n" % rule.id in text
    for rule_id in policy.INTERNAL_RULES:
        assert "`%s`" % rule_id in text
