"""Web archives: history backfilled from Wayback and UKGWA, and new finds preserved through Save Page Now."""

from tracker.webarchives.backfill import backfill
from tracker.webarchives.preserve import PreserveConfig, preserve_round
from tracker.webarchives.wayback import BackfillConfig

__all__ = [
    "BackfillConfig",
    "PreserveConfig",
    "backfill",
    "preserve_round",
]
