# -*- coding: utf-8 -*-
# Copyright: hostnet.netif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The canonical JSON report (schemas/report.schema.json).

Sorted keys, ASCII only (control characters and lone surrogates become \\u
escapes), and ``<``, ``>``, ``&`` escaped too (they only occur inside strings),
so the document is safe to embed in HTML or XML as it is.

Written in chunks: the top-level keys in order, the two long lists (hosts,
findings) one item at a time, each item by the C encoder (``json.dumps`` of
one value; ``iterencode`` would fall back to the pure-Python encoder). A
10,000-host report never exists as one string in memory.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

SUFFIX = ".json"
_STREAMED = ("findings", "hosts")


def _escape(chunk):
    if "<" in chunk or ">" in chunk or "&" in chunk:
        return chunk.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return chunk


def chunks(report, **_options):
    encode = json.JSONEncoder(sort_keys=True, ensure_ascii=True, separators=(",", ":"),
                              default=str).encode
    first = True
    for key in sorted(report):
        yield ("{" if first else ",") + encode(key) + ":"
        first = False
        value = report[key]
        if key in _STREAMED and not isinstance(value, (dict, str)):
            # a list, or an iterable read from disk (engine.ListedFindings): 500 items a chunk
            yield "["
            batch = []
            separator = ""
            for item in value:
                batch.append(_escape(encode(item)))
                if len(batch) == 500:
                    yield separator + ",".join(batch)
                    separator = ","
                    batch = []
            if batch:
                yield separator + ",".join(batch)
            yield "]"
        else:
            yield _escape(encode(value))
    yield "{}\n" if first else "}\n"


def render(report, **options):
    return "".join(chunks(report, **options))
