"""When each source is crawled: schedule strings ("6h", "15m", "0 7 * * 1-5"), per-kind defaults, and spreading."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import asdict, dataclass, field
from typing import Any

# How often a source with no `schedule` is crawled: councils post committee papers weekly and leaks came through
# them; NHS sites change slowly; a page watched on its own sits between the two.
DEFAULT_EVERY = {"moderngov": "6h", "cmis": "6h", "site": "24h", "page": "12h"}
FALLBACK_EVERY = "24h"
MIN_INTERVAL = 1.0  # seconds; anything shorter is a typo, not a schedule

_UNITS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
_INTERVAL = re.compile(r"^\s*(?:\d+(?:\.\d+)?\s*[wdhms]\s*)+$", re.IGNORECASE)
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([wdhms])", re.IGNORECASE)


class ScheduleError(ValueError):
    """A schedule string cannot be read: names the source and the string, and shows what would work."""


def _utc(when: dt.datetime) -> dt.datetime:
    return when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)


def parse_time(text: str | None) -> dt.datetime | None:
    """An ISO 8601 time from the state table, as an aware datetime (None for None or garbage)."""
    if not text:
        return None
    try:
        return _utc(dt.datetime.fromisoformat(text))
    except (TypeError, ValueError):
        return None


def iso(when: dt.datetime | None) -> str | None:
    return _utc(when).astimezone(dt.timezone.utc).isoformat(timespec="seconds") if when else None


@dataclass(frozen=True)
class Schedule:
    """A source's schedule: an interval in seconds, or a 5-field cron expression (in the server's time zone)."""

    text: str
    every: float | None = None
    cron: str | None = None
    default: bool = False  # True when the source set none and the kind's default applies

    def trigger(self, cron_jitter: float = 0.0) -> Any:
        """The APScheduler trigger (3.11): IntervalTrigger, or CronTrigger.from_crontab with a little jitter."""
        from apscheduler.triggers.cron import CronTrigger
        from apscheduler.triggers.interval import IntervalTrigger

        if self.every is not None:
            return IntervalTrigger(seconds=self.every, timezone=dt.timezone.utc)
        trigger = CronTrigger.from_crontab(self.cron)
        trigger.jitter = int(cron_jitter) or None
        return trigger

    def next_after(self, when: dt.datetime) -> dt.datetime:
        """The first due time strictly after `when`."""
        when = _utc(when)
        if self.every is not None:
            return when + dt.timedelta(seconds=self.every)
        from apscheduler.triggers.cron import CronTrigger

        trigger = CronTrigger.from_crontab(self.cron)
        after = when + dt.timedelta(seconds=1)
        return trigger.get_next_fire_time(None, after.astimezone(trigger.timezone)).astimezone(dt.timezone.utc)

    @property
    def period(self) -> float:
        """Seconds between two runs (for a cron expression: between its next two fire times, from now)."""
        if self.every is not None:
            return self.every
        first = self.next_after(dt.datetime.now(dt.timezone.utc))
        return (self.next_after(first) - first).total_seconds()


def parse_schedule(text: str, *, source: str = "?") -> Schedule:
    """'6h', '15m', '30s', '1h30m', '2d' or a cron expression such as '0 7 * * 1-5'. Raises ScheduleError."""
    if not isinstance(text, str) or not text.strip():
        raise ScheduleError(f"source {source!r}: schedule: empty; write an interval such as \"6h\" or a cron "
                            "expression such as \"0 7 * * 1-5\"")
    text = text.strip()
    if _INTERVAL.match(text):
        seconds = sum(float(n) * _UNITS[u.lower()] for n, u in _PART.findall(text))
        if seconds < MIN_INTERVAL:
            raise ScheduleError(f"source {source!r}: schedule {text!r}: shorter than {MIN_INTERVAL:g} s; "
                                "write e.g. \"30s\", \"15m\" or \"6h\"")
        return Schedule(text=text, every=seconds)
    if len(text.split()) == 5:
        from apscheduler.triggers.cron import CronTrigger

        fields = text.split()
        try:
            fields[4] = _crontab_weekdays(fields[4])
            expression = " ".join(fields)
            CronTrigger.from_crontab(expression)
        except ValueError as exc:
            raise ScheduleError(f"source {source!r}: schedule {text!r}: not a valid cron expression ({exc}); "
                                "the five fields are minute hour day month weekday, e.g. \"0 7 * * 1-5\"") from None
        return Schedule(text=text, cron=expression)
    raise ScheduleError(f"source {source!r}: schedule {text!r}: not an interval (\"6h\", \"15m\", \"30s\") nor a "
                        "5-field cron expression (\"0 7 * * 1-5\")")


_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def _day(token: str) -> int:
    if token.isdigit() and int(token) <= 7:
        return int(token)
    if token[:3] in _DAYS:
        return _DAYS.index(token[:3])
    raise ValueError(f"{token!r} is not a weekday (0-7 or sun-sat)")


def _crontab_weekdays(field: str) -> str:
    """A crontab weekday field (0 or 7 = Sunday) as day names: APScheduler 3 counts 0 as Monday, so "1-5" given
    to it as-is would mean Tuesday to Saturday."""
    if field == "*":
        return field
    days: set[int] = set()
    for item in field.lower().split(","):
        body, _, step_text = item.partition("/")
        step = int(step_text) if step_text.isdigit() and int(step_text) > 0 else None
        if step_text and step is None:
            raise ValueError(f"bad step in {item!r}")
        if body == "*":
            low, high = 0, 6
        elif "-" in body:
            first, last = body.split("-", 1)
            low, high = _day(first), _day(last)
        else:
            low = high = _day(body)
            if step:
                high = 6
        if high < low:
            raise ValueError(f"the range {body!r} runs backwards")
        days.update(d % 7 for d in range(low, high + 1, step or 1))
    return ",".join(_DAYS[d] for d in sorted(days))


def schedule_for(source: Any) -> Schedule:
    """The source's own schedule, else its kind's default (moderngov/cmis 6h, site 24h, page 12h)."""
    if getattr(source, "schedule", None):
        return parse_schedule(source.schedule, source=source.name)
    text = DEFAULT_EVERY.get(getattr(source, "kind", ""), FALLBACK_EVERY)
    return Schedule(text=text, every=parse_schedule(text).every, default=True)


def stable_fraction(name: str) -> float:
    """A number in [0, 1) that depends only on the source's name: the same spread on every start."""
    return int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "big") / 2**64


@dataclass
class SourceState:
    """What the daemon remembers about one source across restarts (kept in the archive's state table)."""

    schedule: str | None = None
    next_due: str | None = None
    last_started: str | None = None
    last_finished: str | None = None
    last_crawl_id: int | None = None
    last_ok: bool | None = None
    last_error: str | None = None
    in_flight: bool = False  # set when a crawl starts, cleared when it ends: still set after a kill
    failing_since: str | None = None
    runs: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Any) -> SourceState:
        if not isinstance(data, dict):
            return cls()
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def first_due(schedule: Schedule, name: str, state: SourceState | None, now: dt.datetime,
              spread: float) -> tuple[dt.datetime, str]:
    """When a source should first run after a (re)start, and why.

    A source not yet due keeps its due time. A source that is overdue, never crawled, or whose crawl was cut
    short by a kill runs soon, at a stable offset within `spread` seconds (never more than one period), so that
    a restart neither re-crawls everything at once nor skips what was due.
    """
    now = _utc(now)
    soon = now + dt.timedelta(seconds=stable_fraction(name) * max(0.0, min(spread, schedule.period)))
    if state is None or not state.last_started:
        return soon, "never crawled"
    if state.in_flight:
        return soon, "its last crawl was interrupted"
    due = parse_time(state.next_due) if state.schedule == schedule.text else None
    if due is None:
        last = parse_time(state.last_started)
        due = schedule.next_after(last) if last else now
    if due <= now:
        return soon, "overdue"
    return due, "scheduled"
