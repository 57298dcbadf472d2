# -*- coding: utf-8 -*-
# Copyright: hostnet.netif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Audit engine: policies, per-host rules, fleet checks and report writers.

Controller side only (ansible-core, jsonschema, netaddr). Everything works on
facts documents (``ansible_facts.netif``); nothing here contacts a host.

Entry points (see engine.py): ``load_policy``, ``required_subsets``,
``evaluate_host``, ``fleet``, ``build_report``; writers in ``reports``.
"""
