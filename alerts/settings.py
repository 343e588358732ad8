"""How alerts are sent: the `[alerts]` table of `<home>/config.toml`, overridden by STP_TRACKER_* variables."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

DEFAULT_BASE_URL = "http://localhost:8000"
ENV_PREFIX = "STP_TRACKER_"


class AlertsConfigError(Exception):
    """The alerts configuration cannot be read: names the file or variable and the fix."""


def _truthy(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in {"1", "true", "yes", "on"}


@dataclass
class AlertSettings:
    """SMTP server, links and network policy for alerts. The password is never shown in a repr or a log."""

    smtp_host: str | None = None
    smtp_port: int | None = None  # default: 465 with smtp_ssl, else 587 with smtp_starttls, else 25
    smtp_from: str = "stp-tracker@localhost"
    smtp_user: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    smtp_starttls: bool = False
    smtp_ssl: bool = False
    smtp_timeout: float = 30.0
    base_url: str = DEFAULT_BASE_URL
    allow_private_targets: bool = False
    http_timeout: float = 15.0

    @property
    def port(self) -> int:
        if self.smtp_port:
            return self.smtp_port
        return 465 if self.smtp_ssl else 587 if self.smtp_starttls else 25

    @property
    def link_base(self) -> str:
        return self.base_url.rstrip("/")

    @classmethod
    def from_home(cls, home: str | os.PathLike[str] | None, environ: dict[str, str] | None = None) -> AlertSettings:
        """Read `[alerts]` from `<home>/config.toml` (if present), then apply STP_TRACKER_* overrides."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        path = Path(home) / "config.toml" if home is not None else None
        if path is not None and path.exists():
            try:
                table = tomllib.loads(path.read_text(encoding="utf-8")).get("alerts", {})
            except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as exc:
                raise AlertsConfigError(f"cannot read {path}: {exc}; fix the file or remove it") from None
            if not isinstance(table, dict):
                raise AlertsConfigError(f"{path}: [alerts] must be a table")
            values.update(table)
        names = {f.name for f in fields(cls)}
        for name in names:
            variable = ENV_PREFIX + name.upper()
            if env.get(variable, "") != "":
                values[name] = env[variable]
        unknown = set(values) - names
        if unknown:
            raise AlertsConfigError(
                f"{path}: unknown [alerts] settings {sorted(unknown)}; known: {sorted(names)}"
            )
        return cls._coerce(values, path)

    @classmethod
    def _coerce(cls, values: dict[str, Any], path: Path | None) -> AlertSettings:
        kwargs: dict[str, Any] = {}
        for name, value in values.items():
            try:
                if name in {"smtp_starttls", "smtp_ssl", "allow_private_targets"}:
                    kwargs[name] = _truthy(value)
                elif name == "smtp_port":
                    kwargs[name] = int(value)
                elif name in {"smtp_timeout", "http_timeout"}:
                    kwargs[name] = float(value)
                else:
                    kwargs[name] = None if value is None else str(value)
            except (TypeError, ValueError):
                raise AlertsConfigError(
                    f"alerts setting {name} = {value!r} is not valid (in {path or 'the environment'} "
                    f"or {ENV_PREFIX}{name.upper()})"
                ) from None
        settings = cls(**kwargs)
        if not settings.base_url.startswith(("http://", "https://")):
            raise AlertsConfigError(f"alerts base_url must start with http:// or https://, not {settings.base_url!r}")
        return settings
