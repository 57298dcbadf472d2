# -*- coding: utf-8 -*-
# Copyright: hostnet.netif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Commit-confirm on the target: arm a window, the watchdog, confirm (stdlib only).

A change made with ``confirm_timeout`` keeps its journal (the snapshot the
transaction writes before the batch) *armed*: the record gets a ``window``
{id, deadline, ...} and a detached watchdog process restores it when the
deadline passes without a confirm::

    window = Window.from_params(params)        # None: confirm_timeout 0
    Transaction(host, ..., window=window)      # apply() arms it (arm_record, start)
    confirm(window_id)                         # hostnet.netif.confirm: disarm

Why a copy of the code: an AnsiballZ module runs from a zip in a temp
directory that is deleted when the module exits, so :func:`start` copies that
zip to ``/run/hostnet-netif/<inode>.<window>.watchdog.zip`` and the watchdog
(``python -c``, new session, no inherited descriptors) imports from the copy
and removes it when it ends. The watchdog polls the journal once a second:
gone or another window (confirmed) → it ends; past the deadline → it takes the
host lock, restores the journal like the next run restores an interrupted
apply, and appends what it did to ``<inode>.confirm-log``, which the next
changing run reports (``confirm_log``) and clears. A reboot ends all of it:
``/run`` is a tmpfs, the boot configuration applies.

One window per network namespace: a change of another window is refused while
one is open (:func:`keep_armed`); steps that pass the same ``confirm_window``
join it, each merging its snapshot into the armed one (what the window first
saw wins) and restarting the countdown.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import binascii
import errno
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

from ansible_collections.hostnet.netif.plugins.module_utils import module_glue
from ansible_collections.hostnet.netif.plugins.module_utils import transaction as txn_mod
from ansible_collections.hostnet.netif.plugins.module_utils.errors import InputError, NetifError

MIN_TIMEOUT = 10
MAX_TIMEOUT = 3600
POLL = 1.0
WATCHDOG_MARK = "hostnet-netif-watchdog"
_WINDOW_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_PACKAGE = os.sep + os.path.join("ansible_collections", "hostnet", "netif") + os.sep
# The watchdog's program: import from the kept copy, run, nothing else.
_BOOT = ("import sys; sys.path.insert(0, sys.argv[2]); "
         "from ansible_collections.hostnet.netif.plugins.module_utils import confirm; "
         "sys.exit(confirm.watchdog_main(sys.argv[1:]))")


class WindowError(NetifError):
    """A commit-confirm window is open, expired, unknown, or could not be armed."""


def utc(epoch):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def log_path(lock):
    return lock.journal_path[:-len(".journal")] + ".confirm-log"


# ---------------------------------------------------------------------------
# the window of one task (or of several tasks sharing confirm_window)
# ---------------------------------------------------------------------------
class Window:
    """``confirm_timeout`` seconds and the window id; ``joined`` when the caller named it
    (the caller then confirms it, e.g. the configure role's last task)."""

    def __init__(self, timeout, window_id=None, environ=None):
        self.timeout = timeout
        self.joined = window_id is not None
        self.id = window_id or binascii.hexlify(os.urandom(8)).decode("ascii")
        self.environ = os.environ if environ is None else environ
        self.result = {"armed": False, "window": self.id, "timeout": timeout,
                       "joined": self.joined}

    @classmethod
    def from_params(cls, params, environ=None):
        """The window ``params`` ask for, or None (``confirm_timeout`` 0); InputError."""
        timeout = params.get("confirm_timeout") or 0
        window_id = params.get("confirm_window")
        if isinstance(timeout, bool) or not isinstance(timeout, int):
            raise InputError("confirm_timeout", "expected whole seconds", found=timeout)
        if timeout == 0:
            if window_id is not None:
                raise InputError("confirm_window", "confirm_window needs confirm_timeout "
                                 "(%d to %d seconds)" % (MIN_TIMEOUT, MAX_TIMEOUT))
            return None
        if not MIN_TIMEOUT <= timeout <= MAX_TIMEOUT:
            raise InputError("confirm_timeout", "expected 0 (off) or %d to %d seconds"
                             % (MIN_TIMEOUT, MAX_TIMEOUT), found=timeout)
        if window_id is not None and not (isinstance(window_id, str)
                                          and _WINDOW_ID.match(window_id)):
            raise InputError("confirm_window", "expected 1 to 64 letters, digits, '_', '.' "
                             "or '-'", found=window_id)
        return cls(timeout, window_id, environ)

    def arm_record(self, txn, record):
        """The journal record of this step: ``record`` merged into the window's armed
        record (when a step of it ran before) with the window and a new deadline."""
        now = time.time()
        armed = txn.armed
        window = dict((armed or {}).get("window") or {})
        if armed is not None:
            record = merge_records(armed, record)
        window.update({"id": self.id, "timeout": self.timeout, "deadline": now + self.timeout,
                       "deadline_utc": utc(now + self.timeout),
                       "steps": window.get("steps", 0) + 1})
        window.setdefault("armed_at", utc(now))
        window.setdefault("armed_by", self.environ.get("SSH_CONNECTION"))
        record["window"] = window
        return record

    def start(self, txn, record, python=None):
        """Make sure a watchdog of this window runs (start one if none lives) and
        record its pid in the journal; WindowError (journal put back) when it cannot."""
        window = record["window"]
        pid = window.get("watchdog")
        if not (pid and watchdog_alive(pid, self.id)):
            try:
                pid = spawn_watchdog(txn.lock, self.id, txn.host.ip_path, python)
            except (OSError, IOError) as exc:
                self.put_back(txn)
                raise WindowError("cannot start the commit-confirm watchdog: %s; nothing was "
                                  "changed" % (exc.strerror or exc))
            window["watchdog"] = pid
            txn.journal.write(record)
        self.result.update(armed=True, deadline=window["deadline_utc"],
                           remaining=max(0.0, window["deadline"] - time.time()),
                           armed_by=window.get("armed_by"), watchdog_pid=pid,
                           steps=window["steps"])

    def put_back(self, txn):
        """After this step was restored (or not started): the window's earlier record, or
        nothing (and no watchdog) when this step opened it."""
        if txn.armed is not None:
            txn.journal.write(txn.armed)
            return
        record = None
        try:
            record = txn.journal.load()
        except txn_mod.JournalError:
            pass
        txn.journal.remove()
        pid = ((record or {}).get("window") or {}).get("watchdog")
        if pid:
            stop_watchdog(pid, self.id)
        remove_payload(txn.lock, self.id)
        self.result["armed"] = False


def merge_records(armed, new):
    """One journal for a window of several steps: what the window first saw wins
    (interfaces, old sysctl values, old file contents); interfaces a step created are
    never 'before'."""
    created = set(armed["created"])
    merged = dict(armed)
    merged["names"] = sorted(set(armed["names"]) | set(new["names"]))
    merged["created"] = sorted(created | set(new["created"]))
    interfaces = dict(armed["interfaces"])
    for name, iface in new["interfaces"].items():
        if name not in interfaces and name not in created:
            interfaces[name] = iface
    merged["interfaces"] = interfaces
    seen = set((s["family"], s["dev"], s["key"]) for s in armed["sysctl"])
    merged["sysctl"] = list(armed["sysctl"]) + [
        s for s in new["sysctl"]
        if (s["family"], s["dev"], s["key"]) not in seen and s["dev"] not in created]
    merged["files"] = merge_files(armed.get("files"), new.get("files"))
    merged["commands"] = list(armed["commands"]) + list(new["commands"])
    merged["pid"] = new["pid"]
    return merged


def merge_files(armed, new):
    """{path: old text or None} of a window: the content a path had before the window
    (recorded by the step that first wrote it) wins over what later steps saw."""
    merged = dict(new or {})
    merged.update(armed or {})
    return merged


def keep_armed(txn, record):
    """Decide about an armed journal found under the lock: True (keep it) when it is
    this task's window; WindowError while another window is open; False when its
    deadline has passed (its watchdog did not restore it: the caller does)."""
    window = record["window"]
    if txn.window is not None and txn.window.id == window.get("id"):
        txn.armed = record
        return True
    if time.time() < window.get("deadline", 0):
        raise WindowError(
            "a commit-confirm window is open on this host (window %s, armed at %s by %s, "
            "journal %s): no second change runs during a window; it is confirmed by "
            "hostnet.netif.confirm (window=%s), else the previous state is restored at %s"
            % (window.get("id"), window.get("armed_at"), window.get("armed_by") or "a local run",
               txn.journal.path, window.get("id"), window.get("deadline_utc")))
    return False


def describe(record):
    window = record.get("window") or {}
    return "commit-confirm window %s (armed at %s, deadline %s)" % (
        window.get("id"), window.get("armed_at"), window.get("deadline_utc"))


# ---------------------------------------------------------------------------
# what the watchdogs did
# ---------------------------------------------------------------------------
def append_log(lock, entry):
    flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(log_path(lock), flags, 0o600)
    try:
        os.write(fd, (json.dumps(entry, sort_keys=True) + "\n").encode("utf-8", "surrogateescape"))
    finally:
        os.close(fd)


def read_log(lock):
    """The entries watchdogs appended since the log was last taken ([] when none)."""
    try:
        with open(log_path(lock), "rb") as handle:
            lines = handle.read().decode("utf-8", "surrogateescape").splitlines()
    except (IOError, OSError) as exc:
        if exc.errno == errno.ENOENT:
            return []
        raise WindowError("cannot read %s: %s" % (log_path(lock), exc.strerror or exc))
    entries = []
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            entry = {"event": "unreadable log line", "line": line[:200]}
        entries.append(entry if isinstance(entry, dict) else {"event": "unreadable log line"})
    return entries


def take_log(lock):
    """The log's entries, then remove it (we hold the lock: the next run reports once)."""
    entries = read_log(lock)
    if entries:
        try:
            os.unlink(log_path(lock))
        except OSError:
            pass
    return entries


def log_warning(entry):
    if entry.get("event") == "restored":
        return ("commit-confirm window %s was not confirmed by its deadline %s: the watchdog "
                "restored the previous state at %s (%s)" % (
                    entry.get("window"), entry.get("deadline"), entry.get("at"),
                    "; ".join(entry.get("restore_commands") or []) or "nothing differed"))
    return ("commit-confirm window %s was not confirmed by its deadline %s and the watchdog "
            "could NOT restore the previous state at %s: %s" % (
                entry.get("window"), entry.get("deadline"), entry.get("at"),
                entry.get("error") or entry.get("event")))


# ---------------------------------------------------------------------------
# the watchdog process
# ---------------------------------------------------------------------------
def _proc_argv(pid):
    try:
        with open("/proc/%d/cmdline" % int(pid), "rb") as handle:
            argv = handle.read().split(b"\0")
        with open("/proc/%d/stat" % int(pid), "rb") as handle:
            if handle.read().rsplit(b")", 1)[1].split()[0] == b"Z":
                return []
    except (IOError, OSError, IndexError, ValueError):
        return []
    return [part.decode("utf-8", "replace") for part in argv]


def watchdog_alive(pid, window_id):
    """True when ``pid`` is a live watchdog of ``window_id`` (not a reused pid)."""
    argv = _proc_argv(pid)
    return WATCHDOG_MARK in argv and window_id in argv


def stop_watchdog(pid, window_id):
    if pid and watchdog_alive(pid, window_id):
        try:
            os.kill(int(pid), signal.SIGTERM)
        except OSError:
            pass


def _payload_path(lock, window_id):
    return lock.journal_path[:-len(".journal")] + ".%s.watchdog.zip" % window_id


def remove_payload(lock, window_id):
    try:
        os.unlink(_payload_path(lock, window_id))
    except OSError:
        pass


def code_root(path=__file__):
    """The sys.path entry this collection was imported from (a zip or a directory)."""
    index = path.rfind(_PACKAGE)
    if index < 0:
        raise OSError(errno.ENOENT, "cannot tell where %s was imported from" % path)
    return path[:index]


def spawn_watchdog(lock, window_id, ip_path, python=None):
    """Start the detached watchdog of ``window_id``; its pid."""
    root = code_root()
    if os.path.isfile(root):  # the AnsiballZ payload zip, deleted when the module exits
        kept = _payload_path(lock, window_id)
        temp = kept + ".tmp"
        shutil.copyfile(root, temp)
        os.chmod(temp, 0o600)
        os.rename(temp, kept)
        root = kept
    argv = [python or sys.executable or "python3", "-c", _BOOT, WATCHDOG_MARK, root,
            lock.path, window_id, ip_path]
    with open(os.devnull, "r+b") as null:
        proc = subprocess.Popen(argv, stdin=null, stdout=null, stderr=null, close_fds=True,
                                cwd="/", start_new_session=True)
    return proc.pid


def _run(argv, data=None):
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE if data is not None else subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, close_fds=True)
    out, err = proc.communicate(None if data is None else data.encode("utf-8", "surrogateescape"))
    return proc.returncode, out.decode("utf-8", "surrogateescape"), err.decode("utf-8", "replace")


def _terminate(signum, frame):
    raise SystemExit(0)


def watchdog_main(argv, clock=time.time, sleep=time.sleep):
    """``[mark, root, lock path, window id, ip path]``: wait for the deadline, restore."""
    root, lock_path, window_id, ip_path = argv[1:5]
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    lock = txn_mod.HostLock(lock_path)
    journal = txn_mod.Journal(lock.journal_path)
    try:
        while True:
            record = _armed(journal, window_id)
            if record is None:
                return 0  # confirmed, or restored by a run that found it expired
            left = record["window"]["deadline"] - clock()
            if left > 0:
                sleep(min(left, POLL))
                continue
            try:
                lock.acquire()
            except txn_mod.LockTimeout:
                continue
            try:
                record = _armed(journal, window_id)
                if record is None:
                    return 0
                if record["window"]["deadline"] > clock():
                    continue  # a later step of the window restarted the countdown
                return _restore(lock, journal, record, ip_path)
            finally:
                lock.release()
    finally:
        if root.endswith(".watchdog.zip"):
            remove_payload(lock, window_id)


def _armed(journal, window_id):
    try:
        record = journal.load()
    except txn_mod.JournalError:
        return None  # the next changing run reports it
    if record is None or (record.get("window") or {}).get("id") != window_id:
        return None
    return record


def _restore(lock, journal, record, ip_path):
    host = txn_mod.Host(_run, ip_path, environ={}, tied_run=module_glue.run_tied)
    txn = txn_mod.Transaction(host, lock=lock)
    window = record["window"]
    entry = {"window": window.get("id"), "deadline": window.get("deadline_utc"),
             "armed_at": window.get("armed_at"), "armed_by": window.get("armed_by"),
             "commands": record.get("commands"), "pid": os.getpid(),
             "reason": "not confirmed by the deadline"}
    restored = []
    try:
        txn.restore_journal(record, restored)
        entry.update(event="restored", restore_commands=restored)
        code = 0
    except Exception as exc:  # recorded for the next run, which retries the restore
        entry.update(event="restore failed", error=str(exc), restore_commands=restored)
        code = 1
    entry["at"] = utc(time.time())
    append_log(lock, entry)
    return code


# ---------------------------------------------------------------------------
# confirm
# ---------------------------------------------------------------------------
def confirm(window_id, environ=None, lock=None, clock=time.time):
    """Disarm ``window_id``: remove its journal, stop its watchdog -> result dict.
    WindowError when it is not armed (expired and restored, never armed, rebooted)."""
    environ = os.environ if environ is None else environ
    lock = lock or txn_mod.HostLock()
    journal = txn_mod.Journal(lock.journal_path)
    lock.acquire()
    try:
        record = journal.load()
        window = (record or {}).get("window") or {}
        if window.get("id") != window_id:
            done = [e for e in read_log(lock) if e.get("window") == window_id]
            if done:
                raise WindowError("window %s expired at %s: %s" % (
                    window_id, done[-1].get("deadline"), log_warning(done[-1])))
            raise WindowError(
                "no commit-confirm window %s is armed on this host: it was confirmed already, "
                "or it expired and was restored by a later run, or the host rebooted (/run is "
                "emptied: the boot configuration applies)" % window_id)
        late = clock() - window["deadline"]
        if late >= 0:
            raise WindowError("window %s expired at %s (%.0f s ago): the watchdog restores the "
                              "previous state" % (window_id, window.get("deadline_utc"), late))
        journal.remove()
        stop_watchdog(window.get("watchdog"), window_id)
        remove_payload(lock, window_id)
    finally:
        lock.release()
    return {"changed": True, "confirmed": True, "window": window_id,
            "deadline": window.get("deadline_utc"), "remaining": -late,
            "armed_at": window.get("armed_at"), "armed_by": window.get("armed_by"),
            "confirmed_by": environ.get("SSH_CONNECTION"), "steps": window.get("steps"),
            "commands": record.get("commands")}
