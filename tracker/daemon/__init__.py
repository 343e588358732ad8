"""The operator's daemon: the service loop, its lock, logs, settings, schedule and status."""

from tracker.daemon.errors import STATE_PREFIX, DaemonBusy, DaemonError
from tracker.daemon.lock import DaemonLock, lock_owner
from tracker.daemon.logs import configure_logging
from tracker.daemon.schedule import ScheduleError
from tracker.daemon.service import Daemon, install_stop_signals, run_daemon, run_on_reactor
from tracker.daemon.settings import DaemonSettings, load_daemon_sources
from tracker.daemon.status import daemon_status

__all__ = [
    "Daemon",
    "DaemonBusy",
    "DaemonError",
    "DaemonLock",
    "DaemonSettings",
    "STATE_PREFIX",
    "ScheduleError",
    "configure_logging",
    "daemon_status",
    "install_stop_signals",
    "load_daemon_sources",
    "lock_owner",
    "run_daemon",
    "run_on_reactor",
]
