# -*- coding: utf-8 -*-
# Copyright: hostnet.netif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one write path: lock → snapshot → apply → verify → (restore) (stdlib only).

::

    host = Host(run, ip_path)                 # run(argv, data=None) -> (rc, out, err)
    with Transaction(host, subsets, check_mode=False) as txn:
        facts = txn.read()                    # the snapshot (under the lock)
        ops = planner.order(resource.plan(...))
        if ops and not check_mode:
            after = txn.apply(ops, verify)    # verify(after_facts) -> [problem, ...]

``apply`` runs the batch ops as ONE ``ip -batch -`` process (no ``-force``,
so ip stops at the first failing line), then the sysctl writes, re-reads the
host and calls ``verify``. On any failure it restores the snapshot (deletes
what the plan created, recreates what it deleted, puts link attributes,
masters and permanent addresses back, writes old sysctl values back),
re-reads to prove the restore worked and raises :class:`TransactionError`
naming the failing line and the kernel's message; if the restore fails too,
the error carries both. The lock is released on every path.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import fcntl
import os
import re
import time

from ansible_collections.hostnet.netif.plugins.module_utils import model, planner, reader
from ansible_collections.hostnet.netif.plugins.module_utils.errors import (
    CommandError,
    NetifError,
    printable,
)

LOCK_PATH = "/run/hostnet-netif.lock"
LOCK_TIMEOUT = 60.0
_LOCK_POLL = 0.05
_FAILED_LINE = re.compile(r"^Command failed (\S+):(\d+)\s*$")


# ---------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------
class LockTimeout(NetifError):
    """Another writer held the host lock for longer than the timeout."""


class BatchError(NetifError):
    """``ip -batch`` stopped at a line; carries the line and the kernel's message."""

    def __init__(self, line_no, line, kernel, rc):
        self.line_no = line_no
        self.line = line
        self.kernel = kernel
        self.rc = rc
        if line_no is None:
            text = "ip -batch failed (rc=%s): %s" % (rc, kernel or "no error output")
        else:
            text = "ip -batch line %d %r failed: %s" % (line_no, line, kernel or "no error output")
        super(BatchError, self).__init__(text)

    def to_result(self):
        return {"msg": str(self), "failed_command": self.line, "failed_line": self.line_no,
                "stderr": self.kernel, "rc": self.rc}


class VerifyError(NetifError):
    """The host does not show what was applied."""

    def __init__(self, problems):
        self.problems = list(problems)
        super(VerifyError, self).__init__(
            "verification failed, the host still differs: %s" % "; ".join(self.problems))


class SysctlError(NetifError):
    """A sysctl file could not be read or written."""


class TransactionError(NetifError):
    """A change failed; ``cause`` is the original error, ``restore_error`` set if undo failed."""

    def __init__(self, cause, restore_error=None, restored=()):
        self.cause = cause
        self.restore_error = restore_error
        self.restored = list(restored)
        if restore_error is None:
            text = "%s; the host was restored to its state before the task" % cause
            if self.restored:
                text += " (restore ran: %s)" % "; ".join(self.restored)
        else:
            text = ("%s; RESTORING THE PREVIOUS STATE FAILED TOO: %s; the host may be "
                    "partly changed" % (cause, restore_error))
        super(TransactionError, self).__init__(text)

    def to_result(self):
        result = self.cause.to_result() if isinstance(self.cause, NetifError) else {}
        result["msg"] = printable(str(self))
        result["restored"] = self.restore_error is None
        if self.restored:  # may put back an alias with raw bytes (planner.ExactAlias)
            result["restore_commands"] = [printable(line) for line in self.restored]
        if self.restore_error is not None:
            result["restore_error"] = str(self.restore_error)
        return result


# ---------------------------------------------------------------------------
# the host
# ---------------------------------------------------------------------------
class Host:
    """What the framework needs from a target.

    ``run(argv, data=None) -> (rc, stdout, stderr)`` runs an argv list (never a
    shell string), feeding ``data`` (text, sent as is) on stdin; ``ip_path`` is
    the ip binary; ``environ`` the module's environment (SSH_CONNECTION);
    ``sysctl`` a SysctlIO and ``files`` a reader.HostFiles (tests point both
    at fake trees).
    """

    def __init__(self, run, ip_path, environ=None, sysctl=None, files=None):
        self.run = run
        self.ip_path = ip_path
        self.environ = os.environ if environ is None else environ
        self.sysctl = sysctl or SysctlIO()
        self.files = files

    def ip(self):
        return reader.IpRunner(self.ip_path, self.run)


class SysctlIO:
    """Reads and writes per-interface sysctls of SysctlOp (allow-listed paths only)."""

    def __init__(self, procfs=reader.PROCFS_NET):
        self.procfs = procfs

    def _path(self, op):
        family, conf, dev, key = op.path_parts
        if key not in model.CONF_KEYS.get(family, ()) or "/" in dev or dev in (".", ".."):
            raise SysctlError("refusing sysctl path for %r" % (op.render(),))
        return os.path.join(self.procfs, family, conf, dev, key)

    def read(self, op):
        path = self._path(op)
        try:
            with open(path, "r") as handle:
                return handle.read().strip()
        except (IOError, OSError) as exc:
            raise SysctlError("could not read %s: %s" % (path, exc.strerror or exc))

    def write(self, op, value):
        path = self._path(op)
        try:
            with open(path, "w") as handle:
                handle.write("%s\n" % value)
        except (IOError, OSError) as exc:
            raise SysctlError("could not write %s=%s: %s" % (path, value, exc.strerror or exc))


# ---------------------------------------------------------------------------
# lock
# ---------------------------------------------------------------------------
class HostLock:
    """``fcntl.flock`` on one file: one writer per host, bounded wait."""

    def __init__(self, path=LOCK_PATH, timeout=LOCK_TIMEOUT, clock=time.monotonic,
                 sleep=time.sleep):
        self.path = path
        self.timeout = timeout
        self._clock = clock
        self._sleep = sleep
        self._fd = None

    def acquire(self):
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        try:
            fd = os.open(self.path, flags, 0o600)
        except OSError as exc:
            raise LockTimeout("cannot open the lock file %s: %s" % (self.path, exc.strerror or exc))
        deadline = self._clock() + self.timeout
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except (IOError, OSError) as exc:
                    if exc.errno not in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES):
                        raise LockTimeout("cannot lock %s: %s" % (self.path, exc.strerror or exc))
                if self._clock() >= deadline:
                    raise LockTimeout(
                        "another hostnet.netif task is changing this host: %s stayed locked "
                        "for %.0f s; try again when it has finished" % (self.path, self.timeout))
                self._sleep(_LOCK_POLL)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd

    def release(self):
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    @property
    def held(self):
        return self._fd is not None


# ---------------------------------------------------------------------------
# ip -batch
# ---------------------------------------------------------------------------
def run_batch(host, ops):
    """Apply the batch ops of ``ops`` with one ``ip -batch -``; raise BatchError."""
    lines = planner.render(ops)
    if not lines:
        return
    for line in lines:
        if "\n" in line or "\r" in line:  # defence in depth: ops validate values already
            raise BatchError(None, line, "refusing a batch line with a line break", None)
    argv = [host.ip_path, "-batch", "-"]
    try:
        rc, out, err = host.run(argv, data="\n".join(lines) + "\n")
    except OSError as exc:
        raise CommandError(argv, None, str(exc), "could not run ip")
    if rc != 0:
        raise parse_batch_error(lines, rc, err, out)


def parse_batch_error(lines, rc, stderr, stdout=""):
    """BatchError from ip -batch's stderr ("<kernel message>\\nCommand failed -:N")."""
    line_no = None
    messages = []
    for text in (stderr or "").splitlines() + (stdout or "").splitlines():
        match = _FAILED_LINE.match(text.strip())
        if match:
            line_no = int(match.group(2))
        elif text.strip():
            messages.append(text.strip())
    line = lines[line_no - 1] if line_no is not None and 0 < line_no <= len(lines) else None
    return BatchError(line_no, line, " ".join(messages), rc)


# ---------------------------------------------------------------------------
# restore plan
# ---------------------------------------------------------------------------
def _address_ops(name, before, now):
    """Ops putting the addresses of ``name`` back as in ``before`` (facts records; ``now``
    None when the interface was recreated): every attribute, finite lifetimes included;
    kernel-made addresses (IPv6 link-local ...) are left to the kernel."""
    from ansible_collections.hostnet.netif.plugins.module_utils import addresses  # cycle via resource
    return addresses.restore_ops(name, before.get("kind"), before.get("addresses"),
                                 (now or {}).get("addresses"))


def _kind_params(iface):
    data = iface.get("kind_data") or {}
    kind = iface.get("kind")
    if kind == "veth":
        return {"peer": data.get("peer")}
    if kind in ("macvlan", "bond"):
        return {"mode": data.get("mode"), "parent": iface.get("parent")}
    if kind == "vlan":
        return {"parent": iface.get("parent"), "vlan_id": (iface.get("vlan") or {}).get("id")}
    if kind == "vxlan":
        return {"vni": data.get("vni"), "dstport": data.get("dstport"), "parent": data.get("parent"),
                "local": data.get("local"), "remote": data.get("remote") or data.get("group")}
    return {}


def restore_plan(before, now, names, created=()):
    """Ops that take the interfaces ``names`` from ``now`` back to ``before``.

    ``before``/``now`` are facts ``interfaces`` maps. Interfaces in ``created``
    that exist now but not before are deleted; interfaces of ``names`` that
    existed before and are gone are recreated (creatable kinds only) with their
    attributes and permanent addresses; the rest get attributes, master and
    permanent addresses put back.
    """
    ops = []
    depth_before = planner.depths(before)
    depth_now = planner.depths(now)
    kinds = dict((n, i.get("kind")) for n, i in before.items())
    handled = set()
    for name in sorted(names):
        if name in handled:
            continue
        old, cur = before.get(name), now.get(name)
        if old is None and cur is not None:
            if name in created:
                peer = (cur.get("kind_data") or {}).get("peer") if cur.get("kind") == "veth" else None
                ops.append(planner.link_delete(name, depth_now.get(name, 0),
                                               also=(peer,) if peer else ()))
                handled.update((name, peer))
            continue
        if old is None:
            continue
        depth = depth_before.get(name, 0)
        if cur is None:
            kind = old.get("kind")
            if kind not in planner.CREATABLE_KINDS:
                raise NetifError("cannot recreate %s: interfaces of kind %s cannot be created"
                                 % (name, kind))
            params = _kind_params(old)
            ops.append(planner.link_create(name, kind, params, depth))
            targets = [name]
            if kind == "veth" and params.get("peer") in before:
                targets.append(params["peer"])
            for target in targets:
                handled.add(target)
                state = planner.link_state(before[target], exact=True)
                ops.extend(planner.attribute_ops(target, before[target].get("kind"), None, state,
                                                 depth_before.get(target, 0), master_kinds=kinds))
                ops.extend(_address_ops(target, before[target], None))
            continue
        handled.add(name)
        ops.extend(planner.attribute_ops(name, old.get("kind"), planner.link_state(cur, exact=True),
                                         planner.link_state(old, exact=True), depth,
                                         master_kinds=kinds))
        ops.extend(_address_ops(name, old, cur))
    return planner.order(ops)


def affected_names(ops, before):
    """Interfaces a plan can disturb: the ops' devices, what they create/delete,
    veth peers, and the ports of masters/children of parents among them."""
    names = set()
    for op in ops:
        if op.dev and op.dev not in ("all", "default"):
            names.add(op.dev)
        names.update(op.creates)
        names.update(op.deletes)
    for name in list(names):
        iface = before.get(name) or {}
        if iface.get("kind") == "veth":
            peer = (iface.get("kind_data") or {}).get("peer")
            if peer:
                names.add(peer)
    for other, iface in before.items():
        if iface.get("master") in names or iface.get("parent") in names:
            names.add(other)
    return names


# ---------------------------------------------------------------------------
# the transaction
# ---------------------------------------------------------------------------
class Transaction:
    """Context manager owning the lock, the snapshot and apply → verify → restore.

    ``subsets`` are gather subsets the resource needs (``links`` and
    ``addresses`` are always read: the restore needs them); ``sysctl_keys``
    the per-interface sysctls to read. In check mode no lock is taken and
    :meth:`apply` must not be called.
    """

    def __init__(self, host, subsets=("links", "addresses"), sysctl_keys=(), check_mode=False,
                 lock=None):
        self.host = host
        self.check_mode = check_mode
        subsets = set(subsets) | {"links", "addresses"}
        if sysctl_keys:
            subsets.add("sysctl")
        self.request = reader.GatherRequest(gather_subset=sorted(subsets),
                                            sysctl_keys=list(sysctl_keys))
        self.lock = lock if lock is not None else HostLock()
        self.snapshot = None
        self.warnings = []

    def __enter__(self):
        if not self.check_mode:
            self.lock.acquire()
        return self

    def __exit__(self, exc_type, exc, tb):
        self.lock.release()
        return False

    def read(self):
        """Read the host; the first read is the snapshot the restore returns to."""
        files = self.host.files if self.host.files is not None else reader.HostFiles()
        document, warnings = reader.gather(self.host.ip(), self.request, files)
        self.warnings.extend(warnings)
        if self.snapshot is None:
            self.snapshot = document
        return document

    def apply(self, ops, verify, check_after_batch=None):
        """Apply ``ops`` (ordered) and verify; restore and raise on any failure.

        ``verify(facts) -> [str]`` lists what still differs. ``check_after_batch()``
        (optional) runs once the batch and the sysctl writes are done, before the
        re-read, and raises to have the change restored (the management guard's
        route check). Returns the facts read after the change.
        """
        if self.check_mode:
            raise NetifError("internal error: apply() called in check mode")
        if not self.lock.held:
            raise NetifError("internal error: apply() called without the host lock")
        if self.snapshot is None:
            raise NetifError("internal error: apply() called before read()")
        written = []
        try:
            run_batch(self.host, ops)
            for op in ops:
                if op.batch:
                    continue
                old = self.host.sysctl.read(op)
                written.append((op, old))
                self.host.sysctl.write(op, op.value)
            if check_after_batch is not None:
                check_after_batch()
            after = self.read()
            problems = verify(after)
            if problems:
                raise VerifyError(problems)
            return after
        except Exception as exc:
            self._restore(exc, ops, written)
            raise  # _restore always raises; this keeps linters honest

    def _restore(self, cause, ops, written):
        restored = []
        try:
            for op, old in reversed(written):
                self.host.sysctl.write(op, old)
                restored.append("sysctl -w net.%s.conf.%s.%s=%s" % (
                    op.family, op.dev.replace(".", "/"), op.key, old))
            before = self.snapshot["interfaces"]
            names = affected_names(ops, before)
            created = set()
            for op in ops:
                created.update(op.creates)
            now = self.read()["interfaces"]
            undo = restore_plan(before, now, names, created)
            restored.extend(planner.render(undo))
            run_batch(self.host, undo)
            left = restore_plan(before, self.read()["interfaces"], names, created)
            if left:
                raise NetifError("after the restore these still differ: %s"
                                 % "; ".join(planner.render(left)))
        except Exception as restore_exc:
            raise TransactionError(cause, restore_exc, restored)
        raise TransactionError(cause, None, restored)
