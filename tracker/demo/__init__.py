"""`stp-tracker demo`: a small local web of plans that changes, crawled by the real daemon."""

from tracker.demo.run import run_demo

__all__ = [
    "run_demo",
]
