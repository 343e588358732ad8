"""What a change means (tracker.meaning) and the application around it: analysis, CLI, daemon, web, web archives, research."""

from __future__ import annotations

from importlib import import_module
from typing import Any

# Public name -> the module that defines it. Imported on first use, so that `stp-tracker --help` does not pay
# for Scrapy, PDFium or the extraction pool; `__all__` is the surface other packages may use.
_EXPORTS = {
    "AnalysisSummary": "tracker.analysis",
    "ConfigError": "tracker.config",
    "ExtractionPool": "tracker.workers",
    "alert_settings": "tracker.config",
    "analyse_crawl": "tracker.analysis",
    "check_config": "tracker.config",
    "copy_footprint_names": "tracker.analysis",
    "crawl_overrides": "tracker.config",
    "load_config": "tracker.config",
    "settings_table": "tracker.config",
    "shared_pool": "tracker.workers",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    try:
        module = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
