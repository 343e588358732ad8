"""The operator's daemon: the service loop, its lock, logs, settings, schedule and status."""

from __future__ import annotations

from tracker._lazy import lazy_exports

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
__all__, __getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)
