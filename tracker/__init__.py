"""What a change means (tracker.meaning) and the application around it: analysis, CLI, daemon, web, web archives, research."""

from __future__ import annotations

from tracker._lazy import lazy_exports

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
__all__, __getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)
