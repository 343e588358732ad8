"""The daemon's settings ([daemon] in config.toml) and the sources it crawls."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tracker.daemon.errors import DaemonError

log = logging.getLogger("stp_tracker.daemon")

@dataclass
class DaemonSettings:
    """How the daemon paces itself: the `[daemon]` table of `<home>/config.toml` (seconds unless said)."""

    gather_seconds: float = 2.0  # sources falling due within this window share one crawl run
    max_batch: int = 20  # at most this many sources in one crawl run
    max_parallel_crawls: int = 2  # crawl runs at once (each is polite per domain on its own)
    startup_spread_seconds: float = 600.0  # overdue sources at start run within this window, spread out
    heartbeat_seconds: float = 5.0
    delivery_every_seconds: float = 60.0  # retries and digests of the alert outbox
    stop_timeout_seconds: float = 8.0  # on SIGTERM, wait this long for in-flight work (systemd waits 90 s)
    cron_jitter_seconds: float = 120.0
    pool_idle_seconds: float = 300.0  # extraction workers (~70 MB each) are let go after this long unused
    scrapy: dict[str, Any] = field(default_factory=dict)  # Scrapy settings ([crawl.scrapy])

    @classmethod
    def from_home(cls, home: Path) -> DaemonSettings:
        from tracker import ConfigError, crawl_overrides, load_config

        try:
            section = load_config(home).get("daemon", {})
            scrapy = crawl_overrides(home)
        except ConfigError as exc:
            raise DaemonError(str(exc)) from None
        if not isinstance(section, dict):
            raise DaemonError(f"{home / 'config.toml'}: [daemon] must be a table")
        settings = cls(scrapy=scrapy)
        for key, value in section.items():
            current = getattr(settings, key, None)
            if key == "scrapy" or current is None:
                known = ", ".join(k for k in cls.__dataclass_fields__ if k != "scrapy")
                raise DaemonError(f"{home / 'config.toml'}: [daemon] {key}: unknown setting; known: {known}")
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise DaemonError(f"{home / 'config.toml'}: [daemon] {key}: must be a number >= 0, not {value!r}")
            setattr(settings, key, type(current)(value))
        settings.max_batch = max(1, settings.max_batch)
        settings.max_parallel_crawls = max(1, settings.max_parallel_crawls)
        return settings


def load_daemon_sources(home: Path, sources_file: Path | None = None) -> list[Any]:
    """`--sources FILE` alone; else the built-in registry plus `<home>/sources.toml` (same name: theirs wins)."""
    from crawler import SourceError, load_sources, sources_from_dicts

    try:
        if sources_file is not None:
            return load_sources(sources_file)
        import crawler.spiders  # noqa: F401  (registers every source kind before the registry is checked)
        from crawler.registry import default_sources

        merged = {s.name: s for s in sources_from_dicts(default_sources(), origin="<built-in registry>")}
        own = Path(home) / "sources.toml"
        if own.exists():
            for source in load_sources(own):
                merged[source.name] = source
        return list(merged.values())
    except SourceError as exc:
        raise DaemonError(str(exc)) from None
