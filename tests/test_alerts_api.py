"""The alerts package's public surface, its settings, and how subscriptions match events."""

from __future__ import annotations

import pytest

import alerts
from alerts.subscriptions import Subscription
from tracker import ConfigError, alert_settings


def test_public_api_is_exactly_all():
    public = {name for name in vars(alerts) if not name.startswith("_")} - {
        "channels", "delivery", "feeds", "logsafety", "netguard", "render", "settings", "signing", "subscriptions"}
    assert set(alerts.__all__) == public | {"subscriptions"}
    for name in alerts.__all__:
        assert getattr(alerts, name) is not None


def test_settings_from_config_and_environment(tmp_path):
    (tmp_path / "config.toml").write_text(
        '[alerts]\nsmtp_host = "mail.example.org"\nsmtp_starttls = true\nsmtp_user = "u"\n'
        'smtp_password = "hunter2"\nbase_url = "https://tracker.example.org/"\n', encoding="utf-8")
    settings = alert_settings(tmp_path, environ={})
    assert (settings.smtp_host, settings.port, settings.smtp_starttls) == ("mail.example.org", 587, True)
    assert settings.link_base == "https://tracker.example.org"
    assert "hunter2" not in repr(settings)
    overridden = alert_settings(tmp_path, environ={
        "STP_TRACKER_SMTP_HOST": "127.0.0.1", "STP_TRACKER_SMTP_PORT": "2525",
        "STP_TRACKER_ALLOW_PRIVATE_TARGETS": "1"})
    assert (overridden.smtp_host, overridden.port, overridden.allow_private_targets) == ("127.0.0.1", 2525, True)
    assert alert_settings(tmp_path / "nowhere", environ={}).base_url == "http://localhost:8000"


@pytest.mark.parametrize("text, message", [
    ("[alerts]\nsmtp_port = 'x'\n", "smtp_port"),
    ("[alerts]\nsmtp_hots = 'x'\n", "unknown"),
    ("[alerts\n", "not valid TOML"),
    ("[alerts]\nsmtp_port = 'not-a-port'\n", "smtp_port: expected a whole number"),
    ("[alerts]\nsmtp_port = 70000\n", "smtp_port: must be a port number"),
    ("[alerts]\nsmtp_starttls = 'yes'\n", "smtp_starttls: expected true or false"),
    ("[alerts]\nbase_url = 'ftp://x'\n", "base_url"),
])
def test_bad_settings_name_the_problem(tmp_path, text, message):
    (tmp_path / "config.toml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        alert_settings(tmp_path, environ={})


EVENT = {
    "kind": "revised", "generation": "2016-stp", "footprint": {"code": "QF7", "name": "SYB"},
    "document": {"id": 1, "title": "Sustainability and Transformation Plan"},
    "summary": "Acute bed reduction changed from 180 to 320",
    "changes": {"added": ["The Hospital Services Review recommends closures"], "removed": [{"text": "Maternity unit"}]},
}


@pytest.mark.parametrize("filters, expected", [
    ({}, True),
    ({"footprints": ["qf7"]}, True),
    ({"footprints": ["QE1"]}, False),
    ({"kinds": ["published", "revised"]}, True),
    ({"kinds": ["withdrawn"]}, False),
    ({"generations": ["2016-STP"]}, True),
    ({"generations": ["2022-joint-forward-plan"]}, False),
    ({"keywords": ["HOSPITAL SERVICES"]}, True),   # added text
    ({"keywords": ["maternity"]}, True),           # removed text
    ({"keywords": ["transformation"]}, True),      # title
    ({"keywords": ["parking"]}, False),
    ({"footprints": ["QF7"], "keywords": ["parking"]}, False),
])
def test_subscription_filters(filters, expected):
    sub = Subscription(id=1, address="a@example.org", channel="email", mode="immediate", status="active", **filters)
    assert sub.matches(EVENT) is expected


def test_backoff_and_digest_periods():
    import datetime as dt

    from alerts.delivery import backoff, digest_period

    assert [backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [60, 120, 240, 480]
    assert backoff(50) == dt.timedelta(hours=6)
    sunday = dt.datetime(2026, 5, 10, 23, 0, tzinfo=dt.timezone.utc)
    assert digest_period("daily", sunday) == ("2026-05-10", dt.datetime(2026, 5, 11, tzinfo=dt.timezone.utc))
    assert digest_period("weekly", sunday) == ("2026-W19", dt.datetime(2026, 5, 11, tzinfo=dt.timezone.utc))
