"""The alerts commands of the CLI: subscribe, unsubscribe, confirm, subscriptions, deliver, deliveries, feed, test-alert."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.table import Table

from storage import ALERT_KINDS, EVENT_KINDS, GENERATIONS, Archive, ArchiveError
from tracker.cli.common import SafeConsole, footprint_code, get_home, one_of, subscription_footprints

# Markup off: addresses, titles and error messages contain square brackets that are not rich markup.
out = SafeConsole(highlight=False, soft_wrap=True, markup=False)
err = SafeConsole(stderr=True, highlight=False, soft_wrap=True, markup=False)


def _fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"error: {message}")
    return typer.Exit(code)


def _print_json(value: Any) -> None:
    typer.echo(json.dumps(value, ensure_ascii=False, indent=2, default=str))


app = typer.Typer()


@contextmanager


def opened() -> Iterator[tuple[Archive, alerts.AlertSettings]]:
    import alerts  # apprise and the channels: only the commands that use them pay for them

    from tracker import ConfigError, alert_settings

    home = get_home()
    try:
        settings = alert_settings(home)
        archive = Archive(home)
    except (ConfigError, ArchiveError) as exc:
        raise _fail(str(exc)) from None
    from tracker import copy_footprint_names

    copy_footprint_names(archive)  # alerts name each footprint from the archive's copy of the registry
    try:
        yield archive, settings
    finally:
        archive.close()


@app.command("subscribe")
def subscribe_command(
    address: Annotated[str, typer.Argument(help="Email address, webhook URL (https://...) or apprise URL.")],
    footprint: Annotated[Optional[list[str]], typer.Option("--footprint", help="A code (QF7) or any name the registry knows: STP, ICB, brand, council or place (repeatable); a merged ICB's old code follows its successor.")] = None,
    kind: Annotated[Optional[list[str]], typer.Option("--kind", help="Event kind: " + ", ".join(ALERT_KINDS) + " (repeatable).")] = None,
    generation: Annotated[Optional[list[str]], typer.Option("--generation", help=", ".join(GENERATIONS) + " (repeatable).")] = None,
    keyword: Annotated[Optional[list[str]], typer.Option("--keyword", help="Word matched in title, summary and changed text (repeatable).")] = None,
    digest: Annotated[Optional[str], typer.Option("--digest", help="Gather alerts into one message: daily or weekly.")] = None,
) -> None:
    """Subscribe an address to alerts. Email addresses get a confirmation link first (nothing else until confirmed).

    Example: stp-tracker subscribe campaign@example.org --footprint QF7 --kind revised --digest daily
    """
    import alerts  # apprise and the channels: only the commands that use them pay for them

    from tracker.cli.common import HeldLogs

    footprint = subscription_footprints(footprint)
    with opened() as (archive, settings), HeldLogs("stp_tracker.alerts") as held:
        try:
            result = alerts.subscribe(archive, settings, address, footprints=footprint, kinds=kind,
                                      generations=generation, keywords=keyword, digest=digest)
        except alerts.AddressError as exc:
            raise _fail(held.report(str(exc))) from None
        sub = result.subscription
        shown = alerts.channel_for(sub.address, settings).redact(sub.address)
        if not result.created and sub.status == "active":
            out.print(f"Already subscribed: {shown} (subscription {sub.id}, {sub.mode}).")
        else:
            out.print(f"Subscription {sub.id}: {shown} via {sub.channel}, {sub.mode}.")
        if sub.channel == "webhook" and result.secret:
            out.print("Signing secret for X-STP-Signature (keep it; HMAC-SHA256 over '<X-STP-Timestamp>.<body>'):")
            typer.echo(result.secret)
        if sub.status == "pending":
            if result.confirmation_sent:
                out.print(f"A confirmation link was sent to {shown}; nothing else is sent until it is opened.")
            else:
                raise _fail(held.report(result.error or "the confirmation email was not sent"))


@app.command("unsubscribe")
def unsubscribe_command(
    address_or_token: Annotated[str, typer.Argument(help="The subscribed address, or the token from an unsubscribe link.")],
) -> None:
    """Stop alerts to an address (every subscription of it), or to the one subscription an unsubscribe token names.

    Example: stp-tracker unsubscribe campaign@example.org
    """
    import alerts  # apprise and the channels: only the commands that use them pay for them
    with opened() as (archive, settings):
        try:
            ended = alerts.unsubscribe(archive, address_or_token, settings)
        except alerts.AddressError as exc:
            raise _fail(str(exc)) from None
        for sub in ended:
            out.print(f"Unsubscribed: subscription {sub.id} ({sub.public()['address']}); nothing more will be sent.")


@app.command("confirm")
def confirm_command(token: Annotated[str, typer.Argument(help="The token from the confirmation email.")]) -> None:
    """Confirm an email subscription with the token from its confirmation email.

    Example: stp-tracker confirm 3q2-8aYkR0...
    """
    import alerts  # apprise and the channels: only the commands that use them pay for them
    with opened() as (archive, _settings):
        try:
            sub = alerts.confirm(archive, token)
        except alerts.AddressError as exc:
            raise _fail(str(exc)) from None
        out.print(f"Confirmed: subscription {sub.id} ({sub.address}) will now receive alerts ({sub.mode}).")


@app.command("subscriptions")
def subscriptions_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON array and nothing else.")] = False,
    include_all: Annotated[bool, typer.Option("--all", help="Include ended subscriptions.")] = False,
) -> None:
    """List subscriptions with their filters, what they are still owed and the health of their channel.

    Example: stp-tracker subscriptions --json
    """
    import alerts  # apprise and the channels: only the commands that use them pay for them
    with opened() as (archive, _settings):
        subs = [s for s in alerts.subscriptions(archive) if include_all or s.status != "unsubscribed"]
        rows = [s.public() for s in subs]
    if as_json:
        _print_json(rows)
        return
    if not rows:
        out.print("No subscriptions. Add one with: stp-tracker subscribe ADDRESS")
        return
    table = Table("id", "address", "channel", "mode", "status", "filters", "owed", "health")
    for row in rows:
        filters = "; ".join(f"{k}: {', '.join(row[k])}" for k in ("footprints", "kinds", "generations", "keywords")
                            if row[k]) or "everything"
        health = ("ok" if not row["consecutive_failures"] else
                  f"{row['consecutive_failures']} failures since {row['failing_since']}: {row['last_error']}")
        table.add_row(str(row["id"]), row["address"], row["channel"], row["mode"], row["status"], filters,
                      str(row["pending"]), health)
    out.print(table)


@app.command("deliver")
def deliver_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Send every alert that is due now (new events are matched first); exit 1 if any send failed.

    Failed messages are kept and retried later with backoff. Example: stp-tracker deliver
    """
    import alerts  # apprise and the channels: only the commands that use them pay for them
    with opened() as (archive, settings):
        report = alerts.deliver_pending(archive, settings)
    if as_json:
        _print_json(report.as_dict())
    else:
        out.print(f"Enqueued {report.enqueued}; sent {report.messages_sent} message(s) covering "
                  f"{report.events_sent} event(s); {len(report.failures)} failed.")
        if report.interrupted:
            out.print(f"{report.interrupted} delivery(ies) interrupted by an earlier crash were sent again.")
        for failure in report.failures:
            err.print(f"failed: {failure.address} (subscription {failure.subscription_id}, attempt "
                      f"{failure.attempts}, retry at {failure.next_attempt_at}): {failure.error}")
        for failing in report.failing:
            err.print(f"channel failing: {failing.address} (subscription {failing.subscription_id}) has failed "
                      f"{failing.consecutive_failures} times since {failing.failing_since}; "
                      f"{failing.pending} message(s) kept until it recovers")
    if not report.ok:
        raise typer.Exit(1)


@app.command("deliveries")
def deliveries_command(
    failed: Annotated[bool, typer.Option("--failed", help="Only messages still owed after a failed attempt.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON array and nothing else.")] = False,
    limit: Annotated[int, typer.Option("--limit", help="At most this many, newest first.")] = 100,
) -> None:
    """List the outbox: each (event, subscription) delivery with its status, attempts and last error.

    Example: stp-tracker deliveries --failed
    """
    import alerts  # apprise and the channels: only the commands that use them pay for them
    with opened() as (archive, _settings):
        rows = alerts.deliveries(archive, failed=failed, limit=limit)
    if as_json:
        _print_json(rows)
        return
    if not rows:
        out.print("No failed deliveries." if failed else "No deliveries yet.")
        return
    table = Table("id", "event", "to", "status", "attempts", "next attempt", "sent", "last error")
    for row in rows:
        table.add_row(str(row["id"]), str(row["event_id"]), row["address"],
                      row["status"] + (f" ({row['digest_key']})" if row["digest_key"] else ""),
                      str(row["attempts"]), row["next_attempt_at"] if row["status"] == "pending" else "",
                      row["sent_at"] or "", row["last_error"] or "")
    out.print(table)


@app.command("feed")
def feed_command(
    footprint: Annotated[Optional[str], typer.Option("--footprint", help="Only this footprint: a code (QF7) or any name the registry knows: STP, ICB, brand, council or place.")] = None,
    kind: Annotated[Optional[str], typer.Option("--kind", help="Only this event kind.",
                                                callback=one_of("event kind", EVENT_KINDS))] = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write to this file instead of stdout.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="Newest events to include.")] = 200,
) -> None:
    """Write an Atom feed of events (to stdout, or a file with --output).

    Example: stp-tracker feed --footprint QF7 --output qf7.atom
    """
    import alerts  # apprise and the channels: only the commands that use them pay for them

    footprint = footprint_code(footprint)
    with opened() as (archive, settings):
        try:
            size = alerts.write_feed(archive, output, footprint=footprint, kind=kind,
                                     base_url=settings.base_url, limit=limit)
        except OSError as exc:
            raise _fail(f"cannot write the feed to {output}: {exc.strerror or exc}") from None
    if output is not None:
        out.print(f"Wrote {output} ({size} bytes).")


@app.command("test-alert")
def test_alert_command(
    address: Annotated[str, typer.Argument(help="Email address, webhook URL or apprise URL to try.")],
) -> None:
    """Send a sample alert through the channel for ADDRESS and say whether it worked, and why not.

    Example: stp-tracker test-alert "ntfys://my-topic"
    """
    import alerts  # apprise and the channels: only the commands that use them pay for them
    with opened() as (archive, settings):
        result = alerts.send_test_alert(settings, address, archive)
    if result.ok:
        out.print(f"OK: a sample alert was sent to {result.address} via {result.channel}.")
    else:
        raise _fail(f"test alert to {result.address} via {result.channel or 'no channel'} failed: {result.error}")
