"""Minimal valid PDFs for tests: the package's own writer (the demo ships it), so there is one of it."""

from tracker.demo.web import make_pdf

__all__ = ["make_pdf"]
