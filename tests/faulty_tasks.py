"""Extraction-pool tasks that misbehave on request, for tests of ExtractionPool under fault.

A module of its own, light to import: every fresh worker process imports it before its first job.
"""

from __future__ import annotations

import os
import signal
import time

from storage import Extraction
from tracker.workers import _extract_blob


def faulty_task(blob_root: str, sha256: str, content_type: str | None, url: str | None,
                css_selector: str | None) -> Extraction:
    """The real extraction, unless the URL's last segment says to misbehave: "hang", "die" (SIGKILL, as the
    OOM killer would), "eat" (allocate without end), "limit" (report the worker's address-space cap) or
    "slow" (the real extraction, two seconds late: a job surely in flight beside another)."""
    what = (url or "").rsplit("/", 1)[-1]
    if what == "hang":
        time.sleep(3600)
    elif what == "die":
        os.kill(os.getpid(), signal.SIGKILL)
    elif what == "eat":
        # 64 GiB of zeroed, untouched address space: harmless without a cap, MemoryError with one.
        hoard = [bytes(64 * 1024 * 1024) for _ in range(1024)]
        return Extraction("ok", "eat", "0", text=f"allocated {len(hoard)} blocks: no memory cap")
    elif what == "slow":
        time.sleep(2)
    elif what == "limit":
        import resource

        return Extraction("ok", "limit", "0", text=str(resource.getrlimit(resource.RLIMIT_AS)[0]))
    return _extract_blob(blob_root, sha256, content_type, url, css_selector)
