"""The daemon's errors and the names it keeps in the archive's state table."""

from __future__ import annotations

from typing import TypeVar

LOCK_NAME = "daemon.lock"
STATE_PREFIX = "daemon.source."
HEARTBEAT_KEY = "daemon.heartbeat"
FAILING_FLAG_DAYS = 7
T = TypeVar("T")


class DaemonError(Exception):
    """The daemon cannot start (another one holds the archive, a bad setting): says which and what to do."""


class DaemonBusy(DaemonError):
    """Another daemon holds this data home's lock."""
