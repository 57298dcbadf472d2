# -*- coding: utf-8 -*-
# Copyright: hostnet.netif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Report writers: the canonical JSON report rendered as JSON, JUnit XML, Markdown, HTML.

``write_reports(report, directory, formats)`` writes each file atomically
(temporary file in the same directory, then rename) and returns
``{format: absolute path}``. A failed write leaves no temporary file behind.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import tempfile

from ansible_collections.hostnet.netif.plugins.plugin_utils.audit.reports import (
    html_report,
    json_report,
    junit,
    markdown,
)

BASENAME = "netif-audit"
WRITERS = {
    "json": json_report,
    "junit": junit,
    "markdown": markdown,
    "html": html_report,
}
FORMATS = tuple(WRITERS)
DETAIL_LIMIT = 2000


def _umask():
    current = os.umask(0o022)
    os.umask(current)
    return current


def write_text(path, text):
    """Write ``text`` (a string or an iterable of strings) to ``path`` atomically."""
    directory = os.path.dirname(path)
    handle, tmp = tempfile.mkstemp(prefix=".netif-audit-", dir=directory)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", errors="surrogateescape", newline="\n") as stream:
            if isinstance(text, str):
                stream.write(text)
            else:
                stream.writelines(text)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return path


def render(report, fmt, detail_limit=DETAIL_LIMIT):
    return WRITERS[fmt].render(report, detail_limit=detail_limit)


def write_reports(report, directory, formats=FORMATS, detail_limit=DETAIL_LIMIT, basename=BASENAME):
    """Write ``report`` in each format to ``directory`` (created); return {format: path}."""
    unknown = [f for f in formats if f not in WRITERS]
    if unknown:
        raise ValueError("unknown report format(s) %s; expected %s" % (", ".join(unknown), ", ".join(FORMATS)))
    directory = os.path.abspath(directory)
    os.makedirs(directory, exist_ok=True)
    paths = {}
    for fmt in formats:
        path = os.path.join(directory, basename + WRITERS[fmt].SUFFIX)
        writer = WRITERS[fmt]
        if hasattr(writer, "chunks"):
            content = writer.chunks(report, detail_limit=detail_limit)
        else:
            content = writer.render(report, detail_limit=detail_limit)
        paths[fmt] = write_text(path, content)
    return paths
