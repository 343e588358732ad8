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
    stop_timeout_seconds: float = 8.0  # on SIGTERM, wait this long for in-flight work (the unit allows 30 s)
    cron_jitter_seconds: float = 120.0
    pool_idle_seconds: float = 300.0  # extraction workers (~70 MB each) are let go after this long unused
    scrapy: dict[str, Any] = field(default_factory=dict, metadata={"setting": False})  # from [crawl.scrapy]

    def check(self) -> None:
        for name, value in vars(self).items():
            if name != "scrapy" and value < 0:
                raise ValueError(f"{name}: must be a number >= 0")
        self.max_batch = max(1, self.max_batch)
        self.max_parallel_crawls = max(1, self.max_parallel_crawls)

    @classmethod
    def load(cls, home: Path) -> DaemonSettings:
        """[daemon] and [crawl.scrapy] of `<home>/config.toml`; ConfigError naming a bad setting."""
        from tracker import crawl_overrides, settings_table

        settings, _ = settings_table(cls, home, "daemon")
        settings.scrapy = crawl_overrides(home)
        return settings

    @classmethod
    def from_home(cls, home: Path) -> DaemonSettings:
        """As `load`, with a bad setting as a DaemonError (the daemon's one-line refusal to start)."""
        from tracker import ConfigError

        try:
            return cls.load(home)
        except ConfigError as exc:
            raise DaemonError(str(exc)) from None


def load_daemon_sources(home: Path, sources_file: Path | None = None) -> list[Any]:
    """`--sources FILE` alone; else the built-in registry plus `<home>/sources.toml` (same name: theirs wins)."""
    from crawler import SourceError, load_sources, sources_from_dicts

    try:
        if sources_file is not None:
            return load_sources(sources_file)
        from crawler.registry import default_sources

        merged = {s.name: s for s in sources_from_dicts(default_sources(), origin="<built-in registry>")}
        own = Path(home) / "sources.toml"
        if own.exists():
            for source in load_sources(own):
                merged[source.name] = source
        return list(merged.values())
    except SourceError as exc:
        raise DaemonError(str(exc)) from None
