"""Schedules: what a schedule string means, each kind's default, and when a source first runs after a (re)start."""

from __future__ import annotations

import datetime as dt

import pytest

from crawler.sources import Source
from tracker.daemon.schedule import (
    ScheduleError,
    SourceState,
    first_due,
    iso,
    parse_schedule,
    schedule_for,
    stable_fraction,
)

NOW = dt.datetime(2026, 3, 2, 9, 0, 0, tzinfo=dt.timezone.utc)  # a Monday


@pytest.mark.parametrize("text, seconds", [("6h", 21600), ("15m", 900), ("30s", 30), ("1h30m", 5400),
                                           ("2d", 172800), ("1w", 604800), (" 12H ", 43200)])
def test_intervals(text, seconds):
    assert parse_schedule(text).every == seconds


def test_cron_expression_runs_at_its_times():
    schedule = parse_schedule("0 7 * * 1-5")
    assert schedule.text == "0 7 * * 1-5" and schedule.cron and schedule.every is None
    nxt = schedule.next_after(dt.datetime(2026, 3, 6, 12, 0, tzinfo=dt.timezone.utc))  # Friday noon
    local = nxt.astimezone(schedule.trigger().timezone)
    assert local.weekday() == 0 and local.hour == 7 and local.minute == 0  # next Monday 07:00


@pytest.mark.parametrize("bad", ["", "soon", "6x", "0s", "61 * * * *", "* * * *", "every 6h"])
def test_bad_schedules_name_the_source_and_the_fix(bad):
    with pytest.raises(ScheduleError) as info:
        parse_schedule(bad, source="kent-council")
    message = str(info.value)
    assert "kent-council" in message and ("6h" in message or "0 7 * * 1-5" in message or "30s" in message)


def test_defaults_per_kind_and_own_schedule_wins():
    assert schedule_for(Source("a", kind="site", start_urls=["https://x.nhs.uk/"])).every == 24 * 3600
    assert schedule_for(Source("b", kind="page", start_urls=["https://x.nhs.uk/"])).every == 12 * 3600
    council = Source("c", kind="page", start_urls=["https://x.gov.uk/"])
    object.__setattr__(council, "kind", "moderngov")
    assert schedule_for(council).every == 6 * 3600
    own = schedule_for(Source("d", kind="site", start_urls=["https://x.nhs.uk/"], schedule="15m"))
    assert own.every == 900 and not own.default


def test_stable_fraction_is_stable_and_spreads():
    names = [f"source-{i}" for i in range(200)]
    fractions = [stable_fraction(n) for n in names]
    assert fractions == [stable_fraction(n) for n in names]
    assert all(0 <= f < 1 for f in fractions)
    # Spread out: every tenth of the window gets some sources.
    assert len({int(f * 10) for f in fractions}) == 10


def test_a_never_crawled_source_runs_soon_within_the_spread():
    schedule = parse_schedule("6h")
    due, why = first_due(schedule, "x", None, NOW, spread=600)
    assert why == "never crawled" and NOW <= due <= NOW + dt.timedelta(seconds=600)
    # Never more than one period away, even with a long spread window.
    due, _ = first_due(parse_schedule("30s"), "x", None, NOW, spread=600)
    assert due <= NOW + dt.timedelta(seconds=30)


def test_a_source_not_yet_due_keeps_its_time():
    schedule = parse_schedule("6h")
    state = SourceState(schedule="6h", last_started=iso(NOW - dt.timedelta(hours=1)),
                        next_due=iso(NOW + dt.timedelta(hours=5)))
    due, why = first_due(schedule, "x", state, NOW, spread=600)
    assert why == "scheduled" and due == NOW + dt.timedelta(hours=5)


def test_an_overdue_source_runs_soon_not_at_its_old_time():
    schedule = parse_schedule("6h")
    state = SourceState(schedule="6h", last_started=iso(NOW - dt.timedelta(hours=30)),
                        next_due=iso(NOW - dt.timedelta(hours=24)))
    due, why = first_due(schedule, "x", state, NOW, spread=600)
    assert why == "overdue" and NOW <= due <= NOW + dt.timedelta(seconds=600)


def test_a_crawl_cut_short_by_a_kill_is_run_again():
    state = SourceState(schedule="6h", last_started=iso(NOW - dt.timedelta(minutes=2)),
                        next_due=iso(NOW + dt.timedelta(hours=6)), in_flight=True)
    _, why = first_due(parse_schedule("6h"), "x", state, NOW, spread=600)
    assert why == "its last crawl was interrupted"


def test_a_changed_schedule_counts_from_the_last_run():
    state = SourceState(schedule="24h", last_started=iso(NOW - dt.timedelta(hours=2)),
                        next_due=iso(NOW + dt.timedelta(hours=22)))
    due, why = first_due(parse_schedule("6h"), "x", state, NOW, spread=600)
    assert why == "scheduled" and due == NOW + dt.timedelta(hours=4)


def test_state_round_trips_and_ignores_unknown_keys():
    state = SourceState(schedule="6h", last_crawl_id=3, failing_since=iso(NOW))
    assert SourceState.from_json({**state.to_json(), "from_a_later_release": 1}) == state
    assert SourceState.from_json("garbage") == SourceState()


@pytest.mark.parametrize("expr, weekdays", [("0 7 * * 1-5", {0, 1, 2, 3, 4}), ("0 7 * * 0", {6}), ("0 7 * * 7", {6}),
                                            ("0 7 * * sat,sun", {5, 6}), ("0 7 * * */2", {6, 1, 3, 5})])
def test_cron_weekdays_mean_what_crontab_means(expr, weekdays):
    """APScheduler 3 counts weekday 0 as Monday; a crontab line counts it as Sunday, and that is what users write."""
    schedule = parse_schedule(expr)
    seen = set()
    moment = NOW
    for _ in range(14):
        moment = schedule.next_after(moment)
        seen.add(moment.astimezone(schedule.trigger().timezone).weekday())
    assert seen == weekdays
