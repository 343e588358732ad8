"""The operator's daemon: the service loop, its lock, logs, settings, schedule and status."""

from __future__ import annotations

from importlib import import_module
from typing import Any

# Public name -> the module that defines it. Imported on first use, so that `stp-tracker status` reads the
# archive without importing the service (and through it the analysis, the meaning core and the crawler).
_EXPORTS = {
    "Daemon": "tracker.daemon.service",
    "DaemonBusy": "tracker.daemon.errors",
    "DaemonError": "tracker.daemon.errors",
    "DaemonLock": "tracker.daemon.lock",
    "DaemonSettings": "tracker.daemon.settings",
    "STATE_PREFIX": "tracker.daemon.errors",
    "ScheduleError": "tracker.daemon.schedule",
    "configure_logging": "tracker.daemon.logs",
    "daemon_status": "tracker.daemon.status",
    "install_stop_signals": "tracker.daemon.service",
    "load_daemon_sources": "tracker.daemon.settings",
    "lock_owner": "tracker.daemon.lock",
    "run_daemon": "tracker.daemon.service",
    "run_on_reactor": "tracker.daemon.service",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    try:
        module = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
