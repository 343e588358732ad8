"""The operator's configuration: `<home>/config.toml`, one table per area, all read by one loader.

Each table is a settings dataclass whose fields are its settings: `settings_table` fills one from its table (and
from STP_TRACKER_* variables where the table has them), converting each value to the field's type and calling the
class's `check()`. `check_config` reads every table, so `stp-tracker run` refuses a bad value in any of them
before it starts, with one line naming the file, table and setting. Tables: [crawl.scrapy], [daemon], [alerts],
[backfill], [preserve]; a table of another name is refused (a typo would otherwise be ignored).
"""

from __future__ import annotations

import os
import tomllib
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

CONFIG_NAME = "config.toml"
ENV_PREFIX = "STP_TRACKER_"
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


class ConfigError(Exception):
    """config.toml (or an STP_TRACKER_* variable) cannot be used: names the file, table and setting."""


def load_config(home: Path) -> dict[str, Any]:
    """The whole config file as a dict ({} when there is none)."""
    path = Path(home) / CONFIG_NAME
    if not path.exists():
        return {}
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read: {exc.strerror or exc}") from None


def crawl_overrides(home: Path) -> dict[str, Any]:
    """Scrapy settings the operator set under [crawl.scrapy] (e.g. DOWNLOAD_TIMEOUT = 10), passed through as-is."""
    section = load_config(home).get("crawl", {})
    if not isinstance(section, dict) or set(section) - {"scrapy"}:
        raise ConfigError(f"{Path(home) / CONFIG_NAME}: [crawl] holds only [crawl.scrapy], a table of Scrapy settings")
    scrapy = section.get("scrapy", {})
    if not isinstance(scrapy, dict):
        raise ConfigError(f"{Path(home) / CONFIG_NAME}: [crawl.scrapy] must be a table of Scrapy settings")
    return dict(scrapy)


def _kind(hint: Any) -> str:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return _kind(next(a for a in typing.get_args(hint) if a is not type(None)))
    if origin is list:
        return "a list of text"
    if origin is dict or hint is dict:
        return "a table"
    return {bool: "true or false", int: "a whole number", float: "a number", str: "text"}.get(hint, str(hint))


def _convert(value: Any, hint: Any, from_env: bool) -> Any:
    """`value` as type `hint` (bool, int, float, str, list[str], dict, or one of them | None); ValueError if not."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        hint = next(a for a in typing.get_args(hint) if a is not type(None))
        origin = typing.get_origin(hint)
    if hint is bool:
        if isinstance(value, bool):
            return value
        if from_env and str(value).strip().lower() in _TRUE | _FALSE:
            return str(value).strip().lower() in _TRUE
    elif hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lstrip("+-").isdigit():
            return int(value)
    elif hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
    elif hint is str:
        if isinstance(value, str):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
    elif origin is list:
        if from_env and isinstance(value, str):
            return [v.strip() for v in value.split(",") if v.strip()]
        if isinstance(value, list) and all(isinstance(v, (str, int, float)) for v in value):
            return [str(v) for v in value]
    elif origin is dict or hint is dict:
        if isinstance(value, dict):
            return dict(value)
    raise ValueError(_kind(hint))


def settings_table(cls: type[T], home: Path | None, table: str, *, env: Mapping[str, str] | None = None,
                   environ: Mapping[str, str] | None = None) -> tuple[T, str]:
    """A settings dataclass filled from config.toml's [table], then from the variables in `env` (setting -> name
    of an environment variable) that are set, each value converted to its field's type; then `cls.check()` if
    it has one (a ValueError there names the problem). Returns it and where it came from (for messages).

    An unknown setting or a value of the wrong kind is a ConfigError naming the file (or variable), table and
    setting; the value itself is never repeated (it may be a secret). A field with `metadata={"setting": False}`
    is not read from the table."""
    where = f"{Path(home) / CONFIG_NAME}" if home is not None else "the environment"
    section = load_config(home).get(table, {}) if home is not None else {}
    if not isinstance(section, dict):
        raise ConfigError(f"{where}: [{table}] must be a table")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in fields(cls) if f.metadata.get("setting", True)]  # type: ignore[arg-type]
    config = cls()
    values: list[tuple[str, Any, str | None]] = [(name, value, None) for name, value in section.items()]
    environ = os.environ if environ is None else environ
    values += [(name, environ[variable], variable) for name, variable in (env or {}).items()
               if environ.get(variable, "") != ""]
    for name, value, variable in values:
        if name not in names:
            raise ConfigError(f"{where}: [{table}] {name}: unknown setting; known: {', '.join(sorted(names))}")
        try:
            setattr(config, name, _convert(value, hints[name], from_env=variable is not None))
        except ValueError as exc:
            source = f"{variable} (for [{table}] {name})" if variable else f"{where}: [{table}] {name}"
            raise ConfigError(f"{source}: expected {exc}") from None
    check: Callable[[], None] | None = getattr(config, "check", None)
    if check is not None:
        try:
            check()
        except ValueError as exc:
            raise ConfigError(f"{where}: [{table}] {exc}") from None
    return config, where


def env_names(cls: type, prefix: str = ENV_PREFIX) -> dict[str, str]:
    """Every setting of `cls` overridable as PREFIX + its name in capitals (smtp_host: STP_TRACKER_SMTP_HOST)."""
    return {f.name: prefix + f.name.upper() for f in fields(cls)}


def alert_settings(home: Path | None, environ: Mapping[str, str] | None = None) -> Any:
    """alerts.AlertSettings from [alerts], every setting overridable as STP_TRACKER_<NAME>."""
    from alerts import AlertSettings

    return settings_table(AlertSettings, home, "alerts", env=env_names(AlertSettings), environ=environ)[0]


def _loaders() -> dict[str, Callable[[Path], Any]]:
    """Every table of config.toml and what reads it (the application's rooms own their settings classes)."""
    from tracker.daemon import DaemonSettings
    from tracker.webarchives import BackfillConfig, PreserveConfig

    return {"crawl": crawl_overrides, "daemon": DaemonSettings.load, "alerts": alert_settings,
            "backfill": BackfillConfig.load, "preserve": PreserveConfig.load}


def check_config(home: Path) -> dict[str, Any]:
    """Read every table of config.toml (and the variables that override them): each table's settings by name, or
    the first ConfigError. `stp-tracker run` calls it before it starts, so nothing runs on a half-read file."""
    loaders = _loaders()
    unknown = sorted(set(load_config(home)) - set(loaders))
    if unknown:
        raise ConfigError(f"{Path(home) / CONFIG_NAME}: no table [{unknown[0]}]; the tables are "
                          + ", ".join(f"[{name}]" for name in loaders))
    return {name: load(home) for name, load in loaders.items()}
