"""The operator's configuration: `<home>/config.toml`, one table per area ([crawl], [events], [alerts], ...)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

CONFIG_NAME = "config.toml"


class ConfigError(Exception):
    """config.toml cannot be read: names the file and the problem."""


def load_config(home: Path) -> dict[str, Any]:
    """The whole config file as a dict ({} when there is none)."""
    path = Path(home) / CONFIG_NAME
    if not path.exists():
        return {}
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def crawl_overrides(home: Path) -> dict[str, Any]:
    """Scrapy settings the operator set under [crawl.scrapy] (e.g. DOWNLOAD_TIMEOUT = 10), passed through as-is."""
    section = load_config(home).get("crawl", {})
    scrapy = section.get("scrapy", {})
    if not isinstance(scrapy, dict):
        raise ConfigError(f"{Path(home) / CONFIG_NAME}: [crawl.scrapy] must be a table of Scrapy settings")
    return dict(scrapy)
