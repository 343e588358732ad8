"""The alerts commands through typer's CliRunner on a real archive, SMTP server and webhook receiver."""

from __future__ import annotations

import json
import re

import feedparser
import pytest
from typer.testing import CliRunner

import alerts
from tracker.cli import app as root_app

try:
    from smtpserver import WebhookReceiver, add_event, body_text, free_port, smtp_server
except ImportError:  # tests/ imported as a package
    from tests.smtpserver import WebhookReceiver, add_event, body_text, free_port, smtp_server

COMMANDS = ["subscribe", "unsubscribe", "confirm", "subscriptions", "deliver", "deliveries", "feed", "test-alert"]
ALLOW_ENV = {"STP_TRACKER_ALLOW_PRIVATE_TARGETS": "1"}


@pytest.fixture
def cli(tmp_path):
    home = tmp_path / "home"
    runner = CliRunner()

    def run(*args, env=None):
        return runner.invoke(root_app, ["--home", str(home), *args], env={**ALLOW_ENV, **(env or {})})

    run.home = home
    return run


def test_every_command_has_help_with_an_example(cli):
    for command in COMMANDS:
        result = cli(command, "--help")
        assert result.exit_code == 0, result.output
        assert "Example" in result.output, command


@pytest.mark.parametrize("args, wanted", [
    (["subscribe", "campaign@example.org", "--kind", "revisd"], "choose from leaked, published, revised"),
    (["subscribe", "campaign@example.org", "--kind", "moved"], "choose from leaked"),  # recorded, never sent
    (["subscribe", "campaign@example.org", "--generation", "2019-fiveyear"], "2019-five-year"),
    (["feed", "--kind", "revisd"], "unknown event kind 'revisd'"),
    (["events", "--kind", "revisd"], "unknown event kind 'revisd'"),
    (["documents", "--kind", "plans"], "choose from plan, page, other"),
    (["search", "beds", "--generation", "2019-fiveyear"], "unknown generation '2019-fiveyear'"),
    (["search", "beds", "--kind", "plans"], "unknown document kind"),
])
def test_unknown_kinds_and_generations_are_refused_with_the_valid_ones(cli, args, wanted):
    result = cli(*args)
    assert result.exit_code != 0 and wanted in " ".join(result.output.split()), result.output
    from storage import Archive, Outbox

    if cli.home.exists():
        with Archive(cli.home, readonly=True) as archive:
            assert Outbox(archive).subscriptions() == []


def test_subscription_by_name_and_to_a_merged_icb_follows_its_successor(cli):
    from storage import Archive

    with WebhookReceiver() as receiver:
        named = cli("subscribe", receiver.url, "--footprint", "South Yorkshire and Bassetlaw")
        assert named.exit_code == 0, named.output
        old = cli("subscribe", receiver.url + "?old", "--footprint", "Bedfordshire, Luton and Milton Keynes")
        assert old.exit_code == 0, old.output
        subs = {s["id"]: s["footprints"] for s in json.loads(cli("subscriptions", "--json").stdout)}
        assert sorted(subs.values()) == [["QF7"], ["QHG", "S1Y5D"]]  # the code, and the 2026 successor
        with Archive(cli.home) as archive:
            add_event(archive, footprint="S1Y5D", title="Central East ICB Joint Forward Plan")
        assert cli("deliver").exit_code == 0
        assert len(receiver.requests) == 1  # the QHG subscription got the Central East event; QF7 did not
    unknown = cli("subscribe", "x@example.org", "--footprint", "XXX")
    assert unknown.exit_code == 2 and "unknown footprint 'XXX'" in unknown.output


def test_webhook_subscribe_deliver_list_and_unsubscribe(cli):
    from storage import Archive

    with WebhookReceiver() as receiver:
        result = cli("subscribe", receiver.url, "--footprint", "QF7", "--kind", "revised")
        assert result.exit_code == 0, result.output
        receiver.secret = re.search(r"^([A-Za-z0-9_-]{40,})$", result.stdout, re.M).group(1)
        subs = json.loads(cli("subscriptions", "--json").stdout)
        assert [(s["channel"], s["footprints"], s["status"]) for s in subs] == [("webhook", ["QF7"], "active")]
        assert "secret" not in subs[0] and "secret-path" not in subs[0]["address"]

        with Archive(cli.home) as archive:
            add_event(archive)
        result = cli("deliver")
        assert result.exit_code == 0, result.output
        assert "sent 1 message" in result.stdout
        assert len(receiver.requests) == 1 and receiver.requests[0]["signature_ok"]

        rows = json.loads(cli("deliveries", "--json").stdout)
        assert [(r["status"], r["attempts"]) for r in rows] == [("sent", 1)]
        assert json.loads(cli("deliveries", "--failed", "--json").stdout) == []
        assert "sent" in cli("deliveries").stdout

        result = cli("unsubscribe", receiver.url)
        assert result.exit_code == 0 and "Unsubscribed" in result.stdout
        assert json.loads(cli("subscriptions", "--json").stdout) == []
        assert cli("unsubscribe", receiver.url).exit_code == 1


def test_failures_are_shown_and_exit_nonzero(cli):
    result = cli("subscribe", f"http://127.0.0.1:{free_port()}/hook")
    assert result.exit_code == 0
    from storage import Archive

    with Archive(cli.home) as archive:
        add_event(archive)
    result = cli("deliver")
    assert result.exit_code == 1
    assert "failed" in result.stderr and "ConnectionError" in result.stderr
    [row] = json.loads(cli("deliveries", "--failed", "--json").stdout)
    assert row["attempts"] == 1 and "ConnectionError" in row["last_error"]


def test_refused_address_is_a_clear_error(cli):
    result = cli("subscribe", "http://169.254.169.254/latest/", env={"STP_TRACKER_ALLOW_PRIVATE_TARGETS": "0"})
    assert result.exit_code == 1
    assert "refused" in result.stderr and "STP_TRACKER_ALLOW_PRIVATE_TARGETS" in result.stderr
    result = cli("subscribe", "reader@example.org", "--digest", "hourly")
    assert result.exit_code == 1 and "daily or weekly" in result.stderr


def test_email_subscribe_confirm_and_test_alert(cli):
    with smtp_server() as smtp:
        env = {"STP_TRACKER_SMTP_HOST": "127.0.0.1", "STP_TRACKER_SMTP_PORT": str(smtp.port)}
        result = cli("subscribe", "reader@example.org", "--digest", "weekly", "--keyword", "beds", env=env)
        assert result.exit_code == 0, result.output
        assert "confirmation link was sent" in result.stdout
        token = re.search(r"stp-tracker confirm (\S+)", body_text(smtp.messages[0])).group(1)
        assert token not in result.output
        result = cli("confirm", token, env=env)
        assert result.exit_code == 0 and "Confirmed" in result.stdout
        assert cli("confirm", token, env=env).exit_code == 1

        result = cli("test-alert", "reader@example.org", env=env)
        assert result.exit_code == 0 and "OK" in result.stdout
        sample = smtp.messages[-1]
        assert "Sample plan" in sample["Subject"] and sample["List-Unsubscribe"]

    result = cli("test-alert", "reader@example.org", env=env)  # the server is gone
    assert result.exit_code == 1 and "SMTP server 127.0.0.1" in result.stderr
    result = cli("subscribe", "other@example.org")  # no SMTP configured at all
    assert result.exit_code == 1 and "no SMTP server configured" in result.stderr


def test_feed_to_stdout_and_file(cli, tmp_path):
    from storage import Archive

    with Archive(cli.home) as archive:
        event = add_event(archive)
    result = cli("feed", "--footprint", "QF7")
    assert result.exit_code == 0
    feed = feedparser.parse(result.stdout_bytes)
    assert feed.bozo == 0 and feed.entries[0].id == alerts.entry_id(event.id)
    out = tmp_path / "qf7.atom"
    assert cli("feed", "--output", str(out)).exit_code == 0
    assert feedparser.parse(out.read_bytes()).entries[0].id == alerts.entry_id(event.id)
