"""Commands that test one step on one file or URL: test-extract, test-diff."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer

from tracker.cli.common import err, fail, out

app = typer.Typer()


def _read_input(file_or_url: str) -> tuple[bytes, str | None, str]:
    from tracker.cli.crawl_run import fetch_one

    if file_or_url.startswith(("http://", "https://")):
        try:
            return fetch_one(file_or_url)
        except Exception as exc:  # network errors of every kind end here with their reason
            fail(f"cannot fetch {file_or_url}: {exc}")
    path = Path(file_or_url)
    if not path.is_file():
        fail(f"no such file: {file_or_url}")
    return path.read_bytes(), None, path.name


@app.command("test-extract")
def test_extract(
    file_or_url: str = typer.Argument(..., help="A local file or an http(s) URL."),
    css_selector: Optional[str] = typer.Option(None, "--selector", help="Take only this element's text (HTML)."),
    full: bool = typer.Option(False, "--full", help="Print all the text, not the first 3,000 characters."),
) -> None:
    """Extract and normalise one file or URL, as the archive would, and print the result.

    Example: stp-tracker test-extract plan.pdf
    """
    from tracker.meaning import extract

    data, content_type, name = _read_input(file_or_url)
    result = extract(data, content_type, name, css_selector=css_selector)
    err.print(f"status: {result.status}  extractor: {result.extractor} {result.extractor_version}  "
              f"pages: {result.pages}  characters: {len(result.text)}  flags: {', '.join(result.flags) or '-'}",
              highlight=False, markup=False)
    if result.title:
        err.print(f"title: {result.title}", highlight=False, markup=False)
    if result.error:
        err.print(f"reason: {result.error}", highlight=False, markup=False)
    text = result.text if full else result.text[:3000]
    sys.stdout.write(text + ("\n" if text else ""))
    if not full and len(result.text) > 3000:
        err.print(f"... {len(result.text) - 3000} more characters (use --full)")
    raise typer.Exit(0 if result.status in ("ok", "empty") else 1)


@app.command("test-diff")
def test_diff(
    file_a: str = typer.Argument(..., help="The older file (or URL)."),
    file_b: str = typer.Argument(..., help="The newer file (or URL)."),
    fmt: str = typer.Option("text", "--format", "-f", help="text, html or json."),
) -> None:
    """Extract, normalise and diff two files as the archive would; say whether it would be an event.

    Example: stp-tracker test-diff plan-v1.pdf plan-v2.pdf
    """
    from tracker.meaning import DIFF_CSS, diff_texts
    from tracker.meaning import extract
    from tracker.meaning import significance

    texts, structures = [], []
    for item in (file_a, file_b):
        data, content_type, name = _read_input(item)
        result = extract(data, content_type, name)
        if result.status not in ("ok", "truncated"):
            fail(f"{item}: no text ({result.status}: {result.error or 'no reason given'})")
        texts.append(result.text)
        structures.append(result.structure)
    change = diff_texts(texts[0], texts[1], before_structure=structures[0], after_structure=structures[1])
    significant, reason = significance(change)
    if fmt == "json":
        sys.stdout.write(json.dumps({**change.to_json(), "significant": significant, "reason": reason}) + "\n")
        return
    if fmt == "html":
        sys.stdout.write(f"<!doctype html><meta charset=utf-8><style>{DIFF_CSS}</style>" + change.to_html(css=False))
        return
    out.print(change.to_text(), markup=False, highlight=False)
    err.print(f"summary: {change.summary}", markup=False, highlight=False)
    err.print(f"would raise an event: {'yes' if significant else 'no'}{' (' + reason + ')' if reason else ''}",
              markup=False, highlight=False)
