"""The daemon's logs: one line per event that matters, as text or JSON."""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from typing import Any

from tracker.daemon.errors import DaemonError

log = logging.getLogger("stp_tracker.daemon")

def note(message: str, level: int = logging.INFO, **fields: Any) -> None:
    """Log one event with key=value fields (kept as fields in `--log-format json`)."""
    log.log(level, message, extra={"fields": fields})


def _text_value(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        value = ",".join(str(v) for v in value)
    text = str(value)
    return json.dumps(text, ensure_ascii=False) if (not text or any(c in text for c in ' "=\n')) else text


class TextFormatter(logging.Formatter):
    """`2026-01-31T07:00:01Z INFO daemon: crawl finished crawl=12 pages=40`."""

    def format(self, record: logging.LogRecord) -> str:
        when = dt.datetime.fromtimestamp(record.created, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        name = record.name.removeprefix("stp_tracker.")
        line = f"{when} {record.levelname} {name}: {record.getMessage()}"
        fields = getattr(record, "fields", None) or {}
        if fields:
            line += " " + " ".join(f"{k}={_text_value(v)}" for k, v in fields.items() if v is not None)
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the event's fields."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in (getattr(record, "fields", None) or {}).items():
            data.setdefault(key, value)
        for key, value in (getattr(record, "data", None) or {}).items():  # fields of a line the message spells out
            data.setdefault(key, value)
        if record.exc_info:
            data["traceback"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False, default=str)


def configure_logging(fmt: str = "text", verbose: bool = False) -> None:
    """Daemon logs to stderr (journald picks them up); Scrapy and APScheduler only say warnings unless verbose."""
    if fmt not in ("text", "json"):
        raise DaemonError(f"unknown log format {fmt!r}: use text or json")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
    quiet = logging.INFO if verbose else logging.WARNING
    for name in ("scrapy", "twisted", "apscheduler", "py.warnings", "trafilatura", "htmldate", "pypdf"):
        logging.getLogger(name).setLevel(quiet)
    for name in ("stp_tracker.analyse", "stp_tracker.events"):  # the daemon logs their outcome itself
        logging.getLogger(name).setLevel(logging.INFO if verbose else logging.WARNING)
