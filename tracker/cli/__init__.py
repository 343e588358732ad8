"""The `stp-tracker` command line: one Typer app, one module per command group."""

from tracker.cli.app import app, main

__all__ = ["app", "main"]
