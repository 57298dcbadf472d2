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


def _write(report, fmt, path, detail_limit):
    writer = WRITERS[fmt]
    if hasattr(writer, "chunks"):
        content = writer.chunks(report, detail_limit=detail_limit)
    else:
        content = writer.render(report, detail_limit=detail_limit)
    return write_text(path, content)


def _in_child(work):
    """Run ``work()`` in a forked child; return a function that waits for it and raises OSError
    with the child's reason when it failed. The child leaves through os._exit: nothing of this
    process (buffers, exit handlers) runs twice."""
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child; its effect is checked by the tests
        os.close(reader)
        status = 0
        try:
            work()
            message = b""
        except BaseException as exc:  # pylint: disable=broad-except
            status = 1
            message = ("%s: %s" % (type(exc).__name__, exc)).encode("utf-8", "replace")
        try:
            os.write(writer, message[:4000])
        finally:
            os._exit(status)
    os.close(writer)

    def wait():
        with os.fdopen(reader, "rb") as stream:
            message = stream.read().decode("utf-8", "replace")
        dummy, status = os.waitpid(pid, 0)
        if status != 0:
            raise OSError(message or "the report writer process ended with status %d" % status)

    return wait


def write_reports(report, directory, formats=FORMATS, detail_limit=DETAIL_LIMIT, basename=BASENAME, workers=1):
    """Write ``report`` in each format to ``directory`` (created); return {format: path}.

    ``workers`` > 1 (where fork exists): the JSON report is written in this
    process and the others in a forked one at the same time (a large
    report's JSON takes as long as the rest together); same files.
    """
    unknown = [f for f in formats if f not in WRITERS]
    if unknown:
        raise ValueError("unknown report format(s) %s; expected %s" % (", ".join(unknown), ", ".join(FORMATS)))
    directory = os.path.abspath(directory)
    os.makedirs(directory, exist_ok=True)
    paths = dict((fmt, os.path.join(directory, basename + WRITERS[fmt].SUFFIX)) for fmt in formats)
    order = list(paths)
    if workers > 1 and len(order) > 1 and hasattr(os, "fork"):
        first = "json" if "json" in paths else order[0]
        rest = [fmt for fmt in order if fmt != first]
        wait = _in_child(lambda: [_write(report, fmt, paths[fmt], detail_limit) for fmt in rest])
        try:
            _write(report, first, paths[first], detail_limit)
        finally:
            wait()
        return paths
    for fmt in order:
        _write(report, fmt, paths[fmt], detail_limit)
    return paths
