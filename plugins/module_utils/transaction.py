# -*- coding: utf-8 -*-
# Copyright: hostnet.netif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one write path: lock → snapshot → apply → verify → (restore) (stdlib only).

::

    host = Host(run, ip_path)                 # run(argv, data=None) -> (rc, out, err)
    with Transaction(host, subsets, check_mode=False) as txn:
        facts = txn.read()                    # the snapshot (under the lock)
        plan = resource.plan(...)             # ops, and files read with txn.read_file
        if plan.changed and not check_mode:
            after = txn.apply(plan.ops, verify, files=plan.files)

``apply`` writes the journal (the snapshot of what it may change, files
included), runs the batch ops as ONE ``ip -batch -`` process (no
``-force``, so ip stops at the first failing line), then the sysctl writes,
re-reads the host and calls ``verify``; once the runtime is verified it
writes the files (atomically: temporary file, fsync, rename). On any failure
it restores the snapshot (files back to their old contents, deletes what the
plan created, recreates what it deleted, puts link attributes, masters and
permanent addresses back, writes old sysctl values back), re-reads to prove
the restore worked and raises :class:`TransactionError` naming the failing
line and the kernel's message; if the restore fails too, the error carries
both. The lock is released on every path; a journal left by a killed apply
is restored by the next changing run (runtime and files).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import fcntl
import json
import os
import platform
import re
import socket
import stat
import struct
import tempfile
import time

from ansible_collections.hostnet.netif.plugins.module_utils import model, planner, reader
from ansible_collections.hostnet.netif.plugins.module_utils.restore import affected_names, restore_plan
from ansible_collections.hostnet.netif.plugins.module_utils.errors import (
    CommandError,
    NetifError,
    printable,
)

STATE_DIR = "/run/hostnet-netif"
NETNS_PATH = "/proc/self/ns/net"
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

    def __init__(self, cause, restore_error=None, restored=(), journal=None):
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
            if journal:
                text += "; the next run on this host tries the restore again from %s" % journal
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
    ``sysctl`` a SysctlIO, ``files`` a reader.HostFiles (tests point both
    at fake trees) and ``text`` a :class:`TextFiles` (the files a task
    persists to); ``tied_run(argv, data, hold_fd) -> (rc, stdout, stderr)``
    runs the batch as a child that keeps ``hold_fd`` (the lock) open and dies
    with this process (module_glue.run_tied; None: ``run`` is used).
    """

    def __init__(self, run, ip_path, environ=None, sysctl=None, files=None, tied_run=None,
                 text=None):
        self.run = run
        self.tied_run = tied_run
        self.ip_path = ip_path
        self.environ = os.environ if environ is None else environ
        self.sysctl = sysctl or SysctlIO()
        self.files = files
        self.text = text or TextFiles()

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


class FileWriteError(NetifError):
    """A file the task persists to could not be read, written or removed."""


def file_mode(path):
    """The mode a persisted file gets: netplan YAML 0600 (netplan warns about, and
    newer releases refuse, files others can read), everything else 0644."""
    return 0o600 if path.endswith((".yaml", ".yml")) else 0o644


def split_files(files):
    """({path: text or None}, {path: mode}) of {path: text, (text, mode) or None}."""
    texts, modes = {}, {}
    for path, value in (files or {}).items():
        if isinstance(value, tuple):
            texts[path] = value[0]
            if value[0] is not None and value[1] is not None:
                modes[path] = value[1]
        else:
            texts[path] = value
    return texts, modes


class TextFiles:
    """Reads configuration files and replaces them atomically: a temporary file in
    the same directory, fsync, rename, fsync of the directory (so a crash leaves
    the old or the new file, never a torn one)."""

    def read(self, path):
        """The file's text, or None when it does not exist."""
        try:
            with open(path, "rb") as handle:
                return handle.read().decode("utf-8", "surrogateescape")
        except (IOError, OSError) as exc:
            if exc.errno == errno.ENOENT:
                return None
            raise FileWriteError("could not read %s: %s" % (path, exc.strerror or exc))

    def write(self, path, text, mode=None):
        """Replace ``path`` with ``text`` (mode ``mode`` or :func:`file_mode`), or remove it
        when ``text`` is None."""
        directory, name = os.path.split(path)
        if text is None:
            try:
                os.unlink(path)
            except OSError as exc:
                if exc.errno != errno.ENOENT:
                    raise FileWriteError("could not remove %s: %s" % (path, exc.strerror or exc))
            self._sync_directory(directory)
            return
        fd, temp = None, None
        try:
            fd, temp = tempfile.mkstemp(prefix="." + name + ".", suffix=".tmp", dir=directory)
            with os.fdopen(fd, "wb") as handle:
                fd = None
                handle.write(text.encode("utf-8", "surrogateescape"))
                handle.flush()
                os.fchmod(handle.fileno(), file_mode(path) if mode is None else mode)
                os.fsync(handle.fileno())
            os.rename(temp, path)
            temp = None
            self._sync_directory(directory)
        except (IOError, OSError) as exc:
            raise FileWriteError("could not write %s: %s" % (path, exc.strerror or exc))
        finally:
            if fd is not None:
                os.close(fd)
            if temp is not None and os.path.lexists(temp):
                os.unlink(temp)

    @staticmethod
    def _sync_directory(directory):
        try:
            fd = os.open(directory or ".", os.O_RDONLY)
        except OSError:
            return
        try:
            os.fsync(fd)
        except OSError:
            pass  # some file systems refuse fsync on a directory; the rename stands
        finally:
            os.close(fd)


# ---------------------------------------------------------------------------
# lock
# ---------------------------------------------------------------------------
def netns_inode(path=NETNS_PATH):
    """Inode of this process's network namespace (the key of its lock and journal), or None."""
    try:
        return os.stat(path).st_ino
    except OSError:
        return None


def state_directory(path=STATE_DIR):
    """``path`` as a directory only root reaches (0700, ours, not a symlink); made if missing."""
    try:
        os.mkdir(path, 0o700)
    except OSError as exc:
        if exc.errno != errno.EEXIST:
            raise LockTimeout("cannot create %s: %s" % (path, exc.strerror or exc))
    try:
        info = os.lstat(path)
    except OSError as exc:
        raise LockTimeout("cannot inspect %s: %s" % (path, exc.strerror or exc))
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o022:
        raise LockTimeout("refusing %s: it must be a directory owned by uid %d and writable by "
                          "nobody else" % (path, os.geteuid()))
    return path


def default_lock_path(directory=None):
    """``<directory or STATE_DIR>/<netns inode>.lock``: one writer per network namespace,
    since network state is per namespace (lab hosts sharing /run do not serialize)."""
    directory = STATE_DIR if directory is None else directory
    inode = netns_inode()
    return os.path.join(directory, "%s.lock" % ("netns-unknown" if inode is None else inode))


class HostLock:
    """``fcntl.flock`` on one file: one writer per network namespace, bounded wait.

    ``path`` None: :func:`default_lock_path` (its directory is made on acquire).
    The lock belongs to the open file description, so a child that inherits
    :attr:`fd` (the ``ip -batch`` process, see :func:`run_batch`) keeps the lock
    held until it is gone too, even when this process is killed. ``release``
    removes the file while still holding it; ``acquire`` re-checks after
    locking that the path still names the file it locked (else retries), so
    removing it is safe. :attr:`journal_path` is the journal next to the lock.
    """

    def __init__(self, path=None, timeout=LOCK_TIMEOUT, clock=time.monotonic,
                 sleep=time.sleep):
        self._make_directory = path is None
        self.path = default_lock_path() if path is None else path
        self.timeout = timeout
        self._clock = clock
        self._sleep = sleep
        self._fd = None

    @property
    def journal_path(self):
        base = self.path[:-len(".lock")] if self.path.endswith(".lock") else self.path
        return base + ".journal"

    def _open(self):
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        try:
            return os.open(self.path, flags, 0o600)
        except OSError as exc:
            raise LockTimeout("cannot open the lock file %s: %s" % (self.path, exc.strerror or exc))

    def _still_ours(self, fd):
        """True when ``path`` still names the locked file (a releaser may have removed it)."""
        try:
            named = os.stat(self.path)
        except OSError:
            return False
        mine = os.fstat(fd)
        return (named.st_dev, named.st_ino) == (mine.st_dev, mine.st_ino)

    def acquire(self):
        if self._make_directory:
            state_directory(os.path.dirname(self.path))
        deadline = self._clock() + self.timeout
        while True:
            fd = self._open()
            try:
                while True:
                    try:
                        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        break
                    except (IOError, OSError) as exc:
                        if exc.errno not in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES):
                            raise LockTimeout("cannot lock %s: %s"
                                              % (self.path, exc.strerror or exc))
                    if self._clock() >= deadline:
                        raise LockTimeout(
                            "another hostnet.netif task is changing this network namespace: %s "
                            "stayed locked for %.0f s; try again when it has finished"
                            % (self.path, self.timeout))
                    self._sleep(_LOCK_POLL)
                if self._still_ours(fd):
                    self._fd = fd
                    return
            except BaseException:
                os.close(fd)
                raise
            os.close(fd)  # locked a file its holder removed on release: lock the new one

    def release(self):
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            try:
                os.unlink(self.path)
            except OSError:
                pass  # already gone, or not ours to remove: the lock itself is what counts
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    @property
    def held(self):
        return self._fd is not None

    @property
    def fd(self):
        """The locked descriptor (None when not held); hand it to children that must hold it."""
        return self._fd


# ---------------------------------------------------------------------------
# journal
# ---------------------------------------------------------------------------
JOURNAL_VERSION = 1
_SO_NETNS_COOKIE = getattr(socket, "SO_NETNS_COOKIE", 71)  # asm-generic value (Linux 5.14)


def netns_cookie():
    """The 64-bit cookie of this network namespace (never reused while the machine runs,
    unlike the inode), or None where the kernel or architecture does not give it."""
    if platform.machine().startswith(("sparc", "parisc")):  # other SO_* numbers there
        return None
    try:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    except (OSError, AttributeError):
        return None
    try:
        return struct.unpack("=Q", sock.getsockopt(socket.SOL_SOCKET, _SO_NETNS_COOKIE, 8))[0]
    except (OSError, struct.error):
        return None
    finally:
        sock.close()


class JournalError(NetifError):
    """A journal of an interrupted apply that cannot be read or restored."""


class Journal:
    """The snapshot of an apply in progress, on disk (0600, written atomically) before
    the batch runs and removed once the host is verified or restored; a journal found
    under the lock means a writer died mid-apply (see Transaction).

    Record: ``version``, ``pid``, ``started`` (UTC), ``netns`` {inode, cookie},
    ``commands`` (the interrupted plan), ``names`` (interfaces it could disturb),
    ``created``, ``interfaces`` (their facts records before it, with parents and
    masters), ``sysctl`` [{family, dev, key, old}] and ``files`` {path: text
    before, None when absent} (the files it writes once the runtime is verified).
    """

    def __init__(self, path):
        self.path = path

    def write(self, record):
        temp = "%s.%d.tmp" % (self.path, os.getpid())
        flags = (os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
                 | getattr(os, "O_CLOEXEC", 0))
        try:
            with os.fdopen(os.open(temp, flags, 0o600), "wb") as handle:
                handle.write(json.dumps(record, sort_keys=True).encode("utf-8", "surrogateescape"))
                handle.flush()
                os.fsync(handle.fileno())
            os.rename(temp, self.path)
        except OSError as exc:
            try:
                os.unlink(temp)
            except OSError:
                pass
            raise JournalError("cannot write the journal %s: %s; nothing was changed"
                               % (self.path, exc.strerror or exc))

    def load(self):
        """The record, or None when there is no journal; JournalError when unreadable."""
        try:
            fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
                         | getattr(os, "O_CLOEXEC", 0))
        except OSError as exc:
            if exc.errno == errno.ENOENT:
                return None
            raise JournalError("cannot read the journal %s: %s" % (self.path, exc.strerror or exc))
        try:
            with os.fdopen(fd, "rb") as handle:
                record = json.loads(handle.read().decode("utf-8", "surrogateescape"))
        except (OSError, ValueError) as exc:
            raise JournalError("the journal %s of an interrupted apply is unreadable (%s); "
                               "check the host and remove the file" % (self.path, exc))
        shape = (("names", list), ("created", list), ("interfaces", dict), ("sysctl", list),
                 ("commands", list), ("netns", dict))
        if not isinstance(record, dict) or record.get("version") != JOURNAL_VERSION or any(
                not isinstance(record.get(key), kind) for key, kind in shape) \
                or not isinstance(record.get("window") or {}, dict) \
                or not isinstance(record.get("files", {}), dict):
            raise JournalError("the journal %s is not a version %d hostnet.netif journal; check "
                               "the host and remove the file" % (self.path, JOURNAL_VERSION))
        return record

    def remove(self):
        try:
            os.unlink(self.path)
        except OSError as exc:
            if exc.errno != errno.ENOENT:
                raise JournalError("cannot remove the journal %s: %s"
                                   % (self.path, exc.strerror or exc))

    @staticmethod
    def describe(record, path):
        return "an interrupted apply (pid %s, started at %s, journal %s)" % (
            record.get("pid"), record.get("started"), path)


def journal_interfaces(before, names):
    """The facts records of ``names`` plus their parents and masters (what restore_plan
    needs for depths and master kinds), without counters."""
    wanted, todo = set(), [n for n in names if n in before]
    while todo:
        name = todo.pop()
        if name in wanted:
            continue
        wanted.add(name)
        for key in ("parent", "master"):
            other = before[name].get(key)
            if other in before and other not in wanted:
                todo.append(other)
    return dict((name, dict((k, v) for k, v in before[name].items() if k != "statistics"))
                for name in wanted)


# ---------------------------------------------------------------------------
# ip -batch
# ---------------------------------------------------------------------------
def run_batch(host, ops, hold_fd=None):
    """Apply the batch ops of ``ops`` with one ``ip -batch -``; raise BatchError.

    ``hold_fd`` is the host lock's descriptor: with ``host.tied_run`` the ip
    process inherits it and dies with this process, so the lock stays held
    while any line can still reach the kernel.
    """
    lines = planner.render(ops)
    if not lines:
        return
    for line in lines:
        if "\n" in line or "\r" in line:  # defence in depth: ops validate values already
            raise BatchError(None, line, "refusing a batch line with a line break", None)
    argv = [host.ip_path, "-batch", "-"]
    data = "\n".join(lines) + "\n"
    try:
        if hold_fd is not None and host.tied_run is not None:
            rc, out, err = host.tied_run(argv, data, hold_fd)
        else:
            rc, out, err = host.run(argv, data=data)
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
# the transaction
# ---------------------------------------------------------------------------
class Transaction:
    """Context manager owning the lock, the snapshot and apply → verify → restore.

    ``subsets`` are gather subsets the resource needs (``links`` and
    ``addresses`` are always read: the restore needs them); ``sysctl_keys``
    the per-interface sysctls to read. In check mode no lock is taken and
    :meth:`apply` must not be called. A ``lock`` the caller already holds is
    used as is and left held. Entering (under the lock) restores the journal
    of an interrupted apply first (:attr:`recovered`); check mode only warns.
    ``window`` (a confirm.Window) keeps the journal armed after a successful
    apply, with a watchdog that restores it unless confirmed (commit-confirm);
    :attr:`confirm_log` is what watchdogs did since the last run.
    """

    def __init__(self, host, subsets=("links", "addresses"), sysctl_keys=(), check_mode=False,
                 lock=None, window=None):
        self.host = host
        self.check_mode = check_mode
        subsets = set(subsets) | {"links", "addresses"}
        if sysctl_keys:
            subsets.add("sysctl")
        self.request = reader.GatherRequest(gather_subset=sorted(subsets),
                                            sysctl_keys=list(sysctl_keys))
        self.lock = lock if lock is not None else HostLock()
        self.journal = Journal(self.lock.journal_path)
        self.snapshot = None
        self.files_before = {}
        self._record = None
        self.warnings = []
        self.recovered = None
        self.window = window
        self.armed = None  # the armed journal of this task's window (an earlier step's)
        self.confirm_log = []
        self._owns_lock = False

    def __enter__(self):
        if self.check_mode:
            self._warn_pending()
            return self
        if not self.lock.held:
            self.lock.acquire()
            self._owns_lock = True
        try:
            self._recover()
        except BaseException:
            self._release()
            raise
        return self

    def __exit__(self, exc_type, exc, tb):
        self._release()
        return False

    def _release(self):
        if self._owns_lock:
            self._owns_lock = False
            self.lock.release()

    def read(self):
        """Read the host; the first read is the snapshot the restore returns to."""
        files = self.host.files if self.host.files is not None else reader.HostFiles()
        document, warnings = reader.gather(self.host.ip(), self.request, files)
        self.warnings.extend(warnings)
        if self.snapshot is None:
            self.snapshot = document
        return document

    def read_file(self, path):
        """A file's text (None: absent); the first read is the snapshot the restore
        writes back (under the lock outside check mode, like :meth:`read`)."""
        if path not in self.files_before:
            self.files_before[path] = self.host.text.read(path)
        return self.files_before[path]

    def _interfaces_now(self):
        """Links and addresses as they are (for restores; not the snapshot)."""
        files = self.host.files if self.host.files is not None else reader.HostFiles()
        request = reader.GatherRequest(gather_subset=["addresses", "links"], sysctl_keys=[])
        return reader.gather(self.host.ip(), request, files)[0]["interfaces"]

    # -- the journal ---------------------------------------------------------
    def _journal_write(self, ops):
        before = self.snapshot["interfaces"]
        names = affected_names(ops, before)
        olds = []
        for op in ops:
            if op.batch or (op.dev not in ("all", "default") and op.dev not in before):
                continue  # an interface the batch creates: the restore deletes it
            try:
                olds.append({"family": op.family, "dev": op.dev, "key": op.key,
                             "old": self.host.sysctl.read(op)})
            except SysctlError:
                continue  # the write fails the same way below, and is restored there
        record = {
            "version": JOURNAL_VERSION, "pid": os.getpid(),
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "netns": {"inode": netns_inode(), "cookie": netns_cookie()},
            "commands": planner.describe(ops), "names": sorted(names),
            "created": sorted(set(name for op in ops for name in op.creates)),
            "interfaces": journal_interfaces(before, names), "sysctl": olds, "files": {},
        }
        if self.window is not None:
            record = self.window.arm_record(self, record)
        self._record = record
        self.journal.write(record)
        if self.window is not None:
            self.window.start(self, record)

    def _journal_files(self, files):
        """Add the old contents of ``files`` to the journal before they are written; in a
        commit-confirm window a path's content from before the window (an earlier step's
        record) is kept."""
        olds = self._record.setdefault("files", {})
        for path in files:
            if path not in olds:
                olds[path] = self.read_file(path)
        self.journal.write(self._record)

    def _journal_stale(self, record):
        """True when the journal's namespace is gone (its inode now names another one)."""
        then, now = record["netns"].get("cookie"), netns_cookie()
        return then is not None and now is not None and then != now

    def _warn_pending(self):
        if not os.access(self.journal.path, os.R_OK):
            return  # none, or a user that may read facts but not root's /run/hostnet-netif
        try:
            record = self.journal.load()
        except JournalError as exc:
            self.warnings.append(str(exc))
            return
        if record is not None and record.get("window") and not self._journal_stale(record):
            from ansible_collections.hostnet.netif.plugins.module_utils import confirm
            self.warnings.append("%s is open: a real run of another window is refused until it "
                                 "is confirmed or restored" % confirm.describe(record))
        elif record is not None and not self._journal_stale(record):
            self.warnings.append(
                "%s is pending: the next changing run of a hostnet.netif setter on this host "
                "restores it; check mode shows the host as the interruption left it"
                % Journal.describe(record, self.journal.path))

    def _recover(self):
        """Restore the journal of an interrupted apply (we hold the lock, so its writer
        and its batch are gone) and report it; JournalError when that fails. An armed
        journal (commit-confirm) of this task's window is kept; one of another window
        that is still open refuses the run."""
        from ansible_collections.hostnet.netif.plugins.module_utils import confirm
        self._recover_journal(confirm)
        # what watchdogs did, reported once by a run that goes ahead (a refused one keeps it)
        self.confirm_log = confirm.take_log(self.lock)
        self.warnings.extend(confirm.log_warning(entry) for entry in self.confirm_log)

    def _recover_journal(self, confirm):
        record = self.journal.load()
        if record is None:
            return
        what = Journal.describe(record, self.journal.path)
        if self._journal_stale(record):
            self.journal.remove()
            self.warnings.append("%s belonged to a network namespace that no longer exists; "
                                 "discarded" % what)
            return
        if record.get("window"):
            if confirm.keep_armed(self, record):
                return
            what = "the expired %s (journal %s)" % (confirm.describe(record), self.journal.path)
        restored = []
        self.restore_journal(record, restored, what)
        self.recovered = {"journal": self.journal.path, "pid": record.get("pid"),
                          "started": record.get("started"),
                          "interrupted_commands": record["commands"],
                          "restore_commands": restored}
        if record.get("window"):
            self.recovered["window"] = record["window"].get("id")
        self.warnings.append("%s was found and restored: %s" % (
            what, "; ".join(restored) if restored else "the host already matched its snapshot"))

    def restore_journal(self, record, restored, what=None):
        """Put the host back as ``record`` (a journal) says, then remove the journal;
        ``restored`` collects the commands run. JournalError (journal kept) on failure."""
        what = what or Journal.describe(record, self.journal.path)
        try:
            self._put_back(record["interfaces"], set(record["names"]), set(record["created"]),
                           restored)
            now = self._interfaces_now()
            for item in record["sysctl"]:
                op = planner.SysctlOp(item["family"], item["dev"], item["key"], item["old"])
                if op.dev in ("all", "default") or op.dev in now:
                    if self.host.sysctl.read(op) != str(item["old"]):
                        self.host.sysctl.write(op, item["old"])
                        restored.append(op.render())
            self._put_back_files(record.get("files") or {}, restored)
        except Exception as exc:
            raise JournalError(
                "%s was found but could not be restored: %s%s; the host may be partly changed "
                "by it. The journal is kept, so the next run tries again; to give up, put the "
                "host right and remove %s" % (
                    what, exc, " (restore ran: %s)" % "; ".join(restored) if restored else "",
                    self.journal.path))
        self.journal.remove()

    def _put_back_files(self, olds, restored):
        """Write back the files ``olds`` {path: text or None (absent)} that differ now."""
        for path in sorted(olds):
            if self.host.text.read(path) != olds[path]:
                self.host.text.write(path, olds[path])
                restored.append("%s %s" % ("remove" if olds[path] is None else "restore", path))

    def _put_back(self, before, names, created, restored):
        """Take ``names`` back to ``before`` (facts interfaces) in one batch and prove it."""
        undo = restore_plan(before, self._interfaces_now(), names, created)
        restored.extend(planner.render(undo))
        run_batch(self.host, undo, hold_fd=self.lock.fd)
        left = restore_plan(before, self._interfaces_now(), names, created)
        if left:
            raise NetifError("after the restore these still differ: %s"
                             % "; ".join(planner.render(left)))

    def apply(self, ops, verify, check_after_batch=None, files=None):
        """Apply ``ops`` (ordered) and verify, then write ``files``; restore and raise on
        any failure.

        ``verify(facts) -> [str]`` lists what still differs. ``check_after_batch()``
        (optional) runs once the batch and the sysctl writes are done, before the
        re-read, and raises to have the change restored (the management guard's
        route check). ``files`` {path: text, (text, mode) or None (remove)}, or a
        function of the facts after giving them: written atomically once the
        runtime is verified (those whose text differs from :meth:`read_file`),
        journalled first, old contents restored with the runtime on any failure.
        Returns the facts read after the change.
        """
        if self.check_mode:
            raise NetifError("internal error: apply() called in check mode")
        if not self.lock.held:
            raise NetifError("internal error: apply() called without the host lock")
        if self.snapshot is None:
            raise NetifError("internal error: apply() called before read()")
        written, files_written = [], {}
        self._journal_write(ops)  # raises before anything changed
        try:
            run_batch(self.host, ops, hold_fd=self.lock.fd)
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
            texts, modes = split_files(files(after) if callable(files) else files)
            texts = dict((path, text) for path, text in texts.items()
                         if text != self.read_file(path))
            if texts:
                self._journal_files(texts)
                files_written = texts
            for path in sorted(texts):
                self.host.text.write(path, texts[path], modes.get(path))
            if self.window is None:
                self.journal.remove()
            return after  # with a window the journal stays armed: its watchdog or a confirm ends it
        except Exception as exc:
            self._restore(exc, ops, written, files_written)
            raise  # _restore always raises; this keeps linters honest

    def _restore(self, cause, ops, written, files):
        restored = []
        try:
            self._put_back_files(dict((path, self.files_before[path]) for path in files),
                                 restored)
            for op, old in reversed(written):
                self.host.sysctl.write(op, old)
                restored.append("sysctl -w net.%s.conf.%s.%s=%s" % (
                    op.family, op.dev.replace(".", "/"), op.key, old))
            before = self.snapshot["interfaces"]
            created = set()
            for op in ops:
                created.update(op.creates)
            self._put_back(before, affected_names(ops, before), created, restored)
            if self.window is not None:
                self.window.put_back(self)
            else:
                self.journal.remove()
        except Exception as restore_exc:
            raise TransactionError(cause, restore_exc, restored, journal=self.journal.path)
        raise TransactionError(cause, None, restored)
