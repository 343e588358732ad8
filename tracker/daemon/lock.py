"""One daemon per archive: a lock file naming its owner (pid, host, start)."""

from __future__ import annotations

import datetime as dt
import errno
import fcntl
import json
import logging
import os
import socket
import sys
import threading
from pathlib import Path
from typing import Any

from storage import disk_hint
from tracker.daemon.errors import LOCK_NAME, DaemonBusy, DaemonError
from tracker.daemon.logs import note
from tracker.daemon.schedule import iso

log = logging.getLogger("stp_tracker.daemon")

def _read_lock_text(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
        return data if isinstance(data, dict) else {}
    except ValueError:
        return {}


class DaemonLock:
    """`<home>/daemon.lock`: an flock the kernel drops when the process dies, so a killed daemon's lock is stale."""

    def __init__(self, home: Path):
        self.path = Path(home) / LOCK_NAME
        self.fd: int | None = None
        self.previous: dict[str, Any] = {}

    def acquire(self, attempts: int = 20) -> DaemonLock:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise DaemonError(self._cannot_write(exc)) from None
        for attempt in range(attempts):
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    os.close(fd)
                    raise DaemonError(f"cannot lock {self.path}: {exc.strerror}") from None
                if attempt == attempts - 1:
                    other = _read_lock_text(self.path.read_text(errors="replace"))
                    os.close(fd)
                    pid = other.get("pid", "unknown")
                    raise DaemonBusy(
                        f"another stp-tracker daemon (pid {pid}, started {other.get('started_at', '?')}) is using "
                        f"the archive in {self.path.parent}: stop it first (kill -TERM {pid}) or use another --home"
                    ) from None
                threading.Event().wait(0.05)  # a `status` probe holds the lock for a moment: try again
        self.previous = _read_lock_text(os.pread(fd, 65536, 0).decode("utf-8", "replace"))
        info = {"pid": os.getpid(), "started_at": iso(dt.datetime.now(dt.timezone.utc)), "host": socket.gethostname(),
                "argv": sys.argv[1:]}
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(info).encode("utf-8"), 0)
            os.fsync(fd)
        except OSError as exc:
            os.close(fd)
            raise DaemonError(self._cannot_write(exc)) from None
        self.fd = fd
        if self.previous.get("pid") and self.previous.get("pid") != os.getpid():
            note("took over a stale lock", logging.WARNING, previous_pid=self.previous.get("pid"),
                 previous_start=self.previous.get("started_at"), lock=str(self.path))
        return self

    def _cannot_write(self, exc: OSError) -> str:
        """A full disk or a read-only home shows first here: say so, not a traceback."""
        return f"cannot write the daemon lock {self.path}: {exc.strerror}: {disk_hint(self.path.parent)}"

    def release(self) -> None:
        if self.fd is not None:
            os.ftruncate(self.fd, 0)  # an empty lock file: the daemon stopped cleanly
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None


def lock_owner(home: Path) -> dict[str, Any] | None:
    """The lock holder's {pid, started_at, host} if a daemon holds this home's lock now, else None."""
    path = Path(home) / LOCK_NAME
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            return _read_lock_text(os.pread(fd, 65536, 0).decode("utf-8", "replace")) or {"pid": None}
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)
