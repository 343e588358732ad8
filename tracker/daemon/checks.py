"""Start-up checks of the daemon: what would quietly go wrong later (no contact, no mail server, a missing tool)."""

from __future__ import annotations

import logging
import os
import shutil
import socket
import threading
from typing import Any

from tracker.daemon.logs import note

CONTACT_ENV = "STP_TRACKER_CONTACT"
SMTP_CHECK_SECONDS = 5.0
# Commands the daemon does without, with less: (variable naming another path, command, what it is for).
OPTIONAL_TOOLS = (
    ("STP_TRACKER_TESSERACT", "tesseract", "reading scanned PDFs: apt-get install tesseract-ocr"),
    (None, "sqlite3", "backups while it runs: sqlite3 archive.db \".backup FILE\" (README)"),
)


def startup_warnings(alert_settings: Any = None, *, environ: dict[str, str] | None = None) -> list[str]:
    """Log a warning for each thing to fix (and return them); the SMTP host is tried in the background, so that a
    dead network or DNS never delays the start."""
    env = os.environ if environ is None else environ
    said: list[str] = []
    if not (env.get(CONTACT_ENV) or "").strip():
        said.append(f"{CONTACT_ENV} is not set: the User-Agent says 'no contact configured', and webmasters cannot "
                    f"reach you; set it to an address or URL (Environment= in the systemd unit)")
    missing = [f"{t['tool']} ({t['for']})" for t in optional_tools(env) if not t["installed"]]
    if missing:
        said.append("optional tools not installed: " + "; ".join(missing))
    for message in said:
        note(message, logging.WARNING)
    host = getattr(alert_settings, "smtp_host", None)
    if host:
        port = getattr(alert_settings, "port", None) or 25
        threading.Thread(target=_check_smtp, args=(host, int(port)), name="stp-smtp-check", daemon=True).start()
    return said


def optional_tools(environ: Any = None) -> list[dict[str, Any]]:
    """Each optional command: whether it is installed (a PATH lookup, no process started), where, what it is for
    and how to install it. `status` shows it; the daemon warns of a missing one at start."""
    env = os.environ if environ is None else environ
    found = []
    for variable, tool, why in OPTIONAL_TOOLS:
        path = shutil.which((env.get(variable) if variable else None) or tool)
        found.append({"tool": tool, "installed": path is not None, "path": path, "for": why})
    return found


def smtp_problem(host: str, port: int, timeout: float = SMTP_CHECK_SECONDS) -> str | None:
    """Why the SMTP server cannot be reached (a TCP connection, nothing sent), or None."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except socket.gaierror as exc:
        return f"cannot resolve {host}: {exc.strerror or exc}"
    except OSError as exc:
        return f"cannot connect to {host}:{port}: {exc.strerror or exc}"


def _check_smtp(host: str, port: int) -> None:
    problem = smtp_problem(host, port)
    if problem:
        note(f"SMTP server unreachable: email alerts wait in the outbox until it answers ({problem}); check "
             "smtp_host and smtp_port in [alerts] of config.toml", logging.WARNING)
