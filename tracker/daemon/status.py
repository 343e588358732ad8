"""`stp-tracker status`: the daemon's heartbeat, each source's schedule and health, alerts waiting."""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
from pathlib import Path
from typing import Any

from storage import Archive, ArchiveError, Outbox
from tracker.daemon.errors import FAILING_FLAG_DAYS, HEARTBEAT_KEY, STATE_PREFIX
from tracker.daemon.lock import lock_owner
from tracker.daemon.schedule import SourceState, iso, parse_time

log = logging.getLogger("stp_tracker.daemon")

def daemon_status(home: Path) -> dict[str, Any]:
    """Whether a daemon runs on this home, each source's last and next crawl and health, and the alert queue."""
    from tracker.daemon.checks import optional_tools

    home = Path(home)
    owner = lock_owner(home)
    result: dict[str, Any] = {"home": str(home), "running": False, "state": "not running", "pid": None,
                              "heartbeat": None, "heartbeat_age_seconds": None, "sources": [], "alerts": None,
                              "tools": optional_tools()}
    if not (home / "archive.db").exists():
        if owner:
            result.update(running=True, state="starting", pid=owner.get("pid"))
        return result
    now = dt.datetime.now(dt.timezone.utc)
    with Archive(home, readonly=True) as archive:
        if archive.schema_version == 0:  # a daemon is creating the archive this very moment
            result.update(running=owner is not None, state="starting", pid=(owner or {}).get("pid"))
            return result
        beat = archive.get_state(HEARTBEAT_KEY)
        states = archive.state_items(STATE_PREFIX)
        rows = archive.sources()
        result["alerts"] = _alert_queue(archive)
    if beat:
        at = parse_time(beat.get("at"))
        result["heartbeat"] = beat
        result["heartbeat_age_seconds"] = round((now - at).total_seconds(), 1) if at else None
    if owner is not None:
        age = result["heartbeat_age_seconds"]
        fresh = age is not None and beat and beat.get("pid") == owner.get("pid") and not beat.get("stopped_at") \
            and age <= 3 * float(beat.get("interval") or 5) + 5
        result.update(running=True, pid=owner.get("pid"), state="running" if fresh else "unresponsive")
    elif beat and not beat.get("stopped_at"):
        result["state"] = "not running (last stopped without a clean shutdown)"
    by_name = {r["name"]: r for r in rows}
    for name in sorted(set(by_name) | {k[len(STATE_PREFIX):] for k in states}):
        row = by_name.get(name, {})
        state = SourceState.from_json(states.get(STATE_PREFIX + name))
        failing_since = parse_time(state.failing_since)
        failures = int(row.get("consecutive_failures") or 0)
        if failures and failing_since is None and row.get("last_success_at") is None:
            failing_since = parse_time(row.get("last_crawl_at"))
        result["sources"].append({
            "name": name, "kind": row.get("kind"), "official": row.get("official"), "schedule": state.schedule,
            "last_crawl_at": state.last_started or row.get("last_crawl_at"),
            "last_crawl_id": state.last_crawl_id or row.get("last_crawl_id"),
            "last_ok": state.last_ok, "next_due": state.next_due, "in_flight": state.in_flight,
            "last_success_at": row.get("last_success_at"), "consecutive_failures": failures,
            "last_error": row.get("last_error") or state.last_error,
            "failing_since": iso(failing_since),
            "failing_for_a_week": bool(failures and failing_since
                                       and now - failing_since >= dt.timedelta(days=FAILING_FLAG_DAYS)),
        })
    return result


def _alert_queue(archive: Archive) -> dict[str, Any]:
    """What the outbox still owes. Every archive has the outbox (a migration makes it): an error reading it is an
    ArchiveError naming it, never "no outbox"."""
    try:
        pending = Outbox(archive).deliveries(status="pending")
    except sqlite3.Error as exc:
        raise ArchiveError(f"cannot read the alert outbox in {archive.home}: {exc}") from None
    failing = [d for d in pending if d.get("attempts")]
    oldest = min((d.get("enqueued_at") or "" for d in pending), default=None)
    return {"pending": len(pending), "retrying": len(failing), "oldest_pending": oldest or None}
