"""How alerts are sent: the `[alerts]` table of `<home>/config.toml`, overridden by STP_TRACKER_* variables.

The table is read by the application's one settings loader (`tracker.config.alert_settings`): alerts imports only
storage, so this module holds the settings and their rules (`check`), not the reading of config.toml."""

from __future__ import annotations

from dataclasses import dataclass, field

DEFAULT_BASE_URL = "http://localhost:8000"


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

    def check(self) -> None:
        """ValueError naming a setting that cannot work (called by the settings loader, tracker.config)."""
        if self.smtp_port is not None and not 0 < self.smtp_port < 65536:
            raise ValueError("smtp_port: must be a port number, 1 to 65535")
        if not self.base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url: must start with http:// or https://, not {self.base_url[:60]!r}")
        for name in ("smtp_timeout", "http_timeout"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name}: must be a number of seconds > 0")
