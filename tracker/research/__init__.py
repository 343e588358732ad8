"""Researchers' exports: CSV and JSON tables, and WARC files of the archived responses."""

from tracker.research.export import ExportError, document_json, export, preservation_json, version_json
from tracker.research.warc import WarcExportError, export_warc

__all__ = [
    "ExportError",
    "WarcExportError",
    "document_json",
    "export",
    "export_warc",
    "preservation_json",
    "version_json",
]
