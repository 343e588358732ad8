"""The operator's configuration: `<home>/config.toml`, one table per area ([crawl], [events], [alerts], ...)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

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


def settings_table(cls: type[T], home: Path | None, table: str) -> tuple[T, str]:
    """A settings dataclass filled from config.toml's [table], each value converted to its default's type, and
    where it came from (for messages). An unknown name or a value of the wrong kind is a ConfigError naming the
    file, table and setting; the value itself is not repeated (it may be a secret)."""
    where = f"{Path(home) / CONFIG_NAME}" if home is not None else "the environment"
    section = load_config(home).get(table, {}) if home is not None else {}
    if not isinstance(section, dict):
        raise ConfigError(f"{where}: [{table}] must be a table")
    config = cls()
    fields = getattr(cls, "__dataclass_fields__")
    for name, value in section.items():
        if name not in fields:
            raise ConfigError(f"{where}: [{table}] has no setting {name!r} (known: {', '.join(sorted(fields))})")
        default = getattr(config, name)
        try:
            if isinstance(default, list):
                if not isinstance(value, list):
                    raise TypeError
                value = [str(v) for v in value]
            elif isinstance(default, bool):
                if not isinstance(value, bool):
                    raise TypeError
            elif isinstance(default, (int, float)):
                value = type(default)(value)
            else:  # text, or None for text settings unset by default
                value = str(value)
        except (TypeError, ValueError):
            kind = "a list" if isinstance(default, list) else ("text" if default is None else type(default).__name__)
            raise ConfigError(f"{where}: [{table}] {name}: expected {kind}") from None
        setattr(config, name, value)
    return config, where
