# -*- coding: utf-8 -*-
# Copyright: hostnet.netif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The canonical JSON report (schemas/report.schema.json)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

SUFFIX = ".json"


def render(report, **_options):
    """Sorted keys, ASCII only: control characters and lone surrogates become \\u escapes.

    ``<``, ``>`` and ``&`` are escaped too (they can only occur inside strings),
    so the document is also safe to embed in HTML or XML as it is.
    """
    text = json.dumps(report, indent=1, sort_keys=True, ensure_ascii=True, default=str)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026") + "\n"
