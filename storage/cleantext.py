"""Fetched text as it may be stored and shown: no C0/C1 control characters, nothing XML cannot carry.

A title taken from link text can hold `ESC[2J`, an OSC 8 link or an OSC 52 clipboard write (a terminal runs them),
or `&#xFFFF;` (lxml refuses the whole Atom feed). Titles, link text, event summaries and changes are cleaned as
they enter the archive; the outputs (command line, email, feeds) clean again, for archives written before.
"""

from __future__ import annotations

import re
from typing import Any

# C0 except tab and newline, CR, DEL, C1, lone surrogates, and U+FFFE/U+FFFF (not XML characters).
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def strip_controls(text: str) -> str:
    """`text` without control characters (tab and newline are kept) or characters XML 1.0 cannot carry."""
    return _CONTROLS.sub("", text) if text else text


def clean_line(text: str | None) -> str | None:
    """One line of fetched text (a title, link text): controls removed, runs of white space as one space."""
    if text is None:
        return None
    return " ".join(strip_controls(str(text)).split())


def clean_value(value: Any) -> Any:
    """Every string inside a JSON-like value (dicts, lists) with its control characters removed."""
    if isinstance(value, str):
        return strip_controls(value)
    if isinstance(value, dict):
        return {clean_value(k) if isinstance(k, str) else k: clean_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean_value(v) for v in value]
    return value
