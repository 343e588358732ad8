"""The spiders: one class per source kind, all with the shape of `SourceSpider` (see base.py)."""

from __future__ import annotations

from .base import (
    SPIDERS,
    SourceSpider,
    describe_failure,
    failure_cause,
    is_network_error,
    quiet_robots_errors,
)
from .cmis import CmisSpider
from .moderngov import ModernGovSpider
from .page import PageSpider
from .site import SiteSpider


def spider_class(kind: str) -> type[SourceSpider]:
    """The spider class for a source kind; raises KeyError naming the known kinds."""
    try:
        return SPIDERS[kind]
    except KeyError:
        raise KeyError(f"no spider for source kind {kind!r}; known: {', '.join(sorted(SPIDERS))}") from None


__all__ = ["SPIDERS", "CmisSpider", "ModernGovSpider", "PageSpider", "SiteSpider", "SourceSpider", "describe_failure",
           "failure_cause", "is_network_error", "quiet_robots_errors", "spider_class"]
