"""What the HTTP and notification libraries log stays out of our output unless it is a warning, and never a secret.

apprise logs every request it makes at DEBUG (URLs with tokens, `Authorization: Bearer ...` headers, payloads);
urllib3 and requests log URLs. Their loggers do not propagate to ours: a handler of our own passes on only WARNING
and above, with secrets replaced by `…`, whatever level the application or apprise's LogCapture sets.
"""

from __future__ import annotations

import logging
import re

THIRD_PARTY_LOGGERS = ("apprise", "urllib3", "requests")

_URL = re.compile(r"\b([A-Za-z][A-Za-z0-9+.-]{1,15})://(?:[^\s/@'\"<>]*@)?([^\s/?#'\"<>]*)[^\s'\"<>]*")
_AUTH_HEADER = re.compile(r"(?i)([\"']?(?:proxy-)?authorization[\"']?\s*[:=]\s*[\"']?)[^\"',}\r\n]+")
_SCHEME_CREDENTIAL = re.compile(r"(?i)\b(bearer|basic|token|digest)\s+[A-Za-z0-9._~+/=-]{4,}")
_KEY_VALUE = re.compile(r"(?i)\b([\w-]*(?:token|key|secret|password|passwd|pwd|auth|signature|sig|hook)[\w-]*"
                        r"[\"']?\s*[=:]\s*[\"']?)([^&\s\"',}]+)")
_LONG_TOKEN = re.compile(r"\b(?=[A-Za-z0-9_-]*\d)(?=[A-Za-z0-9_-]*[A-Za-z])[A-Za-z0-9_-]{20,}\b")


def scrub_secrets(text: str) -> str:
    """`text` with URL paths and credentials, authorization headers, key=value secrets and long tokens as `…`."""
    text = _URL.sub(lambda m: f"{m.group(1)}://{m.group(2)}/…", str(text))
    text = _AUTH_HEADER.sub(lambda m: m.group(1) + "…", text)
    text = _SCHEME_CREDENTIAL.sub(lambda m: m.group(1) + " …", text)
    text = _KEY_VALUE.sub(lambda m: m.group(1) + "…", text)
    return _LONG_TOKEN.sub("…", text)


class _Forward(logging.Handler):
    """Passes a third-party warning on to our loggers, its message scrubbed."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = scrub_secrets(record.getMessage())
        except Exception:  # noqa: BLE001 - a record that cannot be formatted is dropped, not shown raw
            message = "(a log message that could not be formatted)"
        copy = logging.makeLogRecord({**record.__dict__, "msg": message, "args": None, "exc_info": None,
                                      "exc_text": None, "stack_info": None})
        logging.getLogger("stp_tracker.alerts").handle(copy)


_forward = _Forward()


def contain_third_party_logs() -> None:
    """Detach apprise's, urllib3's and requests' loggers from the root (idempotent): only scrubbed warnings pass."""
    for name in THIRD_PARTY_LOGGERS:
        logger = logging.getLogger(name)
        logger.propagate = False
        if _forward not in logger.handlers:
            logger.addHandler(_forward)
